#!/usr/bin/env python3
"""Every file of the malformed regression corpus (tests/data/malformed) through the CLI.

For each file, `radmark-cli info FILE`, `radmark-cli deid FILE --out DIR --secret-file S` and
`radmark-cli import FILE` into a fresh store (one per worker thread: a store admits one process
at a time; demo-cost policy) must give either a result (exit 0) or a clear refusal: a non-zero
exit below 124 with exactly one line on stderr (notes aside) that names the file. A signal, a
core, a hang (timeout 30 s) or a refusal spread over several lines fails. Then, for one file of
each kind in the corpus, a folder holding it beside a good study (a small generated CT series)
must import the good study and name the bad file.

  check_malformed_corpus.py --cli RADMARK_CLI --corpus DIR --work DIR [--jobs N]
"""

import argparse
import concurrent.futures
import os
import shutil
import subprocess
import sys
import threading

GENERATOR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data",
                         "generate_ct_series.py")
ADMIN_PASSWORD = "malformed-corpus-admin"
POLICY = '{"argon2_memory_bytes": 8388608, "argon2_operations": 1, "min_password_length": 12}\n'


def run(args, stdin=None, timeout=30):
    try:
        result = subprocess.run(["timeout", "-s", "KILL", str(timeout)] + args,
                                input=stdin.encode() if stdin else None, capture_output=True,
                                timeout=timeout + 30)
    except subprocess.TimeoutExpired:
        return -9, "", ""
    return (result.returncode, result.stdout.decode("utf-8", "replace"),
            result.stderr.decode("utf-8", "replace"))


def verdict(code, err, path):
    """None for a result or a clear refusal, else what is wrong."""
    lines = [l for l in err.splitlines() if l.strip() and not l.startswith("note:")]
    if code == -9 or code == 137:
        return "hung (killed after 30 s)"
    if code < 0 or code > 123:
        return f"died (exit status {code}{', signal ' + str(code - 128) if code > 128 else ''})"
    if code == 0:
        return None
    if len(lines) != 1:
        return f"refused on {len(lines)} lines of stderr: {' | '.join(lines[:3])[:300]}"
    if os.path.basename(path) not in lines[0]:
        return f"refusal does not name the file: {lines[0][:200]}"
    return None


class Store:
    def __init__(self, cli, work, name="store"):
        self.cli = cli
        self.dir = os.path.join(work, name)
        self.policy = os.path.join(work, "policy.json")
        with open(self.policy, "w") as f:
            f.write(POLICY)
        # The cheap Argon2id is the system policy of a build made for tests (--policy only
        # tightens); the commands run as children inherit it.
        os.environ["RADMARK_TEST_SYSTEM_POLICY"] = self.policy
        code, out, err = run([cli, "init", "--admin", "admin", "--store", self.dir,
                              "--policy", self.policy, "--password-stdin",
                              "--audit-key-out", os.path.join(work, name + "-audit-key"),
                              "--recovery-key-out", os.path.join(work, name + "-recovery-key")],
                             stdin=ADMIN_PASSWORD + "\n", timeout=120)
        if code != 0:
            sys.exit(f"cannot create the test store: {err.strip()}")

    def import_(self, sources, options=()):
        return run([self.cli, "import", "--user", "admin", "--store", self.dir, "--policy",
                    self.policy, "--password-stdin"] + list(options) + sources,
                   stdin=ADMIN_PASSWORD + "\n",
                   timeout=120 if len(sources) > 1 or os.path.isdir(sources[0]) else 30)


def check_file(cli, store, secret, work, path):
    problems = []
    code, _, err = run([cli, "info", path])
    problem = verdict(code, err, path)
    if problem:
        problems.append(f"info: {problem}")
    out_dir = os.path.join(work, "deid", os.path.basename(path))
    code, _, err = run([cli, "deid", path, "--out", out_dir, "--secret-file", secret])
    problem = verdict(code, err, path)
    if problem:
        problems.append(f"deid: {problem}")
    code, _, err = store.import_([path])
    problem = verdict(code, err, path)
    if problem:
        problems.append(f"import: {problem}")
    return path, problems


def generate_good_study(work):
    """A small synthetic CT series of its own (not one of the fuzz seeds, whose mutations in the
    corpus share their study's UIDs): the good study that must survive its bad neighbour."""
    folder = os.path.join(work, "good-study")
    subprocess.run(["/usr/bin/python3", GENERATOR, "--out", folder, "--slices", "6", "--rows",
                    "64", "--cols", "64"], check=True, capture_output=True)
    return folder


def check_mixed_folder(store, work, good, bad, index, options):
    folder = os.path.join(work, f"mixed-{index}")
    shutil.copytree(good, folder)
    shutil.copy(bad, os.path.join(folder, os.path.basename(bad)))
    code, out, err = store.import_([folder], options)
    problems = []
    name = os.path.basename(bad) + (f" ({' '.join(options)})" if options else "")
    if code < 0 or code > 123:
        problems.append(f"import of a folder with {name} died (exit {code})")
    if not any(": imported " in l or ": already in store" in l for l in out.splitlines()):
        problems.append(f"the good study beside {name} was not imported: " +
                        (out + err).strip().replace("\n", " | ")[:400])
    if os.path.basename(bad) not in out + err:
        problems.append(f"the malformed file {name} is not named: " +
                        (out + err).strip().replace("\n", " | ")[:400])
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli", required=True)
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()

    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    secret = os.path.join(args.work, "secret")
    with open(secret, "wb") as f:
        f.write(os.urandom(64))
    store = Store(args.cli, args.work)
    files = sorted(os.path.join(args.corpus, n) for n in os.listdir(args.corpus))

    # A store admits one process at a time ("the store is busy"): each worker has its own.
    stores = threading.local()
    made = []
    made_lock = threading.Lock()

    def worker_store():
        if not hasattr(stores, "store"):
            with made_lock:
                made.append(None)
                name = f"store-{len(made)}"
            stores.store = Store(args.cli, args.work, name)
        return stores.store

    failed = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for path, problems in pool.map(
                lambda p: check_file(args.cli, worker_store(), secret, args.work, p), files):
            if problems:
                failed[path] = problems
    # One file of each kind in the corpus (command and signal it crashed on main, and its seed),
    # each in a folder of its own beside a good study; imported as it is and again without pixel
    # cleaning, so that a secondary capture is decoded instead of quarantined before its pixels.
    good = generate_good_study(args.work)
    kinds = {}
    for path in files:
        kinds.setdefault(os.path.basename(path).rsplit("-", 1)[0], path)
    mixed = []
    for index, bad in enumerate(sorted(kinds.values())):
        mixed += check_mixed_folder(store, args.work, good, bad, 2 * index, [])
        mixed += check_mixed_folder(store, args.work, good, bad, 2 * index + 1,
                                    ["--options", "default,no-clean-pixel-data"])

    for path, problems in failed.items():
        for problem in problems:
            print(f"FAIL {os.path.basename(path)}: {problem}")
    for problem in mixed:
        print(f"FAIL mixed folder: {problem}")
    by_command = {c: sum(any(p.startswith(c + ":") for p in ps) for ps in failed.values())
                  for c in ("info", "deid", "import")}
    print(f"{len(files)} malformed files: {len(files) - len(failed)} refused or read cleanly by "
          f"info, deid and import; failing: info {by_command['info']}, deid {by_command['deid']}, "
          f"import {by_command['import']}; {len(kinds)} mixed folders (a good study beside one "
          f"malformed file of each kind): {'ok' if not mixed else 'FAILED'}")
    return 1 if failed or mixed else 0


if __name__ == "__main__":
    sys.exit(main())
