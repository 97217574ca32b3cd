#!/usr/bin/env bash
# Threat model (issue 13) against a store in the service mode, tried the way a user of a shared
# workstation would, with her own OS account: radmarkd runs as a "service" uid that owns the
# store; anna is an annotator with a second uid, ada an admin with a third. Checked:
#   (a) anna's account cannot read, list or copy any store file (permission denied);
#   (b) radmark-cli --service works for her with her Radmark password, typed into her terminal
#       (a pty from script(1)) or given with --password-stdin: she sees her assigned study only;
#   (c) an unassigned study is refused through the service, and the refusal is in the log;
#   (d) nothing gets her a copy: not the service (--store, --policy, files named on her side,
#       init, the service mode through the socket), not radmarkd run herself, not /proc of the
#       service; nor can she delete or truncate the lockout's failed-logins file;
#   her own 0600 mask, opened by radmark-cli with her rights and passed over the socket, is
#   saved as a version (a hand-written request naming a path, or /dev/zero, is refused);
#   ada's assign through the service shows at anna's next request;
#   (e) after ada disables her (through the service), her next request is refused;
#   (f) the service's log names her OS uid and the pid of her radmark-cli.
# Needs root (setpriv to other uids); exits 77 (SKIP) otherwise.
# Usage: ServiceStore.sh RADMARK_CLI RADMARKD SOURCE_DIR
set -u
cli="$(readlink -f "$1")"
radmarkd="$(readlink -f "$2")"
src="$3"
service_uid=61301
anna_uid=61302
ada_uid=61303
source "$src/tests/threat/accounts.sh"
threat_begin $service_uid $anna_uid $ada_uid
py=/usr/bin/python3
pw='admin password 123'
apw='anna password 1234'

# --- the site's IT sets the store up as the service account ---
store_begin
store_add_user anna annotator "$apw"
generated_ct "$work/ct-a" 7
generated_ct "$work/ct-b" 8
study_a=$(import_study "$work/ct-a")
study_b=$(import_study "$work/ct-b")
[ -n "$study_a" ] && [ -n "$study_b" ] || fail "two studies expected, got '$study_a' '$study_b'"
svc assign anna "$study_a" > /dev/null || fail "assign anna"
start_radmarkd
[ "$(stat -c '%u %a' "$store")" = "$service_uid 700" ] || fail "store folder: $(stat -c '%u %a' "$store")"

# --- (a) anna's account reads nothing of the store ---
as "$anna_uid" ls "$store" > /dev/null 2> "$work/err" && fail "anna listed the store folder"
grep -q "Permission denied" "$work/err" || fail "listing the store: $(cat "$work/err")"
as "$anna_uid" ls "$work/service" > /dev/null 2>&1 && fail "anna listed the service's folder"
count=0
while IFS= read -r -d '' f; do
  count=$((count + 1))
  [ "$(stat -c %u "$f")" = "$service_uid" ] || fail "${f#$work/} does not belong to the service account"
  as "$anna_uid" cat "$f" > /dev/null 2> "$work/err" && fail "anna read ${f#$work/}"
  grep -q "Permission denied" "$work/err" || fail "reading ${f#$work/}: $(cat "$work/err")"
done < <(find "$work/service" -mindepth 1 -print0)
[ "$count" -ge 3 ] || fail "the store holds only $count files"
for name in store.db keyring; do
  [ -e "$store/$name" ] || fail "no $name in the store"
done

# --- (b) through the service, with her Radmark password ---
printf '%s\n' "$apw" | as_bg "$anna_uid" "$cli" --service "$sock" studies --user anna --password-stdin \
  > "$work/studies.out" 2> "$work/err" &
client=$!
wait "$client" || fail "anna's studies through the service: $(cat "$work/err")"
grep -q "$study_a" "$work/studies.out" || fail "her assigned study is not listed: $(cat "$work/studies.out")"
grep -q "$study_b" "$work/studies.out" && fail "an unassigned study is listed"
# Typed into her terminal: the worker asks on the terminal radmark-cli passed (a pty here),
# with echo off; she types once the prompt is there (type-ahead is flushed, as in-process).
typed='import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
out, sent = b"", False
while True:
    try:
        data = os.read(fd, 4096)
    except OSError:
        break
    if not data:
        break
    out += data
    if not sent and b"password for anna: " in out:
        os.write(fd, os.environ["TYPED"].encode() + b"\n")
        sent = True
sys.stdout.write(out.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))'
as "$anna_uid" env TYPED="$apw" $py -c "$typed" "$cli" --service "$sock" studies --user anna \
  > "$work/tty.out" 2>&1 || fail "studies with the password typed on a terminal: $(cat "$work/tty.out")"
grep -q "password for anna" "$work/tty.out" || fail "no password prompt on her terminal"
grep -q "$study_a" "$work/tty.out" || fail "terminal login listed: $(cat "$work/tty.out")"
grep -q "$apw" "$work/tty.out" && fail "her password was echoed on the terminal"
printf 'not her password\n' | as "$anna_uid" "$cli" --service "$sock" studies --user anna \
  --password-stdin > /dev/null 2> "$work/err" && fail "a wrong password was accepted"
grep -q "not correct" "$work/err" || fail "wrong password message: $(cat "$work/err")"

# --- (c) an unassigned study is refused, and the refusal logged ---
printf '%s\n' "$apw" | as_bg "$anna_uid" "$cli" --service "$sock" versions --study "$study_b" \
  --user anna --password-stdin > "$work/out" 2> "$work/err" &
refused_pid=$!
wait "$refused_pid" && fail "anna read the versions of an unassigned study"
grep -q "not assigned to you" "$work/err" || fail "unassigned refusal: $(cat "$work/err")"
grep -q "from uid $anna_uid gid $anna_uid pid $refused_pid: 'versions' ended with exit 1" \
  "$work/radmarkd.log" || fail "the refusal is not in the service's log"
printf '%s\n' "$pw" | as "$ada_uid" "$cli" --service "$sock" audit show --as ada --user anna \
  --password-stdin > "$work/audit.out" 2> "$work/err" || fail "ada's audit show: $(cat "$work/err")"
grep "refused" "$work/audit.out" | grep -q "not assigned to you" \
  || fail "the refusal is not in the store's access log: $(cat "$work/audit.out")"

# --- (d) no way to a copy ---
as "$anna_uid" cp -r "$store" "$work/home/$anna_uid/copy" 2> /dev/null && fail "anna copied the store"
as "$anna_uid" tar -cf - -C "$work/service" store > /dev/null 2>&1 && fail "anna tarred the store"
through() { # through WORDS...: a request of anna's; must be refused, stderr in $work/err
  printf '%s\n' "$apw" | as "$anna_uid" "$cli" --service "$sock" "$@" > "$work/out" 2> "$work/err"
}
refused() { # refused WHAT PATTERN WORDS...
  local what="$1" pattern="$2"
  shift 2
  through "$@" && fail "$what went through the service"
  grep -q -- "$pattern" "$work/err" || fail "$what: $(cat "$work/err")"
}
refused "another --store" "store and --policy are not taken" \
  studies --store "$work/home/$anna_uid" --user anna --password-stdin
refused "a --store= of her choosing" "store and --policy are not taken" \
  studies --user anna --password-stdin --store="$work/x"
refused "her own --policy" "store and --policy are not taken" \
  studies --policy "$work/policy.json" --user anna --password-stdin
refused "import of her files" "does not open for you" import "$work/ct-a" --user anna --password-stdin
refused "a checkpoint to a file" "does not open for you" \
  audit checkpoint --out "$work/home/$anna_uid/cp.json" --user anna --password-stdin
refused "verify with the service's audit key" "cannot read .*audit.key: Permission denied" \
  audit verify --audit-key "$work/service/audit.key" --user anna --password-stdin
# A request written by hand (not radmark-cli) that names a path for the service to open.
raw='import socket, struct, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
words = ["radmark-service-1", "terminal:0", "files:0"] + sys.argv[2:]
payload = b"".join(w.encode() + b"\0" for w in words)
socket.send_fds(s, [struct.pack("<I", len(payload))], [0, 1, 2])
s.sendall(payload)
status = b""
while len(status) < 4:
    part = s.recv(4 - len(status))
    if not part:
        sys.exit(99)
    status += part
sys.exit(struct.unpack("<I", status)[0])'
printf '%s\n' "$apw" | as "$anna_uid" $py -c "$raw" "$sock" annotations import --study "$study_a" \
  --mask "$work/service/audit.key" --user anna --password-stdin > /dev/null 2> "$work/err" \
  && fail "a hand-written request made the service open a path"
grep -q "takes a file radmark-cli opened" "$work/err" || fail "hand-written path: $(cat "$work/err")"
printf '%s\n' "$apw" | as "$anna_uid" $py -c "$raw" "$sock" audit verify \
  --audit-key="$work/service/audit.key" --user anna --password-stdin > /dev/null 2> "$work/err" \
  && fail "a hand-written --audit-key= made the service open a path"
grep -q "takes a file radmark-cli opened" "$work/err" || fail "hand-written --opt=: $(cat "$work/err")"
refused "init" "created once" init --store "$work/home/$anna_uid/s" --admin anna \
  --audit-key-out "$work/home/$anna_uid/k" --password-stdin
refused "a bench" "in-process" bench store
refused "a service-mode request" "unknown command" --service-daemon --store "$store" \
  --socket "$work/home/$anna_uid/s.sock"
[ -e "$work/home/$anna_uid/cp.json" ] && fail "the service wrote a file where anna asked"
# The lockout's record of a wrong password is out of her reach too.
printf 'not her password\n' | as "$anna_uid" "$cli" --service "$sock" studies --user anna \
  --password-stdin > /dev/null 2>&1 && fail "a wrong password was accepted"
[ -s "$store/failed-logins" ] || fail "no failed-logins record after a wrong password"
before=$(sha256sum < "$store/failed-logins")
as "$anna_uid" rm -f "$store/failed-logins" 2> /dev/null && fail "anna deleted failed-logins"
as "$anna_uid" truncate -s 0 "$store/failed-logins" 2> /dev/null && fail "anna truncated failed-logins"
as "$anna_uid" mkdir "$store/failed-logins.new" 2> /dev/null && fail "anna made failed-logins.new"
[ "$(sha256sum < "$store/failed-logins")" = "$before" ] || fail "failed-logins changed under anna"
# The service mode run by herself is her own process: it cannot reach the store.
as "$anna_uid" "$cli" --service-daemon --store "$store" --socket "$work/home/$anna_uid/s.sock" \
  > /dev/null 2> "$work/err" && fail "the service mode under anna's uid served the store"
grep -q "cannot reach the store" "$work/err" || fail "her own service: $(cat "$work/err")"
as "$anna_uid" "$radmarkd" --store "$store" --socket "$work/home/$anna_uid/s.sock" --cli "$cli" \
  > /dev/null 2> "$work/err" && fail "radmarkd under anna's uid served the store"
grep -q "cannot reach the store" "$work/err" || fail "her own radmarkd: $(cat "$work/err")"
# The service's memory and environment are not hers to read.
as "$anna_uid" cat "/proc/$daemon/environ" > /dev/null 2>&1 && fail "anna read radmarkd's environment"
as "$anna_uid" dd if="/proc/$daemon/mem" bs=1 count=1 of=/dev/null 2> /dev/null \
  && fail "anna read radmarkd's memory"

# --- her own file through the service: radmark-cli opens it with her rights and passes it ---
mkdir -p "$work/nii"
dcm2niix -z n -f ct -o "$work/nii" "$work/ct-a" > /dev/null || fail "dcm2niix"
$py - "$work" "$work/home/$anna_uid/mask.nii" <<'PY' || fail "mask"
import sys, nibabel as nib, numpy as np
ct = nib.load(f"{sys.argv[1]}/nii/ct.nii")
nib.save(nib.Nifti1Image((np.asarray(ct.dataobj) > 40).astype(np.uint8), ct.affine), sys.argv[2])
PY
chown "$anna_uid:$anna_uid" "$work/home/$anna_uid/mask.nii"
chmod 0600 "$work/home/$anna_uid/mask.nii"
(cd "$work/home/$anna_uid" && printf '%s\n' "$apw" | as "$anna_uid" "$cli" --service "$sock" \
  annotations import --study "$study_a" --mask mask.nii --user anna --password-stdin) \
  > "$work/out" 2> "$work/err" || fail "her mask through the service: $(cat "$work/err")"
grep -q "imported as version" "$work/out" || fail "mask import: $(cat "$work/out")"
printf '%s\n' "$apw" | as "$anna_uid" "$cli" --service "$sock" versions --study "$study_a" \
  --user anna --password-stdin > "$work/out" 2> "$work/err" || fail "versions: $(cat "$work/err")"
grep -q "anna" "$work/out" || fail "her version is not listed: $(cat "$work/out")"
printf '%s\n' "$apw" | as "$anna_uid" "$cli" --service "$sock" annotations import \
  --study "$study_a" --mask /dev/zero --user anna --password-stdin > /dev/null 2> "$work/err" \
  && fail "the service took /dev/zero as a mask"
grep -q "not a regular file" "$work/err" || fail "a device as a file: $(cat "$work/err")"
ls -d /tmp/radmark-request.* 2> /dev/null | while read -r d; do
  [ "$(stat -c %u "$d")" = "$service_uid" ] && fail "a worker left its private copy $d behind"
done || exit 1

# --- an admin's change through the service: ada assigns the second study, anna then sees it ---
printf '%s\n' "$pw" | as "$ada_uid" "$cli" --service "$sock" assign anna "$study_b" --user ada \
  --password-stdin > /dev/null 2> "$work/err" || fail "ada's assign through the service: $(cat "$work/err")"
printf '%s\n' "$apw" | as "$anna_uid" "$cli" --service "$sock" studies --user anna --password-stdin \
  > "$work/studies.out" 2> "$work/err" || fail "studies after the assignment: $(cat "$work/err")"
grep -q "$study_b" "$work/studies.out" || fail "the newly assigned study is not listed"

# --- (e) disabled by an admin through the service: her next request is refused ---
printf '%s\n' "$pw" | as "$ada_uid" "$cli" --service "$sock" user disable anna --user ada \
  --password-stdin > "$work/disable.out" 2> "$work/err" || fail "ada's disable through the service: $(cat "$work/err")"
# The disable rotated the database key (issue 13, item 3), with its progress on the client's side.
grep -q "database key rotated to version 2" "$work/disable.out" \
  || fail "no key rotation at the disable: $(cat "$work/disable.out")"
grep -q "key rotation: 100% (done)" "$work/err" || fail "no rotation progress: $(cat "$work/err")"
printf '%s\n' "$pw" | as "$ada_uid" "$cli" --service "$sock" store rotate-key --user ada \
  --reason "threat test" --password-stdin > "$work/rotate.out" 2> "$work/err" \
  || fail "store rotate-key through the service: $(cat "$work/err")"
grep -q "database key rotated to version 3" "$work/rotate.out" || fail "rotate: $(cat "$work/rotate.out")"
printf '%s\n' "$apw" | as "$anna_uid" "$cli" --service "$sock" studies --user anna \
  --password-stdin > /dev/null 2> "$work/err" && fail "a disabled user was served"
grep -qi "disabled\|not correct" "$work/err" || fail "disabled refusal: $(cat "$work/err")"

# --- (f) the service's log names her OS uid and her process ---
grep -q "from uid $anna_uid gid $anna_uid pid $client: 'studies'" "$work/radmarkd.log" \
  || fail "the log does not name anna's uid $anna_uid and pid $client"
grep -q "from uid $ada_uid gid $ada_uid pid [0-9]*: 'user disable' ended with exit 0" \
  "$work/radmarkd.log" || fail "the log does not name ada's disable"
grep -q "$study_a\|$study_b\|$apw" "$work/radmarkd.log" && fail "the service's log holds values"
# With the access log's "from where" fields (storage/CallerContext.h), the store records the
# client's uid and process too, not the worker's.
if [ -f "$src/storage/CallerContext.h" ]; then
  printf '%s\n' "$pw" | as "$ada_uid" "$cli" --service "$sock" audit show --as ada --user anna \
    --password-stdin > "$work/audit.out" 2> "$work/err" || fail "audit show: $(cat "$work/err")"
  grep -q "uid $anna_uid" "$work/audit.out" || fail "the access log does not name uid $anna_uid"
fi

kill "$daemon"
wait "$daemon"
daemon=""
[ -e "$sock" ] && fail "radmarkd left its socket behind"
echo "threat model through the service: all checks passed"
