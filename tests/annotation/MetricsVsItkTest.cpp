// Agreement metrics against ITK as an independent oracle, on an anisotropic oblique grid:
// LabelOverlapMeasuresImageFilter for Dice and Jaccard, HausdorffDistanceImageFilter for the
// Hausdorff distance; STAPLEImageFilter and LabelVotingImageFilter for the consensus. ITK is used
// here only, in this one translation unit.
//
// ITK's Hausdorff uses every foreground voxel; ours uses boundary voxels. For a voxel a outside B,
// the nearest voxel of B is always a boundary voxel of B (one step from it towards a is closer
// to a, so it lies outside B), hence ITK's directed distance is the maximum over A \ B of the
// distance to B's boundary. The two agree when that maximum lies on A's boundary and no
// boundary voxel of A lies deeper inside B: true for the convex solids below (equal to 1e-6),
// false for a shape with a slit reaching into it, where ours is larger (shown below).

#include "AgreementShapes.h"
#include "annotation/Agreement.h"
#include "annotation/Consensus.h"

#include <itkHausdorffDistanceImageFilter.h>
#include <itkImage.h>
#include <itkImportImageFilter.h>
#include <itkLabelOverlapMeasuresImageFilter.h>
#include <itkLabelVotingImageFilter.h>
#include <itkSTAPLEImageFilter.h>

#include <gtest/gtest.h>

#include <random>

using namespace radmark;
using namespace radmark::annotation;
using namespace radmark::annotation::test;

namespace {

using ItkLabels = itk::Image<std::uint8_t, 3>;

// A copy of the label map as an ITK image with its spacing, origin and direction; when `only`
// is non-zero, a 0/1 mask of that label (ITK's Hausdorff takes every non-zero voxel).
ItkLabels::Pointer toItk(const LabelMap& labels, Label only = 0) {
    const auto& g = labels.geometry();
    auto image = ItkLabels::New();
    ItkLabels::RegionType region;
    ItkLabels::SpacingType spacing;
    ItkLabels::PointType origin;
    ItkLabels::DirectionType direction;
    for (unsigned a = 0; a < 3; ++a) {
        region.SetSize(a, itk::SizeValueType(g.dims[a]));
        spacing[a] = g.spacing[a];
        origin[a] = g.origin[a];
        for (unsigned c = 0; c < 3; ++c)
            direction[a][c] = g.direction[3 * a + c];
    }
    image->SetRegions(region);
    image->SetSpacing(spacing);
    image->SetOrigin(origin);
    image->SetDirection(direction);
    image->Allocate();
    std::uint8_t* out = image->GetBufferPointer();
    for (std::size_t i = 0; i < labels.voxelCount(); ++i)
        out[i] = only == 0 ? std::uint8_t(labels.at(i)) : std::uint8_t(labels.at(i) == only);
    return image;
}

double itkHausdorff(const LabelMap& a, Label la, const LabelMap& b, Label lb) {
    auto filter = itk::HausdorffDistanceImageFilter<ItkLabels, ItkLabels>::New();
    filter->SetInput1(toItk(a, la));
    filter->SetInput2(toItk(b, lb));
    filter->SetUseImageSpacing(true);
    filter->Update();
    return filter->GetHausdorffDistance();
}

} // namespace

TEST(AgreementVsItk, DiceAndJaccardEqualLabelOverlapMeasures) {
    const imaging::Geometry g = obliqueGrid({90, 70, 30});
    LabelMap reference(g), compared(g);
    paintSphere(reference, 1, {10, -20, 30}, 15);
    paintSphere(compared, 1, {14, -17, 33}, 13);
    paintWhere(reference, 2, [](const imaging::Vec3& p) {
        return std::abs(p[0] - 20) < 6 && std::abs(p[1] + 10) < 8 && std::abs(p[2] - 25) < 10;
    });
    paintWhere(compared, 2, [](const imaging::Vec3& p) {
        return std::abs(p[0] - 21) < 7 && std::abs(p[1] + 11) < 8 && std::abs(p[2] - 24) < 9;
    });
    auto filter = itk::LabelOverlapMeasuresImageFilter<ItkLabels>::New();
    filter->SetSourceImage(toItk(reference));
    filter->SetTargetImage(toItk(compared));
    filter->Update();
    for (Label label : {Label(1), Label(2)}) {
        const OverlapMeasures ours = measureOverlap(reference, label, compared, label);
        EXPECT_NEAR(ours.dice, filter->GetDiceCoefficient(label), 1e-12) << label;
        EXPECT_NEAR(ours.jaccard, filter->GetJaccardCoefficient(label), 1e-12) << label;
        EXPECT_GT(ours.dice, 0.3);
        EXPECT_LT(ours.dice, 0.99);
    }
}

TEST(AgreementVsItk, HausdorffEqualsItksAllVoxelHausdorffForConvexSolids) {
    const imaging::Geometry g = obliqueGrid({110, 90, 32});
    struct Case {
        const char* what;
        std::function<void(LabelMap&, LabelMap&)> paint;
    };
    const std::vector<Case> cases = {
        {"overlapping spheres",
         [](LabelMap& a, LabelMap& b) {
             paintSphere(a, 1, {10, -20, 30}, 18);
             paintSphere(b, 1, {16, -24, 35}, 13);
         }},
        {"sphere inside a sphere",
         [](LabelMap& a, LabelMap& b) {
             paintSphere(a, 1, {10, -20, 30}, 20);
             paintSphere(b, 1, {13, -19, 31}, 8);
         }},
        {"disjoint sphere and box",
         [](LabelMap& a, LabelMap& b) {
             paintSphere(a, 1, {0, -20, 30}, 9);
             paintWhere(b, 1, [](const imaging::Vec3& p) {
                 return std::abs(p[0] - 22) < 6 && std::abs(p[1] + 18) < 9 &&
                        std::abs(p[2] - 30) < 12;
             });
         }},
    };
    for (const Case& c : cases) {
        LabelMap a(g), b(g);
        c.paint(a, b);
        const double ours = compareSegment(a, 1, b, 1).distances.hausdorffMm;
        const double itk = itkHausdorff(a, 1, b, 1);
        EXPECT_NEAR(ours, itk, 1e-6 * itk) << c.what;
        std::printf("%s: boundary Hausdorff %.6f mm, ITK all-voxel %.6f mm\n", c.what, ours, itk);
    }
}

TEST(AgreementVsItk, ASlitIntoTheShapeMakesTheBoundaryHausdorffLarger) {
    // A block and the same block with a thin slit cut to its middle: every voxel of the slit is
    // one voxel from the other block (ITK: ~1 voxel), but the slit's walls are boundary voxels
    // far from the uncut block's boundary (ours: about half the block).
    imaging::Geometry g;
    g.dims = {60, 60, 40};
    LabelMap solid(g), slit(g);
    for (int z = 2; z < 38; ++z)
        for (int y = 5; y < 55; ++y)
            for (int x = 5; x < 55; ++x) {
                solid.set(Index3{x, y, z}, 1);
                if (!(x == 30 && y < 30))
                    slit.set(Index3{x, y, z}, 1);
            }
    const double ours = compareSegment(solid, 1, slit, 1).distances.hausdorffMm;
    const double itk = itkHausdorff(solid, 1, slit, 1);
    EXPECT_NEAR(itk, 1.0, 1e-9);
    EXPECT_GT(ours, 10.0);
    std::printf("slit: boundary Hausdorff %.3f mm, ITK all-voxel %.3f mm\n", ours, itk);
}

namespace {

// Three annotators' versions of a sphere: shifted, shrunk and grown, plus scattered errors.
std::vector<LabelMap> threeVersions(const imaging::Geometry& g) {
    std::vector<LabelMap> maps(3, LabelMap(g));
    paintSphere(maps[0], 1, {10, -20, 30}, 14);
    paintSphere(maps[1], 1, {11, -19, 31}, 12);
    paintSphere(maps[2], 1, {9, -21, 29}, 16);
    std::mt19937 random(3);
    std::uniform_int_distribution<std::size_t> voxel(0, maps[0].voxelCount() - 1);
    for (int r = 0; r < 3; ++r)
        for (int k = 0; k < 200 * (r + 1); ++k)
            maps[std::size_t(r)].set(voxel(random), Label(k % 2));
    return maps;
}

} // namespace

TEST(ConsensusVsItk, BinaryStapleEqualsItksStapleImageFilter) {
    const imaging::Geometry g = obliqueGrid({60, 50, 20});
    const std::vector<LabelMap> maps = threeVersions(g);
    const StapleResult ours = staple({&maps[0], &maps[1], &maps[2]}, 1);

    auto filter = itk::STAPLEImageFilter<ItkLabels, itk::Image<double, 3>>::New();
    for (unsigned r = 0; r < 3; ++r)
        filter->SetInput(r, toItk(maps[r], 1));
    filter->SetForegroundValue(1);
    filter->Update();
    for (unsigned r = 0; r < 3; ++r) {
        EXPECT_NEAR(ours.performance[r][0].sensitivity, filter->GetSensitivity(r), 1e-6) << r;
        EXPECT_NEAR(ours.performance[r][0].specificity, filter->GetSpecificity(r), 1e-6) << r;
    }
    const double* w = filter->GetOutput()->GetBufferPointer();
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < ours.labels.voxelCount(); ++i)
        if (std::abs(w[i] - 0.5) > 1e-6)
            wrong += ours.labels.at(i) != (w[i] > 0.5 ? 1 : 0);
    EXPECT_EQ(wrong, 0u);
    std::printf("STAPLE: ours %d iterations, ITK %u; sensitivities %.6f %.6f %.6f\n",
                ours.iterations, filter->GetElapsedIterations(), ours.performance[0][0].sensitivity,
                ours.performance[1][0].sensitivity, ours.performance[2][0].sensitivity);
}

TEST(ConsensusVsItk, VoteEqualsItksLabelVotingWhereThereIsNoTie) {
    const imaging::Geometry g = obliqueGrid({60, 50, 20});
    std::vector<LabelMap> maps = threeVersions(g);
    paintSphere(maps[0], 2, {20, -10, 30}, 5);
    paintSphere(maps[2], 2, {21, -10, 30}, 6);
    const LabelMap ours = majorityVote({&maps[0], &maps[1], &maps[2]});
    auto filter = itk::LabelVotingImageFilter<ItkLabels>::New();
    for (unsigned r = 0; r < 3; ++r)
        filter->SetInput(r, toItk(maps[r]));
    filter->SetLabelForUndecidedPixels(255);
    filter->Update();
    const std::uint8_t* itk = filter->GetOutput()->GetBufferPointer();
    std::size_t compared = 0, wrong = 0, undecided = 0;
    for (std::size_t i = 0; i < ours.voxelCount(); ++i) {
        if (itk[i] == 255) { // a tie: ITK leaves it undecided, ours takes the lowest label
            ++undecided;
            continue;
        }
        ++compared;
        wrong += ours.at(i) != itk[i];
    }
    EXPECT_EQ(wrong, 0u);
    EXPECT_GT(undecided, 0u);
    EXPECT_GT(compared, ours.voxelCount() / 2);
}
