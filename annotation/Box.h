#pragma once
// Bounding boxes in voxel indices: 2D on one slice of a plane, or 3D across slices, each tied to a
// segment and an author. Every edit returns a BoxChange so it can be undone like a brush stroke.

#include "annotation/LabelMap.h"

#include <optional>
#include <string>
#include <vector>

namespace radmark::annotation {

// The index axis normal to a slice plane: sagittal slices are at fixed x, coronal at fixed y,
// axial at fixed z.
enum class SliceAxis : std::uint8_t { Sagittal = 0, Coronal = 1, Axial = 2 };

struct Box {
    std::uint32_t id = 0;
    Label segment = 1;
    std::string author;
    bool threeD = false;
    SliceAxis plane = SliceAxis::Axial; // for a 2D box: min[plane] == max[plane]
    Index3 min{0, 0, 0};                // inclusive voxel corners
    Index3 max{0, 0, 0};
    bool operator==(const Box&) const = default;
};

// Which faces a resize handle drags: -1 the min face, +1 the max face, 0 neither, per axis.
using BoxHandle = std::array<int, 3>;

// before/after of one box; nullopt means "did not exist" (add / delete).
struct BoxChange {
    std::optional<Box> before;
    std::optional<Box> after;
};

struct BoxError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class BoxList {
  public:
    explicit BoxList(imaging::Index3 dims = {0, 0, 0}) : dims_(dims) {}

    // Corners are clamped to the volume and ordered; a 2D box is flattened onto corner a's slice.
    BoxChange add2D(Label segment, std::string author, SliceAxis plane, Index3 a, Index3 b);
    BoxChange add3D(Label segment, std::string author, Index3 a, Index3 b);
    // Moves by delta, stopping at the volume edge without changing the box's size.
    BoxChange move(std::uint32_t id, Index3 delta);
    // Drags the handle's faces to `to`; a 2D box never leaves its slice.
    BoxChange resize(std::uint32_t id, BoxHandle handle, Index3 to);
    BoxChange remove(std::uint32_t id);

    void apply(const BoxChange& change, bool forward); // for undo (false) and redo (true)

    const Box* find(std::uint32_t id) const;
    const std::vector<Box>& all() const { return boxes_; }
    void replaceAll(std::vector<Box> boxes); // when a version is opened

  private:
    Box& get(std::uint32_t id);
    Index3 clamp(Index3 p) const;
    void normalise(Box& box) const;
    BoxChange insert(Box box);

    imaging::Index3 dims_;
    std::vector<Box> boxes_;
    std::uint32_t nextId_ = 1;
};

} // namespace radmark::annotation
