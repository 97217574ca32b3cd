#pragma once
// One person's work on the annotation of one stored study: which version is on screen, whether
// it may be edited, what changed since the last version and the last draft, autosave, saving
// with its parent, recovering or discarding a draft, and who may do which of these. Qt-free:
// the workstation's StoreWorkspace shows what this says, and radmark-cli (and later the store
// service) call the same functions. Calls take and return values; the label map being edited
// is passed in by the caller, who owns it.

#include "annotation/Version.h"
#include "workflow/StoredAnnotations.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace radmark::storage {
class Session;
}

namespace radmark::workflow {

// A request the annotation session refuses (a read-only version is open, a draft waits, the
// role may not do it). The message is meant for the radiologist; nothing was written.
struct AnnotationRefused : std::runtime_error {
    using std::runtime_error::runtime_error;
};

enum class OpenAs { ReadOnly, NewDraft };

// What the editor shows and may do now.
struct AnnotationState {
    std::int64_t studyId = 0;
    std::optional<annotation::VersionId> parent;          // the next save's parent
    std::optional<annotation::VersionId> readOnlyVersion; // a version on screen read-only
    bool draftWaiting = false; // "decide later": read-only until the study is reopened
    bool mayEdit = false;      // the role, a read-only version and a waiting draft all allow it
    bool editedSinceVersion = false;
    bool editedSinceDraft = false;
};

// One row of the versions list.
struct VersionEntry {
    annotation::Version version;
    storage::ReviewState reviewState = storage::ReviewState::Draft;
};

// The outcome of an autosave check.
enum class AutosaveOutcome { Written, NothingToSave, NotAllowed };

class AnnotationSession {
  public:
    using Clock = std::chrono::steady_clock;

    // Opens the study's annotations for the session's user: annotators on studies assigned to
    // them, reviewers read-only. Throws AnnotationRefused for administrators (they see the
    // images, never the annotations), PermissionDeniedError for a study not assigned.
    AnnotationSession(storage::Session& session, std::int64_t studyId,
                      std::chrono::seconds autosaveInterval = std::chrono::seconds(30));
    ~AnnotationSession();
    AnnotationSession(const AnnotationSession&) = delete;
    AnnotationSession& operator=(const AnnotationSession&) = delete;

    // This user's autosaved draft, when one holds work newer than this user's newest version
    // (annotators only). The front end asks: recoverDraft(), discardDraft() or decideLater().
    std::optional<PendingDraft> pendingDraft() const { return pendingDraft_; }

    // The newest version of this user's line, opened; nothing when the line is empty (a new
    // annotation). An annotator's line is her own versions: another annotator's version is
    // never taken as her parent. A reviewer's line is the study's newest version, read-only.
    // After decideLater() the version is read-only.
    std::optional<annotation::OpenedAnnotation> openNewest();
    annotation::OpenedAnnotation openVersion(const annotation::VersionId& id, OpenAs as);

    annotation::OpenedAnnotation recoverDraft(); // logged "recover draft"; edits not yet a version
    void discardDraft();                         // logged "discard draft"
    void decideLater(); // keeps the draft; read-only until the study is reopened

    // The editor's labels, segments or boxes changed (ignored when editing is not allowed).
    void edited();
    // The editor's annotation was replaced (opened, recovered, discarded): nothing is unsaved.
    void replaced();

    void setAutosaveInterval(std::chrono::seconds interval); // from now on; at least 1 s
    bool autosaveDue(Clock::time_point now = Clock::now()) const;
    // Writes this user's draft now when something changed since the last one. Store errors
    // propagate (the edits stay marked as unsaved, so the next check tries again).
    AutosaveOutcome autosave(annotation::LabelMap& labels, const annotation::SegmentList& segments,
                             const std::vector<annotation::Box>& boxes);
    // Saves the annotation as a new version whose parent is state().parent; this user's draft
    // goes in the same transaction. Throws AnnotationRefused when editing is not allowed.
    annotation::Version save(annotation::LabelMap& labels, const annotation::SegmentList& segments,
                             const std::vector<annotation::Box>& boxes, const std::string& message,
                             annotation::SaveReport* report = nullptr);
    // Why the versions list could not be re-read after the last save; empty when it was.
    std::string listingProblem() const;

    // "Discard" when leaving edits that are not a version: this user's draft goes too.
    void discardEdits();

    // Throws AnnotationRefused, saying why, unless this user may edit now ("save label edits").
    void requireMayEdit(const std::string& what) const;

    AnnotationState state() const;
    std::vector<VersionEntry> versions() const;

    // The sentence shown while a draft waits (the title, the status line, refusals).
    static std::string draftWaitsMessage();

  private:
    bool mayEdit() const;

    storage::Session& session_;
    std::int64_t studyId_;
    std::unique_ptr<StoredAnnotationHistory> history_;
    std::optional<PendingDraft> pendingDraft_;
    std::optional<annotation::VersionId> parent_;
    std::optional<annotation::VersionId> readOnlyVersion_;
    bool annotator_ = false;
    bool draftWaiting_ = false;
    bool editedSinceVersion_ = false;
    bool editedSinceDraft_ = false;
    annotation::AutosaveSchedule schedule_;
};

} // namespace radmark::workflow
