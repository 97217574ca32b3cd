#include "storage/Reviews.h"

#include "storage/ChunkStore.h"
#include "storage/Permissions.h"
#include "storage/SessionAccess.h"
#include "storage/Studies.h"

#include <algorithm>
#include <cmath>

namespace radmark::storage {

namespace {

struct Named {
    ReviewState state;
    std::string_view name;
};
constexpr Named stateNames[] = {{ReviewState::Draft, "draft"},
                                {ReviewState::Submitted, "submitted"},
                                {ReviewState::Approved, "approved"},
                                {ReviewState::ChangesRequested, "changes requested"},
                                {ReviewState::Rejected, "rejected"}};

// What the store knows of a version, for the rules below.
struct VersionRow {
    std::int64_t id = 0;
    std::int64_t studyId = 0;
    std::int64_t authorId = 0;
    std::string author;
    std::string contentHash;
    bool consensus = false;
};

VersionRow versionRow(Database& db, std::int64_t annotationId) {
    auto s = db.prepare("SELECT a.id, a.study_id, a.author_id, u.name, a.chunk, a.kind "
                        "FROM annotations a JOIN users u ON u.id = a.author_id WHERE a.id = ?");
    s.bind(1, annotationId);
    if (!s.step())
        throw InvalidRequestError("there is no version " + std::to_string(annotationId));
    return {s.integer(0), s.integer(1),     s.integer(2),
            s.text(3),    toHex(s.blob(4)), s.text(5) == "consensus"};
}

std::string versionObject(std::int64_t annotationId) {
    return "annotation " + std::to_string(annotationId);
}

std::optional<ReviewDecisionRecord> readDecision(Database& db, std::int64_t annotationId) {
    auto s = db.prepare("SELECT d.id, d.annotation_id, u.name, d.decision, d.content_hash, "
                        "d.message, d.metrics, d.created FROM decisions d "
                        "JOIN users u ON u.id = d.reviewer_id WHERE d.annotation_id = ?");
    s.bind(1, annotationId);
    if (!s.step())
        return std::nullopt;
    return ReviewDecisionRecord{s.integer(0), s.integer(1), s.text(2), parseDecision(s.text(3)),
                                s.text(4),    s.text(5),    s.text(6), s.text(7)};
}

int openCommentsOf(Database& db, std::int64_t annotationId) {
    auto s = db.prepare("SELECT COUNT(*) FROM comments WHERE annotation_id = ? AND reply_to IS "
                        "NULL AND resolved IS NULL");
    s.bind(1, annotationId);
    s.step();
    return int(s.integer(0));
}

ReviewComment readComment(Statement& s) {
    ReviewComment c;
    c.id = s.integer(0);
    c.annotationId = s.integer(1);
    if (!s.isNull(2))
        c.replyTo = s.integer(2);
    c.author = s.text(3);
    c.text = s.text(4);
    c.created = s.text(5);
    if (!s.isNull(6))
        c.voxel = imaging::Vec3{double(s.integer(6)), double(s.integer(7)), double(s.integer(8))};
    if (!s.isNull(9))
        c.segment = s.integer(9);
    c.resolved = !s.isNull(10);
    c.resolvedAt = c.resolved ? s.text(10) : std::string();
    c.resolvedBy = s.isNull(11) ? std::string() : s.text(11);
    return c;
}

constexpr const char* commentColumns =
    "SELECT c.id, c.annotation_id, c.reply_to, a.name, c.text, c.created, c.x, c.y, c.z, "
    "c.segment, c.resolved, r.name FROM comments c JOIN users a ON a.id = c.author_id "
    "LEFT JOIN users r ON r.id = c.resolved_by ";

} // namespace

const char* reviewStateName(ReviewState state) {
    for (const Named& n : stateNames)
        if (n.state == state)
            return n.name.data();
    return "draft";
}

std::optional<ReviewState> parseReviewState(std::string_view name) {
    if (name == "changes" || name == "changes-requested")
        return ReviewState::ChangesRequested;
    for (const Named& n : stateNames)
        if (n.name == name)
            return n.state;
    return std::nullopt;
}

ReviewState reviewStateOf(const std::string& decision, bool submitted) {
    if (!decision.empty())
        return stateAfter(parseDecision(decision));
    return submitted ? ReviewState::Submitted : ReviewState::Draft;
}

std::string_view decisionName(Decision decision) {
    switch (decision) {
    case Decision::Approve:
        return "approve";
    case Decision::RequestChanges:
        return "changes";
    case Decision::Reject:
        return "reject";
    }
    return "approve";
}

Decision parseDecision(std::string_view name) {
    if (name == "approve")
        return Decision::Approve;
    if (name == "changes" || name == "request-changes")
        return Decision::RequestChanges;
    if (name == "reject")
        return Decision::Reject;
    throw InvalidRequestError("unknown decision '" + std::string(name) +
                              "' (approve, changes or reject)");
}

ReviewState stateAfter(Decision decision) {
    switch (decision) {
    case Decision::Approve:
        return ReviewState::Approved;
    case Decision::RequestChanges:
        return ReviewState::ChangesRequested;
    case Decision::Reject:
        return ReviewState::Rejected;
    }
    return ReviewState::Approved;
}

void Reviews::submit(std::int64_t annotationId) {
    require(session_, Action::SubmitForReview);
    session_.touch();
    Database& db = SessionAccess::database(session_);
    const VersionRow version = versionRow(db, annotationId);
    requireVersion(session_, Action::SubmitForReview, annotationId);
    if (version.author != session_.userName())
        throw PermissionDeniedError("only its author submits a version for review (this one is " +
                                    version.author + "'s)");
    if (const auto decided = readDecision(db, annotationId))
        throw AlreadyDecidedError("this version was already reviewed: " +
                                      std::string(reviewStateName(stateAfter(decided->decision))) +
                                      " by " + decided->reviewer + " on " + decided->created,
                                  *decided);
    const bool submitted = [&] {
        auto live = db.prepare("SELECT 1 FROM submissions WHERE annotation_id = ?");
        live.bind(1, annotationId);
        return live.step();
    }();
    if (submitted)
        throw InvalidRequestError("this version is already submitted for review");
    SessionAccess::recorded(
        session_, "submit", versionObject(annotationId), version.contentHash.substr(0, 12),
        [&](Database& d) {
            d.prepare("INSERT INTO submissions(annotation_id, submitted) VALUES (?, ?)")
                .bind(1, annotationId)
                .bind(2, utcNow())
                .run();
        });
}

ReviewDecisionRecord Reviews::decide(std::int64_t annotationId, Decision decision,
                                     const std::string& message, const std::string& contentHash,
                                     const std::string& metricsJson, bool resolveOpenComments) {
    require(session_, Action::DecideReview, versionObject(annotationId));
    session_.touch();
    Database& db = SessionAccess::database(session_);
    const VersionRow version = versionRow(db, annotationId);
    const std::string object = versionObject(annotationId);
    const auto refuse = [&](const std::string& why) {
        session_.recordAccess("refused review decision", object, why);
    };
    if (version.author == session_.userName() && !version.consensus) {
        refuse("own version");
        throw PermissionDeniedError("nobody reviews their own version");
    }
    if (version.contentHash != contentHash) {
        refuse("content hash does not match");
        throw InvalidRequestError(
            "this version's content is not the one shown (hash " + contentHash.substr(0, 12) +
            " asked, " + version.contentHash.substr(0, 12) + " stored): reopen it before deciding");
    }
    if (decision != Decision::Approve && message.find_first_not_of(" \t\r\n") == std::string::npos)
        throw InvalidRequestError(
            std::string(decision == Decision::Reject ? "rejecting" : "requesting changes") +
            " needs a comment saying why");
    const auto alreadyDecided = [&](const ReviewDecisionRecord& first) {
        refuse("already decided");
        return AlreadyDecidedError(
            "the first decision is final: " + first.reviewer + " decided \"" +
                std::string(reviewStateName(stateAfter(first.decision))) + "\" on " + first.created,
            first);
    };
    if (const auto first = readDecision(db, annotationId))
        throw alreadyDecided(*first);
    // Each check's statement ends before the write: an open read would pin an old snapshot, and
    // upgrading it after another reviewer's commit fails at once instead of waiting.
    const bool live = [&] {
        auto submitted = db.prepare("SELECT 1 FROM submissions WHERE annotation_id = ? AND "
                                    "withdrawn IS NULL");
        submitted.bind(1, annotationId);
        return submitted.step();
    }();
    if (!live && !version.consensus) {
        refuse("not submitted");
        throw InvalidRequestError("this version is not submitted for review");
    }
    const int open = openCommentsOf(db, annotationId);
    if (decision == Decision::Approve && open > 0 && !resolveOpenComments)
        throw OpenCommentsError("this version has " + std::to_string(open) +
                                    " open comment(s): approving resolves them; confirm to go on",
                                open);
    try {
        return writeDecision(annotationId, decision, message, contentHash, metricsJson, open > 0);
    } catch (const StoreError&) {
        // Another reviewer's decision committed first (the table holds one per version).
        if (const auto first = readDecision(db, annotationId))
            throw alreadyDecided(*first);
        throw;
    }
}

ReviewDecisionRecord Reviews::writeDecision(std::int64_t annotationId, Decision decision,
                                            const std::string& message,
                                            const std::string& contentHash,
                                            const std::string& metricsJson, bool resolveOpen) {
    Database& db = SessionAccess::database(session_);
    const std::string object = versionObject(annotationId);
    Transaction transaction(db);
    const std::int64_t reviewerId = SessionAccess::userId(session_);
    const std::string now = utcNow();
    if (decision == Decision::Approve && resolveOpen) {
        auto list = db.prepare("SELECT id FROM comments WHERE annotation_id = ? AND reply_to IS "
                               "NULL AND resolved IS NULL ORDER BY id");
        list.bind(1, annotationId);
        std::vector<std::int64_t> ids;
        while (list.step())
            ids.push_back(list.integer(0));
        for (std::int64_t id : ids) {
            db.prepare("UPDATE comments SET resolved = ?, resolved_by = ? WHERE id = ?")
                .bind(1, now)
                .bind(2, reviewerId)
                .bind(3, id)
                .run();
            SessionAccess::auditLog(session_).append(session_.userName(), "resolve comment",
                                                     "comment " + std::to_string(id),
                                                     "resolved by approval");
        }
    }
    db.prepare("INSERT INTO decisions(annotation_id, reviewer_id, decision, content_hash, message, "
               "metrics, created) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .bind(1, annotationId)
        .bind(2, reviewerId)
        .bind(3, decisionName(decision))
        .bind(4, contentHash)
        .bind(5, message)
        .bind(6, metricsJson.empty() ? std::string("{}") : metricsJson)
        .bind(7, now)
        .run();
    const std::int64_t id = db.lastInsertId();
    SessionAccess::auditLog(session_).append(session_.userName(), "review decision", object,
                                             std::string(decisionName(decision)) + " " +
                                                 contentHash.substr(0, 12) +
                                                 (message.empty() ? "" : ": " + message));
    transaction.commit();
    return {id,          annotationId, session_.userName(), decision,
            contentHash, message,      metricsJson,         now};
}

std::optional<ReviewDecisionRecord> Reviews::decisionOf(std::int64_t annotationId) {
    requireVersion(session_, Action::ReadReviews, annotationId);
    Database& db = SessionAccess::database(session_);

    return readDecision(db, annotationId);
}

ReviewComment Reviews::comment(std::int64_t annotationId, const imaging::Vec3& voxel,
                               const std::string& text, std::optional<std::int64_t> segment) {
    requireVersion(session_, Action::CommentOnVersion, annotationId);
    session_.touch();
    if (text.find_first_not_of(" \t\r\n") == std::string::npos)
        throw InvalidRequestError("a comment needs a text");
    Database& db = SessionAccess::database(session_);
    versionRow(db, annotationId); // throws for an unknown version
    const std::int64_t author = SessionAccess::userId(session_);
    const std::int64_t x = std::llround(voxel[0]), y = std::llround(voxel[1]),
                       z = std::llround(voxel[2]);
    const std::int64_t id = SessionAccess::recorded(
        session_, "comment", versionObject(annotationId),
        "at voxel " + std::to_string(x) + "," + std::to_string(y) + "," + std::to_string(z),
        [&](Database& d) {
            auto s =
                d.prepare("INSERT INTO comments(annotation_id, author_id, text, created, x, y, "
                          "z, segment) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
            s.bind(1, annotationId).bind(2, author).bind(3, text).bind(4, utcNow());
            s.bind(5, x).bind(6, y).bind(7, z);
            if (segment)
                s.bind(8, *segment);
            else
                s.bindNull(8);
            s.run();
            return d.lastInsertId();
        });
    auto s = db.prepare(std::string(commentColumns) + "WHERE c.id = ?");
    s.bind(1, id);
    s.step();
    return readComment(s);
}

ReviewComment Reviews::reply(std::int64_t commentId, const std::string& text) {
    require(session_, Action::ReplyToComment);
    session_.touch();
    if (text.find_first_not_of(" \t\r\n") == std::string::npos)
        throw InvalidRequestError("a reply needs a text");
    Database& db = SessionAccess::database(session_);
    auto parent = db.prepare("SELECT annotation_id, reply_to FROM comments WHERE id = ?");
    parent.bind(1, commentId);
    if (!parent.step())
        throw InvalidRequestError("there is no comment " + std::to_string(commentId));
    const std::int64_t annotationId = parent.integer(0);
    const std::int64_t thread = parent.isNull(1) ? commentId : parent.integer(1);
    parent.reset(); // no read left open across the write below
    requireVersion(session_, Action::ReplyToComment, annotationId);
    const std::int64_t author = SessionAccess::userId(session_);
    const std::int64_t id = SessionAccess::recorded(
        session_, "reply", "comment " + std::to_string(thread), {}, [&](Database& d) {
            d.prepare("INSERT INTO comments(annotation_id, reply_to, author_id, text, created) "
                      "VALUES (?, ?, ?, ?, ?)")
                .bind(1, annotationId)
                .bind(2, thread)
                .bind(3, author)
                .bind(4, text)
                .bind(5, utcNow())
                .run();
            return d.lastInsertId();
        });
    auto s = db.prepare(std::string(commentColumns) + "WHERE c.id = ?");
    s.bind(1, id);
    s.step();
    return readComment(s);
}

void Reviews::resolve(std::int64_t commentId) {
    require(session_, Action::ResolveComment);
    session_.touch();
    Database& db = SessionAccess::database(session_);
    auto c = db.prepare("SELECT annotation_id, reply_to, resolved FROM comments WHERE id = ?");
    c.bind(1, commentId);
    if (!c.step())
        throw InvalidRequestError("there is no comment " + std::to_string(commentId));
    if (!c.isNull(1))
        throw InvalidRequestError("a reply is resolved with its comment");
    if (!c.isNull(2))
        throw InvalidRequestError("this comment is already resolved");
    const std::int64_t annotationId = c.integer(0);
    c.reset(); // no read left open across the write below
    requireVersion(session_, Action::ResolveComment, annotationId);
    const std::int64_t who = SessionAccess::userId(session_);
    SessionAccess::recorded(
        session_, "resolve comment", "comment " + std::to_string(commentId), {}, [&](Database& d) {
            d.prepare("UPDATE comments SET resolved = ?, resolved_by = ? WHERE id = ?")
                .bind(1, utcNow())
                .bind(2, who)
                .bind(3, commentId)
                .run();
        });
}

std::vector<ReviewComment> Reviews::comments(std::int64_t annotationId) {
    requireVersion(session_, Action::ReadReviews, annotationId);
    Database& db = SessionAccess::database(session_);

    auto s = db.prepare(std::string(commentColumns) + "WHERE c.annotation_id = ? ORDER BY c.id");
    s.bind(1, annotationId);
    std::vector<ReviewComment> out;
    while (s.step())
        out.push_back(readComment(s));
    return out;
}

std::map<std::int64_t, VersionReview> Reviews::ofStudy(std::int64_t studyId) {
    requireStudy(session_, Action::ReadReviews, studyId);

    Database& db = SessionAccess::database(session_);
    // A blind study's annotator sees the review side of her own versions and of consensus
    // versions only, as she sees only those versions.
    const bool onlyOwn = session_.role() == Role::Annotator && Studies(session_).isBlind(studyId);
    std::map<std::int64_t, VersionReview> out;
    auto s = db.prepare(
        "SELECT a.id, a.kind, a.revises, s.submitted, s.withdrawn, u.name FROM annotations a "
        "JOIN users u ON u.id = a.author_id "
        "LEFT JOIN submissions s ON s.annotation_id = a.id WHERE a.study_id = ? ORDER BY a.id");
    s.bind(1, studyId);
    while (s.step()) {
        VersionReview v;
        v.annotationId = s.integer(0);
        v.consensus = s.text(1) == "consensus";
        if (onlyOwn && !v.consensus && s.text(5) != session_.userName())
            continue;
        if (!s.isNull(2))
            v.revises = s.integer(2);
        const bool live = !s.isNull(3) && s.isNull(4);
        if (live) {
            v.state = ReviewState::Submitted;
            v.submitted = s.text(3);
        }
        out.emplace(v.annotationId, v);
    }
    for (auto& [id, v] : out) {
        v.decision = readDecision(db, id);
        if (v.decision)
            v.state = stateAfter(v.decision->decision);
        v.openComments = openCommentsOf(db, id);
    }
    return out;
}

std::vector<ReviewEvent> Reviews::history(std::int64_t annotationId) {
    requireVersion(session_, Action::ReadReviews, annotationId);
    Database& db = SessionAccess::database(session_);
    const VersionRow version = versionRow(db, annotationId);

    std::vector<ReviewEvent> events;
    {
        auto s = db.prepare("SELECT created, message FROM annotations WHERE id = ?");
        s.bind(1, annotationId);
        if (s.step())
            events.push_back({s.text(0), version.author,
                              version.consensus ? "saved consensus" : "saved", s.text(1)});
    }
    {
        auto s = db.prepare("SELECT s.submitted, s.withdrawn, w.id FROM submissions s LEFT JOIN "
                            "annotations w ON w.id = s.withdrawn_by WHERE s.annotation_id = ?");
        s.bind(1, annotationId);
        if (s.step()) {
            events.push_back({s.text(0), version.author, "submitted", {}});
            if (!s.isNull(1))
                events.push_back({s.text(1), version.author, "withdrawn",
                                  s.isNull(2)
                                      ? std::string()
                                      : "by the newer version " + std::to_string(s.integer(2))});
        }
    }
    if (const auto d = readDecision(db, annotationId))
        events.push_back({d->created, d->reviewer,
                          std::string(reviewStateName(stateAfter(d->decision))),
                          d->message + " [content " + d->contentHash.substr(0, 12) + "]"});
    auto s = db.prepare(std::string(commentColumns) + "WHERE c.annotation_id = ? ORDER BY c.id");
    s.bind(1, annotationId);
    std::vector<ReviewEvent> resolutions; // after what they resolve, at the same time or later
    while (s.step()) {
        const ReviewComment c = readComment(s);
        events.push_back({c.created, c.author, c.replyTo ? "replied" : "commented", c.text});
        if (c.resolved)
            resolutions.push_back(
                {c.resolvedAt, c.resolvedBy, "resolved", "comment " + std::to_string(c.id)});
    }
    events.insert(events.end(), resolutions.begin(), resolutions.end());
    std::stable_sort(events.begin(), events.end(),
                     [](const ReviewEvent& a, const ReviewEvent& b) { return a.time < b.time; });
    return events;
}

std::vector<StudyReviewSummary> Reviews::studies() {
    require(session_, Action::ListStudies);
    session_.touch();
    Database& db = SessionAccess::database(session_);
    std::vector<StudyReviewSummary> out;
    for (const Study& study : Studies(session_).list()) {
        StudyReviewSummary summary;
        summary.studyId = study.id;
        summary.pseudonym = study.label;
        summary.description = study.description;
        summary.blind = study.blind;
        auto hasSeries = db.prepare(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'imported_series'");
        if (hasSeries.step()) {
            auto m = db.prepare("SELECT modality FROM imported_series WHERE study_id = ? ORDER BY "
                                "series_index LIMIT 1");
            m.bind(1, study.id);
            if (m.step())
                summary.modality = m.text(0);
        }
        auto a = db.prepare("SELECT u.name FROM assignments x JOIN users u ON u.id = x.user_id "
                            "WHERE x.study_id = ? ORDER BY u.name");
        a.bind(1, study.id);
        while (a.step())
            summary.annotators.push_back(a.text(0));
        const std::map<std::int64_t, VersionReview> reviews = ofStudy(study.id);
        auto v =
            db.prepare("SELECT a.id, u.name, a.created, a.message, a.chunk FROM annotations a "
                       "JOIN users u ON u.id = a.author_id WHERE a.study_id = ? ORDER BY a.id");
        v.bind(1, study.id);
        while (v.step()) {
            const auto known = reviews.find(v.integer(0));
            if (known == reviews.end()) // a version this user may not see (blind study)
                continue;
            StudyReviewSummary::Version version{v.integer(0), v.text(1),        v.text(2),
                                                v.text(3),    toHex(v.blob(4)), {}};
            if (const auto it = reviews.find(version.annotationId); it != reviews.end())
                version.review = it->second;
            summary.versions.push_back(std::move(version));
        }
        out.push_back(std::move(summary));
    }
    return out;
}

std::int64_t Reviews::findVersion(const std::string& idOrHashPrefix) {
    require(session_, Action::ReadReviews);
    Database& db = SessionAccess::database(session_);
    std::vector<std::pair<std::int64_t, std::int64_t>> found; // annotation, study
    if (!idOrHashPrefix.empty() &&
        idOrHashPrefix.find_first_not_of("0123456789") == std::string::npos &&
        idOrHashPrefix.size() < 6) {
        auto s = db.prepare("SELECT id, study_id FROM annotations WHERE id = ?");
        s.bind(1, std::stoll(idOrHashPrefix));
        if (s.step())
            found.emplace_back(s.integer(0), s.integer(1));
    } else {
        if (idOrHashPrefix.size() < 6 ||
            idOrHashPrefix.find_first_not_of("0123456789abcdef") != std::string::npos)
            throw InvalidRequestError("name a version by its number or at least 6 hex digits of "
                                      "its hash (got '" +
                                      idOrHashPrefix + "')");
        auto s = db.prepare("SELECT id, study_id, chunk FROM annotations ORDER BY id");
        while (s.step())
            if (toHex(s.blob(2)).rfind(idOrHashPrefix, 0) == 0)
                found.emplace_back(s.integer(0), s.integer(1));
    }
    if (found.empty())
        throw InvalidRequestError("there is no version " + idOrHashPrefix);
    if (found.size() > 1)
        throw InvalidRequestError("several versions start with " + idOrHashPrefix +
                                  ": give more digits");
    requireVisible(found.front().first);
    return found.front().first;
}

std::int64_t Reviews::studyOf(std::int64_t annotationId) {
    return requireVersion(session_, Action::ReadReviews, annotationId);
}

void Reviews::requireVisible(std::int64_t annotationId) {
    requireVersion(session_, Action::ReadReviews, annotationId);
}

std::int64_t Reviews::saveConsensus(std::int64_t studyId, std::span<const std::uint8_t> record,
                                    std::span<const std::span<const std::uint8_t>> chunks,
                                    const std::string& method,
                                    const std::vector<std::int64_t>& sources,
                                    const std::string& message) {
    requireStudy(session_, Action::SaveConsensus, studyId);
    session_.touch();
    Database& db = SessionAccess::database(session_);
    if (sources.size() < 2)
        throw InvalidRequestError("a consensus needs at least two versions");
    for (std::int64_t source : sources)
        if (versionRow(db, source).studyId != studyId)
            throw InvalidRequestError("version " + std::to_string(source) +
                                      " belongs to another study");
    const std::int64_t reviewerId = SessionAccess::userId(session_);
    std::string sourceList;
    for (std::int64_t source : sources)
        sourceList += (sourceList.empty() ? "" : ",") + std::to_string(source);
    const std::string label = internal::studyLabel(session_, studyId);
    return SessionAccess::recorded(
        session_, "save consensus", label, method + " of versions " + sourceList, [&](Database& d) {
            ChunkStore store(d);
            store.putMany(chunks);
            const imaging::ChunkHash hash = store.put(record);
            d.prepare("INSERT INTO annotations(study_id, author_id, chunk, message, created, kind, "
                      "method) VALUES (?, ?, ?, ?, ?, 'consensus', ?)")
                .bind(1, studyId)
                .bind(2, reviewerId)
                .bindBlob(3, hash.bytes.data(), hash.bytes.size())
                .bind(4, message)
                .bind(5, utcNow())
                .bind(6, method)
                .run();
            const std::int64_t id = d.lastInsertId();
            for (std::int64_t source : sources)
                d.prepare("INSERT OR IGNORE INTO consensus_sources(annotation_id, source_id) "
                          "VALUES (?, ?)")
                    .bind(1, id)
                    .bind(2, source)
                    .run();
            return id;
        });
}

} // namespace radmark::storage
