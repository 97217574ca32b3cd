// Boxes for export, checked in Python (tests/export_formats/check_boxes.py) against its own
// arithmetic on the affine nibabel reads from the case's exported NIfTI: voxel corners, LPS and
// RAS world bounds, MONAI's cccwhd boxes, and MONAI's own route back (reorient to RAS, inverse
// affine on the two corners) landing on the box's voxels.

#include "annotation/BoxExport.h"
#include "ExportFormatsSupport.h"
#include "imaging/NiftiWriter.h"

#include <gtest/gtest.h>

namespace {

using namespace radmark;
using namespace radmark::exportformats::test;

annotation::Box box(std::uint32_t id, annotation::Label segment, bool threeD,
                    annotation::SliceAxis plane, imaging::Index3 min, imaging::Index3 max) {
    annotation::Box b;
    b.id = id;
    b.segment = segment;
    b.author = "annotator1";
    b.threeD = threeD;
    b.plane = plane;
    b.min = min;
    b.max = max;
    return b;
}

const annotation::BoxClasses classes = {
    {4, {1, 0, "Nodule", annotation::CodedConcept{"SCT", "27925004", "Nodule"}}},
    {6, {2, 1, "Mass", annotation::CodedConcept{"SCT", "4147007", "Mass"}}}};

std::vector<annotation::Box> someBoxes() {
    return {box(3, 6, false, annotation::SliceAxis::Sagittal, {5, 2, 1}, {5, 8, 6}),
            box(1, 4, true, annotation::SliceAxis::Axial, {2, 3, 1}, {9, 7, 4}),
            box(2, 4, false, annotation::SliceAxis::Axial, {0, 0, 3}, {6, 5, 3})};
}

TEST(BoxExport, CaseJsonAndMonaiBoxesMatchPythonArithmeticOnTheNiftiAffine) {
    const fs::path dir = freshFolder("box-export");
    // Oblique, and axis-aligned with flips (a plain axial CT in LPS): MONAI's route back through
    // its two-corner affine is exact only on the second.
    imaging::Geometry oblique = obliqueGrid({12, 10, 8});
    imaging::Geometry axial = oblique;
    axial.direction = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    imaging::Geometry flipped = oblique;
    flipped.direction = {-1, 0, 0, 0, 1, 0, 0, 0, -1};
    nlohmann::json cases = nlohmann::json::array();
    std::vector<annotation::DetectionCase> training;
    const std::vector<std::pair<std::string, imaging::Geometry*>> grids = {
        {"oblique", &oblique}, {"axial", &axial}, {"flipped", &flipped}};
    for (const auto& [name, grid] : grids) {
        const fs::path image = dir / (name + "_0000.nii.gz");
        imaging::writeNiftiImage(ctVolume(*grid), image);
        const fs::path boxes = dir / (name + "_boxes.json");
        std::ofstream(boxes) << annotation::caseBoxesJson(name, someBoxes(), *grid, classes);
        cases.push_back({{"image", image.string()},
                         {"boxes", boxes.string()},
                         {"axisAligned", name != "oblique"}});
        training.push_back({image.filename().string(), grid, someBoxes()});
    }
    const fs::path monai = dir / "dataset_detection.json";
    std::ofstream(monai) << annotation::monaiDetectionJson({{"training", training}}, classes);
    const nlohmann::json spec = {{"cases", cases},
                                 {"monai", monai.string()},
                                 {"classes", {{"4", {1, 0, "Nodule"}}, {"6", {2, 1, "Mass"}}}}};
    std::string output;
    EXPECT_EQ(runChecker("check_boxes.py", spec, dir, output), 0) << output;
    fs::remove_all(dir);
}

TEST(BoxExport, TheSameBoxesGiveTheSameTextAndAnUnmappedSegmentIsRefused) {
    const imaging::Geometry g = obliqueGrid({12, 10, 8});
    auto reversed = someBoxes();
    std::reverse(reversed.begin(), reversed.end());
    EXPECT_EQ(annotation::caseBoxesJson("c", someBoxes(), g, classes),
              annotation::caseBoxesJson("c", reversed, g, classes));
    auto unmapped = someBoxes();
    unmapped[0].segment = 9;
    try {
        annotation::caseBoxesJson("c", unmapped, g, classes);
        ADD_FAILURE() << "an unmapped segment was exported";
    } catch (const annotation::BoxExportError& e) {
        EXPECT_NE(std::string(e.what()).find("segment 9"), std::string::npos) << e.what();
    }
}

} // namespace
