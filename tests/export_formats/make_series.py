#!/usr/bin/python3
"""Writes a synthetic CT series for the DICOM export tests (nothing here comes from a patient).

    make_series.py --out DIR --rows R --cols C --slices N [--oblique] [--seed S]

Slice k (in order along the slice normal) holds HU (7x + 13y + 101k) % 3000 - 1024 at column x,
row y, stored unsigned with Rescale Intercept -1024, as scanners write CT. Anisotropic voxels
(0.7 x 0.9 mm, slices 2.5 mm apart), an oblique orientation with --oblique, files written in an
order that is not the slice order, and the CT Image IOD's attributes so that dciodvfy has nothing
to say about the input itself.
"""
import argparse
import os

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"


def rotation(axis, degrees):
    axis = np.asarray(axis, dtype=float)
    axis /= np.linalg.norm(axis)
    t = np.radians(degrees)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(t) * k + (1 - np.cos(t)) * (k @ k)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--rows", type=int, required=True)
    p.add_argument("--cols", type=int, required=True)
    p.add_argument("--slices", type=int, required=True)
    p.add_argument("--oblique", action="store_true")
    p.add_argument("--seed", type=int, default=11)
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)

    r = rotation([0.3, -1, 0.5], 23) if args.oblique else np.eye(3)
    row_dir, col_dir, normal = r[:, 0], r[:, 1], r[:, 2]
    origin = np.array([-120.5, 33.25, 250.0])
    prefix = f"1.2.826.0.1.3680043.9.7433.77.{args.seed}"
    x, y = np.meshgrid(np.arange(args.cols), np.arange(args.rows))
    order = sorted(range(args.slices), key=lambda k: (k * 7919) % 1009)
    for k in order:
        hu = (7 * x + 13 * y + 101 * k) % 3000 - 1024
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CT_IMAGE_STORAGE
        meta.MediaStorageSOPInstanceUID = f"{prefix}.3.{k + 1}"
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        meta.ImplementationClassUID = "1.2.826.0.1.3680043.9.7433.1.1"
        ds = Dataset()
        ds.file_meta = meta
        ds.SpecificCharacterSet = "ISO_IR 100"
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.SOPClassUID = CT_IMAGE_STORAGE
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.StudyDate = ds.SeriesDate = ds.ContentDate = ds.AcquisitionDate = "20240105"
        ds.StudyTime = ds.SeriesTime = ds.ContentTime = ds.AcquisitionTime = "093000"
        ds.AccessionNumber = "ACC-1"
        ds.Modality = "CT"
        ds.Manufacturer = "SYNTHETIC"
        ds.ReferringPhysicianName = "REFERRER^TEST"
        ds.StudyDescription = "CT SYNTHETIC"
        ds.SeriesDescription = "SYNTHETIC OBLIQUE" if args.oblique else "SYNTHETIC AXIAL"
        ds.PatientName = "PHANTOM^EXPORT"
        ds.PatientID = "PHANTOM-1"
        ds.PatientBirthDate = "19700101"
        ds.PatientSex = "O"
        ds.StudyInstanceUID = f"{prefix}.1"
        ds.SeriesInstanceUID = f"{prefix}.2"
        ds.FrameOfReferenceUID = f"{prefix}.4"
        ds.PositionReferenceIndicator = ""
        ds.StudyID = "1"
        ds.SeriesNumber = "3"
        ds.InstanceNumber = str(k + 1)
        ds.PatientPosition = "HFS"
        ds.Laterality = ""
        ds.AcquisitionNumber = "1"
        ds.KVP = "120"
        ds.SliceThickness = "2.5"
        position = origin + k * 2.5 * normal
        ds.ImagePositionPatient = [f"{v:.6f}" for v in position]
        ds.ImageOrientationPatient = [f"{v:.8f}" for v in (*row_dir, *col_dir)]
        ds.SliceLocation = f"{position @ normal:.6f}"
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows = args.rows
        ds.Columns = args.cols
        ds.PixelSpacing = ["0.9", "0.7"]  # between rows, between columns
        ds.BitsAllocated = 16
        ds.BitsStored = 12
        ds.HighBit = 11
        ds.PixelRepresentation = 0
        ds.RescaleIntercept = "-1024"
        ds.RescaleSlope = "1"
        ds.RescaleType = "HU"
        ds.WindowCenter = "40"
        ds.WindowWidth = "400"
        ds.PixelData = (hu + 1024).astype(np.uint16).tobytes()
        ds.is_little_endian = True
        ds.is_implicit_VR = False
        pydicom.dcmwrite(os.path.join(args.out, f"IM{(k * 7919) % 1009:04d}.dcm"), ds,
                         write_like_original=False)


main()
