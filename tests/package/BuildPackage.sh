#!/usr/bin/env bash
# Package.Build: BuildPackage.sh SOURCE_DIR PACKAGE_BUILD_DIR
#
# Configures PACKAGE_BUILD_DIR the way the package is built (BUILD_TESTING OFF: no tests, no
# benchmarks, no test hooks, no build-tree paths; RADMARK_HARDENING ON), builds it, runs
# `cpack -G DEB`, then checks what a person installing it would get: the files and their
# layout, the conffile, the maintainer scripts, no test code, hardened binaries, a systemd unit
# that systemd-analyze accepts, and lintian with no error and no warning outside the accepted
# list (tests/package/lintian-accepted, each with its reason in docs/packaging.md).
set -euo pipefail
root="$1"
build="$2"
accepted="$root/tests/package/lintian-accepted"
fail() {
  echo "Package.Build: FAIL: $*" >&2
  exit 1
}
seconds() { date +%s.%N; }
started=$(seconds)

# The compile cache of the other build folders serves this one too (scripts/build does the same).
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-8G}"
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DBUILD_TESTING=OFF -DRADMARK_HARDENING=ON > "$build.configure.log" 2>&1 ||
    { cat "$build.configure.log" >&2; fail "cmake could not configure $build"; }
  rm -f "$build.configure.log"
fi
grep -q '^BUILD_TESTING:BOOL=OFF' "$build/CMakeCache.txt" || fail "$build was configured with tests"
cmake --build "$build" -j"$(nproc)" > "$build/package-build.log" 2>&1 ||
  { tail -50 "$build/package-build.log" >&2; fail "the build failed (log: $build/package-build.log)"; }
built=$(seconds)
# What _FORTIFY_SOURCE or the other hardening flags warn about is fixed, not ignored.
if grep -n 'warning:' "$build/package-build.log" | grep -v '^.*ld: warning' > "$build/package-warnings.txt"; then
  cat "$build/package-warnings.txt" >&2
  fail "the hardened build warned (see above)"
fi

rm -f "$build"/radmark_*.deb
(cd "$build" && cpack -G DEB > package-cpack.log 2>&1) ||
  { cat "$build/package-cpack.log" >&2; fail "cpack failed"; }
deb=$(ls "$build"/radmark_*.deb)
packed=$(seconds)
echo "package: $deb ($(du -k "$deb" | cut -f1) KiB)"

# -- What it installs --------------------------------------------------------------------------
contents="$build/package-contents.txt"
dpkg-deb -c "$deb" | awk '{print $1, $6, $7, $8}' | sed 's| \./| /|' > "$contents"
expect() { # expect MODE-PREFIX PATH [-> TARGET]
  grep -qF -- "$1 $2${3:+ -> $3}" "$contents" || { cat "$contents" >&2; fail "no $2 ${3:-} ($1) in the package"; }
}
expect -rwxr-xr-x /usr/lib/radmark/radmark
expect -rwxr-xr-x /usr/lib/radmark/radmark-cli
expect -rwxr-xr-x /usr/lib/radmark/radmark-decoder
expect -rw-r--r-- /usr/lib/radmark/radmark-ocr.so
expect lrwxrwxrwx /usr/bin/radmark ../lib/radmark/radmark
expect lrwxrwxrwx /usr/bin/radmark-cli ../lib/radmark/radmark-cli
expect -rw-r--r-- /etc/radmark/policy.json
expect -rw-r--r-- /lib/systemd/system/radmarkd.service
expect -rw-r--r-- /usr/share/applications/radmark.desktop
expect -rw-r--r-- /usr/share/icons/hicolor/scalable/apps/radmark.svg
expect -rw-r--r-- /usr/share/man/man1/radmark-cli.1.gz
expect -rw-r--r-- /usr/share/man/man1/radmark.1.gz
expect -rw-r--r-- /usr/share/doc/radmark/copyright
expect -rw-r--r-- /usr/share/doc/radmark/changelog.gz
if grep -q '^radmarkd:' <(cd "$build" && ninja -t targets all 2>/dev/null); then
  expect -rwxr-xr-x /usr/lib/radmark/radmarkd
  expect lrwxrwxrwx /usr/sbin/radmarkd ../lib/radmark/radmarkd
  has_radmarkd=1
else
  echo "note: this tree has no radmarkd target: the package ships its unit only"
  has_radmarkd=0
fi
if grep -E 'decoder-test|/tests?/|gtest|bench' "$contents"; then
  fail "test code in the package (above)"
fi

control="$build/package-control"
rm -rf "$control" "$build/package-root"
dpkg-deb -e "$deb" "$control"
dpkg-deb -x "$deb" "$build/package-root"
[ "$(cat "$control/conffiles")" = "/etc/radmark/policy.json" ] || fail "conffiles: $(cat "$control/conffiles")"
for script in postinst prerm postrm; do
  [ -x "$control/$script" ] || fail "no maintainer script $script"
  sh -n "$control/$script" || fail "$script is not valid sh"
done
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for needed in tesseract-ocr-eng libqt6widgets6 libsqlcipher libsodium adduser; do
  grep -q "$needed" <<< "$depends" || fail "Depends lacks $needed"
done
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$build/package-root/etc/radmark/policy.json" ||
  fail "policy.json is not JSON"

# -- No test code, no build tree in the installed programs ----------------------------------------
bin="$build/package-root/usr/lib/radmark"
for program in radmark radmark-cli radmark-decoder radmark-pacs-fetch radmark-ocr.so radmarkd; do
  [ -f "$bin/$program" ] || fail "the package has no $program"
  if strings "$bin/$program" |
     grep -F -e "$root/" -e "RADMARK_DECODER" -e "RADMARK_PACS_FETCH" -e "RADMARK_TEST_SYSTEM_POLICY" |
     grep -v -e 'RADMARK_DECODER_[A-Z]' -e 'RADMARK_PACS_FETCH_[A-Z]' | head -3 | grep .; then
    fail "$program names the build tree or honours a test build's environment variable (above)"
  fi
done
# (Output to a variable first: grep -q ending a pipe early would fail it under pipefail.)
decoder_strings=$(strings "$bin/radmark-decoder")
grep -q 'built without test hooks' <<< "$decoder_strings" || fail "the decoder has test hooks"
cli_help=$("$bin/radmark-cli" --help)
if grep -q '^  bench ' <<< "$cli_help"; then
  fail "the installed radmark-cli has bench commands"
fi

# -- Hardening (as Debian's hardening-check reads it) ---------------------------------------------
for program in radmark radmark-cli radmark-decoder radmark-ocr.so; do
  headers=$(readelf -lWd "$bin/$program")
  grep -q GNU_RELRO <<< "$headers" || fail "$program: no RELRO"
  grep -q 'BIND_NOW\|FLAGS.*NOW' <<< "$headers" || fail "$program: no BIND_NOW (-z now)"
  grep -q 'Type:.*DYN' <<< "$(readelf -hW "$bin/$program")" || fail "$program: not position independent"
  symbols=$(readelf --dyn-syms -W "$bin/$program")
  grep -q '__stack_chk_fail' <<< "$symbols" || fail "$program: no stack protector"
done
for program in radmark radmark-cli radmark-decoder; do
  grep -q 'FLAGS_1.*PIE' <<< "$(readelf -dW "$bin/$program")" || fail "$program: not a PIE"
  grep -q '__[a-z_]*_chk@' <<< "$(readelf --dyn-syms -W "$bin/$program")" || fail "$program: no _FORTIFY_SOURCE"
done

# -- The systemd unit -----------------------------------------------------------------------------
unit="$build/package-root/lib/systemd/system/radmarkd.service"
if command -v systemd-analyze > /dev/null; then
  # verify checks that ExecStart exists on this machine: point it at the packaged radmarkd (not
  # installed here), or without radmarkd at /bin/true, to check the rest of the unit.
  check_unit="$build/package-control/radmarkd.service"
  program=/bin/true
  [ "$has_radmarkd" = 0 ] || program="$build/package-root/usr/sbin/radmarkd"
  sed "s|^ExecStart=.*|ExecStart=$program|" "$unit" > "$check_unit"
  SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no "$check_unit" > "$build/package-unit.log" 2>&1 ||
    { cat "$build/package-unit.log" >&2; fail "systemd-analyze verify refused radmarkd.service"; }
  if grep -qv "^$" "$build/package-unit.log"; then
    cat "$build/package-unit.log" >&2
    fail "systemd-analyze verify warned about radmarkd.service"
  fi
  systemd-analyze security --offline=yes --no-pager "$check_unit" > "$build/package-security.txt" 2>&1 || true
  echo "systemd-analyze security: $(grep -o 'Overall exposure level.*' "$build/package-security.txt" | sed 's/\x1b\[[0-9;]*m//g')"
fi

# -- lintian --------------------------------------------------------------------------------------
lintian --no-tag-display-limit --display-info "$deb" > "$build/package-lintian.txt" 2>&1 || true
cat "$build/package-lintian.txt"
if grep -q '^E: ' "$build/package-lintian.txt"; then
  fail "lintian reports errors"
fi
unexpected=$(grep '^W: ' "$build/package-lintian.txt" | awk '{print $3}' | sort -u |
  grep -vxF -f <(grep -v '^#' "$accepted" | awk 'NF {print $1}') || true)
[ -z "$unexpected" ] || fail "lintian warnings not in tests/package/lintian-accepted: $unexpected"
echo "lintian: $(grep -c '^E: ' "$build/package-lintian.txt") errors," \
  "$(grep -c '^W: ' "$build/package-lintian.txt") warnings, $(grep -c '^I: ' "$build/package-lintian.txt") info"
done_at=$(seconds)
awk -v a="$started" -v b="$built" -v c="$packed" -v d="$done_at" -v load="$(cut -d' ' -f1-3 /proc/loadavg)" \
  'BEGIN { printf "Package.Build: build %.0f s, cpack %.0f s, checks and lintian %.0f s (load %s)\n", b - a, c - b, d - c, load }'
