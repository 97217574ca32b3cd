#pragma once
// Versions: immutable snapshots of an annotation (label-map chunk hashes + segments + boxes +
// parent, author, time, message), content-addressed in a imaging::ChunkStore so a version's id is
// the hash of its record and can never be changed after saving. Review decisions are records about
// a version, not edits of it. A draft is the same snapshot not yet committed, written by autosave
// so the app can recover after a crash.

#include "annotation/Box.h"
#include "annotation/LabelMap.h"
#include "annotation/Segment.h"
#include "imaging/Chunks.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace radmark::annotation {

using VersionId = imaging::ChunkHash;

struct Version {
    VersionId id;
    std::optional<VersionId> parent;
    std::string author;
    std::string createdUtc; // ISO 8601, e.g. 2026-11-25T11:52:00Z
    std::string message;
    imaging::Geometry geometry;
    LabelWidth width = LabelWidth::UInt8;
    std::vector<imaging::ChunkHash> chunks; // one per axial slice
    SegmentList segments;
    std::vector<Box> boxes;
    std::map<Label, std::uint64_t> voxelCounts;
};

// What a save or autosave wrote to the store.
struct SaveReport {
    std::size_t chunksWritten = 0; // chunks the store did not hold yet
    std::size_t chunksReused = 0;  // chunks already stored (unchanged or identical content)
    std::size_t bytesWritten = 0;  // compressed chunk bytes + record bytes
};

// Writes the label map's chunks that the store lacks and returns every chunk's hash.
std::vector<imaging::ChunkHash> writeChunks(LabelMap& labels, imaging::ChunkStore& store,
                                            SaveReport& report);
// Rebuilds a label map from stored chunks, verifying each against its hash.
LabelMap readLabelMap(const imaging::Geometry& geometry, LabelWidth width,
                      const std::vector<imaging::ChunkHash>& chunks,
                      const imaging::ChunkStore& store);

// An annotation opened for viewing or editing.
struct OpenedAnnotation {
    LabelMap labels;
    SegmentList segments;
    BoxList boxes;
    std::optional<VersionId> parent; // the version a draft continues from
};

struct Draft {
    std::optional<VersionId> parent;
    std::string author;
    std::string savedUtc;
    imaging::Geometry geometry;
    LabelWidth width = LabelWidth::UInt8;
    std::vector<imaging::ChunkHash> chunks;
    SegmentList segments;
    std::vector<Box> boxes;

    Bytes serialize() const;
    static Draft parse(std::span<const std::uint8_t> bytes); // throws CorruptAnnotation
};

class VersionHistory {
  public:
    explicit VersionHistory(imaging::ChunkStore& store) : store_(&store) {}
    // Reopens a history from its version ids (oldest first), verifying every record.
    static VersionHistory load(imaging::ChunkStore& store, const std::vector<VersionId>& ids);

    struct Commit {
        std::string author;
        std::string message;
        std::optional<VersionId> parent;
        std::string createdUtc; // empty: now
    };
    // Saves a new immutable version; writes only chunks the store does not hold yet.
    const Version& commit(LabelMap& labels, const SegmentList& segments,
                          const std::vector<Box>& boxes, const Commit& commit,
                          SaveReport* report = nullptr);

    // A new version that is `parent` with some of its chunks replaced (slice index -> that
    // slice's new bytes), for a saver that holds only what it edited (the store service's
    // save): every other chunk, its hash and its voxel counts come from the parent's record
    // and the store, never from the saver. Only the replaced chunks are hashed, and written
    // when the store lacks them; the parent's chunks there are read back (verified) to take
    // their voxels out of the counts. Throws CorruptAnnotation when parent is not in this
    // history, std::invalid_argument when an index is out of range or a chunk's size is not a
    // slice's (at the parent's width). The new version's parent is `parent` (commit.parent is
    // not used).
    // known: voxel counts of chunks by content hash that a long-lived saver keeps (the store
    // service's session): a replaced chunk found there is not read back; the new chunks' counts
    // are added to it.
    using ChangedChunks = std::map<int, std::span<const std::uint8_t>>;
    using ChunkCounts = std::map<imaging::ChunkHash, std::map<Label, std::uint64_t>>;
    const Version& commitChanges(const VersionId& parent, const ChangedChunks& changed,
                                 const SegmentList& segments, const std::vector<Box>& boxes,
                                 const Commit& commit, SaveReport* report = nullptr,
                                 ChunkCounts* known = nullptr);

    const std::vector<Version>& versions() const { return versions_; }
    std::vector<VersionId> ids() const;
    const Version& get(const VersionId& id) const; // throws CorruptAnnotation when unknown

    OpenedAnnotation openReadOnly(const VersionId& id) const;
    OpenedAnnotation startDraft(const VersionId& id) const; // editable, parent = id

    // Autosave: writes new chunks and returns the draft record for the app to keep.
    Draft autosave(LabelMap& labels, const SegmentList& segments, const std::vector<Box>& boxes,
                   const std::string& author, const std::optional<VersionId>& parent,
                   SaveReport* report = nullptr);
    OpenedAnnotation recover(const Draft& draft) const;
    // Autosave from chunk hashes the caller vouches for (chunks: one per slice, the store
    // holds them) with the changed slices' bytes in their place, written when the store lacks
    // them: the store service's draft, where only the edited slices cross.
    Draft autosaveChanges(std::vector<imaging::ChunkHash> chunks, const imaging::Geometry& geometry,
                          LabelWidth width, const ChangedChunks& changed,
                          const SegmentList& segments, const std::vector<Box>& boxes,
                          const std::string& author, const std::optional<VersionId>& parent,
                          SaveReport* report = nullptr);

  private:
    OpenedAnnotation open(const VersionId& id, bool readOnly) const;
    imaging::ChunkStore* store_;
    std::vector<Version> versions_;
};

std::string currentUtcTimestamp();

// One line for a versions list: short id, time, author, review state, message and voxels per
// segment, e.g.  3f9a1c2e7b10  2026-11-25T11:52:00Z  reader1  approved  "liver done"  Liver=81234
// reviewState is the name of its review state, which the store keeps (storage::Reviews).
std::string describeVersion(const Version& version, const std::string& reviewState);

// When a draft is due for autosave: the interval has passed since the last save and something
// changed. The app calls due() from a timer; saved() after writing the draft.
class AutosaveSchedule {
  public:
    using Clock = std::chrono::steady_clock;
    explicit AutosaveSchedule(std::chrono::seconds interval = std::chrono::seconds(30),
                              Clock::time_point start = Clock::now())
        : interval_(interval), lastSave_(start) {}
    bool due(const LabelMap& labels, bool otherChanges,
             Clock::time_point now = Clock::now()) const {
        return now - lastSave_ >= interval_ && (otherChanges || !labels.dirtyChunks().empty());
    }
    void saved(Clock::time_point now = Clock::now()) { lastSave_ = now; }

  private:
    std::chrono::seconds interval_;
    Clock::time_point lastSave_;
};

} // namespace radmark::annotation
