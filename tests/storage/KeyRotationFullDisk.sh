#!/usr/bin/env bash
# A key rotation on a full disk (issue 13: "a rotation needs as much free space as store.db").
# The store lives on a small tmpfs of its own; a CT is imported, the disk is filled to the last
# 2 MB, and `store rotate-key` must fail with one clear sentence and lose nothing: the old key
# still opens the store, the study's voxels are the same, the keyring has no pending version left
# behind, the log says the rotation failed and verifies, and with space again the rotation works.
# Needs root to mount the tmpfs (exit 77, SKIP, otherwise).
# Usage: KeyRotationFullDisk.sh RADMARK_CLI SOURCE_DIR
set -u
cli="$1"
src="$2"
work="$(mktemp -d)"
disk="$work/disk"
mkdir -p "$disk"
cleanup() {
  mountpoint -q "$disk" && umount "$disk"
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
if [ "$(id -u)" -ne 0 ] || ! mount -t tmpfs -o size=80m,mode=0700 radmark-full-disk "$disk"; then
  echo "SKIP: needs root to mount a small tmpfs"
  exit 77
fi
echo '{"argon2_memory_bytes": 65536, "argon2_operations": 1}' > "$work/policy.json"
export RADMARK_TEST_SYSTEM_POLICY="$work/policy.json"
s=(--store "$disk/store")
pw='admin password 123'
apw='anna password 12'
as_ada() { printf '%s\n' "$pw" | "$cli" "$@" "${s[@]}" --user ada --password-stdin; }
as_anna() { printf '%s\n' "$apw" | "$cli" "$@" "${s[@]}" --user anna --password-stdin; }

printf '%s\n' "$pw" | "$cli" init "${s[@]}" --admin ada --audit-key-out "$work/audit.key" \
    --password-stdin > /dev/null || fail "init"
printf '%s\n%s\n' "$pw" "$apw" | "$cli" user add anna --role annotator "${s[@]}" --user ada \
    --password-stdin > /dev/null || fail "user add anna"
/usr/bin/python3 "$src/tests/data/generate_ct_series.py" --out "$work/ct" --slices 80 > /dev/null \
  || fail "generate the CT"
as_ada import "$work/ct" > "$work/import.out" 2>&1 || fail "import: $(cat "$work/import.out")"
study="$(as_ada studies | awk 'NR == 2 {print $1}')"
[ -n "$study" ] || fail "no study listed: $(as_ada studies)"
as_ada assign anna "$study" > /dev/null || fail "assign anna"
as_anna volume digest --study "$study" > "$work/digest.before" || fail "digest before"
# A first rotation with space; it ends with a checkpoint that empties the WAL, so that the WAL
# of the import cannot hand its space to the next rekey.
as_ada store rotate-key --reason "with space" > "$work/rotate.out" 2> "$work/rotate.err" \
  || fail "rotation with space: $(cat "$work/rotate.err")"
grep -q "database key rotated to version 2" "$work/rotate.out" || fail "first rotation: $(cat "$work/rotate.out")"
db_bytes=$(stat -c %s "$disk/store/store.db")
wal_bytes=$(stat -c %s "$disk/store/store.db-wal" 2> /dev/null || echo 0)
echo "store.db: $db_bytes bytes, WAL $wal_bytes bytes"

# Fill the disk, then give back 2 MB: enough for a login, its log entries and the keyring,
# far less than the rekey's WAL (the size of store.db).
dd if=/dev/zero of="$disk/filler" bs=1M 2> /dev/null
truncate -s -2M "$disk/filler"
free_kb=$(df --output=avail -k "$disk" | tail -n1 | tr -d ' ')
[ $((free_kb + wal_bytes / 1024)) -lt $((db_bytes / 2048)) ] || fail "the disk is not full enough ($free_kb KB free)"
echo "free: $free_kb KB"

# rotate EXPECTED_SENTENCE [ENV...]: a rotation on the full disk fails with exit 1 and a few
# clear lines, and claims nothing.
rotate_refused() {
  local expected="$1"
  shift
  local status=0
  printf '%s\n' "$pw" | env "$@" "$cli" store rotate-key --reason "full disk test" "${s[@]}" \
    --user ada --password-stdin > "$work/rotate.out" 2> "$work/rotate.err" || status=$?
  [ "$status" -eq 1 ] || fail "rotation on a full disk ($*): exit $status: $(cat "$work/rotate.err")"
  grep -q "$expected" "$work/rotate.err" || fail "no clear refusal ($*): $(cat "$work/rotate.err")"
  grep -q "the old key still opens the store" "$work/rotate.err" \
    || fail "does not say the old key holds: $(cat "$work/rotate.err")"
  grep -q "rotated to version" "$work/rotate.out" && fail "claims a rotation: $(cat "$work/rotate.out")"
  [ "$(grep -vc '%' "$work/rotate.err")" -le 2 ] || fail "not one clear line: $(cat "$work/rotate.err")"
  echo "refused: $(grep -v '%' "$work/rotate.err")"
}
# 1. Refused before anything changes: not enough space for the rewritten pages.
rotate_refused "not enough free disk space to rotate the key"
# 2. Started anyway (a test build's hook skips that check, as a disk filling up during the rekey
#    would): SQLCipher's rekey fails on the full disk and says SQLITE_OK; the rotation must see it.
rotate_refused "not rewritten under the new key" RADMARK_TEST_ROTATION_SKIP_SPACE_CHECK=1

# Nothing lost, on the full disk still: the old key opens it, the voxels are the same.
as_anna volume digest --study "$study" > "$work/digest.after" \
  || fail "the store does not open after the failed rotation"
cmp -s "$work/digest.before" "$work/digest.after" || fail "the study's voxels changed"
grep -q '"pending"' "$disk/store/keyring" && fail "a pending key version was left in the keyring"

# With space again: the log says what happened and verifies; a rotation now works.
rm -f "$disk/filler"
as_ada audit show > "$work/log" || fail "audit show"
grep -q "key rotation refused" "$work/log" || fail "no 'key rotation refused' entry: $(tail -5 "$work/log")"
# The failure is logged by the rotation, or, when the full disk kept even that entry and the
# keyring's undo from being written, by the next login that undid the pending key.
grep -Eq "key rotation failed.*still key version 2|key rotation.*interrupted before the database was rekeyed: key version 2 stays" \
  "$work/log" || fail "the failed rotation is not in the log: $(tail -8 "$work/log")"
as_ada audit verify --audit-key "$work/audit.key" > "$work/verify" 2>&1 \
  || fail "audit verify after the failed rotation: $(cat "$work/verify")"
as_ada store rotate-key --reason "space again" > "$work/rotate.out" 2> "$work/rotate.err" \
  || fail "rotation with space: $(cat "$work/rotate.err")"
grep -q "database key rotated to version 3" "$work/rotate.out" \
  || fail "rotation after the failure: $(cat "$work/rotate.out")"
as_anna volume digest --study "$study" > "$work/digest.after" || fail "digest after the rotation"
cmp -s "$work/digest.before" "$work/digest.after" || fail "voxels changed by the rotation"
# A disable on a full disk: the account is disabled at once, and the admin is told the key
# still has to be rotated.
dd if=/dev/zero of="$disk/filler" bs=1M 2> /dev/null
truncate -s -2M "$disk/filler"
as_ada user disable anna > "$work/disable.out" 2> "$work/disable.err" && fail "disable claims a rotation"
grep -q "the account anna is disabled, but not enough free disk space" "$work/disable.err" \
  || fail "disable on a full disk: $(cat "$work/disable.err")"
as_anna studies > /dev/null 2>&1 && fail "anna still logs in after her disable"
echo "disable: $(grep -v '%' "$work/disable.err")"
echo "ok: a full disk refuses the rotation, keeps the old key and the study; with space it rotates"
