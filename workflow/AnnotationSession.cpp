#include "workflow/AnnotationSession.h"

#include "storage/Store.h"

#include <algorithm>

namespace radmark::workflow {

using annotation::OpenedAnnotation;
using annotation::VersionId;

namespace {

std::string shortId(const VersionId& id) {
    return id.hex().substr(0, 12);
}

// Edits are followed through edited(): the label map's dirty flags also mark slices that were
// only copied in when a version was opened.
const annotation::LabelMap noLabelEdits;

} // namespace

AnnotationSession::AnnotationSession(storage::Session& session, std::int64_t studyId,
                                     std::chrono::seconds autosaveInterval)
    : session_(session), studyId_(studyId),
      schedule_(std::max(autosaveInterval, std::chrono::seconds(1))) {
    if (session.role() == storage::Role::Admin)
        throw AnnotationRefused("Administrators do not see annotations.");
    annotator_ = session.role() == storage::Role::Annotator;
    history_ = std::make_unique<StoredAnnotationHistory>(session, studyId);
    if (annotator_)
        pendingDraft_ = history_->pendingDraft();
}

AnnotationSession::~AnnotationSession() = default;

std::string AnnotationSession::draftWaitsMessage() {
    return "Read-only: an unsaved draft waits. Reopen the study to recover or discard it.";
}

bool AnnotationSession::mayEdit() const {
    return annotator_ && !readOnlyVersion_ && !draftWaiting_;
}

void AnnotationSession::requireMayEdit(const std::string& what) const {
    if (!annotator_)
        throw AnnotationRefused(storage::roleName(session_.role()) == "reviewer"
                                    ? "Reviewers cannot " + what + ": a review is read-only."
                                    : "Only annotators can " + what + ".");
    if (draftWaiting_)
        throw AnnotationRefused(draftWaitsMessage());
    if (readOnlyVersion_)
        throw AnnotationRefused("Version " + shortId(*readOnlyVersion_) +
                                " is open read-only: use \"New draft from this version\" in the "
                                "Versions panel to change it.");
}

std::optional<OpenedAnnotation> AnnotationSession::openNewest() {
    const StoredVersions& stored = history_->stored();
    std::optional<VersionId> newest;
    for (std::size_t i = stored.records.size(); i-- > 0;) {
        if (!annotator_ || stored.records[i].author == session_.userName()) {
            newest = stored.ids[i];
            break;
        }
    }
    replaced();
    if (!newest) {
        parent_.reset();
        readOnlyVersion_.reset();
        return std::nullopt;
    }
    // Reviewers and a waiting draft see it read-only; an annotator continues from it.
    const bool readOnly = !annotator_ || draftWaiting_;
    OpenedAnnotation opened = history_->openVersion(*newest, readOnly);
    parent_ = newest;
    if (readOnly && !draftWaiting_)
        readOnlyVersion_ = newest;
    else
        readOnlyVersion_.reset();
    return opened;
}

OpenedAnnotation AnnotationSession::openVersion(const VersionId& id, OpenAs as) {
    if (as == OpenAs::NewDraft) {
        if (draftWaiting_) // editing now would let autosave replace the waiting draft
            throw AnnotationRefused(draftWaitsMessage());
        if (!annotator_)
            requireMayEdit("start a new draft");
    }
    OpenedAnnotation opened = history_->openVersion(id, as == OpenAs::ReadOnly);
    replaced();
    if (as == OpenAs::ReadOnly) {
        readOnlyVersion_ = id; // the parent of the edits it replaced stays
    } else {
        readOnlyVersion_.reset();
        parent_ = id;
    }
    return opened;
}

OpenedAnnotation AnnotationSession::recoverDraft() {
    if (!annotator_)
        requireMayEdit("recover a draft");
    OpenedAnnotation opened = history_->recoverDraft();
    pendingDraft_.reset();
    draftWaiting_ = false;
    readOnlyVersion_.reset();
    parent_ = opened.parent;
    editedSinceVersion_ = true; // the recovered work is still not a version
    editedSinceDraft_ = false;
    schedule_.saved();
    return opened;
}

void AnnotationSession::discardDraft() {
    if (!annotator_)
        requireMayEdit("discard a draft");
    history_->discardDraft();
    pendingDraft_.reset();
    draftWaiting_ = false;
}

void AnnotationSession::decideLater() {
    if (pendingDraft_)
        draftWaiting_ = true;
    editedSinceVersion_ = editedSinceDraft_ = false;
}

void AnnotationSession::edited() {
    if (!mayEdit())
        return;
    editedSinceVersion_ = editedSinceDraft_ = true;
}

void AnnotationSession::replaced() {
    editedSinceVersion_ = editedSinceDraft_ = false;
    schedule_.saved();
}

void AnnotationSession::setAutosaveInterval(std::chrono::seconds interval) {
    schedule_ = annotation::AutosaveSchedule(std::max(interval, std::chrono::seconds(1)));
}

bool AnnotationSession::autosaveDue(Clock::time_point now) const {
    return mayEdit() && schedule_.due(noLabelEdits, editedSinceDraft_, now);
}

AutosaveOutcome AnnotationSession::autosave(annotation::LabelMap& labels,
                                            const annotation::SegmentList& segments,
                                            const std::vector<annotation::Box>& boxes) {
    if (!mayEdit() || session_.isLocked() || session_.isLoggedOut())
        return AutosaveOutcome::NotAllowed;
    if (!editedSinceDraft_)
        return AutosaveOutcome::NothingToSave;
    try {
        history_->autosave(labels, segments, boxes, parent_);
    } catch (...) {
        schedule_.saved(); // tried now: the next try comes an interval later, not every tick
        throw;
    }
    schedule_.saved();
    editedSinceDraft_ = false;
    return AutosaveOutcome::Written;
}

annotation::Version AnnotationSession::save(annotation::LabelMap& labels,
                                            const annotation::SegmentList& segments,
                                            const std::vector<annotation::Box>& boxes,
                                            const std::string& message,
                                            annotation::SaveReport* report) {
    requireMayEdit("save label edits");
    annotation::Version version = history_->save(labels, segments, boxes, message, parent_, report);
    parent_ = version.id;
    editedSinceVersion_ = editedSinceDraft_ = false;
    pendingDraft_.reset();
    schedule_.saved();
    return version;
}

std::string AnnotationSession::listingProblem() const {
    return history_->listingProblem();
}

void AnnotationSession::discardEdits() {
    if (annotator_)
        history_->discardDraft();
    editedSinceVersion_ = editedSinceDraft_ = false;
}

AnnotationState AnnotationSession::state() const {
    AnnotationState state;
    state.studyId = studyId_;
    state.parent = parent_;
    state.readOnlyVersion = readOnlyVersion_;
    state.draftWaiting = draftWaiting_;
    state.mayEdit = mayEdit();
    state.editedSinceVersion = editedSinceVersion_;
    state.editedSinceDraft = editedSinceDraft_;
    return state;
}

std::vector<VersionEntry> AnnotationSession::versions() const {
    std::vector<VersionEntry> entries;
    for (const annotation::Version& version : history_->history().versions())
        entries.push_back({version, history_->reviewState(version.id)});
    return entries;
}

} // namespace radmark::workflow
