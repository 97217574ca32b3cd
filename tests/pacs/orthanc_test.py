#!/usr/bin/python3
"""Import from a real PACS: Orthanc with its DICOMweb plugin on loopback, queried and retrieved
through `radmark-cli pacs`.

The test writes Orthanc's configuration (loopback, free unprivileged ports, DICOMweb enabled, one
registered user with a password, its storage in a folder of its own), starts Orthanc in the
foreground, uploads a generated CT series and pydicom's CT_small.dcm with planted marker values
through Orthanc's REST API, then:
  - `pacs nodes`; an unknown node and a wrong password are refused with a clear line;
  - queries by patient ID, name (wildcard), accession, date range and modality; series lists;
  - imports a study; the study list and the query then say "already in store"; a re-import is
    not retrieved again; a later series of the study is added to it;
  - Orthanc killed (SIGKILL) in the middle of a retrieve (a loopback proxy kills it after the
    first megabytes of the answer): nothing of that study is stored, the message says so, and
    after Orthanc's restart the retry imports it;
  - every stored header is read back with pydicom (pacs_store_dump writes what the store holds,
    and every row of every table of the database opened with the admin's key, chunks
    decompressed), and no file under the test's folder (store, temporary folder, working folder,
    dump) nor the access log holds any marker value; Orthanc's storage folder is outside the
    searched folders;
  - with --tls, HTTPS with a server certificate of a test CA made with openssl (terminated by a
    loopback proxy in front of Orthanc: Debian's Orthanc 1.10.1 crashes on HTTPS here): the query
    and import work with the CA bundle of the policy, and a node with another CA is refused.
Orthanc (and the proxy) are stopped at the end, always.

Usage: orthanc_test.py --cli RADMARK_CLI --dump PACS_STORE_DUMP --src SOURCE_DIR [--tls]
"""
import argparse
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

import pydicom
from pydicom.uid import generate_uid

ORTHANC = "/usr/sbin/Orthanc"
DICOMWEB_PLUGIN = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"
ORTHANC_USER, ORTHANC_PASSWORD = "radmark", "orthanc pass 4471"
ADMIN_PASSWORD = "admin password 123"

# Planted in the PACS copy only: none of them may reach any file Radmark writes.
MARKERS = {
    "PatientName": "ZQMARKER^PACSNAME",
    "PatientID": "ZQMRK-ID-4417",
    "AccessionNumber": "ZQACC-8830",
    "InstitutionName": "ZQMARKER Memorial Hospital",
    "ReferringPhysicianName": "ZQREFERRER^MARK",
    "OtherPatientIDs": "ZQOTHER-ID-5521",
}
SMALL_MARKERS = {
    "PatientName": "ZQSMALL^MARKERPATIENT",
    "PatientID": "ZQSMALL-ID-9902",
    "AccessionNumber": "ZQSMALL-ACC-1",
}
# generate_ct_series.py's own fake identity (planted at every depth)
GENERATED = ["DOE^JANE", "MRN-9384756", "ACC-55512", "Springfield General", "742 Evergreen",
             "HIBBERT", "SMITHERS", "SN-4471-XQ"]
ALL_MARKERS = list(MARKERS.values()) + list(SMALL_MARKERS.values()) + GENERATED

passed, failed = 0, 0


def check(name, condition, detail=""):
    global passed, failed
    if condition:
        passed += 1
        print(f"ok: {name}")
    else:
        failed += 1
        print(f"FAIL: {name}" + (f": {detail}" if detail else ""))
    sys.stdout.flush()
    return condition


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Orthanc:
    """One Orthanc in the foreground, its storage in home/db (never searched for markers)."""

    def __init__(self, home):
        self.home = home
        self.port = free_port()
        os.makedirs(os.path.join(home, "db"), exist_ok=True)
        config = {
            "Name": "radmark-test",
            "StorageDirectory": os.path.join(home, "db"),
            "IndexDirectory": os.path.join(home, "db"),
            "HttpServerEnabled": True,
            "HttpPort": self.port,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": True,
            "RegisteredUsers": {ORTHANC_USER: ORTHANC_PASSWORD},
            "DicomServerEnabled": False,
            "Plugins": [DICOMWEB_PLUGIN],
            "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "EnableWado": False},
            "StorageCompression": False,
            "HttpCompressionEnabled": False,
        }
        self.config = os.path.join(home, "orthanc.json")
        with open(self.config, "w") as f:
            json.dump(config, f)
        self.process = None

    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        log = open(os.path.join(self.home, "orthanc.log"), "ab")
        self.process = subprocess.Popen([ORTHANC, self.config], stdout=log, stderr=log,
                                        stdin=subprocess.DEVNULL)
        deadline = time.time() + 90
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("Orthanc stopped at start: see " + self.home + "/orthanc.log")
            try:
                self.request("GET", "/system")
                return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.3)
        raise RuntimeError("Orthanc did not answer within 90 s")

    def kill(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def request(self, method, path, data=None):
        auth = base64.b64encode(f"{ORTHANC_USER}:{ORTHANC_PASSWORD}".encode()).decode()
        req = urllib.request.Request(self.url() + path, data=data, method=method,
                                     headers={"Authorization": "Basic " + auth})
        if data is not None:
            req.add_header("Content-Type", "application/dicom")
        with urllib.request.urlopen(req, timeout=60) as answer:
            return answer.read()

    def upload_folder(self, folder):
        count = 0
        for name in sorted(os.listdir(folder)):
            with open(os.path.join(folder, name), "rb") as f:
                self.request("POST", "/instances", f.read())
            count += 1
        return count


class KillingProxy:
    """Loopback TCP proxy in front of Orthanc: on the first WADO-RS series retrieve, once more
    than kill_after bytes of the answer went through, it kills Orthanc and drops the connection.
    With tls (an ssl.SSLContext) and no kill_after, it is the HTTPS face of the plain Orthanc."""

    def __init__(self, target_port, kill_after=None, on_kill=None, tls=None):
        self.target_port, self.kill_after, self.on_kill = target_port, kill_after, on_kill
        self.tls = tls
        self.armed = kill_after is not None
        self.killed = False
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.stopping = False
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while not self.stopping:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.handle, args=(client,), daemon=True).start()

    def handle(self, client):
        if self.tls:
            try:
                client = self.tls.wrap_socket(client, server_side=True)
            except (OSError, ValueError):  # a client that refused the certificate
                client.close()
                return
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=60)
        except OSError:
            client.close()
            return
        state = {"retrieve": False}
        if self.tls:
            # One GET per connection, read whole before the answer is pumped back: an SSL socket
            # is never read and written by two threads at once.
            try:
                request = b""
                while b"\r\n\r\n" not in request and len(request) < 65536:
                    data = client.recv(65536)
                    if not data:
                        break
                    request += data
                head, _, rest = request.partition(b"\r\n")
                upstream.sendall(head + b"\r\nConnection: close\r\n" + rest)
                while True:
                    data = upstream.recv(65536)
                    if not data:
                        break
                    client.sendall(data)
            except OSError:
                pass
            for s in (client, upstream):
                s.close()
            return

        def up():
            try:
                while True:
                    data = client.recv(65536)
                    if not data:
                        break
                    head = data.split(b"\r\n", 1)[0]
                    if head.startswith(b"GET ") and b"/series/" in head and b"?" not in head:
                        state["retrieve"] = True
                    upstream.sendall(data)
            except OSError:
                pass

        threading.Thread(target=up, daemon=True).start()
        sent = 0
        try:
            while True:
                data = upstream.recv(65536)
                if not data:
                    break
                client.sendall(data)
                sent += len(data)
                if self.armed and state["retrieve"] and sent > self.kill_after:
                    self.armed = False
                    self.killed = True
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
        self.stopping = True
        self.listener.close()


def plant(folder, markers, series_uid=None, study_date=None):
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        ds = pydicom.dcmread(path)
        for keyword, value in markers.items():
            setattr(ds, keyword, value)
        if series_uid:
            ds.SeriesInstanceUID = series_uid
            ds.SOPInstanceUID = generate_uid()
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            ds.SeriesNumber = 7
            ds.SeriesDescription = "later series"
        if study_date:
            ds.StudyDate = study_date
        ds.save_as(path)


def study_rows(listing):
    """The studies of `radmark-cli studies` (a header line, then one line per study)."""
    return len([line for line in listing.splitlines()[1:] if line.startswith("RM")])


def files_holding(root, needles, skip=()):
    """(file, needle) for every file under root whose bytes hold a needle."""
    hits = []
    encoded = [(n, n.encode()) for n in needles]
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if os.path.join(folder, d) not in skip]
        for name in files:
            path = os.path.join(folder, name)
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except OSError:
                continue
            for needle, raw in encoded:
                if raw in data:
                    hits.append((path, needle))
    return hits


def store_cli(args, work):
    """radmark-cli on the test's store, with its policy as this test build's system policy (PACS
    nodes are the site's alone), temporary files and the working directory inside the searched
    work folder. Returns env, the store's arguments and cli(*words, secrets=..., user=...) ->
    (status, stdout, stderr)."""
    env = dict(os.environ, TMPDIR=os.path.join(work, "tmp"),
               RADMARK_TEST_SYSTEM_POLICY=os.path.join(work, "policy.json"))
    store = ["--store", os.path.join(work, "store"), "--policy", os.path.join(work, "policy.json")]

    def cli(*words, secrets=(ADMIN_PASSWORD,), user=True):
        command = [args.cli, *words, *store]
        if user:
            command += ["--user", "ada", "--password-stdin"]
        stdin = "".join(s + "\n" for s in secrets)
        r = subprocess.run(command, input=stdin, capture_output=True, text=True, env=env,
                           cwd=os.path.join(work, "cwd"), timeout=600)
        return r.returncode, r.stdout, r.stderr
    return env, store, cli


def generate_series(args, source, name, seed, slices, size, markers, date):
    """A generated CT series under source/name (outside the searched folder), markers planted."""
    folder = os.path.join(source, name)
    gen = os.path.join(args.src, "tests", "data", "generate_ct_series.py")
    subprocess.run(["/usr/bin/python3", gen, "--out", folder, "--seed", str(seed), "--slices",
                    str(slices), "--rows", str(size), "--cols", str(size), "--study-date", date],
                   check=True, capture_output=True)
    plant(folder, markers)
    return folder


def run_main(run_tests, prefix, add_arguments=None):
    """What the Orthanc tests share around their checks: the arguments, a work folder that is
    searched for markers and Orthanc's own folder that is not, and every server and proxy stopped
    at the end whatever happened. Returns the exit status."""
    p = argparse.ArgumentParser()
    p.add_argument("--cli", required=True)
    p.add_argument("--dump", required=True)
    p.add_argument("--src", required=True)
    if add_arguments:
        add_arguments(p)
    args = p.parse_args()
    args.cli, args.dump = os.path.abspath(args.cli), os.path.abspath(args.dump)
    for needed in (ORTHANC, DICOMWEB_PLUGIN):
        if not os.path.exists(needed):
            print(f"{needed} is missing: scripts/setup installs orthanc and orthanc-dicomweb")
            print("0 passed, 1 failed")
            return 1

    work = tempfile.mkdtemp(prefix=prefix)                   # searched for markers
    pacs_home = tempfile.mkdtemp(prefix="radmark-orthanc-")  # Orthanc's own: not searched
    for sub in ("tmp", "cwd", "cred", "dump"):
        os.makedirs(os.path.join(work, sub))
    orthancs, proxies = [], []
    try:
        run_tests(args, work, pacs_home, orthancs, proxies)
    except Exception as error:  # a broken fixture is a failure, with its reason
        check("the test ran to its end", False, repr(error))
    finally:
        for proxy in proxies:
            proxy.stop()
        for orthanc in orthancs:
            orthanc.stop()
        if not os.environ.get("KEEP"):
            shutil.rmtree(work, ignore_errors=True)
            shutil.rmtree(pacs_home, ignore_errors=True)
        else:
            print("kept", work, pacs_home)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


def main():
    return run_main(run_tests, "radmark-pacs-",
                    lambda p: p.add_argument("--tls", action="store_true"))


def run_tests(args, work, pacs_home, orthancs, proxies):
    # The test's policy is the system policy of this test build: PACS nodes are the site's alone.
    env, store, cli = store_cli(args, work)

    # -- the PACS and its data (generated outside the searched folder) --------------------------
    orthanc = Orthanc(os.path.join(pacs_home, "plain"))
    orthancs.append(orthanc)
    orthanc.start()
    source = os.path.join(pacs_home, "source")

    def generate(name, seed, slices, size, markers, date):
        return generate_series(args, source, name, seed, slices, size, markers, date)

    ct = generate("ct", 41, 12, 96, MARKERS, "20240105")
    big_markers = dict(MARKERS, PatientID="ZQMRK-ID-4417-B", AccessionNumber="ZQACC-8831")
    big = generate("big", 43, 48, 256, big_markers, "20240210")
    small = os.path.join(source, "small")
    os.makedirs(small)
    shutil.copy(os.path.join(pydicom.data.get_testdata_file("CT_small.dcm")), small)
    plant(small, SMALL_MARKERS)
    uploaded = sum(orthanc.upload_folder(f) for f in (ct, big, small))
    check("uploaded to Orthanc", uploaded == 12 + 48 + 1, str(uploaded))
    study_uid = pydicom.dcmread(os.path.join(ct, sorted(os.listdir(ct))[0])).StudyInstanceUID
    big_uid = pydicom.dcmread(os.path.join(big, sorted(os.listdir(big))[0])).StudyInstanceUID
    small_uid = pydicom.dcmread(os.path.join(small, "CT_small.dcm")).StudyInstanceUID

    proxy = KillingProxy(orthanc.port, 2 << 20, orthanc.kill)
    proxies.append(proxy)

    def credentials(name, text):
        path = os.path.join(work, "cred", name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o600)
        return path

    good = credentials("good", f"username={ORTHANC_USER}\npassword={ORTHANC_PASSWORD}\n")
    wrong = credentials("wrong", f"username={ORTHANC_USER}\npassword=not the password\n")
    loose = credentials("loose", f"username={ORTHANC_USER}\npassword={ORTHANC_PASSWORD}\n")
    os.chmod(loose, 0o644)
    base = f"http://127.0.0.1:{orthanc.port}/dicom-web"
    nodes = [
        {"name": "orthanc", "dicomweb": base, "plain_http_allowed": True, "credentials": good,
         "preferred": True},
        {"name": "orthanc-wrong", "dicomweb": base, "plain_http_allowed": True,
         "credentials": wrong},
        {"name": "orthanc-loose", "dicomweb": base, "plain_http_allowed": True,
         "credentials": loose},
        {"name": "orthanc-asked", "dicomweb": base, "plain_http_allowed": True,
         "user": ORTHANC_USER},
        {"name": "via-proxy", "dicomweb": f"http://127.0.0.1:{proxy.port}/dicom-web",
         "plain_http_allowed": True, "credentials": good},
    ]
    tls = None
    if args.tls:
        # Debian's Orthanc 1.10.1 crashes (SIGSEGV) on its first HTTPS connection on this
        # system, so TLS is terminated in front of it: a loopback proxy with the test CA's
        # server certificate, Python's ssl module (OpenSSL) on the server side.
        import ssl
        tls = make_tls(pacs_home, work)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls["server_pem"])
        tls_proxy = KillingProxy(orthanc.port, tls=context)
        proxies.append(tls_proxy)
        tls_base = f"https://127.0.0.1:{tls_proxy.port}/dicom-web"
        nodes += [{"name": "orthanc-tls", "dicomweb": tls_base, "ca_bundle": tls["ca"],
                   "credentials": good},
                  {"name": "orthanc-tls-other-ca", "dicomweb": tls_base,
                   "ca_bundle": tls["other_ca"], "credentials": good}]
    with open(os.path.join(work, "policy.json"), "w") as f:
        json.dump({"argon2_memory_bytes": 65536, "argon2_operations": 1, "pacs_nodes": nodes}, f)

    r = subprocess.run([args.cli, "init", *store, "--admin", "ada", "--audit-key-out",
                        os.path.join(work, "audit.key"), "--password-stdin"],
                       input=ADMIN_PASSWORD + "\n", capture_output=True, text=True, env=env,
                       cwd=os.path.join(work, "cwd"))
    check("store created", r.returncode == 0, r.stderr)

    # -- nodes, refusals ----------------------------------------------------------------------
    r = subprocess.run([args.cli, "pacs", "nodes", "--policy", os.path.join(work, "policy.json")],
                       capture_output=True, text=True, env=env)
    check("pacs nodes lists the policy's nodes, the preferred first",
          r.returncode == 0 and r.stdout.startswith("orthanc (preferred)") and
          "via-proxy" in r.stdout, r.stdout + r.stderr)
    rc, out, err = cli("pacs", "query", "--node", "nope", "--patient-id", MARKERS["PatientID"])
    check("unknown node: clear refusal",
          rc != 0 and "no PACS node named 'nope' in the site policy" in err, err)
    rc, out, err = cli("pacs", "query", "--node", "orthanc-wrong", "--patient-id",
                       MARKERS["PatientID"])
    check("wrong password: clear refusal",
          rc == 4 and "refused the credentials (HTTP 401)" in err and study_uid not in out, err)
    rc, out, err = cli("pacs", "query", "--node", "orthanc-loose", "--patient-id", "x")
    check("a credentials file others may read is refused", rc != 0 and "may be read by others" in err,
          err)

    # -- queries -------------------------------------------------------------------------------
    rc, out, err = cli("pacs", "query", "--node", "orthanc", "--patient-id", MARKERS["PatientID"],
                       "--series")
    check("query by patient ID finds the study, not in store",
          rc == 0 and f"study {study_uid}" in out and big_uid not in out and
          "not in store" in out and "12 images" in out, out + err)
    check("query lists the study's series", out.count("  series ") == 1, out)
    rc, out, err = cli("pacs", "query", "--node", "orthanc", "--accession",
                       MARKERS["AccessionNumber"])
    check("query by accession", rc == 0 and study_uid in out and big_uid not in out, out + err)
    rc, out, err = cli("pacs", "query", "--node", "orthanc", "--patient-name", "ZQMARKER*")
    check("query by patient name with a wildcard",
          rc == 0 and study_uid in out and big_uid in out and small_uid not in out, out + err)
    rc, out, err = cli("pacs", "query", "--node", "orthanc", "--date-from", "20240201",
                       "--date-to", "20240228", "--modality", "CT")
    check("query by date range and modality",
          rc == 0 and big_uid in out and study_uid not in out, out + err)
    rc, out, err = cli("pacs", "query", "--node", "orthanc-asked", "--patient-id",
                       SMALL_MARKERS["PatientID"], secrets=(ADMIN_PASSWORD, ORTHANC_PASSWORD))
    check("a node whose password is asked", rc == 0 and small_uid in out, out + err)

    # -- import, already in store, later series -------------------------------------------------
    rc, out, err = cli("pacs", "import", "--node", "orthanc", "--study", study_uid)
    check("import of a study", rc == 0 and ": imported RM" in out and "12 file(s)" in out,
          out + err)
    r = subprocess.run([args.cli, "studies", *store, "--user", "ada", "--password-stdin"],
                       input=ADMIN_PASSWORD + "\n", capture_output=True, text=True, env=env)
    check("the study list shows it", r.returncode == 0 and study_rows(r.stdout) == 1,
          r.stdout + r.stderr)
    rc, out, err = cli("pacs", "query", "--node", "orthanc", "--patient-id", MARKERS["PatientID"],
                       "--series")
    check("the query then says already in store",
          "already in store as RM" in out and "(already in store)" in out, out + err)
    rc, out, err = cli("pacs", "import", "--node", "orthanc", "--study", study_uid)
    check("a re-import is skipped without retrieving",
          rc == 0 and "already in store" in out, out + err)

    later = os.path.join(source, "later")
    shutil.copytree(ct, later)
    later_series = generate_uid()
    plant(later, {}, series_uid=later_series)
    orthanc.upload_folder(later)
    rc, out, err = cli("pacs", "import", "--node", "orthanc", "--study", study_uid)
    check("a later series is added to the stored study",
          rc == 0 and ": imported RM" in out and "1 series" in out and "new series added" in err,
          out + err)

    # -- Orthanc killed in the middle of a retrieve ---------------------------------------------
    rc, out, err = cli("pacs", "import", "--node", "via-proxy", "--study", big_uid)
    check("Orthanc was killed during the retrieve", proxy.killed and orthanc.process.poll() is not None)
    check("killed retrieve: clear message, nothing stored",
          rc != 0 and "nothing of this study was stored" in err, out + err)
    r = subprocess.run([args.cli, "studies", *store, "--user", "ada", "--password-stdin"],
                       input=ADMIN_PASSWORD + "\n", capture_output=True, text=True, env=env)
    check("the study list is unchanged", study_rows(r.stdout) == 1, r.stdout)
    orthanc.start()
    retry = ["--study", big_uid] + ([] if tls else ["--study", small_uid])
    rc, out, err = cli("pacs", "import", "--node", "via-proxy", *retry)
    check("after Orthanc's restart the retry imports it",
          rc == 0 and out.count(": imported RM") == len(retry) // 2 and "48 file(s)" in out,
          out + err)

    if tls:
        rc, out, err = cli("pacs", "import", "--node", "orthanc-tls-other-ca", "--study",
                           small_uid)
        check("TLS: a certificate of another CA is refused",
              rc != 0 and "could not be verified" in err, out + err)
        rc, out, err = cli("pacs", "query", "--node", "orthanc-tls", "--patient-id",
                           SMALL_MARKERS["PatientID"])
        check("TLS: query with the policy's CA bundle", rc == 0 and small_uid in out, out + err)
        rc, out, err = cli("pacs", "import", "--node", "orthanc-tls", "--study", small_uid)
        check("TLS: import", rc == 0 and ": imported RM" in out, out + err)

    # -- what the store holds, read back by pydicom ---------------------------------------------
    dump = os.path.join(work, "dump")
    r = subprocess.run([args.dump, os.path.join(work, "store"), os.path.join(work, "policy.json"),
                        "ada", dump], input=ADMIN_PASSWORD + "\n", capture_output=True,
                       text=True, env=env)
    check("store dump (every table decrypted, every chunk decompressed)",
          r.returncode == 0 and r.stdout.startswith("3 studies") and
          os.path.getsize(os.path.join(dump, "database.bin")) > 73 * 96 * 96 * 2,
          r.stdout + r.stderr)
    headers = []
    for folder, _, files in os.walk(dump):
        headers += [os.path.join(folder, f) for f in files if f.endswith(".dcm")]
    check("every instance stored (12 + 12 later + 48 + 1)", len(headers) == 73, str(len(headers)))
    bad = []
    for path in headers:
        ds = pydicom.dcmread(path, force=True)
        name = str(ds.get("PatientName", ""))
        if any(m in name for m in ALL_MARKERS) or str(ds.get("PatientID", "")) in ALL_MARKERS:
            bad.append(path)
        if str(ds.get("StudyInstanceUID", "")) in (study_uid, big_uid, small_uid):
            bad.append(path)
    check("stored headers are de-identified (pydicom)", not bad, str(bad[:3]))
    two_series = [d for d in os.listdir(dump) if os.path.isdir(os.path.join(dump, d, "series-1"))]
    check("the later series is in the first study", len(two_series) == 1, str(two_series))

    r = subprocess.run([args.cli, "audit", "show", *store, "--as", "ada", "--password-stdin"],
                       input=ADMIN_PASSWORD + "\n", capture_output=True, text=True, env=env)
    log = r.stdout
    check("the access log has the queries and retrieves",
          "pacs query" in log and "pacs retrieve" in log and "patient ID #" in log, log[-2000:])
    check("the access log holds no typed value",
          not any(m in log for m in ALL_MARKERS), [m for m in ALL_MARKERS if m in log])
    hits = files_holding(work, ALL_MARKERS)
    check("no marker value in any file under the test folder (store, TMPDIR, cwd, dump)",
          not hits, str(hits[:5]))


def make_tls(pacs_home, work):
    """A test CA and a server certificate for 127.0.0.1 (openssl), and a second, unrelated CA."""
    folder = os.path.join(pacs_home, "pki")
    os.makedirs(folder)

    def ssl(*words):
        subprocess.run(["openssl", *words], check=True, capture_output=True, cwd=folder)

    for ca in ("ca", "other"):
        ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
            f"/CN=Radmark test {ca} CA", "-keyout", f"{ca}.key", "-out", f"{ca}.pem")
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout",
        "server.key", "-out", "server.csr")
    with open(os.path.join(folder, "san.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    ssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.crt")
    with open(os.path.join(folder, "server.pem"), "w") as out:
        for part in ("server.crt", "server.key"):
            with open(os.path.join(folder, part)) as f:
                out.write(f.read())
    # The CA bundles the policy names: under the test folder (public certificates only).
    ca = os.path.join(work, "cred", "ca.pem")
    other = os.path.join(work, "cred", "other-ca.pem")
    shutil.copy(os.path.join(folder, "ca.pem"), ca)
    shutil.copy(os.path.join(folder, "other.pem"), other)
    return {"server_pem": os.path.join(folder, "server.pem"), "ca": ca, "other_ca": other}


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    sys.exit(main())
