// The agreement summary as the store service's session sends it to the workstation
// (workflow::agreementSummaryJson): through text and back, every field of every row is the
// same, a distance to an empty side stays infinite, the report's table is the same cell for cell,
// and a damaged summary is refused.

#include "annotation/LabelMap.h"
#include "report/TextWriters.h"
#include "workflow/AgreementReport.h"

#include <gtest/gtest.h>

#include <cmath>

namespace radmark::workflow {
namespace {

annotation::LabelMap cube(int from, int to) {
    imaging::Geometry grid;
    grid.dims = {16, 16, 8};
    grid.spacing = {0.8, 0.8, 2.5};
    annotation::LabelMap labels(grid);
    for (int z = 2; z < 6; ++z)
        for (int y = from; y < to; ++y)
            for (int x = from; x < to; ++x)
                labels.set({x, y, z}, 1);
    return labels;
}

void expectSame(const annotation::SegmentAgreement& a, const annotation::SegmentAgreement& b) {
    EXPECT_EQ(a.referenceLabel, b.referenceLabel);
    EXPECT_EQ(a.comparedLabel, b.comparedLabel);
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.overlap.voxelsReference, b.overlap.voxelsReference);
    EXPECT_EQ(a.overlap.voxelsCompared, b.overlap.voxelsCompared);
    EXPECT_EQ(a.overlap.voxelsBoth, b.overlap.voxelsBoth);
    EXPECT_EQ(a.overlap.dice, b.overlap.dice);
    EXPECT_EQ(a.overlap.jaccard, b.overlap.jaccard);
    EXPECT_EQ(a.overlap.volumeReferenceMl, b.overlap.volumeReferenceMl);
    EXPECT_EQ(a.overlap.volumeComparedMl, b.overlap.volumeComparedMl);
    EXPECT_EQ(a.overlap.volumeDifferenceMl, b.overlap.volumeDifferenceMl);
    EXPECT_EQ(a.overlap.volumeDifferencePercent, b.overlap.volumeDifferencePercent);
    EXPECT_EQ(a.overlap.bothEmpty, b.overlap.bothEmpty);
    EXPECT_EQ(a.overlap.oneEmpty, b.overlap.oneEmpty);
    EXPECT_EQ(a.distances.boundaryVoxelsReference, b.distances.boundaryVoxelsReference);
    EXPECT_EQ(a.distances.boundaryVoxelsCompared, b.distances.boundaryVoxelsCompared);
    EXPECT_EQ(a.distances.hausdorffMm, b.distances.hausdorffMm);
    EXPECT_EQ(a.distances.hd95Mm, b.distances.hd95Mm);
    EXPECT_EQ(a.distances.assdMm, b.distances.assdMm);
    EXPECT_EQ(a.distances.toleranceMm, b.distances.toleranceMm);
    EXPECT_EQ(a.distances.surfaceDice, b.distances.surfaceDice);
    EXPECT_EQ(a.distances.bothEmpty, b.distances.bothEmpty);
    EXPECT_EQ(a.distances.oneEmpty, b.distances.oneEmpty);
}

TEST(AgreementSummaryJson, CrossesAsTextFieldForFieldWithInfinitiesAndTheSameTable) {
    const annotation::LabelMap a = cube(3, 10), b = cube(4, 12), empty = cube(0, 0);
    AgreementSummary summary;
    summary.toleranceMm = 1.5;
    summary.rows.push_back({"RM-0001", "Liver", "pair", "annie", "bert", 11, 12,
                            annotation::compareSegment(a, 1, b, 1, 1.5)});
    summary.rows.push_back({"RM-0001", "Liver \"left\" lobe \u00e9", "vs approved", "annie", "ruby",
                            11, 13, annotation::compareSegment(a, 1, empty, 1, 1.5)});
    summary.rows.back().metrics.name = "Liver";
    summary.studiesWithoutPairs = {"RM-0002"};
    ASSERT_TRUE(std::isinf(summary.rows[1].metrics.distances.hausdorffMm))
        << "the second row measures against an empty side";

    const AgreementSummary back =
        agreementSummaryFromJson(nlohmann::json::parse(agreementSummaryJson(summary).dump()));
    ASSERT_EQ(back.rows.size(), summary.rows.size());
    for (std::size_t i = 0; i < back.rows.size(); ++i) {
        const AgreementRow &x = summary.rows[i], &y = back.rows[i];
        EXPECT_EQ(x.study, y.study);
        EXPECT_EQ(x.segment, y.segment);
        EXPECT_EQ(x.kind, y.kind);
        EXPECT_EQ(x.first, y.first);
        EXPECT_EQ(x.second, y.second);
        EXPECT_EQ(x.firstVersion, y.firstVersion);
        EXPECT_EQ(x.secondVersion, y.secondVersion);
        expectSame(x.metrics, y.metrics);
    }
    EXPECT_EQ(back.studiesWithoutPairs, summary.studiesWithoutPairs);
    EXPECT_EQ(back.toleranceMm, summary.toleranceMm);
    EXPECT_EQ(report::writeCsv(agreementTable(back)), report::writeCsv(agreementTable(summary)));

    nlohmann::json missing = agreementSummaryJson(summary), wrongType = missing;
    missing["rows"][0]["metrics"].erase("dice");
    wrongType["rows"][1]["first"] = 7;
    for (const nlohmann::json& bad :
         {missing, wrongType, nlohmann::json::object(), nlohmann::json("rows")})
        EXPECT_THROW(agreementSummaryFromJson(bad), std::runtime_error) << bad.dump();
}

} // namespace
} // namespace radmark::workflow
