#!/usr/bin/env python3
"""Sorts fuzzing crashes into ours and the libraries', and proves the libraries' are contained.

A crash is judged by where it happened: the innermost stack frame that is not the sanitizer,
libFuzzer, the C or C++ runtime, or a standard header inlined into the caller.
- That frame in Radmark's source tree (any file under --source-root, the fuzz harness included):
  OUR crash. It fails the run.
- That frame in another shared library (libgdcm*, libopenjp2, libCharLS, libjpeg, ...): a
  LIBRARY crash. Debian builds those without sanitizers and they do crash on some inputs; each
  such input is then given to `radmark-cli info` and `radmark-cli deid` (timeout 30 s), which
  must refuse it cleanly (exit 1..123, one line on stderr, no signal) or read it (exit 0).
- No stack at all (a report without frames): counted as ours, since nothing shows it is not.

Usage:
  classify_crashes.py --source-root DIR --target BIN [--cli CLI] [--require-contained] CRASH...
      re-runs BIN on each crash input to get its symbolized stack, classifies, checks containment
  classify_crashes.py --source-root DIR --target BIN --run-each [--copy-clean DIR] INPUT...
      runs every input once (the regression corpus); classifies those that crash
  classify_crashes.py --source-root DIR --report FILE...
      classifies saved sanitizer reports (used by the classifier's own test)
Exit status 1 when there is at least one crash of ours (or, with --require-contained, a library
crash the CLI does not refuse cleanly).
"""

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

FRAME = re.compile(r"^\s*#(\d+) 0x[0-9a-fA-F]+(?: in (.*?))?\s+(\S+?)(?: \(BuildId: [0-9a-f]+\))?$")
MODULE = re.compile(r"^\((.*?)\+0x[0-9a-fA-F]+\)$")

# Modules and functions that deliver a crash rather than cause it.
RUNTIME_MODULES = ("libc.so", "libc-", "libstdc++", "libgcc_s", "ld-linux", "libm.so",
                   "libpthread", "linux-vdso")
RUNTIME_FUNCTIONS = ("__sanitizer_", "__asan_", "__ubsan_", "__lsan_", "__interceptor_",
                     "__interception::", "__asan::", "__ubsan::", "__sanitizer::", "fuzzer::",
                     "LLVMFuzzerRunDriver", "__assert_fail", "__assert_fail_base", "abort", "raise",
                     "gsignal", "__pthread_kill_implementation", "__pthread_kill_internal",
                     "pthread_kill", "__libc_", "_start", "operator new", "operator delete",
                     "malloc", "calloc", "realloc", "free", "memcpy", "memmove", "memset", "memcmp",
                     "strlen", "__cxa_", "__cxxabiv1::", "std::terminate", "__gnu_cxx::",
                     "std::rethrow_exception", "_Unwind_")


class Frame:
    def __init__(self, index, function, location):
        self.index = index
        self.function = function or ""
        self.location = location
        module = MODULE.match(location)
        self.module = module.group(1) if module else None  # set when there is no source line
        source = None if module else location.rsplit(":", 2)[0] if ":" in location else location
        # "/usr/bin/../lib/gcc/.../include/c++/12/bits/vector.tcc" is a standard header
        self.source = os.path.normpath(source) if source and source.startswith("/") else source

    def describe(self):
        where = self.source or os.path.basename(self.module or "?")
        return f"{self.function or '?'} ({where})"


def frames_of(report):
    """The frames of the first stack in a sanitizer or libFuzzer report."""
    frames = []
    for line in report.splitlines():
        m = FRAME.match(line)
        if m:
            index = int(m.group(1))
            if index == 0 and frames:
                break  # a second stack (allocation site, previous thread): the first one decides
            frames.append(Frame(index, m.group(2), m.group(3)))
    return frames


def is_runtime(frame):
    if frame.source and ("compiler-rt" in frame.source or frame.source.startswith("/usr/include/c++")
                         or "/libfuzzer/" in frame.source.lower()):
        return True
    if frame.module and any(part in os.path.basename(frame.module) for part in RUNTIME_MODULES):
        return True
    name = frame.function
    for f in RUNTIME_FUNCTIONS:
        family = f.endswith(("_", ":"))  # a prefix: __asan_memcpy, fuzzer::Fuzzer::...
        if name == f or name.startswith(f) and (family or name[len(f)] in "( <"):
            return True
    return False


def classify(report, source_root, target=None):
    """('ours' | 'library' | 'memory', frame description) for one crash report."""
    # The process as a whole went over -rss_limit_mb: the stacks after it are live allocations
    # (often what the abort guard leaked), not a crash site. Counted apart, checked like a
    # library crash.
    m = re.search(r"out-of-memory \(used: (\d+)Mb", report)
    if m:
        return "memory", f"process memory over the limit ({m.group(1)} MB), no crash site"
    root = os.path.realpath(source_root) + os.sep
    target = os.path.realpath(target) if target else None
    for frame in frames_of(report):
        if is_runtime(frame):
            continue
        if frame.source:
            if not frame.source.startswith("/"):
                continue  # glibc's debug info names its sources relatively: the C runtime
            if os.path.realpath(frame.source).startswith(root):
                return "ours", frame.describe()
            # a library's own header compiled into our code (gdcm templates): the library's
            return "library", frame.describe()
        if frame.module and target and os.path.realpath(frame.module) == target:
            return "ours", frame.describe()  # our binary without line info: assume ours
        return "library", frame.describe()
    # UBSan names the source line of its finding even when it prints no stack.
    m = re.search(r"^(/\S+?):\d+:\d+: runtime error", report, re.M)
    if m and os.path.realpath(m.group(1)).startswith(root):
        return "ours", m.group(1)
    return "ours", "no stack in the report"


def sanitizer_environment():
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "symbolize=1:detect_leaks=0")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:symbolize=1")
    return env


def limits():
    """The limits scripts/fuzz fuzzed with, so a crash re-runs under the same ones."""
    return os.environ.get("RADMARK_FUZZ_LIMITS", "-timeout=25 -rss_limit_mb=2048").split()


ARTIFACTS = tempfile.mkdtemp(prefix="radmark-reproduced-")  # the re-runs' own crash-* copies


def reproduce(target, crash):
    result = subprocess.run([target] + limits() + [f"-artifact_prefix={ARTIFACTS}/", crash],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=sanitizer_environment(), timeout=300)
    return result.returncode, result.stdout.decode("utf-8", "replace")


RUNNING = re.compile(r"^Running: (.*)$", re.M)
BATCH = 512  # inputs per libFuzzer command line (far below ARG_MAX)


def run_each(target, inputs):
    """Runs every input once in ONE libFuzzer process (its file arguments, -runs=1), started
    again after the input a crash stops it on: yields (input, report) per crash, in input order.
    (A process per input cost more than the inputs: libFuzzer's and the libraries' start.)
    An input that ends over the memory limit is run again alone, so that what earlier inputs
    left behind (the abort guard leaks what it jumps out of) is not blamed on it."""
    remaining = list(inputs)
    while remaining:
        batch = remaining[:BATCH]
        result = subprocess.run([target] + limits() + ["-runs=1", f"-artifact_prefix={ARTIFACTS}/"]
                                + batch, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                env=sanitizer_environment(), timeout=300 + 60 * len(batch))
        output = result.stdout.decode("utf-8", "replace")
        started = list(RUNNING.finditer(output))
        if result.returncode == 0 or not started:
            if result.returncode != 0:  # died before its first input: every input says so
                for path in batch:
                    yield path, output
            remaining = remaining[len(batch):]
            continue
        # The input it was running when it stopped (or, stopped after it, the last one run).
        last = started[-1]
        crashed = last.group(1) if last.group(1) in batch else batch[-1]
        report = output[last.start():]
        if "out-of-memory" in report and len(started) > 1:
            code, alone = reproduce(target, crashed)
            report = alone if code != 0 else None
        if report is not None:
            yield crashed, report
        done = batch.index(crashed) + 1
        remaining = remaining[done:]


def refusal(cli, command, crash, work):
    """None when the CLI refused or read the file cleanly, else what went wrong."""
    secret = os.path.join(work, "secret")
    with open(secret, "wb") as f:
        f.write(b"radmark fuzz containment secret, not a real one" * 2)
    args = [cli, "info", crash] if command == "info" else \
        [cli, "deid", crash, "--out", tempfile.mkdtemp(dir=work), "--secret-file", secret]
    try:
        result = subprocess.run(["timeout", "-s", "KILL", "30"] + args, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, timeout=60)
    except subprocess.TimeoutExpired:
        return "hung"
    code = result.returncode
    lines = [l for l in result.stderr.decode("utf-8", "replace").splitlines()
             if l.strip() and not l.startswith("note:")]
    if code < 0 or code > 128 or code == 124:
        return f"died (exit {code})" if code != -9 else "hung (killed after 30 s)"
    if code != 0 and len(lines) != 1:
        return f"refused on {len(lines)} lines"
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source-root", required=True)
    parser.add_argument("--target")
    parser.add_argument("--cli")
    parser.add_argument("--require-contained", action="store_true")
    parser.add_argument("--run-each", action="store_true")
    parser.add_argument("--report", action="store_true")
    parser.add_argument("--copy-clean", metavar="DIR",
                        help="with --run-each: copy the inputs that did not crash into DIR "
                             "(a starting corpus the fuzzer need not crash on again)")
    parser.add_argument("files", nargs="*")
    args = parser.parse_args()

    crashes = []  # (input, kind, site)
    if args.report:
        for path in args.files:
            with open(path, encoding="utf-8", errors="replace") as f:
                kind, site = classify(f.read(), args.source_root, args.target)
            crashes.append((path, kind, site))
    elif args.run_each:
        for path, report in run_each(args.target, args.files):
            kind, site = classify(report, args.source_root, args.target)
            crashes.append((path, kind, site))
        if args.copy_clean:
            os.makedirs(args.copy_clean, exist_ok=True)
            crashed = {c[0] for c in crashes}
            for path in args.files:
                if path not in crashed:
                    with open(path, "rb") as f:
                        data = f.read()
                    name = hashlib.sha1(data).hexdigest()
                    with open(os.path.join(args.copy_clean, name), "wb") as f:
                        f.write(data)
    else:
        for path in args.files:
            code, report = reproduce(args.target, path)
            if code == 0:
                crashes.append((path, "not reproduced", "ran cleanly on its own"))
                continue
            kind, site = classify(report, args.source_root, args.target)
            crashes.append((path, kind, site))

    name = os.path.basename(args.target) if args.target else "reports"
    ours = [c for c in crashes if c[1] == "ours"]
    library = [c for c in crashes if c[1] in ("library", "memory")]
    memory = [c for c in crashes if c[1] == "memory"]
    flaky = [c for c in crashes if c[1] == "not reproduced"]
    for path, kind, site in crashes:
        print(f"  {kind:8} {os.path.basename(path)}: {site}")
    sites = sorted({site for _, kind, site in library if kind == "library"})
    uncontained = []
    if library and args.cli and os.access(args.cli, os.X_OK):
        with tempfile.TemporaryDirectory(prefix="radmark-contain-") as work:
            for path, _, _ in library:
                for command in ("info", "deid"):
                    problem = refusal(args.cli, command, path, work)
                    if problem:
                        uncontained.append(f"{command} {os.path.basename(path)}: {problem}")
        for line in uncontained:
            print(f"  not contained: radmark-cli {line}")
        contained = f"; radmark-cli info+deid: {len(library) * 2 - len(uncontained)} of " \
                    f"{len(library) * 2} clean"
    elif library:
        contained = "; containment not checked (no radmark-cli: build it first)"
    else:
        contained = ""
    print(f"{name}: crashes: ours {len(ours)}, library {len(library) - len(memory)} "
          f"({len(sites)} distinct sites)"
          + (f", over the memory limit {len(memory)}" if memory else "") + contained
          + (f", not reproduced {len(flaky)}" if flaky else ""))
    failed = bool(ours) or (args.require_contained and (uncontained or (library and not
                                                                        args.cli)))
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        shutil.rmtree(ARTIFACTS, ignore_errors=True)
