#!/usr/bin/python3
"""Independent check of a NIfTI image exported from a stored study made by make_series.py.

    check_stored_nifti.py SPEC.json     SPEC: {"image": FILE, "labels": FILE, "geometry": {...}}

The image must hold make_series.py's HU, (7x + 13y + 101k) % 3000 - 1024 at column x, row y of
slice k, as int16 with the RAS affine of the stored LPS geometry; the labels the same grid.
"""
import json
import sys
import warnings

import numpy as np

warnings.simplefilter("ignore")
import nibabel as nib  # noqa: E402

spec = json.load(open(sys.argv[1]))
g = spec["geometry"]
lps = np.eye(4)
lps[:3, :3] = np.array(g["direction"]).reshape(3, 3) * np.array(g["spacing"])
lps[:3, 3] = g["origin"]
ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps
problems = []
img, labels = nib.load(spec["image"]), nib.load(spec["labels"])
nx, ny, nz = g["dims"]
x, y, k = np.meshgrid(np.arange(nx), np.arange(ny), np.arange(nz), indexing="ij")
hu = (7 * x + 13 * y + 101 * k) % 3000 - 1024
data = np.asarray(img.dataobj)
if data.dtype != np.int16 or not np.array_equal(data, hu):
    problems.append(f"image: dtype {data.dtype}, {np.count_nonzero(data != hu)} voxels differ")
for name, f in (("image", img), ("labels", labels)):
    if not np.allclose(f.affine, ras, atol=1e-4):
        problems.append(f"{name}: affine\n{f.affine}\n!=\n{ras}")
    if not np.allclose(f.header.get_qform(), f.header.get_sform(), atol=1e-4):
        problems.append(f"{name}: qform != sform")
if problems:
    print("\n".join(problems))
    sys.exit(1)
print("stored nifti ok")
