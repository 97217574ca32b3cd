# tests/scripts/store-cli.sh: what the radmark-cli end-to-end tests share, sourced after they set
# cli (the radmark-cli under test) and work (their scratch folder).
#   fail MESSAGE           the test fails with MESSAGE
#   py                     the system Python (with numpy, pydicom, nibabel)
#   pw, upw                the admin's (ada) and every other user's password
#   s                      --store and --policy for every store command
#   write_policy [JSON]    the cheap-Argon2id policy (plus JSON members), made this test build's
#                          system policy (a --policy file only tightens it)
#   use_policy             makes the test's own $work/policy.json the system policy
#   as USER COMMAND...     runs a store command logged in as USER
#   init_store USER:ROLE.. a store with the admin ada and these users
fail() { echo "FAIL: $*" >&2; exit 1; }
py=/usr/bin/python3
pw='admin password 123'
upw='user password 1234'
s=(--store "$work/store" --policy "$work/policy.json")

use_policy() { export RADMARK_TEST_SYSTEM_POLICY="$work/policy.json"; }
write_policy() {
  echo "{\"argon2_memory_bytes\": 65536, \"argon2_operations\": 1${1:+, $1}}" > "$work/policy.json"
  use_policy
}
as() {
  local who="$1"
  shift
  local secret="$upw"
  [ "$who" = ada ] && secret="$pw"
  printf '%s\n' "$secret" | "$cli" "$@" "${s[@]}" --user "$who" --password-stdin
}
init_store() {
  printf '%s\n' "$pw" | "$cli" init "${s[@]}" --admin ada --audit-key-out "$work/audit.key" \
    --password-stdin > /dev/null || fail "init"
  local u
  for u in "$@"; do
    printf '%s\n%s\n' "$pw" "$upw" | "$cli" user add "${u%%:*}" --role "${u##*:}" "${s[@]}" \
      --user ada --password-stdin > /dev/null || fail "user add $u"
  done
}
