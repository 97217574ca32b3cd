#include "app/cli/StoreAccess.h"

#include "annotation/VersionJson.h"
#include "app/cli/AdminOps.h"
#include "app/cli/DatasetOps.h"
#include "app/cli/PacsOps.h"
#include "app/cli/StoreAccessCore.h"
#include "app/service/ServiceProtocol.h"
#include "imaging/decoder/Channel.h"
#include "imaging/decoder/Protocol.h"
#include "storage/Administration.h"
#include "storage/Permissions.h"
#include "storage/Reviews.h"
#include "storage/StoredStudy.h"
#include "storage/Studies.h"
#include "workflow/StoredAnnotations.h"
#include "workflow/WorklistJson.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>

namespace radmark::cli {

using decoder::Message;
using decoder::MessageKind;
using decoder::UniqueFd;
using nlohmann::json;

// -- What both sides run ------------------------------------------------------------------

imaging::Volume loadStudyVolume(storage::Session& session, const std::string& study) {
    const std::int64_t studyId = storage::Studies(session).idFor(study);
    return storage::StoredStudy::open(session, studyId).loadVolume(0);
}

std::vector<VersionEntry> studyVersions(storage::Session& session, const std::string& study) {
    const std::int64_t studyId = storage::Studies(session).idFor(study);
    const workflow::StoredAnnotationHistory stored(session, studyId);
    std::vector<VersionEntry> entries;
    const auto& records = stored.stored().records;
    for (std::size_t i = 0; i < records.size(); ++i)
        entries.push_back({stored.history().versions()[i], records[i].reviewState});
    return entries;
}

void checkLabelGrid(const imaging::Geometry& study, const imaging::Index3& dims,
                    annotation::LabelWidth width, std::uint64_t bytes) {
    if (dims != study.dims)
        throw StoreAccessError("the label map is " + std::to_string(dims[0]) + "x" +
                               std::to_string(dims[1]) + "x" + std::to_string(dims[2]) +
                               ", the study's grid is " + std::to_string(study.dims[0]) + "x" +
                               std::to_string(study.dims[1]) + "x" + std::to_string(study.dims[2]) +
                               ": not saved");
    const std::uint64_t expected = std::uint64_t(study.voxelCount()) * std::uint64_t(width);
    if (bytes != expected)
        throw StoreAccessError("the label map holds " + std::to_string(bytes) +
                               " bytes, its grid needs " + std::to_string(expected) +
                               ": not saved");
}

namespace {

std::string sliceText(const imaging::Index3& d) {
    return std::to_string(d[0]) + "x" + std::to_string(d[1]) + "x" + std::to_string(d[2]);
}

// The slices a client sent, by index, on a grid of dims (what: "the label map", "the draft");
// refused unless their bytes fill exactly those slices, each in the grid and sent once.
annotation::VersionHistory::ChangedChunks
changedChunksOf(const ChangedSlices& slices, const imaging::Index3& dims, const std::string& what) {
    const std::uint64_t sliceBytes =
        std::uint64_t(dims[0]) * std::uint64_t(dims[1]) * std::uint64_t(slices.width);
    if (slices.byteCount != sliceBytes * slices.indices.size())
        throw StoreAccessError(what + "'s slices hold " + std::to_string(slices.byteCount) +
                               " bytes, " + std::to_string(slices.indices.size()) +
                               " slices need " +
                               std::to_string(sliceBytes * slices.indices.size()) + ": not saved");
    annotation::VersionHistory::ChangedChunks changed;
    for (std::size_t k = 0; k < slices.indices.size(); ++k) {
        const int z = slices.indices[k];
        if (z < 0 || z >= dims[2] || changed.count(z))
            throw StoreAccessError("slice " + std::to_string(z) + " is not in " + what +
                                   ", or sent twice: not saved");
        changed[z] = {slices.bytes + k * sliceBytes, std::size_t(sliceBytes)};
    }
    return changed;
}

// A version a client names: one of the study's versions she may read (ids: those her history
// lists), else a refusal, logged in the access log like any other.
annotation::VersionId versionOnStudy(storage::Session& session, std::int64_t studyId,
                                     const std::vector<annotation::VersionId>& ids,
                                     const std::string& hex, const std::string& refusedAction,
                                     const std::string& what, const std::string& consequence) {
    std::optional<annotation::VersionId> id;
    try {
        id = imaging::ChunkHash::fromHex(hex);
    } catch (const imaging::CorruptChunk&) {
    }
    if (!id || std::find(ids.begin(), ids.end(), *id) == ids.end()) {
        const std::string shortId = hex.substr(0, 12);
        session.recordAccess(refusedAction, "study " + std::to_string(studyId),
                             what + " (" + shortId +
                                 ") is not one of this study's versions she may read");
        throw StoreAccessError("there is no version " + shortId +
                               " of this study that you may read: " + consequence);
    }
    return *id;
}

// The parent a client names for a save.
annotation::VersionId parentOnStudy(storage::Session& session, std::int64_t studyId,
                                    const workflow::StoredAnnotationHistory& stored,
                                    const std::string& hex) {
    return versionOnStudy(session, studyId, stored.stored().ids, hex, "refused save",
                          "the version named as edited", "not saved");
}

// The store's annotation id of a version she names (hex), checked as versionOnStudy checks it,
// against the versions the study's review session lists (those her history lists).
std::int64_t annotationOnStudy(storage::Session& session, std::int64_t studyId,
                               const workflow::ReviewSession& review, const std::string& version,
                               const std::string& refusedAction, const std::string& what,
                               const std::string& consequence) {
    const std::vector<workflow::ReviewVersion> versions = review.versions();
    std::vector<annotation::VersionId> ids;
    for (const workflow::ReviewVersion& v : versions)
        ids.push_back(v.id);
    const annotation::VersionId id =
        versionOnStudy(session, studyId, ids, version, refusedAction, what, consequence);
    return versions[std::size_t(std::find(ids.begin(), ids.end(), id) - ids.begin())].annotationId;
}

} // namespace

std::optional<OpenedVersion> openStudyVersion(storage::Session& session, const std::string& study,
                                              const std::optional<std::string>& version,
                                              bool readOnly) {
    const std::int64_t studyId = storage::Studies(session).idFor(study);
    workflow::StoredAnnotationHistory stored(session, studyId);
    const std::optional<annotation::VersionId> id =
        version ? std::optional(versionOnStudy(session, studyId, stored.stored().ids, *version,
                                               "refused open version", "the version asked for",
                                               "not opened"))
                : stored.newest();
    if (!id)
        return std::nullopt;
    return OpenedVersion{*id, stored.openVersion(*id, readOnly)};
}

void submitStudyVersion(storage::Session& session, const std::string& study,
                        const std::string& version) {
    const std::int64_t studyId = storage::Studies(session).idFor(study);
    const workflow::ReviewSession review(session, studyId);
    workflow::submitForReview(session,
                              annotationOnStudy(session, studyId, review, version, "refused submit",
                                                "the version to submit", "not submitted"));
}

SavedVersion saveLabels(storage::Session& session, const std::string& study,
                        const LabelSource& labelsFor, const annotation::SegmentList& segments,
                        const std::vector<annotation::Box>& boxes, const std::string& message,
                        const std::optional<std::string>& parent) {
    const std::int64_t studyId = storage::Studies(session).idFor(study);
    const imaging::Geometry grid = storage::StoredStudy::open(session, studyId).geometry(0);
    workflow::StoredAnnotationHistory stored(session, studyId);
    const std::optional<annotation::VersionId> edited =
        parent ? std::optional(parentOnStudy(session, studyId, stored, *parent)) : stored.newest();
    annotation::LabelMap& labels = labelsFor(grid);
    annotation::SaveReport report;
    const annotation::Version version =
        stored.save(labels, segments, boxes, message, edited, &report);
    return {version.id.hex(), report.chunksWritten, report.chunksReused, version.chunks};
}

SavedVersion saveChangedSlices(storage::Session& session, const std::string& study,
                               const std::string& parent, const ChangedSlices& slices,
                               const annotation::SegmentList& segments,
                               const std::vector<annotation::Box>& boxes,
                               const std::string& message,
                               annotation::VersionHistory::ChunkCounts* known) {
    const std::int64_t studyId = storage::Studies(session).idFor(study);
    workflow::StoredAnnotationHistory stored(session, studyId);
    const annotation::VersionId base = parentOnStudy(session, studyId, stored, parent);
    const annotation::Version& edited = stored.history().get(base);
    // The parent's grid is the study's: every save was checked against it (saveLabels).
    const imaging::Geometry& grid = edited.geometry;
    if (slices.dims != grid.dims)
        throw StoreAccessError("the label map is " + sliceText(slices.dims) +
                               ", the study's grid is " + sliceText(grid.dims) + ": not saved");
    if (edited.width != slices.width)
        throw StoreAccessError("the label map's width differs from the version it was edited "
                               "from: send it whole");
    const annotation::VersionHistory::ChangedChunks changed =
        changedChunksOf(slices, grid.dims, "the label map");
    annotation::SaveReport report;
    const annotation::Version version =
        stored.saveChanges(base, changed, segments, boxes, message, &report, known);
    return {version.id.hex(), report.chunksWritten, report.chunksReused, version.chunks};
}

std::vector<storage::ReviewEvent>
versionHistory(storage::Session& session, const std::string& study, const std::string& version) {
    const std::int64_t studyId = storage::Studies(session).idFor(study);
    const workflow::ReviewSession review(session, studyId);
    return review.history(annotationOnStudy(session, studyId, review, version,
                                            "refused review history", "the version asked for",
                                            "no history"));
}

DecisionOutcome decideOnVersion(storage::Session& session, const std::string& study,
                                const std::string& version, storage::Decision decision,
                                const std::string& message, bool resolveOpenComments,
                                const std::optional<std::string>& compareWith) {
    // The role first: nothing is opened (and logged as opened) for a decision refused anyway.
    storage::require(session, storage::Action::DecideReview, study);
    const std::int64_t studyId = storage::Studies(session).idFor(study);
    workflow::ReviewSession review(session, studyId);
    const std::int64_t annotationId =
        annotationOnStudy(session, studyId, review, version, "refused decision",
                          "the version to decide on", "no decision recorded");
    std::optional<std::int64_t> other;
    if (compareWith)
        other = annotationOnStudy(session, studyId, review, *compareWith, "refused decision",
                                  "the version compared with", "no decision recorded");
    const std::string metrics = workflow::decisionMetrics(review, annotationId, other);
    DecisionOutcome outcome;
    try {
        const storage::ReviewDecisionRecord record =
            review.decide(annotationId, decision, message, metrics, resolveOpenComments);
        outcome.decision = record.decision;
        outcome.contentHash = record.contentHash;
    } catch (const storage::OpenCommentsError& open) {
        outcome.openComments = std::max(1, open.open);
    }
    return outcome;
}

std::vector<ReviewEntry> studyReviewVersions(storage::Session& session, const std::string& study) {
    const std::int64_t studyId = storage::Studies(session).idFor(study);
    const workflow::ReviewSession review(session, studyId);
    std::vector<ReviewEntry> entries;
    for (workflow::ReviewVersion& v : review.versions()) {
        const std::optional<std::int64_t> previous = review.previousOf(v.annotationId);
        entries.push_back({std::move(v), previous});
    }
    return entries;
}

std::vector<storage::ReviewComment>
versionComments(storage::Session& session, const std::string& study, const std::string& version) {
    const std::int64_t studyId = storage::Studies(session).idFor(study);
    const workflow::ReviewSession review(session, studyId);
    return review.comments(annotationOnStudy(session, studyId, review, version, "refused comments",
                                             "the version asked for", "no comments shown"));
}

storage::ReviewComment pinVersionComment(storage::Session& session, const std::string& study,
                                         const std::string& version, const imaging::Vec3& voxel,
                                         const std::string& text) {
    const std::int64_t studyId = storage::Studies(session).idFor(study);
    workflow::ReviewSession review(session, studyId);
    const std::int64_t annotationId =
        annotationOnStudy(session, studyId, review, version, "refused comment",
                          "the version to comment on", "no comment pinned");
    return review.pin(annotationId, voxel, text);
}

void answerVersionComment(storage::Session& session, const std::string& study,
                          const std::string& version, std::int64_t commentId,
                          const std::optional<std::string>& reply) {
    const std::int64_t studyId = storage::Studies(session).idFor(study);
    workflow::ReviewSession review(session, studyId);
    const std::int64_t annotationId =
        annotationOnStudy(session, studyId, review, version, "refused comment",
                          "the version of the comment", "nothing written");
    const std::vector<storage::ReviewComment> comments = review.comments(annotationId);
    if (std::none_of(comments.begin(), comments.end(), [&](const storage::ReviewComment& c) {
            return c.id == commentId && !c.replyTo;
        })) {
        session.recordAccess("refused comment", "study " + std::to_string(studyId),
                             "comment " + std::to_string(commentId) +
                                 " is not one pinned to the version she names");
        throw StoreAccessError("comment " + std::to_string(commentId) +
                               " is not pinned to this version: nothing written");
    }
    if (reply)
        review.reply(commentId, *reply);
    else
        review.resolve(commentId);
}

workflow::ReviewVersion buildStudyConsensus(storage::Session& session, const std::string& study,
                                            workflow::ReviewSession::Method method) {
    storage::require(session, storage::Action::SaveConsensus, study); // before any version opens
    const std::int64_t studyId = storage::Studies(session).idFor(study);
    return workflow::ReviewSession(session, studyId).buildConsensus(method);
}

std::string consensusMethodName(workflow::ReviewSession::Method method) {
    return method == workflow::ReviewSession::Method::Staple ? "staple" : "vote";
}

workflow::ReviewSession::Method parseConsensusMethod(const std::string& name) {
    if (name == "vote")
        return workflow::ReviewSession::Method::Vote;
    if (name == "staple")
        return workflow::ReviewSession::Method::Staple;
    throw StoreAccessError("a consensus is built by vote or staple, not '" + name + "'");
}

json commentJson(const storage::ReviewComment& c) {
    json out = {{"id", c.id},
                {"annotationId", c.annotationId},
                {"replyTo", c.replyTo ? json(*c.replyTo) : json(nullptr)},
                {"author", c.author},
                {"text", c.text},
                {"created", c.created},
                {"voxel", c.voxel ? json(*c.voxel) : json(nullptr)},
                {"segment", c.segment ? json(*c.segment) : json(nullptr)},
                {"resolved", c.resolved},
                {"resolvedBy", c.resolvedBy},
                {"resolvedAt", c.resolvedAt}};
    return out;
}

storage::ReviewComment commentFromJson(const json& in) {
    storage::ReviewComment c;
    c.id = in.at("id").get<std::int64_t>();
    c.annotationId = in.at("annotationId").get<std::int64_t>();
    if (!in.at("replyTo").is_null())
        c.replyTo = in.at("replyTo").get<std::int64_t>();
    c.author = in.at("author").get<std::string>();
    c.text = in.at("text").get<std::string>();
    c.created = in.at("created").get<std::string>();
    if (!in.at("voxel").is_null())
        c.voxel = in.at("voxel").get<imaging::Vec3>();
    if (!in.at("segment").is_null())
        c.segment = in.at("segment").get<std::int64_t>();
    c.resolved = in.at("resolved").get<bool>();
    c.resolvedBy = in.at("resolvedBy").get<std::string>();
    c.resolvedAt = in.at("resolvedAt").get<std::string>();
    return c;
}

json reviewEntriesJson(const std::vector<ReviewEntry>& entries) {
    json rows = json::array();
    for (const ReviewEntry& e : entries) {
        json row = workflow::reviewVersionJson(e.version);
        row["previous"] = e.previous ? json(*e.previous) : json(nullptr);
        rows.push_back(std::move(row));
    }
    return rows;
}

std::vector<ReviewEntry> reviewEntriesFromJson(const json& rows) {
    std::vector<ReviewEntry> entries;
    for (const json& row : rows) {
        ReviewEntry e{workflow::reviewVersionFromJson(row), std::nullopt};
        if (!row.at("previous").is_null())
            e.previous = row.at("previous").get<std::int64_t>();
        entries.push_back(std::move(e));
    }
    return entries;
}

std::optional<workflow::PendingDraft> studyPendingDraft(storage::Session& session,
                                                        const std::string& study) {
    const std::int64_t studyId = storage::Studies(session).idFor(study);
    return workflow::StoredAnnotationHistory(session, studyId).pendingDraft();
}

RecoveredDraft recoverStudyDraft(storage::Session& session, const std::string& study) {
    const std::int64_t studyId = storage::Studies(session).idFor(study);
    workflow::StoredAnnotationHistory stored(session, studyId);
    RecoveredDraft recovered{stored.recoverDraft(), {}, {}};
    const annotation::LabelMap& labels = recovered.annotation.labels;
    for (int z = 0; z < labels.chunkCount(); ++z) {
        const std::optional<imaging::ChunkHash> hash = labels.knownHash(z);
        if (!hash)
            throw StoreAccessError("a slice of the draft has no stored hash");
        recovered.chunks.push_back(*hash);
    }
    const auto& ids = stored.stored().ids;
    if (const auto parent = recovered.annotation.parent;
        parent && std::find(ids.begin(), ids.end(), *parent) != ids.end())
        recovered.parentChunks = stored.history().get(*parent).chunks;
    else
        recovered.annotation.parent.reset(); // a version she may no longer read continues nothing
    return recovered;
}

void discardStudyDraft(storage::Session& session, const std::string& study) {
    const std::int64_t studyId = storage::Studies(session).idFor(study);
    workflow::StoredAnnotationHistory(session, studyId).discardDraft();
}

std::vector<imaging::ChunkHash> saveDraftChanges(
    storage::Session& session, const std::string& study, const std::optional<std::string>& parent,
    const std::vector<std::optional<imaging::ChunkHash>>& kept, const ChangedSlices& slices,
    const annotation::SegmentList& segments, const std::vector<annotation::Box>& boxes,
    const std::set<imaging::ChunkHash>& accepted) {
    const std::int64_t studyId = storage::Studies(session).idFor(study);
    workflow::StoredAnnotationHistory stored(session, studyId);
    std::optional<annotation::VersionId> base;
    std::set<imaging::ChunkHash> allowed = accepted;
    imaging::Geometry grid;
    if (parent) {
        base = parentOnStudy(session, studyId, stored, *parent);
        const annotation::Version& edited = stored.history().get(*base);
        allowed.insert(edited.chunks.begin(), edited.chunks.end());
        grid = edited.geometry; // the study's (every save was checked against it)
    } else {
        grid = storage::StoredStudy::open(session, studyId).geometry(0);
    }
    if (slices.dims != grid.dims || int(kept.size()) != grid.dims[2])
        throw StoreAccessError("the draft is " + sliceText(slices.dims) + ", the study's grid is " +
                               sliceText(grid.dims) + ": not saved");
    annotation::VersionHistory::ChangedChunks changed =
        changedChunksOf(slices, grid.dims, "the draft");
    const std::size_t sliceBytes =
        std::size_t(grid.dims[0]) * std::size_t(grid.dims[1]) * std::size_t(slices.width);
    // An empty slice is content anyone may name: written as one when the store lacks it.
    const std::vector<std::uint8_t> emptySlice(sliceBytes, 0);
    const imaging::ChunkHash emptyHash = imaging::hashContent(emptySlice);
    std::vector<imaging::ChunkHash> chunks(kept.size());
    for (const auto& [z, bytes] : changed)
        if (kept[std::size_t(z)]) // both sent and named as kept
            throw StoreAccessError("slice " + std::to_string(z) +
                                   " is not in the draft, or sent twice: not saved");
    for (std::size_t z = 0; z < kept.size(); ++z) {
        if (changed.count(int(z)))
            continue;
        if (kept[z] == emptyHash && !allowed.count(emptyHash)) {
            changed[int(z)] = {emptySlice.data(), emptySlice.size()};
            continue;
        }
        if (!kept[z] || !allowed.count(*kept[z])) {
            session.recordAccess("refused draft", "study " + std::to_string(studyId),
                                 "slice " + std::to_string(z) +
                                     " names content that is not of the version she edits nor of "
                                     "her draft");
            throw StoreAccessError("slice " + std::to_string(z) +
                                   " names content that is not of the version you edit nor of "
                                   "your draft: not saved");
        }
        chunks[z] = *kept[z];
    }
    return stored.autosaveChanges(std::move(chunks), grid, slices.width, changed, segments, boxes,
                                  base);
}

std::vector<imaging::ChunkHash> chunkRunsFromJson(const nlohmann::json& runs) {
    std::vector<imaging::ChunkHash> chunks;
    for (const json& run : runs) {
        const imaging::ChunkHash hash = imaging::ChunkHash::fromHex(run.at(0).get<std::string>());
        const std::size_t count = run.at(1).get<std::size_t>();
        if (count > 1u << 20)
            throw StoreAccessError("the service's reply is not readable");
        chunks.insert(chunks.end(), count, hash);
    }
    return chunks;
}

std::string segmentsToJson(const annotation::SegmentList& segments) {
    return annotation::segmentsToJsonText(segments);
}

annotation::SegmentList segmentsFromJson(const std::string& text) {
    try {
        return annotation::segmentsFromJsonText(text);
    } catch (const annotation::SegmentError& e) {
        throw StoreAccessError(std::string("the label map's segments: ") + e.what());
    }
}

namespace {

// Copies labels into a fresh map of the study's grid (the in-process LabelMap's own buffer and
// the service's mapped memfd both go through here).
annotation::LabelMap labelsOnGrid(const imaging::Geometry& grid, annotation::LabelWidth width,
                                  const std::uint8_t* bytes) {
    annotation::LabelMap labels(grid, width);
    for (int chunk = 0; chunk < labels.chunkCount(); ++chunk) {
        auto out = labels.chunkBytesForWriting(chunk);
        std::memcpy(out.data(), bytes + std::size_t(chunk) * labels.chunkByteCount(),
                    labels.chunkByteCount());
    }
    return labels;
}

// -- In-process -----------------------------------------------------------------------------

class InProcessStoreAccess final : public StoreAccess {
  public:
    explicit InProcessStoreAccess(storage::Session session)
        : session_(std::move(session)), admin_(storage::sessionAdministration(session_)),
          datasets_(workflow::sessionDatasets(session_)), pacs_(pacs::sessionPacs(session_)) {}

    storage::Role role() override { return session_.role(); }
    bool sessionEnded() const override { return false; }

    std::vector<workflow::WorklistRow>
    worklist(std::optional<storage::ReviewState> state) override {
        return workflow::worklist(session_, state);
    }

    std::vector<workflow::WorklistRow> reviewQueue() override {
        return workflow::reviewQueue(session_);
    }

    std::vector<VersionEntry> versions(const std::string& study) override {
        return studyVersions(session_, study);
    }

    imaging::Volume openVolume(const std::string& study) override {
        return loadStudyVolume(session_, study);
    }

    std::optional<OpenedVersion> openVersion(const std::string& study,
                                             const std::optional<std::string>& version,
                                             bool readOnly) override {
        std::optional<OpenedVersion> opened = openStudyVersion(session_, study, version, readOnly);
        if (opened)
            lastSaved_[study] = opened->id.hex();
        return opened;
    }

    void continueFrom(const std::string& study, const std::string& version) override {
        lastSaved_[study] = version; // the save checks it is one of hers to read
    }

    void submitForReview(const std::string& study, const std::string& version) override {
        submitStudyVersion(session_, study, version);
    }

    DecisionOutcome decide(const std::string& study, const std::string& version,
                           storage::Decision decision, const std::string& message,
                           bool resolveOpenComments,
                           const std::optional<std::string>& compareWith) override {
        return decideOnVersion(session_, study, version, decision, message, resolveOpenComments,
                               compareWith);
    }

    std::vector<ReviewEntry> reviewVersions(const std::string& study) override {
        return studyReviewVersions(session_, study);
    }

    std::vector<storage::ReviewComment> comments(const std::string& study,
                                                 const std::string& version) override {
        return versionComments(session_, study, version);
    }

    workflow::ReviewVersion buildConsensus(const std::string& study,
                                           workflow::ReviewSession::Method method) override {
        return buildStudyConsensus(session_, study, method);
    }

    workflow::AgreementSummary agreement() override {
        return workflow::reviewersAgreement(session_);
    }

    storage::ReviewComment pinComment(const std::string& study, const std::string& version,
                                      const imaging::Vec3& voxel,
                                      const std::string& text) override {
        return pinVersionComment(session_, study, version, voxel, text);
    }

    void replyToComment(const std::string& study, const std::string& version,
                        std::int64_t commentId, const std::string& text) override {
        answerVersionComment(session_, study, version, commentId, text);
    }

    void resolveComment(const std::string& study, const std::string& version,
                        std::int64_t commentId) override {
        answerVersionComment(session_, study, version, commentId, std::nullopt);
    }

    annotation::OpenedAnnotation readVersion(const std::string& study,
                                             const std::string& version) override {
        std::optional<OpenedVersion> opened = openStudyVersion(session_, study, version, true);
        if (!opened)
            throw StoreAccessError("the study has no version " + version.substr(0, 12));
        return std::move(opened->annotation);
    }

    std::vector<storage::ReviewEvent> history(const std::string& study,
                                              const std::string& version) override {
        return versionHistory(session_, study, version);
    }

    storage::Administration& administration() override { return *admin_; }
    workflow::DatasetAdministration& datasets() override { return *datasets_; }
    pacs::PacsAccess& pacs() override { return *pacs_; }

    std::optional<workflow::PendingDraft> pendingDraft(const std::string& study) override {
        return studyPendingDraft(session_, study);
    }

    void saveDraft(const std::string& study, annotation::LabelMap& labels,
                   const annotation::SegmentList& segments,
                   const std::vector<annotation::Box>& boxes) override {
        const auto last = lastSaved_.find(study);
        std::optional<annotation::VersionId> parent;
        if (last != lastSaved_.end())
            parent = annotation::VersionId::fromHex(last->second);
        const std::int64_t studyId = storage::Studies(session_).idFor(study);
        workflow::StoredAnnotationHistory(session_, studyId)
            .autosave(labels, segments, boxes, parent);
    }

    annotation::OpenedAnnotation recoverDraft(const std::string& study) override {
        RecoveredDraft recovered = recoverStudyDraft(session_, study);
        if (recovered.annotation.parent)
            lastSaved_[study] = recovered.annotation.parent->hex();
        else
            lastSaved_.erase(study);
        return std::move(recovered.annotation);
    }

    void discardDraft(const std::string& study) override { discardStudyDraft(session_, study); }

    SavedVersion saveVersion(const std::string& study, annotation::LabelMap& labels,
                             const annotation::SegmentList& segments,
                             const std::vector<annotation::Box>& boxes,
                             const std::string& message) override {
        const auto last = lastSaved_.find(study);
        SavedVersion saved = saveLabels(
            session_, study,
            [&](const imaging::Geometry& grid) -> annotation::LabelMap& {
                checkLabelGrid(grid, labels.geometry().dims, labels.width(),
                               labels.voxelCount() * std::size_t(labels.width()));
                return labels;
            },
            segments, boxes, message,
            last == lastSaved_.end() ? std::nullopt : std::optional(last->second));
        lastSaved_[study] = saved.versionId;
        return saved;
    }

  private:
    storage::Session session_;
    std::unique_ptr<storage::Administration> admin_; // on session_
    std::unique_ptr<workflow::DatasetAdministration> datasets_; // on session_
    std::unique_ptr<pacs::PacsAccess> pacs_;                    // on session_
    std::map<std::string, std::string> lastSaved_; // study -> the version saved or opened last
};

// -- Through radmarkd -----------------------------------------------------------------------

struct Pipe {
    UniqueFd read, write;
};

Pipe makePipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
        throw StoreAccessError(std::string("cannot make a pipe: ") + std::strerror(errno));
    return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// "radmark-cli service session: REASON" -> "REASON" (the in-process error's own words).
std::string reasonFrom(const std::string& errors) {
    std::string last;
    std::size_t at = 0;
    while (at < errors.size()) {
        const std::size_t end = errors.find('\n', at);
        const std::string line =
            errors.substr(at, end == std::string::npos ? std::string::npos : end - at);
        if (!line.empty())
            last = line;
        at = end == std::string::npos ? errors.size() : end + 1;
    }
    for (const char* prefix : {"radmark-cli service session: ", "radmark-cli service open-volume: ",
                               "radmark-cli service save-labels: ", "radmark-cli: ", "radmarkd: "})
        if (last.rfind(prefix, 0) == 0)
            return last.substr(std::strlen(prefix));
    return last.empty() ? "the service ended the session without an answer" : last;
}

// The slices of labels, one after the other, in a sealed memfd.
// Writes the label map's slice z at slot `at` of the memfd (one slice a slot).
void writeSlice(int fd, const annotation::LabelMap& labels, int z, std::size_t at) {
    const auto bytes = labels.chunkBytes(z);
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::pwrite(fd, bytes.data() + done, bytes.size() - done,
                                   off_t(at * labels.chunkByteCount() + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            throw StoreAccessError(std::string("cannot fill shared memory: ") +
                                   std::strerror(errno));
        done += std::size_t(n);
    }
}

UniqueFd memfdWithSlices(const annotation::LabelMap& labels, const std::vector<int>& slices) {
    UniqueFd fd = decoder::createMemfd("radmark-labels", labels.chunkByteCount() * slices.size());
    for (std::size_t k = 0; k < slices.size(); ++k)
        writeSlice(fd.get(), labels, slices[k], k);
    decoder::sealMemfd(fd.get());
    return fd;
}

class ServiceStoreAccess final : public StoreAccess {
  public:
    ServiceStoreAccess(std::filesystem::path socket, std::string user, std::string password)
        : socket_(std::move(socket)), user_(std::move(user)), password_(std::move(password)) {}
    ServiceStoreAccess(const ServiceStoreAccess&) = delete; // admin_ refers to this object
    ServiceStoreAccess& operator=(const ServiceStoreAccess&) = delete;
    ~ServiceStoreAccess() override {
        endSession();
        std::fill(password_.begin(), password_.end(), '\0');
    }

    storage::Role role() override {
        if (!session_)
            startSession();
        return role_;
    }
    bool sessionEnded() const override { return loggedInOnce_ && !session_; }

    std::vector<workflow::WorklistRow>
    worklist(std::optional<storage::ReviewState> state) override {
        Message sent;
        sent.body = {{"op", "worklist"}};
        if (state)
            sent.body["state"] = storage::reviewStateName(*state);
        return rowsOf(call(std::move(sent)));
    }

    std::vector<workflow::WorklistRow> reviewQueue() override {
        Message sent;
        sent.body = {{"op", "review-queue"}};
        return rowsOf(call(std::move(sent)));
    }

    std::vector<VersionEntry> versions(const std::string& study) override {
        Message sent;
        sent.body = {{"op", "versions"}, {"study", study}};
        const Message reply = call(std::move(sent));
        std::vector<VersionEntry> entries;
        try {
            for (const json& v : reply.body.at("versions").get_ref<const json::array_t&>()) {
                const auto review = storage::parseReviewState(v.at("state").get<std::string>());
                if (!review)
                    throw StoreAccessError("unknown review state");
                entries.push_back({annotation::versionFromJson(v.at("record"),
                                                               annotation::VersionId::fromHex(
                                                                   v.at("id").get<std::string>())),
                                   *review});
            }
        } catch (const std::exception&) {
            throw StoreAccessError("the service's versions list is not readable");
        }
        return entries;
    }

    imaging::Volume openVolume(const std::string& study) override {
        Message sent;
        sent.body = {{"op", "open-volume"}, {"study", study}};
        Message reply = call(std::move(sent));
        const imaging::Geometry geometry = decoder::geometryFromJson(reply.body.at("geometry"));
        const imaging::PixelType type =
            decoder::pixelTypeFromName(reply.body.at("pixelType").get<std::string>());
        if (reply.fds.size() != 1)
            throw StoreAccessError("the service sent a volume without its voxels");
        const std::size_t bytes = geometry.voxelCount() * imaging::bytesPerVoxel(type);
        imaging::Volume volume = imaging::Volume::adopt(
            geometry, type, decoder::mapSealedMemfd(reply.fds.front().get(), bytes));
        volume.modality = reply.body.value("modality", "");
        volume.seriesDescription = reply.body.value("seriesDescription", "");
        volume.sourceFormat = reply.body.value("sourceFormat", "");
        return volume;
    }

    // The labels arrive as a sealed memfd, mapped and copied once into the editor's map.
    std::optional<OpenedVersion> openVersion(const std::string& study,
                                             const std::optional<std::string>& version,
                                             bool readOnly) override {
        std::vector<imaging::ChunkHash> chunks;
        std::optional<OpenedVersion> opened = fetchVersion(study, version, readOnly, chunks);
        if (opened)
            lastSaved_[study] = {opened->id.hex(), std::move(chunks),
                                 opened->annotation.labels.width()};
        return opened;
    }

    // The version's chunks from its record in the versions list: no labels cross.
    void continueFrom(const std::string& study, const std::string& version) override {
        for (VersionEntry& entry : versions(study))
            if (entry.version.id.hex() == version) {
                lastSaved_[study] = {version, std::move(entry.version.chunks), entry.version.width};
                return;
            }
        throw StoreAccessError("there is no version " + version.substr(0, 12) +
                               " of this study that you may read: log in as the one who edits it");
    }

    std::vector<ReviewEntry> reviewVersions(const std::string& study) override {
        Message sent;
        sent.body = {{"op", "review-versions"}, {"study", study}};
        const Message reply = call(std::move(sent));
        try {
            return reviewEntriesFromJson(reply.body.at("versions"));
        } catch (const std::exception&) {
            throw StoreAccessError("the service's review versions are not readable");
        }
    }

    std::vector<storage::ReviewComment> comments(const std::string& study,
                                                 const std::string& version) override {
        Message sent;
        sent.body = {{"op", "comments"}, {"study", study}, {"version", version}};
        const Message reply = call(std::move(sent));
        std::vector<storage::ReviewComment> comments;
        try {
            for (const json& c : reply.body.at("comments"))
                comments.push_back(commentFromJson(c));
        } catch (const std::exception&) {
            throw StoreAccessError("the service's comments are not readable");
        }
        return comments;
    }

    workflow::ReviewVersion buildConsensus(const std::string& study,
                                           workflow::ReviewSession::Method method) override {
        Message sent;
        sent.body = {
            {"op", "build-consensus"}, {"study", study}, {"method", consensusMethodName(method)}};
        const Message reply = call(std::move(sent));
        try {
            return workflow::reviewVersionFromJson(reply.body.at("version"));
        } catch (const std::exception&) {
            throw StoreAccessError("the service's consensus version is not readable");
        }
    }

    workflow::AgreementSummary agreement() override {
        Message sent;
        sent.body = {{"op", "agreement"}};
        const Message reply = call(std::move(sent));
        try {
            return workflow::agreementSummaryFromJson(reply.body.at("summary"));
        } catch (const std::exception&) {
            throw StoreAccessError("the service's agreement summary is not readable");
        }
    }

    storage::ReviewComment pinComment(const std::string& study, const std::string& version,
                                      const imaging::Vec3& voxel,
                                      const std::string& text) override {
        Message sent;
        sent.body = {{"op", "pin-comment"},
                     {"study", study},
                     {"version", version},
                     {"voxel", voxel},
                     {"text", text}};
        const Message reply = call(std::move(sent));
        try {
            return commentFromJson(reply.body.at("comment"));
        } catch (const std::exception&) {
            throw StoreAccessError("the service's comment is not readable");
        }
    }

    void replyToComment(const std::string& study, const std::string& version,
                        std::int64_t commentId, const std::string& text) override {
        Message sent;
        sent.body = {{"op", "reply-comment"},
                     {"study", study},
                     {"version", version},
                     {"comment", commentId},
                     {"text", text}};
        call(std::move(sent));
    }

    void resolveComment(const std::string& study, const std::string& version,
                        std::int64_t commentId) override {
        Message sent;
        sent.body = {{"op", "resolve-comment"},
                     {"study", study},
                     {"version", version},
                     {"comment", commentId}};
        call(std::move(sent));
    }

    annotation::OpenedAnnotation readVersion(const std::string& study,
                                             const std::string& version) override {
        std::vector<imaging::ChunkHash> unused;
        std::optional<OpenedVersion> opened = fetchVersion(study, version, true, unused);
        if (!opened)
            throw StoreAccessError("the study has no version " + version.substr(0, 12));
        return std::move(opened->annotation);
    }

    void submitForReview(const std::string& study, const std::string& version) override {
        Message sent;
        sent.body = {{"op", "submit"}, {"study", study}, {"version", version}};
        call(std::move(sent));
    }

    DecisionOutcome decide(const std::string& study, const std::string& version,
                           storage::Decision decision, const std::string& message,
                           bool resolveOpenComments,
                           const std::optional<std::string>& compareWith) override {
        Message sent;
        sent.body = {
            {"op", "decide"},     {"study", study},
            {"version", version}, {"decision", std::string(storage::decisionName(decision))},
            {"message", message}, {"resolveOpenComments", resolveOpenComments}};
        if (compareWith)
            sent.body["compareWith"] = *compareWith;
        const Message reply = call(std::move(sent));
        DecisionOutcome outcome;
        try {
            outcome.openComments = reply.body.value("openComments", 0);
            if (outcome.openComments == 0) {
                const auto decided =
                    storage::parseDecision(reply.body.at("decision").get<std::string>());
                outcome.decision = decided;
                outcome.contentHash = reply.body.at("contentHash").get<std::string>();
            }
        } catch (const std::exception&) {
            throw StoreAccessError("the service's answer to a decision is not readable");
        }
        return outcome;
    }

    std::vector<storage::ReviewEvent> history(const std::string& study,
                                              const std::string& version) override {
        Message sent;
        sent.body = {{"op", "history"}, {"study", study}, {"version", version}};
        const Message reply = call(std::move(sent));
        std::vector<storage::ReviewEvent> events;
        try {
            for (const json& e : reply.body.at("events"))
                events.push_back({e.at("time").get<std::string>(), e.at("user").get<std::string>(),
                                  e.at("what").get<std::string>(),
                                  e.at("details").get<std::string>()});
        } catch (const std::exception&) {
            throw StoreAccessError("the service's review history is not readable");
        }
        return events;
    }

    std::optional<workflow::PendingDraft> pendingDraft(const std::string& study) override {
        Message sent;
        sent.body = {{"op", "pending-draft"}, {"study", study}};
        const Message reply = call(std::move(sent));
        try {
            const json& draft = reply.body.at("draft");
            if (draft.is_null())
                return std::nullopt;
            return workflow::PendingDraft{draft.at("saved").get<std::string>(),
                                          draft.at("newerAuthors").get<std::vector<std::string>>()};
        } catch (const std::exception&) {
            throw StoreAccessError("the service's answer on the draft is not readable");
        }
    }

    // A slice crosses when its content is not one the worker knows for this session: the
    // version it continues (saved or opened last) or the draft this session wrote or recovered.
    void saveDraft(const std::string& study, annotation::LabelMap& labels,
                   const annotation::SegmentList& segments,
                   const std::vector<annotation::Box>& boxes) override {
        std::set<imaging::ChunkHash> known(draftChunks_[study].begin(), draftChunks_[study].end());
        if (labels.chunkCount() > 0) // an empty slice: the worker writes it when the store lacks it
            known.insert(imaging::hashContent(
                std::vector<std::uint8_t>(labels.chunkByteCount(), std::uint8_t(0))));
        Message sent;
        sent.body = {{"op", "save-draft"},
                     {"study", study},
                     {"dims", labels.geometry().dims},
                     {"width", int(labels.width())},
                     {"segments", segmentsToJson(segments)},
                     {"boxes", annotation::boxesToJson(boxes)}};
        if (const auto last = lastSaved_.find(study);
            last != lastSaved_.end() && last->second.width == labels.width()) {
            sent.body["parent"] = last->second.versionId;
            known.insert(last->second.chunks.begin(), last->second.chunks.end());
        }
        json kept = json::array();
        std::vector<int> slices;
        for (int z = 0; z < labels.chunkCount(); ++z) {
            const std::optional<imaging::ChunkHash> hash = labels.knownHash(z);
            if (hash && known.count(*hash)) {
                kept.push_back(hash->hex());
            } else {
                kept.push_back(nullptr);
                slices.push_back(z);
            }
        }
        sent.body["kept"] = std::move(kept);
        sent.body["chunks"] = slices;
        sent.fds.push_back(memfdWithSlices(labels, slices));
        const Message reply = call(std::move(sent));
        std::vector<imaging::ChunkHash> chunks;
        try {
            chunks = chunkRunsFromJson(reply.body.at("chunks"));
        } catch (const std::exception&) {
            throw StoreAccessError("the service's reply to a draft is not readable");
        }
        if (int(chunks.size()) != labels.chunkCount())
            throw StoreAccessError("the service's reply to a draft is not readable");
        for (int z : slices)
            labels.markClean(z, chunks[std::size_t(z)]);
        draftChunks_[study] = std::move(chunks);
    }

    annotation::OpenedAnnotation recoverDraft(const std::string& study) override {
        Message sent;
        sent.body = {{"op", "recover-draft"}, {"study", study}};
        const Message reply = call(std::move(sent));
        try {
            std::vector<imaging::ChunkHash> chunks;
            annotation::OpenedAnnotation opened = annotationOf(reply, chunks);
            if (!reply.body.at("parent").is_null())
                opened.parent =
                    annotation::VersionId::fromHex(reply.body.at("parent").get<std::string>());
            if (opened.parent)
                lastSaved_[study] = {opened.parent->hex(),
                                     chunkRunsFromJson(reply.body.at("parentChunks")),
                                     opened.labels.width()};
            else
                lastSaved_.erase(study);
            draftChunks_[study] = std::move(chunks);
            return opened;
        } catch (const std::exception&) {
            throw StoreAccessError("the service's draft is not readable");
        }
    }

    void discardDraft(const std::string& study) override {
        Message sent;
        sent.body = {{"op", "discard-draft"}, {"study", study}};
        call(std::move(sent));
        draftChunks_.erase(study);
    }

    // After a save or an opening through this object, only the slices edited since cross, with
    // that version as their parent; the worker takes every other slice from it
    // (docs/service.md).
    SavedVersion saveVersion(const std::string& study, annotation::LabelMap& labels,
                             const annotation::SegmentList& segments,
                             const std::vector<annotation::Box>& boxes,
                             const std::string& message) override {
        Message sent;
        sent.body = {{"op", "save-labels"},
                     {"study", study},
                     {"dims", labels.geometry().dims},
                     {"width", int(labels.width())},
                     {"segments", segmentsToJson(segments)},
                     {"boxes", annotation::boxesToJson(boxes)},
                     {"message", message}};
        std::vector<int> slices;
        const auto last = lastSaved_.find(study);
        if (last != lastSaved_.end() && last->second.width == labels.width() &&
            int(last->second.chunks.size()) == labels.chunkCount()) {
            // A slice is sent when it changed since, or does not hold that version's content.
            for (int z = 0; z < labels.chunkCount(); ++z)
                if (labels.knownHash(z) != last->second.chunks[std::size_t(z)])
                    slices.push_back(z);
            sent.body["parent"] = last->second.versionId;
            sent.body["chunks"] = slices;
            sent.fds.push_back(memfdWithSlices(labels, slices));
        } else {
            for (int z = 0; z < labels.chunkCount(); ++z)
                slices.push_back(z);
            sent.fds.push_back(memfdWithLabels(labels));
        }
        Message reply = call(std::move(sent));
        SavedVersion saved;
        try {
            saved = {reply.body.at("version").get<std::string>(),
                     reply.body.value("chunksWritten", std::size_t(0)),
                     reply.body.value("chunksReused", std::size_t(0)),
                     chunkRunsFromJson(reply.body.at("chunks"))};
        } catch (const std::exception&) {
            throw StoreAccessError("the service's reply to a save is not readable");
        }
        if (int(saved.chunks.size()) == labels.chunkCount()) {
            for (int z : slices)
                labels.markClean(z, saved.chunks[std::size_t(z)]);
            lastSaved_[study] = {saved.versionId, saved.chunks, labels.width()};
        } else {
            lastSaved_.erase(study);
        }
        return saved;
    }

    // The admin's calls through this session: the ops of app/cli/AdminOps.h. Like every call
    // of this class, from one thread at a time (the admin panel runs a rotation on a worker
    // thread behind a modal dialog: nothing else calls meanwhile).
    class Admin final : public storage::Administration {
      public:
        explicit Admin(ServiceStoreAccess& owner) : owner_(owner) {}
        std::vector<storage::UserInfo> users() override {
            Message sent;
            sent.body = {{"op", "users"}};
            return usersFromJson(owner_.call(std::move(sent)).body.value("users", json()));
        }

        std::vector<storage::Study> studies() override {
            Message sent;
            sent.body = {{"op", "studies"}};
            return studiesFromJson(owner_.call(std::move(sent)).body.value("studies", json()));
        }

        // The password crosses in a sealed memfd, not in the message's JSON.
        void addUser(const std::string& name, storage::Role role,
                     const std::string& password) override {
            Message sent;
            sent.body = {{"op", "add-user"}, {"name", name}, {"role", storage::roleName(role)}};
            sent.fds.push_back(
                decoder::memfdWithBytes("radmark-secret", password.data(), password.size()));
            owner_.call(std::move(sent));
        }

        storage::KeyRotationResult
        disableUser(const std::string& name,
                    const storage::KeyRotationProgress& progress) override {
            Message sent;
            sent.body = {{"op", "disable-user"}, {"name", name}};
            return rotation(owner_.call(std::move(sent), progress));
        }

        storage::KeyRotationResult
        rotateKey(const std::string& reason,
                  const storage::KeyRotationProgress& progress) override {
            Message sent;
            sent.body = {{"op", "rotate-key"}, {"reason", reason}};
            return rotation(owner_.call(std::move(sent), progress));
        }

        void assignStudy(const std::string& user, std::int64_t studyId) override {
            Message sent;
            sent.body = {{"op", "assign"}, {"user", user}, {"studyId", studyId}};
            owner_.call(std::move(sent));
        }

        std::vector<storage::AuditEntry> auditEntries(const storage::AuditFilter& filter) override {
            Message sent;
            sent.body = {{"op", "audit-entries"}, {"filter", auditFilterJson(filter)}};
            return auditEntriesFromJson(owner_.call(std::move(sent)).body.value("entries", json()));
        }

        // The audit key crosses in a sealed memfd; the checkpoint (public, signed) as its text.
        storage::AuditVerification verifyAuditLog(const storage::SecureBytes* key,
                                                  const storage::Checkpoint* checkpoint) override {
            Message sent;
            sent.body = {{"op", "audit-verify"}};
            if (checkpoint)
                sent.body["checkpoint"] = checkpoint->toJson();
            if (key)
                sent.fds.push_back(
                    decoder::memfdWithBytes("radmark-secret", key->data(), key->size()));
            return verificationFromJson(
                owner_.call(std::move(sent)).body.value("verification", json()));
        }

      private:
        ServiceStoreAccess& owner_;
    };

    storage::Administration& administration() override { return admin_; }
    workflow::DatasetAdministration& datasets() override { return *datasets_; }
    pacs::PacsAccess& pacs() override { return *pacs_; }

  private:
    struct Connection {
        UniqueFd socket, channel, output; // output: the worker's stdout and stderr
    };

    // A label map as open-version and recover-draft send it: its summary (grid, width,
    // segments, boxes, chunk hashes) and a sealed memfd of the whole grid, from which only the
    // slices whose hash is not the empty slice's are read (memfdWithLabels wrote only those);
    // every slice clean with its hash (chunks gets them). Throws on anything unreadable.
    static annotation::OpenedAnnotation annotationOf(const Message& reply,
                                                     std::vector<imaging::ChunkHash>& chunks) {
        const imaging::Geometry grid = decoder::geometryFromJson(reply.body.at("geometry"));
        const int w = reply.body.at("width").get<int>();
        if ((w != 1 && w != 2) || reply.fds.size() != 1)
            throw StoreAccessError("unreadable");
        chunks = chunkRunsFromJson(reply.body.at("chunks"));
        if (int(chunks.size()) != grid.dims[2])
            throw StoreAccessError("unreadable");
        const int fd = reply.fds.front().get();
        struct stat st {};
        if (!decoder::isSealed(fd) || ::fstat(fd, &st) != 0 ||
            std::uint64_t(st.st_size) != std::uint64_t(grid.voxelCount()) * std::uint64_t(w))
            throw StoreAccessError("unreadable");
        annotation::OpenedAnnotation opened{
            annotation::LabelMap(grid, annotation::LabelWidth(w)),
            segmentsFromJson(reply.body.at("segments").get<std::string>()),
            annotation::BoxList(grid.dims), std::nullopt};
        annotation::LabelMap& labels = opened.labels;
        const std::vector<std::uint8_t> zeros(labels.chunkByteCount(), 0);
        const imaging::ChunkHash empty = imaging::hashContent(zeros);
        for (int z = 0; z < labels.chunkCount(); ++z) {
            if (chunks[std::size_t(z)] == empty)
                continue; // already zero
            const std::span<std::uint8_t> out = labels.chunkBytesForWriting(z);
            std::size_t done = 0;
            while (done < out.size()) {
                const ssize_t n = ::pread(fd, out.data() + done, out.size() - done,
                                          off_t(std::size_t(z) * out.size() + done));
                if (n < 0 && errno == EINTR)
                    continue;
                if (n <= 0)
                    throw StoreAccessError("unreadable");
                done += std::size_t(n);
            }
        }
        opened.boxes.replaceAll(annotation::boxesFromJson(reply.body.at("boxes")));
        for (int z = 0; z < opened.labels.chunkCount(); ++z)
            opened.labels.markClean(z, chunks[std::size_t(z)]);
        return opened;
    }

    static std::vector<workflow::WorklistRow> rowsOf(const Message& reply) {
        try {
            return workflow::worklistFromJson(reply.body.at("rows"));
        } catch (const std::exception&) {
            throw StoreAccessError("the service's worklist is not readable");
        }
    }

    // "service session --user U --password-stdin" on a fresh connection, the password on its
    // stdin, its stdout and stderr into one pipe read when it ends, and the channel every call
    // goes through. Returns once the worker has logged in; throws StoreAccessError with its
    // reason otherwise.
    void startSession() {
        if (loggedInOnce_)
            throw StoreAccessError("the session with the Radmark service has ended: log in again");
        Connection c;
        c.socket = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        if (!c.socket || socket_.string().size() >= sizeof address.sun_path)
            throw StoreAccessError("cannot use the socket " + socket_.string());
        std::strcpy(address.sun_path, socket_.c_str());
        if (::connect(c.socket.get(), reinterpret_cast<const sockaddr*>(&address),
                      sizeof address) != 0)
            throw StoreAccessError("cannot reach the Radmark service at " + socket_.string() +
                                   ": " + std::strerror(errno));
        int pair[2];
        if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
            throw StoreAccessError(std::string("cannot make a channel: ") + std::strerror(errno));
        c.channel = UniqueFd(pair[0]);
        UniqueFd theirs(pair[1]);
        Pipe in = makePipe(), out = makePipe();
        std::string line = password_ + "\n";
        const bool passed =
            ::write(in.write.get(), line.data(), line.size()) == ssize_t(line.size());
        std::fill(line.begin(), line.end(), '\0');
        if (!passed)
            throw StoreAccessError("cannot pass the password to the service");
        in.write = UniqueFd();
        const std::vector<std::string> words = {"service", "session", "--user", user_,
                                                "--password-stdin"};
        try {
            service::sendRequest(c.socket.get(), words, -1, {},
                                 {in.read.get(), out.write.get(), out.write.get()}, theirs.get());
        } catch (const std::exception& e) {
            throw StoreAccessError(e.what());
        }
        // The worker's ends only: a worker that ends then closes the channel and the pipe.
        in.read = UniqueFd();
        out.write = UniqueFd();
        theirs = UniqueFd();
        c.output = std::move(out.read);
        session_ = std::move(c);
        Message ready;
        bool loggedIn = false;
        try {
            loggedIn = decoder::receiveMessage(session_->channel.get(), ready) &&
                       ready.kind == MessageKind::Reply;
        } catch (const decoder::ChannelError&) {
            // The worker ended without logging in: its stderr says why.
        }
        if (!loggedIn)
            throw StoreAccessError(endSession());
        // The worker holds the session now: the password is not kept for a silent re-login.
        std::fill(password_.begin(), password_.end(), '\0');
        password_.clear();
        loggedInOnce_ = true;
        try {
            role_ = storage::parseRole(ready.body.value("role", std::string()));
        } catch (const std::exception&) {
            endSession();
            throw StoreAccessError("the service's session did not say her role");
        }
    }

    // Ends the session (the worker logs out when the channel closes) and returns the worker's
    // last word on its stderr, or a reason when it ended otherwise than cleanly.
    std::string endSession() {
        if (!session_)
            return "the service ended the session";
        Connection c = std::move(*session_);
        session_.reset();
        c.channel = UniqueFd();
        std::string errors;
        char buffer[4096];
        for (ssize_t n; (n = ::read(c.output.get(), buffer, sizeof buffer)) != 0;) {
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                break;
            errors.append(buffer, std::size_t(n));
        }
        try {
            service::receiveExitStatus(c.socket.get());
        } catch (const std::exception&) {
        }
        return reasonFrom(errors);
    }

    // One call of the session (started at the first): the worker's reply, or StoreAccessError
    // with its refusal. After a refusal that ended the session, or a session that ended
    // otherwise (idle timeout, the service stopped), the next call is refused: log in again.
    // progress: called with each Progress message's stage and fraction before the reply.
    Message call(Message sent, const storage::KeyRotationProgress& progress = {}) {
        return call(std::move(sent), [&progress](const Message& note) -> std::optional<Message> {
            if (progress)
                progress(note.body.value("stage", std::string()), note.body.value("fraction", 0.0));
            return std::nullopt;
        });
    }

    // Each Progress message before the reply goes to progress, and what it answers goes back.
    Message call(Message sent, const ProgressAnswer& progress) {
        if (!session_)
            startSession();
        Message reply;
        try {
            reply = exchange(session_->channel.get(), std::move(sent), progress);
        } catch (const decoder::ChannelError&) {
            throw StoreAccessError(endSession());
        }
        if (reply.kind == MessageKind::Failure) {
            const std::string reason =
                reply.body.value("error", std::string("the service refused the request"));
            if (reply.body.value("ended", false))
                endSession();
            throw StoreAccessError(reason);
        }
        if (reply.kind != MessageKind::Reply)
            throw StoreAccessError("the service's reply is not readable");
        return reply;
    }

    // A key rotation's reply: its figures, and the new recovery key when it made one.
    static storage::KeyRotationResult rotation(const Message& reply) {
        storage::KeyRotationResult result = rotationFromJson(reply.body.value("rotation", json()));
        if (reply.body.at("rotation").value("newRecoveryKey", false)) {
            if (reply.fds.size() != 1)
                throw StoreAccessError("the service's new recovery key did not come");
            result.newRecoveryKey = secretFromMemfd(reply.fds.front().get(), 32);
            if (result.newRecoveryKey.size() != 32)
                throw StoreAccessError("the service's new recovery key is not 32 bytes");
        }
        return result;
    }

    // A version as open-version sends it (chunks: its slices' hashes), read-only or to edit.
    std::optional<OpenedVersion> fetchVersion(const std::string& study,
                                              const std::optional<std::string>& version,
                                              bool readOnly,
                                              std::vector<imaging::ChunkHash>& chunks) {
        Message sent;
        sent.body = {{"op", "open-version"}, {"study", study}, {"readOnly", readOnly}};
        if (version)
            sent.body["version"] = *version;
        const Message reply = call(std::move(sent));
        if (reply.body.value("version", json()).is_null())
            return std::nullopt;
        try {
            const auto id =
                annotation::VersionId::fromHex(reply.body.at("version").get<std::string>());
            // As annotation::VersionHistory::open makes it: the version is the parent.
            OpenedVersion opened{id, annotationOf(reply, chunks)};
            opened.annotation.parent = id;
            opened.annotation.labels.setReadOnly(readOnly);
            return opened;
        } catch (const std::exception&) {
            throw StoreAccessError("the service's version is not readable");
        }
    }

    struct Saved {
        std::string versionId;
        std::vector<imaging::ChunkHash> chunks;
        annotation::LabelWidth width = annotation::LabelWidth::UInt8;
    };

    std::filesystem::path socket_;
    std::string user_, password_;
    std::optional<Connection> session_;
    bool loggedInOnce_ = false;
    storage::Role role_ = storage::Role::Annotator; // as the session's worker said at login
    std::map<std::string, Saved> lastSaved_;        // study -> the version this object saved last
    Admin admin_{*this};
    std::unique_ptr<workflow::DatasetAdministration> datasets_ =
        serviceDatasets([this](Message sent, const ProgressAnswer& progress) {
            return call(std::move(sent), progress);
        });
    std::unique_ptr<pacs::PacsAccess> pacs_ =
        servicePacs([this](Message sent, const ProgressAnswer& progress) {
            return call(std::move(sent), progress);
        });
    // study -> the chunks of the draft this object wrote or recovered last
    std::map<std::string, std::vector<imaging::ChunkHash>> draftChunks_;
};

} // namespace

UniqueFd memfdWithLabels(const annotation::LabelMap& labels) {
    UniqueFd fd =
        decoder::createMemfd("radmark-labels", labels.voxelCount() * std::size_t(labels.width()));
    for (int z = 0; z < labels.chunkCount(); ++z)
        if (!labels.chunkIsEmpty(z))
            writeSlice(fd.get(), labels, z, std::size_t(z));
    decoder::sealMemfd(fd.get());
    return fd;
}

annotation::LabelMap labelsFromBytes(const imaging::Geometry& grid, annotation::LabelWidth width,
                                     const std::uint8_t* bytes) {
    return labelsOnGrid(grid, width, bytes);
}

std::unique_ptr<StoreAccess> inProcessStoreAccess(storage::Session session) {
    return std::make_unique<InProcessStoreAccess>(std::move(session));
}

std::unique_ptr<StoreAccess> serviceStoreAccess(const std::filesystem::path& socket,
                                                const std::string& user,
                                                const std::string& password) {
    return std::make_unique<ServiceStoreAccess>(socket, user, password);
}

} // namespace radmark::cli
