#!/usr/bin/env bash
# radmark-cli annotations import --mask SEG on a real store: a DICOM SEG written by another tool
# (pydicom here: only its non-empty frames, in shuffled order, 7x9 frames packed bit after bit)
# on a generated oblique series becomes a version whose voxel counts per segment are numpy's; a
# SEG half a voxel off the study is refused with a reason.
# Usage: SegImportCli.sh RADMARK_CLI SOURCE_DIR
set -u
cli="$1"
src="$2"
work="$(mktemp -d)"
. "$src/tests/scripts/store-cli.sh"
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
write_policy

init_store annie:annotator
$py "$src/tests/export_formats/make_series.py" --out "$work/ct" --rows 9 --cols 7 --slices 8 \
  --oblique || fail "generate CT"
as ada import "$work/ct" > "$work/import.out" 2>&1 || fail "import: $(cat "$work/import.out")"
study=$(as ada studies | awk -F'\t' 'NR == 2 {print $1}')
[ -n "$study" ] || fail "no study"
as ada assign annie "$study" > /dev/null || fail "assign"

$py - "$work" <<'PY' || fail "SEG by pydicom"
import os, random, sys
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

work = sys.argv[1]
images = [pydicom.dcmread(os.path.join(work, "ct", f)) for f in os.listdir(os.path.join(work, "ct"))]
def along(ds):
    o = np.array([float(v) for v in ds.ImageOrientationPatient])
    return float(np.dot(np.cross(o[:3], o[3:]), [float(v) for v in ds.ImagePositionPatient]))
images.sort(key=along)
rows, cols, nz = images[0].Rows, images[0].Columns, len(images)
y, x = np.mgrid[0:rows, 0:cols]
masks = {}
for k in range(nz):
    liver = ((x + y + k) % 4 == 0) & (1 <= k <= 5)
    spleen = (x < 3) & (y > 5) & (2 <= k <= 3) & ~liver
    masks[(1, k)], masks[(2, k)] = liver, spleen
frames = [(n, k) for (n, k), m in masks.items() if m.any()]
random.Random(5).shuffle(frames)

def code(value, scheme, meaning):
    c = Dataset()
    c.CodeValue, c.CodingSchemeDesignator, c.CodeMeaning = value, scheme, meaning
    return Sequence([c])

meta = FileMetaDataset()
meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.66.4"
meta.MediaStorageSOPInstanceUID = generate_uid()
meta.TransferSyntaxUID = ExplicitVRLittleEndian
ds = Dataset()
ds.file_meta = meta
ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
ds.Modality, ds.SegmentationType = "SEG", "BINARY"
ds.StudyInstanceUID, ds.SeriesInstanceUID = images[0].StudyInstanceUID, generate_uid()
ds.FrameOfReferenceUID = images[0].FrameOfReferenceUID
ds.Rows, ds.Columns, ds.NumberOfFrames = rows, cols, len(frames)
ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 1, 1, 0, 0
segments = []
for number, (label, value, meaning) in enumerate(
        [("Liver", "10200004", "Liver"), ("Spleen", "78961009", "Spleen")], start=1):
    item = Dataset()
    item.SegmentNumber, item.SegmentLabel, item.SegmentAlgorithmType = number, label, "MANUAL"
    item.SegmentedPropertyCategoryCodeSequence = code("123037004", "SCT", "Anatomical Structure")
    item.SegmentedPropertyTypeCodeSequence = code(value, "SCT", meaning)
    segments.append(item)
ds.SegmentSequence = Sequence(segments)
shared = Dataset()
measures, plane = Dataset(), Dataset()
measures.PixelSpacing, measures.SliceThickness = images[0].PixelSpacing, images[0].SliceThickness
plane.ImageOrientationPatient = images[0].ImageOrientationPatient
shared.PixelMeasuresSequence, shared.PlaneOrientationSequence = Sequence([measures]), Sequence([plane])
ds.SharedFunctionalGroupsSequence = Sequence([shared])
per_frame = []
for n, k in frames:
    group, position, ident = Dataset(), Dataset(), Dataset()
    position.ImagePositionPatient = images[k].ImagePositionPatient
    ident.ReferencedSegmentNumber = n
    group.PlanePositionSequence, group.SegmentIdentificationSequence = Sequence([position]), Sequence([ident])
    per_frame.append(group)
ds.PerFrameFunctionalGroupsSequence = Sequence(per_frame)
bits = np.concatenate([masks[f].astype(np.uint8).ravel() for f in frames])
packed = np.packbits(bits, bitorder="little").tobytes()
ds.PixelData = packed + (b"\0" if len(packed) % 2 else b"")
ds.is_little_endian, ds.is_implicit_VR = True, False
pydicom.dcmwrite(os.path.join(work, "seg.dcm"), ds, write_like_original=False)
# The same SEG half a voxel along the rows: not on the study's voxels.
o = np.array([float(v) for v in images[0].ImageOrientationPatient])
for group in ds.PerFrameFunctionalGroupsSequence:
    p = np.array([float(v) for v in group.PlanePositionSequence[0].ImagePositionPatient])
    group.PlanePositionSequence[0].ImagePositionPatient = [f"{v:.6f}" for v in p + 0.35 * o[:3]]
pydicom.dcmwrite(os.path.join(work, "shifted.dcm"), ds, write_like_original=False)
counts = {"Liver": sum(int(masks[(1, k)].sum()) for k in range(nz)),
          "Spleen": sum(int(masks[(2, k)].sum()) for k in range(nz))}
open(os.path.join(work, "expected.txt"), "w").write(f"Liver={counts['Liver']}  Spleen={counts['Spleen']}")
PY

as annie annotations import --study "$study" --mask "$work/seg.dcm" > "$work/out" 2>&1 \
  || fail "import of the SEG: $(cat "$work/out")"
expected=$(cat "$work/expected.txt")
as annie versions --study "$study" > "$work/versions" || fail "versions"
grep -q -- "$expected" "$work/versions" || fail "voxel counts: $(cat "$work/versions"), expected $expected"
as annie annotations import --study "$study" --mask "$work/shifted.dcm" > "$work/out" 2>&1 \
  && fail "a SEG off the study's voxels was imported"
grep -q "different grid" "$work/out" || fail "refusal: $(cat "$work/out")"
echo "ok: $expected"
