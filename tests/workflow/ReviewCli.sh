#!/usr/bin/env bash
# radmark-cli review end to end on a real store, with Dice checked by an independent reader:
# two annotators import masks made by a model on dcm2niix output of a generated CT, submit; the
# reviewer sees the queue, compares (Dice against numpy on the same masks), pins comments (one
# outside the volume is refused), requests changes (refused without a comment, a second
# decision refused), builds a consensus and approves it, writes the agreement report as CSV and
# PDF (read back with pdftotext; an annotator's and the admin's refused and logged); refused
# actions are refused for the right role; the audit log verifies at the end.
# Usage: ReviewCli.sh RADMARK_CLI SOURCE_DIR
set -u
cli="$1"
src="$2"
work="$(mktemp -d)"
. "$src/tests/scripts/store-cli.sh"
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
write_policy

init_store annie:annotator bert:annotator ruby:reviewer rex:reviewer
$py "$src/tests/data/generate_ct_series.py" --out "$work/ct" --slices 12 --rows 64 --cols 64 \
  > /dev/null || fail "generate CT"
as ada import "$work/ct" > "$work/import.out" 2>&1 || fail "import: $(cat "$work/import.out")"
study=$(as ada studies | awk -F'\t' 'NR == 2 {print $1}')
[ -n "$study" ] || fail "no study in the worklist"
as ada assign annie "$study" > /dev/null || fail "assign annie"
as ada assign bert "$study" > /dev/null || fail "assign bert"

# A "model" thresholds dcm2niix's NIfTI (rows flipped) at two levels: two annotators' masks.
mkdir -p "$work/nii"
dcm2niix -z n -f ct -o "$work/nii" "$work/ct" > /dev/null || fail "dcm2niix"
$py - "$work" <<'PY' || fail "masks"
import sys, nibabel as nib, numpy as np
work = sys.argv[1]
ct = nib.load(f"{work}/nii/ct.nii")
data = np.asarray(ct.dataobj)
for name, level in (("annie", 40), ("bert", 60)):
    mask = (data > level).astype(np.uint8)
    nib.save(nib.Nifti1Image(mask, ct.affine), f"{work}/{name}.nii")
a = np.asarray(nib.load(f"{work}/annie.nii").dataobj) > 0
b = np.asarray(nib.load(f"{work}/bert.nii").dataobj) > 0
open(f"{work}/dice.txt", "w").write(repr(2 * (a & b).sum() / (a.sum() + b.sum())))
PY
echo '[{"label": 1, "code": "10200004"}]' > "$work/segments.json"
as annie annotations import --study "$study" --mask "$work/annie.nii" \
  --segments "$work/segments.json" > /dev/null || fail "annie's import"
as bert annotations import --study "$study" --mask "$work/bert.nii" \
  --segments "$work/segments.json" > /dev/null || fail "bert's import"
va=$(as annie studies | awk -F'\t' 'NR == 2 {print $5}')
vb=$(as bert studies | awk -F'\t' 'NR == 2 {print $5}')
[ -n "$va" ] && [ -n "$vb" ] && [ "$va" != "$vb" ] || fail "versions: '$va' '$vb'"
as annie studies | awk -F'\t' 'NR == 2 {print $9}' | grep -qx draft || fail "annie's state"

as bert review submit "$va" 2> "$work/err" && fail "bert submitted annie's version"
grep -q "only its author" "$work/err" || fail "submit refusal: $(cat "$work/err")"
as annie review submit "$va" > /dev/null || fail "annie submits"
as bert review submit "$vb" > /dev/null || fail "bert submits"
[ "$(as ruby review queue | grep -c submitted)" = 2 ] || fail "queue: $(as ruby review queue)"
as ruby studies --state submitted | grep -q "$study" || fail "studies --state submitted"

as ruby review diff "$va" "$vb" --json > "$work/diff.json" || fail "review diff"
$py - "$work" <<'PY' || fail "Dice differs from numpy's: $(cat "$work/diff.json")"
import json, sys
work = sys.argv[1]
report = json.load(open(f"{work}/diff.json"))
expected = float(open(f"{work}/dice.txt").read())
segment = report["segments"][0]
dice = segment["dice"] if "dice" in segment else segment["overlap"]["dice"]
assert abs(dice - expected) < 1e-9, (dice, expected)
assert 0.5 < expected < 0.99, expected  # the two masks really differ
PY
as ruby review diff "$va" "$vb" | grep -q "HD95" || fail "review diff table"

as ruby review comment "$va" --at 10,12,3 --text "edge of the liver here" > "$work/c.out" \
  || fail "comment"
comment=$(awk '{print $2}' "$work/c.out")
as ruby review comment "$va" --at 999,0,0 --text "far away" 2> "$work/err" \
  && fail "a comment outside the volume"
grep -q "outside the image" "$work/err" || fail "outside refusal: $(cat "$work/err")"
as annie review reply "$comment" --text "fixed next version" > /dev/null || fail "reply"
as annie review comments "$va" | grep -q "fixed next version" || fail "annie sees the reply"

as annie review decide "$va" approve 2> "$work/err" && fail "an annotator decided"
as ruby review decide "$va" changes 2> "$work/err" && fail "changes without a comment"
grep -q "needs a comment" "$work/err" || fail "comment refusal: $(cat "$work/err")"
as ruby review decide "$va" changes --message "the liver edge is off at slice 3" > /dev/null \
  || fail "request changes"
as rex review decide "$va" reject --message "no" 2> "$work/err" && fail "a second decision"
grep -q "first decision is final" "$work/err" || fail "second decision: $(cat "$work/err")"
as annie review history "$va" > "$work/history" || fail "history"
for what in submitted commented replied "changes requested"; do
  grep -q "$what" "$work/history" || fail "history lacks '$what': $(cat "$work/history")"
done
as ruby review decide "$vb" approve 2> "$work/err" > /dev/null || fail "approve bert"

as ruby review consensus --study "$study" --method vote --versions "$va,$vb" > "$work/cons" \
  || fail "consensus: $(cat "$work/cons")"
vc=$(awk '{print $3}' "$work/cons")
as ruby review decide "$vc" approve > /dev/null || fail "the reviewer approves her consensus"

as ruby review agreement --out "$work/agreement.csv" > /dev/null || fail "agreement csv"
grep -q "pair" "$work/agreement.csv" || fail "agreement csv rows: $(cat "$work/agreement.csv")"
as ruby review agreement --out "$work/agreement.pdf" > /dev/null || fail "agreement pdf"
pdftotext "$work/agreement.pdf" - | grep -q "Radmark agreement report" || fail "pdf text"
# The report is a reviewer's: an annotator and the admin are refused (logged), nothing written.
for who in annie ada; do
  if as "$who" review agreement --out "$work/$who-agreement.csv" > /dev/null 2> "$work/err"; then
    fail "$who wrote the agreement report"
  fi
  grep -q "the agreement report is for reviewers" "$work/err" || fail "$who: $(cat "$work/err")"
  [ ! -e "$work/$who-agreement.csv" ] || fail "$who's refused report was written"
done

printf '%s\n' "$pw" | "$cli" audit verify --audit-key "$work/audit.key" "${s[@]}" --user ada \
  --password-stdin > /dev/null || fail "audit verify"
for action in submit comment reply "review decision" "refused review decision" "save consensus" \
  "refused agreement report"; do
  printf '%s\n' "$pw" | "$cli" audit show "${s[@]}" --as ada --password-stdin \
    | grep -q "$action" || fail "the log has no '$action'"
done
echo "radmark-cli review: all checks passed"
