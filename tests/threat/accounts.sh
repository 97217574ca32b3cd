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
