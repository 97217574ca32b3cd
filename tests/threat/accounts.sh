# Sourced by the threat-model scripts: a work folder, the accounts of a shared workstation and
# how to act as them. threat_begin UID...: skips (exit 77) unless root; makes $work (0755,
# removed at exit unless KEEP is set, and radmarkd, once started as $daemon, stopped) and a
# private home (with an XDG runtime folder) per numeric uid. Then:
#   fail MESSAGE          prints it with radmarkd's log, exits 1
#   as UID COMMAND...     runs COMMAND under that uid and gid, no supplementary groups, in a
#                         clean environment (the tests' system policy: $work/policy.json)
#   as_bg UID COMMAND...  the same with exec, for `as_bg ... &`, where $! is COMMAND's own pid
threat_begin() {
  if [ "$(id -u)" != 0 ]; then
    echo "SKIP: the threat-model tests need root to run processes under other numeric uids"
    exit 77
  fi
  work="$(mktemp -d /tmp/radmark-threat.XXXXXX)"
  daemon=""
  trap threat_end EXIT
  chmod 0755 "$work"
  local uid
  for uid in "$@"; do
    mkdir -m 0700 -p "$work/home/$uid" "$work/home/$uid/runtime" &&
      chown -R "$uid:$uid" "$work/home/$uid"
  done
}
threat_end() {
  [ -n "$daemon" ] && kill "$daemon" 2> /dev/null && wait "$daemon" 2> /dev/null
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
fail() {
  echo "FAIL: $*" >&2
  [ -f "$work/radmarkd.log" ] && sed 's/^/  radmarkd log: /' "$work/radmarkd.log" >&2
  exit 1
}
as() {
  local uid="$1"
  shift
  env -i PATH=/usr/bin:/bin RADMARK_TEST_SYSTEM_POLICY="$work/policy.json" HOME="$work/home/$uid" \
    LANG=C.UTF-8 XDG_RUNTIME_DIR="$work/home/$uid/runtime" \
    setpriv --reuid="$uid" --regid="$uid" --clear-groups -- "$@"
}
as_bg() {
  local uid="$1"
  shift
  exec env -i PATH=/usr/bin:/bin RADMARK_TEST_SYSTEM_POLICY="$work/policy.json" \
    HOME="$work/home/$uid" LANG=C.UTF-8 XDG_RUNTIME_DIR="$work/home/$uid/runtime" \
    setpriv --reuid="$uid" --regid="$uid" --clear-groups -- "$@"
}

# The site's IT sets a store up as the service account (the uid in $service_uid; $cli, $radmarkd,
# $src and the admin password $pw set by the script):
#   store_begin           $work/policy.json (a cheap Argon2id, readable by all), $work/service
#                         (0700, the service's; the store $store, the audit key audit.key in it),
#                         $work/run (0755, the socket $sock), and the store made with admin ada
#   svc COMMAND...        radmark-cli in-process as the service account, logged in as ada
#   store_add_user NAME ROLE PASSWORD
#   generated_ct DIR SEED [SLICES ROWS]   a small generated CT (6 slices of 32x32), readable by all
#   import_study DIR      imports it; prints the new study's label
#   start_radmarkd        radmarkd on $store at $sock as the service account ($daemon), its log
#                         $work/radmarkd.log; waits for the socket
store_begin() {
  echo '{"argon2_memory_bytes": 65536, "argon2_operations": 1}' > "$work/policy.json"
  chmod 0644 "$work/policy.json"
  mkdir -m 0700 "$work/service" && chown "$service_uid:$service_uid" "$work/service"
  mkdir -m 0755 "$work/run" && chown "$service_uid:$service_uid" "$work/run"
  store="$work/service/store"
  sock="$work/run/radmarkd.sock"
  printf '%s\n' "$pw" | as "$service_uid" "$cli" init --store "$store" --policy "$work/policy.json" \
    --admin ada --audit-key-out "$work/service/audit.key" --password-stdin > /dev/null \
    || fail "init as the service account"
}
svc() {
  printf '%s\n' "$pw" | as "$service_uid" "$cli" "$@" --store "$store" --policy "$work/policy.json" \
    --user ada --password-stdin
}
store_add_user() {
  printf '%s\n%s\n' "$pw" "$3" | as "$service_uid" "$cli" user add "$1" --role "$2" \
    --store "$store" --policy "$work/policy.json" --user ada --password-stdin > /dev/null \
    || fail "user add $1"
}
generated_ct() {
  /usr/bin/python3 "$src/tests/data/generate_ct_series.py" --out "$1" --seed "$2" \
    --slices "${3:-6}" --rows "${4:-32}" --cols "${4:-32}" > /dev/null || fail "generate $1"
  chmod -R a+rX "$1"
}
import_study() {
  local before
  before=$(svc studies | awk -F'\t' 'NR > 1 {print $1}')
  svc import "$1" > "$work/import.out" 2>&1 || fail "import $1: $(cat "$work/import.out")"
  svc studies | awk -F'\t' 'NR > 1 {print $1}' | grep -vxF -e "$before" -e '' | head -1
}
start_radmarkd() {
  as_bg "$service_uid" "$radmarkd" --store "$store" --socket "$sock" --policy "$work/policy.json" \
    --cli "$cli" 2> "$work/radmarkd.log" &
  daemon=$!
  for _ in $(seq 600); do [ -S "$sock" ] && break; kill -0 "$daemon" 2> /dev/null || break; sleep 0.1; done
  [ -S "$sock" ] || fail "radmarkd did not start"
}
