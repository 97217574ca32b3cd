#!/usr/bin/env bash
# radmark-cli dataset ... end to end on a real store: five generated CT studies of four patients
# (two studies share one) are imported, annotated through `annotations import` (masks on
# dcm2niix's grid) and reviewed; the admin builds a dataset: a study without an approved version
# is refused by name unless its version is chosen (then marked UNAPPROVED), a segment without a
# code is refused by case until its name is mapped, freezing waits for a protocol and a split,
# the split keeps the patient's two studies together and is the same for the same seed, a second
# freeze of an unchanged dataset is the same revision and a changed one names its parent; the
# protocol's hash is sha256sum's; credentials are entered and shown; annotators and reviewers are
# refused and every step is in the access log, which verifies.
# Usage: DatasetCli.sh RADMARK_CLI SOURCE_DIR
set -u
cli="$1"
src="$2"
work="$(mktemp -d)"
. "$src/tests/scripts/store-cli.sh"
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
write_policy
json() { # json EXPR : evaluates EXPR on `dataset show Liver --json` as d
  as ada dataset show Liver --json > "$work/show.json" || fail "show --json"
  $py -c "import json,sys; d = json.load(open('$work/show.json')); print($1)"
}

init_store annie:annotator ruby:reviewer

# Five studies; 21 and 22 are two studies of one patient.
for seed in 21 22 23 24 25; do
  $py "$src/tests/data/generate_ct_series.py" --out "$work/ct$seed" --seed "$seed" --slices 6 \
    --rows 24 --cols 24 > /dev/null || fail "generate CT $seed"
done
$py - "$work" <<'PY' || fail "patients"
import glob, sys, pydicom
work = sys.argv[1]
patient = {21: "MRN-1000001", 22: "MRN-1000001", 23: "MRN-2000002", 24: "MRN-3000003",
           25: "MRN-4000004"}
for seed, pid in patient.items():
    for f in glob.glob(f"{work}/ct{seed}/*.dcm"):
        ds = pydicom.dcmread(f)
        ds.PatientID = pid
        ds.save_as(f)
PY
as ada import "$work/ct21" "$work/ct22" "$work/ct23" "$work/ct24" "$work/ct25" \
  > "$work/import.out" 2>&1 || fail "import: $(cat "$work/import.out")"
as ada studies | awk -F'\t' 'NR > 1 {print $1}' > "$work/studies"
[ "$(wc -l < "$work/studies")" = 5 ] || fail "five studies: $(cat "$work/studies")"
# A study's label starts with its patient pseudonym: four patients.
[ "$(sed 's/-[0-9]*$//' "$work/studies" | sort -u | wc -l)" = 4 ] \
  || fail "four patients: $(cat "$work/studies")"
mapfile -t study < "$work/studies"

# Annie labels each study on dcm2niix's grid; the last one's segment has no code.
echo '[{"label": 1, "code": "10200004"}]' > "$work/liver.json"
echo '[{"label": 1, "name": "Lesion"}]' > "$work/lesion.json"
for i in 0 1 2 3 4; do
  as ada assign annie "${study[$i]}" > /dev/null || fail "assign ${study[$i]}"
done
i=0
for seed in 21 22 23 24 25; do
  mkdir -p "$work/nii$seed"
  dcm2niix -z n -f ct -o "$work/nii$seed" "$work/ct$seed" > /dev/null || fail "dcm2niix $seed"
  $py - "$work/nii$seed" <<'PY' || fail "mask $seed"
import sys, nibabel as nib, numpy as np
d = sys.argv[1]
ct = nib.load(f"{d}/ct.nii")
mask = (np.asarray(ct.dataobj) > 40).astype(np.uint8)
nib.save(nib.Nifti1Image(mask, ct.affine), f"{d}/mask.nii")
PY
  segments="$work/liver.json"
  [ "$seed" = 25 ] && segments="$work/lesion.json"
  # Which study is this seed's? The import order is the order of the sources.
  label=$(awk -v n=$((i + 1)) 'NR == n {print $1}' "$work/studies")
  as annie annotations import --study "$label" --mask "$work/nii$seed/mask.nii" \
    --segments "$segments" > "$work/ann.out" 2>&1 || fail "annotations $seed: $(cat "$work/ann.out")"
  i=$((i + 1))
done
as annie studies | awk -F'\t' 'NR > 1 {print $1 "\t" $5}' > "$work/versions"
version_of() { awk -F'\t' -v s="$1" '$1 == s {print $2}' "$work/versions"; }
for i in 0 1 2 3 4; do
  as annie review submit "$(version_of "${study[$i]}")" > /dev/null || fail "submit $i"
done
for i in 0 1 2 4; do # study 3 stays submitted, not approved
  as ruby review decide "$(version_of "${study[$i]}")" approve > /dev/null || fail "approve $i"
done

as ada dataset create Liver --purpose "liver segmentation for a CT model" > "$work/out" \
  || fail "create"
grep -q "Dataset500_Liver" "$work/out" || fail "number 500: $(cat "$work/out")"
as ada dataset create liver 2> "$work/err" && fail "a second dataset named liver"
as ada dataset add Liver "${study[@]}" 2> "$work/err" && fail "added a study with no approved version"
grep -q "no approved version of ${study[3]}" "$work/err" || fail "refusal: $(cat "$work/err")"
as ada dataset add Liver "${study[0]}" "${study[1]}" "${study[2]}" "${study[4]}" > /dev/null \
  || fail "add approved"
as ada dataset add Liver "${study[3]}" --version "$(version_of "${study[3]}")" > /dev/null \
  || fail "add the chosen unapproved version"
as ada dataset show Liver > "$work/show" || fail "show"
grep "^${study[3]}" "$work/show" | grep -q "UNAPPROVED" || fail "unapproved mark: $(cat "$work/show")"
[ "$(json 'len(d["cases"])')" = 5 ] || fail "five cases"

# Labels: the uncoded segment is refused by case, then mapped by name.
as ada dataset labels Liver > "$work/labels" 2> "$work/err"
[ $? = 3 ] || fail "labels with a conflict should exit 3"
grep -q "segment 'Lesion' has no terminology code.*${study[4]}" "$work/labels" \
  || fail "conflict names the case: $(cat "$work/labels")"
as ada dataset freeze Liver 2> "$work/err" && fail "froze without a protocol"
grep -q "no annotation protocol" "$work/err" || fail "protocol refusal: $(cat "$work/err")"
as ada dataset map Liver --segment-name Lesion --code "SCT:108369006:Neoplasm" > /dev/null \
  || fail "map"
as ada dataset labels Liver > "$work/labels" || fail "labels after the mapping"
grep -qP "^1\tLiver\tSCT:10200004 \(Liver\)" "$work/labels" || fail "label 1: $(cat "$work/labels")"
grep -qP "^2\tLesion\tSCT:108369006 \(Neoplasm\) \(mapped by name\)" "$work/labels" \
  || fail "label 2: $(cat "$work/labels")"

printf '# Liver labelling guideline\n\nOutline the liver on every slice.\n' > "$work/guideline.md"
as ada dataset protocol Liver "$work/guideline.md" > "$work/out" || fail "protocol"
grep -q "$(sha256sum "$work/guideline.md" | cut -d' ' -f1)" "$work/out" \
  || fail "protocol hash: $(cat "$work/out")"
echo "not a guideline" > "$work/guideline.txt"
as ada dataset protocol Liver "$work/guideline.txt" 2> /dev/null && fail "a .txt protocol"

as ada dataset freeze Liver 2> "$work/err" && fail "froze without a split"
grep -q "cases without a split" "$work/err" || fail "split refusal: $(cat "$work/err")"
as ada dataset split Liver --seed 7 --train 0.5 --validation 0.25 --test 0.25 > /dev/null \
  || fail "split"
splits=$(json '[(c["study"], c["split"]) for c in d["cases"]]')
[ "$(json 'len({c["split"] for c in d["cases"] if c["patient"] == d["cases"][0]["patient"]})')" = 1 ] \
  || fail "a patient in two splits"
$py -c "
import json
d = json.load(open('$work/show.json'))
by = {}
for c in d['cases']:
    by.setdefault(c['patient'], set()).add(c['split'])
assert all(len(s) == 1 for s in by.values()), by
assert len(by) == 4, by
" || fail "patients and splits: $(cat "$work/show.json")"
as ada dataset split Liver --seed 8 > /dev/null || fail "split seed 8"
as ada dataset split Liver --seed 7 --train 0.5 --validation 0.25 --test 0.25 > /dev/null \
  || fail "split again"
[ "$(json '[(c["study"], c["split"]) for c in d["cases"]]')" = "$splits" ] \
  || fail "seed 7 gives another split the second time"
as ada dataset split Liver --seed 7 --train 0.5 --validation 0.3 --test 0.3 2> /dev/null \
  && fail "fractions summing to 1.1"

as ada dataset freeze Liver > "$work/freeze1" || fail "freeze"
grep -q "revision 1 .*parent none, 5 cases" "$work/freeze1" || fail "freeze 1: $(cat "$work/freeze1")"
as ada dataset freeze Liver > "$work/freeze2" || fail "freeze again"
grep -q "unchanged: revision 1" "$work/freeze2" || fail "unchanged: $(cat "$work/freeze2")"
sha1=$(json 'd["revisions"][0]["sha256"]')
grep -q "$sha1" "$work/freeze2" || fail "same hash"
# The unapproved version is approved: the dataset changed, revision 2 names revision 1.
as ruby review decide "$(version_of "${study[3]}")" approve > /dev/null || fail "approve 3"
as ada dataset freeze Liver > "$work/freeze3" || fail "freeze 3"
grep -q "revision 2 .*parent revision 1 ${sha1:0:12}" "$work/freeze3" \
  || fail "freeze 3: $(cat "$work/freeze3")"
[ "$(json 'd["revisions"][1]["sha256"] != d["revisions"][0]["sha256"]')" = True ] \
  || fail "a changed dataset kept its hash"
[ "$(json 'd["revisions"][1]["parent"]')" = 1 ] || fail "parent"
as ada dataset show Liver > "$work/show" || fail "show"
grep -q "UNAPPROVED" "$work/show" && fail "still marked unapproved: $(cat "$work/show")"
grep -q "exports (which version each export holds)" "$work/show" || fail "exports section"
as ada dataset list | grep -qP "^Liver\t500\t5\t2\t0\t" || fail "list: $(as ada dataset list)"

# Credentials.
as ada user credentials annie --title "Consultant radiologist" --qualification FRCR --years 12 \
  --trained 2026-01-15 > /dev/null || fail "credentials"
as ada user credentials annie | grep -q "Consultant radiologist; FRCR; 12 years of experience" \
  || fail "credentials shown: $(as ada user credentials annie)"
as ada user credentials annie --title T --qualification Q --years 3 --trained 2026-02-30 \
  2> "$work/err" && fail "February 30"
grep -q "training date" "$work/err" || fail "date refusal: $(cat "$work/err")"

# Annotators and reviewers are refused; every refusal is logged.
as annie dataset list 2> "$work/err" && fail "an annotator listed datasets"
grep -q "Annotators cannot see datasets" "$work/err" || fail "annotator refusal: $(cat "$work/err")"
as ruby dataset freeze Liver 2> "$work/err" && fail "a reviewer froze a dataset"
as ruby dataset create Theirs 2> /dev/null && fail "a reviewer created a dataset"
as annie user credentials annie --title T --qualification Q --years 1 --trained 2026-01-01 \
  2> /dev/null && fail "an annotator entered credentials"

printf '%s\n' "$pw" | "$cli" audit verify --audit-key "$work/audit.key" "${s[@]}" --user ada \
  --password-stdin > /dev/null || fail "audit verify"
printf '%s\n' "$pw" | "$cli" audit show "${s[@]}" --as ada --password-stdin > "$work/log"
for action in "dataset create" "dataset add" "refused edit dataset" "dataset map" \
  "dataset protocol" "dataset split" "dataset freeze" "refused freeze dataset revision" \
  "user credentials" "refused read datasets" "refused create dataset" \
  "refused user credentials"; do
  grep -q "  $action  " "$work/log" || fail "the log has no '$action'"
done
grep "  dataset freeze  " "$work/log" | grep -q "revision 2, sha256 .*parent revision 1" \
  || fail "freeze entry: $(grep 'dataset freeze' "$work/log")"
echo "radmark-cli dataset: all checks passed"
