#!/usr/bin/env bash
# Threat model (issue 13): the workstation through the store service (radmark --via SOCKET,
# app/gui/ServiceWorkspace.h). radmarkd runs as a service uid that owns the store (0700); anna,
# an annotator, has a second uid. Under Xvfb, driven with real clicks and keystrokes
# (ServiceWorkstationScreens.cpp, GUI_SCREENS below):
#   (a) as the service account, the in-process workstation (StoreWorkspace) logged in as anna
#       shows her study with its newest version: the reference screen;
#   (b) as anna's own uid, the workstation through radmarkd: her password typed into the login
#       dialog, her worklist (her one assigned study) clicked, the study and its newest version
#       on screen equal to the reference pixel for pixel, a stroke, Ctrl+S: a new version,
#       Ctrl+Return: submitted for review; a stroke autosaved as her draft, offered to a new
#       session (a second window), recovered voxel for voxel and saved; a key rotation (ada,
#       through the service) ends that session: her next save is refused in its words, the login
#       comes back with her name; logged in again she saves her edits on the version on screen
#       (one new chunk); after another rotation rita logging in there does not see anna's study;
#       her process holds no store file open or mapped (/proc/self/fd, /proc/self/maps);
#   (c) the version is in the store, by anna, listed in-process; the service's log names her uid
#       and her process's pid; the store's access log has her "open study" and "save" with her
#       uid and pid (where the access log records from where);
#   (e) a draft sent by a hand-written client that names, as content she kept, a chunk of
#       another annotator's study (a chunk in the store she may not read) is refused and logged;
#       so are open-version of bob's study, bob's version named on her study, a decision on
#       her own version (an annotator's) and the reviewers' agreement report; her own version
#       opens (a sealed memfd);
#   (f) rita, a reviewer with a third uid, opens anna's submitted version from her queue through
#       the service: the compare view shows it beside her previous version, with the metrics
#       `review diff --json` computes in-process; she pins a comment there and resolves it (in
#       the store as hers, resolved); she approves it (Ctrl+Shift+A): approved in the store, her
#       uid and pid in the access log; her agreement report (Ctrl+Shift+G, saved as CSV by her
#       process) equals `review agreement`'s in-process;
#   (g) ada, the admin, with a fourth uid: a key rotation through her session reports its
#       stages as it goes; Store > Administration through the service adds nora (typed, her
#       password never in the service's log), assigns her anna's study (her worklist through
#       the service has it), disables bob (a rotation behind the progress dialog: he no longer
#       logs in), filters the access log and verifies it with her copy of the audit key; each
#       in the access log with her uid and pid; anna's hand-written client asking for the users
#       and adding one is refused and logged;
#   (h) ada again: Admin > Datasets (Ctrl+Shift+B) through the service builds a dataset of anna's
#       study with the version rita approved (split, protocol picked in the file dialog, its
#       uncoded segment mapped) and freezes it; Export dataset (Ctrl+Shift+E) to the policy's
#       folder (the service's), the bar moving stage by stage to "Exported"; the bundle, written
#       by the worker as the service account, verifies with `bundle verify` against the
#       workstation's public key, and nibabel reads its image and label on the CT's grid; a
#       second export cancelled at its first case leaves nothing there; both in the access log
#       with her uid and pid; anna's hand-written client asking for the datasets and an export
#       is refused and logged;
#   (d) the real binary: `radmark --via` as anna, her password typed with xdotool into the login
#       window, the worklist comes up; `radmark --via S --store D` is refused (exit 2).
# Needs root (setpriv to other uids); exits 77 (SKIP) otherwise.
# Usage: ServiceWorkstation.sh RADMARK_CLI RADMARKD GUI_SCREENS RADMARK SOURCE_DIR
set -u
cli="$(readlink -f "$1")"
radmarkd="$(readlink -f "$2")"
gui_tests="$(readlink -f "$3")"
radmark="$(readlink -f "$4")"
src="$5"
for tool in xvfb-run setpriv; do
  command -v "$tool" > /dev/null || { echo "SKIP: $tool is not installed (scripts/setup)"; exit 77; }
done
service_uid=61321
anna_uid=61322
rita_uid=61323
ada_uid=61324
source "$src/tests/threat/accounts.sh"
threat_begin $service_uid $anna_uid $rita_uid $ada_uid
py=/usr/bin/python3
pw='admin password 123'
apw='anna password 1234'
bpw='bob password 12345'
rpw='rita password 123456'

# --- the site's IT sets the store up as the service account ---
store_begin
# The site's one export destination: a folder of the service's (the worker writes the bundles).
bundles="$work/bundles"
mkdir -m 0700 "$bundles" && chown "$service_uid:$service_uid" "$bundles"
$py - "$work/policy.json" "$bundles" << 'EOF' || fail "the policy's export destination"
import json, sys
path, folder = sys.argv[1:3]
with open(path) as f:
    policy = json.load(f)
policy["export_destinations"] = [{"name": "research folder", "folder": folder, "local": True}]
with open(path, "w") as f:
    json.dump(policy, f)
EOF
mkdir -m 0755 "$work/shared" && chown "$service_uid:$service_uid" "$work/shared"
generated_ct "$work/ct" 11 4 64
generated_ct "$work/ct-b" 12 4 64
client="$src/tests/threat/service_channel_client.py"
store_add_user anna annotator "$apw"
study=$(import_study "$work/ct")
[ -n "$study" ] || fail "no study imported"
svc assign anna "$study" > /dev/null || fail "assign anna"
start_radmarkd
# Her first version, through the service (a label in a square of every slice).
printf '%s\n' "$apw" | as "$anna_uid" $py "$client" session \
  "$sock" anna "save:$study:64:64:4" > "$work/first.out" 2> "$work/err" \
  || fail "her first version: $(cat "$work/err")"
grep -q "^save version=" "$work/first.out" || fail "her first version: $(cat "$work/first.out")"

# A draft that names another study's content as hers is refused and logged: bob's edited slice
# (a chunk in the store, of a version anna may not read).
store_add_user rita reviewer "$rpw"
store_add_user bob annotator "$bpw"
study_b=$(import_study "$work/ct-b")
[ -n "$study_b" ] || fail "study b not imported"
svc assign bob "$study_b" > /dev/null || fail "assign bob"
printf '%s\n' "$bpw" | as "$anna_uid" $py "$client" session "$sock" bob "save:$study_b:64:64:4" \
  "edit:$study_b:last:1" > "$work/bob.out" 2> "$work/err" || fail "bob's versions: $(cat "$work/err")"
foreign=$($py "$client" edited-hash 64 64)
printf '%s\n' "$apw" | as "$anna_uid" $py "$client" session "$sock" anna \
  "draft:$study:64:64:4:$foreign" > "$work/foreign.out" 2> "$work/err" || true
grep -q "^draft refused: slice 0 names content that is not of the version you edit nor of your draft: not saved$" \
  "$work/foreign.out" || fail "a draft naming bob's chunk: $(cat "$work/foreign.out") $(cat "$work/err")"
printf '%s\n' "$pw" | as "$service_uid" "$cli" audit show --store "$store" --policy "$work/policy.json" \
  --as ada --user anna --action "refused draft" --password-stdin > "$work/refused.out" 2> "$work/err" \
  || fail "audit show: $(cat "$work/err")"
grep -q "refused draft" "$work/refused.out" || fail "the refused draft is not in the access log"
# Her client asks for bob's version, and decides on her own: both refused, both logged.
bob_version=$(sed -n 's/^edit version=\([0-9a-f]*\) .*/\1/p' "$work/bob.out")
anna_version=$(sed -n 's/^save version=\([0-9a-f]*\) .*/\1/p' "$work/first.out")
[ -n "$bob_version" ] && [ -n "$anna_version" ] || fail "versions: $(cat "$work/bob.out" "$work/first.out")"
printf '%s\n' "$apw" | as "$anna_uid" $py "$client" session "$sock" anna \
  "openversion:$study_b:$bob_version" "openversion:$study:$bob_version" \
  "decide:$study:$anna_version:approve" "openversion:$study:$anna_version" agreement \
  > "$work/asks.out" 2> "$work/err" || true
[ "$(sed -n 1p "$work/asks.out" | cut -d: -f1)" = "openversion refused" ] \
  || fail "bob's study's version was opened: $(cat "$work/asks.out")"
[ "$(sed -n 2p "$work/asks.out")" = "openversion refused: there is no version ${bob_version:0:12} of this study that you may read: not opened" ] \
  || fail "bob's version named on her study: $(sed -n 2p "$work/asks.out")"
sed -n 3p "$work/asks.out" | grep -q "^decide refused: " || fail "an annotator decided: $(cat "$work/asks.out")"
[ "$(sed -n 4p "$work/asks.out")" = "openversion sealed=1 bytes=16384" ] \
  || fail "her own version through open-version: $(sed -n 4p "$work/asks.out")"
[ "$(sed -n 5p "$work/asks.out")" = "agreement refused: the agreement report is for reviewers" ] \
  || fail "an annotator's agreement report through the service: $(sed -n 5p "$work/asks.out")"
printf '%s\n' "$pw" | as "$service_uid" "$cli" audit show --store "$store" --policy "$work/policy.json" \
  --as ada --user anna --password-stdin > "$work/asks-audit.out" 2> "$work/err" \
  || fail "audit show: $(cat "$work/err")"
grep -q "refused open version" "$work/asks-audit.out" || fail "the refused open-version is not in the access log"
grep "refused" "$work/asks-audit.out" | grep -qi "decide\|review" \
  || fail "the refused decision is not in the access log: $(grep refused "$work/asks-audit.out")"
grep -q "refused agreement report" "$work/asks-audit.out" \
  || fail "the refused agreement report is not in the access log"

gui_test() { # gui_test UID FILTER VAR=VALUE...: one test of the GUI binary under Xvfb as UID
  local uid="$1" filter="$2"
  shift 2
  as "$uid" env QT_QPA_PLATFORM=xcb RADMARK_TEST_USER=anna RADMARK_TEST_PASSWORD="$apw" \
    RADMARK_TEST_STUDY="$study" \
    RADMARK_TEST_REFERENCE="$work/shared/reference.png" "$@" \
    xvfb-run -a -s "-screen 0 1920x1200x24" "$gui_tests" --gtest_filter="ServiceWorkspace.$filter"
}
# --- (a) the reference: the in-process workstation, as the service account ---
gui_test "$service_uid" ReferenceScreen RADMARK_TEST_STORE="$store" > "$work/reference.log" 2>&1 \
  || fail "the in-process reference screen: $(tail -30 "$work/reference.log")"
grep -q "^\[  PASSED  \] 1 test" "$work/reference.log" || fail "the reference did not run: $(cat "$work/reference.log")"
chmod 0644 "$work/shared/reference.png"

# --- (b) the workstation through radmarkd, as anna ---
result="$work/home/$anna_uid/result"
# She cannot even see the store's folder.
as "$anna_uid" ls "$store" > /dev/null 2>&1 && fail "anna lists the store's folder"
# Her drafts are written when the test says (autosaveNow), not by the timer: a draft written
# between her login and Ctrl+S would hold the edited slice, and the save then writes 0 chunks.
gui_test "$anna_uid" ThroughRadmarkd RADMARK_TEST_SERVICE="$sock" RADMARK_TEST_STORE="$store" \
  RADMARK_TEST_RESULT="$result" RADMARK_TEST_CLI="$cli" RADMARK_TEST_ADMIN_PASSWORD="$pw" \
  RADMARK_TEST_OTHER_USER=rita RADMARK_TEST_OTHER_PASSWORD="$rpw" RADMARK_AUTOSAVE_SECONDS=3600 \
  > "$work/through.log" 2>&1 \
  || fail "the workstation through the service: $(tail -40 "$work/through.log")"
grep -q "^\[  PASSED  \] 1 test" "$work/through.log" || fail "did not run: $(cat "$work/through.log")"
read -r version gui_pid < "$result" || fail "no result"
[ "${#version}" = 64 ] || fail "the saved version: '$version'"

# --- (c) in the store, by anna; her uid and pid in both logs ---
printf '%s\n' "$apw" | as "$service_uid" "$cli" versions --study "$study" --store "$store" \
  --policy "$work/policy.json" --user anna --password-stdin > "$work/versions.out" 2> "$work/err" \
  || fail "versions in-process: $(cat "$work/err")"
grep "^${version:0:12}" "$work/versions.out" | grep -q "anna" \
  || fail "the version saved through the workstation is not in the store: $(cat "$work/versions.out")"
# Hers through the client, hers through the workstation, her recovered draft saved, and her edits
# saved after she logged in again (the key rotated under her session).
[ "$(grep -c "^[0-9a-f]" "$work/versions.out")" = 4 ] || fail "four versions expected: $(cat "$work/versions.out")"
grep -q "her recovered draft" "$work/versions.out" || fail "the recovered draft was not saved: $(cat "$work/versions.out")"
grep -q "her edits after logging in again" "$work/versions.out" \
  || fail "her edits were not saved after she logged in again: $(cat "$work/versions.out")"
grep -q "from uid $anna_uid gid $anna_uid pid $gui_pid: 'service session' in worker" \
  "$work/radmarkd.log" || fail "the service's log does not name the workstation's uid and pid"
grep -q "$apw" "$work/radmarkd.log" && fail "the service's log holds her password"
printf '%s\n' "$pw" | as "$service_uid" "$cli" audit show --store "$store" --policy "$work/policy.json" \
  --as ada --user anna --password-stdin > "$work/audit.out" 2> "$work/err" || fail "audit show: $(cat "$work/err")"
grep "save" "$work/audit.out" | grep -q "anna" || fail "her save is not in the access log: $(cat "$work/audit.out")"
# Submitted through the workstation, then withdrawn by her next version (the recovered draft).
grep "  submit  " "$work/audit.out" | grep -q "(${version:0:12})" \
  || fail "her submission is not in the access log: $(grep submit "$work/audit.out")"
grep -q "withdraw submission" "$work/audit.out" || fail "the submission was not withdrawn by her next version"
grep -q "recover draft" "$work/audit.out" || fail "the recovery is not in the access log"
if grep -q "uid [0-9]" "$work/audit.out"; then # the access log records from where
  grep "open study" "$work/audit.out" | grep -q "uid $anna_uid" \
    || fail "the access log does not name her uid for the study she opened: $(grep "open study" "$work/audit.out")"
  grep "save" "$work/audit.out" | grep "uid $anna_uid" | grep -q "pid $gui_pid" \
    || fail "the access log does not name the workstation's uid and pid: $(grep save "$work/audit.out")"
fi

# --- (f) the reviewer under her own uid: anna's submitted version from her queue, approved ---
# bob annotates anna's study too (not submitted): the agreement report then has his version
# against the one rita approves.
svc assign bob "$study" > /dev/null || fail "assign bob to anna's study"
printf '%s\n' "$bpw" | as "$anna_uid" $py "$client" session "$sock" bob "save:$study:64:64:4" \
  > "$work/bob-a.out" 2> "$work/err" || fail "bob's version of anna's study: $(cat "$work/err")"
review_result="$work/home/$rita_uid/result"
gui_test "$rita_uid" ReviewerThroughRadmarkd RADMARK_TEST_USER=rita RADMARK_TEST_PASSWORD="$rpw" \
  RADMARK_TEST_SERVICE="$sock" RADMARK_TEST_STORE="$store" RADMARK_TEST_RESULT="$review_result" \
  > "$work/review.log" 2>&1 || fail "the reviewer through the service: $(tail -40 "$work/review.log")"
read -r reviewed rita_pid compared < "$review_result" || fail "no review result"
# The compare view's metrics, both label maps through the service, are the in-process ones.
printf '%s\n' "$rpw" | as "$service_uid" "$cli" review diff "$reviewed" "$compared" --json \
  --store "$store" --policy "$work/policy.json" --user rita --password-stdin > "$work/diff.json" \
  2> "$work/err" || fail "review diff in-process: $(cat "$work/err")"
cmp -s "$work/diff.json" "$review_result.metrics" \
  || fail "the compare view's metrics differ from review diff's: $(diff "$work/diff.json" "$review_result.metrics" | head -20)"
# The agreement report her workstation showed (through the service) is the in-process one.
agreement="$work/service/agreement.csv"
printf '%s\n' "$rpw" | as "$service_uid" "$cli" review agreement --out "$agreement" \
  --store "$store" --policy "$work/policy.json" --user rita --password-stdin > /dev/null \
  2> "$work/err" || fail "review agreement in-process: $(cat "$work/err")"
[ "$(wc -l < "$agreement")" -ge 2 ] || fail "the agreement report has no rows: $(cat "$agreement")"
cmp -s "$agreement" "$review_result.agreement.csv" \
  || fail "the workstation's agreement report differs: $(diff "$agreement" "$review_result.agreement.csv")"
# Her comment, pinned and resolved through the service, is in the store, hers.
printf '%s\n' "$rpw" | as "$service_uid" "$cli" review comments "$reviewed" --store "$store" \
  --policy "$work/policy.json" --user rita --password-stdin > "$work/comments.out" 2> "$work/err" \
  || fail "review comments in-process: $(cat "$work/err")"
grep -q "^    pinned through the service$" "$work/comments.out" \
  && grep "^comment " "$work/comments.out" | grep -q "  rita  .*resolved by rita$" \
  || fail "her comment is not in the store as hers, resolved: $(cat "$work/comments.out")"
printf '%s\n' "$apw" | as "$service_uid" "$cli" versions --study "$study" --store "$store" \
  --policy "$work/policy.json" --user anna --password-stdin > "$work/versions.out" 2> "$work/err" \
  || fail "versions in-process: $(cat "$work/err")"
grep "^${reviewed:0:12}" "$work/versions.out" | grep -q "approved" \
  || fail "the version rita approved is not approved: $(cat "$work/versions.out")"
printf '%s\n' "$pw" | as "$service_uid" "$cli" audit show --store "$store" --policy "$work/policy.json" \
  --as ada --user rita --password-stdin > "$work/rita.out" 2> "$work/err" || fail "audit show: $(cat "$work/err")"
grep -i "approve" "$work/rita.out" | grep -q "uid $rita_uid.* pid $rita_pid " \
  || fail "her decision is not in the access log with her uid and pid: $(cat "$work/rita.out")"

# --- (g) the admin under her own uid: the admin panel through the service ---
# Her copy of the offline audit key, in her home (she holds it; the service has its own).
install -m 0600 -o "$ada_uid" -g "$ada_uid" "$work/service/audit.key" "$work/home/$ada_uid/audit.key"
admin_result="$work/home/$ada_uid/result"
npw='nora password 123456'
gui_test "$ada_uid" AdminThroughRadmarkd RADMARK_TEST_USER=ada RADMARK_TEST_PASSWORD="$pw" \
  RADMARK_TEST_SERVICE="$sock" RADMARK_TEST_STORE="$store" RADMARK_TEST_RESULT="$admin_result" \
  RADMARK_TEST_OTHER_USER=nora RADMARK_TEST_OTHER_PASSWORD="$npw" \
  RADMARK_TEST_AUDIT_KEY="$work/home/$ada_uid/audit.key" > "$work/admin.log" 2>&1 \
  || fail "the admin through the service: $(tail -40 "$work/admin.log")"
read -r notes ada_pid < "$admin_result" || fail "no admin result"
[ "$notes" -ge 3 ] || fail "the rotation's progress did not cross: $notes notes"
# In the store: nora added (an annotator, active) and assigned, bob disabled.
printf '%s\n' "$pw" | as "$service_uid" "$cli" user list --store "$store" --policy "$work/policy.json" \
  --user ada --password-stdin > "$work/users.out" 2> "$work/err" || fail "user list: $(cat "$work/err")"
grep "^nora " "$work/users.out" | grep -q "annotator" || fail "nora is not in the store: $(cat "$work/users.out")"
grep "^nora " "$work/users.out" | grep -q "disabled" && fail "nora is disabled: $(cat "$work/users.out")"
grep "^bob " "$work/users.out" | grep -q "disabled" || fail "bob is not disabled: $(cat "$work/users.out")"
printf '%s\n' "$npw" | as "$anna_uid" "$cli" studies --via "$sock" --user nora --password-stdin \
  > "$work/nora.out" 2> "$work/err" || fail "nora's worklist through the service: $(cat "$work/err")"
grep -q "$study" "$work/nora.out" || fail "the study assigned to nora is not in her worklist: $(cat "$work/nora.out")"
printf '%s\n' "$bpw" | as "$anna_uid" "$cli" studies --via "$sock" --user bob --password-stdin \
  > /dev/null 2> "$work/err" && fail "bob still logs in after the admin disabled him"
printf '%s\n' "$pw" | as "$service_uid" "$cli" audit show --store "$store" --policy "$work/policy.json" \
  --as ada --password-stdin > "$work/all.out" 2> "$work/err" || fail "audit show: $(cat "$work/err")"
grep -q "$npw" "$work/all.out" "$work/radmarkd.log" && fail "a log holds the new user's password"
printf '%s\n' "$pw" | as "$service_uid" "$cli" audit show --store "$store" --policy "$work/policy.json" \
  --as ada --user ada --password-stdin > "$work/ada.out" 2> "$work/err" || fail "audit show: $(cat "$work/err")"
for action in "user add" "assign" "user disable" "audit verify"; do
  grep "  $action  " "$work/ada.out" | grep -q "uid $ada_uid.* pid $ada_pid " \
    || fail "her '$action' is not in the access log with her uid and pid: $(grep "$action" "$work/ada.out")"
done
# Two rotations from her process: the test's own through StoreAccess, and the panel's disable.
[ "$(grep "  key rotation completed  " "$work/ada.out" | grep -c "uid $ada_uid.* pid $ada_pid ")" = 2 ] \
  || fail "her two rotations are not in the access log: $(grep "key rotation completed" "$work/ada.out")"
# An annotator's hand-written client asks for the users and adds one: both refused, both logged.
printf '%s\n' "$apw" | as "$anna_uid" $py "$client" session "$sock" anna users "adduser:mallory" \
  > "$work/admin-asks.out" 2> "$work/err" || true
[ "$(sed -n 1p "$work/admin-asks.out")" = "users refused: Annotators cannot see the list of users: only the admin role manages accounts." ] \
  || fail "an annotator's users list through the service: $(cat "$work/admin-asks.out") $(cat "$work/err")"
sed -n 2p "$work/admin-asks.out" | grep -q "^adduser refused: " \
  || fail "an annotator added a user through the service: $(cat "$work/admin-asks.out")"
printf '%s\n' "$pw" | as "$service_uid" "$cli" audit show --store "$store" --policy "$work/policy.json" \
  --as ada --user anna --password-stdin > "$work/anna-admin.out" 2> "$work/err" \
  || fail "audit show: $(cat "$work/err")"
grep "refused list users" "$work/anna-admin.out" | grep -q "uid $anna_uid" \
  || fail "the refused users list is not in the access log with her uid"
grep "refused add user" "$work/anna-admin.out" | grep -q "uid $anna_uid" \
  || fail "the refused user add is not in the access log with her uid"

# --- (h) the admin's dataset, built and exported through the service ---
protocol="$work/home/$ada_uid/guideline.md"
printf '# Liver guideline\n\nOutline the liver on every slice.\n' > "$protocol"
chown "$ada_uid:$ada_uid" "$protocol"
export_result="$work/home/$ada_uid/export-result"
gui_test "$ada_uid" AdminExportsThroughRadmarkd RADMARK_TEST_USER=ada RADMARK_TEST_PASSWORD="$pw" \
  RADMARK_TEST_SERVICE="$sock" RADMARK_TEST_STORE="$store" RADMARK_TEST_RESULT="$export_result" \
  RADMARK_TEST_PROTOCOL="$protocol" RADMARK_TEST_DESTINATION="research folder" \
  > "$work/export.log" 2>&1 || fail "the admin's export through the service: $(tail -40 "$work/export.log")"
grep -q "^\[  PASSED  \] 1 test" "$work/export.log" || fail "did not run: $(cat "$work/export.log")"
read -r bundle export_pid < "$export_result" || fail "no export result"
# The one bundle in the policy's folder, the service's: the cancelled export left nothing there,
# not even a partial folder.
[ -n "$bundle" ] && [ "$(ls -A "$bundles")" = "$bundle" ] \
  || fail "the export folder holds '$(ls -A "$bundles" | tr '\n' ' ')', not the bundle '$bundle' alone"
[ "$(stat -c %u "$bundles/$bundle")" = "$service_uid" ] || fail "the bundle is not the service's"
svc audit public-key > "$work/workstation.pub" 2> "$work/err" || fail "audit public-key: $(cat "$work/err")"
as "$service_uid" "$cli" bundle verify "$bundles/$bundle" --public-key "$work/workstation.pub" \
  > "$work/verify.out" 2>&1 || fail "the bundle does not verify: $(cat "$work/verify.out")"
grep -q "verified with the given public key" "$work/verify.out" && grep -q "Dataset500_Liver" "$work/verify.out" \
  || fail "bundle verify: $(cat "$work/verify.out")"
# An independent reader: the image and its label on the CT's grid (64 x 64, 4 slices), the label
# holding the values of dataset.json's table and more than background.
as "$service_uid" $py - "$bundles/$bundle" > "$work/nifti.out" 2>&1 << 'EOF' || fail "nibabel: $(cat "$work/nifti.out")"
import glob, json, sys
import nibabel, numpy
data = glob.glob(sys.argv[1] + "/data/Dataset500_Liver")[0]
images = sorted(glob.glob(data + "/imagesTr/*.nii.gz"))
labels = sorted(glob.glob(data + "/labelsTr/*.nii.gz"))
assert len(images) == 1 and len(labels) == 1, (images, labels)
image, label = nibabel.load(images[0]), nibabel.load(labels[0])
assert image.shape == (64, 64, 4) and label.shape == image.shape, (image.shape, label.shape)
assert numpy.allclose(image.affine, label.affine), "the label is not on the image's grid"
values = set(numpy.unique(numpy.asarray(label.dataobj)).tolist())
with open(data + "/dataset.json") as f:
    table = set(json.load(f)["labels"].values())
assert values <= table and len(values) > 1, (values, table)
print("nifti", image.shape, sorted(values))
EOF
# Her export and the cancelled one, in the access log with her uid and pid.
printf '%s\n' "$pw" | as "$service_uid" "$cli" audit show --store "$store" --policy "$work/policy.json" \
  --as ada --user ada --password-stdin > "$work/ada-export.out" 2> "$work/err" \
  || fail "audit show: $(cat "$work/err")"
grep "  dataset export completed  " "$work/ada-export.out" | grep "bundle $bundle" \
  | grep -q "uid $ada_uid.* pid $export_pid " \
  || fail "her export is not in the access log with her uid and pid: $(grep "dataset export" "$work/ada-export.out")"
grep "  dataset export refused  " "$work/ada-export.out" | grep "cancelled" \
  | grep -q "uid $ada_uid.* pid $export_pid " \
  || fail "the cancelled export is not in the access log: $(grep "dataset export" "$work/ada-export.out")"
# An annotator's hand-written client asks for the datasets and an export: refused, logged.
printf '%s\n' "$apw" | as "$anna_uid" $py "$client" session "$sock" anna datasets \
  "export:Liver:research folder" > "$work/export-asks.out" 2> "$work/err" || true
[ "$(sed -n 1p "$work/export-asks.out")" = "datasets refused: Annotators cannot see datasets: an admin builds and exports them." ] \
  || fail "an annotator's datasets through the service: $(cat "$work/export-asks.out") $(cat "$work/err")"
[ "$(sed -n 2p "$work/export-asks.out")" = "export refused: Annotators cannot export datasets: an admin exports to the site's allowed destinations." ] \
  || fail "an annotator's export through the service: $(cat "$work/export-asks.out")"
[ "$(ls -A "$bundles")" = "$bundle" ] || fail "the annotator's export left something in the folder"
printf '%s\n' "$pw" | as "$service_uid" "$cli" audit show --store "$store" --policy "$work/policy.json" \
  --as ada --user anna --password-stdin > "$work/anna-export.out" 2> "$work/err" \
  || fail "audit show: $(cat "$work/err")"
grep "refused read datasets" "$work/anna-export.out" | grep -q "uid $anna_uid" \
  || fail "the refused datasets list is not in the access log with her uid"
grep "refused record dataset export" "$work/anna-export.out" | grep -q "uid $anna_uid" \
  || fail "the refused export is not in the access log with her uid"

# --- (d) the real binary under her uid: login typed, worklist up; --via with --store refused ---
as "$anna_uid" env QT_QPA_PLATFORM=offscreen "$radmark" --via "$sock" --store "$store" > /dev/null 2> "$work/err"
[ $? = 2 ] || fail "--via with --store was not refused: $(cat "$work/err")"
grep -q "takes no --store" "$work/err" || fail "--via --store: $(cat "$work/err")"
cat > "$work/home/$anna_uid/drive.sh" << EOF
#!/usr/bin/env bash
# Inside her X session: the workstation, her keystrokes, the worklist's title.
"$radmark" --via "$sock" > "$work/home/$anna_uid/gui.log" 2>&1 &
gui=\$!
# xdotool's search fails (BadWindow) when a window goes while it looks: look again until found.
find_window() { # find_window NAME: the first window of that name, within 60 s
  local id
  for _ in \$(seq 600); do
    id=\$(xdotool search --name "\$1" 2> /dev/null | head -1)
    [ -n "\$id" ] && { echo "\$id"; return 0; }
    sleep 0.1
  done
  return 1
}
login=\$(find_window 'log in') || { echo "no login window"; exit 1; }
xdotool windowfocus --sync "\$login" 2> /dev/null
xdotool type --delay 20 anna
xdotool key Tab
xdotool type --delay 20 "\$1"
xdotool key Return
find_window 'Worklist' > /dev/null || { echo "no worklist after login"; cat "$work/home/$anna_uid/gui.log"; exit 1; }
echo "\$gui" > "$work/home/$anna_uid/gui.pid"
# root looks at its descriptors (it is not dumpable: she cannot), then says go
for _ in \$(seq 600); do [ -f "$work/home/$anna_uid/go" ] && break; sleep 0.1; done
kill \$gui
wait \$gui 2> /dev/null
echo "worklist shown"
EOF
chmod 0755 "$work/home/$anna_uid/drive.sh" && chown "$anna_uid" "$work/home/$anna_uid/drive.sh"
if command -v xdotool > /dev/null; then
  as "$anna_uid" xvfb-run -a -s "-screen 0 1920x1200x24" "$work/home/$anna_uid/drive.sh" "$apw" \
    > "$work/drive.out" 2>&1 &
  drive=$!
  for _ in $(seq 900); do [ -s "$work/home/$anna_uid/gui.pid" ] && break; kill -0 "$drive" 2> /dev/null || break; sleep 0.1; done
  [ -s "$work/home/$anna_uid/gui.pid" ] || { wait "$drive"; fail "the real workstation: $(cat "$work/drive.out")"; }
  gui=$(cat "$work/home/$anna_uid/gui.pid")
  [ "$(stat -c %u "/proc/$gui")" = "$anna_uid" ] || fail "the workstation does not run as anna"
  descriptors=$(ls /proc/$gui/fd | wc -l)
  [ "$descriptors" -gt 3 ] || fail "no descriptors read of the workstation ($descriptors)"
  for fd in /proc/$gui/fd/*; do
    readlink "$fd" | grep -q "^$work/service" && fail "the workstation holds a store file: $(readlink "$fd")"
  done
  grep -q "$work/service" "/proc/$gui/maps" && fail "the workstation maps a store file"
  touch "$work/home/$anna_uid/go"
  wait "$drive" || fail "the real workstation: $(cat "$work/drive.out")"
  grep -q "worklist shown" "$work/drive.out" || fail "the real workstation: $(cat "$work/drive.out")"
  # Her login through the real workstation, in the access log as the workstation's process.
  printf '%s\n' "$pw" | as "$service_uid" "$cli" audit show --store "$store" --policy "$work/policy.json" \
    --as ada --user anna --action login --password-stdin > "$work/logins.out" 2> "$work/err" \
    || fail "audit show logins: $(cat "$work/err")"
  grep -q "from uid $anna_uid.* pid $gui radmark 0\.1\.0 " "$work/logins.out" \
    || fail "the login through the workstation does not name it: $(tail -3 "$work/logins.out")"
fi
echo "PASS: the workstation through the service, under her own OS account"
