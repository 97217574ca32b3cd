#!/usr/bin/env bash
# Process hygiene of radmark-cli, as a user of the workstation would look at it: a store made in
# a folder she left open (0777) ends up 0700 and is closed again at login when opened since;
# a running radmark-cli that has read a password allows no core dump (limits 0 0), dies of
# SIGSEGV without leaving a core file, and creates its files owner-only.
# Usage: ProcessHygiene.sh RADMARK_CLI
set -u
cli="$(readlink -f "$1")"
work="$(mktemp -d)"
pid=""
trap '[ -n "$pid" ] && kill -9 "$pid" 2> /dev/null; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
echo '{"argon2_memory_bytes": 65536, "argon2_operations": 1}' > "$work/policy.json"
# The cheap Argon2id is the SYSTEM policy of a build made for tests (--policy only tightens).
export RADMARK_TEST_SYSTEM_POLICY="$work/policy.json"
mkdir -m 0777 "$work/store"
chmod 0777 "$work/store"
s=(--store "$work/store" --policy "$work/policy.json")
pw='admin password 123'
printf '%s\n' "$pw" | "$cli" init "${s[@]}" --admin ada --audit-key-out "$work/audit.key" \
    --password-stdin > /dev/null || fail "init"
[ "$(stat -c %a "$work/store")" = 700 ] || fail "an existing 0777 store folder kept $(stat -c %a "$work/store")"
chmod 0755 "$work/store"
printf '%s\n' "$pw" | "$cli" user list "${s[@]}" --user ada --password-stdin > /dev/null \
    || fail "user list"
[ "$(stat -c %a "$work/store")" = 700 ] || fail "login left the store folder $(stat -c %a "$work/store")"

# A radmark-cli that has logged in and now waits (for the new user's password on stdin).
mkfifo "$work/in"
cd "$work"
"$cli" user add bob --role annotator "${s[@]}" --user ada --password-stdin < "$work/in" \
    > /dev/null 2> "$work/err" &
pid=$!
exec 3> "$work/in"
printf '%s\n' "$pw" >&3
# Past the login (Argon2 at the test policy's cost takes milliseconds): the password and the
# database key are in its memory now, and it waits for bob's password.
for _ in $(seq 1 100); do
    [ "$(readlink "/proc/$pid/exe" 2> /dev/null)" = "$cli" ] && break
    sleep 0.05
done
sleep 1
grep -E "^Max core file size +0 +0 " "/proc/$pid/limits" > /dev/null \
    || fail "core dumps allowed: $(grep "core file" "/proc/$pid/limits" 2>&1) $(cat "$work/err")"
kill -SEGV "$pid"
wait "$pid"
status=$?
exec 3>&-
pid=""
[ "$status" -eq $((128 + 11)) ] || fail "radmark-cli ended with $status, not SIGSEGV"
ls "$work" | grep -q '^core' && fail "a core file was written: $(ls "$work" | grep '^core')"

# Files it creates are owner-only, whatever the caller's umask.
umask 022
printf '%s\n' "$pw" | "$cli" audit checkpoint --out "$work/cp.json" "${s[@]}" --user ada \
    --password-stdin > /dev/null || fail "audit checkpoint"
[ "$(stat -c %a "$work/cp.json")" = 600 ] || fail "checkpoint file is $(stat -c %a "$work/cp.json")"
echo "process hygiene holds"
