#!/usr/bin/python3
"""Writes a tiny nnU-Net v2 raw dataset (DatasetNNN_Name) with nibabel, for the bundle tests.

make_nnunet.py OUT_FOLDER [--defect none|missing-label|nonconsecutive|shape|value|numtraining]
Generated data only: 7x9x5 CT-like images (int16 HU) and uint8 labels on the same RAS grid.
"""
import argparse
import json
import os

import nibabel as nib
import numpy as np


def affine():
    a = np.diag([0.8, 0.7, 2.5, 1.0])
    a[:3, 3] = [-10.0, 20.0, 30.0]
    return a


def save(array, path, aff):
    image = nib.Nifti1Image(array, aff)
    image.header.set_qform(aff, code=1)
    image.header.set_sform(aff, code=1)
    nib.save(image, path)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--defect", default="none")
    parser.add_argument("--name", default="Dataset042_Liver")
    args = parser.parse_args()
    root = os.path.join(args.out, args.name)
    for sub in ("imagesTr", "labelsTr", "imagesTs", "labelsTs"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    rng = np.random.default_rng(5)
    shape = (7, 9, 5)
    train = [f"liver_{i:03d}" for i in range(4)]
    test = [f"liver_{i:03d}" for i in range(4, 6)]
    for split, cases in (("Tr", train), ("Ts", test)):
        for case in cases:
            image = rng.integers(-1000, 1000, size=shape).astype(np.int16)
            label = np.zeros(shape, dtype=np.uint8)
            label[2:5, 3:6, 1:4] = 1
            label[3, 4, 2] = 2
            image_affine = affine()
            label_affine = affine()
            if args.defect == "shape" and case == train[1]:
                label = label[:, :, :4]
            if args.defect == "value" and case == train[2]:
                label[0, 0, 0] = 7
            save(image, os.path.join(root, "images" + split, case + "_0000.nii.gz"), image_affine)
            if args.defect == "missing-label" and case == train[3]:
                continue
            save(label, os.path.join(root, "labels" + split, case + ".nii.gz"), label_affine)
    labels = {"background": 0, "liver": 1, "tumour": 2}
    if args.defect == "nonconsecutive":
        labels["tumour"] = 3
    dataset = {
        "channel_names": {"0": "CT"},
        "labels": labels,
        "numTraining": len(train) + (1 if args.defect == "numtraining" else 0),
        "file_ending": ".nii.gz",
        "name": args.name,
    }
    with open(os.path.join(root, "dataset.json"), "w") as f:
        json.dump(dataset, f, indent=2, sort_keys=True)
    splits = [{"train": train[:3], "val": train[3:]}]
    with open(os.path.join(root, "splits_final.json"), "w") as f:
        json.dump(splits, f, indent=2)


if __name__ == "__main__":
    main()
