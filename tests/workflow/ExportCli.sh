#!/usr/bin/env bash
# radmark-cli export end to end on a real store and real destinations: four generated CT studies
# of three patients are imported, annotated (masks on dcm2niix's grid; one study by two
# annotators) and approved; the admin builds a dataset and exports it to a local folder and to a
# loopback SMB3 share (smbd with encryption required, started by loopback-smbd).
# Proven with independent tools: `bundle verify --public-key` and Debian's `minisign -V` with the
# exported workstation key; check_export.py (nnU-Net's rules, nibabel voxels against the original
# DICOM's HU and the mask, pydicom SEG frames against the labels, dciodvfy); a second export of
# the same revision has a byte-identical payload (manifest-sha256.txt); the exported SEG and
# an exported label re-imported give identical voxels, and the changed dataset a new revision
# whose bag-info names its parent; the share's bundle read back with smbclient verifies; an unencrypted share, a
# folder that is not an encrypted mount and a destination the policy does not list are refused
# and logged; a killed export (SIGKILL) leaves only a hidden partial that the next run removes;
# Ctrl+C (SIGINT) cancels cleanly; an age-encrypted export decrypts with `age -d`; `dataset show`
# lists every export with its versions; the access log verifies.
# Usage: ExportCli.sh RADMARK_CLI SOURCE_DIR LOOPBACK_SMBD
set -u
cli="$1"
src="$2"
smbd="$3"
work="$(mktemp -d)"
. "$src/tests/scripts/store-cli.sh"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2> /dev/null; wait "$p" 2> /dev/null; done
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

# Two loopback smbd servers: encryption required, and off (which must be refused).
for kind in enc plain; do
  flag=""
  [ "$kind" = plain ] && flag=--no-encryption
  "$smbd" "$work/smb-$kind" $flag > "$work/smbd-$kind.log" 2>&1 &
  pids+=($!)
done
for kind in enc plain; do
  for _ in $(seq 200); do [ -f "$work/smb-$kind/ready" ] && break; sleep 0.1; done
  [ -f "$work/smb-$kind/ready" ] || fail "smbd $kind: $(cat "$work/smbd-$kind.log")"
  mkdir -p "$(cat "$work/smb-$kind/share")/exports"
done
mkdir -p "$work/exports" "$work/not-a-mount"
cat > "$work/policy.json" <<EOF
{"argon2_memory_bytes": 65536, "argon2_operations": 1,
 "export_destinations": [
   {"name": "local", "folder": "$work/exports", "local": true},
   {"name": "share", "smb": "$(cat "$work/smb-enc/url")/exports",
    "credentials": "$work/smb-enc/credentials"},
   {"name": "plain-share", "smb": "$(cat "$work/smb-plain/url")/exports",
    "credentials": "$work/smb-plain/credentials"},
   {"name": "not-a-mount", "folder": "$work/not-a-mount"}]}
EOF
use_policy
field() { awk -F'\t' -v k="$1" '$1 == k {print $2}' "$2"; }

init_store annie:annotator bob:annotator ruby:reviewer

# Four studies of three patients (31 and 32 share one).
for seed in 31 32 33 34; do
  $py "$src/tests/data/generate_ct_series.py" --out "$work/ct$seed" --seed "$seed" --slices 7 \
    --rows 64 --cols 56 > /dev/null || fail "generate CT $seed"
done
$py - "$work" <<'PY' || fail "patients"
import glob, sys, pydicom
work = sys.argv[1]
for seed, pid in {31: "MRN-1000001", 32: "MRN-1000001", 33: "MRN-2000002", 34: "MRN-3000003"}.items():
    for f in glob.glob(f"{work}/ct{seed}/*.dcm"):
        ds = pydicom.dcmread(f)
        ds.PatientID = pid
        ds.save_as(f)
PY
as ada import "$work/ct31" "$work/ct32" "$work/ct33" "$work/ct34" > "$work/import.out" 2>&1 \
  || fail "import: $(cat "$work/import.out")"
as ada studies | awk -F'\t' 'NR > 1 {print $1}' > "$work/studies"
mapfile -t study < "$work/studies"
[ "${#study[@]}" = 4 ] || fail "four studies: $(cat "$work/studies")"
# Which original series is each study? The import order is the order of the sources.
$py -c "
import json, sys
studies = open('$work/studies').read().split()
print(json.dumps({s: '$work/ct%d' % seed for s, seed in zip(studies, [31, 32, 33, 34])}))
" > "$work/originals.json"

echo '[{"label": 1, "code": "10200004"}]' > "$work/liver.json"
for i in 0 1 2 3; do
  as ada assign annie "${study[$i]}" > /dev/null || fail "assign ${study[$i]}"
done
as ada assign bob "${study[0]}" > /dev/null || fail "assign bob"
i=0
for seed in 31 32 33 34; do
  mkdir -p "$work/nii$seed"
  dcm2niix -z n -f ct -o "$work/nii$seed" "$work/ct$seed" > /dev/null || fail "dcm2niix $seed"
  $py - "$work/nii$seed" <<'PY' || fail "mask $seed"
import sys, nibabel as nib, numpy as np
d = sys.argv[1]
ct = nib.load(f"{d}/ct.nii")
hu = np.asarray(ct.dataobj)  # nibabel applies dcm2niix's slope and intercept: HU
nib.save(nib.Nifti1Image(((hu > 20) & (hu < 150)).astype(np.uint8), ct.affine), f"{d}/mask.nii")
nib.save(nib.Nifti1Image((hu > 300).astype(np.uint8), ct.affine), f"{d}/bone.nii")
PY
  as annie annotations import --study "${study[$i]}" --mask "$work/nii$seed/mask.nii" \
    --segments "$work/liver.json" > "$work/ann.out" 2>&1 || fail "annotations $seed: $(cat "$work/ann.out")"
  i=$((i + 1))
done
for i in 0 1 2 3; do
  v=$(as annie studies | awk -F'\t' -v s="${study[$i]}" '$1 == s {print $5}')
  as annie review submit "$v" > /dev/null || fail "submit $i"
  as ruby review decide "$v" approve > /dev/null || fail "approve $i"
done
# Bob's own version of study 0 (not approved), for the agreement figures.
as bob annotations import --study "${study[0]}" --mask "$work/nii31/bone.nii" \
  --segments "$work/liver.json" > /dev/null 2>&1 || fail "bob's annotation"

as ada dataset create Liver --purpose "liver segmentation for a CT model" > /dev/null \
  || fail "create"
as ada dataset add Liver "${study[@]}" > /dev/null || fail "add"
printf '# Liver labelling guideline\n\nOutline the liver on every slice.\n' > "$work/guideline.md"
as ada dataset protocol Liver "$work/guideline.md" > /dev/null || fail "protocol"
as ada dataset split Liver --seed 7 --train 0.34 --validation 0.33 --test 0.33 > /dev/null \
  || fail "split"
as ada user credentials annie --title "Consultant radiologist" --qualification FRCR --years 12 \
  --trained 2026-01-15 > /dev/null || fail "credentials"
as ada audit public-key --out "$work/workstation.pub" > /dev/null || fail "public key"
grep -q "minisign public key" "$work/workstation.pub" || fail "key: $(cat "$work/workstation.pub")"

# The destinations as the export offers them (exit 1: one is refused).
"$cli" destinations --policy "$work/policy.json" > "$work/destinations"
[ $? = 1 ] || fail "destinations should exit 1 with a refused one: $(cat "$work/destinations")"
grep -A2 "^local$" "$work/destinations" | grep -q "allowed" \
  || fail "local: $(cat "$work/destinations")"
grep -A2 "^not-a-mount$" "$work/destinations" | grep -q "refused: .*not an encrypted network mount" \
  || fail "not-a-mount: $(cat "$work/destinations")"

# -- export 1: the local folder ------------------------------------------------------------
as ada export Liver --to local > "$work/export1" 2> "$work/export1.err" \
  || fail "export: $(cat "$work/export1.err")"
grep -q "export \[ *[0-9]*%\] case 1 of 4" "$work/export1.err" \
  || fail "progress lines: $(cat "$work/export1.err")"
bundle1=$(field location "$work/export1")
manifest1=$(field manifest-sha256 "$work/export1")
[ -d "$bundle1" ] || fail "no bundle at '$bundle1': $(cat "$work/export1")"
[ "$(sha256sum "$bundle1/manifest-sha256.txt" | cut -d' ' -f1)" = "$manifest1" ] \
  || fail "the printed manifest hash is not manifest-sha256.txt's"
grep -q "revision	1 sha256" "$work/export1" || fail "revision: $(cat "$work/export1")"
"$cli" bundle verify "$bundle1" --public-key "$work/workstation.pub" > "$work/verify1" 2>&1 \
  || fail "bundle verify: $(cat "$work/verify1")"
minisign -V -p "$work/workstation.pub" -m "$bundle1/tagmanifest-sha256.txt" > "$work/minisign1" 2>&1 \
  || fail "minisign -V: $(cat "$work/minisign1")"
grep -q "Signature and comment signature verified" "$work/minisign1" || fail "$(cat "$work/minisign1")"
( cd "$bundle1" && sha256sum -c --quiet manifest-sha256.txt ) || fail "sha256sum -c"
$py "$src/tests/workflow/check_export.py" "$bundle1" --originals "$work/originals.json" \
  > "$work/check1" 2>&1 || fail "check_export: $(cat "$work/check1")"
grep -q "^ok: .* 4 SEGs" "$work/check1" || fail "$(cat "$work/check1")"
ds1=$(ls -d "$bundle1"/data/Dataset500_Liver)
for f in datasheet.md datasheet.pdf audit-checkpoint.json signing-key.pub; do
  [ -f "$bundle1/$f" ] || fail "no $f"
done
pdftotext "$bundle1/datasheet.pdf" - | grep -q "Consultant radiologist" || fail "datasheet PDF"
for text in "liver segmentation for a CT model" "$(sha256sum "$work/guideline.md" | cut -d' ' -f1)" \
  "SCT:10200004 (Liver)" "FRCR" "DCM 113100" "Merkle root" "Liver_004" "approve" "pair"; do
  grep -qF "$text" "$bundle1/datasheet.md" || fail "the datasheet lacks '$text'"
done
grep -q "^Radmark-Dataset-Parent-Revision: none" "$bundle1/bag-info.txt" \
  || fail "bag-info: $(cat "$bundle1/bag-info.txt")"
$py - "$bundle1" <<'PY' || fail "dataset.json, provenance, boxes"
import json, sys, glob
bag = sys.argv[1]
d = json.load(open(f"{bag}/data/Dataset500_Liver/dataset.json"))
assert d["channel_names"] == {"0": "CT"}, d
assert d["labels"] == {"background": 0, "Liver": 1}, d
splits = [json.load(open(f))["split"] for f in glob.glob(f"{bag}/data/cases/*/provenance.json")]
assert len(splits) == 4 and set(splits) == {"train", "validation", "test"}, splits
assert d["numTraining"] == len([s for s in splits if s != "test"]), (d, splits)
assert d["file_ending"] == ".nii.gz", d
assert len(d["radmark"]["revision_sha256"]) == 64, d
p = json.load(open(f"{bag}/data/cases/Liver_001/provenance.json"))
assert p["annotators"][0]["credentials"]["qualification"] == "FRCR", p
assert p["decisions"][0]["decision"] == "approve" and p["reviewers"][0]["name"] == "ruby", p
assert p["unapproved"] is False
r = json.load(open(f"{bag}/data/cases/Liver_001/deidentification-report.json"))
assert r["verdict"] == "deidentified", r
# No patient value anywhere: the generator's planted identity never appears.
for f in glob.glob(f"{bag}/**/*", recursive=True):
    if f.endswith((".json", ".md", ".txt")):
        t = open(f, errors="replace").read()
        assert "MRN-1000001" not in t and "DOE^JANE" not in t, f
PY
grep -rl "MRN-\|DOE^JANE" "$bundle1/data/dicom" && fail "a patient value in the DICOM files"

# -- export 2: the same revision again: the same payload, byte for byte ---------------------
as ada export Liver --to local > "$work/export2" 2> "$work/export2.err" \
  || fail "export 2: $(cat "$work/export2.err")"
grep -q "unchanged dataset" "$work/export2" || fail "not the same revision: $(cat "$work/export2")"
bundle2=$(field location "$work/export2")
[ "$bundle2" != "$bundle1" ] || fail "a second bundle of the same name"
cmp "$bundle1/manifest-sha256.txt" "$bundle2/manifest-sha256.txt" || fail "payloads differ"
[ "$(field manifest-sha256 "$work/export2")" = "$manifest1" ] || fail "manifest hash differs"

# -- the share, read back with smbclient ----------------------------------------------------
as ada export Liver --to share > "$work/export3" 2> "$work/export3.err" \
  || fail "share export: $(cat "$work/export3.err")"
grep -q "^location	smb://127.0.0.1:.*/bundles/exports/Dataset500_Liver-rev1-" "$work/export3" \
  || fail "share location: $(cat "$work/export3")"
share_bundle=$(field bundle "$work/export3")
mkdir -p "$work/fetched/$share_bundle"
smbclient //127.0.0.1/bundles -p "$(cat "$work/smb-enc/port")" -A "$work/smb-enc/credentials" \
  -s /dev/null -m SMB3 --client-protection=encrypt \
  -c "recurse ON; prompt OFF; cd exports/$share_bundle; lcd $work/fetched/$share_bundle; mget *" \
  > "$work/smbclient.out" 2>&1 || fail "smbclient: $(cat "$work/smbclient.out")"
cmp "$bundle1/manifest-sha256.txt" "$work/fetched/$share_bundle/manifest-sha256.txt" \
  || fail "the share's payload differs"
"$cli" bundle verify "$work/fetched/$share_bundle" --public-key "$work/workstation.pub" \
  > "$work/verify3" 2>&1 || fail "share bundle verify: $(cat "$work/verify3")"
ls -A "$(cat "$work/smb-enc/share")/exports" | grep -q "^\.partial" && fail "a partial on the share"

# -- refusals, each logged ------------------------------------------------------------------
as ada export Liver --to plain-share > /dev/null 2> "$work/err" && fail "an unencrypted share"
grep -qi "encrypt" "$work/err" || fail "plain share refusal: $(cat "$work/err")"
as ada export Liver --to not-a-mount > /dev/null 2> "$work/err" && fail "a plain local folder"
grep -q "not an encrypted network mount" "$work/err" || fail "folder refusal: $(cat "$work/err")"
as ada export Liver --to /tmp > /dev/null 2> "$work/err" && fail "a destination not in the policy"
grep -qi "policy" "$work/err" || fail "unlisted refusal: $(cat "$work/err")"
[ -z "$(ls -A "$(cat "$work/smb-plain/share")/exports")" ] || fail "something on the plain share"
[ -z "$(ls -A "$work/not-a-mount")" ] || fail "something in the refused folder"
as annie export Liver --to local > /dev/null 2> "$work/err" && fail "an annotator exported"

# -- killed mid-way (SIGKILL): only a hidden partial; the next run removes it ----------------
killed=""
for attempt in 1 2 3; do
  printf '%s\n' "$pw" | "$cli" export Liver --to local "${s[@]}" --user ada --password-stdin \
    > /dev/null 2>&1 &
  pid=$!
  for _ in $(seq 2000); do
    if compgen -G "$work/exports/.partial-*/data/Dataset500_Liver/imagesTr/*" > /dev/null; then
      kill -KILL "$pid"
      killed=yes
      break
    fi
    kill -0 "$pid" 2> /dev/null || break
    sleep 0.005
  done
  wait "$pid" 2> /dev/null
  [ -n "$killed" ] && break
done
[ -n "$killed" ] || fail "the export finished before it could be killed, three times"
compgen -G "$work/exports/.partial-*" > /dev/null || fail "no partial after the kill"
# Nothing that looks complete: the bundles are the two finished ones.
[ "$(ls "$work/exports" | wc -l)" = 2 ] || fail "after the kill: $(ls -A "$work/exports")"
as ada export Liver --to local > "$work/export4" 2> "$work/export4.err" \
  || fail "export after the kill: $(cat "$work/export4.err")"
grep -q "^note	removed .*\.partial-" "$work/export4" || fail "no clean-up note: $(cat "$work/export4")"
compgen -G "$work/exports/.partial-*" > /dev/null && fail "the partial is still there"

# -- Ctrl+C (SIGINT): cancelled cleanly ----------------------------------------------------
cancelled=""
for attempt in 1 2 3; do
  printf '%s\n' "$pw" | "$cli" export Liver --to local "${s[@]}" --user ada --password-stdin \
    > /dev/null 2> "$work/int.err" &
  pid=$!
  for _ in $(seq 2000); do
    if compgen -G "$work/exports/.partial-*/data/Dataset500_Liver/imagesTr/*" > /dev/null; then
      kill -INT "$pid"
      cancelled=yes
      break
    fi
    kill -0 "$pid" 2> /dev/null || break
    sleep 0.005
  done
  wait "$pid"
  status=$?
  [ -n "$cancelled" ] && break
done
[ -n "$cancelled" ] || fail "the export finished before Ctrl+C, three times"
[ "$status" = 130 ] || fail "Ctrl+C exit $status: $(cat "$work/int.err")"
grep -q "cancelled" "$work/int.err" || fail "cancel message: $(cat "$work/int.err")"
compgen -G "$work/exports/.partial-*" > /dev/null && fail "a partial after Ctrl+C"

# -- age: encrypted to a recipient, decrypted by age -d ----------------------------------------
age-keygen -o "$work/age.key" 2> /dev/null || fail "age-keygen"
recipient=$(age-keygen -y "$work/age.key")
as ada export Liver --to local --encrypt-to "$recipient" > "$work/export5" 2> "$work/export5.err" \
  || fail "encrypted export: $(cat "$work/export5.err")"
bundle5=$(field location "$work/export5")
name5=$(field bundle "$work/export5")
[ "$(ls "$bundle5")" = "$name5.tar.age" ] || fail "encrypted bundle holds: $(ls "$bundle5")"
mkdir -p "$work/decrypted"
age -d -i "$work/age.key" "$bundle5/$name5.tar.age" | tar -x -C "$work/decrypted" \
  || fail "age -d"
"$cli" bundle verify "$work/decrypted/$name5" --public-key "$work/workstation.pub" \
  > "$work/verify5" 2>&1 || fail "decrypted bundle verify: $(cat "$work/verify5")"
cmp "$bundle1/manifest-sha256.txt" "$work/decrypted/$name5/manifest-sha256.txt" \
  || fail "the encrypted payload differs"

# -- the exported label comes back voxel for voxel; the changed dataset is revision 2 ---------
s1=$($py -c "import json; print(json.load(open('$bundle1/data/cases/Liver_001/provenance.json'))['study'])")
as annie annotations import --study "$s1" \
  --mask "$(ls "$ds1"/labels*/Liver_001.nii.gz)" --segments "$work/liver.json" \
  --message "re-imported from the export" > "$work/reimport" 2>&1 \
  || fail "re-import: $(cat "$work/reimport")"
v=$(as annie studies | awk -F'\t' -v s="$s1" '$1 == s {print $5}')
# The exported SEG comes back too, voxel for voxel the same as the re-imported NIfTI label.
as annie annotations import --study "$s1" --mask "$bundle1/data/dicom/Liver_001/seg.dcm" \
  --message "the exported SEG" > "$work/reimport-seg" 2>&1 \
  || fail "SEG re-import: $(cat "$work/reimport-seg")"
vseg=$(as annie studies | awk -F'\t' -v s="$s1" '$1 == s {print $5}')
as ruby review diff "$v" "$vseg" --json > "$work/seg-diff.json" || fail "diff NIfTI/SEG"
$py - "$work/seg-diff.json" <<'PY' || fail "SEG and NIfTI re-imports differ: $(cat "$work/seg-diff.json")"
import json, sys
d = json.load(open(sys.argv[1]))
segments = d["segments"]
assert segments and all(s["voxels_reference"] == s["voxels_compared"] == s["voxels_both"] > 0
                        for s in segments), segments
PY
as annie review submit "$v" > /dev/null || fail "submit re-import"
as ruby review decide "$v" approve > /dev/null || fail "approve re-import"
as ada export Liver --to local > "$work/export6" 2> "$work/export6.err" \
  || fail "export 6: $(cat "$work/export6.err")"
grep -q "revision	2 sha256" "$work/export6" || fail "no revision 2: $(cat "$work/export6")"
bundle6=$(field location "$work/export6")
grep -q "^Radmark-Dataset-Parent-Revision: 1 sha256:" "$bundle6/bag-info.txt" \
  || fail "parent: $(cat "$bundle6/bag-info.txt")"
label1=$(ls "$ds1"/labels*/Liver_001.nii.gz)
label6=$(ls "$bundle6"/data/Dataset500_Liver/labels*/Liver_001.nii.gz)
$py - "$label1" "$label6" <<'PY' \
  || fail "re-imported label voxels"
import sys, nibabel as nib, numpy as np
a, b = (nib.load(f) for f in sys.argv[1:3])
assert np.array_equal(np.asarray(a.dataobj), np.asarray(b.dataobj)), "voxels differ"
assert np.allclose(a.affine, b.affine)
PY
cmp "$label1" "$label6" \
  || fail "the re-imported label's file differs"

# -- the record: which version did we train on ------------------------------------------------
as ada dataset show Liver > "$work/show" || fail "show"
[ "$(grep -c "^export .*completed" "$work/show")" = 6 ] || fail "completed exports: $(cat "$work/show")"
grep -q "^export .*refused.*cancelled" "$work/show" || fail "the cancel: $(cat "$work/show")"
grep -q "^export .*refused.*plain-share" "$work/show" || fail "plain share: $(cat "$work/show")"
grep -q "^export .*refused.*to local.*reason: interrupted" "$work/show" \
  || fail "the killed export: $(cat "$work/show")"
grep -q "^export .*revision 2.*completed.*manifest" "$work/show" || fail "revision 2 export"
grep -qP "^  $s1\t[0-9a-f]{64}\t(train|validation|test)" "$work/show" \
  || fail "versions: $(cat "$work/show")"
printf '%s\n' "$pw" | "$cli" audit verify --audit-key "$work/audit.key" "${s[@]}" --user ada \
  --password-stdin > "$work/verify" || fail "audit verify: $(cat "$work/verify")"
printf '%s\n' "$pw" | "$cli" audit show "${s[@]}" --as ada --password-stdin > "$work/log"
for action in "dataset export started" "dataset export completed" "dataset export refused" \
  "audit checkpoint" "read for export"; do
  grep -q "  $action  " "$work/log" || fail "the log has no '$action'"
done
grep "dataset export completed" "$work/log" | grep -q "manifest $manifest1; versions:" \
  || fail "completed entry: $(grep 'export completed' "$work/log" | head -1)"
echo "radmark-cli export: all checks passed"
