#include "annotation/Stroke.h"
#include "annotation/UndoHistory.h"

#include <algorithm>
#include <cstring>

namespace radmark::annotation {

namespace {
Label readLabel(const std::uint8_t* bytes, std::size_t i, LabelWidth width) {
    return width == LabelWidth::UInt8 ? Label(bytes[i])
                                      : Label(bytes[2 * i] | (Label(bytes[2 * i + 1]) << 8));
}
} // namespace

void LabelDelta::apply(LabelMap& labels, bool forward) const {
    const std::size_t perChunk = labels.chunkVoxels();
    for (const auto& chunk : chunks) {
        const std::size_t base = std::size_t(chunk.chunk) * perChunk;
        for (const auto& run : chunk.runs) {
            const Label value = forward ? run.after : run.before;
            for (std::uint32_t k = 0; k < run.length; ++k)
                labels.set(base + run.offset + k, value);
        }
        labels.markDirty(chunk.chunk);
    }
}

std::size_t LabelDelta::changedVoxels() const {
    std::size_t n = 0;
    for (const auto& c : chunks) {
        for (const auto& r : c.runs)
            n += r.length;
    }
    return n;
}

std::size_t LabelDelta::memoryBytes() const {
    std::size_t n = sizeof(LabelDelta) + chunks.capacity() * sizeof(ChunkDelta);
    for (const auto& c : chunks)
        n += c.runs.capacity() * sizeof(LabelRun);
    return n;
}

Stroke::Stroke(LabelMap& labels, const SegmentList& segments)
    : labels_(&labels), before_(std::size_t(std::max(labels.chunkCount(), 0))) {
    if (labels.readOnly()) {
        throw ReadOnlyAnnotation(
            "This version is open read-only. Start a new draft from it to make changes.");
    }
    locked_.assign(std::size_t(segments.highestLabel()) + 1, 0);
    for (const auto& s : segments.all())
        locked_[s.label] = s.locked ? 1 : 0;
}

void Stroke::remember(int chunk, int row) {
    ChunkSnapshot& snapshot = before_[std::size_t(chunk)];
    if (snapshot.rows.empty()) {
        snapshot.rows.resize(std::size_t(labels_->geometry().dims[1]));
        touched_.push_back(chunk);
    }
    auto& copy = snapshot.rows[std::size_t(row)];
    if (!copy.empty())
        return;
    const std::size_t rowBytes =
        std::size_t(labels_->geometry().dims[0]) * std::size_t(labels_->width());
    const std::uint8_t* source = labels_->chunkBytes(chunk).data() + std::size_t(row) * rowBytes;
    copy.assign(source, source + rowBytes);
    snapshot.touchedRows.push_back(row);
}

void Stroke::store(const Index3& p, std::size_t index, Label value) {
    remember(p[2], p[1]);
    labels_->set(index, value);
    changed_.include(p);
    recent_.include(p);
}

bool Stroke::write(const Index3& p, Label value) {
    const std::size_t i = labels_->index(p);
    const Label current = labels_->at(i);
    if (current == value || isLocked(current) || isLocked(value))
        return false;
    if (value > labels_->maxLabel()) {
        throw SegmentError("Label " + std::to_string(value) +
                           " needs a 16-bit label map; widen it first.");
    }
    store(p, i, value);
    return true;
}

bool Stroke::erase(const Index3& p, Label label) {
    const std::size_t i = labels_->index(p);
    if (label == 0 || labels_->at(i) != label || isLocked(label))
        return false;
    store(p, i, 0);
    return true;
}

void Stroke::revert() {
    for (int chunk : touched_) {
        const ChunkSnapshot& snapshot = before_[std::size_t(chunk)];
        auto target = labels_->chunkBytesForWriting(chunk);
        for (int row : snapshot.touchedRows) {
            const auto& copy = snapshot.rows[std::size_t(row)];
            std::memcpy(target.data() + std::size_t(row) * copy.size(), copy.data(), copy.size());
        }
    }
    recent_.include(changed_);
}

VoxelRegion Stroke::takeRecentChanges() {
    VoxelRegion r = recent_;
    recent_ = VoxelRegion{};
    return r;
}

std::size_t Stroke::snapshotBytes() const {
    std::size_t n = 0;
    for (int chunk : touched_) {
        for (int row : before_[std::size_t(chunk)].touchedRows) {
            n += before_[std::size_t(chunk)].rows[std::size_t(row)].size();
        }
    }
    return n;
}

LabelDelta Stroke::finish() {
    LabelDelta delta;
    std::sort(touched_.begin(), touched_.end());
    const LabelWidth width = labels_->width();
    const std::size_t rowVoxels = std::size_t(labels_->geometry().dims[0]);
    for (int chunk : touched_) {
        ChunkSnapshot& snapshot = before_[std::size_t(chunk)];
        std::sort(snapshot.touchedRows.begin(), snapshot.touchedRows.end());
        const std::uint8_t* chunkNow = labels_->chunkBytes(chunk).data();
        ChunkDelta chunkDelta{chunk, {}};
        for (int row : snapshot.touchedRows) {
            const std::size_t rowStart = std::size_t(row) * rowVoxels;
            const std::uint8_t* now = chunkNow + rowStart * std::size_t(width);
            const std::uint8_t* was = snapshot.rows[std::size_t(row)].data();
            std::size_t i = 0;
            while (i < rowVoxels) {
                if (width == LabelWidth::UInt8) {
                    while (i < rowVoxels && now[i] == was[i])
                        ++i;
                } else {
                    while (i < rowVoxels && readLabel(now, i, width) == readLabel(was, i, width))
                        ++i;
                }
                if (i >= rowVoxels)
                    break;
                const Label before = readLabel(was, i, width), after = readLabel(now, i, width);
                std::size_t j = i + 1;
                while (j < rowVoxels && readLabel(was, j, width) == before &&
                       readLabel(now, j, width) == after) {
                    ++j;
                }
                chunkDelta.runs.push_back(
                    {std::uint32_t(rowStart + i), std::uint32_t(j - i), before, after});
                i = j;
            }
        }
        if (!chunkDelta.runs.empty()) {
            chunkDelta.runs.shrink_to_fit();
            delta.chunks.push_back(std::move(chunkDelta));
        }
        ChunkSnapshot().rows.swap(snapshot.rows);
        snapshot.touchedRows.clear();
        snapshot.touchedRows.shrink_to_fit();
    }
    touched_.clear();
    delta.region = changed_;
    changed_ = VoxelRegion{};
    recent_ = VoxelRegion{};
    return delta;
}

std::size_t UndoRecord::memoryBytes() const {
    return sizeof(UndoRecord) + description.capacity() + labels.memoryBytes() +
           boxes.capacity() * (sizeof(BoxChange) + 2 * sizeof(Box));
}

void UndoHistory::push(UndoRecord record) {
    while (records_.size() > position_) {
        memory_ -= records_.back().memoryBytes();
        records_.pop_back();
    }
    memory_ += record.memoryBytes();
    records_.push_back(std::move(record));
    position_ = records_.size();
    while (memory_ > budget_ && records_.size() > 1) {
        memory_ -= records_.front().memoryBytes();
        records_.pop_front();
        --position_;
    }
}

std::optional<std::string> UndoHistory::undo(LabelMap& labels, BoxList& boxes) {
    if (!canUndo())
        return std::nullopt;
    if (labels.readOnly())
        throw ReadOnlyAnnotation("This version is open read-only.");
    const UndoRecord& record = records_[--position_];
    record.labels.apply(labels, false);
    for (auto it = record.boxes.rbegin(); it != record.boxes.rend(); ++it)
        boxes.apply(*it, false);
    return record.description;
}

std::optional<std::string> UndoHistory::redo(LabelMap& labels, BoxList& boxes) {
    if (!canRedo())
        return std::nullopt;
    if (labels.readOnly())
        throw ReadOnlyAnnotation("This version is open read-only.");
    const UndoRecord& record = records_[position_++];
    record.labels.apply(labels, true);
    for (const auto& change : record.boxes)
        boxes.apply(change, true);
    return record.description;
}

void UndoHistory::clear() {
    records_.clear();
    position_ = 0;
    memory_ = 0;
}

} // namespace radmark::annotation
