// The exported .nii.gz files, proven by nibabel (tests/export_formats/check_nifti.py): shape,
// RAS affine computed in Python from our LPS geometry, sform == qform and their codes, HU and
// label values, units, gzip members with mtime 0 and no name; byte-identical output whatever the
// number of threads; ITK (our reader) reads them back onto the same grid and the same voxels.

#include "ExportFormatsSupport.h"
#include "annotation/LabelImport.h"
#include "imaging/NiftiWriter.h"
#include "imaging/StudyReader.h"

#include <gtest/gtest.h>

namespace {

using namespace radmark;
using namespace radmark::exportformats::test;

// Labels 0, 3, 7 and 300 in a pattern the checker recomputes: (x + 2y + 3z) % 5 picks one.
std::uint16_t annotationLabel(int x, int y, int z) {
    static const std::uint16_t labels[5] = {0, 3, 7, 0, 300};
    return labels[(x + 2 * y + 3 * z) % 5];
}

std::vector<std::uint8_t> labelBuffer(const imaging::Geometry& g) {
    std::vector<std::uint8_t> bytes(g.voxelCount() * 2);
    std::size_t i = 0;
    for (int z = 0; z < g.dims[2]; ++z)
        for (int y = 0; y < g.dims[1]; ++y)
            for (int x = 0; x < g.dims[0]; ++x, ++i) {
                const std::uint16_t v = annotationLabel(x, y, z);
                bytes[2 * i] = std::uint8_t(v & 0xff);
                bytes[2 * i + 1] = std::uint8_t(v >> 8);
            }
    return bytes;
}

TEST(NiftiExport, NibabelReadsImageAndLabelsWithTheRasAffineAndExactValues) {
    const fs::path dir = freshFolder("nifti-export");
    const imaging::Geometry g = obliqueGrid({64, 47, 41}); // 246 KB of voxels: several members
    const imaging::Volume ct = ctVolume(g);
    imaging::NiftiOptions options;
    options.gzip.memberBytes = 64 * 1024;
    std::uint64_t seenBytes = 0;
    options.onBytes = [&](const std::uint8_t*, std::size_t size) { seenBytes += size; };
    const auto image = imaging::writeNiftiImage(ct, dir / "CASE_0000.nii.gz", options);
    EXPECT_EQ(image.niftiBytes, 352 + ct.byteCount());
    EXPECT_EQ(image.fileBytes, fs::file_size(dir / "CASE_0000.nii.gz"));
    EXPECT_EQ(seenBytes, image.fileBytes);

    const auto labels = labelBuffer(g);
    const std::map<std::uint16_t, std::uint16_t> small{{3, 1}, {7, 2}, {300, 3}};
    const std::map<std::uint16_t, std::uint16_t> wide{{3, 1}, {7, 2}, {300, 1000}};
    imaging::writeNiftiLabels({g, labels.data(), 2}, small, dir / "CASE.nii.gz", options);
    imaging::writeNiftiLabels({g, labels.data(), 2}, wide, dir / "CASE_wide.nii.gz");

    const nlohmann::json spec = {{"geometry", geometryJson(g)},
                                 {"image", (dir / "CASE_0000.nii.gz").string()},
                                 {"labels",
                                  {{{"file", (dir / "CASE.nii.gz").string()},
                                    {"map", {{"3", 1}, {"7", 2}, {"300", 3}}},
                                    {"dtype", "uint8"}},
                                   {{"file", (dir / "CASE_wide.nii.gz").string()},
                                    {"map", {{"3", 1}, {"7", 2}, {"300", 1000}}},
                                    {"dtype", "uint16"}}}}};
    std::string output;
    EXPECT_EQ(runChecker("check_nifti.py", spec, dir, output), 0) << output;

    // ITK (through our reader) gives back the grid and the voxels.
    const imaging::Volume back = imaging::readVolume(dir / "CASE_0000.nii.gz");
    EXPECT_TRUE(back.geometry().sameGridAs(g, 1e-4));
    ASSERT_EQ(back.pixelType(), imaging::PixelType::Int16);
    EXPECT_EQ(0, std::memcmp(back.data(), ct.data(), ct.byteCount()));
    fs::remove_all(dir);
}

TEST(NiftiExport, TheSameInputGivesTheSameBytesWhateverTheThreads) {
    const fs::path dir = freshFolder("nifti-stable");
    const imaging::Geometry g = obliqueGrid({64, 47, 41});
    const imaging::Volume ct = ctVolume(g);
    std::vector<std::vector<std::uint8_t>> outputs;
    for (int threads : {1, 2, 5}) {
        imaging::NiftiOptions options;
        options.gzip.threads = threads;
        options.gzip.memberBytes = 64 * 1024;
        const fs::path file = dir / ("ct-" + std::to_string(threads) + ".nii.gz");
        imaging::writeNiftiImage(ct, file, options);
        outputs.push_back(fileBytes(file));
    }
    EXPECT_EQ(outputs[0], outputs[1]);
    EXPECT_EQ(outputs[0], outputs[2]);
    fs::remove_all(dir);
}

TEST(NiftiExport, ExportedLabelsReimportOntoTheSameVoxels) {
    const fs::path dir = freshFolder("nifti-reimport");
    const imaging::Geometry g = obliqueGrid();
    const auto labels = labelBuffer(g);
    const std::map<std::uint16_t, std::uint16_t> identity{{3, 3}, {7, 7}, {300, 300}};
    imaging::writeNiftiLabels({g, labels.data(), 2}, identity, dir / "labels.nii.gz");
    const annotation::LabelMap back =
        annotation::labelMapFromVolume(imaging::readVolume(dir / "labels.nii.gz"), g);
    ASSERT_EQ(back.width(), annotation::LabelWidth::UInt16);
    EXPECT_EQ(0, std::memcmp(back.data(), labels.data(), labels.size()));
    fs::remove_all(dir);
}

TEST(NiftiExport, AnUnmappedLabelOrAnUnwritablePathIsRefusedAndLeavesNoFile) {
    const fs::path dir = freshFolder("nifti-refused");
    const imaging::Geometry g = obliqueGrid();
    const auto labels = labelBuffer(g);
    try {
        imaging::writeNiftiLabels({g, labels.data(), 2}, {{3, 1}, {7, 2}}, dir / "x.nii.gz");
        ADD_FAILURE() << "an unmapped label was written";
    } catch (const imaging::NiftiWriteError& e) {
        EXPECT_NE(std::string(e.what()).find("label 300"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(dir / "x.nii.gz"));
    EXPECT_THROW(imaging::writeNiftiImage(ctVolume(g), dir / "missing" / "x.nii.gz"),
                 imaging::NiftiWriteError);
    fs::remove_all(dir);
}

} // namespace
