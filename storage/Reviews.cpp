#include "storage/Reviews.h"

#include "storage/Permissions.h"
#include "storage/SessionAccess.h"

namespace radmark::storage {

const char* reviewStateName(ReviewState state) {
    for (const auto& names : reviewStates)
        if (names.state == state)
            return names.shown;
    return "?";
}

namespace internal {

const char* storedName(ReviewState state) {
    for (const auto& names : reviewStates)
        if (names.state == state)
            return names.stored;
    return "?";
}

ReviewState reviewStateFromStored(std::string_view stored) {
    for (const auto& names : reviewStates)
        if (stored == names.stored)
            return names.state;
    throw StoreError("a stored review state is unknown (" + std::string(stored) +
                     "); the store may be damaged or from a newer Radmark");
}

} // namespace internal

namespace {
// The reviews table's decision column: a state's stored name, or this for a plain comment.
constexpr const char* commentOnly = "comment";
} // namespace

void Reviews::decide(std::int64_t annotationId, ReviewState decision, const std::string& comment) {
    const std::string object = "annotation " + std::to_string(annotationId);
    require(session_, Action::DecideReview, object);
    if (decision == ReviewState::Pending)
        throw InvalidRequestError("a review decision approves or rejects a version");
    session_.touch();
    {
        auto s = SessionAccess::database(session_).prepare(
            "SELECT author_id FROM annotations WHERE id = ?");
        s.bind(1, annotationId);
        if (!s.step())
            throw InvalidRequestError("there is no annotation " + std::to_string(annotationId));
        if (s.integer(0) == SessionAccess::userId(session_))
            refuse(session_, Action::DecideReview, object,
                   "You cannot review a version you authored: ask another reviewer.");
    }
    const char* state = internal::storedName(decision);
    SessionAccess::recorded(session_, "review decision", object, state, [&](Database& db) {
        db.prepare("UPDATE annotations SET review_state = ? WHERE id = ?")
            .bind(1, state)
            .bind(2, annotationId)
            .run();
        db.prepare("INSERT INTO reviews(annotation_id, reviewer_id, decision, comment, created) "
                   "VALUES (?, ?, ?, ?, ?)")
            .bind(1, annotationId)
            .bind(2, SessionAccess::userId(session_))
            .bind(3, state)
            .bind(4, comment)
            .bind(5, utcNow())
            .run();
    });
}

void Reviews::comment(std::int64_t annotationId, const std::string& text) {
    require(session_, Action::CommentOnVersion, "annotation " + std::to_string(annotationId));
    session_.touch();
    SessionAccess::recorded(
        session_, "comment", "annotation " + std::to_string(annotationId), {}, [&](Database& db) {
            auto s = db.prepare("SELECT 1 FROM annotations WHERE id = ?");
            s.bind(1, annotationId);
            if (!s.step())
                throw InvalidRequestError("there is no annotation " + std::to_string(annotationId));
            db.prepare("INSERT INTO reviews(annotation_id, reviewer_id, decision, comment, "
                       "created) VALUES (?, ?, ?, ?, ?)")
                .bind(1, annotationId)
                .bind(2, SessionAccess::userId(session_))
                .bind(3, commentOnly)
                .bind(4, text)
                .bind(5, utcNow())
                .run();
        });
}

std::vector<ReviewRecord> Reviews::history(std::int64_t annotationId) {
    requireVersion(session_, Action::ReadReviews, annotationId);
    session_.touch();
    Database& db = SessionAccess::database(session_);
    auto s = db.prepare("SELECT r.id, r.annotation_id, u.name, r.decision, r.comment, r.created "
                        "FROM reviews r JOIN users u ON u.id = r.reviewer_id "
                        "WHERE r.annotation_id = ? ORDER BY r.id");
    s.bind(1, annotationId);
    std::vector<ReviewRecord> out;
    while (s.step()) {
        ReviewRecord r{s.integer(0), s.integer(1), s.text(2), std::nullopt, s.text(4), s.text(5)};
        const std::string decision = s.text(3);
        if (decision != commentOnly)
            r.decision = internal::reviewStateFromStored(decision);
        out.push_back(std::move(r));
    }
    return out;
}

} // namespace radmark::storage
