// Segment surfaces for the 3D view, without a display: bounding boxes found in one pass (also
// where runs cross the eight-byte steps and on 16-bit label maps), closed surfaces where the
// voxels are (thin sheets and single voxels kept), and re-meshing only what changed.
#include "viewer/SegmentSurfaces.h"

#include <gtest/gtest.h>

#include <vtkPolyData.h>

using namespace radmark;
using annotation::Label;
using annotation::LabelMap;

namespace {

imaging::Geometry smallGrid() {
    imaging::Geometry g;
    g.dims = {37, 23, 9}; // rows not a multiple of eight
    g.spacing = {0.5, 0.75, 2.0};
    return g;
}

void fillBox(LabelMap& labels, Label label, imaging::Index3 min, imaging::Index3 max) {
    for (int z = min[2]; z <= max[2]; ++z)
        for (int y = min[1]; y <= max[1]; ++y)
            for (int x = min[0]; x <= max[0]; ++x)
                labels.set({x, y, z}, label);
}

void expectSameBounds(const LabelMap& labels, std::initializer_list<Label> present) {
    const auto bounds = viewer::segmentBounds(labels);
    EXPECT_EQ(bounds.size(), present.size());
    for (Label label : present) {
        const auto expected = labels.boundsOf(label);
        ASSERT_TRUE(bounds.count(label)) << "label " << label;
        EXPECT_EQ(bounds.at(label).min, expected.min) << "label " << label;
        EXPECT_EQ(bounds.at(label).max, expected.max) << "label " << label;
    }
}

TEST(SegmentSurfaces, BoundsOfEveryLabelInOnePass) {
    LabelMap labels(smallGrid());
    EXPECT_TRUE(viewer::segmentBounds(labels).empty());
    fillBox(labels, 1, {0, 0, 0}, {0, 0, 0});     // first voxel
    fillBox(labels, 2, {36, 22, 8}, {36, 22, 8}); // last voxel, in a row's short tail
    fillBox(labels, 3, {5, 3, 2}, {20, 10, 6});   // a run across several eight-byte steps
    labels.set({7, 4, 3}, 1);                     // inside label 3's run
    expectSameBounds(labels, {1, 2, 3});

    labels.widenToUInt16();
    fillBox(labels, 300, {30, 1, 4}, {33, 2, 4});
    expectSameBounds(labels, {1, 2, 3, 300});
}

TEST(SegmentSurfaces, ClosedSurfaceAroundTheVoxelsInMillimetres) {
    LabelMap labels(smallGrid());
    fillBox(labels, 1, {10, 5, 2}, {19, 14, 5});
    for (double smoothing : {0.0, 0.5}) {
        auto surface = viewer::extractSegmentSurface(labels, 1, labels.boundsOf(1), smoothing);
        ASSERT_TRUE(surface);
        EXPECT_GT(surface->GetNumberOfPolys(), 100);
        double b[6];
        surface->GetBounds(b);
        const auto& s = labels.geometry().spacing;
        // Voxel centres 10..19 (x), 5..14 (y), 2..5 (z): the surface lies within a voxel of them.
        EXPECT_NEAR(b[0], 9.5 * s[0], s[0]);
        EXPECT_NEAR(b[1], 19.5 * s[0], s[0]);
        EXPECT_NEAR(b[2], 4.5 * s[1], s[1]);
        EXPECT_NEAR(b[3], 14.5 * s[1], s[1]);
        EXPECT_NEAR(b[4], 1.5 * s[2], s[2]);
        EXPECT_NEAR(b[5], 5.5 * s[2], s[2]);
    }
}

TEST(SegmentSurfaces, SmoothingKeepsOneVoxelSheetsAndSingleVoxels) {
    LabelMap labels(smallGrid());
    fillBox(labels, 1, {5, 5, 4}, {25, 15, 4}); // one slice thick, as painted in one view
    labels.set({30, 20, 7}, 2);                 // one voxel
    for (Label label : {Label(1), Label(2)}) {
        auto surface = viewer::extractSegmentSurface(labels, label, labels.boundsOf(label), 0.5);
        ASSERT_TRUE(surface);
        EXPECT_GT(surface->GetNumberOfPolys(), 0) << "label " << label << " vanished";
    }
}

TEST(SegmentSurfaces, ReMeshesOnlyWhatChanged) {
    LabelMap labels(smallGrid());
    fillBox(labels, 1, {2, 2, 1}, {8, 8, 3});
    fillBox(labels, 2, {20, 2, 1}, {26, 8, 3});
    viewer::SegmentSurfaces surfaces;
    EXPECT_EQ(surfaces.update(labels, {1, 2}), (std::vector<Label>{1, 2}));
    EXPECT_TRUE(surfaces.update(labels, {1, 2}).empty());

    labels.set({5, 5, 2}, 0); // a hole inside label 1: same box, other voxels
    EXPECT_EQ(surfaces.update(labels, {1, 2}), (std::vector<Label>{1}));

    vtkPolyData* hidden = surfaces.surfaceOf(2);
    fillBox(labels, 2, {20, 2, 1}, {26, 8, 3});
    labels.set({21, 3, 2}, 0);
    EXPECT_TRUE(surfaces.update(labels, {1}).empty()) << "a segment not wanted was re-meshed";
    EXPECT_EQ(surfaces.surfaceOf(2), hidden) << "a hidden segment keeps its surface";

    fillBox(labels, 1, {2, 2, 1}, {8, 8, 3});
    fillBox(labels, 0, {2, 2, 1}, {8, 8, 3}); // erased completely
    EXPECT_EQ(surfaces.update(labels, {1}), (std::vector<Label>{1}));
    EXPECT_EQ(surfaces.surfaceOf(1), nullptr);
}

} // namespace
