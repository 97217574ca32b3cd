#!/usr/bin/env bash
# scripts/demo-store as `scripts/run` uses it: every sample study is imported (none quarantined
# or failed), assigned to the annotator, and a second run reuses the store ("already in store").
#   DemoStore.sh SOURCE_DIR RADMARK_CLI
set -euo pipefail
source_dir="$1"
export RADMARK_CLI="$2"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT

first="$("$source_dir/scripts/demo-store" "$dir" 2>&1)"
imported="$(printf '%s\n' "$first" | grep -c ': imported ' || true)"
if [ "$imported" -ne 4 ] || printf '%s\n' "$first" | grep -q -E 'quarantined|failed'; then
  printf '%s\n' "$first" >&2
  echo "FAIL: expected the 4 demo studies imported, got $imported" >&2
  exit 1
fi

# The demo's cheap Argon2id is the system policy of this build made for tests.
export RADMARK_TEST_SYSTEM_POLICY="$dir/demo-policy.json"
# The annotator may open every demo study (the versions listing checks the assignment).
for id in $(printf '%s\n' "$first" | sed -n 's/.*(study \([0-9]*\)).*/\1/p'); do
  printf '%s\n' demo-annotator-password |
    "$RADMARK_CLI" versions --study "$id" --store "$dir/store" --policy "$dir/demo-policy.json" \
      --user annotator --password-stdin > /dev/null ||
    { echo "FAIL: the annotator cannot list study $id" >&2; exit 1; }
done

second="$("$source_dir/scripts/demo-store" "$dir" 2>&1)"
printf '%s\n' "$second" | grep -q 'reusing the demo store' || { echo "FAIL: store not reused" >&2; exit 1; }
again="$(printf '%s\n' "$second" | grep -c ': already in store' || true)"
[ "$again" -eq 4 ] || { printf '%s\n' "$second" >&2; echo "FAIL: second run stored again" >&2; exit 1; }
echo "demo store: 4 studies imported, open to the annotator, reused on the second run"
