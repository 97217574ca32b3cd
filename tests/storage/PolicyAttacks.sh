#!/usr/bin/env bash
# Issue 13, items 1 and 2, rerun the way a user of the shared workstation tries them: her own
# shell, radmark-cli, her password, files she can write. Each must fail with a clear message and
# leave an entry in the access log.
#   1. a --policy file that loosens (max_failed_logins 1000000, a short password, a cheap Argon2)
#      is ignored with a note; the lockout is not cleared; only an admin changes the store's
#      policy (`policy set`, logged); a key wrapped below the policy's cost is re-wrapped at login.
#   2. deleting or truncating <store>/failed-logins, making failed-logins.new a directory, or a
#      full disk (ulimit -f) neither resets the lockout nor hides a failure.
# Usage: PolicyAttacks.sh RADMARK_CLI
set -u
cli="$1"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# The site's policy: in a build made for tests, RADMARK_TEST_SYSTEM_POLICY stands for
# /etc/radmark/policy.json (a release build reads only that path).
cat > "$work/system.json" <<'EOF'
{"schema": 1, "argon2_memory_bytes": 65536, "argon2_operations": 1, "max_failed_logins": 3,
 "min_password_length": 12}
EOF
export RADMARK_TEST_SYSTEM_POLICY="$work/system.json"
store="$work/store"
pw='admin password 123'
apw='anna password 12'

printf '%s\n' "$pw" | "$cli" init --store "$store" --admin ada --audit-key-out "$work/audit.key" \
    --recovery-key-out "$work/recovery.key" --password-stdin > /dev/null || fail "init"
printf '%s\n%s\n' "$pw" "$apw" | "$cli" user add anna --role annotator --store "$store" \
    --user ada --password-stdin > /dev/null || fail "user add"
bpw='bea password 1234'
printf '%s\n%s\n' "$pw" "$bpw" | "$cli" user add bea --role annotator --store "$store" \
    --user ada --password-stdin > /dev/null || fail "user add bea"
as_anna() { printf '%s\n' "$1" | "$cli" "${@:2}" --store "$store" --user anna --password-stdin; }
# The log, read through break-glass (an admin's password would itself be locked out in 2.).
log() {
    tr -d '-' < "$work/recovery.key" | "$cli" audit show --store "$store" \
        --break-glass "policy attack test" --password-stdin
}

# --- 1. Any user sets the policy -------------------------------------------------------------
for i in 1 2 3; do
    as_anna 'not her password' studies > /dev/null 2>&1 && fail "a wrong password was accepted"
done
as_anna "$apw" studies > /dev/null 2> "$work/err" && fail "no lockout after 3 failures"
grep -q "too many failed logins" "$work/err" || fail "lockout message: $(cat "$work/err")"
echo '{"max_failed_logins": 1000000, "lockout_seconds": 1, "argon2_memory_bytes": 8192,
       "argon2_operations": 1, "min_password_length": 2}' > "$work/loose.json"
as_anna "$apw" studies --policy "$work/loose.json" > /dev/null 2> "$work/err" \
    && fail "a --policy file with max_failed_logins 1000000 cleared the lockout"
grep -q "note: --policy max_failed_logins 1000000 ignored" "$work/err" \
    || fail "no note for the ignored value: $(cat "$work/err")"
grep -q "too many failed logins" "$work/err" || fail "loose policy message: $(cat "$work/err")"
log > "$work/log" || fail "break-glass audit show"
grep -q "anna  failed login  anna  (refused: account locked out (its --policy file asked for looser values: ignored)" \
    "$work/log" || fail "the loose --policy refusal is not in the log: $(grep anna "$work/log")"
[ "$(grep -c "anna  failed login" "$work/log")" -ge 5 ] || fail "not every failure was logged"

# The system policy applies although --policy is given: bea's two-letter password is refused,
# and her keyring entry stays at the site's cost, not the file's 8 KiB.
printf '%s\n%s\n' "$bpw" 'ab' | "$cli" user passwd --store "$store" --user bea \
    --policy "$work/loose.json" --password-stdin > /dev/null 2> "$work/err" \
    && fail "a two-letter password was set with a weak --policy"
grep -q "at least 12 characters" "$work/err" || fail "short password message: $(cat "$work/err")"
python3 - "$store/keyring" <<'EOF' || fail "a keyring entry is below the site's Argon2 cost"
import json, sys
k = json.load(open(sys.argv[1]))
entries = k.get("entries", []) + k.get("recipients", [])  # format 1 and 2 (per-user key pairs)
if not [e for e in entries if e["kind"] == "password"]:
    sys.exit(1)
for e in entries:
    if e["kind"] == "password" and (e["mem"] < 65536 or e["ops"] < 1):
        sys.exit(1)
EOF
as_anna "$apw" studies --policy "$work/loose.json" > /dev/null 2>&1 \
    && fail "anna logged in (the lockout is not over: 15 minutes)" # still locked out

# A user's file never records anything: only `policy set` does, and only an admin's.
printf '%s\n' "$pw" | "$cli" policy set "$work/loose.json" --store "$store" --user anna \
    --password-stdin > /dev/null 2>&1 && fail "policy set as anna (locked out) worked"
echo '{"schema": 1, "min_password_length": 14, "max_failed_logins": 2}' > "$work/store-policy.json"
printf '%s\n' "$pw" | "$cli" policy set "$work/store-policy.json" --store "$store" --user ada \
    --password-stdin > "$work/out" || fail "policy set by the admin"
grep -q 'logged "policy change"' "$work/out" || fail "policy set output: $(cat "$work/out")"
printf '%s\n' "$pw" | "$cli" policy show --store "$store" --user ada --password-stdin \
    > "$work/show" || fail "policy show"
grep -q '^in force: .*"max_failed_logins":2' "$work/show" || fail "policy show: $(cat "$work/show")"
grep -q '^in force: .*"min_password_length":14' "$work/show" || fail "show: $(cat "$work/show")"
log > "$work/log"
grep -q "ada  policy change  policy" "$work/log" || fail "no policy change entry"

# A key wrapped below the policy's cost (the site raised it since) is re-wrapped at login.
printf '%s\n%s\n' "$pw" 'bob password 123456' | "$cli" user add bob --role reviewer \
    --store "$store" --user ada --password-stdin > /dev/null || fail "user add bob"
sed -i 's/"argon2_memory_bytes": 65536/"argon2_memory_bytes": 131072/' "$work/system.json"
printf '%s\n' 'bob password 123456' | "$cli" studies --store "$store" --user bob \
    --password-stdin > /dev/null || fail "bob's login after the cost was raised"
python3 - "$store/keyring" <<'EOF' || fail "no entry was re-wrapped at 128 KiB"
import json, sys
k = json.load(open(sys.argv[1]))
mems = [e["mem"] for e in k.get("entries", []) + k.get("recipients", []) if e["kind"] == "password"]
sys.exit(0 if 131072 in mems else 1)
EOF
log > "$work/log"
grep -q "bob  key rewrap  bob  (Argon2id ops 1, 64 KiB -> ops 1, 128 KiB" "$work/log" \
    || fail "no key rewrap entry: $(grep bob "$work/log")"
# The store's min_password_length 14 applies at login: ada's 18 characters pass, a 12-character
# password set before is refused there.
printf '%s\n%s\n' "$pw" 'carl password' | "$cli" user add carl --role annotator --store "$store" \
    --user ada --password-stdin > /dev/null 2> "$work/err" \
    && fail "a 13-character password was accepted under the store's minimum of 14"
grep -q "at least 14 characters" "$work/err" || fail "store minimum: $(cat "$work/err")"

# --- 2. The lockout lives in a file the user can delete ---------------------------------------
# Deleting the record: every account is locked out (even with the right password) and the
# tamper event is logged.
rm -f "$store/failed-logins"
printf '%s\n' "$pw" | "$cli" studies --store "$store" --user ada --password-stdin \
    > /dev/null 2> "$work/err" && fail "a deleted failed-logins file was not noticed"
grep -q "missing or altered: every account is locked out" "$work/err" \
    || fail "deleted record message: $(cat "$work/err")"
log > "$work/log"
grep -q "failed logins tampered  failed-logins  (tamper: the failed-login record is missing" \
    "$work/log" || fail "the deletion is not logged: $(tail -5 "$work/log")"
# Truncating it: the same.
: > "$store/failed-logins"
printf '%s\n' "$pw" | "$cli" studies --store "$store" --user ada --password-stdin \
    > /dev/null 2> "$work/err" && fail "a truncated failed-logins file was not noticed"
grep -q "missing or altered" "$work/err" || fail "truncated record message: $(cat "$work/err")"
log > "$work/log"
grep -q "tamper: the failed-login record is empty (truncated)" "$work/log" \
    || fail "the truncation is not logged"

# The rest runs on a fresh store (the tamper lockout above lasts the lockout window).
rm -rf "$store"
printf '%s\n' "$pw" | "$cli" init --store "$store" --admin ada --audit-key-out "$work/audit2.key" \
    --recovery-key-out "$work/recovery2.key" --password-stdin > /dev/null || fail "init 2"
mv "$work/recovery2.key" "$work/recovery.key"
printf '%s\n%s\n' "$pw" "$apw" | "$cli" user add anna --role annotator --store "$store" \
    --user ada --password-stdin > /dev/null || fail "user add 2"

# failed-logins.new made a directory: failures are still recorded and the lockout holds.
mkdir "$store/failed-logins.new"
for i in 1 2 3; do
    as_anna 'not her password' studies > /dev/null 2>&1 && fail "a wrong password was accepted"
done
as_anna "$apw" studies > /dev/null 2> "$work/err" && fail "failed-logins.new as a directory hid failures"
grep -q "too many failed logins" "$work/err" || fail "lockout message: $(cat "$work/err")"

# A full disk (ulimit -f 0: no file may grow): no password is checked, the right one neither
# (no guess goes unrecorded), and the refusals reach the log at the next login.
printf '%s\n' "$pw" | "$cli" user list --store "$store" --user ada --password-stdin > /dev/null \
    || fail "admin login"
# Under `ulimit -f 0` no regular file may grow, stderr redirected to one neither: the messages
# come back through a pipe (command substitution), with the exit status last.
full_disk_login() {
    ( ulimit -f 0; trap '' XFSZ
      printf '%s\n' "$1" | "$cli" studies --store "$store" --user ada --password-stdin 2>&1 \
          > /dev/null
      echo "exit $?" )
}
for i in $(seq 1 50); do
    out="$(full_disk_login "guess number $i!!")"
    [ "${out##*exit }" != 0 ] || fail "a login on a full disk"
done
grep -q "the login cannot be recorded" <<< "$out" || fail "full disk message: $out"
out="$(full_disk_login "$pw")"
[ "${out##*exit }" != 0 ] || fail "the right password was checked on a full disk"
grep -q "refused before the password was checked" <<< "$out" || fail "message: $out"
log > "$work/log"
[ "$(grep -c "refused before the password was checked: the failure record could not be written" \
    "$work/log")" -eq 51 ] || fail "the full-disk refusals are not all in the log"
[ "$(grep -c "anna  failed login" "$work/log")" -ge 4 ] || fail "anna's failures are not logged"
echo "policy and lockout attacks: all refused and logged"
