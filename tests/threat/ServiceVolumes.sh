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
#   (e) in one session (one login), a whole map and then only two edited slices, naming the
#       version they were edited from: the version read back in-process (annotations digest)
#       is, voxel for voxel, the parent with those slices replaced; its voxel counts match;
#   (f) an edit naming as its parent a version of another study (bob's, which she may not
#       read) is refused, logged in the store's access log, and leaves no version; the session
#       goes on;
#   (h) the worklist and the review queue through the service are, row for row, what the
#       in-process calls give (anna sees her assigned study only; ada, an admin, the queue with
#       anna's submitted version; anna's own is not in hers); her study's versions list is the
#       in-process one line for line, and bob's study is refused with the same words;
#   (g) a key rotation under her open session: its next request is refused ("log in again"),
#       the session ends, a new one works;
#   (d) once ada disables her, the next request of her open session is refused with the words
#       of her next login, and a new session is refused too.
# A hand-written client (service_channel_client.py) speaks the protocol, as she could.
# Needs root (setpriv to other uids); exits 77 (SKIP) otherwise.
# Usage: ServiceVolumes.sh RADMARK_CLI RADMARKD SOURCE_DIR
set -u
cli="$(readlink -f "$1")"
radmarkd="$(readlink -f "$2")"
src="$3"
service_uid=61311
anna_uid=61312
ada_uid=61313
bob_uid=61314
source "$src/tests/threat/accounts.sh"
threat_begin $service_uid $anna_uid $ada_uid $bob_uid
py=/usr/bin/python3
pw='admin password 123'
apw='anna password 1234'
bpw='bob password 12345'

# --- the site's IT sets the store up as the service account ---
store_begin
store_add_user anna annotator "$apw"
store_add_user bob annotator "$bpw"
generated_ct "$work/ct-a" 7
generated_ct "$work/ct-b" 8
study_a=$(import_study "$work/ct-a")
study_b=$(import_study "$work/ct-b")
[ -n "$study_a" ] && [ -n "$study_b" ] || fail "two studies expected, got '$study_a' '$study_b'"
svc assign anna "$study_a" > /dev/null || fail "assign anna"
svc assign bob "$study_b" > /dev/null || fail "assign bob"
start_radmarkd
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
grep -q "from uid $anna_uid gid $anna_uid pid $refused_pid: 'service session' in worker" "$work/radmarkd.log" \
  || fail "the service's log does not name anna's uid and pid"
grep -q "from uid $anna_uid gid $anna_uid pid $refused_pid: 'service session' ended with exit 0" \
  "$work/radmarkd.log" || fail "the session's end is not in the service's log"
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

# --- (e) one session: a whole map, then two edited slices on it ---
session() { # session USER PASSWORD STEP...: the hand-written client's session, as USER's uid
  local user="$1" password="$2" uid
  shift 2
  case "$user" in anna) uid=$anna_uid ;; bob) uid=$bob_uid ;; esac
  printf '%s\n' "$password" | as "$uid" $py "$client" session "$sock" "$user" "$@"
}
session anna "$apw" "save:$study_a:32:32:6" "edit:$study_a:last:1,4" open:"$study_a" \
  > "$work/session.out" 2> "$work/err" || fail "session: $(cat "$work/err") $(cat "$work/session.out")"
[ "$(wc -l < "$work/session.out")" = 3 ] || fail "session: $(cat "$work/session.out")"
read -r _ whole_version whole_sha < <(sed -n 1p "$work/session.out" | tr '=' ' ' | awk '{print $1, $3, $5}')
read -r _ edit_version edit_sha < <(sed -n 2p "$work/session.out" | tr '=' ' ' | awk '{print $1, $3, $5}')
sed -n 1p "$work/session.out" | grep -q "^save version=[0-9a-f]\{64\} sha256=[0-9a-f]\{64\}$" \
  || fail "whole save: $(cat "$work/session.out")"
sed -n 2p "$work/session.out" | grep -q "^edit version=[0-9a-f]\{64\} sha256=[0-9a-f]\{64\}$" \
  || fail "edit: $(cat "$work/session.out")"
[ "$(sed -n 3p "$work/session.out")" = "open sealed=1 bytes=12288 sha256=$hash" ] \
  || fail "open in the session: $(sed -n 3p "$work/session.out")"
local_anna annotations digest --study "$study_a" > "$work/digest.out" 2> "$work/err" \
  || fail "annotations digest: $(cat "$work/err")"
grep -q "^${edit_version:0:12} 32x32x6 uint8 sha256 $edit_sha " "$work/digest.out" \
  || fail "the edited version read back is not parent + two slices: $(cat "$work/digest.out") (expected ${edit_version:0:12} $edit_sha)"
local_anna annotations digest --study "$study_a" --version "${whole_version:0:12}" > "$work/digest.out" 2> "$work/err" \
  || fail "annotations digest of the whole save: $(cat "$work/err")"
grep -q "^${whole_version:0:12} 32x32x6 uint8 sha256 $whole_sha " "$work/digest.out" \
  || fail "the whole map read back differs: $(cat "$work/digest.out") (expected $whole_sha)"
[ "$(versions)" = 3 ] || fail "two saves of the session are not two versions: $(versions)"
local_anna versions --study "$study_a" | grep "${edit_version:0:12}" | grep -q "anna.*Lesion=" \
  || fail "the edited version: $(local_anna versions --study "$study_a")"
grep -q "from uid $anna_uid gid $anna_uid pid [0-9]*: 'service session' ended with exit 0" "$work/radmarkd.log" \
  || fail "the session is not in the service's log"

# --- (f) a parent of another study is refused and logged; the session goes on ---
session bob "$bpw" "save:$study_b:32:32:6" > "$work/bob.out" 2> "$work/err" \
  || fail "bob's save on study b: $(cat "$work/err")"
bob_version=$(sed 's/^save version=\([0-9a-f]*\) .*/\1/' "$work/bob.out")
[ ${#bob_version} = 64 ] || fail "bob's version: $(cat "$work/bob.out")"
session anna "$apw" "save:$study_a:32:32:6" "edit:$study_a:$bob_version:2" "open:$study_a" \
  > "$work/lie.out" 2> "$work/err" || fail "the lying session: $(cat "$work/err")"
[ "$(sed -n 2p "$work/lie.out")" = "edit refused: there is no version ${bob_version:0:12} of this study that you may read: not saved" ] \
  || fail "a parent of another study: $(cat "$work/lie.out")"
[ "$(sed -n 3p "$work/lie.out")" = "open sealed=1 bytes=12288 sha256=$hash" ] \
  || fail "the session did not go on after the refusal: $(cat "$work/lie.out")"
[ "$(versions)" = 4 ] || fail "the refused edit left a version (or the save did not): $(versions)"
printf '%s\n' "$pw" | as "$service_uid" "$cli" audit show --store "$store" --policy "$work/policy.json" \
  --as ada --user anna --password-stdin > "$work/audit.out" 2> "$work/err" || fail "audit show: $(cat "$work/err")"
grep "refused save" "$work/audit.out" | grep -q "${bob_version:0:12}" \
  || fail "the refused parent is not in the store's access log: $(grep -i refused "$work/audit.out")"

# --- (h) the worklist and the review queue, row for row the in-process ones ---
via() { # via UID USER PASSWORD COMMAND...: radmark-cli through the service, as that uid
  local uid="$1" user="$2" password="$3"
  shift 3
  printf '%s\n' "$password" | as "$uid" "$cli" "$@" --via "$sock" --user "$user" --password-stdin
}
local_anna studies > "$work/local-rows.out" 2> "$work/err" || fail "in-process studies: $(cat "$work/err")"
via "$anna_uid" anna "$apw" studies > "$work/service-rows.out" 2> "$work/err" \
  || fail "studies through the service: $(cat "$work/err")"
[ "$(wc -l < "$work/service-rows.out")" = 2 ] || fail "anna's worklist: $(cat "$work/service-rows.out")"
awk -F'\t' 'NR == 2 {print $1}' "$work/service-rows.out" | grep -qx "$study_a" \
  || fail "anna's worklist is not her study: $(cat "$work/service-rows.out")"
grep -q "$study_b" "$work/service-rows.out" && fail "anna's worklist shows bob's study"
cmp -s "$work/local-rows.out" "$work/service-rows.out" \
  || fail "worklists differ: $(diff "$work/local-rows.out" "$work/service-rows.out")"
latest_version=$(awk -F'\t' 'NR == 2 {print $5}' "$work/service-rows.out") # her study's newest
local_anna review submit "$latest_version" > /dev/null 2> "$work/err" || fail "submit: $(cat "$work/err")"
svc review queue > "$work/local-rows.out" 2> "$work/err" || fail "in-process queue: $(cat "$work/err")"
printf '%s\n' "$pw" | as "$ada_uid" "$cli" review queue --via "$sock" --user ada --password-stdin \
  > "$work/service-rows.out" 2> "$work/err" || fail "the queue through the service: $(cat "$work/err")"
grep -q "submitted" "$work/service-rows.out" || fail "the queue holds no submission: $(cat "$work/service-rows.out")"
cmp -s "$work/local-rows.out" "$work/service-rows.out" \
  || fail "queues differ: $(diff "$work/local-rows.out" "$work/service-rows.out")"
svc studies --state submitted > "$work/local-rows.out" || fail "in-process studies --state"
printf '%s\n' "$pw" | as "$ada_uid" "$cli" studies --state submitted --via "$sock" --user ada \
  --password-stdin > "$work/service-rows.out" 2> "$work/err" || fail "studies --state: $(cat "$work/err")"
[ "$(wc -l < "$work/service-rows.out")" = 2 ] || fail "submitted studies: $(cat "$work/service-rows.out")"
cmp -s "$work/local-rows.out" "$work/service-rows.out" || fail "filtered worklists differ"
local_anna review queue > "$work/local-rows.out" 2> "$work/err" || fail "anna's queue: $(cat "$work/err")"
via "$anna_uid" anna "$apw" review queue > "$work/service-rows.out" 2> "$work/err" \
  || fail "anna's queue through the service: $(cat "$work/err")"
grep -q "$study_a" "$work/service-rows.out" && fail "anna's queue holds her own submission"
cmp -s "$work/local-rows.out" "$work/service-rows.out" || fail "anna's queues differ"
local_anna versions --study "$study_a" > "$work/local-rows.out" 2> "$work/err" || fail "versions: $(cat "$work/err")"
via "$anna_uid" anna "$apw" versions --study "$study_a" > "$work/service-rows.out" 2> "$work/err" \
  || fail "versions through the service: $(cat "$work/err")"
[ "$(grep -c "^[0-9a-f]\{12\}  [0-9TZ:-]*  anna  " "$work/service-rows.out")" = 4 ] \
  || fail "her four versions through the service: $(cat "$work/service-rows.out")"
grep -q " submitted " "$work/service-rows.out" || fail "the submitted version's state: $(cat "$work/service-rows.out")"
cmp -s "$work/local-rows.out" "$work/service-rows.out" \
  || fail "versions differ: $(diff "$work/local-rows.out" "$work/service-rows.out")"
local_anna versions --study "$study_b" > /dev/null 2> "$work/local.err" && fail "anna listed bob's versions"
via "$anna_uid" anna "$apw" versions --study "$study_b" > "$work/out" 2> "$work/service.err" \
  && fail "anna listed bob's versions through the service"
cmp -s "$work/local.err" "$work/service.err" \
  || fail "versions refusals differ: '$(cat "$work/local.err")' vs '$(cat "$work/service.err")'"

# --- (g) a key rotation under her open session ends it; a new one works ---
rm -f "$work/home/$anna_uid/go" "$work/home/$anna_uid/go.ready"
session anna "$apw" "open:$study_a" "pause:$work/home/$anna_uid/go" "open:$study_a" > "$work/rotated.out" 2> "$work/err" &
rotated_client=$!
for _ in $(seq 600); do [ -f "$work/home/$anna_uid/go.ready" ] && break; sleep 0.1; done
[ -f "$work/home/$anna_uid/go.ready" ] || fail "the session did not open: $(cat "$work/err")"
svc store rotate-key --reason "threat test" > /dev/null 2> "$work/rotate.err" \
  || fail "rotate-key: $(cat "$work/rotate.err")"
touch "$work/home/$anna_uid/go"
wait "$rotated_client" && fail "the session on the old key ended well: $(cat "$work/rotated.out")"
[ "$(sed -n 2p "$work/rotated.out")" = "open refused: the store's key was changed since you logged in (a key rotation): log in again" ] \
  || fail "after a rotation: $(cat "$work/rotated.out") $(cat "$work/err")"
printf '%s\n' "$apw" | as "$anna_uid" "$cli" volume digest --study "$study_a" --via "$sock" \
  --user anna --password-stdin > "$work/service.out" 2> "$work/err" \
  || fail "a new session after the rotation: $(cat "$work/err")"
cmp -s "$work/local.out" "$work/service.out" || fail "voxels after the rotation: $(cat "$work/service.out")"

# --- (d) disabled: the next request of her open session is refused, with her login's words ---
rm -f "$work/home/$anna_uid/go" "$work/home/$anna_uid/go.ready"
session anna "$apw" "open:$study_a" "pause:$work/home/$anna_uid/go" "open:$study_a" > "$work/disabled.out" 2> "$work/err" &
disabled_client=$!
for _ in $(seq 600); do [ -f "$work/home/$anna_uid/go.ready" ] && break; sleep 0.1; done
[ -f "$work/home/$anna_uid/go.ready" ] || fail "the session did not open: $(cat "$work/err")"
svc user disable anna > /dev/null 2> "$work/err" || fail "disable anna: $(cat "$work/err")"
touch "$work/home/$anna_uid/go"
wait "$disabled_client" && fail "a disabled user's session ended well: $(cat "$work/disabled.out")"
[ "$(sed -n 1p "$work/disabled.out")" = "open sealed=1 bytes=12288 sha256=$hash" ] \
  || fail "before the disable: $(cat "$work/disabled.out")"
local_anna volume digest --study "$study_a" > /dev/null 2> "$work/local.err" \
  && fail "in-process, a disabled user logged in"
words=$(sed 's/^radmark-cli volume digest: //' "$work/local.err")
[ -n "$words" ] || fail "no in-process refusal"
[ "$(sed -n 2p "$work/disabled.out")" = "open refused: $words" ] \
  || fail "a disabled user's next request: '$(sed -n 2p "$work/disabled.out")', in-process '$words'"
printf '%s\n' "$apw" | as "$anna_uid" "$cli" volume digest --study "$study_a" --via "$sock" \
  --user anna --password-stdin > "$work/out" 2> "$work/err" && fail "a disabled user read voxels"
[ -s "$work/out" ] && fail "a disabled user's request printed $(cat "$work/out")"
grep -q "$words" "$work/err" || fail "a disabled user's new session: $(cat "$work/err")"
echo "PASS: volumes and label maps through the service"
