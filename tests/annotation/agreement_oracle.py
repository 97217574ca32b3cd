#!/usr/bin/python3
"""Independent reference for Radmark's surface metrics, with scipy and numpy only.

Reads FOLDER/case.json ({"dims": [nx, ny, nz], "spacing": [sx, sy, sz], "tolerance_mm": t}) and
FOLDER/reference.raw, FOLDER/compared.raw (uint8, 0 or 1, x fastest), prints JSON with the
same definitions Radmark states (and MONAI implements):
  boundary     = mask minus its erosion by the 6-neighbour cross, the outside counting as empty
  distances    = scipy.ndimage.distance_transform_edt of "not the other boundary",
                 sampling = spacing, read at each boundary voxel
  hausdorff    = max of both directions
  hd95         = max(np.percentile(a_to_b, 95), np.percentile(b_to_a, 95))  (linear)
  assd         = mean of both directions pooled
  surface dice = (#a_to_b <= t + #b_to_a <= t) / (#boundary a + #boundary b)
"""
import json
import sys

import numpy as np
from scipy import ndimage


def main(folder):
    with open(f"{folder}/case.json") as f:
        case = json.load(f)
    nx, ny, nz = case["dims"]
    sx, sy, sz = case["spacing"]
    tau = case["tolerance_mm"]

    def load(name):
        data = np.fromfile(f"{folder}/{name}.raw", dtype=np.uint8)
        return data.reshape((nz, ny, nx)).astype(bool)  # numpy order: z, y, x

    a, b = load("reference"), load("compared")
    cross = ndimage.generate_binary_structure(3, 1)

    def boundary(mask):
        return mask & ~ndimage.binary_erosion(mask, structure=cross, border_value=0)

    edge_a, edge_b = boundary(a), boundary(b)
    sampling = (sz, sy, sx)
    a_to_b = ndimage.distance_transform_edt(~edge_b, sampling=sampling)[edge_a]
    b_to_a = ndimage.distance_transform_edt(~edge_a, sampling=sampling)[edge_b]
    both = np.concatenate([a_to_b, b_to_a])
    inter = int(np.count_nonzero(a & b))
    out = {
        "voxels_reference": int(a.sum()),
        "voxels_compared": int(b.sum()),
        "dice": 2.0 * inter / (a.sum() + b.sum()),
        "boundary_reference": int(edge_a.sum()),
        "boundary_compared": int(edge_b.sum()),
        "hausdorff_mm": float(both.max()),
        "hd95_mm": float(max(np.percentile(a_to_b, 95), np.percentile(b_to_a, 95))),
        "assd_mm": float(both.mean()),
        "surface_dice": float((np.count_nonzero(a_to_b <= tau) + np.count_nonzero(b_to_a <= tau))
                              / both.size),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
