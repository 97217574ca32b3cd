#pragma once
// One edit of a label map (a drag, a region grow, a smoothing pass) and its run-length delta.
// A Stroke is the only way tools write labels: it applies the lock rules, remembers the
// before-state of just the image rows it touched (copied on first write, so a stamp costs
// microseconds), and on finish() turns the difference into runs of (offset, length, before,
// after). The row copies are released then: undo memory grows with the edit, never with the
// volume.

#include "annotation/LabelMap.h"
#include "annotation/Segment.h"

#include <vector>

namespace radmark::annotation {

struct LabelRun {
    std::uint32_t offset; // voxel offset inside the chunk
    std::uint32_t length;
    Label before;
    Label after;
};

struct ChunkDelta {
    int chunk = 0;
    std::vector<LabelRun> runs;
};

struct LabelDelta {
    std::vector<ChunkDelta> chunks;
    VoxelRegion region; // bounding box of every changed voxel

    // forward = redo (write "after"), otherwise undo (write "before").
    void apply(LabelMap& labels, bool forward) const;
    bool empty() const { return chunks.empty(); }
    std::size_t changedVoxels() const;
    std::size_t memoryBytes() const;
};

class Stroke {
  public:
    // Throws ReadOnlyAnnotation for a map opened read-only. `segments` supplies the locks.
    Stroke(LabelMap& labels, const SegmentList& segments);
    Stroke(const Stroke&) = delete;
    Stroke& operator=(const Stroke&) = delete;
    Stroke(Stroke&&) = default;

    // Sets the voxel to value unless value's segment is locked or the voxel belongs to another,
    // locked segment. Returns whether the voxel changed.
    bool write(const Index3& p, Label value);
    // Clears the voxel to 0 if it holds `label` (and `label` is not locked).
    bool erase(const Index3& p, Label label);

    bool mayWrite(Label value) const { return !isLocked(value); }
    bool mayOverwrite(Label current, Label value) const {
        return current == value || (!isLocked(current) && !isLocked(value));
    }

    void revert();       // puts back every voxel this stroke changed; the stroke stays open
    LabelDelta finish(); // the run-length delta; the stroke is empty afterwards

    const VoxelRegion& changedRegion() const { return changed_; }
    // Region changed since the last call: what an overlay must refresh after one stamp.
    VoxelRegion takeRecentChanges();
    LabelMap& labels() { return *labels_; }
    std::size_t snapshotBytes() const;

  private:
    bool isLocked(Label label) const { return label < locked_.size() && locked_[label]; }
    void remember(int chunk, int row);
    void store(const Index3& p, std::size_t index, Label value);

    LabelMap* labels_;
    std::vector<std::uint8_t> locked_;
    struct ChunkSnapshot {
        std::vector<std::vector<std::uint8_t>> rows; // per row y; empty until first touched
        std::vector<int> touchedRows;
    };
    std::vector<ChunkSnapshot> before_; // per chunk; rows empty until first touched
    std::vector<int> touched_;
    VoxelRegion changed_;
    VoxelRegion recent_;
};

} // namespace radmark::annotation
