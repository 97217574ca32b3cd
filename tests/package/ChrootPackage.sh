#!/usr/bin/env bash
# Package.Chroot: ChrootPackage.sh SOURCE_DIR PACKAGE_BUILD_DIR
#
# Installs the .deb that Package.Build made into a fresh Debian 12 (bookworm) root and uses it as
# a site would: apt installs it with its dependencies, the installed radmark-cli creates a store
# and imports a generated study, the installed workstation starts under an X server and is
# logged in to with keystrokes (xdotool) and photographed (xwd), radmarkd starts when the package
# has it, then `apt-get purge` and a file list of the whole root before and after: nothing of the
# package may be left.
#
# The root: `debootstrap --variant=minbase` once into a cache (RADMARK_PACKAGE_CACHE, default
# ~/.cache/radmark/package-test), copied afresh for every run; downloaded .debs are kept in the
# cache too. The mirror is the host's own (its apt sources). Needs root; without it: skipped.
#
# Nothing here touches the host beyond the cache and the work folder: the script runs in its own
# mount and PID namespaces (unshare), so its mounts (/proc, /dev inside the root) and every
# process it started go away when it ends, however it ends; a trap unmounts them as well.
# Services inside the root are kept from starting by a policy-rc.d written INSIDE the root.
set -euo pipefail
root_src="$1"
build="$2"
skip() {
  echo "Package.Chroot: SKIP: $*"
  exit 77
}
fail() {
  echo "Package.Chroot: FAIL: $*" >&2
  exit 1
}
[ "$(id -u)" -eq 0 ] || skip "needs root (debootstrap, chroot and mounts); run it as root"
for tool in debootstrap unshare chroot Xvfb xdotool xwd; do
  command -v "$tool" > /dev/null || skip "$tool is not installed (scripts/setup installs it)"
done

# Once, in private namespaces: mounts and processes cannot outlive this script.
if [ -z "${RADMARK_PACKAGE_CHROOT_INSIDE:-}" ]; then
  export RADMARK_PACKAGE_CHROOT_INSIDE=1
  exec unshare --mount --pid --fork --mount-proc --propagation private bash "$0" "$@"
fi

seconds() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(seconds)" 'BEGIN { printf "%.0f", b - a }'; }
started=$(seconds)
deb=$(ls "$build"/radmark_*.deb 2> /dev/null | sed -n 1p)
[ -n "$deb" ] || fail "no radmark_*.deb in $build: run Package.Build first"

cache="${RADMARK_PACKAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/radmark/package-test}"
work="$build/package-chroot"
target="$work/root"
mkdir -p "$cache/archives/partial"

xvfb=""
cleanup() {
  set +e
  # Xvfb first, by its own pid, so that it removes its socket and lock in the host's /tmp.
  [ -n "$xvfb" ] && kill "$xvfb" 2> /dev/null && wait "$xvfb" 2> /dev/null
  for m in dev/shm dev/pts dev/null dev/zero dev/full dev/random dev/urandom dev/tty dev proc \
    var/cache/apt/archives; do
    mountpoint -q "$target/$m" 2> /dev/null && umount -l "$target/$m"
  done
  # The logs stay in PACKAGE_BUILD_DIR/package-chroot-logs. Only a root with nothing mounted in
  # it is removed (never through a mount into the host).
  if [ -d "$work" ]; then
    rm -rf "$build/package-chroot-logs"
    mkdir -p "$build/package-chroot-logs"
    cp "$work"/*.log "$work"/*.txt "$build/package-chroot-logs/" 2> /dev/null
  fi
  if ! grep -q " $target/" /proc/mounts; then
    rm -rf "$work"
  fi
}
trap cleanup EXIT
cleanup
mkdir -p "$work"

# -- The host's Debian mirror (its apt sources), for debootstrap and for apt inside ------------
sources="$work/debian.sources"
python3 - "$sources" << 'EOF'
import glob, os, sys
# deb822 stanzas and one-line entries of the host's Debian archive (bookworm*), nothing else.
stanzas = []
for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*")):
    if not os.path.isfile(path):
        continue
    text = open(path).read()
    if path.endswith(".sources"):
        for block in text.split("\n\n"):
            fields = {}
            for line in block.splitlines():
                if line.startswith("#") or ":" not in line or line[0].isspace():
                    continue
                key, value = line.split(":", 1)
                fields[key.strip()] = value.strip()
            if "bookworm" in fields.get("Suites", "") and "deb" in fields.get("Types", "").split() \
                    and "debian-archive-keyring" in fields.get("Signed-By", "debian-archive-keyring"):
                stanzas.append((fields["URIs"].split()[0], fields["Suites"].split(),
                                fields.get("Components", "main").split()))
    elif path.endswith(".list"):
        for line in text.splitlines():
            words = line.split("#", 1)[0].split()
            if len(words) >= 3 and words[0] == "deb" and words[2].startswith("bookworm"):
                words = [w for w in words if not w.startswith("[")]
                stanzas.append((words[1], [words[2]], words[3:] or ["main"]))
if not any("bookworm" in suites for _, suites, _ in stanzas):
    sys.exit("no bookworm entry in the host's apt sources")
with open(sys.argv[1], "w") as out:
    for uri, suites, components in stanzas:
        out.write("Types: deb\nURIs: %s\nSuites: %s\nComponents: main\n"
                  "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
                  % (uri, " ".join(suites)))
    main = next(uri for uri, suites, _ in stanzas if "bookworm" in suites)
with open(sys.argv[1] + ".mirror", "w") as out:
    out.write(main + "\n")
EOF
mirror=$(cat "$sources.mirror")

# -- The base root, once: debootstrap into the cache ------------------------------------------------
base="$cache/bookworm-minbase"
if [ ! -f "$base/.complete" ]; then
  rm -rf "$base" "$base.partial"
  t=$(seconds)
  debootstrap --variant=minbase --cache-dir="$cache/archives" bookworm "$base.partial" "$mirror" \
    > "$work/debootstrap.log" 2>&1 || { tail -30 "$work/debootstrap.log" >&2; fail "debootstrap failed"; }
  rm -f "$base.partial/var/cache/apt/archives/"*.deb
  touch "$base.partial/.complete"
  mv "$base.partial" "$base"
  echo "debootstrap (uncached): $(elapsed "$t") s"
fi
t=$(seconds)
cp -a "$base" "$target"
rm -f "$target/.complete"
echo "fresh root from the cache: $(elapsed "$t") s"

# Inside the root only: the host's /usr/sbin/policy-rc.d is never written.
cat > "$target/usr/sbin/policy-rc.d" << 'EOF'
#!/bin/sh
# Package.Chroot: no service starts inside this test root.
exit 101
EOF
chmod 755 "$target/usr/sbin/policy-rc.d"
rm -f "$target/etc/apt/sources.list"
cp "$sources" "$target/etc/apt/sources.list.d/debian.sources"
cp /etc/resolv.conf "$target/etc/resolv.conf" 2> /dev/null || true
# The downloaded packages stay in the cache across runs (apt keeps them in this root's archives).
mount --bind "$cache/archives" "$target/var/cache/apt/archives"
mount -t proc proc "$target/proc"
# A minimal /dev of its own: a tmpfs with the few host device nodes bound in (never /dev itself).
mount -t tmpfs -o mode=755,nosuid devtmp "$target/dev"
for node in null zero full random urandom tty; do
  touch "$target/dev/$node"
  mount --bind "/dev/$node" "$target/dev/$node"
done
mkdir -p "$target/dev/shm" "$target/dev/pts"
mount -t tmpfs -o mode=1777,nosuid,nodev shm "$target/dev/shm"
ln -s /proc/self/fd "$target/dev/fd"

in_root() { chroot "$target" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 \
  DEBIAN_FRONTEND=noninteractive "$@"; }
# No fsync per file: a throwaway root (it halves the time dpkg takes here).
apt_in_root() { in_root apt-get -q -y -o Dpkg::Use-Pty=0 -o Dpkg::Options::=--force-unsafe-io "$@"; }

# -- Dependencies first, then the snapshot, then the package ----------------------------------------
t=$(seconds)
apt_in_root update > "$work/apt-update.log" 2>&1 || { cat "$work/apt-update.log" >&2; fail "apt-get update failed in the root"; }
cp "$deb" "$target/tmp/radmark.deb"
depends=$(dpkg-deb -f "$deb" Depends)
apt_in_root --no-install-recommends satisfy "$depends" > "$work/apt-depends.log" 2>&1 ||
  { tail -30 "$work/apt-depends.log" >&2; fail "apt could not install the package's dependencies"; }
echo "dependencies installed: $(grep -c '^Setting up' "$work/apt-depends.log") packages in $(elapsed "$t") s"
# The person using the workstation: an ordinary account, made before the snapshot.
in_root useradd --create-home --shell /bin/sh alice

# A list of every file of the root with its type, mode, owner and (for files) its checksum.
# Not compared: the user's home and /tmp (her store, her files), apt's and dpkg's own state and
# logs, and the backups (passwd-, group-, shadow-, gshadow-) that adduser and deluser rewrite
# with every change (the files themselves are compared).
snapshot() {
  (cd "$target" && find . -xdev \( -path ./proc -o -path ./dev -o -path ./tmp -o -path ./home/alice \
    -o -path ./var/cache/apt -o -path ./var/lib/apt/lists -o -path ./var/log -o -path ./run \
    -o -path ./var/lib/dpkg -o -regex '\./etc/g?shadow-' -o -regex '\./etc/\(passwd\|group\)-' \) \
    -prune -o -printf '%y %m %U %G %p %l\n' | sort) > "$1.list"
  (cd "$target" && find ./etc ./usr ./var ./opt ./srv -xdev \
    \( -path ./var/cache/apt -o -path ./var/lib/apt -o -path ./var/log -o -path ./var/lib/dpkg \
    -o -regex '\./etc/g?shadow-' -o -regex '\./etc/\(passwd\|group\)-' \) -prune -o -type f -print0 | sort -z | xargs -0 sha256sum) > "$1.sums"
}
snapshot "$work/before"

t=$(seconds)
apt_in_root --no-install-recommends install /tmp/radmark.deb > "$work/apt-install.log" 2>&1 ||
  { tail -30 "$work/apt-install.log" >&2; fail "apt could not install the package"; }
echo "package installed: $(elapsed "$t") s"
grep -E 'Setting up|^E:' "$work/apt-install.log" | grep -v '^Setting up radmark ' && fail "installing it pulled in more than it (above)"

# -- What postinst made ----------------------------------------------------------------------------
[ "$(in_root getent passwd radmark | cut -d: -f1)" = radmark ] || fail "no radmark account"
shell=$(in_root getent passwd radmark | cut -d: -f7)
case "$shell" in */nologin | */false) ;; *) fail "the radmark account has a login shell: $shell" ;; esac
# Names as the root's own account database has them (not the host's: the numbers differ).
state=$(in_root stat -c '%a %U %G' /var/lib/radmark)
[ "$state" = "700 radmark radmark" ] || fail "/var/lib/radmark is $state"
[ "$(in_root stat -c '%a %U' /etc/radmark/policy.json)" = "644 root" ] || fail "policy.json mode/owner"
grep -qx /etc/radmark/policy.json "$target/var/lib/dpkg/info/radmark.conffiles" || fail "policy.json is not a conffile"

# -- The installed CLI: a store, a generated study imported ------------------------------------------
as_alice() { chroot --userspec=alice:alice "$target" /usr/bin/env -i PATH=/usr/bin:/bin \
  HOME=/home/alice LC_ALL=C.UTF-8 "$@"; }
/usr/bin/python3 "$root_src/tests/data/generate_ct_series.py" --out "$target/home/alice/generated-ct" \
  --slices 24 > /dev/null
chown -R --reference="$target/home/alice" "$target/home/alice/generated-ct"
password="package-test-admin-password"
t=$(seconds)
as_alice radmark-cli info /home/alice/generated-ct > "$work/info.txt" 2>&1 ||
  { cat "$work/info.txt" >&2; fail "installed radmark-cli info failed (the decoder, in /usr/lib/radmark)"; }
grep -q '512' "$work/info.txt" || { cat "$work/info.txt" >&2; fail "info did not describe the series"; }
printf '%s\n' "$password" | as_alice radmark-cli init --store /home/alice/store --admin admin \
  --audit-key-out /home/alice/audit-key --recovery-key-out /home/alice/recovery-key --password-stdin \
  > "$work/init.txt" 2>&1 || { cat "$work/init.txt" >&2; fail "installed radmark-cli init failed"; }
printf '%s\n' "$password" | as_alice radmark-cli import --store /home/alice/store --user admin \
  --password-stdin /home/alice/generated-ct > "$work/import.txt" 2>&1 ||
  { cat "$work/import.txt" >&2; fail "installed radmark-cli import failed"; }
grep -q 'imported' "$work/import.txt" || { cat "$work/import.txt" >&2; fail "import imported nothing"; }
echo "installed CLI: info, init, import in $(elapsed "$t") s: $(grep imported "$work/import.txt" | sed -n 1p)"

# -- The installed workstation under X: log in with keystrokes, a screenshot ---------------------------
# The X server runs on the host (this namespace); the root's programs reach it through its
# abstract socket, like any local client.
exec 5> "$work/display"
Xvfb -displayfd 5 -nolisten tcp -screen 0 1280x1024x24 > "$work/xvfb.log" 2>&1 &
xvfb=$!
for _ in $(seq 100); do [ -s "$work/display" ] && break; sleep 0.1; done
display=":$(cat "$work/display")"
[ "$display" != ":" ] || fail "Xvfb did not start: $(cat "$work/xvfb.log")"
mkdir -p "$target/tmp/alice-runtime"
chown --reference="$target/home/alice" "$target/tmp/alice-runtime"
chmod 700 "$target/tmp/alice-runtime"
t=$(seconds)
as_alice DISPLAY="$display" QT_QPA_PLATFORM=xcb XDG_RUNTIME_DIR=/tmp/alice-runtime \
  radmark --store /home/alice/store > "$work/gui.log" 2>&1 &
gui=$!
login_window=$(DISPLAY="$display" timeout 120 xdotool search --sync --name 'log in' | sed -n 1p) ||
  { cat "$work/gui.log" >&2; fail "the installed workstation showed no login window"; }
DISPLAY="$display" xdotool windowactivate --sync "$login_window" 2> /dev/null ||
  DISPLAY="$display" xdotool windowfocus --sync "$login_window"
DISPLAY="$display" xdotool type --delay 20 admin
DISPLAY="$display" xdotool key Tab
DISPLAY="$display" xdotool type --delay 20 "$password"
DISPLAY="$display" xdotool key Return
# Logged in: the login window goes (Argon2 at the site policy's cost first).
for _ in $(seq 240); do
  DISPLAY="$display" xdotool search --name 'log in' > /dev/null 2>&1 || break
  sleep 0.5
done
DISPLAY="$display" xdotool search --name 'log in' > /dev/null 2>&1 && fail "still at the login window after 120 s"
kill -0 "$gui" 2> /dev/null || { cat "$work/gui.log" >&2; fail "the workstation ended at login"; }
DISPLAY="$display" timeout 60 xdotool search --sync --onlyvisible --name '^Radmark' > /dev/null ||
  fail "no Radmark window after login"
sleep 2
DISPLAY="$display" xwd -root -silent > "$work/screenshot.xwd"
python3 - "$work/screenshot.xwd" << 'EOF'
import struct, sys
data = open(sys.argv[1], "rb").read()
header = struct.unpack(">25I", data[:100])
size, width, height, depth = header[0], header[4], header[5], header[3]
bpp, line, ncolors = header[11], header[12], header[19]
pixels = data[size + ncolors * 12:]
colours, lit = set(), 0
for y in range(0, height, 4):
    row = pixels[y * line:(y + 1) * line]
    for x in range(0, width, 4):
        p = row[x * bpp // 8:(x + 1) * bpp // 8]
        colours.add(p)
        lit += p[:3] != b"\0\0\0"
share = lit / ((height // 4) * (width // 4))
print("screenshot %dx%d depth %d: %d colours, %.0f%% not black" % (width, height, depth, len(colours), 100 * share))
if len(colours) < 16 or share < 0.1:
    sys.exit("the screenshot is (nearly) empty: no window was drawn")
EOF
command -v convert > /dev/null && convert "$work/screenshot.xwd" "$build/package-screenshot.png" 2> /dev/null &&
  echo "screenshot: $build/package-screenshot.png"
kill "$gui" 2> /dev/null || true
wait "$gui" 2> /dev/null || true
echo "installed workstation: login and screenshot in $(elapsed "$t") s"
# The store's own log has the workstation's login, read back through the installed CLI.
printf '%s\n' "$password" | as_alice radmark-cli audit show --store /home/alice/store --as admin \
  --password-stdin > "$work/audit.txt" 2>&1 || { cat "$work/audit.txt" >&2; fail "audit show failed"; }
# Three logins: the import's, the workstation's, this audit show's own.
[ "$(grep -c '  login  admin' "$work/audit.txt")" -ge 3 ] ||
  { cat "$work/audit.txt" >&2; fail "no login of the workstation in the store's log"; }

# -- The store service, when the package has it ----------------------------------------------------
if [ -x "$target/usr/sbin/radmarkd" ]; then
  t=$(seconds)
  as_service() { chroot --userspec=radmark:radmark "$target" /usr/bin/env -i PATH=/usr/bin:/bin \
    HOME=/var/lib/radmark LC_ALL=C.UTF-8 "$@"; }
  # The shared store, made by the service account as IT would, under the installed policy.
  printf '%s\n' "$password" | as_service radmark-cli init --store /var/lib/radmark/store \
    --admin ada --audit-key-out /var/lib/radmark/audit.key --password-stdin \
    > "$work/service-init.log" 2>&1 ||
    { cat "$work/service-init.log" >&2; fail "the service account could not create the shared store"; }
  # What the unit's RuntimeDirectory= makes: /run/radmark, the service's, 0755.
  chroot "$target" install -d -o radmark -g radmark -m 0755 /run/radmark
  # Not through the function: $! must be radmarkd itself (chroot and env exec it).
  chroot --userspec=radmark:radmark "$target" /usr/bin/env -i PATH=/usr/bin:/bin \
    HOME=/var/lib/radmark LC_ALL=C.UTF-8 /usr/sbin/radmarkd > "$work/radmarkd.log" 2>&1 &
  daemon=$!
  for _ in $(seq 100); do [ -S "$target/run/radmark/radmarkd.sock" ] && break; sleep 0.1; done
  kill -0 "$daemon" 2> /dev/null || { cat "$work/radmarkd.log" >&2; fail "radmarkd did not stay up"; }
  # A user of the workstation: the store's files are closed to her, the service answers her.
  as_alice cat /var/lib/radmark/store/store.db > /dev/null 2>&1 && fail "alice read the shared store"
  printf '%s\n' "$password" | as_alice radmark-cli --service /run/radmark/radmarkd.sock studies \
    --user ada --password-stdin > "$work/service-studies.txt" 2>&1 ||
    { cat "$work/service-studies.txt" "$work/radmarkd.log" >&2; fail "radmark-cli through the installed radmarkd failed"; }
  kill "$daemon"
  wait "$daemon" 2> /dev/null || true
  # Its request handlers end with it; none may hold the account when the purge removes it.
  service_uid=$(chroot "$target" id -u radmark)
  for _ in $(seq 50); do pgrep -U "$service_uid" > /dev/null || break; sleep 0.1; done
  pgrep -U "$service_uid" -a >&2 && fail "processes of the radmark account outlived radmarkd"
  rm -rf "$target/run/radmark"
  echo "radmarkd: shared store made by the radmark account, a user's command served, in $(elapsed "$t") s"
else
  echo "radmarkd: not in this package (its unit only)"
fi

# -- Purge: nothing of it left ---------------------------------------------------------------------
t=$(seconds)
apt_in_root purge radmark > "$work/apt-purge.log" 2>&1 || { cat "$work/apt-purge.log" >&2; fail "apt-get purge failed"; }
rm -rf "$target/tmp/alice-runtime" "$target/tmp/radmark.deb"
snapshot "$work/after"
echo "purged: $(elapsed "$t") s"
left=$( (diff "$work/before.list" "$work/after.list" || true) | grep '^[<>]' || true)
changed=$( (diff "$work/before.sums" "$work/after.sums" || true) | grep '^[<>]' || true)
[ -z "$left" ] || { echo "$left" >&2; fail "the purge left the root different (above: < before, > after)"; }
[ -z "$changed" ] || { echo "$changed" >&2; fail "the purge left files changed (above)"; }
! grep -qi radmark "$target/etc/passwd" "$target/etc/group" "$target/etc/shadow" || fail "the radmark account is left"
found=$(cd "$target" && find . -xdev \( -path ./home/alice -o -path ./proc -o -path ./var/cache/apt -o -path ./var/log \) -prune -o -iname '*radmark*' -print)
[ -z "$found" ] || { echo "$found" >&2; fail "files named radmark left (above)"; }
echo "Package.Chroot: passed in $(elapsed "$started") s (load $(cut -d' ' -f1-3 /proc/loadavg))"
