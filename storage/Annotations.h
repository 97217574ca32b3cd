#pragma once
// Annotation versions and drafts in the store, and the chunks they are made of. Annotators save
// versions and drafts on their assigned studies; a save, its chunks, its access-log entry and
// the removal of the saver's draft are ONE transaction, so a refused or failed save writes
// nothing. Drafts (one per study and user) are replaced by every autosave in one transaction
// too: a crash mid-write leaves the previous draft whole. Autosaves are not logged (one every
// 30 s would flood the log); recovering and discarding are. saveDraft and draftOf are not user
// activity: they leave the idle clock alone, so autosave never postpones the idle lock.

#include "imaging/Chunks.h"
#include "storage/Reviews.h"
#include "storage/Session.h"
#include "storage/Studies.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace radmark::storage {

struct AnnotationRecord {
    std::int64_t id = 0;
    std::int64_t studyId = 0;
    std::string author;
    std::string message;
    std::string created;
    ReviewState reviewState = ReviewState::Draft; // from its submission and decision
    imaging::ChunkHash chunk;                       // content hash of the stored data
};

// An annotator's unsaved work on a study: the newest autosave, one per study and user.
struct DraftRecord {
    std::int64_t studyId = 0;
    std::string saved;        // UTC, ISO 8601, like AnnotationRecord::created
    imaging::ChunkHash chunk; // content hash of the draft record
};

// Byte ranges of many chunks (label slices), written together in one transaction.
using ChunkSpans = std::span<const std::span<const std::uint8_t>>;

class Annotations {
  public:
    explicit Annotations(Session& session) : session_(session) {}

    // `data` is the version record, `chunks` the label chunks it needs that the store may lack.
    std::int64_t save(std::int64_t studyId, std::span<const std::uint8_t> data,
                      const std::string& message, ChunkSpans chunks = {});
    std::vector<AnnotationRecord> list(std::int64_t studyId);
    Bytes load(std::int64_t annotationId); // the version record

    void saveDraft(std::int64_t studyId, std::span<const std::uint8_t> record, ChunkSpans chunks);
    std::optional<DraftRecord> draftOf(std::int64_t studyId); // this user's, if any
    Bytes recoverDraft(std::int64_t studyId); // the draft record; logged "recover draft"
    void discardDraft(std::int64_t studyId);  // logged "discard draft"

    // The chunks versions and drafts are made of, for the annotation library's chunk contract:
    // reading them needs the right to read annotations. getChunk throws StoreError when the
    // chunk is missing or damaged.
    bool hasChunk(const imaging::ChunkHash& hash);
    Bytes getChunk(const imaging::ChunkHash& hash);

  private:
    Session& session_;
};

} // namespace radmark::storage
