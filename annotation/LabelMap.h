#pragma once
// A segmentation of one volume: a label per voxel on the volume's own grid (0 = unlabelled).
//
// Chunking: one chunk per axial slice (index z). The voxels stay in one contiguous buffer, so the
// viewer can wrap it without a copy (as it does the image) and a label map costs exactly 1 byte
// per voxel (2 once more than 255 segments exist) plus ~48 bytes per slice of bookkeeping.
// Slices are the unit radiologists edit in and the unit an overlay refreshes, so a save after
// touching 5 slices writes 5 chunks; empty slices all share one hash and are stored once.

#include "imaging/Chunks.h"
#include "imaging/Volume.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace radmark::annotation {

using Label = std::uint16_t;
using imaging::Index3;
using Bytes = std::vector<std::uint8_t>;
// Stored annotation data that is missing, does not match its hash, or cannot be decoded: the
// chunk contract's one error, under the name annotation code and its callers know.
using CorruptAnnotation = imaging::CorruptChunk;

enum class LabelWidth : std::uint8_t { UInt8 = 1, UInt16 = 2 };

// Thrown when something tries to edit a version opened for reading.
struct ReadOnlyAnnotation : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Voxel-index bounding box, inclusive; empty when min > max on any axis.
struct VoxelRegion {
    Index3 min{1, 1, 1};
    Index3 max{0, 0, 0};

    bool empty() const { return min[0] > max[0] || min[1] > max[1] || min[2] > max[2]; }
    void include(const Index3& p);
    void include(const VoxelRegion& other);
    std::size_t voxelCount() const;
};

// A zero-filled byte buffer taken from calloc: the kernel hands out zero pages lazily, so the
// empty slices of a label map cost no resident memory and opening one needs no clearing pass.
class ZeroedBuffer {
  public:
    ZeroedBuffer() = default;
    explicit ZeroedBuffer(std::size_t size);
    ZeroedBuffer(const ZeroedBuffer& other);
    ZeroedBuffer& operator=(const ZeroedBuffer& other);
    ZeroedBuffer(ZeroedBuffer&&) noexcept = default;
    ZeroedBuffer& operator=(ZeroedBuffer&&) noexcept = default;

    std::size_t size() const { return size_; }
    std::uint8_t* data() { return bytes_.get(); }
    const std::uint8_t* data() const { return bytes_.get(); }
    std::uint8_t& operator[](std::size_t i) { return bytes_[i]; }
    std::uint8_t operator[](std::size_t i) const { return bytes_[i]; }
    std::uint8_t* begin() { return data(); }
    std::uint8_t* end() { return data() + size_; }
    bool operator==(const ZeroedBuffer& other) const;

  private:
    struct Free {
        void operator()(std::uint8_t* p) const;
    };
    std::unique_ptr<std::uint8_t[], Free> bytes_;
    std::size_t size_ = 0;
};

class LabelMap {
  public:
    LabelMap() = default;
    explicit LabelMap(const imaging::Geometry& geometry, LabelWidth width = LabelWidth::UInt8);

    const imaging::Geometry& geometry() const { return geometry_; }
    LabelWidth width() const { return width_; }
    Label maxLabel() const { return width_ == LabelWidth::UInt8 ? 255 : 65535; }
    // Switches to 2 bytes per voxel (needed for more than 255 segments); values are kept.
    void widenToUInt16();

    std::size_t voxelCount() const { return geometry_.voxelCount(); }
    std::size_t index(int x, int y, int z) const {
        return (std::size_t(z) * std::size_t(geometry_.dims[1]) + std::size_t(y)) *
                   std::size_t(geometry_.dims[0]) +
               std::size_t(x);
    }
    std::size_t index(const Index3& p) const { return index(p[0], p[1], p[2]); }
    bool contains(const Index3& p) const { return geometry_.contains(p); }

    Label at(std::size_t i) const {
        return width_ == LabelWidth::UInt8 ? Label(data_[i])
                                           : Label(data_[2 * i] | (Label(data_[2 * i + 1]) << 8));
    }
    Label at(const Index3& p) const { return at(index(p)); }
    // Raw write, no lock rules and no undo: tools write through a Stroke instead.
    void set(std::size_t i, Label value);
    void set(const Index3& p, Label value) { set(index(p), value); }
    void fill(Label value);

    // Chunks (one per axial slice).
    int chunkCount() const { return geometry_.dims[2]; }
    std::size_t chunkVoxels() const {
        return std::size_t(geometry_.dims[0]) * std::size_t(geometry_.dims[1]);
    }
    std::size_t chunkByteCount() const { return chunkVoxels() * std::size_t(width_); }
    std::span<const std::uint8_t> chunkBytes(int chunk) const;
    std::span<std::uint8_t> chunkBytesForWriting(int chunk); // marks the chunk dirty
    void markDirty(int chunk) {
        chunks_[std::size_t(chunk)].dirty = true;
        chunks_[std::size_t(chunk)].countsKnown = false;
    }
    bool isDirty(int chunk) const { return chunks_[std::size_t(chunk)].dirty; }
    // The hash of the chunk's content when it is not dirty.
    std::optional<imaging::ChunkHash> knownHash(int chunk) const;
    void markClean(int chunk, const imaging::ChunkHash& hash);
    std::vector<int> dirtyChunks() const;
    bool chunkIsEmpty(int chunk) const; // every voxel unlabelled

    // Contiguous storage (x fastest, then y, then z), little-endian for UInt16.
    const std::uint8_t* data() const { return data_.data(); }

    bool readOnly() const { return readOnly_; }
    void setReadOnly(bool readOnly) { readOnly_ = readOnly; }

    // Labels > 0 only. Counted per chunk and cached until the chunk changes, so a save after a
    // small edit does not rescan the volume.
    std::map<Label, std::uint64_t> voxelCounts() const;
    std::map<Label, std::uint64_t> chunkVoxelCounts(int chunk) const; // the same, one chunk
    VoxelRegion boundsOf(Label label) const;
    std::size_t memoryBytes() const; // everything this object holds on the heap

    bool operator==(const LabelMap& other) const; // same grid, width and labels

  private:
    struct ChunkState {
        imaging::ChunkHash hash;
        bool hashKnown = false;
        bool dirty = true;
        bool countsKnown = false;
        std::vector<std::pair<Label, std::uint32_t>> counts; // labels > 0 in this chunk
    };
    void countChunk(ChunkState& state, int chunk) const;
    imaging::Geometry geometry_;
    LabelWidth width_ = LabelWidth::UInt8;
    ZeroedBuffer data_;
    mutable std::vector<ChunkState> chunks_;
    bool readOnly_ = false;
};

} // namespace radmark::annotation
