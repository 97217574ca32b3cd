// The NIfTI writer and the bundle side meet: an nnU-Net dataset written with writeNiftiImage /
// writeNiftiLabels (several gzip members per file) passes bundle::checkNnunetDataset, and the
// SHA-256 taken on the way through NiftiOptions::onBytes is the file's.

#include "ExportFormatsSupport.h"
#include "bundle/NnunetCheck.h"
#include "bundle/Sha256.h"
#include "imaging/NiftiWriter.h"

#include <gtest/gtest.h>

namespace {

using namespace radmark;
using namespace radmark::exportformats::test;

TEST(BundleInterop, ExportedNiftiPassesTheBundleNnunetCheckAndHashesOnTheWay) {
    const fs::path dir = freshFolder("bundle-interop");
    const fs::path root = dir / "Dataset007_Formats";
    fs::create_directories(root / "imagesTr");
    fs::create_directories(root / "labelsTr");
    const imaging::Geometry g = obliqueGrid({64, 47, 41});
    const imaging::Volume ct = ctVolume(g);
    std::vector<std::uint8_t> labels(g.voxelCount());
    for (std::size_t i = 0; i < labels.size(); ++i)
        labels[i] = i % 11 == 0 ? 3 : (i % 5 == 0 ? 8 : 0); // annotation labels 3 and 8
    imaging::NiftiOptions options;
    options.gzip.memberBytes = 64 * 1024; // several members per file
    for (const std::string c : {"case_001", "case_002"}) {
        bundle::Sha256 hash;
        options.onBytes = [&](const std::uint8_t* data, std::size_t size) {
            hash.update(data, size);
        };
        const fs::path image = root / "imagesTr" / (c + "_0000.nii.gz");
        imaging::writeNiftiImage(ct, image, options);
        EXPECT_EQ(hash.finishHex(), bundle::sha256File(image).sha256);
        imaging::writeNiftiLabels({g, labels.data(), 1}, {{3, 1}, {8, 2}},
                                  root / "labelsTr" / (c + ".nii.gz"), options);
    }
    std::ofstream(root / "dataset.json") << R"({"channel_names": {"0": "CT"},
        "labels": {"background": 0, "liver": 1, "lesion": 2}, "numTraining": 2,
        "file_ending": ".nii.gz"})";
    std::vector<bundle::BundleProblem> problems;
    const auto summary = bundle::checkNnunetDataset(root, "Dataset007_Formats", problems);
    for (const auto& p : problems)
        ADD_FAILURE() << p.file << ": " << p.reason;
    EXPECT_EQ(summary.trainingCases, 2u);
    fs::remove_all(dir);
}

} // namespace
