#include "app/annotations/StoredAnnotations.h"

#include "storage/ChunkStore.h"

#include <stdexcept>

namespace radmark::app {

using namespace radmark::annotation;

namespace {
// The encrypted store's chunk table as the annotation library's ChunkStore: both key a chunk by
// the BLAKE2b-256 of its raw content, and the store compresses.
class SessionChunks final : public annotation::ChunkStore {
public:
    explicit SessionChunks(storage::Session& session) : chunks_(session.database()) {}
    bool has(const ChunkHash& hash) const override { return chunks_.contains(hash.hex()); }
    std::size_t put(const ChunkHash& hash, Bytes content) override {
        if (chunks_.put(content) != hash.hex())
            throw std::runtime_error("The store keyed an annotation chunk differently.");
        return content.size();
    }
    Bytes get(const ChunkHash& hash) const override { return chunks_.get(hash.hex()); }

private:
    mutable storage::ChunkStore chunks_;
};
} // namespace

struct StoredAnnotationHistory::Private {
    explicit Private(storage::Session& session) : chunks(session), history(chunks) {}
    SessionChunks chunks;
    VersionHistory history;
};

ReviewState reviewStateOf(const std::string& stored) {
    if (stored == "approved")
        return ReviewState::Approved;
    if (stored == "rejected")
        return ReviewState::Rejected;
    return ReviewState::Unreviewed;
}

StoredVersions storedVersions(storage::Session& session, std::int64_t studyId) {
    StoredVersions result;
    result.records = session.listAnnotations(studyId);
    for (const auto& record : result.records)
        result.ids.push_back(hashContent(session.loadAnnotation(record.id)));
    return result;
}

StoredAnnotationHistory::StoredAnnotationHistory(storage::Session& session, std::int64_t studyId)
    : d(std::make_unique<Private>(session)), session_(session), studyId_(studyId),
      stored_(storedVersions(session, studyId)) {
    d->history = VersionHistory::load(d->chunks, stored_.ids);
}

StoredAnnotationHistory::~StoredAnnotationHistory() = default;

const VersionHistory& StoredAnnotationHistory::history() const { return d->history; }

std::optional<OpenedAnnotation> StoredAnnotationHistory::latestDraft() const {
    if (stored_.ids.empty())
        return std::nullopt;
    return d->history.startDraft(stored_.ids.back());
}

Version StoredAnnotationHistory::save(LabelMap& labels, const SegmentList& segments,
                                      const std::vector<Box>& boxes, const std::string& message,
                                      SaveReport* report) {
    std::optional<VersionId> parent;
    if (!stored_.ids.empty())
        parent = stored_.ids.back();
    const Version version =
        d->history.commit(labels, segments, boxes, {session_.userName(), message, parent, {}},
                          report);
    const Bytes record = d->chunks.get(version.id);
    session_.saveAnnotation(studyId_, record, message);
    // The new record holds this version: no need to reload and re-hash the older ones.
    stored_.records = session_.listAnnotations(studyId_);
    stored_.ids.push_back(version.id);
    return version;
}

} // namespace radmark::app
