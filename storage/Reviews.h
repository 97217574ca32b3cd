#pragma once
// The review record, the one review model of Radmark: a reviewer's decisions on annotation
// versions and comments on them, records about a version (never edits of it), read back with
// who, what and when. A version's review state is its latest decision.

#include "storage/Session.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace radmark::storage {

enum class ReviewState { Pending, Approved, Rejected };

// Every state with its two names, in ONE place: a new state is one line here (and a migration
// that admits its stored name). `stored` is what the database holds, `shown` what people read.
struct ReviewStateNames {
    ReviewState state;
    const char* stored;
    const char* shown;
};
inline constexpr ReviewStateNames reviewStates[] = {
    {ReviewState::Pending, "pending", "unreviewed"},
    {ReviewState::Approved, "approved", "approved"},
    {ReviewState::Rejected, "rejected", "rejected"},
};

const char* reviewStateName(ReviewState state); // the shown name: "unreviewed", "approved", ...

struct ReviewRecord {
    std::int64_t id = 0;
    std::int64_t annotationId = 0;
    std::string reviewer;
    std::optional<ReviewState> decision; // none: a comment without a decision
    std::string comment;
    std::string created; // UTC, ISO 8601
};

class Reviews {
  public:
    explicit Reviews(Session& session) : session_(session) {}

    // A decision (Approved or Rejected) with its comment; nobody decides on a version they
    // authored. Logged "review decision".
    void decide(std::int64_t annotationId, ReviewState decision, const std::string& comment);
    void comment(std::int64_t annotationId, const std::string& text); // logged "comment"
    // Every decision and comment on the version, oldest first.
    std::vector<ReviewRecord> history(std::int64_t annotationId);

  private:
    Session& session_;
};

namespace internal {
// The stored text of a review state and back; the one mapping between the two.
const char* storedName(ReviewState state);
ReviewState reviewStateFromStored(std::string_view stored); // throws StoreError when unknown
} // namespace internal

} // namespace radmark::storage
