#!/usr/bin/python3
"""Independent checks of an exported Radmark bundle (a bag folder), with nibabel, pydicom and numpy
only: nothing of Radmark's own code.

1. nnU-Net v2's verify_dataset_integrity rules, written out here (nnU-Net is not packaged): the
   dataset.json keys, labels with background 0 and consecutive integers, numTraining equal to the
   cases in imagesTr, file_ending .nii.gz, every image with its label and every label with its
   image, image and label with the same shape, spacing and affine (nibabel), label values only of
   the label table, splits_final.json naming training cases only, and no patient (from each
   case's provenance) in two of train, validation and test.
2. With --originals SPEC (JSON {"<study pseudonym>": "<generated DICOM folder>"}): every exported
   image holds the original series' HU (pixel * slope + intercept, read by pydicom from the files
   that were imported) on the grid the DICOM geometry gives (the affine maps each voxel to its
   DICOM position, LPS negated to RAS); every label holds the dataset value of the mask the test
   annotated (--soft-tissue LOW HIGH: LOW < HU < HIGH), 0 elsewhere.
3. Every DICOM SEG (dciodvfy: no errors) (data/dicom/CASE/seg.dcm), decoded by pydicom, holds one frame per segment and
   slice, and each frame's pixels equal the exported label NIfTI on that slice (frames placed by
   their Image Position on the de-identified source images the bundle carries).

Usage: check_export.py BAG [--originals SPEC] [--soft-tissue LOW HIGH]; exit 0 and "ok" when every check
holds, else one line per problem.
"""
import argparse
import glob
import json
import os
import subprocess
import sys

import nibabel as nib
import numpy as np
import pydicom

problems = []


def problem(text):
    problems.append(text)


def nnunet_rules(root):
    name = os.path.basename(root)
    with open(os.path.join(root, "dataset.json")) as f:
        ds = json.load(f)
    for key in ("channel_names", "labels", "numTraining", "file_ending"):
        if key not in ds:
            problem(f"{name}/dataset.json has no {key}")
    if problems:
        return None
    channels = ds["channel_names"]
    if sorted(channels.keys(), key=int) != [str(i) for i in range(len(channels))]:
        problem(f"channel_names keys are not 0..n-1: {list(channels)}")
    labels = ds["labels"]
    if labels.get("background") != 0:
        problem("labels has no background 0")
    values = sorted(labels.values())
    if values != list(range(len(values))):
        problem(f"label values are not consecutive from 0: {values}")
    ending = ds["file_ending"]
    if ending != ".nii.gz":
        problem(f"file_ending is {ending}")

    def cases(folder, images):
        path = os.path.join(root, folder)
        if not os.path.isdir(path):
            return set()
        out = set()
        for f in os.listdir(path):
            if not f.endswith(ending):
                problem(f"{folder}/{f} is not a {ending} file")
                continue
            stem = f[: -len(ending)]
            if images:
                if len(stem) < 6 or stem[-5] != "_" or not stem[-4:].isdigit():
                    problem(f"{folder}/{f} is not CASE_XXXX{ending}")
                    continue
                out.add((stem[:-5], int(stem[-4:])))
            else:
                out.add(stem)
        return out

    training = {}
    for part in ("Tr", "Ts"):
        images = cases("images" + part, True)
        label_cases = cases("labels" + part, False)
        ids = {c for c, _ in images}
        for c in ids:
            for ch in range(len(channels)):
                if (c, ch) not in images:
                    problem(f"images{part}: {c} has no channel {ch}")
        if part == "Tr" or label_cases:
            if ids != label_cases:
                problem(f"images{part} and labels{part} name different cases: "
                        f"{sorted(ids ^ label_cases)}")
        for c in sorted(ids & label_cases):
            img = nib.load(os.path.join(root, "images" + part, f"{c}_0000{ending}"))
            lab = nib.load(os.path.join(root, "labels" + part, f"{c}{ending}"))
            if img.shape != lab.shape:
                problem(f"{c}: image shape {img.shape} and label shape {lab.shape}")
            if not np.allclose(img.header.get_zooms(), lab.header.get_zooms(), rtol=1e-5):
                problem(f"{c}: image and label spacing differ")
            if not np.allclose(img.affine, lab.affine, rtol=1e-5, atol=1e-4):
                problem(f"{c}: image and label affines differ")
            if not np.allclose(img.get_sform(), img.get_qform(), atol=1e-4):
                problem(f"{c}: sform and qform differ")
            present = set(np.unique(np.asarray(lab.dataobj)).tolist())
            if not present <= set(values):
                problem(f"{c}: label values {sorted(present - set(values))} are not in the table")
        if part == "Tr":
            training = ids
            if ds["numTraining"] != len(ids):
                problem(f"numTraining {ds['numTraining']} but imagesTr holds {len(ids)} cases")
    test = cases("imagesTs", True)
    test_ids = {c for c, _ in test}

    train, val = set(training), set()
    splits_file = os.path.join(root, "splits_final.json")
    if os.path.exists(splits_file):
        with open(splits_file) as f:
            splits = json.load(f)
        fold = splits[0]
        train, val = set(fold["train"]), set(fold["val"])
        if train & val:
            problem(f"cases in train and val of fold 0: {sorted(train & val)}")
        if (train | val) != training:
            problem("splits_final.json fold 0 does not name exactly the training cases")
    return {"labels": labels, "train": train, "val": val, "test": test_ids,
            "training": training}


def patients_apart(bag, split_sets):
    patient = {}
    for f in glob.glob(os.path.join(bag, "data", "cases", "*", "provenance.json")):
        with open(f) as fh:
            p = json.load(fh)
        patient[p["case"]] = p["patient"]
        expected = {"train": split_sets["train"], "validation": split_sets["val"],
                    "test": split_sets["test"]}[p["split"]]
        if p["case"] not in expected:
            problem(f"{p['case']}: provenance says {p['split']}, the nnU-Net folders disagree")
    groups = {k: {patient[c] for c in split_sets[k] if c in patient}
              for k in ("train", "val", "test")}
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        if groups[a] & groups[b]:
            problem(f"a patient is in {a} and {b}: {sorted(groups[a] & groups[b])}")
    return patient


def original_hu(folder):
    """HU array [slice][row][col] in order along the slice normal, and the DICOM geometry."""
    files = [pydicom.dcmread(f) for f in glob.glob(os.path.join(folder, "*.dcm"))]
    iop = np.array(files[0].ImageOrientationPatient, dtype=float)
    normal = np.cross(iop[:3], iop[3:])
    files.sort(key=lambda d: float(np.dot(normal, np.array(d.ImagePositionPatient, float))))
    hu = np.stack([d.pixel_array.astype(np.float64) * float(d.RescaleSlope)
                   + float(d.RescaleIntercept) for d in files])
    positions = np.array([[float(v) for v in d.ImagePositionPatient] for d in files])
    spacing = [float(v) for v in files[0].PixelSpacing]  # row spacing, column spacing
    return hu, iop, positions, spacing


def check_against_originals(root, originals, provenance_of, labels, soft_tissue):
    for case, study in provenance_of.items():
        if study not in originals:
            continue
        part = "Tr" if os.path.exists(os.path.join(root, "imagesTr", f"{case}_0000.nii.gz")) else "Ts"
        img = nib.load(os.path.join(root, "images" + part, f"{case}_0000.nii.gz"))
        lab = nib.load(os.path.join(root, "labels" + part, f"{case}.nii.gz"))
        hu, iop, positions, spacing = original_hu(originals[study])
        data = np.asarray(img.dataobj)
        if img.header.get_data_dtype() != np.int16:
            problem(f"{case}: image is {img.header.get_data_dtype()}, not int16 HU")
        slope, inter = img.header.get_slope_inter()
        if slope not in (None, 1.0) or inter not in (None, 0.0):
            problem(f"{case}: scl_slope/scl_inter {slope}/{inter}, not 1/0")
        expected = np.transpose(hu, (2, 1, 0))  # NIfTI (x=column, y=row, z=slice)
        if data.shape != expected.shape:
            problem(f"{case}: image shape {data.shape}, the original series {expected.shape}")
            continue
        if not np.array_equal(data.astype(np.float64), expected):
            problem(f"{case}: {int(np.sum(data != expected))} voxels differ from the original HU")
        # Geometry: voxel (i, j, k) sits at IPP_k + i * colspacing * rowdir + j * rowspacing * coldir.
        affine = img.affine
        for (i, j, k) in ((0, 0, 0), (data.shape[0] - 1, 3, data.shape[2] - 1), (5, 7, 1)):
            lps = positions[k] + i * spacing[1] * iop[:3] + j * spacing[0] * iop[3:]
            ras = affine @ np.array([i, j, k, 1.0])
            if not np.allclose(ras[:3], [-lps[0], -lps[1], lps[2]], atol=1e-3):
                problem(f"{case}: voxel {(i, j, k)} at RAS {ras[:3]}, DICOM says LPS {lps}")
        value = labels.get("Liver")
        if value is not None:
            low, high = soft_tissue
            want = np.where((expected > low) & (expected < high), value, 0)
            got = np.asarray(lab.dataobj).astype(np.int64)
            if not np.array_equal(got, want):
                problem(f"{case}: {int(np.sum(got != want))} label voxels differ from the mask")


def dciodvfy_errors(path):
    run = subprocess.run(["dciodvfy", "-new", path], capture_output=True, text=True,
                         errors="replace", timeout=300)
    return [line for line in (run.stdout + run.stderr).splitlines() if line.startswith("Error")]


def check_segs(bag, root):
    data = os.path.join(bag, "data")
    for seg_file in sorted(glob.glob(os.path.join(data, "dicom", "*", "seg.dcm"))):
        case = os.path.basename(os.path.dirname(seg_file))
        for error in dciodvfy_errors(seg_file):
            problem(f"dciodvfy {os.path.relpath(seg_file, bag)}: {error}")
        seg = pydicom.dcmread(seg_file)
        if seg.SOPClassUID != "1.2.840.10008.5.1.4.1.1.66.4":
            problem(f"{case}: seg.dcm is not a Segmentation")
            continue
        images = [pydicom.dcmread(f, stop_before_pixels=True)
                  for f in glob.glob(os.path.join(os.path.dirname(seg_file), "images", "*.dcm"))]
        iop = np.array(images[0].ImageOrientationPatient, float)
        normal = np.cross(iop[:3], iop[3:])
        images.sort(key=lambda d: float(np.dot(normal, np.array(d.ImagePositionPatient, float))))
        slice_at = {tuple(np.round(np.array(d.ImagePositionPatient, float), 3)): k
                    for k, d in enumerate(images)}
        referenced = {i.ReferencedSOPInstanceUID
                      for s in seg.ReferencedSeriesSequence for i in s.ReferencedInstanceSequence}
        if referenced != {d.SOPInstanceUID for d in images}:
            problem(f"{case}: the SEG does not reference exactly the source images in the bundle")
        part = "Tr" if os.path.exists(os.path.join(root, "labelsTr", f"{case}.nii.gz")) else "Ts"
        labels = np.asarray(nib.load(os.path.join(root, "labels" + part, f"{case}.nii.gz")).dataobj)
        with open(os.path.join(root, "dataset.json")) as f:
            table = json.load(f)["labels"]
        segments = {}
        for s in seg.SegmentSequence:
            name = s.SegmentLabel
            if name not in table:
                problem(f"{case}: SEG segment {name} is not in dataset.json")
                continue
            code = s.SegmentedPropertyTypeCodeSequence[0]
            if code.CodingSchemeDesignator != "SCT":
                problem(f"{case}: segment {name} type is not SNOMED CT")
            segments[int(s.SegmentNumber)] = table[name]
        frames = seg.pixel_array
        if frames.ndim == 2:
            frames = frames[np.newaxis]
        if len(frames) != len(segments) * len(images):
            problem(f"{case}: {len(frames)} frames for {len(segments)} segments x "
                    f"{len(images)} slices")
        for f, group in enumerate(seg.PerFrameFunctionalGroupsSequence):
            number = int(group.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
            position = tuple(np.round(np.array(
                group.PlanePositionSequence[0].ImagePositionPatient, float), 3))
            if position not in slice_at:
                problem(f"{case}: frame {f} lies on no source image")
                continue
            k = slice_at[position]
            want = (labels[:, :, k].T == segments[number])
            if not np.array_equal(frames[f].astype(bool), want):
                problem(f"{case}: frame {f} (segment {number}, slice {k}) differs in "
                        f"{int(np.sum(frames[f].astype(bool) != want))} pixels")


def check_boxes(bag):
    """MONAI's list (cccwhd, RAS mm) mapped back to voxels through nibabel's affine, as MONAI's
    LUNA16 example does, must give the voxel edges of each case's boxes (axis-aligned images)."""
    data = os.path.join(bag, "data")
    monai_file = os.path.join(data, "boxes", "monai_detection.json")
    if not os.path.exists(monai_file):
        return 0
    with open(monai_file) as f:
        monai = json.load(f)
    checked = 0
    for split, entries in monai.items():
        for entry in entries:
            case = os.path.basename(entry["image"])[: -len("_0000.nii.gz")]
            with open(os.path.join(data, "boxes", case + ".json")) as f:
                boxes = json.load(f)["boxes"]
            img = nib.load(os.path.join(data, entry["image"]))
            inverse = np.linalg.inv(img.affine)
            if len(entry["box"]) != len(boxes) or len(entry["label"]) != len(boxes):
                problem(f"{case}: {len(entry['box'])} MONAI boxes, {len(boxes)} in {case}.json")
                continue
            for box, label, ours in zip(entry["box"], entry["label"], boxes):
                c, size = np.array(box[:3]), np.array(box[3:])
                corners = [inverse @ np.append(c + sign * size / 2, 1.0) for sign in (-1, 1)]
                low = np.minimum(corners[0][:3], corners[1][:3])
                high = np.maximum(corners[0][:3], corners[1][:3])
                want_low = np.array(ours["voxel"]["min"]) - 0.5
                want_high = np.array(ours["voxel"]["max"]) + 0.5
                if not (np.allclose(low, want_low, atol=1e-3) and
                        np.allclose(high, want_high, atol=1e-3)):
                    problem(f"{case}: MONAI box {box} is voxels {low}..{high}, "
                            f"{case}.json says {want_low}..{want_high}")
                if label != ours["label"] - 1:
                    problem(f"{case}: MONAI label {label} for dataset value {ours['label']}")
                checked += 1
    return checked


def main():
    p = argparse.ArgumentParser()
    p.add_argument("bag")
    p.add_argument("--originals")
    p.add_argument("--soft-tissue", type=float, nargs=2, default=[20, 150])
    a = p.parse_args()
    roots = glob.glob(os.path.join(a.bag, "data", "Dataset[0-9][0-9][0-9]_*"))
    if len(roots) != 1:
        print(f"expected one DatasetNNN_Name folder in data/, found {roots}")
        return 1
    root = roots[0]
    rules = nnunet_rules(root)
    if rules is None:
        print("\n".join(problems))
        return 1
    patients_apart(a.bag, rules)
    study_of = {}
    for f in glob.glob(os.path.join(a.bag, "data", "cases", "*", "provenance.json")):
        with open(f) as fh:
            prov = json.load(fh)
        study_of[prov["case"]] = prov["study"]
    if a.originals:
        with open(a.originals) as f:
            originals = json.load(f)
        check_against_originals(root, originals, study_of, rules["labels"], a.soft_tissue)
    check_segs(a.bag, root)
    boxes = check_boxes(a.bag)
    if problems:
        print("\n".join(problems))
        return 1
    print(f"ok: {len(rules['training'])} training, {len(rules['test'])} test cases, "
          f"{len(glob.glob(os.path.join(a.bag, 'data', 'dicom', '*', 'seg.dcm')))} SEGs, "
          f"{boxes} boxes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
