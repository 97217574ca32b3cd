#pragma once
// Box editing with the pointer, in voxel coordinates of the slice a view shows: what lies under
// the pointer (a box's inside, an edge or a corner handle) and how a press, drag and release
// become ONE BoxList change (draw a new box, move one, resize one by a handle). The viewer's
// thin interaction class feeds pointer voxels in and hands the resulting BoxEdit to the undo
// history. No Qt, no VTK.

#include "annotation/Box.h"

#include <optional>
#include <string>
#include <vector>

namespace radmark::annotation {

// The slice a view shows: its normal axis and slice number along it.
struct ViewSlice {
    SliceAxis normal = SliceAxis::Axial;
    int slice = 0;
};

// True when the box has voxels on the slice. A 2D box of another plane crosses it as a line.
bool crossesSlice(const Box& box, const ViewSlice& view);
// True when the box can be edited in this view: it crosses the slice and is 3D or lies in the
// view's plane (a 2D box of another plane is only shown there).
bool editableInView(const Box& box, const ViewSlice& view);

enum class BoxPart : std::uint8_t { None, Inside, Handle };

struct BoxHit {
    std::uint32_t box = 0; // 0: nothing under the pointer
    BoxPart part = BoxPart::None;
    BoxHandle handle{0, 0, 0}; // for a handle: the faces it drags (a corner drags two)
};

// What lies under `voxel` among `shown` boxes on the view's slice. Edges lie half a voxel
// outside the outermost voxels; `tolerance` (in voxels, what a few screen pixels cover) is how
// near the pointer must be to grab them. Handles of `selected` win, then handles of the other
// boxes, then the inside of the smallest box containing the pointer.
BoxHit hitTest(const std::vector<Box>& shown, const ViewSlice& view, const Index3& voxel,
               double tolerance, std::uint32_t selected = 0);

// One edit of the box list made by a gesture: applying it returns the BoxChange for undo.
struct BoxEdit {
    enum class Kind : std::uint8_t { Draw2D, Draw3D, Move, Resize };
    Kind kind = Kind::Draw2D;
    std::uint32_t box = 0;              // Move, Resize
    Label segment = 1;                  // Draw
    std::string author;                 // Draw
    SliceAxis plane = SliceAxis::Axial; // Draw2D
    Index3 from{0, 0, 0};               // Draw: corners; Move: delta in `from`
    Index3 to{0, 0, 0};                 // Resize: where the handle's faces go
    BoxHandle handle{0, 0, 0};          // Resize

    BoxChange applyTo(BoxList& boxes) const;
    std::string description() const; // the undo entry: "Draw box", "Move box", "Resize box"
};

// How a new box is drawn.
struct BoxDrawing {
    bool threeD = false;
    int halfDepthSlices = 5; // a 3D box drawn in one view spans the slice +- this many slices
    Label segment = 1;
    std::string author;
};

struct BoxGestureResult {
    std::uint32_t selected = 0;  // the box pressed on (0: a new box, or none)
    std::optional<BoxEdit> edit; // nullopt: a click that only selects (or deselects)
};

// One press-drag-release. The preview is exactly what the release will produce, so the
// rubber band the user sees while dragging is the box they get.
class BoxGesture {
  public:
    // `dims`: the volume's grid; `shown`: the boxes visible in the view (hidden segments left
    // out); `selected`: the box currently selected (its handles win).
    void press(Index3 dims, const std::vector<Box>& shown, const ViewSlice& view,
               const Index3& voxel, double tolerance, std::uint32_t selected,
               const BoxDrawing& drawing);
    void drag(const Index3& voxel);
    BoxGestureResult release(const Index3& voxel);
    void cancel();

    bool active() const { return active_; }
    // The box the gesture changes (0 while drawing a new one) and what it looks like now; no
    // preview before the pointer has moved.
    std::uint32_t target() const { return target_.id; }
    std::optional<Box> preview() const;

  private:
    std::optional<BoxEdit> currentEdit() const;

    bool active_ = false;
    bool moved_ = false;
    Index3 dims_{0, 0, 0};
    ViewSlice view_;
    BoxDrawing drawing_;
    BoxHit hit_;
    Box target_; // the box pressed on, as it was at the press
    Index3 pressed_{0, 0, 0};
    Index3 current_{0, 0, 0};
};

} // namespace radmark::annotation
