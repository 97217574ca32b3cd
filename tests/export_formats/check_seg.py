#!/usr/bin/python3
"""Independent check of an exported DICOM SEG and its source images (pydicom, dciodvfy).

    check_seg.py SPEC.json

SPEC: {"seg": FILE, "images": DIR (our source images), "original": DIR (the generated series),
       "labels": FILE (uint16 little endian, z y x, on the series' slices in order along the
       normal), "dims": [x, y, z], "segments": [{"label", "name", "category": [scheme, code,
       meaning], "type": [...]}], "sopInstanceUid": UID}
Slice order is computed here from positions and orientation; every frame of the SEG is decoded
by pydicom and compared with the label map. Exit 1 with the reasons.
"""
import json
import os
import re
import subprocess
import sys
import warnings

import numpy as np

warnings.simplefilter("ignore")
import pydicom  # noqa: E402
from pydicom.pixel_data_handlers.util import apply_modality_lut  # noqa: E402

problems = []


def check(condition, message):
    if not condition:
        problems.append(message)


def dciodvfy_errors(path):
    run = subprocess.run(["dciodvfy", "-new", path], capture_output=True, text=True,
                         errors="replace", timeout=300)
    return [line for line in (run.stdout + run.stderr).splitlines() if line.startswith("Error")]


def slice_order(datasets):
    """Datasets sorted along the slice normal (cross product of the orientation's rows)."""
    def along(ds):
        o = np.array([float(v) for v in ds.ImageOrientationPatient])
        normal = np.cross(o[:3], o[3:])
        return float(np.dot(normal, [float(v) for v in ds.ImagePositionPatient]))
    return sorted(datasets, key=along)


def code_of(item):
    return [str(item.CodingSchemeDesignator), str(item.CodeValue), str(item.CodeMeaning)]


def main():
    spec = json.load(open(sys.argv[1]))
    nx, ny, nz = spec["dims"]
    labels = np.fromfile(spec["labels"], dtype="<u2").reshape(nz, ny, nx)

    images = [pydicom.dcmread(os.path.join(spec["images"], f)) for f in sorted(os.listdir(spec["images"]))]
    images = slice_order(images)
    check(len(images) == nz, f"{len(images)} source images for {nz} slices")
    uid_to_slice = {str(ds.SOPInstanceUID): z for z, ds in enumerate(images)}

    # Source images: uncompressed, the original HU, slope 1 and intercept 0.
    originals = slice_order([pydicom.dcmread(os.path.join(spec["original"], f))
                             for f in sorted(os.listdir(spec["original"]))])
    for z, (ours, original) in enumerate(zip(images, originals)):
        check(ours.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1",
              f"image {z}: transfer syntax {ours.file_meta.TransferSyntaxUID}")
        check(float(ours.RescaleSlope) == 1 and float(ours.RescaleIntercept) == 0,
              f"image {z}: rescale {ours.RescaleSlope} {ours.RescaleIntercept}")
        hu = apply_modality_lut(ours.pixel_array, ours)
        expected = apply_modality_lut(original.pixel_array, original)
        check(np.array_equal(hu, expected), f"image {z}: {np.count_nonzero(hu != expected)} pixels differ")
        check(ours.ImagePositionPatient == original.ImagePositionPatient, f"image {z}: position moved")
        check(ours.SOPInstanceUID != original.SOPInstanceUID, f"image {z}: UID not de-identified")
        check(str(ours.PatientName) != str(original.PatientName), f"image {z}: name not de-identified")
        check(ours.file_meta.MediaStorageSOPInstanceUID == ours.SOPInstanceUID,
              f"image {z}: file meta UID differs from the dataset's")

    seg = pydicom.dcmread(spec["seg"])
    check(seg.SOPClassUID == "1.2.840.10008.5.1.4.1.1.66.4", f"SOP class {seg.SOPClassUID}")
    check(seg.SOPInstanceUID == spec["sopInstanceUid"], "SOP Instance UID differs from the one reported")
    check(seg.SegmentationType == "BINARY", f"type {seg.SegmentationType}")
    check(seg.BitsAllocated == 1 and seg.BitsStored == 1 and seg.HighBit == 0, "not 1-bit")
    check(seg.Rows == ny and seg.Columns == nx, f"frames {seg.Columns}x{seg.Rows}")
    first = images[0]
    for keyword in ("StudyInstanceUID", "FrameOfReferenceUID", "PatientName", "PatientID"):
        check(seg.get(keyword) == first.get(keyword), f"{keyword} differs from the source images'")

    # Segment Sequence: numbers 1..N in order, labels, codes.
    segments = spec["segments"]
    check(len(seg.SegmentSequence) == len(segments), f"{len(seg.SegmentSequence)} segments")
    for number, (item, want) in enumerate(zip(seg.SegmentSequence, segments), start=1):
        check(item.SegmentNumber == number, f"segment {number}: number {item.SegmentNumber}")
        check(item.SegmentLabel == want["name"], f"segment {number}: label {item.SegmentLabel}")
        algorithm = want.get("algorithm", "MANUAL")
        check(item.SegmentAlgorithmType == algorithm, f"segment {number}: algorithm {item.SegmentAlgorithmType}")
        check(algorithm == "MANUAL" or bool(item.get("SegmentAlgorithmName")),
              f"segment {number}: no algorithm name")
        check(code_of(item.SegmentedPropertyCategoryCodeSequence[0]) == want["category"],
              f"segment {number}: category {code_of(item.SegmentedPropertyCategoryCodeSequence[0])}")
        check(code_of(item.SegmentedPropertyTypeCodeSequence[0]) == want["type"],
              f"segment {number}: type {code_of(item.SegmentedPropertyTypeCodeSequence[0])}")
        check(len(item.RecommendedDisplayCIELabValue) == 3, f"segment {number}: no CIELab colour")

    # Shared groups: the source's spacing and orientation.
    shared = seg.SharedFunctionalGroupsSequence[0]
    check([float(v) for v in shared.PixelMeasuresSequence[0].PixelSpacing] ==
          [float(v) for v in first.PixelSpacing], "pixel spacing differs from the source's")
    check([float(v) for v in shared.PlaneOrientationSequence[0].ImageOrientationPatient] ==
          [float(v) for v in first.ImageOrientationPatient], "orientation differs from the source's")

    # Referenced Series Sequence: the series and every image.
    refs = seg.ReferencedSeriesSequence
    check(len(refs) == 1 and refs[0].SeriesInstanceUID == first.SeriesInstanceUID, "referenced series")
    referenced = {str(i.ReferencedSOPInstanceUID) for i in refs[0].ReferencedInstanceSequence}
    check(referenced == set(uid_to_slice), "the referenced instances are not the source images")

    # Every frame: pixels against the label map; one frame per segment and slice.
    frames = seg.pixel_array.reshape(-1, ny, nx)
    check(int(seg.NumberOfFrames) == len(segments) * nz and frames.shape[0] == len(segments) * nz,
          f"{seg.NumberOfFrames} frames for {len(segments)} segments x {nz} slices")
    seen = set()
    empty = 0
    wrong = 0
    for i, group in enumerate(seg.PerFrameFunctionalGroupsSequence):
        number = int(group.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
        source = group.DerivationImageSequence[0].SourceImageSequence[0]
        z = uid_to_slice.get(str(source.ReferencedSOPInstanceUID))
        if z is None:
            problems.append(f"frame {i}: derived from an unknown image")
            continue
        check(source.ReferencedSOPClassUID == images[z].SOPClassUID, f"frame {i}: source class")
        check(group.DerivationImageSequence[0].DerivationCodeSequence[0].CodeValue == "113076",
              f"frame {i}: derivation code")
        check(source.PurposeOfReferenceCodeSequence[0].CodeValue == "121322", f"frame {i}: purpose")
        check([float(v) for v in group.PlanePositionSequence[0].ImagePositionPatient] ==
              [float(v) for v in images[z].ImagePositionPatient], f"frame {i}: position")
        index = [int(v) for v in group.FrameContentSequence[0].DimensionIndexValues]
        check(index == [number, z + 1], f"frame {i}: dimension index {index}, expected {[number, z + 1]}")
        seen.add((number, z))
        expected = labels[z] == segments[number - 1]["label"]
        got = frames[i].astype(bool)
        wrong += int(np.count_nonzero(got != expected))
        empty += int(not expected.any())
    check(wrong == 0, f"{wrong} pixels differ from the label map")
    check(len(seen) == len(segments) * nz, f"{len(seen)} distinct (segment, slice) frames")
    check(empty > 0, "no empty frame in the test: the case it covers is missing")
    dims = seg.DimensionIndexSequence
    check([d.DimensionIndexPointer for d in dims] == [0x0062000B, 0x00200032], "dimension pointers")

    for path in [spec["seg"]] + [os.path.join(spec["images"], f) for f in sorted(os.listdir(spec["images"]))]:
        errors = dciodvfy_errors(path)
        check(not errors, f"dciodvfy {path}:\n  " + "\n  ".join(errors))

    if problems:
        print("\n".join(problems[:40]))
        sys.exit(1)
    print(f"seg ok: {frames.shape[0]} frames, {empty} empty, every pixel equal")


main()
