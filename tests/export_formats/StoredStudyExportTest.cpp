// What the export composer will do, on a real store: import a generated oblique series (through
// the isolated decoder and the de-identifier), read it for export (StoredStudy::openForExport:
// the stored volume and the stored de-identified headers), write NIfTI, SEG and source images,
// and prove them with nibabel, pydicom and dciodvfy; the SEG comes back voxel for voxel.

#include "ExportFormatsSupport.h"
#include "StoreTestSupport.h"
#include "annotation/LabelImport.h"
#include "imaging/DicomSeg.h"
#include "imaging/NiftiWriter.h"
#include "storage/StoredStudy.h"
#include "storage/StudyImport.h"

#include <gtest/gtest.h>

namespace {

using namespace radmark;
using namespace radmark::exportformats::test;

TEST(StoredStudyExport, StoredVolumeAndHeadersBecomeNiftiSegAndSourceImages) {
    const fs::path dir = freshFolder("stored-export");
    const fs::path series = dir / "original";
    const std::string command = "/usr/bin/python3 " RADMARK_SOURCE_DIR
                                "/tests/export_formats/make_series.py --out " +
                                series.string() + " --rows 9 --cols 7 --slices 8 --oblique";
    ASSERT_EQ(std::system(command.c_str()), 0);

    storage::testing::TestStore store;
    auto admin = store.admin();
    const auto results = storage::importStudies(admin, {series});
    ASSERT_EQ(results.size(), 1u);
    ASSERT_EQ(results[0].status, storage::ImportStatus::Imported) << results[0].reason;
    storage::StoredStudy study = storage::StoredStudy::openForExport(admin, results[0].studyId);
    const imaging::Volume volume = study.loadVolume(0);
    const std::vector<storage::Bytes> headers = study.loadHeaders(0);
    const imaging::Geometry& g = volume.geometry();
    ASSERT_EQ(headers.size(), std::size_t(g.dims[2]));

    // A label map with two segments, the second only on the first three slices.
    std::vector<std::uint8_t> labels(g.voxelCount());
    for (std::size_t i = 0; i < labels.size(); ++i) {
        const std::size_t z = i / (std::size_t(g.dims[0]) * std::size_t(g.dims[1]));
        labels[i] = i % 3 == 0 ? 1 : (i % 7 == 0 && z < 3 ? 2 : 0);
    }
    imaging::writeNiftiImage(volume, dir / "CASE_0000.nii.gz");
    imaging::writeNiftiLabels({g, labels.data(), 1}, {{1, 1}, {2, 2}}, dir / "CASE.nii.gz");
    std::vector<imaging::SegmentDescription> segments(2);
    segments[0] = {1,
                   "Liver",
                   {221, 130, 101},
                   {"SCT", "123037004", "Anatomical Structure"},
                   {"SCT", "10200004", "Liver"},
                   "MANUAL",
                   ""};
    segments[1] = {2,
                   "Lesion",
                   {255, 255, 0},
                   {"SCT", "49755003", "Morphologically Altered Structure"},
                   {"SCT", "52988006", "Lesion"},
                   "SEMIAUTOMATIC",
                   "Radmark region grow"};
    imaging::SegOptions options;
    options.contentDate = "20240601";
    options.contentTime = "120000";
    options.uidSeed = "stored export test";
    const imaging::DicomWritten seg =
        imaging::writeDicomSeg({g, labels.data(), 1}, segments, headers, options, dir / "seg.dcm");
    fs::create_directories(dir / "images");
    imaging::writeDicomSourceImages(volume, headers, dir / "images");

    // The checkers read what was written; the labels as the SEG checker wants them (uint16).
    std::ofstream raw(dir / "labels.u16", std::ios::binary);
    for (std::uint8_t v : labels)
        raw.put(char(v)).put(0);
    raw.close();
    nlohmann::json segmentList = nlohmann::json::array();
    for (const auto& s : segments)
        segmentList.push_back(
            {{"label", s.labelValue},
             {"name", s.name},
             {"category", {s.category.scheme, s.category.code, s.category.meaning}},
             {"type", {s.type.scheme, s.type.code, s.type.meaning}},
             {"algorithm", s.algorithmType}});
    const nlohmann::json spec = {{"seg", (dir / "seg.dcm").string()},
                                 {"images", (dir / "images").string()},
                                 {"original", series.string()},
                                 {"labels", (dir / "labels.u16").string()},
                                 {"dims", g.dims},
                                 {"segments", segmentList},
                                 {"sopInstanceUid", seg.sopInstanceUid}};
    std::string output;
    EXPECT_EQ(runChecker("check_seg.py", spec, dir, output), 0) << output;

    // The NIfTI image is the original HU on the stored grid (nibabel, against the generator's
    // formula and the volume's own geometry).
    const nlohmann::json niftiSpec = {{"image", (dir / "CASE_0000.nii.gz").string()},
                                      {"labels", (dir / "CASE.nii.gz").string()},
                                      {"geometry", geometryJson(g)}};
    EXPECT_EQ(runChecker("check_stored_nifti.py", niftiSpec, dir, output), 0) << output;

    const auto back =
        annotation::labelMapFromSegmentation(imaging::readDicomSegmentation(dir / "seg.dcm"), g);
    EXPECT_EQ(0, std::memcmp(back.labels.data(), labels.data(), labels.size()));
    fs::remove_all(dir);
}

} // namespace
