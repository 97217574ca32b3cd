#!/usr/bin/env python3
"""Every file of the malformed regression corpus (tests/data/malformed) through the CLI.

For each file, `radmark-cli info FILE`, `radmark-cli deid FILE --out DIR --secret-file S` and
`radmark-cli import FILE` into a fresh store (created once per run, demo-cost policy) must give
either a result (exit 0) or a clear refusal: a non-zero exit below 124 with exactly one line on
stderr (notes aside) that names the file. A signal, a core, a hang (timeout 30 s) or a refusal
spread over several lines fails. Then a folder holding one malformed file beside a good study
(pydicom's CT_small) must import the good study and name the bad file.

  check_malformed_corpus.py --cli RADMARK_CLI --corpus DIR --work DIR [--jobs N]
"""

import argparse
import concurrent.futures
import os
import shutil
import subprocess
import sys

CT_SMALL = "/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm"
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
    def __init__(self, cli, work):
        self.cli = cli
        self.dir = os.path.join(work, "store")
        self.policy = os.path.join(work, "policy.json")
        with open(self.policy, "w") as f:
            f.write(POLICY)
        code, out, err = run([cli, "init", "--admin", "admin", "--store", self.dir,
                              "--policy", self.policy, "--password-stdin",
                              "--audit-key-out", os.path.join(work, "audit-key"),
                              "--recovery-key-out", os.path.join(work, "recovery-key")],
                             stdin=ADMIN_PASSWORD + "\n", timeout=120)
        if code != 0:
            sys.exit(f"cannot create the test store: {err.strip()}")

    def import_(self, sources):
        return run([self.cli, "import", "--user", "admin", "--store", self.dir, "--policy",
                    self.policy, "--password-stdin"] + sources, stdin=ADMIN_PASSWORD + "\n",
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


def check_mixed_folder(store, work, bad):
    folder = os.path.join(work, "mixed")
    os.makedirs(folder)
    shutil.copy(CT_SMALL, os.path.join(folder, "good-CT_small.dcm"))
    shutil.copy(bad, os.path.join(folder, os.path.basename(bad)))
    code, out, err = store.import_([folder])
    problems = []
    if code < 0 or code > 123:
        problems.append(f"import of a folder with {os.path.basename(bad)} died (exit {code})")
    if not any(": imported " in l or ": already in store" in l for l in out.splitlines()):
        problems.append("the good study (CT_small) beside a malformed file was not imported: " +
                        (out + err).strip().replace("\n", " | ")[:400])
    if os.path.basename(bad) not in out + err:
        problems.append(f"the malformed file {os.path.basename(bad)} is not named: " +
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

    failed = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for path, problems in pool.map(lambda p: check_file(args.cli, store, secret, args.work, p),
                                       files):
            if problems:
                failed[path] = problems
    # The file that crashed the most commands on main: the hardest neighbour for a good study.
    mixed = check_mixed_folder(store, args.work, max(files, key=lambda p: len(failed.get(p, []))))

    for path, problems in failed.items():
        for problem in problems:
            print(f"FAIL {os.path.basename(path)}: {problem}")
    for problem in mixed:
        print(f"FAIL mixed folder: {problem}")
    by_command = {c: sum(any(p.startswith(c + ":") for p in ps) for ps in failed.values())
                  for c in ("info", "deid", "import")}
    print(f"{len(files)} malformed files: {len(files) - len(failed)} refused or read cleanly by "
          f"info, deid and import; failing: info {by_command['info']}, deid {by_command['deid']}, "
          f"import {by_command['import']}; mixed folder: {'ok' if not mixed else 'FAILED'}")
    return 1 if failed or mixed else 0


if __name__ == "__main__":
    sys.exit(main())
