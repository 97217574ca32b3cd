#pragma once
// QA review of stored annotations: submitting a version, the worklist and the reviewer's queue,
// comparing two versions with stated metrics, comments pinned to a point, immutable decisions
// bound to a version's content hash, and consensus versions. Qt-free: the workstation and
// `radmark-cli review` call these same functions; the role rules and the state machine live in
// storage (storage/Reviews), written down in docs/review.md and docs/roles.md.

#include "annotation/Agreement.h"
#include "annotation/Version.h"
#include "storage/Reviews.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace radmark::storage {
class Session;
}

namespace radmark::workflow {

class StoredAnnotationHistory;

// A request review refuses (a decision on a decided or changed version, no comment where one is
// required, a comment outside the volume, comparing different studies or grids). The message is
// meant for the person; nothing was written. Role refusals stay storage::PermissionDeniedError.
struct ReviewRefused : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// One version as the review lists show it.
struct ReviewVersion {
    std::int64_t annotationId = 0;
    annotation::VersionId id;
    std::string shortHash; // first 12 hex digits of id
    std::string author;
    std::string createdUtc;
    std::string message;
    storage::ReviewState state = storage::ReviewState::Draft;
    int openComments = 0;
    bool consensus = false;
    std::optional<std::int64_t> revises; // the reviewed version this one follows up
};

// A row of the worklist: one per study, or one per study and annotator when the study is blind
// and several annotators work it. `latest` is that row's newest version.
struct WorklistRow {
    std::int64_t studyId = 0;
    std::string pseudonym;
    std::string modality;
    std::string description;
    std::vector<std::string> annotators; // assigned
    std::string annotator;               // a blind row's annotator; empty for a study row
    std::optional<ReviewVersion> latest;
    int openComments = 0;
};

// The worklist of this session's user (annotators: their assigned studies; reviewers and admins:
// every study), oldest study first. `state` filters by the latest version's state.
std::vector<WorklistRow> worklist(storage::Session& session,
                                  std::optional<storage::ReviewState> state = std::nullopt);
// The reviewer's queue: the submitted versions of every study she may review (not her own),
// oldest submission first.
std::vector<WorklistRow> reviewQueue(storage::Session& session);

// A version named by the store's annotation id ("17") or a unique prefix of its hash (at least
// 6 hex digits). Throws storage::InvalidRequestError when none or several match.
std::int64_t findVersion(storage::Session& session, const std::string& idOrHashPrefix);

// Submits the author's saved version for review (Ctrl+Return, `review submit`).
void submitForReview(storage::Session& session, std::int64_t annotationId);

// Two versions of one study compared: their metrics, and both annotations for display.
struct Comparison {
    ReviewVersion reference, compared;
    annotation::OpenedAnnotation referenceAnnotation, comparedAnnotation;
    annotation::AgreementReport metrics;
};

// Two opened versions side by side with their agreement, as ReviewSession::compare makes it (the
// store service's client compares the two versions the service sent it the same way). Throws
// ReviewRefused for different grids (named).
Comparison compareOpened(ReviewVersion reference, annotation::OpenedAnnotation referenceAnnotation,
                         ReviewVersion compared, annotation::OpenedAnnotation comparedAnnotation,
                         double toleranceMm = 1.0);

class ReviewSession {
  public:
    // Opens a study's versions for review or for reading what reviewers said (annotators see
    // their own line and what the roles let them see). Throws PermissionDeniedError.
    ReviewSession(storage::Session& session, std::int64_t studyId);
    ~ReviewSession();
    ReviewSession(const ReviewSession&) = delete;
    ReviewSession& operator=(const ReviewSession&) = delete;

    std::int64_t studyId() const { return studyId_; }
    // Reads the versions and their review side again (after a save or a submission elsewhere).
    void refresh();
    std::vector<ReviewVersion> versions() const; // oldest first
    ReviewVersion version(std::int64_t annotationId) const;
    // The version reviewed before this one in its line (its parent, else the author's previous
    // version), for "compare with the previous version".
    std::optional<std::int64_t> previousOf(std::int64_t annotationId) const;

    annotation::OpenedAnnotation open(std::int64_t annotationId); // read-only; logged
    // Throws ReviewRefused for versions of different studies or grids (named).
    Comparison compare(std::int64_t reference, std::int64_t compared, double toleranceMm = 1.0);

    // Comments pinned to a voxel (index coordinates) of a version, optionally for a segment.
    // Throws ReviewRefused for a point outside the volume or an empty text.
    storage::ReviewComment pin(std::int64_t annotationId, const imaging::Vec3& voxel,
                               const std::string& text,
                               std::optional<annotation::Label> segment = std::nullopt);
    storage::ReviewComment reply(std::int64_t commentId, const std::string& text);
    void resolve(std::int64_t commentId);
    std::vector<storage::ReviewComment> comments(std::int64_t annotationId) const;

    // An immutable decision on a submitted version, holding its content hash and the metrics
    // shown (JSON of the comparison on screen, or "{}"); changes and reject need a message.
    // Approving with open comments needs resolveOpenComments (they are then resolved, each
    // logged); without it storage::OpenCommentsError says how many. A second decision is refused
    // with storage::AlreadyDecidedError naming the first.
    storage::ReviewDecisionRecord decide(std::int64_t annotationId, storage::Decision decision,
                                         const std::string& message,
                                         const std::string& metricsJson = "{}",
                                         bool resolveOpenComments = false);
    std::vector<storage::ReviewEvent> history(std::int64_t annotationId) const;

    // A consensus of the submitted (or given) versions by majority vote or STAPLE, saved as a new
    // version authored by this reviewer with the method and every source in its provenance.
    enum class Method { Vote, Staple };
    ReviewVersion buildConsensus(Method method, std::vector<std::int64_t> sources = {});

  private:
    void reload();
    storage::Session& session_;
    std::int64_t studyId_;
    std::unique_ptr<StoredAnnotationHistory> history_;
    std::vector<ReviewVersion> versions_;
};

// The metrics a decision on annotationId holds, as the compare view shows them (the version
// decided on as the reference): against compareWith, else its previous version
// (ReviewSession::previousOf); "{}" when there is none (annotation::agreementJson).
std::string decisionMetrics(ReviewSession& review, std::int64_t annotationId,
                            std::optional<std::int64_t> compareWith = std::nullopt);

} // namespace radmark::workflow
