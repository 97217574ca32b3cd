#!/usr/bin/python3
"""Independent check of exported NIfTI files with nibabel (no Radmark code).

    check_nifti.py SPEC.json

SPEC: {"geometry": {dims, spacing, origin, direction (row-major, LPS)}, "image": FILE,
       "labels": [{"file": FILE, "map": {"annotation label": dataset value}, "dtype": "uint8"}]}
The image holds ctValue(x, y, z) = (7x + 13y + 101z) % 3000 - 1024 (HU, int16); the labels the
pattern [0, 3, 7, 0, 300][(x + 2y + 3z) % 5] mapped through "map". Exit 1 with the reasons.
"""
import gzip
import json
import subprocess
import sys
import warnings

import numpy as np

warnings.simplefilter("ignore")
import nibabel as nib  # noqa: E402

problems = []


def check(condition, message):
    if not condition:
        problems.append(message)


def gzip_members(path):
    """Walks the gzip members: (offset, header flags, mtime) of each, and the total length."""
    data = open(path, "rb").read()
    members = []
    offset = 0
    import zlib

    while offset < len(data):
        header = data[offset:offset + 10]
        if header[:3] != b"\x1f\x8b\x08":
            problems.append(f"{path}: no gzip member at byte {offset}")
            break
        flags, mtime = header[3], int.from_bytes(header[4:8], "little")
        members.append((offset, flags, mtime))
        d = zlib.decompressobj(-15)
        d.decompress(data[offset + 10:])
        offset = len(data) - len(d.unused_data) + 8  # skip CRC32 and ISIZE
    return members


def expected_affine(geometry):
    direction = np.array(geometry["direction"], dtype=float).reshape(3, 3)
    spacing = np.array(geometry["spacing"], dtype=float)
    origin = np.array(geometry["origin"], dtype=float)
    lps = np.eye(4)
    lps[:3, :3] = direction * spacing  # column j scaled by spacing j
    lps[:3, 3] = origin
    return np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps


def check_common(path, geometry, dtype):
    img = nib.load(path)
    hdr = img.header
    dims = tuple(geometry["dims"])
    check(img.shape == dims, f"{path}: shape {img.shape}, expected {dims}")
    check(hdr.get_data_dtype() == np.dtype(dtype), f"{path}: dtype {hdr.get_data_dtype()}")
    affine = expected_affine(geometry)
    check(np.allclose(img.affine, affine, atol=1e-4), f"{path}: affine\n{img.affine}\n!=\n{affine}")
    sform, scode = hdr.get_sform(coded=True)
    qform, qcode = hdr.get_qform(coded=True)
    check(int(scode) == 1 and int(qcode) == 1, f"{path}: sform_code {scode}, qform_code {qcode}")
    check(np.allclose(sform, qform, atol=1e-4), f"{path}: sform\n{sform}\n!= qform\n{qform}")
    check(np.allclose(hdr.get_zooms(), geometry["spacing"], atol=1e-6), f"{path}: zooms {hdr.get_zooms()}")
    check(hdr.get_xyzt_units()[0] == "mm", f"{path}: units {hdr.get_xyzt_units()}")
    # nibabel's loaded header moves the scaling into dataobj: read the raw header as written.
    with gzip.open(path) as f:
        raw_header = nib.Nifti1Header.from_fileobj(f)
    slope, inter = raw_header["scl_slope"], raw_header["scl_inter"]
    check(float(slope) == 1.0 and float(inter) == 0.0, f"{path}: scl_slope {slope}, scl_inter {inter}")
    check(hdr["magic"] == b"n+1", f"{path}: magic {hdr['magic']}")
    members = gzip_members(path)
    check(len(members) >= 1, f"{path}: no gzip member")
    for offset, flags, mtime in members:
        check(mtime == 0, f"{path}: gzip member at {offset} has mtime {mtime}")
        check(flags & 0x08 == 0, f"{path}: gzip member at {offset} names a file")
    check(subprocess.run(["gzip", "-t", path]).returncode == 0, f"{path}: gzip -t fails")
    with gzip.open(path) as f:
        raw = f.read()
    check(len(raw) == 352 + int(np.prod(dims)) * np.dtype(dtype).itemsize,
          f"{path}: {len(raw)} bytes uncompressed")
    return img, len(members)


def main():
    spec = json.load(open(sys.argv[1]))
    geometry = spec["geometry"]
    nx, ny, nz = geometry["dims"]
    x, y, z = np.meshgrid(np.arange(nx), np.arange(ny), np.arange(nz), indexing="ij")

    img, members = check_common(spec["image"], geometry, "int16")
    hu = ((7 * x + 13 * y + 101 * z) % 3000 - 1024).astype(np.int16)
    data = np.asarray(img.dataobj)
    check(np.array_equal(data, hu), f"image: {np.count_nonzero(data != hu)} voxels differ")
    print(f"image: {members} gzip members")

    pattern = np.array([0, 3, 7, 0, 300])[(x + 2 * y + 3 * z) % 5]
    for entry in spec["labels"]:
        limg, _ = check_common(entry["file"], geometry, entry["dtype"])
        mapping = {int(k): v for k, v in entry["map"].items()}
        mapping[0] = 0
        expected = np.vectorize(mapping.get)(pattern)
        got = np.asarray(limg.dataobj)
        check(np.array_equal(got, expected), f"{entry['file']}: {np.count_nonzero(got != expected)} labels differ")
        check(int(limg.header["intent_code"]) == 1002, f"{entry['file']}: intent {limg.header['intent_code']}")
        # nnU-Net's rule: image and label on the same grid.
        check(np.allclose(limg.affine, img.affine, atol=1e-6), f"{entry['file']}: affine differs from the image's")

    if problems:
        print("\n".join(problems))
        sys.exit(1)
    print("nifti ok")


main()
