#include "storage/Reviews.h"

#include "storage/SessionAccess.h"

namespace radmark::storage {

void Reviews::decide(std::int64_t annotationId, ReviewDecision decision,
                     const std::string& comment) {
    internal::requireRole(session_, {Role::Reviewer});
    session_.touch();
    const std::string state = decision == ReviewDecision::Approve ? "approved" : "rejected";
    SessionAccess::recorded(
        session_, "review decision", "annotation " + std::to_string(annotationId), state,
        [&](Database& db) {
            db.prepare("UPDATE annotations SET review_state = ? WHERE id = ?")
                .bind(1, state)
                .bind(2, annotationId)
                .run();
            if (db.changes() != 1)
                throw InvalidRequestError("there is no annotation " + std::to_string(annotationId));
            db.prepare("INSERT INTO reviews(annotation_id, reviewer_id, decision, comment, "
                       "created) VALUES (?, ?, ?, ?, ?)")
                .bind(1, annotationId)
                .bind(2, SessionAccess::userId(session_))
                .bind(3, state)
                .bind(4, comment)
                .bind(5, utcNow())
                .run();
        });
}

void Reviews::comment(std::int64_t annotationId, const std::string& text) {
    internal::requireRole(session_, {Role::Reviewer});
    session_.touch();
    SessionAccess::recorded(
        session_, "comment", "annotation " + std::to_string(annotationId), {}, [&](Database& db) {
            auto s = db.prepare("SELECT 1 FROM annotations WHERE id = ?");
            s.bind(1, annotationId);
            if (!s.step())
                throw InvalidRequestError("there is no annotation " + std::to_string(annotationId));
            db.prepare(
                  "INSERT INTO reviews(annotation_id, reviewer_id, decision, comment, created) "
                  "VALUES (?, ?, 'comment', ?, ?)")
                .bind(1, annotationId)
                .bind(2, SessionAccess::userId(session_))
                .bind(3, text)
                .bind(4, utcNow())
                .run();
        });
}

} // namespace radmark::storage
