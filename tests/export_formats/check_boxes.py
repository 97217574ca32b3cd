#!/usr/bin/python3
"""Independent check of exported boxes against arithmetic written here, on the affine nibabel
reads from each case's NIfTI image (no Radmark code).

    check_boxes.py SPEC.json

SPEC: {"cases": [{"image": NIFTI, "boxes": CASE_JSON, "axisAligned": bool}], "monai": JSON,
       "classes": {"segment label": [dataset value, detection class, name]}}
A box's voxels min..max (inclusive) cover index min - 1/2 .. max + 1/2 on each axis; its world
bounds are those of the 8 corners. MONAI (its LUNA16 detection example) loads the image, reorients
it to RAS, turns the cccwhd box into two corners and maps them with the inverse affine: on an
axis-aligned image that must give back exactly the voxel edges of the box.
"""
import json
import sys
import warnings

import numpy as np

warnings.simplefilter("ignore")
import nibabel as nib  # noqa: E402

problems = []


def check(condition, message):
    if not condition:
        problems.append(message)


def close(a, b, tol=1e-5):
    return np.allclose(np.asarray(a, float), np.asarray(b, float), atol=tol)


def corners(lo, hi):
    return np.array([[hi[k] + 0.5 if (c >> k) & 1 else lo[k] - 0.5 for k in range(3)]
                     for c in range(8)])


def apply(affine, points):
    return (affine[:3, :3] @ np.asarray(points, float).T).T + affine[:3, 3]


def main():
    spec = json.load(open(sys.argv[1]))
    classes = {int(k): v for k, v in spec["classes"].items()}
    monai = json.load(open(spec["monai"]))
    check(list(monai) == ["training"], f"MONAI splits {list(monai)}")
    monai_cases = {entry["image"]: entry for entry in monai["training"]}
    checked = 0
    for case in spec["cases"]:
        img = nib.load(case["image"])
        ras_affine = img.affine  # float32 in the file: tolerance 1e-4 mm
        lps_affine = np.diag([-1.0, -1.0, 1.0, 1.0]) @ ras_affine
        document = json.load(open(case["boxes"]))
        check(close(document["image"]["affineRas"], ras_affine, 1e-4), f"{case['boxes']}: affine")
        check(document["image"]["dims"] == list(img.shape), f"{case['boxes']}: dims")
        ids = [b["id"] for b in document["boxes"]]
        check(ids == sorted(ids), f"{case['boxes']}: boxes not in id order")
        name = case["image"].rsplit("/", 1)[-1]
        entry = monai_cases.get(name)
        check(entry is not None, f"{name}: not in the MONAI list")
        for i, b in enumerate(document["boxes"]):
            lo, hi = b["voxel"]["min"], b["voxel"]["max"]
            for space, affine in (("ras", ras_affine), ("lps", lps_affine)):
                points = apply(affine, corners(lo, hi))
                want_min, want_max = points.min(axis=0), points.max(axis=0)
                got = b[space]
                check(close(got["min"], want_min, 1e-4) and close(got["max"], want_max, 1e-4),
                      f"{name} box {b['id']} {space}: {got['min']} {got['max']} != {want_min} {want_max}")
                check(close(got["centre"], (want_min + want_max) / 2, 1e-4), f"{name} box {b['id']} {space} centre")
                check(close(got["size"], want_max - want_min, 1e-4), f"{name} box {b['id']} {space} size")
            known = [v for v in classes.values() if v[2] == b["name"]]
            check(len(known) == 1, f"{name} box {b['id']}: unknown segment {b['name']}")
            value, detection, _ = known[0] if known else (None, None, None)
            check(b["label"] == value, f"{name} box {b['id']}: label {b['label']}, expected {value}")
            if b["kind"].startswith("2D"):
                plane = {"2D sagittal": 0, "2D coronal": 1, "2D axial": 2}[b["kind"]]
                check(lo[plane] == hi[plane], f"{name} box {b['id']}: 2D box spans slices")
            if entry is None:
                continue
            # MONAI: cccwhd in RAS world mm, then (as AffineBoxToImageCoordinated after
            # Orientationd(RAS)) the two corners through the inverse affine of the RAS image.
            cx, cy, cz, w, h, d = entry["box"][i]
            check(close([cx, cy, cz], b["ras"]["centre"], 1e-5) and close([w, h, d], b["ras"]["size"], 1e-5),
                  f"{name} box {b['id']}: MONAI box differs from the RAS extent")
            check(entry["label"][i] == detection, f"{name} box {b['id']}: MONAI label {entry['label'][i]}")
            if case["axisAligned"]:
                canonical = nib.as_closest_canonical(img)
                inverse = np.linalg.inv(canonical.affine)
                p0 = apply(inverse, [[cx - w / 2, cy - h / 2, cz - d / 2]])[0]
                p1 = apply(inverse, [[cx + w / 2, cy + h / 2, cz + d / 2]])[0]
                got_lo, got_hi = np.minimum(p0, p1), np.maximum(p0, p1)
                # The box's voxels in the canonical image: map our indices through the affines.
                to_canonical = inverse @ ras_affine
                vox = apply(to_canonical, [lo, hi])
                first, last = vox.min(axis=0), vox.max(axis=0)
                check(close(got_lo, first - 0.5, 1e-3) and close(got_hi, last + 0.5, 1e-3),
                      f"{name} box {b['id']}: MONAI reads voxels {got_lo}..{got_hi}, expected {first - 0.5}..{last + 0.5}")
            checked += 1
    check(checked == 9, f"{checked} boxes checked")
    if problems:
        print("\n".join(problems))
        sys.exit(1)
    print(f"boxes ok: {checked}")


main()
