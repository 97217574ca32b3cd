#include "imaging/Volume.h"

#include <gtest/gtest.h>

using namespace radmark::imaging;

TEST(Volume, IndexToLpsFollowsDirectionAndSpacing) {
    Geometry g;
    g.dims = {4, 5, 6};
    g.spacing = {0.5, 2.0, 3.0};
    g.origin = {10, 20, 30};
    // x axis points to -L (i.e. patient right), y to +P, z to +S
    g.direction = {-1, 0, 0, 0, 1, 0, 0, 0, 1};
    Vec3 p = g.indexToLps({2, 1, 1});
    EXPECT_DOUBLE_EQ(p[0], 9.0);
    EXPECT_DOUBLE_EQ(p[1], 22.0);
    EXPECT_DOUBLE_EQ(p[2], 33.0);
    Vec3 back = g.lpsToIndex(p);
    EXPECT_NEAR(back[0], 2, 1e-12);
    EXPECT_NEAR(back[1], 1, 1e-12);
    EXPECT_NEAR(back[2], 1, 1e-12);
}

TEST(Volume, ScalarRangeAndValues) {
    Geometry g;
    g.dims = {3, 2, 2};
    Volume v(g, PixelType::Int16);
    v.as<std::int16_t>()[v.offset(2, 1, 1)] = -1000;
    v.as<std::int16_t>()[v.offset(0, 1, 0)] = 3071;
    EXPECT_EQ(v.valueAt(2, 1, 1), -1000);
    auto [lo, hi] = v.scalarRange();
    EXPECT_EQ(lo, -1000);
    EXPECT_EQ(hi, 3071);
    EXPECT_EQ(v.byteCount(), 24u);
}

TEST(Volume, RejectsEmptyDimensions) {
    Geometry g;
    g.dims = {0, 2, 2};
    EXPECT_THROW(Volume(g, PixelType::UInt8), std::invalid_argument);
}
