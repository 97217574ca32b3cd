#!/usr/bin/python3
"""Import from a real PACS over DIMSE: Orthanc with its DICOM server on a loopback unprivileged
port, queried and retrieved through `radmark-cli pacs` with C-ECHO, C-FIND, C-GET and C-MOVE.

The test writes Orthanc's configuration: its DICOM server on a free port with AE title ORTHANCQR,
the called AE title checked, no unknown AE allowed anything, and Radmark registered in
"DicomModalities" (AE title RADMARK at the port of the storage SCP radmark-pacs-fetch runs for a
C-MOVE, and RMPROXY at a loopback proxy in front of a second SCP port). Its DICOMweb plugin stays
on for the DICOMweb half of the unsupported-object check. It uploads generated CT series with
planted marker values and pydicom's test-SR.dcm put into the first study, then:
  - `pacs nodes` shows the DIMSE nodes; `pacs echo` works, and an unknown calling AE title is
    refused (the association is rejected: exit status 4, a clear line);
  - queries (C-FIND) by patient ID, accession, name wildcard, date range with modality, and the
    series of a study;
  - import through C-GET: the images are stored, the SR is skipped and named;
  - the same study shape over DICOMweb: the images are stored, the SR is skipped and named;
  - the fetcher's sandbox: the test build of the fetcher (--fetch-test) tries execve after the
    third instance of a C-GET, of a C-MOVE (in the storage SCP's thread) and of a WADO-RS
    retrieve; each import says "the PACS fetcher was stopped by its sandbox (system call 59)" at
    once and stores nothing of that study;
  - C-MOVE to a destination Orthanc does not know is refused clearly;
  - Orthanc killed (SIGKILL) in the middle of a C-MOVE (the proxy kills it after 2 MiB of
    C-STOREs): nothing of that study is stored, and after a restart the retry (C-MOVE) works;
  - a study through C-MOVE, re-import skipped as already in store;
  - the store dump read back with pydicom, no marker value in any file under the test folder nor
    in the access log (Orthanc's storage folder is outside the searched folders).

Usage: orthanc_dimse_test.py --cli RADMARK_CLI --dump PACS_STORE_DUMP --src SOURCE_DIR
                             --fetch-test RADMARK_PACS_FETCH_TEST
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import orthanc_test as base  # noqa: E402
from orthanc_test import (ADMIN_PASSWORD, ALL_MARKERS, MARKERS, ORTHANC_PASSWORD,  # noqa: E402
                          ORTHANC_USER, SMALL_MARKERS, check, files_holding, free_port, plant,
                          study_rows)

import pydicom  # noqa: E402
from pydicom.uid import generate_uid  # noqa: E402

ORTHANC_AET = "ORTHANCQR"


class DimseOrthanc(base.Orthanc):
    """Orthanc with its DICOM server on: Radmark's AE titles registered, everyone else refused."""

    def __init__(self, home, modalities):
        super().__init__(home)
        self.dicom_port = free_port()
        with open(self.config) as f:
            config = json.load(f)
        config.update({
            "DicomServerEnabled": True,
            "DicomAet": ORTHANC_AET,
            "DicomPort": self.dicom_port,
            "DicomCheckCalledAet": True,
            "DicomCheckModalityHost": True,
            "DicomAlwaysAllowEcho": False,
            "DicomAlwaysAllowStore": False,
            "DicomAlwaysAllowFind": False,
            "DicomAlwaysAllowGet": False,
            "DicomAlwaysAllowMove": False,
            "DicomModalities": modalities,
        })
        with open(self.config, "w") as f:
            json.dump(config, f)


class StoreKillingProxy:
    """Loopback TCP proxy between Orthanc's C-STORE sub-operations and Radmark's storage SCP:
    once more than kill_after bytes went from Orthanc to the SCP, it kills Orthanc (SIGKILL) and
    drops the connection."""

    def __init__(self, target_port, kill_after, on_kill):
        self.target_port, self.kill_after, self.on_kill = target_port, kill_after, on_kill
        self.armed, self.killed = True, False
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.handle, args=(client,), daemon=True).start()

    def handle(self, client):
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=60)
        except OSError:
            client.close()
            return

        def back():
            try:
                while True:
                    data = upstream.recv(65536)
                    if not data:
                        break
                    client.sendall(data)
            except OSError:
                pass

        threading.Thread(target=back, daemon=True).start()
        sent = 0
        try:
            while True:
                data = client.recv(65536)
                if not data:
                    break
                upstream.sendall(data)
                sent += len(data)
                if self.armed and sent > self.kill_after:
                    self.armed, self.killed = False, True
                    self.on_kill()
                    break
        except OSError:
            pass
        for s in (client, upstream):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def stop(self):
        self.listener.close()


def main():
    return base.run_main(run_tests, "radmark-dimse-", lambda p: p.add_argument(
        "--fetch-test", required=True, help="radmark-pacs-fetch-test (RADMARK_PACS_FETCH_TEST_HOOKS)"))


def run_tests(args, work, pacs_home, orthancs, proxies):
    env, store, cli = base.store_cli(args, work)

    scp_port, scp_proxied_port = free_port(), free_port()
    proxy = StoreKillingProxy(scp_proxied_port, 2 << 20, lambda: orthanc.kill())
    proxies.append(proxy)
    modalities = {
        "radmark": {"AET": "RADMARK", "Host": "127.0.0.1", "Port": scp_port},
        "radmark-proxied": {"AET": "RMPROXY", "Host": "127.0.0.1", "Port": proxy.port},
    }
    orthanc = DimseOrthanc(os.path.join(pacs_home, "dimse"), modalities)
    orthancs.append(orthanc)
    orthanc.start()

    # -- the PACS's data (generated outside the searched folder) --------------------------------
    source = os.path.join(pacs_home, "source")

    def generate(name, seed, slices, size, markers, date):
        return base.generate_series(args, source, name, seed, slices, size, markers, date)

    def first(folder):
        return pydicom.dcmread(os.path.join(folder, sorted(os.listdir(folder))[0]))

    def add_sr(folder, study_uid, markers):
        """pydicom's test-SR.dcm, put into the study (a series of its own), with the markers."""
        ds = pydicom.dcmread(pydicom.data.get_testdata_file("test-SR.dcm"))
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = generate_uid()
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        for keyword, value in markers.items():
            setattr(ds, keyword, value)
        path = os.path.join(folder, "sr.dcm")
        ds.save_as(path)
        return path

    ct = generate("ct", 41, 12, 96, MARKERS, "20240105")
    study_uid = first(ct).StudyInstanceUID
    sr_folder = os.path.join(source, "ct-sr")
    os.makedirs(sr_folder)
    add_sr(sr_folder, study_uid, MARKERS)
    big_markers = dict(MARKERS, PatientID="ZQMRK-ID-4417-B", AccessionNumber="ZQACC-8831")
    big = generate("big", 43, 48, 256, big_markers, "20240210")
    big_uid = first(big).StudyInstanceUID
    web = generate("web", 45, 6, 64, dict(SMALL_MARKERS, PatientID="ZQSMALL-ID-9903"), "20240301")
    web_uid = first(web).StudyInstanceUID
    web_sr = os.path.join(source, "web-sr")
    os.makedirs(web_sr)
    add_sr(web_sr, web_uid, SMALL_MARKERS)
    small = os.path.join(source, "small")
    os.makedirs(small)
    shutil.copy(pydicom.data.get_testdata_file("CT_small.dcm"), small)
    plant(small, SMALL_MARKERS)
    small_uid = first(small).StudyInstanceUID
    uploaded = sum(orthanc.upload_folder(f) for f in (ct, sr_folder, big, web, web_sr, small))
    check("uploaded to Orthanc", uploaded == 12 + 1 + 48 + 6 + 1 + 1, str(uploaded))

    cred = os.path.join(work, "cred", "good")
    with open(cred, "w") as f:
        f.write(f"username={ORTHANC_USER}\npassword={ORTHANC_PASSWORD}\n")
    os.chmod(cred, 0o600)

    def dimse(**extra):
        node = {"ae_title": ORTHANC_AET, "host": "127.0.0.1", "port": orthanc.dicom_port,
                "calling_ae": "RADMARK"}
        node.update(extra)
        return node

    nodes = [
        {"name": "dimse-get", "dimse": dimse(), "preferred": True},
        {"name": "dimse-move", "dimse": dimse(retrieve="move", move_destination={
            "ae_title": "RADMARK", "port": scp_port})},
        {"name": "dimse-move-proxied", "dimse": dimse(retrieve="move", move_destination={
            "ae_title": "RMPROXY", "port": scp_proxied_port})},
        {"name": "dimse-move-unknown", "dimse": dimse(retrieve="move", move_destination={
            "ae_title": "NOSUCHSCP", "port": free_port()})},
        {"name": "dimse-unknown-ae", "dimse": dimse(calling_ae="NOBODY")},
        {"name": "dimse-wrong-called", "dimse": dimse(ae_title="NOTORTHANC")},
        {"name": "web", "dicomweb": f"{orthanc.url()}/dicom-web", "plain_http_allowed": True,
         "credentials": cred},
    ]
    with open(os.path.join(work, "policy.json"), "w") as f:
        json.dump({"argon2_memory_bytes": 65536, "argon2_operations": 1, "pacs_nodes": nodes}, f)
    r = subprocess.run([args.cli, "init", *store, "--admin", "ada", "--audit-key-out",
                        os.path.join(work, "audit.key"), "--password-stdin"],
                       input=ADMIN_PASSWORD + "\n", capture_output=True, text=True, env=env,
                       cwd=os.path.join(work, "cwd"))
    check("store created", r.returncode == 0, r.stderr)

    def studies():
        r = subprocess.run([args.cli, "studies", *store, "--user", "ada", "--password-stdin"],
                           input=ADMIN_PASSWORD + "\n", capture_output=True, text=True, env=env)
        return study_rows(r.stdout)

    # -- nodes, echo, refused associations -------------------------------------------------------
    r = subprocess.run([args.cli, "pacs", "nodes", "--policy", os.path.join(work, "policy.json")],
                       capture_output=True, text=True, env=env)
    check("pacs nodes shows the DIMSE nodes",
          r.returncode == 0 and r.stdout.startswith("dimse-get (preferred)") and
          f"DIMSE: {ORTHANC_AET} at 127.0.0.1:{orthanc.dicom_port}" in r.stdout and
          "C-MOVE to RADMARK" in r.stdout, r.stdout + r.stderr)
    rc, out, err = cli("pacs", "echo", "--node", "dimse-get")
    check("C-ECHO", rc == 0 and "answers (C-ECHO)" in out, out + err)
    rc, out, err = cli("pacs", "echo", "--node", "dimse-unknown-ae")
    check("an unknown calling AE title is refused (association rejected), exit 4",
          rc == 4 and "refused the association" in err, f"{rc} {out} {err}")
    rc, out, err = cli("pacs", "query", "--node", "dimse-wrong-called", "--patient-id",
                       MARKERS["PatientID"])
    check("a wrong called AE title is refused", rc == 4 and "refused the association" in err and
          study_uid not in out, f"{rc} {out} {err}")

    # -- C-FIND --------------------------------------------------------------------------------
    rc, out, err = cli("pacs", "query", "--node", "dimse-get", "--patient-id",
                       MARKERS["PatientID"], "--series")
    check("C-FIND by patient ID finds the study, not in store",
          rc == 0 and f"study {study_uid}" in out and big_uid not in out and
          "not in store" in out and "13 images" in out and MARKERS["PatientName"] in out,
          out + err)
    check("C-FIND lists the study's two series (CT and SR)",
          out.count("  series ") == 2 and ": CT, 12 images" in out and ": SR, 1 images" in out, out)
    rc, out, err = cli("pacs", "query", "--node", "dimse-get", "--accession",
                       MARKERS["AccessionNumber"])
    check("C-FIND by accession", rc == 0 and study_uid in out and big_uid not in out, out + err)
    rc, out, err = cli("pacs", "query", "--node", "dimse-move", "--patient-name", "ZQMARKER*")
    check("C-FIND by patient name with a wildcard",
          rc == 0 and study_uid in out and big_uid in out and small_uid not in out, out + err)
    rc, out, err = cli("pacs", "query", "--node", "dimse-get", "--date-from", "20240201",
                       "--date-to", "20240228", "--modality", "CT")
    check("C-FIND by date range and modality",
          rc == 0 and big_uid in out and study_uid not in out and web_uid not in out, out + err)

    # -- C-GET, with an SR in the study ----------------------------------------------------------
    rc, out, err = cli("pacs", "import", "--node", "dimse-get", "--study", study_uid)
    check("C-GET import: the images are stored", rc == 0 and ": imported RM" in out and
          "12 file(s)" in out, out + err)
    print("   ", (out + err).strip().replace("\n", "\n    "))
    check("C-GET import: the SR is skipped and named",
          "skipped" in err + out and "Comprehensive SR Storage" in err + out, out + err)
    check("the study list shows it", studies() == 1)
    rc, out, err = cli("pacs", "query", "--node", "dimse-get", "--patient-id",
                       MARKERS["PatientID"])
    check("the C-FIND then says already in store", "already in store as RM" in out, out + err)

    # -- the same over DICOMweb -----------------------------------------------------------------
    rc, out, err = cli("pacs", "import", "--node", "web", "--study", web_uid)
    check("DICOMweb import: the images are stored", rc == 0 and ": imported RM" in out and
          "6 file(s)" in out, out + err)
    print("   ", (out + err).strip().replace("\n", "\n    "))
    check("DICOMweb import: the SR is skipped and named",
          "skipped" in err + out and "Comprehensive SR Storage" in err + out, out + err)

    # -- the fetcher's sandbox in the middle of a retrieve ----------------------------------------
    trap_env = dict(env, RADMARK_PACS_FETCH=os.path.abspath(args.fetch_test),
                    RADMARK_PACS_FETCH_TEST_TRAP="3")
    for node, how in (("dimse-get", "C-GET"), ("dimse-move", "C-MOVE, in the SCP's thread"),
                      ("web", "WADO-RS")):
        start = time.time()
        r = subprocess.run([args.cli, "pacs", "import", *store, "--user", "ada",
                            "--password-stdin", "--node", node, "--study", big_uid],
                           input=ADMIN_PASSWORD + "\n", capture_output=True, text=True,
                           env=trap_env, cwd=os.path.join(work, "cwd"), timeout=300)
        took = time.time() - start
        said = r.stdout + r.stderr
        check(f"sandbox ({how}): an execve after the third instance is one clear line, at once",
              r.returncode == 3 and took < 60 and
              "the PACS fetcher was stopped by its sandbox (system call 59)" in said and
              "nothing of this study was stored" in said, f"{r.returncode} {took:.1f} s {said}")
    check("sandbox: nothing of the study was stored", studies() == 2)

    # -- C-MOVE ---------------------------------------------------------------------------------
    rc, out, err = cli("pacs", "import", "--node", "dimse-move-unknown", "--study", small_uid)
    check("C-MOVE to a destination the PACS does not know: clear refusal",
          rc != 0 and "nothing of this study was stored" in err and
          "refused the C-MOVE" in err and "destination NOSUCHSCP" in err, out + err)
    rc, out, err = cli("pacs", "import", "--node", "dimse-move-proxied", "--study", big_uid)
    check("Orthanc was killed during the C-MOVE", proxy.killed and orthanc.process.poll() is not None)
    check("killed C-MOVE: clear message, nothing stored",
          rc != 0 and "nothing of this study was stored" in err, out + err)
    check("the study list is unchanged", studies() == 2)
    orthanc.start()
    rc, out, err = cli("pacs", "import", "--node", "dimse-move", "--study", big_uid, "--study",
                       small_uid)
    check("after Orthanc's restart the retry imports it by C-MOVE (and a second study)",
          rc == 0 and out.count(": imported RM") == 2 and "48 file(s)" in out, out + err)
    rc, out, err = cli("pacs", "import", "--node", "dimse-get", "--study", big_uid)
    check("a re-import is skipped without retrieving", rc == 0 and "already in store" in out,
          out + err)

    # -- what the store holds, read back by pydicom ---------------------------------------------
    dump = os.path.join(work, "dump")
    r = subprocess.run([args.dump, os.path.join(work, "store"), os.path.join(work, "policy.json"),
                        "ada", dump], input=ADMIN_PASSWORD + "\n", capture_output=True,
                       text=True, env=env)
    check("store dump (every table decrypted, every chunk decompressed)",
          r.returncode == 0 and r.stdout.startswith("4 studies"), r.stdout + r.stderr)
    headers = []
    for folder, _, files in os.walk(dump):
        headers += [os.path.join(folder, f) for f in files if f.endswith(".dcm")]
    check("every image stored, no SR (12 + 6 + 48 + 1)", len(headers) == 67, str(len(headers)))
    bad = []
    for path in headers:
        ds = pydicom.dcmread(path, force=True)
        if str(ds.get("SOPClassUID", "")).startswith("1.2.840.10008.5.1.4.1.1.88"):
            bad.append(path)
        if any(m in str(ds.get("PatientName", "")) for m in ALL_MARKERS) or \
                str(ds.get("PatientID", "")) in ALL_MARKERS:
            bad.append(path)
        if str(ds.get("StudyInstanceUID", "")) in (study_uid, big_uid, small_uid, web_uid):
            bad.append(path)
    check("stored headers are de-identified images (pydicom)", not bad, str(bad[:3]))

    r = subprocess.run([args.cli, "audit", "show", *store, "--as", "ada", "--password-stdin"],
                       input=ADMIN_PASSWORD + "\n", capture_output=True, text=True, env=env)
    log = r.stdout
    check("the access log has the echo, queries and retrieves",
          "pacs echo" in log and "pacs query" in log and "pacs retrieve" in log and
          "dimse-move" in log, log[-2000:])
    check("the access log holds no typed value",
          not any(m in log for m in ALL_MARKERS), [m for m in ALL_MARKERS if m in log])
    hits = files_holding(work, ALL_MARKERS)
    check("no marker value in any file under the test folder (store, TMPDIR, cwd, dump)",
          not hits, str(hits[:5]))


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    sys.exit(main())
