#include "annotation/LabelImport.h"
#include "AnnotationTestSupport.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace radmark::annotation;
using namespace radmark::annotation::test;

TEST(AnnotationImport, MaskOnTheStudyGridBecomesALabelMap) {
    const auto g = grid({8, 8, 4}, {0.8, 0.8, 2});
    const auto mask = image(g, [](int x, int, int z) { return x < 2 ? 0 : (z == 3 ? 300 : 2); });
    const LabelMap labels = labelMapFromVolume(mask, g);
    EXPECT_EQ(labels.width(), LabelWidth::UInt16);
    EXPECT_EQ(labels.at(Index3{1, 0, 0}), 0);
    EXPECT_EQ(labels.at(Index3{5, 5, 1}), 2);
    EXPECT_EQ(labels.at(Index3{5, 5, 3}), 300);
    EXPECT_EQ(labels.voxelCounts().at(2), 6u * 8 * 3);
}

TEST(AnnotationImport, WrongGridOrValuesAreRefusedWithAReason) {
    const auto g = grid({8, 8, 4});
    EXPECT_THROW(labelMapFromVolume(image(grid({8, 8, 5}), [](int, int, int) { return 0; }), g),
                 ImportError);
    auto shifted = grid({8, 8, 4});
    shifted.origin = {0, 0, 10};
    EXPECT_THROW(labelMapFromVolume(image(shifted, [](int, int, int) { return 1; }), g),
                 ImportError);
    EXPECT_THROW(labelMapFromVolume(image(g, [](int x, int, int) { return x - 3; }), g),
                 ImportError);
    try {
        labelMapFromVolume(image(grid({8, 8, 5}), [](int, int, int) { return 0; }), g);
    } catch (const ImportError& e) {
        EXPECT_STREQ(e.what(), "The mask is 8x8x5 voxels but the study is 8x8x4.");
    }
}

TEST(AnnotationImport, SegmentDefinitionsByCodeNameAndDefaults) {
    const std::map<Label, std::uint64_t> present{{1, 10}, {2, 5}, {7, 1}};
    const SegmentList s = segmentsForImport(
        R"([{"label": 1, "code": "10200004"}, {"label": 2, "name": "Tumour", "colour": "#102030"}])",
        present);
    ASSERT_EQ(s.size(), 3u);
    EXPECT_EQ(s.get(1).name, "Liver");
    EXPECT_EQ(s.get(1).type->code, "10200004");
    EXPECT_EQ(s.get(2).name, "Tumour");
    EXPECT_EQ(s.get(2).colour, (Rgb{0x10, 0x20, 0x30}));
    EXPECT_EQ(s.get(7).name, "Segment 7");
    EXPECT_THROW(segmentsForImport("{", present), ImportError);
    EXPECT_THROW(segmentsForImport(R"([{"label": 1, "code": "999"}])", present), ImportError);
    EXPECT_THROW(segmentsForImport(R"([{"label": 0}])", present), ImportError);
    EXPECT_THROW(segmentsForImport(R"([{"label": 1}, {"label": 1}])", present), ImportError);
}

namespace {

// The study grid of these tests: odd sizes, anisotropic voxels, an origin off zero.
radmark::imaging::Geometry studyGrid() {
    auto g = grid({7, 5, 3}, {0.7, 0.9, 2.5});
    g.origin = {-120.5, 33.25, 410};
    return g;
}

// The same voxels with the rows (index y) running the other way, as dcm2niix writes them.
radmark::imaging::Geometry rowsFlipped(const radmark::imaging::Geometry& g) {
    auto flipped = g;
    for (int r = 0; r < 3; ++r)
        flipped.direction[r * 3 + 1] = -g.direction[r * 3 + 1];
    flipped.origin = g.indexToLps({0, double(g.dims[1] - 1), 0});
    return flipped;
}

// Labels voxel (x, y, z) of the study with a value no other voxel has.
Label fingerprint(int x, int y, int z) {
    return Label(1 + x + 7 * y + 35 * z);
}

} // namespace

TEST(AnnotationImport, MaskWithFlippedRowsLandsOnTheSameVoxels) {
    const auto study = studyGrid();
    const auto flipped = rowsFlipped(study);
    // Mask voxel (x, y, z) is study voxel (x, 4 - y, z).
    const auto mask = image(flipped, [](int x, int y, int z) { return fingerprint(x, 4 - y, z); });
    const LabelMap labels = labelMapFromVolume(mask, study);
    EXPECT_EQ(mismatches(labels, fingerprint), 0u);
}

TEST(AnnotationImport, MaskWithPermutedAndReversedAxesLandsOnTheSameVoxels) {
    const auto study = studyGrid();
    // Mask index (a, b, c) = study (z reversed, x, y): axes permuted and one reversed.
    radmark::imaging::Geometry permuted;
    permuted.dims = {3, 7, 5};
    permuted.spacing = {2.5, 0.7, 0.9};
    const auto column = [&](int studyAxis, int sign) {
        return std::array<double, 3>{sign * study.direction[0 * 3 + studyAxis],
                                     sign * study.direction[1 * 3 + studyAxis],
                                     sign * study.direction[2 * 3 + studyAxis]};
    };
    const std::array<std::array<double, 3>, 3> columns{column(2, -1), column(0, 1), column(1, 1)};
    for (int j = 0; j < 3; ++j)
        for (int r = 0; r < 3; ++r)
            permuted.direction[r * 3 + j] = columns[j][r];
    permuted.origin = study.indexToLps({0, 0, 2});
    const auto mask = image(permuted, [](int a, int b, int c) { return fingerprint(b, c, 2 - a); });
    const LabelMap labels = labelMapFromVolume(mask, study);
    EXPECT_EQ(mismatches(labels, fingerprint), 0u);
}

TEST(AnnotationImport, TrulyDifferentGridsAreRefusedWithTheDifferenceNamed) {
    const auto study = studyGrid();
    const auto refusal = [&](const radmark::imaging::Geometry& g) {
        try {
            labelMapFromVolume(image(g, [](int, int, int) { return 1; }), study);
        } catch (const ImportError& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    auto halfVoxel = study;
    halfVoxel.origin[0] += 0.35;
    EXPECT_NE(refusal(halfVoxel).find("lie between the study's"), std::string::npos)
        << refusal(halfVoxel);
    auto spacing = study;
    spacing.spacing[2] = 3.0;
    EXPECT_NE(refusal(spacing).find("0.7 x 0.9 x 3 mm"), std::string::npos) << refusal(spacing);
    auto oblique = study;
    const double c = std::cos(0.2), sn = std::sin(0.2);
    oblique.direction = {c, -sn, 0, sn, c, 0, 0, 0, 1};
    EXPECT_NE(refusal(oblique).find("another orientation"), std::string::npos) << refusal(oblique);
    auto shifted = rowsFlipped(study);
    shifted.origin[2] += 2.5; // one whole slice along z
    EXPECT_NE(refusal(shifted).find("shifted by"), std::string::npos) << refusal(shifted);
    // Within the tolerance: a float32 rounding of the origin is the same grid.
    auto rounded = rowsFlipped(study);
    rounded.origin[1] += 1e-4;
    EXPECT_EQ(refusal(rounded), "accepted");
}
