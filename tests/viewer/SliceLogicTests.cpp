// Plain viewer logic: patient axes of a grid, slice layouts, the shared crosshair, window/level.
#include "SyntheticVolumes.h"

#include "viewer/SliceCursor.h"
#include "viewer/SlicePlanes.h"
#include "viewer/VolumeRenderingPreset.h"
#include "viewer/WindowLevel.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace radmark;
using namespace radmark::viewer;

namespace {
imaging::Geometry grid(imaging::Index3 dims, std::array<double, 9> direction) {
    imaging::Geometry g;
    g.dims = dims;
    g.direction = direction;
    return g;
}
} // namespace

TEST(AnatomicalAxes, IdentityGridRunsAlongLps) {
    const auto axes = AnatomicalAxes::of(grid({10, 20, 30}, {1, 0, 0, 0, 1, 0, 0, 0, 1}));
    EXPECT_EQ(axes.indexAxis, (std::array<int, 3>{0, 1, 2}));
    EXPECT_EQ(axes.sign, (std::array<int, 3>{1, 1, 1}));
}

TEST(AnatomicalAxes, RasGridHasNegativeLeftAndPosterior) {
    const auto axes = AnatomicalAxes::of(grid({10, 20, 30}, {-1, 0, 0, 0, -1, 0, 0, 0, 1}));
    EXPECT_EQ(axes.indexAxis, (std::array<int, 3>{0, 1, 2}));
    EXPECT_EQ(axes.sign, (std::array<int, 3>{-1, -1, 1}));
}

TEST(AnatomicalAxes, SagittalAcquisitionIsPermuted) {
    // Columns: x runs posterior, y runs inferior, z (slices) runs left.
    const auto axes = AnatomicalAxes::of(grid({10, 20, 30}, {0, 0, 1, 1, 0, 0, 0, -1, 0}));
    EXPECT_EQ(axes.indexAxis, (std::array<int, 3>{2, 0, 1}));
    EXPECT_EQ(axes.sign, (std::array<int, 3>{1, 1, -1}));
    const PlaneLayout sagittal = layoutOf(ViewPlane::Sagittal, axes);
    EXPECT_EQ(sagittal.normalAxis, 2);
    EXPECT_EQ(sagittal.rightAxis, 0);
    EXPECT_EQ(sagittal.upAxis, 1);
    const PlaneLayout axial = layoutOf(ViewPlane::Axial, axes);
    EXPECT_EQ(axial.normalAxis, 1);
    EXPECT_EQ(axial.stepSign, -1); // toward S is toward smaller y here
}

TEST(AnatomicalAxes, ObliqueGridSnapsToNearestAxes) {
    const double a = 20 * M_PI / 180, c = std::cos(a), s = std::sin(a);
    // Rotated 20 degrees about S.
    const auto axes = AnatomicalAxes::of(grid({10, 10, 10}, {c, -s, 0, s, c, 0, 0, 0, 1}));
    EXPECT_EQ(axes.indexAxis, (std::array<int, 3>{0, 1, 2}));
    EXPECT_EQ(axes.sign, (std::array<int, 3>{1, 1, 1}));
    const auto snapped = axes.snappedDirection();
    EXPECT_EQ(snapped, (std::array<double, 9>{1, 0, 0, 0, 1, 0, 0, 0, 1}));
}

TEST(PlaneLayout, RadiologicalConventionLetters) {
    const AnatomicalAxes axes;
    const PlaneLayout axial = layoutOf(ViewPlane::Axial, axes);
    EXPECT_EQ(std::string({axial.left, axial.right, axial.top, axial.bottom}), "RLAP");
    const PlaneLayout coronal = layoutOf(ViewPlane::Coronal, axes);
    EXPECT_EQ(std::string({coronal.left, coronal.right, coronal.top, coronal.bottom}), "RLSI");
    const PlaneLayout sagittal = layoutOf(ViewPlane::Sagittal, axes);
    EXPECT_EQ(std::string({sagittal.left, sagittal.right, sagittal.top, sagittal.bottom}), "APSI");
    EXPECT_EQ(axial.normalAxis, 2);
    EXPECT_EQ(coronal.normalAxis, 1);
    EXPECT_EQ(sagittal.normalAxis, 0);
    // The camera's right = into x up must hold, or left and right would swap on screen.
    for (const PlaneLayout& l : {axial, coronal, sagittal}) {
        const auto& f = l.intoScreen;
        const auto& u = l.screenUp;
        const imaging::Vec3 cross{f[1] * u[2] - f[2] * u[1], f[2] * u[0] - f[0] * u[2],
                                  f[0] * u[1] - f[1] * u[0]};
        EXPECT_EQ(cross, l.screenRight);
    }
}

TEST(SliceCursor, StartsAtCentreAndClickKeepsTheSlice) {
    SliceCursor cursor(grid({11, 21, 31}, {1, 0, 0, 0, 1, 0, 0, 0, 1}));
    EXPECT_EQ(cursor.voxel(), (imaging::Index3{5, 10, 15}));
    EXPECT_TRUE(cursor.moveInPlane(ViewPlane::Axial, {2, 3, 29}));
    EXPECT_EQ(cursor.voxel(), (imaging::Index3{2, 3, 15})); // the axial slice stayed
    EXPECT_EQ(cursor.slice(ViewPlane::Coronal), 3);
    EXPECT_EQ(cursor.slice(ViewPlane::Sagittal), 2);
}

TEST(SliceCursor, StepsClampAtTheEnds) {
    SliceCursor cursor(grid({11, 21, 31}, {1, 0, 0, 0, 1, 0, 0, 0, 1}));
    EXPECT_TRUE(cursor.step(ViewPlane::Axial, 3));
    EXPECT_EQ(cursor.slice(ViewPlane::Axial), 18);
    EXPECT_TRUE(cursor.step(ViewPlane::Axial, 100));
    EXPECT_EQ(cursor.slice(ViewPlane::Axial), 30);
    EXPECT_FALSE(cursor.step(ViewPlane::Axial, 1));
    EXPECT_TRUE(cursor.setSlice(ViewPlane::Axial, 0));
    EXPECT_FALSE(cursor.step(ViewPlane::Axial, -1));
    EXPECT_EQ(cursor.sliceCount(ViewPlane::Axial), 31);
}

TEST(SliceCursor, PositiveStepsMoveTowardSuperiorAnteriorLeft) {
    // RAS-stored grid: index x grows toward R, y toward A.
    SliceCursor cursor(grid({11, 11, 11}, {-1, 0, 0, 0, -1, 0, 0, 0, 1}));
    const imaging::Vec3 before = cursor.lps();
    cursor.step(ViewPlane::Axial, 1);
    cursor.step(ViewPlane::Coronal, 1);
    cursor.step(ViewPlane::Sagittal, 1);
    const imaging::Vec3 after = cursor.lps();
    EXPECT_GT(after[2], before[2]); // superior
    EXPECT_LT(after[1], before[1]); // anterior (P negative)
    EXPECT_GT(after[0], before[0]); // left
}

TEST(WindowLevel, CtPresetsAreTheClinicalOnes) {
    const auto& presets = ctWindowPresets();
    ASSERT_EQ(presets.size(), 5u);
    EXPECT_EQ(presets[0].name, "Brain");
    EXPECT_DOUBLE_EQ(presets[0].value.window, 80);
    EXPECT_DOUBLE_EQ(presets[0].value.level, 40);
    EXPECT_EQ(presets[1].name, "Lung");
    EXPECT_DOUBLE_EQ(presets[1].value.level, -600);
    EXPECT_EQ(presets[2].name, "Bone");
    EXPECT_EQ(presets[3].name, "Abdomen");
    EXPECT_EQ(presets[4].name, "Mediastinum");
}

TEST(WindowLevel, DragWidensAndShifts) {
    const WindowLevel start{400, 40};
    const WindowLevel moved = start.dragged(100, -50, 2);
    EXPECT_DOUBLE_EQ(moved.window, 600);
    EXPECT_DOUBLE_EQ(moved.level, -60);
    EXPECT_GT(start.dragged(-10000, 0, 2).window, 0); // never zero or negative
}

TEST(WindowLevel, MrDefaultComesFromPercentiles) {
    imaging::Geometry g;
    g.dims = {100, 10, 10};
    imaging::Volume mr(g, imaging::PixelType::UInt16);
    mr.modality = "MR";
    for (std::size_t i = 0; i < mr.voxelCount(); ++i)
        mr.as<std::uint16_t>()[i] = std::uint16_t(i % 1000);
    EXPECT_NEAR(intensityPercentile(mr, 0.5), 500, 2);
    const WindowLevel wl = defaultWindowLevel(mr);
    EXPECT_NEAR(wl.low(), 5, 2);
    EXPECT_NEAR(wl.high(), 994, 2);
}

TEST(WindowLevel, CtDefaultIsSoftTissue) {
    auto ct = radmark::testing::makeSyntheticCt({16, 16, 16}, {1, 1, 1});
    const WindowLevel wl = defaultWindowLevel(ct.volume);
    EXPECT_DOUBLE_EQ(wl.window, 400);
    EXPECT_DOUBLE_EQ(wl.level, 50);
}

TEST(VolumeRenderingPreset, ThreePresetsWithIncreasingValues) {
    const auto& presets = volumeRenderingPresets();
    ASSERT_EQ(presets.size(), 3u);
    EXPECT_NE(findVolumeRenderingPreset("CT bone"), nullptr);
    EXPECT_NE(findVolumeRenderingPreset("CT soft tissue"), nullptr);
    EXPECT_NE(findVolumeRenderingPreset("MR"), nullptr);
    EXPECT_EQ(findVolumeRenderingPreset("nonsense"), nullptr);
    for (const auto& preset : presets)
        for (std::size_t i = 1; i < preset.opacity.size(); ++i)
            EXPECT_LT(preset.opacity[i - 1].value, preset.opacity[i].value) << preset.name;
}
