#!/usr/bin/env bash
# Issue 13 item 3 rerun as it was run: a user copies the keyring while she is enabled; after
# `user disable` (which rotates the key) her copy and her password, read by an independent
# program (keyring_attacker.py: libsodium + libsqlcipher through ctypes), open nothing of the
# current store.db. The same for `store rotate-key`; progress is printed; the log has it.
# Usage: KeyRotationCli.sh RADMARK_CLI
set -u
cli="$1"
here="$(cd "$(dirname "$0")" && pwd)"
attacker=(/usr/bin/python3 "$here/keyring_attacker.py")
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
echo '{"argon2_memory_bytes": 65536, "argon2_operations": 1}' > "$work/policy.json"
export RADMARK_TEST_SYSTEM_POLICY="$work/policy.json"
s=(--store "$work/store")
pw='admin password 123'
apw='anna password 12'
bpw='bob password 123'
as_ada() { printf '%s\n' "$pw" | "$cli" "$@" "${s[@]}" --user ada --password-stdin; }

printf '%s\n' "$pw" | "$cli" init "${s[@]}" --admin ada --audit-key-out "$work/audit.key" \
    --recovery-key-out "$work/recovery.key" --password-stdin > /dev/null || fail "init"
printf '%s\n%s\n' "$pw" "$apw" | "$cli" user add anna --role annotator "${s[@]}" --user ada \
    --password-stdin > /dev/null || fail "user add anna"
printf '%s\n%s\n' "$pw" "$bpw" | "$cli" user add bob --role reviewer "${s[@]}" --user ada \
    --password-stdin > /dev/null || fail "user add bob"
cp "$work/store/keyring" "$work/annas-copy"

# The attack works before the disable (else this test proves nothing).
"${attacker[@]}" "$work/annas-copy" "$work/store" anna "$apw" > "$work/attack" \
    || fail "the attack did not work before the disable: $(cat "$work/attack")"
grep -q "opened: 3 users" "$work/attack" || fail "attacker output: $(cat "$work/attack")"
# every page of store.db carries a valid HMAC under her key (the page check reads right)
grep -Eq "^pages: ([0-9]+) of \1$" "$work/attack" || fail "page check before: $(cat "$work/attack")"

as_ada user disable anna > "$work/disable.out" 2> "$work/disable.err" \
    || fail "user disable: $(cat "$work/disable.err")"
grep -q "key rotation: 100% (done)" "$work/disable.err" || fail "no progress: $(cat "$work/disable.err")"
grep -q "% (rekeying)" "$work/disable.err" || fail "no rekey progress: $(cat "$work/disable.err")"
grep -q "database key rotated to version 2" "$work/disable.out" || fail "disable: $(cat "$work/disable.out")"

"${attacker[@]}" "$work/annas-copy" "$work/store" anna "$apw" > "$work/attack" \
    && fail "anna's old keyring still opens the store: $(cat "$work/attack")"
grep -q "none opens store.db" "$work/attack" || fail "attacker output: $(cat "$work/attack")"
# The rekey rewrote every page: not one page of store.db is valid under her key any more.
grep -Eq "^pages: 0 of [1-9][0-9]*$" "$work/attack" || fail "pages left under the old key: $(cat "$work/attack")"
# The current keyring: her entry is gone; bob's opens the store (the reader reads format 2 right).
"${attacker[@]}" "$work/store/keyring" "$work/store" anna "$apw" > "$work/attack" \
    && fail "anna opens the current keyring"
"${attacker[@]}" "$work/store/keyring" "$work/store" bob "$bpw" > "$work/attack" \
    || fail "bob's current entry does not open the store: $(cat "$work/attack")"
grep -Eq "^pages: ([0-9]+) of \1$" "$work/attack" || fail "pages under the new key: $(cat "$work/attack")"
printf '%s\n' "$bpw" | "$cli" studies "${s[@]}" --user bob --password-stdin > /dev/null \
    || fail "bob cannot log in after the rotation"

# An admin's rotation on request: bob's copy taken before it opens nothing after it.
cp "$work/store/keyring" "$work/bobs-copy"
as_ada store rotate-key --reason "laptop stolen" > "$work/rotate.out" 2> "$work/rotate.err" \
    || fail "store rotate-key: $(cat "$work/rotate.err")"
grep -q "database key rotated to version 3" "$work/rotate.out" || fail "rotate: $(cat "$work/rotate.out")"
"${attacker[@]}" "$work/bobs-copy" "$work/store" bob "$bpw" > /dev/null \
    && fail "bob's copy from before the rotation still opens the store"
printf '%s\n' "$bpw" | "$cli" store rotate-key "${s[@]}" --user bob --password-stdin \
    > /dev/null 2> "$work/err" && fail "a reviewer rotated the key"
grep -q "admin role" "$work/err" || fail "refusal: $(cat "$work/err")"

# The keyring put back from a copy opens nothing, with a clear message.
cp "$work/store/keyring" "$work/current-keyring"
cp "$work/bobs-copy" "$work/store/keyring"
printf '%s\n' "$bpw" | "$cli" studies "${s[@]}" --user bob --password-stdin > /dev/null \
    2> "$work/err" && fail "the restored keyring opened the store"
grep -q "cannot be decrypted" "$work/err" || fail "restored keyring: $(cat "$work/err")"
cp "$work/current-keyring" "$work/store/keyring"

# Break-glass with the recovery key still works; the log has the rotations and verifies.
printf '%s\n' "$(cat "$work/recovery.key")" | "$cli" studies "${s[@]}" \
    --break-glass "rotation test" --password-stdin > /dev/null 2> "$work/err" \
    || fail "break-glass after the rotations: $(cat "$work/err")"
as_ada audit show > "$work/log" || fail "audit show"
grep -q "key rotation requested.*user anna disabled" "$work/log" || fail "no request entry"
grep -q "key rotation requested.*laptop stolen" "$work/log" || fail "no reason in the log"
[ "$(grep -c "key rotation completed.*key version" "$work/log")" = 2 ] || fail "completed entries"
as_ada audit verify --audit-key "$work/audit.key" > "$work/verify" 2>&1 \
    || fail "audit verify: $(cat "$work/verify")"
echo "ok"
