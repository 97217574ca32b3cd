#!/usr/bin/env bash
# radmark-cli store commands end to end: init, users, assign refusal, audit checkpoint/verify,
# and a store rolled back to an older copy caught by verify against the checkpoint.
# Usage: CliEndToEnd.sh RADMARK_CLI
set -u
cli="$1"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
echo '{"argon2_memory_bytes": 65536, "argon2_operations": 1}' > "$work/policy.json"
# The cheap Argon2id is the SYSTEM policy of a build made for tests (--policy only tightens).
export RADMARK_TEST_SYSTEM_POLICY="$work/policy.json"
s=(--store "$work/store" --policy "$work/policy.json")
pw='admin password 123'

printf '%s\n' "$pw" | "$cli" init "${s[@]}" --admin ada --audit-key-out "$work/audit.key" \
    --password-stdin > "$work/init.out" || fail "init"
grep -q "recovery key" "$work/init.out" || fail "init printed no recovery key"
[ "$(stat -c %a "$work/audit.key")" = 600 ] || fail "audit key file is not owner-only"
[ "$(stat -c %a "$work/store/store.db")" = 600 ] || fail "store.db is not owner-only"
printf '%s\n' "$pw" | "$cli" init "${s[@]}" --admin ada --audit-key-out "$work/again.key" \
    --password-stdin 2> /dev/null && fail "init over an existing store"

printf '%s\nanna password 12\n' "$pw" | "$cli" user add anna --role annotator "${s[@]}" \
    --user ada --password-stdin > /dev/null || fail "user add"
printf '%s\n' "$pw" | "$cli" user list "${s[@]}" --user ada --password-stdin \
    | grep -q "anna *annotator *active" || fail "user list"
printf 'wrong password!!\n' | "$cli" user list "${s[@]}" --user ada --password-stdin \
    2> "$work/err" && fail "wrong password accepted"
grep -q "not correct" "$work/err" || fail "wrong password message: $(cat "$work/err")"
"$cli" user list "${s[@]}" --user ada --password "$pw" < /dev/null 2> /dev/null
[ $? -eq 2 ] || fail "a password argument was not refused as a usage error"
printf 'anna password 12\n' | "$cli" user list "${s[@]}" --user anna --password-stdin \
    2> "$work/err" && fail "an annotator listed users"
grep -q "admin role" "$work/err" || fail "role refusal message: $(cat "$work/err")"

cp -a "$work/store" "$work/older-copy"
printf '%s\n' "$pw" | "$cli" user disable anna "${s[@]}" --user ada --password-stdin \
    > /dev/null || fail "user disable"
printf 'anna password 12\n' | "$cli" user passwd "${s[@]}" --user anna --password-stdin \
    2> /dev/null && fail "a disabled user logged in"
printf '%s\n' "$pw" | "$cli" audit checkpoint --out "$work/cp.json" "${s[@]}" --user ada \
    --password-stdin > /dev/null || fail "audit checkpoint"
printf '%s\n' "$pw" | "$cli" audit verify --audit-key "$work/audit.key" \
    --checkpoint "$work/cp.json" "${s[@]}" --user ada --password-stdin > "$work/ok" \
    || fail "verify of an untouched store"
grep -q "every MAC ok, matches the checkpoint" "$work/ok" || fail "verify output: $(cat "$work/ok")"
printf '%s\n' "$pw" | "$cli" audit show "${s[@]}" --as ada --user anna --password-stdin \
    | grep -q "failed login" || fail "audit show --user anna"

rm -rf "$work/store" && mv "$work/older-copy" "$work/store"
printf '%s\n' "$pw" | "$cli" audit verify --audit-key "$work/audit.key" \
    --checkpoint "$work/cp.json" "${s[@]}" --user ada --password-stdin 2> "$work/err" > /dev/null
[ $? -eq 1 ] || fail "a rolled-back store verified"
grep -q "rolled back" "$work/err" || fail "rollback message: $(cat "$work/err")"
echo "radmark-cli store commands: all checks passed"
