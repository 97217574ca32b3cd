#!/usr/bin/python3
"""Import from the PACS through the store service (issue 14 on a shared workstation): radmarkd
runs as a service uid that owns the store, the PACS node's credentials file is the service's
(0600), and ada, an admin with her own OS account (another uid), queries and imports a study
with `radmark-cli --service SOCKET pacs ...`. Checks:
  - the query and the import work through the service, and the study list (through the service)
    shows the study; the next query says "already in store";
  - the service's log names ada's uid for each request, the store's access log has the query
    and the retrieve, without the typed patient ID;
  - ada cannot read the credentials file nor the store, and the PACS password is in no file or
    output she can read;
  - the workstation through the service (`radmark --via`'s ServiceWorkspace, under Xvfb as ada):
    Admin > Import from PACS finds both studies of the patient, one already in store, and
    retrieves the other; her process holds no store file, the study list has both, the access
    log has her second retrieve with the GUI's pid;
  - anna, an annotator, asking the session channel for the nodes and a query with a hand-written
    client: refused, each refusal in the access log with her uid;
  - no marker planted in the PACS copy is in any file under the test folder (the service's store
    with every table decrypted and every chunk decompressed, its TMPDIR, ada's working folder).
Needs root (setpriv to other uids): exit 77 (SKIP) otherwise.

Usage: service_pacs_test.py --cli RADMARK_CLI --radmarkd RADMARKD --dump PACS_STORE_DUMP --src DIR
                           --gui THREAT_SERVICE_WORKSTATION_SCREENS
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pacs"))
import orthanc_test as ot  # noqa: E402  (the Orthanc fixture and the marker search)
import pydicom  # noqa: E402

SERVICE_UID, ADA_UID, ANNA_UID = 61351, 61352, 61353
ANNA_PASSWORD = "anna's password 123456"


def main():
    p = argparse.ArgumentParser()
    for name in ("--cli", "--radmarkd", "--dump", "--src", "--gui"):
        p.add_argument(name, required=True)
    args = p.parse_args()
    if os.geteuid() != 0:
        print("SKIP: needs root to run radmarkd and the client under other numeric uids")
        return 77
    args.cli, args.radmarkd, args.dump, args.gui = (os.path.abspath(x) for x in
                                                    (args.cli, args.radmarkd, args.dump, args.gui))
    work = tempfile.mkdtemp(prefix="radmark-service-pacs-")  # searched for markers
    pacs_home = tempfile.mkdtemp(prefix="radmark-orthanc-")  # Orthanc's own: not searched
    orthanc, daemon = None, None
    try:
        orthanc = ot.Orthanc(os.path.join(pacs_home, "plain"))
        orthanc.start()
        daemon = run(args, work, pacs_home, orthanc)
    except Exception as error:  # a broken fixture is a failure, with its reason
        ot.check("the test ran to its end", False, repr(error))
    finally:
        if daemon and daemon.poll() is None:
            daemon.terminate()
            daemon.wait(timeout=30)
        if orthanc:
            orthanc.stop()
        if not os.environ.get("KEEP"):
            shutil.rmtree(work, ignore_errors=True)
            shutil.rmtree(pacs_home, ignore_errors=True)
        else:
            print("kept", work, pacs_home)
    print(f"{ot.passed} passed, {ot.failed} failed")
    return 0 if ot.failed == 0 else 1


def run(args, work, pacs_home, orthanc):
    os.chmod(work, 0o755)
    service, run_dir = os.path.join(work, "service"), os.path.join(work, "run")
    ada_home, ada_cwd = os.path.join(work, "ada"), os.path.join(work, "ada", "cwd")
    for folder, owner, mode in ((service, SERVICE_UID, 0o700), (run_dir, SERVICE_UID, 0o755),
                                (os.path.join(service, "tmp"), SERVICE_UID, 0o700),
                                (ada_home, ADA_UID, 0o700), (ada_cwd, ADA_UID, 0o700),
                                (os.path.join(work, "anna"), ANNA_UID, 0o700)):
        os.makedirs(folder)
        os.chown(folder, owner, owner)
        os.chmod(folder, mode)
    store, sock = os.path.join(service, "store"), os.path.join(run_dir, "radmarkd.sock")
    policy = os.path.join(work, "policy.json")

    source = os.path.join(pacs_home, "source")
    ct = ot.generate_series(args, source, "ct", 61, 8, 64, ot.MARKERS, "20240105")
    ot.check("uploaded to Orthanc", orthanc.upload_folder(ct) == 8)
    study_uid = pydicom.dcmread(os.path.join(ct, sorted(os.listdir(ct))[0])).StudyInstanceUID
    # A second study of the same patient: the one the workstation retrieves.
    ct_b = ot.generate_series(args, source, "ct-b", 62, 6, 64, ot.MARKERS, "20240212")
    ot.check("the second study uploaded to Orthanc", orthanc.upload_folder(ct_b) == 6)

    credentials = os.path.join(service, "orthanc.credentials")  # the service's alone
    with open(credentials, "w") as f:
        f.write(f"username={ot.ORTHANC_USER}\npassword={ot.ORTHANC_PASSWORD}\n")
    os.chown(credentials, SERVICE_UID, SERVICE_UID)
    os.chmod(credentials, 0o600)
    with open(policy, "w") as f:
        json.dump({"argon2_memory_bytes": 65536, "argon2_operations": 1,
                   "pacs_nodes": [{"name": "orthanc", "plain_http_allowed": True,
                                   "dicomweb": f"http://127.0.0.1:{orthanc.port}/dicom-web",
                                   "credentials": credentials}]}, f)
    os.chmod(policy, 0o644)

    def env_for(uid, home, tmp):
        return {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": home, "TMPDIR": tmp,
                "RADMARK_TEST_SYSTEM_POLICY": policy}

    def as_uid(uid):
        return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]

    service_env = env_for(SERVICE_UID, service, os.path.join(service, "tmp"))
    ada_env = env_for(ADA_UID, ada_home, ada_cwd)

    r = subprocess.run(as_uid(SERVICE_UID) + [args.cli, "init", "--store", store, "--policy",
                       policy, "--admin", "ada", "--audit-key-out",
                       os.path.join(service, "audit.key"), "--password-stdin"],
                       input=ot.ADMIN_PASSWORD + "\n", capture_output=True, text=True,
                       env=service_env, cwd=service)
    ot.check("the store made by the service account", r.returncode == 0, r.stderr)

    log = open(os.path.join(work, "radmarkd.log"), "w")
    daemon = subprocess.Popen(as_uid(SERVICE_UID) + [args.radmarkd, "--store", store,
                              "--socket", sock, "--policy", policy, "--cli", args.cli],
                              stdout=log, stderr=log, env=service_env, cwd=service)
    deadline = time.time() + 60
    while not os.path.exists(sock) and daemon.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    if not ot.check("radmarkd started", os.path.exists(sock)):
        return daemon

    def ada(*words):
        r = subprocess.run(as_uid(ADA_UID) + [args.cli, "--service", sock, *words, "--user", "ada",
                           "--password-stdin"], input=ot.ADMIN_PASSWORD + "\n",
                           capture_output=True, text=True, env=ada_env, cwd=ada_cwd, timeout=600)
        return r.returncode, r.stdout, r.stderr

    rc, out, err = ada("pacs", "query", "--node", "orthanc", "--patient-id",
                       ot.MARKERS["PatientID"], "--series")
    ot.check("through the service: the query finds the study, not in store",
             rc == 0 and f"study {study_uid}" in out and "not in store" in out and
             "8 images" in out, out + err)
    rc, out, err = ada("pacs", "import", "--node", "orthanc", "--study", study_uid, "--progress")
    outputs = out + err
    ot.check("through the service: the import", rc == 0 and ": imported RM" in out and
             "8 file(s)" in out, out + err)
    rc, out, err = ada("studies")
    ot.check("through the service: the study list shows it",
             rc == 0 and ot.study_rows(out) == 1, out + err)

    # The workstation through the service: Admin > Import from PACS under Xvfb, as ada.
    gui_result = os.path.join(ada_home, "pacs-result")
    r = subprocess.run(as_uid(ADA_UID) + [
        "env", "QT_QPA_PLATFORM=xcb", "RADMARK_TEST_USER=ada",
        "RADMARK_TEST_PASSWORD=" + ot.ADMIN_PASSWORD, "RADMARK_TEST_SERVICE=" + sock,
        "RADMARK_TEST_STORE=" + store, "RADMARK_TEST_RESULT=" + gui_result,
        "RADMARK_TEST_PATIENT_ID=" + ot.MARKERS["PatientID"], "xvfb-run", "-a", "-s",
        "-screen 0 1920x1200x24", args.gui,
        "--gtest_filter=ServiceWorkspace.AdminImportsFromPacsThroughRadmarkd"],
        capture_output=True, text=True, env=ada_env, cwd=ada_cwd, timeout=600)
    ot.check("the workstation's Import from PACS through the service (its GUI test)",
             r.returncode == 0 and "[  PASSED  ] 1 test" in r.stdout, (r.stdout + r.stderr)[-3000:])
    gui_pid = ""
    if os.path.exists(gui_result):
        with open(gui_result) as f:
            gui_line, gui_pid = (f.read().split("\n") + ["", ""])[:2]
        ot.check("the dialog says the study was imported", gui_line.startswith("imported RM"),
                 gui_line)
    rc, out, err = ada("studies")
    ot.check("through the service: the study list has both", rc == 0 and ot.study_rows(out) == 2,
             out + err)

    # An annotator's hand-written client asks the session for the nodes and a query: refused.
    r = subprocess.run(as_uid(ADA_UID) + [args.cli, "--service", sock, "user", "add", "anna",
                       "--role", "annotator", "--user", "ada", "--password-stdin"],
                       input=ot.ADMIN_PASSWORD + "\n" + ANNA_PASSWORD + "\n",
                       capture_output=True, text=True, env=ada_env, cwd=ada_cwd, timeout=600)
    ot.check("anna added through the service", r.returncode == 0, r.stdout + r.stderr)
    client = os.path.join(args.src, "tests", "threat", "service_channel_client.py")
    r = subprocess.run(as_uid(ANNA_UID) + ["/usr/bin/python3", client, "session", sock, "anna",
                       "pacsnodes", "pacsquery:orthanc:" + ot.MARKERS["PatientID"]],
                       input=ANNA_PASSWORD + "\n", capture_output=True, text=True,
                       env=env_for(ANNA_UID, os.path.join(work, "anna"), os.path.join(work, "anna")),
                       cwd=os.path.join(work, "anna"), timeout=600)
    lines = r.stdout.splitlines()
    ot.check("anna's session asking for the PACS nodes and a query is refused",
             len(lines) == 2 and all(" refused: " in line for line in lines) and
             "Annotators" in r.stdout and ot.MARKERS["PatientName"] not in r.stdout,
             r.stdout + r.stderr)
    rc, out, err = ada("pacs", "query", "--node", "orthanc", "--patient-id",
                       ot.MARKERS["PatientID"])
    ot.check("through the service: the next query says already in store",
             rc == 0 and "already in store as RM" in out, out + err)
    outputs += out + err

    log.flush()
    with open(os.path.join(work, "radmarkd.log")) as f:
        service_log = f.read()
    ot.check("the service's log names ada's uid for the query and the import",
             f"from uid {ADA_UID} gid {ADA_UID}" in service_log and
             "'pacs query' ended with exit 0" in service_log and
             "'pacs import' ended with exit 0" in service_log, service_log[-1500:])
    r = subprocess.run(as_uid(ADA_UID) + ["cat", credentials], capture_output=True, text=True,
                       env=ada_env, cwd=ada_cwd)
    ot.check("ada cannot read the service's credentials file",
             r.returncode != 0 and ot.ORTHANC_PASSWORD not in r.stdout, r.stdout + r.stderr)
    r = subprocess.run(as_uid(ADA_UID) + ["ls", store], capture_output=True, text=True,
                       env=ada_env, cwd=ada_cwd)
    ot.check("ada cannot list the store", r.returncode != 0, r.stdout)
    ot.check("the PACS password is in none of her outputs", ot.ORTHANC_PASSWORD not in outputs)

    rc, out, err = ada("audit", "show")
    ot.check("the store's access log has the query and the retrieve, not the typed ID",
             rc == 0 and "pacs query" in out and "pacs retrieve" in out and
             ot.MARKERS["PatientID"] not in out, (out + err)[-1500:])
    retrieves = [line for line in out.splitlines() if "pacs retrieve" in line]
    ot.check("the workstation's retrieve is in the access log with her uid and the GUI's pid",
             len(retrieves) == 2 and f"uid {ADA_UID}" in retrieves[-1] and
             f"pid {gui_pid} " in retrieves[-1], "\n".join(retrieves))
    refused = [line for line in out.splitlines() if "refused" in line and f"uid {ANNA_UID}" in line]
    ot.check("anna's two refusals are in the access log with her uid", len(refused) == 2,
             "\n".join(refused) or out[-1500:])

    daemon.terminate()
    daemon.wait(timeout=30)
    dump = os.path.join(service, "dump")
    r = subprocess.run(as_uid(SERVICE_UID) + [args.dump, store, policy, "ada", dump],
                       input=ot.ADMIN_PASSWORD + "\n", capture_output=True, text=True,
                       env=service_env, cwd=service)
    ot.check("store dump (every table decrypted, every chunk decompressed)",
             r.returncode == 0 and r.stdout.startswith("2 studies") and
             os.path.getsize(os.path.join(dump, "database.bin")) > 8 * 64 * 64 * 2,
             r.stdout + r.stderr)
    hits = ot.files_holding(work, ot.ALL_MARKERS)
    ot.check("no marker value in any file under the test folder (store, TMPDIR, cwd, dump)",
             not hits, str(hits[:5]))
    return daemon


if __name__ == "__main__":
    sys.exit(main())
