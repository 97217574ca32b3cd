#pragma once
// Linear undo/redo over label deltas and box changes. Undo then redo restores bit-identical
// labels; the memory used is the sum of the deltas, bounded by a budget that drops the oldest.

#include "annotation/Box.h"
#include "annotation/Stroke.h"

#include <deque>
#include <string>

namespace radmark::annotation {

struct UndoRecord {
    std::string description; // "Paint", "Region grow", "Move box", ...
    LabelDelta labels;
    std::vector<BoxChange> boxes;
    std::size_t memoryBytes() const;
};

class UndoHistory {
  public:
    explicit UndoHistory(std::size_t memoryBudgetBytes = std::size_t(256) << 20)
        : budget_(memoryBudgetBytes) {}

    void push(UndoRecord record); // discards anything that could have been redone
    // Return the undone/redone record's description, or nothing if there was none.
    std::optional<std::string> undo(LabelMap& labels, BoxList& boxes);
    std::optional<std::string> redo(LabelMap& labels, BoxList& boxes);

    bool canUndo() const { return position_ > 0; }
    bool canRedo() const { return position_ < records_.size(); }
    std::size_t size() const { return records_.size(); }
    std::size_t memoryBytes() const { return memory_; }
    void clear();

  private:
    std::deque<UndoRecord> records_;
    std::size_t position_ = 0; // records_[0, position_) can be undone
    std::size_t memory_ = 0;
    std::size_t budget_;
};

} // namespace radmark::annotation
