#!/usr/bin/python3
"""Speed of import from the PACS (issue 14, "Speed"): the fixture for `radmark-cli bench pacs`.

Starts a loopback Orthanc with its DICOMweb plugin and its DICOM server (Radmark registered as
RADMARK for C-GET, and as the C-MOVE destination at a free port), uploads a generated CT
(default 512x512x300) beside --others small generated studies (default 1000), writes a policy
with three nodes of the same Orthanc (DICOMweb, DIMSE C-GET, DIMSE C-MOVE), and runs

  radmark-cli bench pacs --policy P --node web --node dimse-get --node dimse-move \
      --study UID --source CT_FOLDER --patient-id ID --accession N --runs R

which measures, in one run: the query by patient ID and by accession for each node, retrieve +
de-identify + store from each node against `import` of the same files from disk (fresh scratch
stores, interleaved, medians, ratios), and peak RSS. Also prints Orthanc's own QIDO-RS answer
time, for comparison.

Usage: bench_pacs.py --cli RADMARK_CLI --src SOURCE_DIR [--slices 300] [--others 1000] [--runs 3]
Not a test: prints figures only. Orthanc is stopped at the end, always.
"""
import argparse
import concurrent.futures
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from orthanc_test import ADMIN_PASSWORD, ORTHANC_PASSWORD, ORTHANC_USER, free_port  # noqa: E402
from orthanc_dimse_test import ORTHANC_AET, DimseOrthanc  # noqa: E402

import pydicom  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cli", required=True)
    p.add_argument("--src", required=True)
    p.add_argument("--slices", type=int, default=300)
    p.add_argument("--others", type=int, default=1000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--pacs-nodelay", action="store_true",
                   help="start Orthanc with TCP_NODELAY=1 (its DCMTK then sends without Nagle's "
                        "algorithm): what a PACS tuned for DIMSE throughput gives")
    args = p.parse_args()
    if args.pacs_nodelay:
        os.environ["TCP_NODELAY"] = "1"  # inherited by Orthanc (the fetcher's is cleaned)
    cli = os.path.abspath(args.cli)
    home = tempfile.mkdtemp(prefix="radmark-bench-pacs-")
    scp_port = free_port()
    orthanc = DimseOrthanc(os.path.join(home, "orthanc"), {
        "radmark": {"AET": "RADMARK", "Host": "127.0.0.1", "Port": scp_port}})
    try:
        orthanc.start()
        gen = os.path.join(args.src, "tests", "data", "generate_ct_series.py")
        ct = os.path.join(home, "ct")
        subprocess.run(["/usr/bin/python3", gen, "--out", ct, "--slices", str(args.slices),
                        "--seed", "77"], check=True, capture_output=True)
        first = pydicom.dcmread(os.path.join(ct, sorted(os.listdir(ct))[0]))
        study, patient, accession = first.StudyInstanceUID, first.PatientID, first.AccessionNumber
        # Uploads in parallel (Orthanc takes POST /instances on several threads).
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=6)

        def upload_all(blobs):
            for _ in pool.map(lambda b: orthanc.request("POST", "/instances", b), blobs):
                pass

        def read(path):
            with open(path, "rb") as f:
                return f.read()

        t = time.time()
        upload_all(read(os.path.join(ct, n)) for n in sorted(os.listdir(ct)))
        print(f"upload of the CT ({args.slices} slices): {time.time() - t:.1f} s")
        # Small studies: one 2-slice 64x64 series each, other patients and accessions.
        small = os.path.join(home, "small")
        subprocess.run(["/usr/bin/python3", gen, "--out", small, "--slices", "2", "--rows", "64",
                        "--cols", "64", "--seed", "5"], check=True, capture_output=True)
        templates = [pydicom.dcmread(os.path.join(small, f)) for f in sorted(os.listdir(small))]
        t = time.time()

        def others():
            for i in range(args.others):
                study_uid = pydicom.uid.generate_uid()
                series_uid = pydicom.uid.generate_uid()
                for ds in templates:
                    ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
                    ds.SOPInstanceUID = pydicom.uid.generate_uid()
                    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
                    ds.PatientID, ds.AccessionNumber = f"OTHER-{i:05d}", f"ACC-OTHER-{i:05d}"
                    ds.PatientName = f"OTHER^PATIENT{i:05d}"
                    out = io.BytesIO()
                    ds.save_as(out)
                    yield out.getvalue()

        upload_all(others())
        pool.shutdown()
        stats = json.loads(orthanc.request("GET", "/statistics"))
        print(f"upload of {args.others} other studies: {time.time() - t:.1f} s; Orthanc holds "
              f"{stats['CountStudies']} studies, {stats['CountInstances']} instances")

        for label, qido in (("patient ID", f"PatientID={patient}"),
                            ("accession", f"AccessionNumber={accession}")):
            raw = []
            for _ in range(5):
                t = time.time()
                orthanc.request("GET", f"/dicom-web/studies?{qido}")
                raw.append(time.time() - t)
            print(f"Orthanc's own QIDO-RS answer by {label}: median {statistics.median(raw):.3f} s")

        cred = os.path.join(home, "cred")
        with open(cred, "w") as f:
            f.write(f"username={ORTHANC_USER}\npassword={ORTHANC_PASSWORD}\n")
        os.chmod(cred, 0o600)
        dimse = {"ae_title": ORTHANC_AET, "host": "127.0.0.1", "port": orthanc.dicom_port,
                 "calling_ae": "RADMARK"}
        policy = os.path.join(home, "policy.json")
        with open(policy, "w") as f:
            json.dump({"pacs_nodes": [
                {"name": "web", "dicomweb": f"{orthanc.url()}/dicom-web",
                 "plain_http_allowed": True, "credentials": cred},
                {"name": "dimse-get", "dimse": dimse},
                {"name": "dimse-move", "dimse": dict(dimse, retrieve="move", move_destination={
                    "ae_title": "RADMARK", "port": scp_port})}]}, f)
        # The whole `radmark-cli pacs query` as an admin runs it: the CLI's start, the login (the
        # policy's Argon2 cost: the test's cheap one here, 64 MiB and 1 pass on a workstation's
        # policy is 256 MiB and 3), the fetcher's start and the query.
        store = os.path.join(home, "cli-store")
        with open(policy) as f:
            cli_policy = dict(json.load(f), argon2_memory_bytes=65536, argon2_operations=1)
        cli_policy_file = os.path.join(home, "cli-policy.json")
        with open(cli_policy_file, "w") as f:
            json.dump(cli_policy, f)
        env = dict(os.environ, RADMARK_TEST_SYSTEM_POLICY=cli_policy_file)
        subprocess.run([cli, "init", "--store", store, "--policy", cli_policy_file, "--admin",
                        "ada", "--audit-key-out", os.path.join(home, "audit.key"),
                        "--password-stdin"], input=ADMIN_PASSWORD + "\n", text=True, env=env,
                       check=True, capture_output=True)
        for node in ("web", "dimse-get"):
            for label, option, value in (("patient ID", "--patient-id", patient),
                                         ("accession", "--accession", accession)):
                times = []
                for _ in range(5):
                    t = time.time()
                    r = subprocess.run([cli, "pacs", "query", "--store", store, "--policy",
                                        cli_policy_file, "--user", "ada", "--password-stdin",
                                        "--node", node, option, value],
                                       input=ADMIN_PASSWORD + "\n", text=True, env=env,
                                       capture_output=True)
                    times.append(time.time() - t)
                    if r.returncode != 0 or study not in r.stdout:
                        raise RuntimeError(f"pacs query failed: {r.stdout} {r.stderr}")
                print(f"radmark-cli pacs query by {label} (node {node}), the whole command: "
                      f"median {statistics.median(times):.3f} s over 5")
        command = [cli, "bench", "pacs", "--policy", policy, "--node", "web", "--node",
                   "dimse-get", "--node", "dimse-move", "--study", study, "--source", ct,
                   "--patient-id", patient, "--accession", accession, "--runs", str(args.runs),
                   "--dir", home]
        print("$", " ".join(command[1:3]), "...", flush=True)
        subprocess.run(command, check=True)
    finally:
        orthanc.stop()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
