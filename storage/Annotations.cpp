#include "storage/Annotations.h"

#include "storage/ChunkStore.h"
#include "storage/Permissions.h"
#include "storage/SessionAccess.h"

namespace radmark::storage {

using imaging::ChunkHash;

namespace {
Study readStudy(Session& session, std::int64_t studyId) {
    auto s = SessionAccess::database(session).prepare(
        "SELECT id, label, description, blind FROM studies WHERE id = ?");
    s.bind(1, studyId);
    if (!s.step())
        throw InvalidRequestError("there is no study " + std::to_string(studyId));
    return {s.integer(0), s.text(1), s.text(2), s.integer(3) != 0};
}
} // namespace

std::int64_t Annotations::save(std::int64_t studyId, std::span<const std::uint8_t> data,
                               const std::string& message, ChunkSpans chunks) {
    requireStudy(session_, Action::SaveVersion, studyId);
    session_.touch();
    const std::string label = internal::studyLabel(session_, studyId);
    return SessionAccess::recorded(session_, "save", label, message, [&](Database& db) {
        ChunkStore(db).putMany(chunks);
        db.prepare("DELETE FROM drafts WHERE study_id = ? AND user_id = ?")
            .bind(1, studyId)
            .bind(2, SessionAccess::userId(session_))
            .run();
        const ChunkHash hash = internal::putChunk(session_, data);
        db.prepare("INSERT INTO annotations(study_id, author_id, chunk, message, created) "
                   "VALUES (?, ?, ?, ?, ?)")
            .bind(1, studyId)
            .bind(2, SessionAccess::userId(session_))
            .bindBlob(3, hash.bytes.data(), hash.bytes.size())
            .bind(4, message)
            .bind(5, utcNow())
            .run();
        return db.lastInsertId();
    });
}

std::vector<AnnotationRecord> Annotations::list(std::int64_t studyId) {
    requireStudy(session_, Action::ListVersions, studyId);
    session_.touch();
    const Study study = readStudy(session_, studyId);
    // On a blind study an annotator's list holds her own versions and reviewers' ones only.
    const bool onlyOwnAndConsensus = session_.role() == Role::Annotator && study.blind;
    auto s = SessionAccess::database(session_).prepare(
        "SELECT a.id, a.study_id, u.name, a.message, a.created, a.review_state, a.chunk "
        "FROM annotations a JOIN users u ON u.id = a.author_id WHERE a.study_id = ? "
        "AND (? = 0 OR a.author_id = ? OR u.role = 'reviewer') ORDER BY a.id");
    s.bind(1, studyId)
        .bind(2, std::int64_t(onlyOwnAndConsensus))
        .bind(3, SessionAccess::userId(session_));
    std::vector<AnnotationRecord> out;
    while (s.step())
        out.push_back({s.integer(0), s.integer(1), s.text(2), s.text(3), s.text(4),
                       internal::reviewStateFromStored(s.text(5)),
                       ChunkHash::fromBytes(s.blob(6))});
    if (session_.role() == Role::Admin) // an admin reads labels only to export them: logged
        session_.recordAccess("list versions", study.label, "to export");
    return out;
}

Bytes Annotations::load(std::int64_t annotationId) {
    requireVersion(session_, Action::LoadVersion, annotationId);
    session_.touch();
    auto s =
        SessionAccess::database(session_).prepare("SELECT chunk FROM annotations WHERE id = ?");
    s.bind(1, annotationId);
    if (!s.step())
        throw InvalidRequestError("there is no annotation " + std::to_string(annotationId));
    const ChunkHash chunk = ChunkHash::fromBytes(s.blob(0));
    if (session_.role() == Role::Admin)
        session_.recordAccess("load version", "annotation " + std::to_string(annotationId),
                              "to export");
    return internal::readChunk(session_, chunk);
}

void Annotations::saveDraft(std::int64_t studyId, std::span<const std::uint8_t> record,
                            ChunkSpans chunks) {
    // No touch(): an autosave is not user activity and must not postpone the idle lock.
    requireStudy(session_, Action::SaveDraft, studyId);
    Database& db = SessionAccess::database(session_);
    Transaction transaction(db);
    ChunkStore store(db);
    store.putMany(chunks);
    const ChunkHash hash = store.put(record);
    db.prepare("INSERT OR REPLACE INTO drafts(study_id, user_id, chunk, saved) VALUES (?, ?, ?, ?)")
        .bind(1, studyId)
        .bind(2, SessionAccess::userId(session_))
        .bindBlob(3, hash.bytes.data(), hash.bytes.size())
        .bind(4, utcNow())
        .run();
    transaction.commit();
}

std::optional<DraftRecord> Annotations::draftOf(std::int64_t studyId) {
    // No touch(): asked by autosave and tests, not only users.
    requireStudy(session_, Action::ReadDraft, studyId);
    auto s = SessionAccess::database(session_).prepare(
        "SELECT saved, chunk FROM drafts WHERE study_id = ? AND user_id = ?");
    s.bind(1, studyId).bind(2, SessionAccess::userId(session_));
    if (!s.step())
        return std::nullopt;
    return DraftRecord{studyId, s.text(0), ChunkHash::fromBytes(s.blob(1))};
}

Bytes Annotations::recoverDraft(std::int64_t studyId) {
    requireStudy(session_, Action::ReadDraft, studyId);
    session_.touch();
    const std::optional<DraftRecord> draft = draftOf(studyId);
    if (!draft)
        throw InvalidRequestError("there is no unsaved draft of this study to recover");
    Bytes record = internal::readChunk(session_, draft->chunk);
    session_.recordAccess("recover draft", internal::studyLabel(session_, studyId),
                          "autosaved " + draft->saved);
    return record;
}

void Annotations::discardDraft(std::int64_t studyId) {
    requireStudy(session_, Action::DiscardDraft, studyId);
    session_.touch();
    const std::optional<DraftRecord> draft = draftOf(studyId);
    if (!draft)
        return;
    SessionAccess::recorded(session_, "discard draft", internal::studyLabel(session_, studyId),
                            "autosaved " + draft->saved, [&](Database& db) {
                                db.prepare("DELETE FROM drafts WHERE study_id = ? AND user_id = ?")
                                    .bind(1, studyId)
                                    .bind(2, SessionAccess::userId(session_))
                                    .run();
                            });
}

bool Annotations::hasChunk(const ChunkHash& hash) {
    require(session_, Action::LoadVersion, "chunk " + hash.hex().substr(0, 12));
    return ChunkStore(SessionAccess::database(session_)).has(hash);
}

Bytes Annotations::getChunk(const ChunkHash& hash) {
    require(session_, Action::LoadVersion, "chunk " + hash.hex().substr(0, 12));
    return internal::readChunk(session_, hash);
}

} // namespace radmark::storage
