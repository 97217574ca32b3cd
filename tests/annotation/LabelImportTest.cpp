#include "annotation/LabelImport.h"
#include "AnnotationTestSupport.h"

#include <gtest/gtest.h>

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
