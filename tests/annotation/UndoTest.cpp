#include "AnnotationTestSupport.h"
#include "annotation/UndoHistory.h"

#include <gtest/gtest.h>

using namespace radmark::annotation;
using namespace radmark::annotation::test;

namespace {
void record(UndoHistory& history, Tool& tool) {
    while (auto r = tool.takeUndoRecord())
        history.push(std::move(*r));
}
} // namespace

TEST(AnnotationUndo, UndoThenRedoRestoresBitIdenticalLabels) {
    const auto g = grid({40, 40, 20}, {0.8, 0.8, 2.5});
    const auto img = image(g, [](int x, int y, int z) {
        return inBox(x, y, z, {25, 25, 10}, {35, 35, 15}) ? 50 : 0;
    });
    Editor e(g);
    BoxList boxes(g.dims);
    UndoHistory history;
    std::vector<LabelMap> states{e.labels};

    auto paint = e.tool("paint", 1);
    paint->settings().set("radius_mm", 4);
    paint->handle({PointerPhase::Press, {10, 10, 5}, SliceAxis::Axial});
    paint->handle({PointerPhase::Drag, {30, 25, 5}, SliceAxis::Axial});
    paint->handle({PointerPhase::Release, {30, 25, 5}, SliceAxis::Axial});
    record(history, *paint);
    states.push_back(e.labels);

    auto sphere = e.tool("paint", 2);
    sphere->settings().set("radius_mm", 6);
    sphere->settings().set("sphere", 1);
    click(*sphere, {20, 20, 6});
    record(history, *sphere);
    states.push_back(e.labels);

    auto grow = e.tool("region-grow", 2, &img);
    grow->settings().set("lower", 40);
    grow->settings().set("upper", 60);
    click(*grow, {30, 30, 12});
    record(history, *grow);
    states.push_back(e.labels);

    auto erase = e.tool("erase", 1);
    erase->settings().set("radius_mm", 3);
    click(*erase, {12, 11, 5});
    record(history, *erase);
    states.push_back(e.labels);

    auto margin = e.tool("margin", 1);
    margin->settings().set("distance_mm", 2);
    margin->apply();
    record(history, *margin);
    states.push_back(e.labels);

    ASSERT_EQ(history.size(), states.size() - 1);
    for (std::size_t i = 1; i < states.size(); ++i)
        EXPECT_FALSE(states[i] == states[i - 1]);
    for (std::size_t i = states.size() - 1; i > 0; --i) {
        ASSERT_TRUE(history.undo(e.labels, boxes));
        EXPECT_TRUE(e.labels == states[i - 1]) << "after undoing step " << i;
    }
    EXPECT_FALSE(history.undo(e.labels, boxes));
    for (std::size_t i = 1; i < states.size(); ++i) {
        ASSERT_TRUE(history.redo(e.labels, boxes));
        EXPECT_TRUE(e.labels == states[i]) << "after redoing step " << i;
    }
    EXPECT_FALSE(history.redo(e.labels, boxes));
}

TEST(AnnotationUndo, UndoMemoryGrowsWithTheEditNotTheVolume) {
    Editor e(grid({256, 256, 100}));
    BoxList boxes(e.labels.geometry().dims);
    UndoHistory history;
    auto paint = e.tool("paint");
    paint->settings().set("radius_mm", 3);
    click(*paint, {100, 100, 50});
    record(history, *paint);
    const std::size_t small = history.memoryBytes();
    EXPECT_LT(small, 1024u); // 7 rows of a disc, against a 6.5 MB label map

    paint->settings().set("radius_mm", 30);
    click(*paint, {100, 100, 60});
    record(history, *paint);
    const std::size_t large = history.memoryBytes() - small;
    EXPECT_GT(large, small);
    EXPECT_LT(large, 4096u); // 61 runs, one per row
    EXPECT_LT(history.memoryBytes(), e.labels.memoryBytes() / 1000);
}

TEST(AnnotationUndo, NewEditDiscardsRedoAndBoxChangesUndo) {
    Editor e(grid({20, 20, 5}));
    BoxList boxes(e.labels.geometry().dims);
    UndoHistory history;
    auto paint = e.tool("paint");
    click(*paint, {5, 5, 2});
    record(history, *paint);
    history.undo(e.labels, boxes);
    EXPECT_TRUE(history.canRedo());
    click(*paint, {10, 10, 2});
    record(history, *paint);
    EXPECT_FALSE(history.canRedo());
    EXPECT_EQ(history.size(), 1u);

    const BoxChange added = boxes.add3D(1, "reader1", {1, 1, 1}, {4, 4, 3});
    const BoxChange moved = boxes.move(added.after->id, {5, 5, 0});
    history.push(UndoRecord{"Draw box", {}, {added}});
    history.push(UndoRecord{"Move box", {}, {moved}});
    EXPECT_EQ(history.undo(e.labels, boxes), "Move box");
    EXPECT_EQ(boxes.find(added.after->id)->min, (Index3{1, 1, 1}));
    EXPECT_EQ(history.undo(e.labels, boxes), "Draw box");
    EXPECT_TRUE(boxes.all().empty());
    history.redo(e.labels, boxes);
    history.redo(e.labels, boxes);
    EXPECT_EQ(boxes.find(added.after->id)->min, (Index3{6, 6, 1}));
}

TEST(AnnotationUndo, StrokeRevertPutsBackEveryVoxel) {
    Editor e(grid({10, 10, 4}));
    fillBox(e.labels, {0, 0, 0}, {9, 9, 0}, 2);
    const LabelMap before = e.labels;
    Stroke stroke(e.labels, e.segments);
    for (int z = 0; z < 4; ++z)
        stroke.write({z, z, z}, 1);
    EXPECT_FALSE(e.labels == before);
    stroke.revert();
    EXPECT_TRUE(e.labels == before);
    EXPECT_TRUE(stroke.finish().empty());
}

TEST(AnnotationUndo, PaintingSegment300WidensLabelsAndOlderUndoStillWorks) {
    Editor e(grid({20, 20, 4}));
    Segment many;
    many.label = 300;
    many.name = "Rib 300";
    e.segments.add(many);
    BoxList boxes(e.labels.geometry().dims);
    UndoHistory history;
    auto paint = e.tool("paint", 1);
    click(*paint, {5, 5, 1});
    record(history, *paint);
    const LabelMap afterFirst = e.labels;
    auto wide = e.tool("paint", 300);
    EXPECT_EQ(e.labels.width(), LabelWidth::UInt16);
    click(*wide, {6, 5, 1});
    record(history, *wide);
    EXPECT_EQ(e.labels.at(Index3{6, 5, 1}), 300);
    history.undo(e.labels, boxes);
    history.undo(e.labels, boxes);
    EXPECT_TRUE(e.labels.voxelCounts().empty());
    history.redo(e.labels, boxes);
    EXPECT_EQ(e.labels.voxelCounts(), afterFirst.voxelCounts());
}
