#!/usr/bin/env bash
# radmark-cli through the isolated decoder, end to end:
#  1. `info` on a DICOM file: under strace, only the decoder child opens the .dcm file (the CLI
#     itself never parses DICOM).
#  2. `import` of a folder with a file that crashes the decoder beside a good study: the good
#     study is stored, the bad file is named on one line, the exit status says not everything
#     was imported (3), and no signal reaches the CLI.
#  3. `radmark-cli bench` lists its commands, deface among them; `bench deface` reads the head
#     volume in the decoder child, not in the CLI.
#  4. radmark-decoder started by hand (no supervisor's socket at fd 3) says what it is in one
#     line and exits 2: no abort, no core.
# usage: CliIsolation.sh RADMARK_CLI MALFORMED_DATA_DIR
set -euo pipefail
cli="$1"
data="$2"
pydicom=/usr/lib/python3/dist-packages/pydicom/data/test_files
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# 1. Who opens the file.
if command -v strace >/dev/null; then
  cp "$pydicom/CT_small.dcm" "$scratch/probe-CT_small.dcm"
  strace -f -qq -e trace=openat,open -o "$scratch/trace" "$cli" info "$scratch/probe-CT_small.dcm" \
    > "$scratch/info.out" || fail "info failed: $(cat "$scratch/info.out")"
  grep -q "dimensions:  128 x 128 x 1" "$scratch/info.out" || fail "info did not read the file"
  cli_pid="$(head -n1 "$scratch/trace" | awk '{print $1}')"
  openers="$(grep 'probe-CT_small.dcm' "$scratch/trace" | grep -v ENOENT | awk '{print $1}' | sort -u)"
  [ -n "$openers" ] || fail "nobody opened the file?"
  for pid in $openers; do
    [ "$pid" != "$cli_pid" ] || fail "the CLI process ($cli_pid) opened the DICOM file itself"
  done
  echo "ok: the .dcm file was opened by the decoder child ($openers), not the CLI ($cli_pid)"
else
  echo "note: strace not installed (scripts/setup installs it): open check skipped"
fi

# 2. Import with a crashing file beside a good study.
mkdir -p "$scratch/source"
cp "$pydicom/CT_small.dcm" "$scratch/source/good.dcm"
cp "$data/info-SIGSEGV-JPEG2000-56b65079fed9.dcm" "$scratch/source/"
echo '{"argon2_memory_bytes": 65536, "argon2_operations": 1}' > "$scratch/policy.json"
# The cheap Argon2id is the SYSTEM policy of a build made for tests (--policy only tightens).
export RADMARK_TEST_SYSTEM_POLICY="$scratch/policy.json"
password="decoder test password"
echo "$password" | "$cli" init --store "$scratch/store" --admin admin \
  --audit-key-out "$scratch/audit.key" --password-stdin --policy "$scratch/policy.json" > /dev/null
status=0
# no-clean-pixel-data: the crashing file is a secondary capture, which would otherwise be
# quarantined for burned-in text before its pixels are ever decoded.
echo "$password" | "$cli" import --store "$scratch/store" --user admin --password-stdin \
  --options default,no-clean-pixel-data "$scratch/source" \
  > "$scratch/import.out" 2> "$scratch/import.err" || status=$?
cat "$scratch/import.out" "$scratch/import.err"
[ "$status" -eq 3 ] || fail "import exit status $status, expected 3 (not everything imported)"
grep -q "imported RM" "$scratch/import.out" || fail "the good study was not imported"
# The JPEG 2000 decoder writes past its buffer: a fault, or glibc's heap check aborting.
grep -Eq "info-SIGSEGV-JPEG2000-56b65079fed9.dcm: the decoder (crashed \(SIGSEGV\)|aborted \(SIGABRT[^)]*\)) while decoding pixel data" \
  "$scratch/import.err" || fail "the crashing file was not named"
[ "$(wc -l < "$scratch/import.err")" -eq 1 ] || fail "more than one line about the bad file"
echo "ok: the good study was imported and the crashing file named"

# 3. `bench deface` is a listed command and reads its volume through the decoder too.
"$cli" bench --help > "$scratch/bench.out" || fail "radmark-cli bench --help failed"
grep -q "^  bench deface PATH" "$scratch/bench.out" || fail "radmark-cli bench does not list deface"
status=0
"$cli" bench > /dev/null 2> "$scratch/bench.err" || status=$?
[ "$status" -eq 2 ] && grep -q "bench deface" "$scratch/bench.err" ||
  fail "radmark-cli bench without a command: exit $status, not the list of bench commands"
head="/usr/share/mricron/templates/ch2.nii.gz"
if [ -f "$head" ] && command -v strace >/dev/null; then
  cp "$head" "$scratch/probe-head.nii.gz"
  strace -f -qq -e trace=openat,open -o "$scratch/deface-trace" \
    "$cli" bench deface "$scratch/probe-head.nii.gz" --repeat 1 > "$scratch/deface.out" ||
    fail "bench deface failed: $(cat "$scratch/deface.out")"
  grep -q "removed [1-9][0-9]* voxels" "$scratch/deface.out" || fail "bench deface removed nothing"
  cli_pid="$(head -n1 "$scratch/deface-trace" | awk '{print $1}')"
  ! grep 'probe-head.nii.gz' "$scratch/deface-trace" | grep -v ENOENT | grep -q "^$cli_pid " ||
    fail "bench deface opened the head volume in the CLI process"
  echo "ok: bench deface is listed, and its volume was read by the decoder child"
else
  echo "note: mricron-data or strace missing: bench deface run skipped"
fi

# 4. The decoder by hand.
decoder="$(dirname "$cli")/radmark-decoder"
status=0
"$decoder" --help > "$scratch/decoder.out" 2>&1 || status=$?
[ "$status" = 2 ] || fail "radmark-decoder by hand: exit $status, not 2: $(cat "$scratch/decoder.out")"
grep -q "isolated decoder.*not run by hand" "$scratch/decoder.out" ||
  fail "radmark-decoder by hand said: $(cat "$scratch/decoder.out")"
status=0
"$decoder" --zygote 3< /dev/null > "$scratch/decoder.out" 2>&1 || status=$?
[ "$status" = 2 ] || fail "radmark-decoder --zygote on a file at fd 3: exit $status, not 2"
echo "ok: radmark-decoder by hand is one line and exit 2"
