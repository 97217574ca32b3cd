#include "storage/Annotations.h"

#include "storage/ChunkStore.h"
#include "storage/Permissions.h"
#include "storage/Reviews.h"
#include "storage/SessionAccess.h"

namespace radmark::storage {

using imaging::ChunkHash;

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
        const std::int64_t author = SessionAccess::userId(session_);
        // A save after a review follows up the author's newest submitted version.
        std::optional<std::int64_t> revises;
        {
            auto reviewed = db.prepare("SELECT a.id FROM annotations a JOIN submissions s ON "
                                       "s.annotation_id = a.id WHERE a.study_id = ? AND "
                                       "a.author_id = ? ORDER BY a.id DESC LIMIT 1");
            reviewed.bind(1, studyId).bind(2, author);
            if (reviewed.step())
                revises = reviewed.integer(0);
        }
        auto insert = db.prepare("INSERT INTO annotations(study_id, author_id, chunk, message, "
                                 "created, revises) VALUES (?, ?, ?, ?, ?, ?)");
        insert.bind(1, studyId).bind(2, author).bindBlob(3, hash.bytes.data(), hash.bytes.size());
        insert.bind(4, message).bind(5, utcNow());
        if (revises)
            insert.bind(6, *revises);
        else
            insert.bindNull(6);
        insert.run();
        const std::int64_t id = db.lastInsertId();
        // It withdraws her submissions on this study that no reviewer decided yet.
        std::vector<std::int64_t> withdrawn;
        {
            auto live = db.prepare("SELECT s.annotation_id FROM submissions s JOIN annotations a "
                                   "ON a.id = s.annotation_id WHERE a.study_id = ? AND "
                                   "a.author_id = ? AND s.withdrawn IS NULL AND s.annotation_id "
                                   "NOT IN (SELECT annotation_id FROM decisions)");
            live.bind(1, studyId).bind(2, author);
            while (live.step())
                withdrawn.push_back(live.integer(0));
        }
        for (std::int64_t old : withdrawn) {
            db.prepare("UPDATE submissions SET withdrawn = ?, withdrawn_by = ? WHERE "
                       "annotation_id = ?")
                .bind(1, utcNow())
                .bind(2, id)
                .bind(3, old)
                .run();
            SessionAccess::auditLog(session_).append(session_.userName(), "withdraw submission",
                                                     "annotation " + std::to_string(old),
                                                     "by the newer version " + std::to_string(id));
        }
        return id;
    });
}

std::vector<AnnotationRecord> Annotations::list(std::int64_t studyId) {
    requireStudy(session_, Action::ListVersions, studyId);
    session_.touch();
    const Study study = internal::readStudy(session_, studyId);
    // On a blind study an annotator's list holds her own versions and reviewers' ones only.
    const bool onlyOwnAndConsensus = session_.role() == Role::Annotator && study.blind;
    auto s = SessionAccess::database(session_).prepare(
        "SELECT a.id, a.study_id, u.name, a.message, a.created, d.decision, a.chunk, "
        "s.annotation_id IS NOT NULL AND s.withdrawn IS NULL FROM annotations a "
        "JOIN users u ON u.id = a.author_id LEFT JOIN decisions d ON d.annotation_id = a.id "
        "LEFT JOIN submissions s ON s.annotation_id = a.id WHERE a.study_id = ? "
        "AND (? = 0 OR a.author_id = ? OR u.role = 'reviewer') ORDER BY a.id");
    s.bind(1, studyId)
        .bind(2, std::int64_t(onlyOwnAndConsensus))
        .bind(3, SessionAccess::userId(session_));
    std::vector<AnnotationRecord> out;
    while (s.step())
        out.push_back({s.integer(0), s.integer(1), s.text(2), s.text(3), s.text(4),
                       reviewStateOf(s.isNull(5) ? std::string() : s.text(5), s.integer(7) != 0),
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
