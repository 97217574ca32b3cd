#include "annotation/Box.h"

#include <gtest/gtest.h>

using namespace radmark::annotation;

TEST(AnnotationBoxes, TwoDimensionalBoxStaysOnItsSlice) {
    BoxList boxes({100, 100, 50});
    const BoxChange added = boxes.add2D(2, "reader1", SliceAxis::Axial, {40, 30, 10}, {20, 60, 25});
    ASSERT_TRUE(added.after);
    const Box& b = *boxes.find(added.after->id);
    EXPECT_EQ(b.min, (Index3{20, 30, 10}));
    EXPECT_EQ(b.max, (Index3{40, 60, 10}));
    boxes.resize(b.id, {1, 0, 1}, {70, 0, 40});
    EXPECT_EQ(boxes.find(b.id)->max, (Index3{70, 60, 10})); // z untouched for a 2D box
}

TEST(AnnotationBoxes, MoveStopsAtTheVolumeEdgeKeepingSize) {
    BoxList boxes({100, 100, 50});
    const auto id = boxes.add3D(1, "reader1", {10, 10, 10}, {19, 29, 14}).after->id;
    boxes.move(id, {-50, 5, 100});
    const Box* b = boxes.find(id);
    EXPECT_EQ(b->min, (Index3{0, 15, 45}));
    EXPECT_EQ(b->max, (Index3{9, 34, 49}));
}

TEST(AnnotationBoxes, ResizePastTheOppositeFaceFlipsAndDeleteUndoes) {
    BoxList boxes({100, 100, 50});
    const auto id = boxes.add3D(1, "reader1", {10, 10, 10}, {20, 20, 20}).after->id;
    const BoxChange resized = boxes.resize(id, {-1, 0, 0}, {30, 0, 0});
    EXPECT_EQ(boxes.find(id)->min[0], 20);
    EXPECT_EQ(boxes.find(id)->max[0], 30);
    boxes.apply(resized, false);
    EXPECT_EQ(boxes.find(id)->min[0], 10);
    const BoxChange removed = boxes.remove(id);
    EXPECT_EQ(boxes.find(id), nullptr);
    EXPECT_THROW(boxes.move(id, {1, 1, 1}), BoxError);
    boxes.apply(removed, false);
    ASSERT_NE(boxes.find(id), nullptr);
    EXPECT_EQ(*boxes.find(id), *removed.before);
}
