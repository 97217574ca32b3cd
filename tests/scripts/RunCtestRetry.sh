#!/usr/bin/env bash
# scripts/run-ctest retries a test only when Xvfb refused its client, never a real failure, and
# names every retried test. Checked on a small CTest project whose tests count their runs.
set -euo pipefail
root="$1"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src" "$work/runs"
# Each test appends a line to its own counter file, so the number of runs is known exactly.
cat > "$work/src/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.20)
project(retry_fixture NONE)
enable_testing()
set(runs "$work/runs")
# Refused once, then passes.
add_test(NAME Flaky.Display COMMAND sh -c "echo x >> \${runs}/flaky; [ \\\$(wc -l < \${runs}/flaky) -gt 1 ] && exit 0; echo 'qt.qpa.xcb: could not connect to display :7'; exit 1")
# Always refused: fails after the third run.
add_test(NAME Dead.Display COMMAND sh -c "echo x >> \${runs}/dead; echo 'could not connect to display :8'; exit 1")
# A real failure (a lost draft, say): run once, never again.
add_test(NAME Real.LostDraft COMMAND sh -c "echo x >> \${runs}/real; echo 'draft lost'; exit 1")
add_test(NAME Fine.Pass COMMAND sh -c "echo x >> \${runs}/fine")
CMAKE
cmake -S "$work/src" -B "$work/build" > /dev/null
set +e
"$root/scripts/run-ctest" "$work/build" > "$work/out.txt" 2>&1
status=$?
set -e
fail() { echo "FAIL: $*"; cat "$work/out.txt"; exit 1; }
[ "$status" -ne 0 ] || fail "the suite passed although two tests failed"
runs() { wc -l < "$work/runs/$1"; }
[ "$(runs flaky)" -eq 2 ] || fail "Flaky.Display ran $(runs flaky) times, expected 2"
[ "$(runs dead)" -eq 3 ] || fail "Dead.Display ran $(runs dead) times, expected 3"
[ "$(runs real)" -eq 1 ] || fail "Real.LostDraft ran $(runs real) times, expected 1 (never retried)"
[ "$(runs fine)" -eq 1 ] || fail "Fine.Pass ran $(runs fine) times, expected 1"
grep -q "Tests that needed a retry (Xvfb refused the client): Dead.Display Flaky.Display" \
  "$work/out.txt" || fail "the retried tests are not listed"
grep -q "^Failed: .*Real.LostDraft" "$work/out.txt" || fail "the real failure is not named"
grep -q "^Failed: .*Dead.Display" "$work/out.txt" || fail "the refused-three-times test is not named"
[ "$(tail -1 "$work/out.txt")" = "2 passed, 2 failed" ] || fail "closing line: $(tail -1 "$work/out.txt")"
echo "run-ctest retry rule holds"
