// Our region grow against ITK's ConnectedThresholdImageFilter (6-connected, inclusive range):
// the same voxels on noisy generated volumes, for several seeds and ranges. Ours writes only the
// grown voxels through a Stroke; ITK allocates a whole-volume output, which a 512x512x500 CT
// cannot afford per retune. ITK is used here only, in this one translation unit.

#include "AnnotationTestSupport.h"

#include <itkConnectedThresholdImageFilter.h>
#include <itkImage.h>
#include <itkImportImageFilter.h>

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace radmark;
using namespace radmark::annotation;
using namespace radmark::annotation::test;

namespace {

using ItkImage = itk::Image<std::int16_t, 3>;
using ItkMask = itk::Image<std::uint8_t, 3>;

// Smooth blobs of different brightness plus noise: ragged, branching regions at every range.
imaging::Volume noisyBlobs(const imaging::Geometry& g, unsigned seed) {
    std::mt19937 random(seed);
    std::uniform_real_distribution<double> position(0, 1);
    std::normal_distribution<double> noise(0, 25);
    struct Blob {
        double x, y, z, radius, value;
    };
    std::vector<Blob> blobs;
    for (int i = 0; i < 12; ++i)
        blobs.push_back({position(random) * g.dims[0], position(random) * g.dims[1],
                         position(random) * g.dims[2], 3 + position(random) * 8,
                         50 + position(random) * 200});
    std::vector<double> noiseField(g.voxelCount());
    for (double& n : noiseField)
        n = noise(random);
    std::size_t i = 0;
    return image(g, [&](int x, int y, int z) {
        double value = 0;
        for (const Blob& b : blobs) {
            const double d = std::hypot(x - b.x, y - b.y, z - b.z);
            value += b.value * std::exp(-(d * d) / (2 * b.radius * b.radius));
        }
        return int(value + noiseField[i++]);
    });
}

// ITK's answer: the image wrapped without a copy, grown from `seed` within [lower, upper].
std::vector<std::uint8_t> itkConnectedThreshold(const imaging::Volume& volume, Index3 seed,
                                                int lower, int upper) {
    const auto& dims = volume.geometry().dims;
    auto import = itk::ImportImageFilter<std::int16_t, 3>::New();
    ItkImage::SizeType size;
    for (int a = 0; a < 3; ++a)
        size[a] = itk::SizeValueType(dims[a]);
    ItkImage::RegionType region;
    region.SetSize(size);
    import->SetRegion(region);
    import->SetImportPointer(const_cast<std::int16_t*>(volume.as<std::int16_t>()),
                             volume.geometry().voxelCount(), false);
    auto grow = itk::ConnectedThresholdImageFilter<ItkImage, ItkMask>::New();
    grow->SetInput(import->GetOutput());
    grow->SetLower(std::int16_t(lower));
    grow->SetUpper(std::int16_t(upper));
    grow->SetReplaceValue(1);
    grow->SetConnectivity(decltype(grow)::ObjectType::FaceConnectivity);
    ItkImage::IndexType index;
    for (int a = 0; a < 3; ++a)
        index[a] = seed[a];
    grow->SetSeed(index);
    grow->Update();
    const std::uint8_t* out = grow->GetOutput()->GetBufferPointer();
    return {out, out + volume.geometry().voxelCount()};
}

TEST(AnnotationRegionGrowVsItk, SameVoxelsAsConnectedThresholdForEverySeedAndRange) {
    const imaging::Geometry g = grid({48, 40, 32});
    int compared = 0;
    for (unsigned seed : {1u, 2u, 3u}) {
        const imaging::Volume volume = noisyBlobs(g, seed);
        std::mt19937 random(seed * 7919);
        std::uniform_int_distribution<int> coordinate(0, 1 << 20);
        for (int trial = 0; trial < 6; ++trial) {
            const Index3 at{coordinate(random) % g.dims[0], coordinate(random) % g.dims[1],
                            coordinate(random) % g.dims[2]};
            const std::size_t offset =
                (std::size_t(at[2]) * std::size_t(g.dims[1]) + std::size_t(at[1])) *
                    std::size_t(g.dims[0]) +
                std::size_t(at[0]);
            const int value = volume.as<std::int16_t>()[offset];
            const int lower = value - 20 - trial * 15;
            const int upper = value + 30 + trial * 10;
            SCOPED_TRACE("volume " + std::to_string(seed) + " trial " + std::to_string(trial));

            Editor e(g);
            auto grow = e.tool("region-grow", 1, &volume);
            grow->settings().set("lower", lower);
            grow->settings().set("upper", upper);
            click(*grow, at);
            const std::vector<std::uint8_t> expected = itkConnectedThreshold(volume, at, lower, upper);
            std::size_t grown = 0, differing = 0;
            for (std::size_t i = 0; i < expected.size(); ++i) {
                grown += expected[i];
                differing += (e.labels.at(i) == 1) != (expected[i] == 1);
            }
            EXPECT_GT(grown, 0u) << "ITK grew nothing: the seed is in range, so it must";
            EXPECT_EQ(differing, 0u) << "of " << grown << " voxels grown by ITK";
            ++compared;
        }
    }
    EXPECT_EQ(compared, 18);
}

} // namespace
