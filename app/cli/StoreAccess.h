#pragma once
// How a front end reaches a store's studies and annotation versions: in-process on a personal
// store (this process holds the session), or through radmarkd, the store service of a shared
// workstation, where volumes and label maps cross the socket as sealed memfds (no copy, no
// parse but a small JSON summary). Both run the same storage and workflow calls, so roles,
// assignments, refusals and access-log entries are the same (docs/service.md, "Volumes and
// label maps").

#include "annotation/LabelMap.h"
#include "annotation/Segment.h"
#include "annotation/Version.h"
#include "imaging/Volume.h"
#include "pacs/PacsAccess.h"
#include "storage/Administration.h"
#include "storage/Store.h"
#include "workflow/AgreementReport.h"
#include "workflow/DatasetAdministration.h"
#include "workflow/Review.h"
#include "workflow/StoredAnnotations.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace radmark::cli {

// A refusal or failure the store (or the service) gave, as one line.
struct StoreAccessError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct SavedVersion {
    std::string versionId; // full hex
    std::size_t chunksWritten = 0, chunksReused = 0;
    std::vector<imaging::ChunkHash> chunks; // the version's, one per slice
};

// A version of a study with its labels, segments and boxes, as opened for viewing or editing.
struct OpenedVersion {
    annotation::VersionId id;
    annotation::OpenedAnnotation annotation; // its labels' slices clean, with their hashes
};

// What a reviewer's decision did: recorded (its decision and content hash), or not yet because
// the version has open comments (approving resolves them only when she says so).
struct DecisionOutcome {
    int openComments = 0; // > 0: nothing recorded; ask her, then decide again resolving them
    storage::Decision decision = storage::Decision::Approve;
    std::string contentHash;
};

// A version of a study as a versions list shows it: the whole record and its review state.
struct VersionEntry {
    annotation::Version version;
    storage::ReviewState review = storage::ReviewState::Draft;
};

// A version as the review sees it (workflow::ReviewSession::versions), with the one its
// "compare with the previous version" shows (ReviewSession::previousOf; none for the first).
struct ReviewEntry {
    workflow::ReviewVersion version;
    std::optional<std::int64_t> previous; // an annotationId of the same list
};

class StoreAccess {
  public:
    virtual ~StoreAccess() = default;
    // Her role in the store (the worklist shows reviewers their queue too).
    virtual storage::Role role() = 0;
    // True once her session has ended (refused, idle timeout, the service stopped): every
    // further call is refused, and she logs in again with a new StoreAccess.
    virtual bool sessionEnded() const = 0;
    // The studies she may open, with their latest version's review state (workflow::worklist);
    // state filters by it. The review queue: the submitted versions waiting for her review
    // (workflow::reviewQueue; reviewers and admins).
    virtual std::vector<workflow::WorklistRow>
    worklist(std::optional<storage::ReviewState> state = std::nullopt) = 0;
    virtual std::vector<workflow::WorklistRow> reviewQueue() = 0;
    // The study's versions she may read (label or id), oldest first
    // (workflow::StoredAnnotationHistory: the refusals and log entries of opening it).
    virtual std::vector<VersionEntry> versions(const std::string& study) = 0;
    // The first series of the study (label or id), for viewing; logged "open study".
    virtual imaging::Volume openVolume(const std::string& study) = 0;
    // A version of the study (hex, one she may read, else refused and logged; none: the
    // newest, and nothing when the study has none), read-only or as the start of her next
    // version; logged "open version" (workflow::StoredAnnotationHistory::openVersion). The
    // study's next save through this StoreAccess is edited from it.
    virtual std::optional<OpenedVersion> openVersion(const std::string& study,
                                                     const std::optional<std::string>& version,
                                                     bool readOnly) = 0;
    // The study's next save (and draft) through this StoreAccess is edited from that version
    // (hex, one she may read), as after openVersion, without its labels crossing: what a new
    // session of the same user needs to go on with the edits on her screen.
    virtual void continueFrom(const std::string& study, const std::string& version) = 0;
    // Her autosaved draft of the study, when one waits (workflow::StoredAnnotationHistory::
    // pendingDraft: not when she saved a version after it).
    virtual std::optional<workflow::PendingDraft> pendingDraft(const std::string& study) = 0;
    // Writes labels + segments + boxes as her draft of the study (replacing the last one; not
    // logged, it runs every 30 s), continuing the version last saved or opened through this
    // StoreAccess. The slices are marked clean with the draft's hashes; through the service only
    // the slices edited since cross.
    virtual void saveDraft(const std::string& study, annotation::LabelMap& labels,
                           const annotation::SegmentList& segments,
                           const std::vector<annotation::Box>& boxes) = 0;
    // Her draft, to edit on (logged "recover draft"); the version it continues becomes the next
    // save's parent. discardDraft deletes it (logged "discard draft").
    virtual annotation::OpenedAnnotation recoverDraft(const std::string& study) = 0;
    virtual void discardDraft(const std::string& study) = 0;
    // Submits her saved version of the study (hex, one she may read) for review
    // (workflow::submitForReview: its refusals, e.g. another's version, and its log entry).
    virtual void submitForReview(const std::string& study, const std::string& version) = 0;
    // A reviewer's decision on a submitted version of the study (hex), with the metrics of it
    // (the reference) against compareWith (hex: the version beside it on her screen), else
    // against its previous version (workflow::decisionMetrics, ReviewSession::decide: its
    // refusals, e.g. already decided, her own version, and its log entries).
    virtual DecisionOutcome decide(const std::string& study, const std::string& version,
                                   storage::Decision decision, const std::string& message,
                                   bool resolveOpenComments,
                                   const std::optional<std::string>& compareWith) = 0;
    // The study's versions as the review sees them, oldest first (ReviewSession: its refusals
    // and log entries).
    virtual std::vector<ReviewEntry> reviewVersions(const std::string& study) = 0;
    // The comments pinned to a version of the study (hex, one she may read) with their replies,
    // oldest first; a new comment pinned at a voxel (index coordinates) of it; a reply to, or
    // the resolution of, one of that version's comments (any other comment id is refused and
    // logged `refused comment`). The workflow's rules decide who may do which
    // (workflow::ReviewSession::pin, reply, resolve: their refusals and log entries).
    virtual std::vector<storage::ReviewComment> comments(const std::string& study,
                                                         const std::string& version) = 0;
    virtual storage::ReviewComment pinComment(const std::string& study, const std::string& version,
                                              const imaging::Vec3& voxel,
                                              const std::string& text) = 0;
    virtual void replyToComment(const std::string& study, const std::string& version,
                                std::int64_t commentId, const std::string& text) = 0;
    virtual void resolveComment(const std::string& study, const std::string& version,
                                std::int64_t commentId) = 0;
    // A consensus of the study's submitted versions (workflow::ReviewSession::buildConsensus:
    // majority vote or STAPLE, saved as a new version authored by her; its refusals and log
    // entries).
    virtual workflow::ReviewVersion buildConsensus(const std::string& study,
                                                   workflow::ReviewSession::Method method) = 0;
    // How far annotators agree, over every study she reviews (workflow::measureAgreement; each
    // version opened is logged as for any review). Reviewers only: anyone else is refused and
    // logged ("refused agreement report").
    virtual workflow::AgreementSummary agreement() = 0;
    // A version of the study (hex, one she may read, else refused and logged) read-only, for the
    // compare view; logged "open version". Unlike openVersion, the study's next save keeps its
    // parent.
    virtual annotation::OpenedAnnotation readVersion(const std::string& study,
                                                     const std::string& version) = 0;
    // What happened to a version of the study (hex, one she may read): saved, submitted,
    // decided with the reviewer's words, commented, oldest first (ReviewSession::history).
    virtual std::vector<storage::ReviewEvent> history(const std::string& study,
                                                      const std::string& version) = 0;
    // labels (the study's grid) + segments + boxes as a new version; logged "save". Its parent
    // is the version this StoreAccess last saved or opened of the study, else the study's
    // newest. The slices are marked clean with the version's hashes, so that the next save
    // sends only those edited since (through the service: only those cross, with that version
    // as the parent).
    virtual SavedVersion saveVersion(const std::string& study, annotation::LabelMap& labels,
                                     const annotation::SegmentList& segments,
                                     const std::vector<annotation::Box>& boxes,
                                     const std::string& message) = 0;

    // The admin's calls (the admin panel's: users, key rotation, assignments, the access log),
    // with the refusals and log entries of the storage calls behind them. Through the service a
    // new user's password and the audit key cross as sealed memfds (never in a message's JSON),
    // a key rotation reports its stages as it goes (progress runs on the calling thread), and
    // its new recovery key, when it made one, comes back in a memfd too (app/cli/AdminOps.h).
    virtual storage::Administration& administration() = 0;
    // The admin's dataset calls (Admin > Datasets and Export dataset), with the refusals and log
    // entries of the workflow calls behind them. Through the service a protocol's bytes and the
    // recipients files cross as sealed memfds, an export reports its stages as it goes and stops
    // when progress says so, and a share's password is asked for on the calling thread
    // (app/cli/DatasetOps.h).
    virtual workflow::DatasetAdministration& datasets() = 0;
    // The admin's Import from PACS, with the refusals and log entries of pacs/PacsImport.h's
    // calls. Through the service the worker keeps the node's client between calls, a node's
    // password is asked for on the calling thread and crosses in a sealed memfd, and a retrieve
    // reports its stages as it goes and stops when progress says so (app/cli/PacsOps.h).
    virtual pacs::PacsAccess& pacs() = 0;
};

// A personal store: this process's logged-in session (the store's own errors pass through).
std::unique_ptr<StoreAccess> inProcessStoreAccess(storage::Session session);
// Through radmarkd at socket: one session (one connection, one worker that logs in once, at
// the first call) serves every call until this object ends; the worker checks before each call
// that her account is still enabled and that the store still opens with her session's key, else
// refuses it with the in-process words and ends the session. The password is wiped once the
// session has logged in: a call after the session ended (refused, idle timeout, the service
// stopped) throws StoreAccessError "log in again", and a new StoreAccess logs in anew.
// Throws StoreAccessError with the service's one-line reason.
std::unique_ptr<StoreAccess> serviceStoreAccess(const std::filesystem::path& socket,
                                                const std::string& user,
                                                const std::string& password);

// What crosses the channel for a label map's segments: every field, terminology codes included
// (annotation::segmentsToJsonText). Throws StoreAccessError on unreadable segments.
std::string segmentsToJson(const annotation::SegmentList& segments);
annotation::SegmentList segmentsFromJson(const std::string& text);

} // namespace radmark::cli
