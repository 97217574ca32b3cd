#!/usr/bin/env bash
# radmarkd's own guards, tried as the site's IT or a user might get them wrong: it refuses root,
# a store another account owns, and a socket a live radmarkd serves; it closes a store folder
# left open (0755 -> 0700), replaces a stale socket, removes its socket on SIGTERM; a client of a
# service that is not there gets one clear line; a client killed mid-command (Ctrl+C) interrupts
# its worker, which the log records; the help text is there for help2man.
# Needs root (setpriv to other uids); exits 77 (SKIP) otherwise.
# Usage: ServiceLifecycle.sh RADMARK_CLI RADMARKD
set -u
cli="$(readlink -f "$1")"
radmarkd="$(readlink -f "$2")"
if [ "$(id -u)" != 0 ]; then
  echo "SKIP: the threat-model tests need root to run processes under other numeric uids"
  exit 77
fi
service_uid=61311
other_uid=61312
user_uid=61313
work="$(mktemp -d /tmp/radmark-lifecycle.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2> /dev/null && wait "$p" 2> /dev/null; done
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in "$work"/*.log; do [ -f "$f" ] && sed "s|^|  ${f##*/}: |" "$f" >&2; done
  exit 1
}
chmod 0755 "$work"
for uid in $service_uid $other_uid $user_uid; do
  mkdir -m 0700 -p "$work/home/$uid" && chown "$uid:$uid" "$work/home/$uid"
done
as() {
  local uid="$1"
  shift
  env -i PATH=/usr/bin:/bin RADMARK_TEST_SYSTEM_POLICY="$work/policy.json" HOME="$work/home/$uid" LANG=C.UTF-8 \
    setpriv --reuid="$uid" --regid="$uid" --clear-groups -- "$@"
}
as_bg() {
  local uid="$1"
  shift
  exec env -i PATH=/usr/bin:/bin RADMARK_TEST_SYSTEM_POLICY="$work/policy.json" HOME="$work/home/$uid" LANG=C.UTF-8 \
    setpriv --reuid="$uid" --regid="$uid" --clear-groups -- "$@"
}
wait_for_socket() { # wait_for_socket PATH PID
  for _ in $(seq 600); do [ -S "$1" ] && return 0; kill -0 "$2" 2> /dev/null || return 1; sleep 0.1; done
  return 1
}
pw='admin password 123'

"$radmarkd" --help | grep -q "^Usage: radmarkd \[OPTION\]" || fail "radmarkd --help"
"$radmarkd" --version | grep -q "^radmarkd (Radmark) " || fail "radmarkd --version"
"$radmarkd" --frobnicate 2> "$work/err" && fail "an unknown option was taken"
grep -q "unknown option" "$work/err" || fail "unknown option: $(cat "$work/err")"

echo '{"argon2_memory_bytes": 65536, "argon2_operations": 1}' > "$work/policy.json"
chmod 0644 "$work/policy.json"
mkdir -m 0700 "$work/service" "$work/run" && chown "$service_uid:$service_uid" "$work/service" "$work/run"
chmod 0755 "$work/run"
store="$work/service/store"
sock="$work/run/radmarkd.sock"
printf '%s\n' "$pw" | as "$service_uid" "$cli" init --store "$store" --policy "$work/policy.json" \
  --admin ada --audit-key-out "$work/service/audit.key" --password-stdin > /dev/null || fail "init"
serve=(--store "$store" --socket "$sock" --policy "$work/policy.json" --cli "$cli")

# Root, another account's store, no store: refused before anything listens.
"$radmarkd" "${serve[@]}" 2> "$work/err" && fail "radmarkd ran as root"
grep -q "not as root" "$work/err" || fail "root refusal: $(cat "$work/err")"
as "$other_uid" "$radmarkd" "${serve[@]}" 2> "$work/err" && fail "radmarkd served another account's store"
grep -q "cannot reach the store" "$work/err" || fail "unreachable store: $(cat "$work/err")"
chmod 0711 "$work/service"
as "$other_uid" "$radmarkd" "${serve[@]}" 2> "$work/err" && fail "radmarkd served another account's store"
grep -q "belongs to uid $service_uid" "$work/err" || fail "owner refusal: $(cat "$work/err")"
chmod 0700 "$work/service"
as "$service_uid" "$radmarkd" --store "$work/service/none" --socket "$sock" --cli "$cli" \
  2> "$work/err" && fail "radmarkd served a store that is not there"
grep -q "no store at" "$work/err" || fail "missing store: $(cat "$work/err")"
[ -e "$sock" ] && fail "a refused radmarkd left a socket"

# A client with no service there: one line, exit 1.
as "$user_uid" "$cli" --service "$sock" studies --user ada > /dev/null 2> "$work/err"
[ $? = 1 ] || fail "a client without a service did not exit 1"
grep -q "radmarkd is not running there" "$work/err" || fail "no-service message: $(cat "$work/err")"

# A store folder left open is closed; a stale socket file is replaced.
chmod 0755 "$store"
as "$service_uid" /usr/bin/python3 -c \
  'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$sock"
[ -S "$sock" ] || fail "no stale socket made"
as_bg "$service_uid" "$radmarkd" "${serve[@]}" 2> "$work/radmarkd.log" &
daemon=$!
pids+=("$daemon")
for _ in $(seq 600); do grep -q "serving the store" "$work/radmarkd.log" && break; sleep 0.1; done
grep -q "serving the store" "$work/radmarkd.log" || fail "radmarkd did not start over a stale socket"
[ "$(stat -c %a "$store")" = 700 ] || fail "the store folder stayed $(stat -c %a "$store")"
grep -q "was mode 755, now 700" "$work/radmarkd.log" || fail "the mode change is not logged"
[ "$(stat -c %a "$sock")" = 666 ] || fail "the socket is mode $(stat -c %a "$sock")"

# A second radmarkd does not take over a live socket.
as "$service_uid" "$radmarkd" "${serve[@]}" 2> "$work/err" && fail "a second radmarkd started"
grep -q "another radmarkd serves" "$work/err" || fail "second radmarkd: $(cat "$work/err")"
printf '%s\n' "$pw" | as "$user_uid" "$cli" --service "$sock" user list --user ada --password-stdin \
  > "$work/out" 2> "$work/err" || fail "the first radmarkd no longer serves: $(cat "$work/err")"
grep -q "^ada " "$work/out" || fail "user list: $(cat "$work/out")"

# A client killed mid-command (its worker waits for the new user's password) interrupts it.
mkfifo "$work/in"
chmod 0666 "$work/in"
as_bg "$user_uid" "$cli" --service "$sock" user add bob --role annotator --user ada \
  --password-stdin < "$work/in" > /dev/null 2> "$work/client.log" &
client=$!
exec 9> "$work/in"
printf '%s\n' "$pw" >&9 # ada's password; bob's never comes
for _ in $(seq 600); do grep -q "pid $client: 'user add' in worker pid" "$work/radmarkd.log" && break; sleep 0.1; done
worker=$(sed -n "s/.*pid $client: 'user add' in worker pid \([0-9]*\)$/\1/p" "$work/radmarkd.log")
[ -n "$worker" ] || fail "no worker for the request"
# Its stdin is the fifo: it waits there once it has read ada's password and logged in.
for _ in $(seq 600); do
  case "$(cat "/proc/$worker/wchan" 2> /dev/null)" in *pipe_read) break ;; esac
  sleep 0.1
done
# The worker is the service account's, not dumpable: not the user's to read or trace.
grep -q "^Uid:[[:space:]]*$service_uid[[:space:]]" "/proc/$worker/status" || fail "the worker is not the service account's"
as "$user_uid" cat "/proc/$worker/environ" > /dev/null 2>&1 && fail "the user read the worker's environment"
[ "$(stat -c %u "/proc/$worker/environ")" = 0 ] || fail "the worker is dumpable (its /proc files are not root's)"
kill -INT "$client"
wait "$client"
for _ in $(seq 600); do grep -q "'user add' ended" "$work/radmarkd.log" && break; sleep 0.1; done
exec 9>&-
grep -q "pid $client: 'user add' ended with exit 130" "$work/radmarkd.log" \
  || fail "the interrupted worker's end is not logged as exit 130"
kill -0 "$worker" 2> /dev/null && fail "the worker of a client that went away still runs"
printf '%s\n' "$pw" | as "$user_uid" "$cli" --service "$sock" user list --user ada --password-stdin \
  > "$work/out" 2> "$work/err" || fail "user list after the interruption: $(cat "$work/err")"
grep -q "^bob " "$work/out" && fail "the interrupted user add added bob"

kill -TERM "$daemon"
wait "$daemon"
pids=()
[ -e "$sock" ] && fail "radmarkd left its socket behind"
grep -q "stopped" "$work/radmarkd.log" || fail "no stop line in the log"
echo "radmarkd lifecycle: all checks passed"
