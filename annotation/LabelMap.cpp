#include "annotation/LabelMap.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

namespace radmark::annotation {

void VoxelRegion::include(const Index3& p) {
    if (empty()) {
        min = p;
        max = p;
        return;
    }
    for (int a = 0; a < 3; ++a) {
        min[a] = std::min(min[a], p[a]);
        max[a] = std::max(max[a], p[a]);
    }
}

void VoxelRegion::include(const VoxelRegion& other) {
    if (other.empty())
        return;
    include(other.min);
    include(other.max);
}

std::size_t VoxelRegion::voxelCount() const {
    if (empty())
        return 0;
    return std::size_t(max[0] - min[0] + 1) * std::size_t(max[1] - min[1] + 1) *
           std::size_t(max[2] - min[2] + 1);
}

ZeroedBuffer::ZeroedBuffer(std::size_t size) : size_(size) {
    bytes_.reset(static_cast<std::uint8_t*>(std::calloc(std::max<std::size_t>(size, 1), 1)));
    if (!bytes_)
        throw std::bad_alloc();
}

ZeroedBuffer::ZeroedBuffer(const ZeroedBuffer& other) : ZeroedBuffer(other.size_) {
    if (size_)
        std::memcpy(bytes_.get(), other.bytes_.get(), size_);
}

ZeroedBuffer& ZeroedBuffer::operator=(const ZeroedBuffer& other) {
    if (this != &other)
        *this = ZeroedBuffer(other);
    return *this;
}

bool ZeroedBuffer::operator==(const ZeroedBuffer& other) const {
    return size_ == other.size_ && (size_ == 0 || std::memcmp(data(), other.data(), size_) == 0);
}

void ZeroedBuffer::Free::operator()(std::uint8_t* p) const {
    std::free(p);
}

LabelMap::LabelMap(const imaging::Geometry& geometry, LabelWidth width)
    : geometry_(geometry), width_(width), data_(geometry.voxelCount() * std::size_t(width)),
      chunks_(std::size_t(std::max(geometry.dims[2], 0))) {}

void LabelMap::widenToUInt16() {
    if (width_ == LabelWidth::UInt16)
        return;
    ZeroedBuffer wide(data_.size() * 2);
    for (std::size_t i = 0; i < data_.size(); ++i)
        wide[2 * i] = data_[i];
    data_ = std::move(wide);
    width_ = LabelWidth::UInt16;
    for (auto& c : chunks_)
        c = ChunkState{};
}

void LabelMap::set(std::size_t i, Label value) {
    if (width_ == LabelWidth::UInt8) {
        data_[i] = std::uint8_t(value);
    } else {
        data_[2 * i] = std::uint8_t(value & 0xff);
        data_[2 * i + 1] = std::uint8_t(value >> 8);
    }
    ChunkState& c = chunks_[i / chunkVoxels()];
    c.dirty = true;
    c.countsKnown = false;
}

void LabelMap::fill(Label value) {
    if (width_ == LabelWidth::UInt8) {
        std::fill(data_.begin(), data_.end(), std::uint8_t(value));
    } else {
        for (std::size_t i = 0; i < voxelCount(); ++i) {
            data_[2 * i] = std::uint8_t(value & 0xff);
            data_[2 * i + 1] = std::uint8_t(value >> 8);
        }
    }
    for (auto& c : chunks_) {
        c.dirty = true;
        c.countsKnown = false;
    }
}

std::span<const std::uint8_t> LabelMap::chunkBytes(int chunk) const {
    return {data_.data() + std::size_t(chunk) * chunkByteCount(), chunkByteCount()};
}

std::span<std::uint8_t> LabelMap::chunkBytesForWriting(int chunk) {
    markDirty(chunk);
    return {data_.data() + std::size_t(chunk) * chunkByteCount(), chunkByteCount()};
}

std::optional<imaging::ChunkHash> LabelMap::knownHash(int chunk) const {
    const auto& c = chunks_[std::size_t(chunk)];
    if (c.dirty || !c.hashKnown)
        return std::nullopt;
    return c.hash;
}

void LabelMap::markClean(int chunk, const imaging::ChunkHash& hash) {
    auto& c = chunks_[std::size_t(chunk)];
    c.hash = hash;
    c.hashKnown = true;
    c.dirty = false;
}

std::vector<int> LabelMap::dirtyChunks() const {
    std::vector<int> result;
    for (int z = 0; z < chunkCount(); ++z) {
        if (chunks_[std::size_t(z)].dirty)
            result.push_back(z);
    }
    return result;
}

bool LabelMap::chunkIsEmpty(int chunk) const {
    const auto bytes = chunkBytes(chunk);
    // memcmp of the chunk against itself shifted by one byte: all bytes equal to the first.
    return bytes.empty() ||
           (bytes[0] == 0 && std::memcmp(bytes.data(), bytes.data() + 1, bytes.size() - 1) == 0);
}

void LabelMap::countChunk(ChunkState& state, int chunk) const {
    if (chunkIsEmpty(chunk)) {
        state.counts.clear();
        state.countsKnown = true;
        return;
    }
    std::vector<std::uint32_t> histogram(std::size_t(maxLabel()) + 1, 0);
    const std::size_t first = std::size_t(chunk) * chunkVoxels(), last = first + chunkVoxels();
    if (width_ == LabelWidth::UInt8) {
        for (std::size_t i = first; i < last; ++i)
            ++histogram[data_[i]];
    } else {
        for (std::size_t i = first; i < last; ++i)
            ++histogram[at(i)];
    }
    state.counts.clear();
    for (std::size_t l = 1; l < histogram.size(); ++l) {
        if (histogram[l])
            state.counts.emplace_back(Label(l), histogram[l]);
    }
    state.countsKnown = true;
}

std::map<Label, std::uint64_t> LabelMap::voxelCounts() const {
    std::map<Label, std::uint64_t> result;
    for (int z = 0; z < chunkCount(); ++z) {
        ChunkState& state = chunks_[std::size_t(z)];
        if (!state.countsKnown)
            countChunk(state, z);
        for (auto [label, count] : state.counts)
            result[label] += count;
    }
    return result;
}

std::map<Label, std::uint64_t> LabelMap::chunkVoxelCounts(int chunk) const {
    ChunkState& state = chunks_[std::size_t(chunk)];
    if (!state.countsKnown)
        countChunk(state, chunk);
    std::map<Label, std::uint64_t> result;
    for (auto [label, count] : state.counts)
        result[label] = count;
    return result;
}

VoxelRegion LabelMap::boundsOf(Label label) const {
    VoxelRegion region;
    const auto& d = geometry_.dims;
    std::size_t i = 0;
    for (int z = 0; z < d[2]; ++z) {
        for (int y = 0; y < d[1]; ++y) {
            for (int x = 0; x < d[0]; ++x, ++i) {
                if (at(i) == label)
                    region.include(Index3{x, y, z});
            }
        }
    }
    return region;
}

std::size_t LabelMap::memoryBytes() const {
    std::size_t bytes = data_.size() + chunks_.capacity() * sizeof(ChunkState);
    for (const auto& c : chunks_)
        bytes += c.counts.capacity() * sizeof(c.counts[0]);
    return bytes;
}

bool LabelMap::operator==(const LabelMap& other) const {
    return geometry_.dims == other.geometry_.dims && width_ == other.width_ && data_ == other.data_;
}

} // namespace radmark::annotation
