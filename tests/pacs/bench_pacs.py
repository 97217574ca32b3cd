#!/usr/bin/python3
"""Speed of import from the PACS (issue 14, "Speed"), against a loopback Orthanc with its
DICOMweb plugin, in one run:
  - a generated CT (default 512x512x300) beside --others small generated studies (default 1000);
  - query by patient ID and by accession: median of 5 `radmark-cli pacs query` runs, and the
    seconds Orthanc itself takes to answer the same QIDO-RS request (urllib, no Radmark);
  - retrieve, de-identify and store (`radmark-cli pacs import`) against `radmark-cli import` of
    the same files from disk, each into a fresh store, interleaved, median of --runs; the ratio;
  - peak RSS of the CLI process (GNU time) against the series' decoded bytes.

Usage: bench_pacs.py --cli RADMARK_CLI --src SOURCE_DIR [--slices 300] [--others 1000] [--runs 3]
Not a test: prints figures only. Orthanc is stopped at the end, always.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from orthanc_test import ADMIN_PASSWORD, ORTHANC_PASSWORD, ORTHANC_USER, Orthanc  # noqa: E402

import pydicom  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cli", required=True)
    p.add_argument("--src", required=True)
    p.add_argument("--slices", type=int, default=300)
    p.add_argument("--others", type=int, default=1000)
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    cli = os.path.abspath(args.cli)
    home = tempfile.mkdtemp(prefix="radmark-bench-pacs-")
    orthanc = Orthanc(os.path.join(home, "orthanc"))
    try:
        orthanc.start()
        gen = os.path.join(args.src, "tests", "data", "generate_ct_series.py")
        ct = os.path.join(home, "ct")
        subprocess.run(["/usr/bin/python3", gen, "--out", ct, "--slices", str(args.slices),
                        "--seed", "77"], check=True, capture_output=True)
        first = pydicom.dcmread(os.path.join(ct, sorted(os.listdir(ct))[0]))
        study, patient, accession = first.StudyInstanceUID, first.PatientID, first.AccessionNumber
        t = time.time()
        orthanc.upload_folder(ct)
        print(f"upload of the CT ({args.slices} slices): {time.time() - t:.1f} s")
        # Small studies: one 2-slice 64x64 series each, other patients and accessions.
        small = os.path.join(home, "small")
        subprocess.run(["/usr/bin/python3", gen, "--out", small, "--slices", "2", "--rows", "64",
                        "--cols", "64", "--seed", "5"], check=True, capture_output=True)
        templates = [pydicom.dcmread(os.path.join(small, f)) for f in sorted(os.listdir(small))]
        t = time.time()
        for i in range(args.others):
            study_uid = pydicom.uid.generate_uid()
            series_uid = pydicom.uid.generate_uid()
            for ds in templates:
                ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
                ds.SOPInstanceUID = pydicom.uid.generate_uid()
                ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
                ds.PatientID, ds.AccessionNumber = f"OTHER-{i:05d}", f"ACC-OTHER-{i:05d}"
                ds.PatientName = f"OTHER^PATIENT{i:05d}"
                path = os.path.join(home, "one.dcm")
                ds.save_as(path)
                with open(path, "rb") as f:
                    orthanc.request("POST", "/instances", f.read())
        print(f"upload of {args.others} other studies: {time.time() - t:.1f} s")

        cred = os.path.join(home, "cred")
        with open(cred, "w") as f:
            f.write(f"username={ORTHANC_USER}\npassword={ORTHANC_PASSWORD}\n")
        os.chmod(cred, 0o600)
        policy = os.path.join(home, "policy.json")
        # PACS nodes are the site's alone: the policy is this test build's system policy.
        os.environ["RADMARK_TEST_SYSTEM_POLICY"] = policy
        with open(policy, "w") as f:
            json.dump({"argon2_memory_bytes": 65536, "argon2_operations": 1, "pacs_nodes": [
                {"name": "orthanc", "dicomweb": f"{orthanc.url()}/dicom-web",
                 "plain_http_allowed": True, "credentials": cred}]}, f)

        def new_store(name):
            store = os.path.join(home, name)
            shutil.rmtree(store, ignore_errors=True)
            subprocess.run([cli, "init", "--store", store, "--policy", policy, "--admin", "ada",
                            "--audit-key-out", store + ".audit", "--password-stdin"],
                           input=ADMIN_PASSWORD + "\n", text=True, check=True,
                           capture_output=True)
            if os.path.exists(store + ".audit"):
                os.remove(store + ".audit")
            return ["--store", store, "--policy", policy, "--user", "ada", "--password-stdin"]

        def timed(words):
            command = ["/usr/bin/time", "-f", "%e %M", cli, *words]
            r = subprocess.run(command, input=ADMIN_PASSWORD + "\n", text=True,
                               capture_output=True)
            if r.returncode != 0:
                raise RuntimeError(" ".join(words[:2]) + ": " + r.stderr[-500:])
            seconds, rss = r.stderr.strip().splitlines()[-1].split()
            return float(seconds), int(rss) / 1024

        store = new_store("query-store")
        for label, flag, value, qido in (
                ("patient ID", "--patient-id", patient, "PatientID"),
                ("accession", "--accession", accession, "AccessionNumber")):
            runs = [timed(["pacs", "query", "--node", "orthanc", flag, value, *store])[0]
                    for _ in range(5)]
            raw = []
            for _ in range(5):
                t = time.time()
                orthanc.request("GET", f"/dicom-web/studies?{qido}={value}")
                raw.append(time.time() - t)
            print(f"query by {label}: radmark-cli pacs query median {statistics.median(runs):.3f} s "
                  f"(login and the fetcher's start included); Orthanc's QIDO-RS answer alone "
                  f"{statistics.median(raw):.3f} s")

        pacs_runs, disk_runs, rss_pacs, rss_disk = [], [], [], []
        for _ in range(args.runs):
            s = new_store("pacs-store")
            seconds, rss = timed(["pacs", "import", "--node", "orthanc", "--study", study, *s])
            pacs_runs.append(seconds)
            rss_pacs.append(rss)
            s = new_store("disk-store")
            seconds, rss = timed(["import", ct, *s])
            disk_runs.append(seconds)
            rss_disk.append(rss)
        decoded = first.Rows * first.Columns * 2 * args.slices / 2**20
        pm, dm = statistics.median(pacs_runs), statistics.median(disk_runs)
        print(f"import of the CT: pacs import median {pm:.2f} s, import from disk median "
              f"{dm:.2f} s, ratio {pm / dm:.2f} (runs: {pacs_runs} / {disk_runs})")
        print(f"peak RSS of radmark-cli: pacs import {max(rss_pacs):.0f} MiB, import from disk "
              f"{max(rss_disk):.0f} MiB; the series' decoded bytes {decoded:.0f} MiB "
              f"(ratio {max(rss_pacs) / decoded:.2f}; the memfds that hold the retrieved "
              f"instances and the decoder child are not in these figures)")
        with open("/proc/loadavg") as f:
            print("load average:", f.read().strip())
    finally:
        orthanc.stop()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
