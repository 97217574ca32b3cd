#!/usr/bin/python3
"""Writes the MNI head MRI template (ch2.nii.gz) as an axial MR DICOM series, one file per
slice, in the same LPS geometry as the NIfTI file, with a fake patient (no real identity).
Used by the defacing import test: a DICOM head MR goes through the same path as a PACS export.

    write_head_mri_dicom.py --nifti ch2.nii.gz --out DIR
"""
import argparse
import os
import sys

import nibabel
import numpy
from pydicom.uid import generate_uid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "imaging"))
from reference_reader import new_ct_dataset  # noqa: E402  (any SOP class, despite its name)

MR_STORAGE = "1.2.840.10008.5.1.4.1.1.4"


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--nifti", required=True)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    image = nibabel.load(args.nifti)
    affine = image.affine
    # The writer below assumes an axis-aligned RAS+ grid (ch2): LPS = (-x, -y, z).
    if not numpy.allclose(affine[:3, :3], numpy.diag(numpy.diag(affine[:3, :3]))) or (
        numpy.diag(affine)[:3] <= 0
    ).any():
        raise SystemExit("only axis-aligned RAS+ volumes are supported")
    data = numpy.asarray(image.dataobj).astype(numpy.uint16)
    spacing = numpy.diag(affine)[:3]
    origin_lps = [-affine[0, 3], -affine[1, 3], affine[2, 3]]
    os.makedirs(args.out, exist_ok=True)
    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    for k in range(data.shape[2]):
        ds = new_ct_dataset(MR_STORAGE)
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.Modality = "MR"
        ds.PatientName = "TEST^HEADMRI"
        ds.PatientID = "FAKE-0001"
        ds.StudyDate = "20240105"
        ds.SeriesNumber = 1
        ds.InstanceNumber = k + 1
        # Rows run along NIfTI y (LPS -y), columns along NIfTI x (LPS -x).
        ds.ImageOrientationPatient = [-1, 0, 0, 0, -1, 0]
        ds.ImagePositionPatient = [origin_lps[0], origin_lps[1], origin_lps[2] + k * spacing[2]]
        ds.PixelSpacing = [float(spacing[1]), float(spacing[0])]
        ds.SliceThickness = float(spacing[2])
        ds.Rows, ds.Columns = data.shape[1], data.shape[0]
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        ds.PixelData = numpy.ascontiguousarray(data[:, :, k].T).tobytes()
        ds.save_as(os.path.join(args.out, f"slice{k:04d}.dcm"), write_like_original=False)


if __name__ == "__main__":
    main()
