#!/usr/bin/env bash
# radmark-cli annotations import --mask SEG on a real store: a DICOM SEG written by another tool
# (pydicom here: only its non-empty frames, in shuffled order, 7x9 frames packed bit after bit)
# on a generated oblique series becomes a version whose voxel counts per segment are numpy's; a
# SEG half a voxel off the study is refused with a reason. The mask is untrusted input: only the
# decoder child opens it (strace), and a truncated SEG or a file that crashes the decoder is one
# line of refusal, the CLI alive and the store as it was.
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

# Who opens the mask: the decoder child, never the CLI that holds the store key.
command -v strace > /dev/null || fail "strace is missing (scripts/setup installs it)"
cp "$work/seg.dcm" "$work/probe-seg.dcm"
printf '%s\n' "$upw" | strace -f -qq -e trace=openat,open -o "$work/trace" "$cli" annotations \
  import --study "$study" --mask "$work/probe-seg.dcm" "${s[@]}" --user annie --password-stdin \
  > "$work/out" 2>&1 || fail "import of the SEG under strace: $(cat "$work/out")"
cli_pid="$(head -n1 "$work/trace" | awk '{print $1}')"
openers="$(grep 'probe-seg.dcm' "$work/trace" | grep -v ENOENT | awk '{print $1}' | sort -u)"
[ -n "$openers" ] || fail "nobody opened the SEG?"
for pid in $openers; do
  [ "$pid" != "$cli_pid" ] || fail "the CLI process ($cli_pid) opened the SEG itself"
done
echo "ok: the SEG was opened by the decoder child ($openers), not the CLI ($cli_pid)"

# Bad masks: a SEG cut short, and a file that crashes the decoder (a JPEG 2000 image of the
# malformed corpus). Each is one line naming the file, exit 1 (not a signal), no new version.
before=$(as annie versions --study "$study" | wc -l)
head -c 1500 "$work/seg.dcm" > "$work/cut.dcm"
cp "$src/tests/decoder/data/info-SIGSEGV-JPEG2000-56b65079fed9.dcm" "$work/crash.dcm"
for bad in cut crash; do
  status=0
  as annie annotations import --study "$study" --mask "$work/$bad.dcm" > "$work/out" 2>&1 ||
    status=$?
  [ "$status" -eq 1 ] || fail "$bad mask: exit status $status, expected 1: $(cat "$work/out")"
  [ "$(wc -l < "$work/out")" -eq 1 ] || fail "$bad mask: not one line: $(cat "$work/out")"
  grep -q "$bad.dcm" "$work/out" || fail "$bad mask: the file is not named: $(cat "$work/out")"
  echo "ok: $bad mask refused: $(cat "$work/out")"
done
# The JPEG 2000 decoder writes past its buffer: a fault, or glibc's heap check aborting (which of
# the two depends on the heap's layout, so both are a crash said; a clean refusal is not).
grep -Eq "the decoder (crashed \(SIGSEGV\)|aborted \(SIGABRT[^)]*\))" "$work/out" ||
  fail "the crash was not said: $(cat "$work/out")"
after=$(as annie versions --study "$study" | wc -l)
[ "$before" -eq "$after" ] || fail "a refused mask left a version ($before -> $after lines)"
