#include "workflow/StoredAnnotations.h"

#include "storage/Annotations.h"
#include "storage/Reviews.h"

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>

namespace radmark::workflow {

using namespace radmark::annotation;
using imaging::ChunkHash;

namespace {
// The encrypted store's chunk table as the annotation library's ChunkStore: both key a chunk by
// the BLAKE2b-256 of its raw content, and the store compresses. Chunks put here wait until the
// record that needs them is written, so chunks and record land in one transaction (a crash or a
// refusal in between leaves no half-written save or draft).
class PendingChunks final : public imaging::ChunkStore {
  public:
    explicit PendingChunks(storage::Session& session) : session_(session) {}

    bool has(const ChunkHash& hash) const override {
        if (pending_.contains(hash) || stored_.contains(hash))
            return true;
        if (!storage::Annotations(session_).hasChunk(hash))
            return false;
        stored_.insert(hash); // chunks are never deleted: no need to ask again
        return true;
    }
    std::size_t put(const ChunkHash& hash, Bytes content) override {
        const std::size_t size = content.size();
        pending_.emplace(hash, std::move(content));
        return size;
    }
    Bytes get(const ChunkHash& hash) const override {
        if (const auto it = pending_.find(hash); it != pending_.end())
            return it->second;
        return storage::Annotations(session_).getChunk(hash);
    }

    std::vector<std::span<const std::uint8_t>> pending() const {
        std::vector<std::span<const std::uint8_t>> spans;
        for (const auto& [hash, content] : pending_)
            spans.emplace_back(content);
        return spans;
    }
    // After the transaction that holds them committed (true) or failed (false).
    void settle(bool committed) {
        if (committed) {
            for (const auto& [hash, content] : pending_)
                stored_.insert(hash);
        }
        pending_.clear();
    }

  private:
    storage::Session& session_;
    std::map<ChunkHash, Bytes> pending_;
    mutable std::set<ChunkHash> stored_;
};

// Runs write (which hands the pending chunks to storage) and settles them either way.
template <class Write> void writeWithPendingChunks(PendingChunks& chunks, Write&& write) {
    try {
        write(chunks.pending());
    } catch (...) {
        chunks.settle(false);
        throw;
    }
    chunks.settle(true);
}
} // namespace

struct StoredAnnotationHistory::Private {
    explicit Private(storage::Session& session) : chunks(session), history(chunks) {}
    PendingChunks chunks;
    VersionHistory history;
};

StoredVersions storedVersions(storage::Session& session, std::int64_t studyId) {
    StoredVersions result;
    result.records = storage::Annotations(session).list(studyId);
    for (const auto& record : result.records)
        result.ids.push_back(imaging::hashContent(storage::Annotations(session).load(record.id)));
    return result;
}

StoredAnnotationHistory::StoredAnnotationHistory(storage::Session& session, std::int64_t studyId)
    : d(std::make_unique<Private>(session)), session_(session), studyId_(studyId),
      stored_(storedVersions(session, studyId)) {
    d->history = VersionHistory::load(d->chunks, stored_.ids);
}

StoredAnnotationHistory::~StoredAnnotationHistory() = default;

const VersionHistory& StoredAnnotationHistory::history() const {
    return d->history;
}

std::optional<VersionId> StoredAnnotationHistory::newest() const {
    if (stored_.ids.empty())
        return std::nullopt;
    return stored_.ids.back();
}

storage::ReviewState StoredAnnotationHistory::reviewState(const VersionId& id) const {
    const auto it = std::find(stored_.ids.begin(), stored_.ids.end(), id);
    if (it == stored_.ids.end())
        return storage::ReviewState::Draft;
    return stored_.records[std::size_t(it - stored_.ids.begin())].reviewState;
}

OpenedAnnotation StoredAnnotationHistory::openVersion(const VersionId& id, bool readOnly) {
    const auto it = std::find(stored_.ids.begin(), stored_.ids.end(), id);
    if (it == stored_.ids.end())
        throw CorruptAnnotation("There is no version " + id.hex().substr(0, 12) +
                                " of this study.");
    OpenedAnnotation opened = readOnly ? d->history.openReadOnly(id) : d->history.startDraft(id);
    const storage::AnnotationRecord& record =
        stored_.records[std::size_t(it - stored_.ids.begin())];
    session_.recordAccess("open version", "annotation " + std::to_string(record.id),
                          id.hex().substr(0, 12) + (readOnly ? " read-only" : " as new draft"));
    return opened;
}

// Runs commit (which adds the version to the history, its chunks pending) and writes the
// version's record and chunks to the store in one transaction, logged "save".
template <class Commit>
Version StoredAnnotationHistory::saveCommitted(Commit&& commit, const std::string& message) {
    Version version;
    std::int64_t annotationId = 0;
    ChunkHash chunk;
    try {
        version = commit();
        const Bytes record = d->chunks.get(version.id);
        chunk = version.id;
        writeWithPendingChunks(d->chunks, [&](const auto& chunks) {
            annotationId = storage::Annotations(session_).save(studyId_, record, message, chunks);
        });
    } catch (...) {
        // The history took the version before the store refused it: start again from the store.
        d->chunks.settle(false);
        d->history = VersionHistory::load(d->chunks, stored_.ids);
        throw;
    }
    // Committed: from here on nothing may report the save as failed (a retry would store a
    // duplicate sibling). The new record goes in first; re-reading the list only adds its
    // storage time.
    stored_.records.push_back(
        {annotationId, studyId_, session_.userName(), message, {}, storage::ReviewState::Draft,
         chunk});
    stored_.ids.push_back(version.id);
    listingProblem_.clear();
    try {
        std::vector<storage::AnnotationRecord> records = storage::Annotations(session_).list(studyId_);
        // Only when it matches the versions held (no one else saved in between); otherwise the
        // next opening of the study reads and verifies the others' versions.
        if (records.size() == stored_.records.size() && records.back().id == annotationId)
            stored_.records = std::move(records);
    } catch (const std::exception& e) {
        listingProblem_ = e.what();
    }
    return version;
}

Version StoredAnnotationHistory::save(LabelMap& labels, const SegmentList& segments,
                                      const std::vector<Box>& boxes, const std::string& message,
                                      const std::optional<VersionId>& parent, SaveReport* report) {
    return saveCommitted(
        [&] {
            return d->history.commit(labels, segments, boxes,
                                     {session_.userName(), message, parent, {}}, report);
        },
        message);
}

Version StoredAnnotationHistory::saveChanges(const VersionId& parent,
                                             const VersionHistory::ChangedChunks& changed,
                                             const SegmentList& segments,
                                             const std::vector<Box>& boxes,
                                             const std::string& message, SaveReport* report,
                                             VersionHistory::ChunkCounts* known) {
    if (std::find(stored_.ids.begin(), stored_.ids.end(), parent) == stored_.ids.end())
        throw CorruptAnnotation("There is no version " + parent.hex().substr(0, 12) +
                                " of this study.");
    return saveCommitted(
        [&] {
            return d->history.commitChanges(parent, changed, segments, boxes,
                                            {session_.userName(), message, {}, {}}, report,
                                            known);
        },
        message);
}

Version StoredAnnotationHistory::saveConsensus(LabelMap& labels, const SegmentList& segments,
                                               const std::string& author,
                                               const std::string& message,
                                               const std::string& method,
                                               const std::vector<std::int64_t>& sources) {
    Version version;
    std::int64_t annotationId = 0;
    try {
        version = d->history.commit(labels, segments, {}, {author, message, std::nullopt, {}});
        const Bytes record = d->chunks.get(version.id);
        writeWithPendingChunks(d->chunks, [&](const auto& chunks) {
            annotationId = storage::Reviews(session_).saveConsensus(studyId_, record, chunks,
                                                                    method, sources, message);
        });
    } catch (...) {
        d->chunks.settle(false);
        d->history = VersionHistory::load(d->chunks, stored_.ids);
        throw;
    }
    stored_.records.push_back({annotationId, studyId_, session_.userName(), message, {},
                               storage::ReviewState::Draft, version.id});
    stored_.ids.push_back(version.id);
    try {
        stored_.records = storage::Annotations(session_).list(studyId_);
    } catch (const std::exception& e) {
        listingProblem_ = e.what();
    }
    return version;
}

void StoredAnnotationHistory::autosave(LabelMap& labels, const SegmentList& segments,
                                       const std::vector<Box>& boxes,
                                       const std::optional<VersionId>& parent, SaveReport* report) {
    const Draft draft =
        d->history.autosave(labels, segments, boxes, session_.userName(), parent, report);
    const Bytes record = draft.serialize();
    writeWithPendingChunks(
        d->chunks, [&](const auto& chunks) { storage::Annotations(session_).saveDraft(studyId_, record, chunks); });
}

std::vector<imaging::ChunkHash> StoredAnnotationHistory::autosaveChanges(
    std::vector<imaging::ChunkHash> chunks, const imaging::Geometry& geometry, LabelWidth width,
    const VersionHistory::ChangedChunks& changed, const SegmentList& segments,
    const std::vector<Box>& boxes, const std::optional<VersionId>& parent, SaveReport* report) {
    std::set<ChunkHash> kept;
    for (std::size_t z = 0; z < chunks.size(); ++z)
        if (!changed.count(int(z)))
            kept.insert(chunks[z]);
    for (const imaging::ChunkHash& hash : kept)
        if (!d->chunks.has(hash))
            throw CorruptAnnotation("A label chunk named for the draft is not in the store.");
    const Draft draft =
        d->history.autosaveChanges(std::move(chunks), geometry, width, changed, segments, boxes,
                                   session_.userName(), parent, report);
    const Bytes record = draft.serialize();
    writeWithPendingChunks(d->chunks, [&](const auto& pending) {
        storage::Annotations(session_).saveDraft(studyId_, record, pending);
    });
    return draft.chunks;
}

std::optional<PendingDraft> StoredAnnotationHistory::pendingDraft() {
    const std::optional<storage::DraftRecord> draft = storage::Annotations(session_).draftOf(studyId_);
    if (!draft)
        return std::nullopt;
    PendingDraft pending{draft->saved, {}};
    for (auto record = stored_.records.rbegin(); record != stored_.records.rend(); ++record) {
        if (record->author == session_.userName()) {
            // Storage times are ISO 8601 UTC with milliseconds: text order is time order. An
            // unknown time (empty) sorts first, so it never hides a draft.
            if (draft->saved < record->created)
                return std::nullopt;
            break;
        }
    }
    for (const storage::AnnotationRecord& record : stored_.records) {
        if (record.author != session_.userName() && record.created > draft->saved &&
            std::find(pending.newerAuthors.begin(), pending.newerAuthors.end(), record.author) ==
                pending.newerAuthors.end())
            pending.newerAuthors.push_back(record.author);
    }
    return pending;
}

OpenedAnnotation StoredAnnotationHistory::recoverDraft() {
    const Bytes record = storage::Annotations(session_).recoverDraft(studyId_);
    return d->history.recover(Draft::parse(record));
}

void StoredAnnotationHistory::discardDraft() {
    storage::Annotations(session_).discardDraft(studyId_);
}

} // namespace radmark::workflow
