#!/usr/bin/python3
"""`radmark-cli deid --options default,deface`, checked with pydicom and nibabel (independent of
Radmark's readers): the head MRI written as a DICOM MR series comes out with every brain voxel
of ch2bet unchanged and its face changed, the report says so, and a body CT (not a head) is
quarantined with nothing of it left in the output folder.

    check_defaced_output.py --cli radmark-cli --work DIR --templates /usr/share/mricron/templates
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys

import nibabel
import numpy
import pydicom

HERE = os.path.dirname(os.path.abspath(__file__))


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def run(command, expect):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != expect:
        fail(f"{' '.join(command)} exited {result.returncode}, expected {expect}:\n"
             f"{result.stdout}{result.stderr}")
    return result


def volume_of(folder):
    """The output series as an array indexed like the NIfTI file (x, y, z)."""
    slices = [pydicom.dcmread(f) for f in glob.glob(os.path.join(folder, "**", "*.dcm"), recursive=True)]
    if not slices:
        fail("no DICOM file in " + folder)
    slices.sort(key=lambda ds: float(ds.ImagePositionPatient[2]))
    for ds in slices:
        if ds.get("RecognizableVisualFeatures") != "NO":
            fail("Recognizable Visual Features is not NO after defacing")
        codes = [item.CodeValue for item in ds.get("DeidentificationMethodCodeSequence", [])]
        if "113102" not in codes or "113100" not in codes:
            fail(f"the de-identification method codes {codes} do not record defacing")
    # Rows run along NIfTI y, columns along NIfTI x (see write_head_mri_dicom.py).
    return numpy.stack([ds.pixel_array.T for ds in slices], axis=2).astype(numpy.int32)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--cli", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--templates", required=True)
    args = p.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    head_source = os.path.join(args.work, "head-mr")
    out = os.path.join(args.work, "out")
    run(["/usr/bin/python3", os.path.join(HERE, "write_head_mri_dicom.py"), "--nifti",
         os.path.join(args.templates, "ch2.nii.gz"), "--out", head_source], 0)
    run([args.cli, "deid", head_source, "--out", out, "--options", "default,deface"], 0)

    original = numpy.asarray(nibabel.load(os.path.join(args.templates, "ch2.nii.gz")).dataobj)
    brain = numpy.asarray(nibabel.load(os.path.join(args.templates, "ch2bet.nii.gz")).dataobj) > 0
    defaced = volume_of(out)
    if defaced.shape != original.shape:
        fail(f"output shape {defaced.shape} is not the input's {original.shape}")
    changed = defaced != original.astype(numpy.int32)
    if (changed & brain).any():
        fail(f"{int((changed & brain).sum())} brain voxels changed")
    if changed.sum() < 50000:
        fail(f"only {int(changed.sum())} voxels changed: the face is still there")
    reports = glob.glob(os.path.join(out, "*", "deidentification-report.json"))
    if len(reports) != 1:
        fail(f"expected one report, found {reports}")
    with open(reports[0]) as f:
        report = json.load(f)
    entries = report.get("defacing", [])
    if len(entries) != 1 or entries[0]["action"] != "defaced" or entries[0]["removedVoxels"] != int(changed.sum()):
        fail("the report does not record the defacing: " + json.dumps(entries))
    if [n for n in os.listdir(out) if n.startswith(".")]:
        fail("the staging folder was left behind")

    body_source = os.path.join(args.work, "body-ct")
    body_out = os.path.join(args.work, "body-out")
    subprocess.run(["/usr/bin/python3", os.path.join(HERE, "..", "data", "generate_ct_series.py"),
                    "--out", body_source, "--slices", "8", "--rows", "96", "--cols", "80"],
                   check=True, capture_output=True)
    result = run([args.cli, "deid", body_source, "--out", body_out, "--options", "default,deface"], 3)
    if "cannot deface" not in result.stderr:
        fail("the body CT was not quarantined for defacing: " + result.stderr)
    left = [os.path.join(d, f) for d, _, fs in os.walk(body_out) for f in fs]
    if left:
        fail(f"a quarantined study left files behind: {left}")

    # A run killed while defacing left its staging folder (undefaced studies) and a temporary
    # file in the output folder: the next run removes both and says so, without any value.
    stale = os.path.join(body_out, ".radmark-defacing-Ab12Cd", "1.2.3", "4.5.6")
    os.makedirs(stale)
    with open(os.path.join(stale, "DOE_JOHN.dcm"), "wb") as f:
        f.write(b"DOE^JOHN undefaced")
    os.makedirs(os.path.join(body_out, "2.25.1", "2.25.2"))
    stale_temporary = os.path.join(body_out, "2.25.1", "2.25.2", ".defacing-DOE_JOHN.dcm")
    with open(stale_temporary, "wb") as f:
        f.write(b"DOE^JOHN half defaced")
    result = run([args.cli, "deid", body_source, "--out", body_out, "--options", "default,deface"], 3)
    if os.path.exists(os.path.dirname(os.path.dirname(stale))) or os.path.exists(stale_temporary):
        fail("the stale staging folder or temporary file of an interrupted run was not removed")
    if "removed 1 staging folder(s) and 1 temporary file(s)" not in result.stderr:
        fail("the sweep of the interrupted run is not reported: " + result.stderr)
    if "DOE" in result.stderr or "DOE" in result.stdout:
        fail("the sweep named a file of the interrupted run")
    print(f"ok: {int(changed.sum())} voxels defaced, 0 of {int(brain.sum())} brain voxels changed; "
          "body CT quarantined; an interrupted run's staging folder swept")


if __name__ == "__main__":
    main()
