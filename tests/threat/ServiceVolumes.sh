#!/usr/bin/env bash
# Threat model (issue 13), volumes and label maps through the store service (docs/service.md,
# "Volumes and label maps"): radmarkd runs as a service uid that owns the store; anna is an
# annotator with a second uid, ada an admin with a third. Checked:
#   (a) anna gets her assigned study's voxels through the service as a sealed memfd, voxel for
#       voxel (SHA-256 of every voxel) what the in-process read of the store gives her;
#   (b) an unassigned study is refused through the service with the in-process refusal's words,
#       and the refusal is in the service's log (her uid and pid) and the store's access log;
#   (c) a label map sent in a memfd that is not sealed is refused, one of the wrong size is
#       refused, and neither leaves a version; a sealed one of the study's grid is saved as her
#       version (radmark-cli versions lists it, by her);
#   (d) once ada disables her, her next volume request is refused.
# A hand-written client (service_channel_client.py) speaks the protocol, as she could.
# Needs root (setpriv to other uids); exits 77 (SKIP) otherwise.
# Usage: ServiceVolumes.sh RADMARK_CLI RADMARKD SOURCE_DIR
set -u
cli="$(readlink -f "$1")"
radmarkd="$(readlink -f "$2")"
src="$3"
if [ "$(id -u)" != 0 ]; then
  echo "SKIP: the threat-model tests need root to run processes under other numeric uids"
  exit 77
fi
service_uid=61311
anna_uid=61312
ada_uid=61313
work="$(mktemp -d /tmp/radmark-threat.XXXXXX)"
daemon=""
cleanup() {
  [ -n "$daemon" ] && kill "$daemon" 2> /dev/null && wait "$daemon" 2> /dev/null
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  [ -f "$work/radmarkd.log" ] && sed 's/^/  radmarkd log: /' "$work/radmarkd.log" >&2
  exit 1
}
chmod 0755 "$work"
for uid in $service_uid $anna_uid $ada_uid; do
  mkdir -m 0700 -p "$work/home/$uid" && chown "$uid:$uid" "$work/home/$uid"
done
as() { # as UID COMMAND...: runs COMMAND under that uid and gid, no supplementary groups
  local uid="$1"
  shift
  env -i PATH=/usr/bin:/bin RADMARK_TEST_SYSTEM_POLICY="$work/policy.json" HOME="$work/home/$uid" LANG=C.UTF-8 \
    setpriv --reuid="$uid" --regid="$uid" --clear-groups -- "$@"
}
# as_bg UID COMMAND... &: the same in the background, where $! is then COMMAND's own pid.
as_bg() {
  local uid="$1"
  shift
  exec env -i PATH=/usr/bin:/bin RADMARK_TEST_SYSTEM_POLICY="$work/policy.json" HOME="$work/home/$uid" LANG=C.UTF-8 \
    setpriv --reuid="$uid" --regid="$uid" --clear-groups -- "$@"
}
py=/usr/bin/python3
pw='admin password 123'
apw='anna password 1234'

# --- the site's IT sets the store up as the service account ---
echo '{"argon2_memory_bytes": 65536, "argon2_operations": 1}' > "$work/policy.json"
chmod 0644 "$work/policy.json"
mkdir -m 0700 "$work/service" "$work/run" && chown "$service_uid:$service_uid" "$work/service" "$work/run"
chmod 0755 "$work/run" # the socket's folder: every account may reach the socket
store="$work/service/store"
sock="$work/run/radmarkd.sock"
$py "$src/tests/data/generate_ct_series.py" --out "$work/ct-a" --slices 6 --rows 32 --cols 32 \
  --seed 7 > /dev/null || fail "generate CT a"
$py "$src/tests/data/generate_ct_series.py" --out "$work/ct-b" --slices 6 --rows 32 --cols 32 \
  --seed 8 > /dev/null || fail "generate CT b"
chmod -R a+rX "$work/ct-a" "$work/ct-b"
svc() { # svc COMMAND...: radmark-cli in-process as the service account, logged in as ada
  printf '%s\n' "$pw" | as "$service_uid" "$cli" "$@" --store "$store" --policy "$work/policy.json" \
    --user ada --password-stdin
}
printf '%s\n' "$pw" | as "$service_uid" "$cli" init --store "$store" --policy "$work/policy.json" \
  --admin ada --audit-key-out "$work/service/audit.key" --password-stdin > /dev/null \
  || fail "init as the service account"
printf '%s\n%s\n' "$pw" "$apw" | as "$service_uid" "$cli" user add anna --role annotator \
  --store "$store" --policy "$work/policy.json" --user ada --password-stdin > /dev/null \
  || fail "user add anna"
svc import "$work/ct-a" > "$work/import.out" 2>&1 || fail "import a: $(cat "$work/import.out")"
study_a=$(svc studies | awk -F'\t' 'NR == 2 {print $1}')
svc import "$work/ct-b" > "$work/import.out" 2>&1 || fail "import b: $(cat "$work/import.out")"
study_b=$(svc studies | awk -F'\t' -v a="$study_a" 'NR > 1 && $1 != a {print $1}')
[ -n "$study_a" ] && [ -n "$study_b" ] || fail "two studies expected, got '$study_a' '$study_b'"
svc assign anna "$study_a" > /dev/null || fail "assign anna"

as_bg "$service_uid" "$radmarkd" --store "$store" --socket "$sock" --policy "$work/policy.json" \
  --cli "$cli" 2> "$work/radmarkd.log" &
daemon=$!
for _ in $(seq 600); do [ -S "$sock" ] && break; kill -0 "$daemon" 2> /dev/null || break; sleep 0.1; done
[ -S "$sock" ] || fail "radmarkd did not start"
client="$src/tests/threat/service_channel_client.py"
local_anna() { # in-process on the store (as the service account), logged in as anna
  printf '%s\n' "$apw" | as "$service_uid" "$cli" "$@" --store "$store" --policy "$work/policy.json" \
    --user anna --password-stdin
}

# --- (a) her assigned study's voxels, voxel for voxel the in-process read ---
local_anna volume digest --study "$study_a" > "$work/local.out" 2> "$work/err" \
  || fail "in-process digest: $(cat "$work/err")"
printf '%s\n' "$apw" | as "$anna_uid" "$cli" volume digest --study "$study_a" --via "$sock" \
  --user anna --password-stdin > "$work/service.out" 2> "$work/err" \
  || fail "digest through the service: $(cat "$work/err")"
grep -q "^32x32x6 int16 sha256 [0-9a-f]\{64\}$" "$work/local.out" || fail "digest: $(cat "$work/local.out")"
cmp -s "$work/local.out" "$work/service.out" \
  || fail "service voxels differ: $(cat "$work/local.out") vs $(cat "$work/service.out")"
printf '%s\n' "$apw" | as "$anna_uid" $py "$client" open "$sock" "$study_a" anna \
  > "$work/raw.out" 2> "$work/err" || fail "hand-written open: $(cat "$work/err")"
hash=$(awk '{print $4}' "$work/local.out")
[ "$(cat "$work/raw.out")" = "sealed=1 bytes=12288 sha256=$hash" ] \
  || fail "the memfd the service sent: $(cat "$work/raw.out") (in-process sha256 $hash)"

# --- (b) an unassigned study is refused, with the in-process words, and logged ---
local_anna volume digest --study "$study_b" > /dev/null 2> "$work/local.err" \
  && fail "in-process, anna read an unassigned study"
printf '%s\n' "$apw" | as_bg "$anna_uid" "$cli" volume digest --study "$study_b" --via "$sock" \
  --user anna --password-stdin > "$work/out" 2> "$work/service.err" &
refused_pid=$!
wait "$refused_pid" && fail "anna read an unassigned study's voxels through the service"
grep -q "not assigned to you" "$work/service.err" || fail "unassigned: $(cat "$work/service.err")"
cmp -s "$work/local.err" "$work/service.err" \
  || fail "refusals differ: '$(cat "$work/local.err")' vs '$(cat "$work/service.err")'"
[ -s "$work/out" ] && fail "a refused read printed $(cat "$work/out")"
grep -q "'service open-volume' ended with exit 1" "$work/radmarkd.log" \
  || fail "the refusal is not in the service's log"
grep -q "from uid $anna_uid gid $anna_uid pid [0-9]*: 'service open-volume' in worker" "$work/radmarkd.log" \
  || fail "the service's log does not name anna's uid"
printf '%s\n' "$pw" | as "$service_uid" "$cli" audit show --store "$store" --policy "$work/policy.json" \
  --as ada --user anna --password-stdin > "$work/audit.out" 2> "$work/err" || fail "audit show: $(cat "$work/err")"
[ "$(grep "refused" "$work/audit.out" | grep -c "not assigned to you")" -ge 2 ] \
  || fail "the refusals are not in the store's access log: $(cat "$work/audit.out")"

# --- (c) label maps: unsealed and wrong-sized refused, a sealed one of her grid saved ---
versions() { local_anna versions --study "$study_a" | grep -c "^[0-9a-f]" || true; }
[ "$(versions)" = 0 ] || fail "versions before any save"
printf '%s\n' "$apw" | as "$anna_uid" $py "$client" save "$sock" "$study_a" anna unsealed 32 32 6 \
  > "$work/out" 2> "$work/err" && fail "an unsealed label map was saved: $(cat "$work/out")"
grep -q "not sealed" "$work/err" || fail "unsealed: $(cat "$work/err")"
printf '%s\n' "$apw" | as "$anna_uid" $py "$client" save "$sock" "$study_a" anna sealed 32 32 5 \
  > "$work/out" 2> "$work/err" && fail "a label map of the wrong size was saved: $(cat "$work/out")"
grep -q "the label map is 32x32x5, the study's grid is 32x32x6" "$work/err" \
  || fail "wrong size: $(cat "$work/err")"
[ "$(versions)" = 0 ] || fail "a refused label map left a version"
printf '%s\n' "$apw" | as "$anna_uid" $py "$client" save "$sock" "$study_a" anna sealed 32 32 6 \
  > "$work/out" 2> "$work/err" || fail "a sealed label map: $(cat "$work/err")"
grep -q '"version": "[0-9a-f]*"' "$work/out" || fail "save reply: $(cat "$work/out")"
[ "$(versions)" = 1 ] || fail "the saved label map is not a version"
local_anna versions --study "$study_a" | grep -q "anna" || fail "the version is not anna's"
grep -q "'service save-labels' ended with exit 0" "$work/radmarkd.log" || fail "save not in the log"

# --- (d) disabled: her next request is refused ---
svc user disable anna > /dev/null 2> "$work/err" || fail "disable anna: $(cat "$work/err")"
printf '%s\n' "$apw" | as "$anna_uid" "$cli" volume digest --study "$study_a" --via "$sock" \
  --user anna --password-stdin > "$work/out" 2> "$work/err" && fail "a disabled user read voxels"
[ -s "$work/out" ] && fail "a disabled user's request printed $(cat "$work/out")"
echo "PASS: volumes and label maps through the service"
