#include "storage/Studies.h"

#include "storage/Permissions.h"
#include "storage/SessionAccess.h"

namespace radmark::storage {

std::int64_t Studies::add(const std::string& label, const std::string& description) {
    require(session_, Action::ImportStudy, label);
    session_.touch();
    if (label.empty())
        throw InvalidRequestError("a study needs a label");
    return SessionAccess::recorded(session_, "import", label, {}, [&](Database& db) {
        db.prepare("INSERT INTO studies(label, description, created) VALUES (?, ?, ?)")
            .bind(1, label)
            .bind(2, description)
            .bind(3, utcNow())
            .run();
        return db.lastInsertId();
    });
}

std::vector<Study> Studies::list() {
    require(session_, Action::ListStudies);
    session_.touch();
    std::string sql = "SELECT id, label, description, blind FROM studies";
    if (session_.role() == Role::Annotator)
        sql += " WHERE id IN (SELECT study_id FROM assignments WHERE user_id = ?)";
    sql += " ORDER BY id";
    auto s = SessionAccess::database(session_).prepare(sql);
    if (session_.role() == Role::Annotator)
        s.bind(1, SessionAccess::userId(session_));
    std::vector<Study> out;
    while (s.step())
        out.push_back({s.integer(0), s.text(1), s.text(2), s.integer(3) != 0});
    return out;
}

namespace internal {
Study readStudy(Session& session, std::int64_t studyId) {
    auto s = SessionAccess::database(session).prepare(
        "SELECT id, label, description, blind FROM studies WHERE id = ?");
    s.bind(1, studyId);
    if (!s.step())
        throw InvalidRequestError("there is no study " + std::to_string(studyId));
    return {s.integer(0), s.text(1), s.text(2), s.integer(3) != 0};
}
} // namespace internal

Study Studies::open(std::int64_t studyId) {
    requireStudy(session_, Action::OpenStudy, studyId);
    session_.touch();
    Study study = internal::readStudy(session_, studyId);
    session_.recordAccess("open study", study.label);
    return study;
}

Study Studies::openForExport(std::int64_t studyId) {
    require(session_, Action::ReadForExport, "study " + std::to_string(studyId));
    session_.touch();
    Study study = internal::readStudy(session_, studyId);
    session_.recordAccess("read for export", study.label);
    return study;
}

void Studies::assign(const std::string& userName, std::int64_t studyId) {
    require(session_, Action::AssignStudy, "study " + std::to_string(studyId));
    session_.touch();
    const UserInfo user = internal::findUser(session_, userName);
    if (user.role != Role::Annotator)
        throw InvalidRequestError(userName + " is a " + roleName(user.role) +
                                  "; only annotators are assigned studies");
    const std::string label = internal::studyLabel(session_, studyId);
    SessionAccess::recorded(session_, "assign", label, "to " + userName, [&](Database& db) {
        db.prepare("INSERT OR IGNORE INTO assignments(user_id, study_id) VALUES (?, ?)")
            .bind(1, user.id)
            .bind(2, studyId)
            .run();
    });
}

void Studies::unassign(const std::string& userName, std::int64_t studyId) {
    require(session_, Action::UnassignStudy, "study " + std::to_string(studyId));
    session_.touch();
    const UserInfo user = internal::findUser(session_, userName);
    SessionAccess::recorded(
        session_, "unassign", std::to_string(studyId), "from " + userName, [&](Database& db) {
            db.prepare("DELETE FROM assignments WHERE user_id = ? AND study_id = ?")
                .bind(1, user.id)
                .bind(2, studyId)
                .run();
        });
}

std::int64_t Studies::idFor(const std::string& labelOrId) {
    require(session_, Action::ListStudies);
    auto s = SessionAccess::database(session_).prepare(
        "SELECT id FROM studies WHERE label = ? OR CAST(id AS TEXT) = ? "
        "ORDER BY label = ? DESC LIMIT 1");
    s.bind(1, labelOrId).bind(2, labelOrId).bind(3, labelOrId);
    if (!s.step())
        throw InvalidRequestError("there is no study " + labelOrId);
    return s.integer(0);
}

void Studies::setBlind(std::int64_t studyId, bool blind) {
    require(session_, Action::SetStudyBlind, "study " + std::to_string(studyId));
    session_.touch();
    const std::string label = internal::studyLabel(session_, studyId);
    SessionAccess::recorded(session_, "study blind", label, blind ? "blind" : "shared",
                            [&](Database& db) {
                                db.prepare("UPDATE studies SET blind = ? WHERE id = ?")
                                    .bind(1, std::int64_t(blind))
                                    .bind(2, studyId)
                                    .run();
                            });
}

bool Studies::isBlind(std::int64_t studyId) {
    require(session_, Action::ListStudies, "study " + std::to_string(studyId));
    auto s = SessionAccess::database(session_).prepare("SELECT blind FROM studies WHERE id = ?");
    s.bind(1, studyId);
    if (!s.step())
        throw InvalidRequestError("there is no study " + std::to_string(studyId));
    return s.integer(0) != 0;
}

} // namespace radmark::storage
