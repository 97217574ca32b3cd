#pragma once
// What the workstation asks about an annotation's unsaved work, the same on a personal store
// (StoreWorkspace) and through the store service (ServiceWorkspace): her draft waiting when a
// study opens, edits not saved as a version before they are replaced or submitted, a reviewer's
// comment on her decision and open comments before an approval; and the autosave interval and
// local clock they are told in; and what both show of versions and decisions (short ids, the
// status line after opening a version, the Review menu's decision actions, the text of a comment
// pinned to a voxel and the actions stepping through comments).

#include "annotation/Version.h"
#include "imaging/Volume.h"
#include "storage/Reviews.h"

#include <QString>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

class QMenu;
class QWidget;

namespace radmark::gui {

enum class DraftAnswer { Recover, Discard, DecideLater };
// "Recover unsaved work from 14:03?" with who saved a newer version since (newerAuthors).
DraftAnswer askAboutDraft(const std::string& savedUtc, const std::vector<std::string>& newerAuthors,
                          QWidget* parent);

enum class EditsAnswer { Save, Discard, Cancel };
// Edits not saved as a version, before they would be replaced (another study, a version, lock).
EditsAnswer askAboutUnsavedEdits(QWidget* parent);
// Before a submit: true when she chose to save them as a version and submit that.
bool askToSaveBeforeSubmit(QWidget* parent);

// The reviewer's comment on a decision: asked (plain text, several lines, required) for
// changes and reject, empty for approve; none when she cancelled.
std::optional<QString> askDecisionComment(storage::Decision decision, QWidget* parent);
// Review > Approve (Ctrl+Shift+A), Request changes... (Ctrl+Shift+C), Reject... (Ctrl+Shift+R).
void addDecisionActions(QMenu* menu, const std::function<void(storage::Decision)>& decide);
// Ctrl+S: "What changed in this version?"; none when she cancelled.
std::optional<QString> askVersionMessage(QWidget* parent);
// The first 12 hex digits of a version's id, as the versions panel shows it.
QString shortId(const annotation::VersionId& id);
// The status line after opening a version read-only or as a new draft.
QString versionOpenedText(const annotation::VersionId& id, bool readOnly);
// "approved", "requested changes to", "rejected" (as in "You approved version ...").
QString decisionText(storage::Decision decision);
// Approving a version with open comments: true when she chose to resolve them and approve.
bool askToResolveOpenComments(int open, QWidget* parent);
// A comment pinned at a voxel (index coordinates): "Comment at voxel (x, y, z):"; none when she
// cancelled.
std::optional<QString> askCommentText(const imaging::Vec3& voxel, QWidget* parent);
// Comments > Next comment (Ctrl+Shift+N), Previous comment (Ctrl+Shift+P), Comments
// (Ctrl+Shift+M): step(+1 / -1), show().
void addCommentActions(QMenu* menu, const std::function<void(int)>& step,
                       const std::function<void()>& show);

// "14:03" of a storage UTC time (ISO 8601), in local time.
QString localClock(const std::string& utc, const QString& format);
// 30 s, or RADMARK_AUTOSAVE_SECONDS (whole seconds, >= 1).
std::chrono::seconds autosaveIntervalFromEnvironment();

} // namespace radmark::gui
