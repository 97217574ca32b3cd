// Every tool on small generated volumes, with the exact voxels it must produce.

#include "AnnotationTestSupport.h"

#include <gtest/gtest.h>

using namespace radmark::annotation;
using namespace radmark::annotation::test;

TEST(AnnotationTools, RegistryKnowsEveryToolByName) {
    const auto names = toolNames();
    EXPECT_GE(names.size(), 12u);
    for (const auto& n : names)
        EXPECT_EQ(createTool(n)->name(), n);
    EXPECT_THROW(createTool("lasso"), ToolError);
}

TEST(AnnotationPaint, AxialDiscOfTwoMillimetres) {
    Editor e(grid({21, 21, 11}));
    auto paint = e.tool("paint");
    paint->settings().set("radius_mm", 2);
    click(*paint, {10, 10, 5});
    EXPECT_EQ(mismatches(e.labels,
                         [](int x, int y, int z) {
                             const int dx = x - 10, dy = y - 10;
                             return Label(z == 5 && dx * dx + dy * dy <= 4 ? 1 : 0);
                         }),
              0u);
    EXPECT_EQ(e.labels.voxelCounts().at(1), 13u);
    const VoxelRegion dirty = paint->takeDirtyRegion();
    EXPECT_EQ(dirty.min, (Index3{8, 8, 5}));
    EXPECT_EQ(dirty.max, (Index3{12, 12, 5}));
}

TEST(AnnotationPaint, CoronalAndSagittalDiscsLieInTheirPlanes) {
    Editor e(grid({21, 21, 21}));
    auto paint = e.tool("paint");
    paint->settings().set("radius_mm", 1);
    click(*paint, {5, 10, 10}, SliceAxis::Coronal);
    click(*paint, {15, 10, 10}, SliceAxis::Sagittal);
    EXPECT_EQ(mismatches(e.labels,
                         [](int x, int y, int z) {
                             const bool coronal =
                                 y == 10 && std::abs(x - 5) + std::abs(z - 10) <= 1;
                             const bool sagittal =
                                 x == 15 && std::abs(y - 10) + std::abs(z - 10) <= 1;
                             return Label(coronal || sagittal ? 1 : 0);
                         }),
              0u);
}

TEST(AnnotationPaint, SphereHonoursAnisotropicSpacing) {
    Editor e(grid({21, 21, 11}, {0.5, 0.5, 2.0}));
    auto paint = e.tool("paint");
    paint->settings().set("radius_mm", 2);
    paint->settings().set("sphere", 1);
    click(*paint, {10, 10, 5});
    EXPECT_EQ(mismatches(e.labels,
                         [](int x, int y, int z) {
                             const double dx = (x - 10) * 0.5, dy = (y - 10) * 0.5,
                                          dz = (z - 5) * 2.0;
                             return Label(dx * dx + dy * dy + dz * dz <= 4.0 ? 1 : 0);
                         }),
              0u);
    EXPECT_EQ(e.labels.voxelCounts().at(1), 51u); // 49 in the slice, the centre above and below
}

TEST(AnnotationPaint, DragStampsAlongTheWholeLine) {
    Editor e(grid({30, 20, 3}));
    auto paint = e.tool("paint");
    paint->settings().set("radius_mm", 1);
    paint->handle({PointerPhase::Press, {5, 10, 1}, SliceAxis::Axial});
    paint->handle({PointerPhase::Drag, {15, 10, 1}, SliceAxis::Axial});
    paint->handle({PointerPhase::Release, {20, 10, 1}, SliceAxis::Axial});
    EXPECT_EQ(mismatches(e.labels,
                         [](int x, int y, int z) {
                             const bool line =
                                 z == 1 && ((y == 10 && x >= 4 && x <= 21) ||
                                            (std::abs(y - 10) == 1 && x >= 5 && x <= 20));
                             return Label(line ? 1 : 0);
                         }),
              0u);
    auto record = paint->takeUndoRecord();
    ASSERT_TRUE(record.has_value()); // one record for the whole drag
    EXPECT_FALSE(paint->takeUndoRecord().has_value());
}

TEST(AnnotationPaint, LockedSegmentsAreNotOverwrittenNorEditable) {
    Editor e(grid({11, 11, 3}));
    fillBox(e.labels, {0, 0, 1}, {4, 10, 1}, 2); // left half belongs to segment 2
    e.segments.setLocked(2, true);
    auto paint = e.tool("paint", 1);
    paint->settings().set("radius_mm", 3);
    click(*paint, {5, 5, 1});
    EXPECT_EQ(mismatches(e.labels,
                         [](int x, int y, int z) {
                             if (z != 1)
                                 return Label(0);
                             if (x <= 4)
                                 return Label(2);
                             const int dx = x - 5, dy = y - 5;
                             return Label(dx * dx + dy * dy <= 9 ? 1 : 0);
                         }),
              0u);
    auto eraseLocked = e.tool("erase", 2);
    EXPECT_THROW(eraseLocked->handle({PointerPhase::Press, {2, 5, 1}, SliceAxis::Axial}),
                 ToolError);
    EXPECT_EQ(e.labels.at(Index3{2, 5, 1}), 2);
}

TEST(AnnotationPaint, EraseRemovesOnlyTheActiveSegment) {
    Editor e(grid({11, 11, 3}));
    fillBox(e.labels, {0, 0, 1}, {10, 10, 1}, 1);
    fillBox(e.labels, {5, 0, 1}, {10, 10, 1}, 2);
    auto erase = e.tool("erase", 1);
    erase->settings().set("radius_mm", 2);
    click(*erase, {5, 5, 1});
    EXPECT_EQ(mismatches(e.labels,
                         [](int x, int y, int z) {
                             if (z != 1)
                                 return Label(0);
                             if (x >= 5)
                                 return Label(2);
                             const int dx = x - 5, dy = y - 5;
                             return Label(dx * dx + dy * dy <= 4 ? 0 : 1);
                         }),
              0u);
}

TEST(AnnotationPaint, ThresholdPaintKeepsToTheIntensityRange) {
    const auto g = grid({21, 21, 3});
    const auto img = image(g, [](int x, int, int) { return x * 10; });
    Editor e(g);
    auto paint = e.tool("threshold-paint", 1, &img);
    paint->settings().set("radius_mm", 4);
    paint->settings().set("lower", 80);
    paint->settings().set("upper", 110);
    click(*paint, {10, 10, 1});
    EXPECT_EQ(mismatches(e.labels,
                         [](int x, int y, int z) {
                             const int dx = x - 10, dy = y - 10;
                             return Label(
                                 z == 1 && dx * dx + dy * dy <= 16 && x >= 8 && x <= 11 ? 1 : 0);
                         }),
              0u);
    Editor noImage(g);
    EXPECT_THROW(noImage.tool("threshold-paint"), ToolError);
}

TEST(AnnotationRegionGrow, FillsTheConnectedRegionInRangeAndRetunes) {
    const auto g = grid({20, 20, 20});
    // Two bright cubes touching only along an edge (not 6-connected), and a dim shell.
    const auto img = image(g, [](int x, int y, int z) {
        if (inBox(x, y, z, {2, 2, 2}, {6, 6, 6}))
            return 100;
        if (inBox(x, y, z, {7, 7, 2}, {9, 9, 6}))
            return 100;
        if (inBox(x, y, z, {1, 1, 1}, {7, 7, 7}))
            return 60;
        return 0;
    });
    Editor e(g);
    auto grow = e.tool("region-grow", 2, &img);
    grow->settings().set("lower", 90);
    grow->settings().set("upper", 150);
    click(*grow, {4, 4, 4});
    EXPECT_EQ(mismatches(e.labels,
                         [](int x, int y, int z) {
                             return Label(inBox(x, y, z, {2, 2, 2}, {6, 6, 6}) ? 2 : 0);
                         }),
              0u);
    // Widening the range regrows from the same seed: the shell joins, and through it the
    // second cube, since the shell touches its faces.
    grow->settings().set("lower", 50);
    EXPECT_EQ(mismatches(e.labels,
                         [](int x, int y, int z) {
                             return Label(inBox(x, y, z, {1, 1, 1}, {7, 7, 7}) ||
                                                  inBox(x, y, z, {7, 7, 2}, {9, 9, 6})
                                              ? 2
                                              : 0);
                         }),
              0u);
    // Out of range at the seed: nothing, and no undo record.
    grow->settings().set("lower", 120);
    EXPECT_TRUE(e.labels.voxelCounts().empty());
    EXPECT_FALSE(grow->takeUndoRecord().has_value());
}

TEST(AnnotationFillBetweenSlices, IdenticalSlicesFillWithTheSameShape) {
    Editor e(grid({15, 15, 9}));
    fillBox(e.labels, {4, 4, 2}, {8, 8, 2}, 1);
    fillBox(e.labels, {4, 4, 6}, {8, 8, 6}, 1);
    auto fill = e.tool("fill-between-slices");
    EXPECT_TRUE(fill->apply());
    EXPECT_EQ(mismatches(e.labels,
                         [](int x, int y, int z) {
                             return Label(inBox(x, y, z, {4, 4, 2}, {8, 8, 6}) ? 1 : 0);
                         }),
              0u);
}

TEST(AnnotationFillBetweenSlices, GrowingSquareInterpolatesHalfwayAndSparesOtherSegments) {
    Editor e(grid({15, 15, 9}));
    fillBox(e.labels, {4, 4, 2}, {8, 8, 2}, 1);   // 5x5
    fillBox(e.labels, {2, 2, 6}, {10, 10, 6}, 1); // 9x9
    e.labels.set(Index3{6, 6, 4}, 2);             // another segment inside the gap
    auto fill = e.tool("fill-between-slices");
    fill->apply();
    EXPECT_EQ(mismatches(e.labels,
                         [&](int x, int y, int z) {
                             if (x == 6 && y == 6 && z == 4)
                                 return Label(2);
                             if (z == 2)
                                 return Label(inBox(x, y, z, {4, 4, 2}, {8, 8, 2}) ? 1 : 0);
                             if (z == 4)
                                 return Label(inBox(x, y, z, {3, 3, 4}, {9, 9, 4}) ? 1 : 0);
                             if (z == 6)
                                 return Label(inBox(x, y, z, {2, 2, 6}, {10, 10, 6}) ? 1 : 0);
                             return e.labels.at(Index3{x, y, z}); // z = 3, 5 checked below
                         }),
              0u);
    // Slices a quarter of the way are between the two squares in size.
    const auto count = [&](int z) {
        std::size_t n = 0;
        for (int y = 0; y < 15; ++y)
            for (int x = 0; x < 15; ++x)
                n += e.labels.at(Index3{x, y, z}) == 1;
        return n;
    };
    EXPECT_GE(count(3), 25u);
    EXPECT_LE(count(3), 49u);
    EXPECT_GE(count(5), 48u); // 49 minus the other segment's voxel never applies here
    EXPECT_LE(count(5), 81u);
    EXPECT_EQ(count(0) + count(1) + count(7) + count(8), 0u);
}

TEST(AnnotationIslands, RemoveSmallAndKeepLargest) {
    Editor e(grid({12, 12, 12}));
    fillBox(e.labels, {2, 2, 2}, {4, 4, 4}, 1);  // 27 voxels
    e.labels.set(Index3{9, 9, 9}, 1);            // 1 voxel
    fillBox(e.labels, {9, 2, 2}, {10, 2, 2}, 1); // 2 voxels
    e.labels.set(Index3{5, 5, 5}, 1);            // touches the cube only at a corner: separate
    auto islands = e.tool("remove-islands");
    islands->settings().set("minimum_voxels", 2);
    islands->apply();
    EXPECT_EQ(e.labels.voxelCounts().at(1), 29u);
    auto largest = e.tool("keep-largest");
    largest->apply();
    EXPECT_EQ(mismatches(e.labels,
                         [](int x, int y, int z) {
                             return Label(inBox(x, y, z, {2, 2, 2}, {4, 4, 4}) ? 1 : 0);
                         }),
              0u);
}

namespace {
// In a 5^3 cube at 3..7, voxels on at most one face: the cube without its edges and corners.
bool cubeWithoutEdges(int x, int y, int z) {
    if (!inBox(x, y, z, {3, 3, 3}, {7, 7, 7}))
        return false;
    const int onFaces = (x == 3 || x == 7) + (y == 3 || y == 7) + (z == 3 || z == 7);
    return onFaces <= 1;
}
} // namespace

TEST(AnnotationSmoothing, OpeningRemovesSpursAndCubeEdges) {
    Editor e(grid({11, 11, 11}));
    fillBox(e.labels, {3, 3, 3}, {7, 7, 7}, 1);
    e.labels.set(Index3{8, 3, 3}, 1); // a one-voxel spur off a corner
    auto open = e.tool("smooth-opening");
    open->settings().set("radius_mm", 1);
    open->apply();
    EXPECT_EQ(
        mismatches(e.labels, [](int x, int y, int z) { return Label(cubeWithoutEdges(x, y, z)); }),
        0u);
}

TEST(AnnotationSmoothing, ClosingFillsAHoleAndKeepsTheCube) {
    Editor e(grid({11, 11, 11}));
    fillBox(e.labels, {3, 3, 3}, {7, 7, 7}, 1);
    e.labels.set(Index3{5, 5, 5}, 0);
    auto close = e.tool("smooth-closing");
    close->settings().set("radius_mm", 1);
    close->apply();
    EXPECT_EQ(mismatches(e.labels,
                         [](int x, int y, int z) {
                             return Label(inBox(x, y, z, {3, 3, 3}, {7, 7, 7}));
                         }),
              0u);
}

TEST(AnnotationSmoothing, MedianRemovesIsolatedVoxelsAndCorners) {
    Editor e(grid({16, 16, 16}));
    fillBox(e.labels, {3, 3, 3}, {7, 7, 7}, 1);
    e.labels.set(Index3{12, 12, 12}, 1);
    auto median = e.tool("smooth-median");
    median->settings().set("radius_mm", 1);
    median->apply();
    EXPECT_EQ(
        mismatches(e.labels, [](int x, int y, int z) { return Label(cubeWithoutEdges(x, y, z)); }),
        0u);
}

TEST(AnnotationHollow, KeepsAOneVoxelShell) {
    Editor e(grid({11, 11, 11}));
    fillBox(e.labels, {3, 3, 3}, {7, 7, 7}, 1);
    auto hollow = e.tool("hollow");
    hollow->settings().set("thickness_mm", 1);
    hollow->apply();
    EXPECT_EQ(mismatches(e.labels,
                         [](int x, int y, int z) {
                             return Label(inBox(x, y, z, {3, 3, 3}, {7, 7, 7}) &&
                                          !inBox(x, y, z, {4, 4, 4}, {6, 6, 6}));
                         }),
              0u);
    EXPECT_EQ(e.labels.voxelCounts().at(1), 98u);
}

TEST(AnnotationMargin, GrowsAndShrinksInMillimetres) {
    Editor e(grid({11, 11, 11}, {1, 1, 3}));
    e.labels.set(Index3{5, 5, 5}, 1);
    auto margin = e.tool("margin");
    margin->settings().set("distance_mm", 1.5);
    margin->apply();
    // 1.5 mm reaches the 8 in-plane neighbours within sqrt(2) but not the 3 mm slices.
    EXPECT_EQ(mismatches(e.labels,
                         [](int x, int y, int z) {
                             return Label(z == 5 && std::abs(x - 5) <= 1 && std::abs(y - 5) <= 1);
                         }),
              0u);

    Editor cube(grid({11, 11, 11}));
    fillBox(cube.labels, {3, 3, 3}, {7, 7, 7}, 1);
    auto shrink = cube.tool("margin");
    shrink->settings().set("distance_mm", -1);
    shrink->apply();
    EXPECT_EQ(mismatches(cube.labels,
                         [](int x, int y, int z) {
                             return Label(inBox(x, y, z, {4, 4, 4}, {6, 6, 6}));
                         }),
              0u);
}

TEST(AnnotationTools, ReadOnlyLabelMapsRefuseEdits) {
    Editor e(grid({5, 5, 5}));
    e.labels.setReadOnly(true);
    auto paint = e.tool("paint");
    EXPECT_THROW(paint->handle({PointerPhase::Press, {2, 2, 2}, SliceAxis::Axial}),
                 ReadOnlyAnnotation);
    EXPECT_TRUE(e.labels.voxelCounts().empty());
}
