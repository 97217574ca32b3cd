#pragma once
// The review records of annotation versions: submissions, immutable decisions bound to a
// version's content hash, comments pinned to a point with replies, and consensus versions. The
// state of a version is derived from these (docs/review.md has the table of states and every
// transition); each change is written with its access-log entry in one transaction, and each
// refusal is a typed error.

#include "imaging/Volume.h"
#include "storage/Errors.h"
#include "storage/Session.h"

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace radmark::storage {

enum class ReviewState { Draft, Submitted, Approved, ChangesRequested, Rejected };
const char* reviewStateName(ReviewState state); // "draft", ..., "changes requested"
// Accepts the names above and "changes" / "changes-requested"; nullopt otherwise.
std::optional<ReviewState> parseReviewState(std::string_view name);
// The state of a version from its records: its decision's name ("approve", "changes",
// "reject"), else whether a live submission exists.
ReviewState reviewStateOf(const std::string& decision, bool submitted);

enum class Decision { Approve, RequestChanges, Reject };
std::string_view decisionName(Decision decision); // "approve", "changes", "reject"
Decision parseDecision(std::string_view name);    // throws InvalidRequestError
ReviewState stateAfter(Decision decision);

struct ReviewDecisionRecord {
    std::int64_t id = 0;
    std::int64_t annotationId = 0;
    std::string reviewer;
    Decision decision = Decision::Approve;
    std::string contentHash; // hex of the version's content hash the decision is bound to
    std::string message;
    std::string metricsJson; // the metrics shown when deciding
    std::string created;     // UTC
};

struct ReviewComment {
    std::int64_t id = 0;
    std::int64_t annotationId = 0;
    std::optional<std::int64_t> replyTo;
    std::string author;
    std::string text;
    std::string created;
    std::optional<imaging::Vec3> voxel; // where it is pinned (index coordinates); none for replies
    std::optional<std::int64_t> segment;
    bool resolved = false;
    std::string resolvedBy, resolvedAt;
};

// What happened to a version, oldest first: saved, submitted, withdrawn, decided, commented,
// replied, resolved.
struct ReviewEvent {
    std::string time;
    std::string user;
    std::string what;
    std::string details;
};

// The review side of one version.
struct VersionReview {
    std::int64_t annotationId = 0;
    ReviewState state = ReviewState::Draft;
    int openComments = 0;
    bool consensus = false;
    std::optional<std::int64_t> revises;
    std::optional<ReviewDecisionRecord> decision;
    std::string submitted; // UTC of the live submission, empty when none
};

// A study as the worklist shows it: its versions visible to this user with their review side.
struct StudyReviewSummary {
    std::int64_t studyId = 0;
    std::string pseudonym;
    std::string description;
    std::string modality;                // of its first series; empty before any import
    std::vector<std::string> annotators; // assigned
    bool blind = false;                  // assigned annotators do not see each other's versions
    struct Version {
        std::int64_t annotationId = 0;
        std::string author;
        std::string created;
        std::string message;
        std::string contentHash; // hex
        VersionReview review;
    };
    std::vector<Version> versions; // oldest first
};

// The first decision on a version is final: a second one is refused and shown the first.
struct AlreadyDecidedError : InvalidRequestError {
    AlreadyDecidedError(const std::string& message, ReviewDecisionRecord first)
        : InvalidRequestError(message), first(std::move(first)) {}
    ReviewDecisionRecord first;
};

// Approving a version with open comments needs a confirmation (they are then resolved).
struct OpenCommentsError : InvalidRequestError {
    OpenCommentsError(const std::string& message, int open)
        : InvalidRequestError(message), open(open) {}
    int open = 0;
};

class Reviews {
  public:
    explicit Reviews(Session& session) : session_(session) {}

    // The author submits her saved version; logged "submit".
    void submit(std::int64_t annotationId);
    // A reviewer's decision on a submitted version whose content hash is `contentHash` (hex).
    ReviewDecisionRecord decide(std::int64_t annotationId, Decision decision,
                                const std::string& message, const std::string& contentHash,
                                const std::string& metricsJson, bool resolveOpenComments);
    std::optional<ReviewDecisionRecord> decisionOf(std::int64_t annotationId);

    // Reviewers pin comments; reviewers and the annotators who can see the version reply;
    // either may resolve.
    ReviewComment comment(std::int64_t annotationId, const imaging::Vec3& voxel,
                          const std::string& text, std::optional<std::int64_t> segment);
    ReviewComment reply(std::int64_t commentId, const std::string& text);
    void resolve(std::int64_t commentId);
    std::vector<ReviewComment> comments(std::int64_t annotationId);

    // The review side of every version of a study that this user may see, by annotation id.
    std::map<std::int64_t, VersionReview> ofStudy(std::int64_t studyId);
    std::vector<ReviewEvent> history(std::int64_t annotationId);
    // Every study this user may list (annotators: assigned ones), oldest first, with the versions
    // she may see. Not logged per study: it is the worklist, not an opening.
    std::vector<StudyReviewSummary> studies();
    // A version named by its annotation id or a unique prefix (6+ hex digits) of its hash, that
    // this user may see. Throws InvalidRequestError when none or several match.
    std::int64_t findVersion(const std::string& idOrHashPrefix);
    std::int64_t studyOf(std::int64_t annotationId); // of a version this user may see

    // A reviewer's consensus version (record + chunks as Annotations save them), with its method
    // and sources; logged "save consensus".
    std::int64_t saveConsensus(std::int64_t studyId, std::span<const std::uint8_t> record,
                               std::span<const std::span<const std::uint8_t>> chunks,
                               const std::string& method, const std::vector<std::int64_t>& sources,
                               const std::string& message);

  private:
    void requireVisible(std::int64_t annotationId);
    ReviewDecisionRecord writeDecision(std::int64_t annotationId, Decision decision,
                                       const std::string& message, const std::string& contentHash,
                                       const std::string& metricsJson, bool resolveOpen);
    Session& session_;
};

} // namespace radmark::storage
