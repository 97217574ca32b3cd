#!/usr/bin/env bash
# radmark-cli against anchors outside the store (issue 13 items 4 and 5), as the site would run
# it: a policy with log_sink (the test's own syslog receiver on loopback UDP: CI machines may
# have no /dev/log) and anchor_file; refusals (an annotator asking for a study not assigned to
# her, a reviewer trying an admin action) in `audit show` with where they came from; `audit
# verify --anchors` passing on the untouched store and failing, with a clear message, once
# store.db and keyring are restored from an older copy (also by default, from the policy's
# anchor_file, and after the restored store has grown past the anchored size).
# Usage: AnchorsCli.sh RADMARK_CLI SOURCE_DIR
set -u
cli="$1"
src="$2"
work="$(mktemp -d)"
. "$src/tests/scripts/store-cli.sh"
receiver=""
trap '[ -n "$receiver" ] && kill "$receiver" 2> /dev/null; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT

mkdir -p "$work/outside"
python3 "$src/tests/storage/syslog_receiver.py" udp "$work/outside/syslog.log" "$work/ready" &
receiver=$!
for _ in $(seq 200); do [ -s "$work/ready" ] && break; sleep 0.05; done
sink="$(cat "$work/ready")"
[ -n "$sink" ] || fail "the syslog receiver did not start"
cat > "$work/policy.json" << EOF
{"argon2_memory_bytes": 65536, "argon2_operations": 1, "log_sink": "$sink",
 "anchor_file": "$work/outside/anchors", "checkpoint_every": 5}
EOF
# The log's anchors are the site's alone: the test's policy is this test build's system policy.
use_policy
show() { printf '%s\n' "$pw" | "$cli" audit show "${s[@]}" --as ada --password-stdin; }
# Waits until the receiver has the anchor of the store's last entry (no time is asserted).
settle() {
  local n
  n=$(show 2> /dev/null | tail -1 | awk '{print $1}') # the show's own login; then its logout
  for _ in $(seq 200); do
    grep -q "seq=\"$((n + 1))\"" "$work/outside/syslog.log" && return 0
    sleep 0.05
  done
  fail "the receiver never got entry $((n + 1))"
}

init_store anna:annotator rita:reviewer
/usr/bin/python3 "$src/tests/data/generate_ct_series.py" --out "$work/ct" --slices 4 --rows 32 --cols 32 \
  > /dev/null || fail "generate CT"
as ada import "$work/ct" > "$work/import.out" 2>&1 || fail "import: $(cat "$work/import.out")"
study=$(as ada studies | awk -F'\t' 'NR == 2 {print $1}')
label=$(as ada studies | awk -F'\t' 'NR == 2 {print $2}')
[ -n "$study" ] && [ -n "$label" ] || fail "no study"

# Refusals: logged like grants, by who and from where.
as anna versions --study "$study" > /dev/null 2> "$work/err" && fail "an unassigned study listed"
grep -q "not assigned to you" "$work/err" || fail "unassigned message: $(cat "$work/err")"
as rita user list > /dev/null 2> "$work/err" && fail "a reviewer listed users"
grep -q "admin role" "$work/err" || fail "role message: $(cat "$work/err")"
show > "$work/log" || fail "audit show"
grep "  anna  refused list versions  " "$work/log" | grep -q "not assigned to you" \
  || fail "no refusal of anna's: $(cat "$work/log")"
grep "  rita  refused list users  " "$work/log" | grep -q "\[from uid $(id -u) .* pid [0-9]* radmark-cli " \
  || fail "no refusal of rita's with its origin: $(grep rita "$work/log")"
grep -q "  ada  init  .*\[from uid $(id -u) ($(id -un)) pid [0-9]* radmark-cli [0-9.]* on $(hostname) \[[0-9a-f]\{32\}\]\]" \
  "$work/log" || fail "init has no origin: $(head -1 "$work/log")"

# Untouched: verifies against the anchors (the file and the system log's copy).
settle
as ada audit verify --audit-key "$work/audit.key" --anchors "$work/outside/anchors" \
  --anchors "$work/outside/syslog.log" > "$work/ok" 2>&1 || fail "verify: $(cat "$work/ok")"
grep -q "every MAC ok, matches the anchors outside the store" "$work/ok" \
  || fail "verify output: $(cat "$work/ok")"
grep -q "refused list versions" "$work/outside/syslog.log" || fail "the refusal was not anchored"
grep -qF "$label" "$work/outside/syslog.log" && fail "the system log holds a study's label"
grep -q "not assigned\|role admin" "$work/outside/syslog.log" && fail "the system log holds details"

# Restored from an older copy: store.db and keyring.
cp -a "$work/store" "$work/older-copy"
as ada user disable anna > /dev/null || fail "disable anna"
as ada assign rita "$study" > /dev/null 2>&1
settle
cp "$work/older-copy/store.db" "$work/older-copy/keyring" "$work/store/"
rm -f "$work/store/store.db-wal" "$work/store/store.db-shm"
as ada audit verify --audit-key "$work/audit.key" --anchors "$work/outside/syslog.log" \
  > /dev/null 2> "$work/err"
[ $? -eq 1 ] || fail "a restored copy verified against the system log"
grep -q "rolled back to an older copy or its log truncated" "$work/err" \
  || fail "rollback message: $(cat "$work/err")"
# Without --anchors: the policy's anchor_file.
as ada audit verify --audit-key "$work/audit.key" > /dev/null 2> "$work/err"
[ $? -eq 1 ] || fail "a restored copy verified against the policy's anchor file"
grep -q "anchors outside the store" "$work/err" || fail "default anchors: $(cat "$work/err")"
# Grown past the anchored size: still caught.
for i in 1 2 3 4 5 6; do
  printf '%s\n%s\n' "$pw" "$upw" | "$cli" user add "late$i" --role annotator "${s[@]}" \
    --user ada --password-stdin > /dev/null || fail "user add late$i"
done
as ada audit verify --audit-key "$work/audit.key" > /dev/null 2> "$work/err"
[ $? -eq 1 ] || fail "a restored and regrown copy verified"
grep -q "rewritten, or rolled back and written again\|rolled back" "$work/err" \
  || fail "regrown message: $(cat "$work/err")"
echo "radmark-cli anchors: all checks passed"
