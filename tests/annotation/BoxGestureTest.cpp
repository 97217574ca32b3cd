// Box gestures with exact voxel corners: hit-testing edges, corners and insides on a view's
// slice, and each press-drag-release turning into one BoxList change whose preview matches.
#include "annotation/BoxGesture.h"

#include <gtest/gtest.h>

using namespace radmark::annotation;

namespace {

const Index3 dims{100, 80, 40};
const ViewSlice axial12{SliceAxis::Axial, 12};

// Runs press, drags through `path`, release at its last point; applies the edit to `boxes`.
BoxGestureResult gesture(BoxList& boxes, const ViewSlice& view, std::vector<Index3> path,
                         const BoxDrawing& drawing = {}, std::uint32_t selected = 0,
                         double tolerance = 1.5) {
    BoxGesture g;
    g.press(dims, boxes.all(), view, path.front(), tolerance, selected, drawing);
    EXPECT_TRUE(g.active());
    std::optional<Box> preview;
    for (std::size_t i = 1; i + 1 < path.size(); ++i) {
        g.drag(path[i]);
        preview = g.preview();
    }
    const BoxGestureResult result = g.release(path.back());
    EXPECT_FALSE(g.active());
    if (result.edit) {
        const BoxChange change = result.edit->applyTo(boxes);
        if (preview && path.size() > 2 && path[path.size() - 2] == path.back()) {
            EXPECT_EQ(preview->min, change.after->min) << "the preview is not the result";
            EXPECT_EQ(preview->max, change.after->max) << "the preview is not the result";
        }
    }
    return result;
}

} // namespace

TEST(AnnotationBoxGesture, DragOnEmptySliceDrawsTwoDimensionalBoxOnThatSlice) {
    BoxList boxes(dims);
    BoxDrawing drawing;
    drawing.segment = 3;
    drawing.author = "reader1";
    const auto result =
        gesture(boxes, axial12, {{40, 30, 12}, {30, 35, 12}, {20, 50, 12}, {20, 50, 12}}, drawing);
    ASSERT_TRUE(result.edit);
    EXPECT_EQ(result.edit->kind, BoxEdit::Kind::Draw2D);
    EXPECT_EQ(result.edit->description(), "Draw box");
    ASSERT_EQ(boxes.all().size(), 1u);
    const Box& box = boxes.all().front();
    EXPECT_FALSE(box.threeD);
    EXPECT_EQ(box.plane, SliceAxis::Axial);
    EXPECT_EQ(box.segment, 3);
    EXPECT_EQ(box.author, "reader1");
    EXPECT_EQ(box.min, (Index3{20, 30, 12}));
    EXPECT_EQ(box.max, (Index3{40, 50, 12}));
}

TEST(AnnotationBoxGesture, ThreeDimensionalBoxSpansSlicesAroundTheViewAndClampsAtTheEdge) {
    BoxList boxes(dims);
    BoxDrawing drawing;
    drawing.threeD = true;
    drawing.halfDepthSlices = 4;
    gesture(boxes, {SliceAxis::Coronal, 30}, {{10, 30, 2}, {25, 30, 9}}, drawing);
    ASSERT_EQ(boxes.all().size(), 1u);
    const Box& box = boxes.all().front();
    EXPECT_TRUE(box.threeD);
    EXPECT_EQ(box.min, (Index3{10, 26, 2}));
    EXPECT_EQ(box.max, (Index3{25, 34, 9}));

    gesture(boxes, {SliceAxis::Sagittal, 1}, {{1, 5, 5}, {1, 9, 7}}, drawing);
    EXPECT_EQ(boxes.all().back().min, (Index3{0, 5, 5}));
    EXPECT_EQ(boxes.all().back().max, (Index3{5, 9, 7}));
}

TEST(AnnotationBoxGesture, ClickWithoutMovingOnlySelectsOrDeselects) {
    BoxList boxes(dims);
    const auto id = boxes.add2D(1, "r", SliceAxis::Axial, {20, 20, 12}, {40, 40, 12}).after->id;
    const auto inside = gesture(boxes, axial12, {{30, 30, 12}, {30, 30, 12}});
    EXPECT_EQ(inside.selected, id);
    EXPECT_FALSE(inside.edit);
    const auto outside = gesture(boxes, axial12, {{60, 60, 12}, {60, 60, 12}});
    EXPECT_EQ(outside.selected, 0u);
    EXPECT_FALSE(outside.edit) << "a click on nothing must not draw a box";
    EXPECT_EQ(boxes.all().size(), 1u);
}

TEST(AnnotationBoxGesture, HitTestFindsCornersEdgesAndInside) {
    BoxList boxes(dims);
    const auto id = boxes.add2D(1, "r", SliceAxis::Axial, {20, 20, 12}, {40, 40, 12}).after->id;
    const auto& shown = boxes.all();
    // Edges are at 19.5 and 40.5; a tolerance of 1.5 voxels grabs 18..21 and 39..42.
    EXPECT_EQ(hitTest(shown, axial12, {19, 19, 12}, 1.5).handle, (BoxHandle{-1, -1, 0}));
    EXPECT_EQ(hitTest(shown, axial12, {41, 40, 12}, 1.5).handle, (BoxHandle{1, 1, 0}));
    EXPECT_EQ(hitTest(shown, axial12, {30, 42, 12}, 1.5).handle, (BoxHandle{0, 1, 0}));
    EXPECT_EQ(hitTest(shown, axial12, {18, 30, 12}, 1.5).handle, (BoxHandle{-1, 0, 0}));
    const BoxHit inside = hitTest(shown, axial12, {30, 30, 12}, 1.5);
    EXPECT_EQ(inside.part, BoxPart::Inside);
    EXPECT_EQ(inside.box, id);
    EXPECT_EQ(hitTest(shown, axial12, {17, 30, 12}, 1.5).part, BoxPart::None);
    EXPECT_EQ(hitTest(shown, axial12, {43, 30, 12}, 1.5).part, BoxPart::None);
    // Another slice, or a view of another plane: a 2D box is not there to edit.
    EXPECT_EQ(hitTest(shown, {SliceAxis::Axial, 13}, {30, 30, 13}, 1.5).part, BoxPart::None);
    EXPECT_EQ(hitTest(shown, {SliceAxis::Coronal, 30}, {30, 30, 12}, 1.5).part, BoxPart::None);
    EXPECT_TRUE(crossesSlice(shown.front(), {SliceAxis::Coronal, 30}));
    EXPECT_FALSE(editableInView(shown.front(), {SliceAxis::Coronal, 30}));
}

TEST(AnnotationBoxGesture, SmallBoxKeepsAnInsideAndNestedBoxesPickTheSmallest) {
    BoxList boxes(dims);
    const auto big = boxes.add2D(1, "r", SliceAxis::Axial, {10, 10, 12}, {60, 60, 12}).after->id;
    const auto small = boxes.add2D(1, "r", SliceAxis::Axial, {30, 30, 12}, {33, 33, 12}).after->id;
    // A 4-voxel box with a 3-voxel tolerance: edges reach one voxel in, the middle is inside.
    const BoxHit middle = hitTest(boxes.all(), axial12, {31, 32, 12}, 3);
    EXPECT_EQ(middle.box, small);
    EXPECT_EQ(middle.part, BoxPart::Inside);
    EXPECT_EQ(hitTest(boxes.all(), axial12, {30, 31, 12}, 3).handle, (BoxHandle{-1, 0, 0}));
    EXPECT_EQ(hitTest(boxes.all(), axial12, {45, 45, 12}, 3).box, big);
    // The selected box's handles win over another box's inside or handles.
    const auto touching =
        boxes.add2D(1, "r", SliceAxis::Axial, {61, 10, 12}, {80, 60, 12}).after->id;
    EXPECT_EQ(hitTest(boxes.all(), axial12, {61, 30, 12}, 1.5, big).box, big);
    EXPECT_EQ(hitTest(boxes.all(), axial12, {61, 30, 12}, 1.5, touching).box, touching);
}

TEST(AnnotationBoxGesture, DragInsideMovesByThePointerDeltaOnce) {
    BoxList boxes(dims);
    const auto id = boxes.add2D(1, "r", SliceAxis::Axial, {20, 20, 12}, {40, 40, 12}).after->id;
    const auto result = gesture(boxes, axial12, {{30, 30, 12}, {33, 31, 12}, {35, 25, 12}}, {}, 0);
    ASSERT_TRUE(result.edit);
    EXPECT_EQ(result.edit->kind, BoxEdit::Kind::Move);
    EXPECT_EQ(result.selected, id);
    EXPECT_EQ(boxes.find(id)->min, (Index3{25, 15, 12}));
    EXPECT_EQ(boxes.find(id)->max, (Index3{45, 35, 12}));
}

TEST(AnnotationBoxGesture, DragCornerAndEdgeResizeWithoutJumping) {
    BoxList boxes(dims);
    const auto id = boxes.add2D(1, "r", SliceAxis::Axial, {20, 20, 12}, {40, 40, 12}).after->id;
    // Grabbed one voxel outside the max corner: the faces follow the pointer's movement.
    const auto corner = gesture(boxes, axial12, {{41, 41, 12}, {45, 50, 12}, {51, 44, 12}}, {}, id);
    ASSERT_TRUE(corner.edit);
    EXPECT_EQ(corner.edit->kind, BoxEdit::Kind::Resize);
    EXPECT_EQ(boxes.find(id)->min, (Index3{20, 20, 12}));
    EXPECT_EQ(boxes.find(id)->max, (Index3{50, 43, 12}));
    // The left edge dragged right past the right edge: the box flips, never inside out.
    gesture(boxes, axial12, {{20, 30, 12}, {60, 35, 12}, {60, 35, 12}}, {}, id);
    EXPECT_EQ(boxes.find(id)->min, (Index3{50, 20, 12}));
    EXPECT_EQ(boxes.find(id)->max, (Index3{60, 43, 12}));
}

TEST(AnnotationBoxGesture, ThreeDimensionalBoxResizedInAnotherViewAndUndoneAsOneChange) {
    BoxList boxes(dims);
    const auto id = boxes.add3D(1, "r", {10, 20, 5}, {30, 40, 15}).after->id;
    const Box before = *boxes.find(id);
    // Seen in the coronal view at y = 25: x across, z up. Drag the top (max z) edge up by 6.
    const ViewSlice coronal{SliceAxis::Coronal, 25};
    EXPECT_TRUE(editableInView(before, coronal));
    BoxGesture g;
    g.press(dims, boxes.all(), coronal, {20, 25, 16}, 1.5, id, {});
    g.drag({20, 25, 18});
    g.drag({21, 25, 22});
    ASSERT_TRUE(g.preview());
    EXPECT_EQ(g.target(), id);
    EXPECT_EQ(g.preview()->max, (Index3{30, 40, 21}));
    EXPECT_EQ(*boxes.find(id), before) << "dragging must not change the list before release";
    const auto result = g.release({21, 25, 22});
    const BoxChange change = result.edit->applyTo(boxes);
    EXPECT_EQ(boxes.find(id)->min, (Index3{10, 20, 5}));
    EXPECT_EQ(boxes.find(id)->max, (Index3{30, 40, 21}));
    boxes.apply(change, false);
    EXPECT_EQ(*boxes.find(id), before);
}

TEST(AnnotationBoxGesture, MoveStopsAtTheVolumeEdgeInPreviewAndResult) {
    BoxList boxes(dims);
    const auto id = boxes.add2D(1, "r", SliceAxis::Axial, {80, 60, 12}, {95, 75, 12}).after->id;
    BoxGesture g;
    g.press(dims, boxes.all(), axial12, {85, 65, 12}, 1.5, 0, {});
    g.drag({99, 79, 12});
    EXPECT_EQ(g.preview()->max, (Index3{99, 79, 12}));
    EXPECT_EQ(g.preview()->min, (Index3{84, 64, 12}));
    g.release({99, 79, 12}).edit->applyTo(boxes);
    EXPECT_EQ(boxes.find(id)->min, (Index3{84, 64, 12}));
    g.cancel();
    EXPECT_FALSE(g.preview());
}
