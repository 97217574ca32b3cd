#!/usr/bin/python3
"""Generates a realistic, entirely synthetic CT series for speed and de-identification tests.

512x512 slices of HU values (air, fat, soft tissue, lungs, spine), plausible CT tags, and fake
PHI planted at every depth: top level, nested sequences, private groups (including a private
sequence) and an element encoded as UN. Nothing here comes from a real patient.

    tests/data/generate_ct_series.py --out /tmp/ct --slices 500

Run it with Debian's /usr/bin/python3 (it has python3-pydicom and python3-numpy).
"""
import argparse
import datetime
import os
import sys

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"

# Fake identity, planted everywhere a careless tool might leave it.
FAKE = {
    "name": "DOE^JANE^Q",
    "id": "MRN-9384756",
    "birth": "19610412",
    "accession": "ACC-55512",
    "institution": "Springfield General Hospital",
    "address": "742 Evergreen Terrace, Springfield",
    "physician": "HIBBERT^JULIUS",
    "operator": "SMITHERS^WAYLON",
    "station": "CT-SPRINGFLD-01",
    "serial": "SN-4471-XQ",
}


def phantom_slice(rows, cols, z, nz, rng):
    """HU image of an abdomen/thorax-like cross section that changes with z."""
    y, x = np.mgrid[0:rows, 0:cols].astype(np.float32)
    cy, cx = rows / 2.0, cols / 2.0
    t = z / max(nz - 1, 1)
    img = np.full((rows, cols), -1000.0, dtype=np.float32)  # air
    ax, ay = cols * (0.40 + 0.04 * np.sin(3 * t)), rows * 0.30
    body = ((x - cx) / ax) ** 2 + ((y - cy) / ay) ** 2
    img[body <= 1.0] = -100.0  # subcutaneous fat
    inner = ((x - cx) / (ax * 0.88)) ** 2 + ((y - cy) / (ay * 0.85)) ** 2
    img[inner <= 1.0] = 40.0  # soft tissue
    if t > 0.45:  # lungs in the upper part of the series
        for side in (-1, 1):
            lung = ((x - cx - side * ax * 0.42) / (ax * 0.30)) ** 2 + ((y - cy + 8) / (ay * 0.62)) ** 2
            img[lung <= 1.0] = -820.0
    else:  # liver on the patient's right (image left) in the lower part
        liver = ((x - cx + ax * 0.35) / (ax * 0.38)) ** 2 + ((y - cy + 10) / (ay * 0.55)) ** 2
        img[liver <= 1.0] = 60.0
    spine = ((x - cx) / 22.0) ** 2 + ((y - cy - ay * 0.62) / 20.0) ** 2
    img[spine <= 1.0] = 700.0
    cortex = (spine > 0.7) & (spine <= 1.0)
    img[cortex] = 1200.0
    img += rng.normal(0.0, 12.0, size=img.shape).astype(np.float32)
    return np.clip(img, -1024, 3071)


def planted_item():
    item = Dataset()
    item.PatientName = FAKE["name"]
    item.PatientID = FAKE["id"]
    item.AccessionNumber = FAKE["accession"]
    item.StudyDate = "20240105"
    return item


def build_slice(args, k, uids, study_dt, pixels):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CT_IMAGE_STORAGE
    sop_uid = f"{uids['prefix']}.3.{k + 1}"
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = "1.2.826.0.1.3680043.9.7433.1.1"

    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SOPClassUID = CT_IMAGE_STORAGE
    ds.SOPInstanceUID = sop_uid
    ds.StudyDate = study_dt.strftime("%Y%m%d")
    ds.SeriesDate = ds.StudyDate
    ds.AcquisitionDate = ds.StudyDate
    ds.ContentDate = ds.StudyDate
    ds.StudyTime = study_dt.strftime("%H%M%S")
    ds.SeriesTime = ds.StudyTime
    ds.AcquisitionTime = (study_dt + datetime.timedelta(seconds=k // 10)).strftime("%H%M%S.%f")
    ds.ContentTime = ds.AcquisitionTime
    ds.AcquisitionDateTime = ds.AcquisitionDate + ds.AcquisitionTime
    ds.AccessionNumber = FAKE["accession"]
    ds.Modality = "CT"
    ds.Manufacturer = "SYNTHETIC"
    ds.ManufacturerModelName = "Radmark Phantom 1"
    ds.InstitutionName = FAKE["institution"]
    ds.InstitutionAddress = FAKE["address"]
    ds.ReferringPhysicianName = FAKE["physician"]
    ds.StationName = FAKE["station"]
    ds.StudyDescription = f"CT ABDOMEN {FAKE['name']}"
    ds.SeriesDescription = "AXIAL 1.0 SOFT TISSUE"
    ds.OperatorsName = FAKE["operator"]
    ds.PatientName = FAKE["name"]
    ds.PatientID = FAKE["id"]
    ds.PatientBirthDate = FAKE["birth"]
    ds.PatientSex = "F"
    ds.PatientAge = "063Y"
    ds.PatientWeight = "71"
    ds.OtherPatientIDsSequence = Sequence([Dataset()])
    ds.OtherPatientIDsSequence[0].PatientID = FAKE["id"] + "-B"
    ds.OtherPatientIDsSequence[0].IssuerOfPatientID = FAKE["institution"]
    ds.BodyPartExamined = "ABDOMEN"
    ds.SliceThickness = str(args.thickness)
    ds.KVP = "120"
    ds.DeviceSerialNumber = FAKE["serial"]
    ds.ProtocolName = "ABD/PELVIS WITH CONTRAST"
    ds.StudyInstanceUID = uids["study"]
    ds.SeriesInstanceUID = uids["series"]
    ds.FrameOfReferenceUID = uids["frame"]
    ds.StudyID = "4471"
    ds.SeriesNumber = "3"
    ds.InstanceNumber = str(k + 1)
    z = -args.spacing * k
    ds.ImagePositionPatient = [f"{-args.pixel * args.cols / 2:.3f}", f"{-args.pixel * args.rows / 2:.3f}", f"{z:.3f}"]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.SliceLocation = f"{z:.3f}"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = args.rows
    ds.Columns = args.cols
    ds.PixelSpacing = [f"{args.pixel:.6f}", f"{args.pixel:.6f}"]
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.RescaleIntercept = "-1024"
    ds.RescaleSlope = "1"
    ds.RescaleType = "HU"
    ds.WindowCenter = "40"
    ds.WindowWidth = "400"

    # PHI at depth: a request sequence with a nested referenced-study sequence carrying the name.
    request = Dataset()
    request.RequestedProcedureDescription = f"CT for {FAKE['name']}"
    request.RequestingPhysician = FAKE["physician"]
    request.ReferencedStudySequence = Sequence([Dataset()])
    inner = request.ReferencedStudySequence[0]
    inner.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.1"
    inner.ReferencedSOPInstanceUID = uids["study"]
    inner.ContentSequence = Sequence([planted_item()])
    ds.RequestAttributesSequence = Sequence([request])
    ds.ProcedureCodeSequence = Sequence([Dataset()])
    ds.ProcedureCodeSequence[0].CodeValue = "74177"
    ds.ProcedureCodeSequence[0].CodingSchemeDesignator = "CPT4"
    ds.ProcedureCodeSequence[0].CodeMeaning = "CT ABD & PELVIS W CONTRAST"

    # Private group with identifying strings, and a private sequence holding more of them.
    ds.add_new(0x00090010, "LO", "SYNTHETIC PRIVATE 1.0")
    ds.add_new(0x00091010, "LO", FAKE["name"])
    ds.add_new(0x00091011, "LO", FAKE["id"])
    private_item = Dataset()
    private_item.add_new(0x00090010, "LO", "SYNTHETIC PRIVATE 1.0")
    private_item.add_new(0x00091020, "LO", FAKE["operator"])
    private_item.RequestAttributesSequence = Sequence([planted_item()])
    ds.add_new(0x00091012, "SQ", Sequence([private_item]))
    # An element stored as UN (as after a round trip through an unaware archive).
    ds.add_new(0x00111010, "UN", (FAKE["institution"] + " ").encode("latin-1")[: len(FAKE["institution"]) // 2 * 2])
    ds.add_new(0x00110010, "LO", "SYNTHETIC UN 1.0")

    ds.PixelData = pixels.tobytes()
    ds.is_little_endian = True
    ds.is_implicit_VR = False
    return ds


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="folder to write (created)")
    p.add_argument("--slices", type=int, default=300)
    p.add_argument("--rows", type=int, default=512)
    p.add_argument("--cols", type=int, default=512)
    p.add_argument("--pixel", type=float, default=0.7, help="in-plane spacing, mm")
    p.add_argument("--spacing", type=float, default=1.0, help="slice spacing, mm")
    p.add_argument("--thickness", type=float, default=1.0, help="SliceThickness tag, mm")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--study-date", default="20240105",
                   help="StudyDate YYYYMMDD (all dates follow it; same fake patient)")
    p.add_argument("--skip-slice", type=int, action="append", default=[],
                   help="leave out slice K (a missing slice); may repeat")
    args = p.parse_args()

    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    prefix = f"1.2.826.0.1.3680043.9.7433.{args.seed}"
    uids = {"prefix": prefix, "study": f"{prefix}.1", "series": f"{prefix}.2", "frame": f"{prefix}.4"}
    study_dt = datetime.datetime.strptime(args.study_date + "0930", "%Y%m%d%H%M")
    for k in range(args.slices):
        if k in args.skip_slice:
            continue
        hu = phantom_slice(args.rows, args.cols, k, args.slices, rng)
        stored = np.round(hu + 1024.0).astype(np.uint16)
        ds = build_slice(args, k, uids, study_dt, stored)
        # File names do not follow slice order: readers must sort by position.
        name = f"IM{(k * 7919) % 100000:05d}_{k}.dcm"
        pydicom.dcmwrite(os.path.join(args.out, name), ds, write_like_original=False)
    print(f"wrote {args.slices - len(args.skip_slice)} slices of {args.rows}x{args.cols} to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
