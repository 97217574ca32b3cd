// Agreement metrics against closed forms (two spheres on an anisotropic, oblique grid), against
// hand-computed small cases, against an independent Python oracle (scipy's exact distance
// transform, numpy's percentile), and every empty and refused case.

#include "annotation/Agreement.h"
#include "AgreementShapes.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

using namespace radmark;
using namespace radmark::annotation;
using namespace radmark::annotation::test;

namespace {

namespace fs = std::filesystem;

// Continuous mean distance from a uniform point of sphere (c1, r1) to sphere surface (c2, r2),
// centres d apart: |p - c2| = rho has density rho / (2 r1 d) on [|r1 - d|, r1 + d].
double meanSurfaceDistance(double r1, double r2, double d) {
    const double lo = std::abs(r1 - d), hi = r1 + d;
    auto F = [&](double rho) { return rho * rho * rho / 3 - r2 * rho * rho / 2; };
    double integral;
    if (r2 <= lo)
        integral = F(hi) - F(lo);
    else if (r2 >= hi)
        integral = F(lo) - F(hi);
    else
        integral = (F(hi) - F(r2)) - (F(r2) - F(lo));
    return integral / (2 * r1 * d);
}

double sphereVolume(double r) {
    return 4.0 / 3.0 * M_PI * r * r * r;
}

// Volume of the lens where two spheres overlap (|r1 - r2| < d < r1 + r2).
double lensVolume(double r1, double r2, double d) {
    const double s = r1 + r2 - d;
    return M_PI * s * s * (d * d + 2 * d * (r1 + r2) - 3 * (r1 - r2) * (r1 - r2)) / (12 * d);
}

std::string quoted(const std::string& s) {
    std::string out = "'";
    for (char c : s)
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

// Writes both masks and the grid to a private temporary folder and returns the oracle's answer.
nlohmann::json pythonOracle(const LabelMap& reference, Label referenceLabel,
                            const LabelMap& compared, Label comparedLabel, double toleranceMm) {
    const fs::path folder =
        fs::temp_directory_path() / ("radmark-agreement-oracle-" + std::to_string(::getpid()) +
                                     "-" + std::to_string(reference.voxelCount()));
    fs::create_directories(folder);
    auto writeMask = [&](const LabelMap& labels, Label label, const char* name) {
        std::vector<std::uint8_t> mask(labels.voxelCount());
        for (std::size_t i = 0; i < mask.size(); ++i)
            mask[i] = labels.at(i) == label ? 1 : 0;
        std::ofstream(folder / name, std::ios::binary)
            .write(reinterpret_cast<const char*>(mask.data()), std::streamsize(mask.size()));
    };
    writeMask(reference, referenceLabel, "reference.raw");
    writeMask(compared, comparedLabel, "compared.raw");
    const auto& g = reference.geometry();
    std::ofstream(folder / "case.json")
        << nlohmann::json{{"dims", g.dims}, {"spacing", g.spacing}, {"tolerance_mm", toleranceMm}};
    const std::string command =
        "/usr/bin/python3 " +
        quoted(std::string(RADMARK_SOURCE_DIR) + "/tests/annotation/agreement_oracle.py") + " " +
        quoted(folder.string());
    std::string output;
    {
        std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
        char buffer[4096];
        while (pipe && fgets(buffer, sizeof buffer, pipe.get()))
            output += buffer;
    }
    fs::remove_all(folder);
    return nlohmann::json::parse(output);
}

void expectRelative(double ours, double oracle, double relative, const char* what) {
    EXPECT_NEAR(ours, oracle, relative * std::max(1.0, std::abs(oracle))) << what;
}

void expectSameAsOracle(const LabelMap& reference, Label referenceLabel, const LabelMap& compared,
                        Label comparedLabel, double toleranceMm) {
    const SegmentAgreement ours =
        compareSegment(reference, referenceLabel, compared, comparedLabel, toleranceMm);
    const nlohmann::json oracle =
        pythonOracle(reference, referenceLabel, compared, comparedLabel, toleranceMm);
    ASSERT_FALSE(ours.oneEmpty());
    EXPECT_EQ(ours.overlap.voxelsReference, oracle["voxels_reference"].get<std::uint64_t>());
    EXPECT_EQ(ours.overlap.voxelsCompared, oracle["voxels_compared"].get<std::uint64_t>());
    EXPECT_EQ(ours.distances.boundaryVoxelsReference,
              oracle["boundary_reference"].get<std::uint64_t>());
    EXPECT_EQ(ours.distances.boundaryVoxelsCompared,
              oracle["boundary_compared"].get<std::uint64_t>());
    expectRelative(ours.overlap.dice, oracle["dice"], 1e-12, "dice");
    expectRelative(ours.distances.hausdorffMm, oracle["hausdorff_mm"], 1e-6, "hausdorff");
    expectRelative(ours.distances.hd95Mm, oracle["hd95_mm"], 1e-6, "hd95");
    expectRelative(ours.distances.assdMm, oracle["assd_mm"], 1e-6, "assd");
    expectRelative(ours.distances.surfaceDice, oracle["surface_dice"], 1e-6, "surface dice");
}

struct SpherePair {
    imaging::Geometry grid = obliqueGrid({130, 100, 36});
    imaging::Vec3 c1{10, -20, 30};
    imaging::Vec3 c2{16, -24, 35};
    double r1 = 20, r2 = 15;
    LabelMap reference{grid}, compared{grid};
    SpherePair() {
        paintSphere(reference, 1, c1, r1);
        paintSphere(compared, 1, c2, r2);
    }
};

} // namespace

TEST(Agreement, TwoSpheresOnAnObliqueAnisotropicGridMatchTheClosedForm) {
    const SpherePair s;
    const double d = distance(s.c1, s.c2);
    ASSERT_GT(d, s.r1 - s.r2); // partly overlapping: the lens formula applies
    const SegmentAgreement a = compareSegment(s.reference, 1, s.compared, 1);

    const double v1 = sphereVolume(s.r1), v2 = sphereVolume(s.r2), lens = lensVolume(s.r1, s.r2, d);
    EXPECT_NEAR(a.overlap.volumeReferenceMl, v1 / 1000, 0.01 * v1 / 1000);
    EXPECT_NEAR(a.overlap.volumeComparedMl, v2 / 1000, 0.01 * v2 / 1000);
    EXPECT_NEAR(a.overlap.dice, 2 * lens / (v1 + v2), 0.01);
    EXPECT_NEAR(a.overlap.jaccard, lens / (v1 + v2 - lens), 0.01);
    EXPECT_NEAR(a.overlap.volumeDifferencePercent, 100 * (v2 - v1) / v1, 2.0);

    // Both directed Hausdorff distances of two sphere surfaces are d + |r1 - r2|.
    const double largestVoxel = 2.5;
    EXPECT_NEAR(a.distances.hausdorffMm, d + std::abs(s.r1 - s.r2), largestVoxel);
    const double assd = (s.r1 * s.r1 * meanSurfaceDistance(s.r1, s.r2, d) +
                         s.r2 * s.r2 * meanSurfaceDistance(s.r2, s.r1, d)) /
                        (s.r1 * s.r1 + s.r2 * s.r2);
    EXPECT_NEAR(a.distances.assdMm, assd, largestVoxel);
    EXPECT_FALSE(a.bothEmpty());
    EXPECT_FALSE(a.oneEmpty());
    std::printf("spheres: dice %.4f (closed form %.4f), HD %.3f mm (%.3f), ASSD %.3f mm (%.3f)\n",
                a.overlap.dice, 2 * lens / (v1 + v2), a.distances.hausdorffMm,
                d + std::abs(s.r1 - s.r2), a.distances.assdMm, assd);
}

TEST(Agreement, IdenticalMasksAgreePerfectly) {
    const SpherePair s;
    const SegmentAgreement a = compareSegment(s.reference, 1, s.reference, 1);
    EXPECT_EQ(a.overlap.dice, 1);
    EXPECT_EQ(a.overlap.jaccard, 1);
    EXPECT_EQ(a.overlap.volumeDifferenceMl, 0);
    EXPECT_EQ(a.distances.hausdorffMm, 0);
    EXPECT_EQ(a.distances.hd95Mm, 0);
    EXPECT_EQ(a.distances.assdMm, 0);
    EXPECT_EQ(a.distances.surfaceDice, 1);
}

TEST(Agreement, SmallCaseComputedByHand) {
    // Spacing 0.7 x 0.9 x 2.5, identity direction. A: one voxel at (2,2,2). B: voxels (5,2,2)
    // and (2,2,3). Distances A->B: min(3 * 0.7, 2.5) = 2.1. B->A: 2.1 and 2.5.
    imaging::Geometry g;
    g.dims = {8, 6, 6};
    g.spacing = {0.7, 0.9, 2.5};
    LabelMap a(g), b(g);
    a.set(Index3{2, 2, 2}, 3);
    b.set(Index3{5, 2, 2}, 4);
    b.set(Index3{2, 2, 3}, 4);
    const SegmentAgreement r = compareSegment(a, 3, b, 4, 2.2);
    EXPECT_EQ(r.overlap.dice, 0);
    EXPECT_EQ(r.distances.boundaryVoxelsReference, 1u);
    EXPECT_EQ(r.distances.boundaryVoxelsCompared, 2u);
    EXPECT_NEAR(r.distances.hausdorffMm, 2.5, 1e-6);
    // HD95: A->B has one value, 2.1; B->A = {2.1, 2.5}: rank 0.95 -> 2.1 + 0.95 * 0.4 = 2.48.
    EXPECT_NEAR(r.distances.hd95Mm, 2.48, 1e-6);
    EXPECT_NEAR(r.distances.assdMm, (2.1 + 2.1 + 2.5) / 3, 1e-6);
    EXPECT_NEAR(r.distances.surfaceDice, 2.0 / 3.0, 1e-12); // 2.1 <= 2.2, 2.5 is not
    EXPECT_NEAR(r.overlap.volumeReferenceMl, 0.7 * 0.9 * 2.5 / 1000, 1e-12);
    EXPECT_NEAR(r.overlap.volumeDifferencePercent, 100, 1e-9);
}

TEST(Agreement, VoxelsOnTheVolumeEdgeAreBoundary) {
    // A 3x3x3 block filling the whole volume: every voxel but the centre touches the edge.
    imaging::Geometry g;
    g.dims = {3, 3, 3};
    LabelMap a(g);
    a.fill(1);
    const SegmentAgreement r = compareSegment(a, 1, a, 1);
    EXPECT_EQ(r.distances.boundaryVoxelsReference, 26u);
}

TEST(Agreement, WideLabelMapsGiveTheSameNumbers) {
    SpherePair s;
    const SegmentAgreement narrow = compareSegment(s.reference, 1, s.compared, 1);
    s.compared.widenToUInt16();
    s.compared.set(Index3{0, 0, 0}, 300); // a label only a 2-byte map can hold, not compared
    const SegmentAgreement wide = compareSegment(s.reference, 1, s.compared, 1);
    EXPECT_EQ(wide.overlap.voxelsBoth, narrow.overlap.voxelsBoth);
    EXPECT_EQ(wide.distances.hd95Mm, narrow.distances.hd95Mm);
    EXPECT_EQ(wide.distances.assdMm, narrow.distances.assdMm);
}

TEST(Agreement, MatchesThePythonOracleOnSpheres) {
    const SpherePair s;
    expectSameAsOracle(s.reference, 1, s.compared, 1, 1.0);
    expectSameAsOracle(s.reference, 1, s.compared, 1, 2.5);
}

TEST(Agreement, MatchesThePythonOracleOnRaggedBlobsTouchingTheEdge) {
    const imaging::Geometry g = obliqueGrid({48, 40, 24});
    for (unsigned seed : {1u, 2u, 3u}) {
        LabelMap a(g), b(g);
        paintRaggedBlob(a, 2, seed);
        paintRaggedBlob(b, 5, seed + 100);
        paintRaggedBlob(b, 5, seed); // largely the same blob, plus more
        expectSameAsOracle(a, 2, b, 5, 1.0);
    }
}

TEST(Agreement, BothEmptyIsPerfectAgreementWithAFlag) {
    const imaging::Geometry g = obliqueGrid({20, 20, 10});
    const LabelMap a(g), b(g);
    const SegmentAgreement r = compareSegment(a, 1, b, 1);
    EXPECT_TRUE(r.bothEmpty());
    EXPECT_FALSE(r.oneEmpty());
    EXPECT_EQ(r.overlap.dice, 1);
    EXPECT_EQ(r.overlap.jaccard, 1);
    EXPECT_EQ(r.overlap.volumeDifferencePercent, 0);
    EXPECT_EQ(r.distances.hausdorffMm, 0);
    EXPECT_EQ(r.distances.hd95Mm, 0);
    EXPECT_EQ(r.distances.assdMm, 0);
    EXPECT_EQ(r.distances.surfaceDice, 1);
}

TEST(Agreement, OneSideEmptyIsNoAgreementWithInfiniteDistances) {
    const SpherePair s;
    const LabelMap empty(s.grid);
    for (bool referenceEmpty : {true, false}) {
        const SegmentAgreement r = referenceEmpty ? compareSegment(empty, 1, s.compared, 1)
                                                  : compareSegment(s.reference, 1, empty, 1);
        EXPECT_TRUE(r.oneEmpty());
        EXPECT_FALSE(r.bothEmpty());
        EXPECT_EQ(r.overlap.dice, 0);
        EXPECT_EQ(r.overlap.jaccard, 0);
        EXPECT_EQ(r.distances.hausdorffMm, kNoDistance);
        EXPECT_EQ(r.distances.hd95Mm, kNoDistance);
        EXPECT_EQ(r.distances.assdMm, kNoDistance);
        EXPECT_EQ(r.distances.surfaceDice, 0);
        if (referenceEmpty)
            EXPECT_EQ(r.overlap.volumeDifferencePercent, kNoDistance);
        else
            EXPECT_EQ(r.overlap.volumeDifferencePercent, -100);
    }
}

TEST(Agreement, SegmentMissingOnOneSideIsReportedAsOneSideEmptyInJson) {
    const SpherePair s;
    SegmentList reference, compared;
    reference.add("Liver", {200, 100, 100});
    reference.add("Lesion", {255, 0, 0});
    compared.add("liver ", {200, 100, 100}); // same name, other case and a trailing space
    compared.add("Spleen", {0, 0, 255});     // only on the compared side, and empty there
    const AgreementReport report =
        compareAnnotations(s.reference, reference, {}, s.compared, compared, {});
    ASSERT_EQ(report.segments.size(), 3u);
    EXPECT_EQ(report.segments[0].name, "Liver");
    EXPECT_FALSE(report.segments[0].oneEmpty());
    EXPECT_EQ(report.segments[1].name, "Lesion"); // missing in compared, empty in reference
    EXPECT_EQ(report.segments[1].comparedLabel, 0);
    EXPECT_TRUE(report.segments[1].bothEmpty());
    EXPECT_EQ(report.segments[2].name, "Spleen");
    EXPECT_EQ(report.segments[2].referenceLabel, 0);

    // Lesion painted in the reference only: one side empty, distances written as null.
    LabelMap withLesion = s.reference;
    paintSphere(withLesion, 2, {0, -20, 30}, 4);
    const AgreementReport lesion =
        compareAnnotations(withLesion, reference, {}, s.compared, compared, {});
    EXPECT_TRUE(lesion.segments[1].oneEmpty());
    const auto json = nlohmann::json::parse(agreementJson(lesion));
    const auto& row = json["segments"][1];
    EXPECT_EQ(row["name"], "Lesion");
    EXPECT_TRUE(row["missing_in_compared"].get<bool>());
    EXPECT_TRUE(row["one_empty"].get<bool>());
    EXPECT_TRUE(row["hausdorff_mm"].is_null());
    EXPECT_TRUE(row["hd95_mm"].is_null());
    EXPECT_TRUE(row["assd_mm"].is_null());
    EXPECT_EQ(row["note"], "one side empty");
    EXPECT_EQ(row["dice"], 0.0);
    EXPECT_TRUE(json["definitions"].contains("hd95_mm"));
    EXPECT_NE(json["definitions"]["hd95_mm"]["definition"].get<std::string>().find("MONAI"),
              std::string::npos);
}

TEST(Agreement, DifferentGridsAreRefusedNamingTheDifference) {
    const imaging::Geometry g = obliqueGrid({20, 20, 10});
    auto refusal = [&](const imaging::Geometry& other) {
        try {
            compareSegment(LabelMap(g), 1, LabelMap(other), 1);
        } catch (const AgreementError& e) {
            return std::string(e.what());
        }
        return std::string("not refused");
    };
    imaging::Geometry bigger = g;
    bigger.dims[2] = 11;
    EXPECT_NE(refusal(bigger).find("20 x 20 x 10 voxels against 20 x 20 x 11"), std::string::npos)
        << refusal(bigger);
    imaging::Geometry thinner = g;
    thinner.spacing[2] = 1.25;
    EXPECT_NE(refusal(thinner).find("voxel spacing: 0.700 x 0.900 x 2.500 mm against 0.700 x "
                                    "0.900 x 1.250 mm"),
              std::string::npos)
        << refusal(thinner);
    imaging::Geometry moved = g;
    moved.origin[0] += 5;
    EXPECT_NE(refusal(moved).find("different positions"), std::string::npos);
    imaging::Geometry turned = g;
    turned.direction = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    EXPECT_NE(refusal(turned).find("orientations"), std::string::npos);
    EXPECT_THROW(measureOverlap(LabelMap(g), 1, LabelMap(bigger), 1), AgreementError);
    SegmentList segments;
    EXPECT_THROW(compareAnnotations(LabelMap(g), segments, {}, LabelMap(moved), segments, {}),
                 AgreementError);
}

TEST(Agreement, ShearedGridIsRefusedForDistancesButVolumesUseItsDeterminant) {
    imaging::Geometry g;
    g.dims = {10, 10, 10};
    g.direction = {1, 0, 0, 0, 1, 0, 0, 0.5, 1}; // slices sheared against the rows
    LabelMap a(g);
    a.set(Index3{4, 4, 4}, 1);
    EXPECT_THROW(compareSegment(a, 1, a, 1), AgreementError);
    EXPECT_NEAR(measureOverlap(a, 1, a, 1).volumeReferenceMl, 0.001, 1e-12); // |det| = 1 here
}

TEST(Agreement, SegmentsPairByCodeThenByNameButNeverAcrossTwoCodes) {
    const Terminology& terms = Terminology::bundled();
    ASSERT_GE(terms.entries().size(), 3u);
    const std::string liver = terms.entries()[0].type.code;
    const std::string other = terms.entries()[1].type.code;
    const std::string third = terms.entries()[2].type.code;
    SegmentList reference, compared;
    terms.addSegment(reference, liver).name = "Organ A"; // label 1
    terms.addSegment(reference, other).name = "Tumour";  // label 2
    reference.add("Cyst", {1, 2, 3});                    // label 3, no code
    terms.addSegment(reference, third).name = "Kidney";  // label 4
    compared.add("cyst", {1, 2, 3});                     // label 1, no code
    terms.addSegment(compared, liver).name = "Renamed";  // label 2: same code as reference 1
    compared.add("Tumour", {9, 9, 9});                   // label 3: name of reference 2, no code
    terms.addSegment(compared, other).name = "Kidney";   // label 4: code of 2, name of 4
    const SegmentMatching m = matchSegments(reference, compared);
    ASSERT_EQ(m.pairs.size(), 3u);
    EXPECT_EQ(m.pairs[0].reference, 1);
    EXPECT_EQ(m.pairs[0].compared, 2);
    EXPECT_TRUE(m.pairs[0].byCode);
    EXPECT_EQ(m.pairs[1].reference, 2); // the code wins over the name "Tumour"
    EXPECT_EQ(m.pairs[1].compared, 4);
    EXPECT_TRUE(m.pairs[1].byCode);
    EXPECT_EQ(m.pairs[2].reference, 3);
    EXPECT_EQ(m.pairs[2].compared, 1);
    EXPECT_FALSE(m.pairs[2].byCode);
    // Reference "Kidney" (a code) and compared "Tumour" (no code) share nothing.
    EXPECT_EQ(m.onlyInReference, std::vector<Label>{4});
    EXPECT_EQ(m.onlyInCompared, std::vector<Label>{3});
}

TEST(Agreement, BoxesPairOneToOneByHighestIou) {
    auto box = [](std::uint32_t id, Label segment, Index3 lo, Index3 hi) {
        Box b;
        b.id = id;
        b.segment = segment;
        b.threeD = true;
        b.min = lo;
        b.max = hi;
        return b;
    };
    // 10^3 boxes; shifted by 5 on x: intersection 500, union 1500.
    EXPECT_NEAR(boxIou(box(1, 1, {0, 0, 0}, {9, 9, 9}), box(2, 1, {5, 0, 0}, {14, 9, 9})), 1.0 / 3,
                1e-12);
    EXPECT_EQ(boxIou(box(1, 1, {0, 0, 0}, {9, 9, 9}), box(2, 1, {10, 0, 0}, {19, 9, 9})), 0);
    Box flat = box(3, 1, {0, 0, 4}, {9, 9, 4}); // a 2D box: one slice of the 3D one
    flat.threeD = false;
    EXPECT_NEAR(boxIou(box(1, 1, {0, 0, 0}, {9, 9, 9}), flat), 0.1, 1e-12);

    // Reference 1 overlaps compared 10 (IoU 1/3) and 11 (200 / 2800); reference 2 overlaps
    // only 11 (800 / 2200). Greedy: (3, 12) at IoU 1, then (2, 11), then (1, 10).
    const std::vector<Box> reference = {box(1, 1, {0, 0, 0}, {9, 9, 9}),
                                        box(2, 1, {20, 0, 0}, {29, 9, 9}),
                                        box(3, 1, {50, 50, 50}, {52, 52, 52})};
    const std::vector<Box> compared = {box(10, 1, {5, 0, 0}, {14, 9, 9}),
                                       box(11, 1, {8, 0, 0}, {27, 9, 9}),
                                       box(12, 2, {50, 50, 50}, {52, 52, 52})};
    const BoxMatching any = matchBoxes(reference, compared);
    ASSERT_EQ(any.pairs.size(), 3u);
    EXPECT_EQ(any.pairs[0].reference, 3u); // identical boxes, IoU 1
    EXPECT_EQ(any.pairs[0].compared, 12u);
    EXPECT_EQ(any.pairs[1].reference, 2u);
    EXPECT_EQ(any.pairs[1].compared, 11u);
    EXPECT_NEAR(any.pairs[1].iou, 800.0 / 2200.0, 1e-12);
    EXPECT_EQ(any.pairs[2].reference, 1u);
    EXPECT_EQ(any.pairs[2].compared, 10u);

    // With segments paired (1 <-> 1 only), box 12 of segment 2 is not comparable with box 3.
    SegmentMatching segments;
    segments.pairs.push_back({1, 1, "Lesion", false});
    const BoxMatching bySegment = matchBoxes(reference, compared, segments);
    EXPECT_EQ(bySegment.pairs.size(), 2u);
    EXPECT_EQ(bySegment.onlyInReference, std::vector<std::uint32_t>{3});
    EXPECT_EQ(bySegment.onlyInCompared, std::vector<std::uint32_t>{12});
}

TEST(Agreement, EveryMetricHasADefinition) {
    for (const char* key :
         {"boundary", "dice", "jaccard", "volume_difference_percent", "hausdorff_mm", "hd95_mm",
          "assd_mm", "surface_dice", "empty", "box_iou"}) {
        const auto& all = agreementDefinitions();
        EXPECT_TRUE(std::any_of(all.begin(), all.end(), [&](const MetricDefinition& d) {
            return d.key == key && !d.definition.empty();
        })) << key;
    }
}

TEST(Agreement, FastBoundsEqualLabelMapBounds) {
    const imaging::Geometry g = obliqueGrid({40, 30, 12});
    LabelMap narrow(g);
    paintSphere(narrow, 3, {12, -22, 31}, 6);
    narrow.set(Index3{39, 0, 11}, 7);
    LabelMap wide = narrow;
    wide.widenToUInt16();
    wide.set(Index3{2, 29, 0}, 400);
    for (const LabelMap* m : {&narrow, &wide}) {
        for (Label l : {Label(3), Label(7), Label(5)}) {
            const VoxelRegion fast = findLabelBounds(*m, l), slow = m->boundsOf(l);
            EXPECT_EQ(fast.empty(), slow.empty()) << l;
            if (!slow.empty()) {
                EXPECT_EQ(fast.min, slow.min) << l;
                EXPECT_EQ(fast.max, slow.max) << l;
            }
        }
        VoxelRegion all;
        for (const auto& [label, count] : m->voxelCounts())
            all.include(m->boundsOf(label));
        const VoxelRegion fast = findLabelledBounds(*m);
        EXPECT_EQ(fast.min, all.min);
        EXPECT_EQ(fast.max, all.max);
    }
    EXPECT_TRUE(findLabelBounds(narrow, 0).empty());
    EXPECT_TRUE(findLabelledBounds(LabelMap(g)).empty());
}
