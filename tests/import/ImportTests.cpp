// Import into the store, end to end on generated data (tests/data/generate_ct_series.py, fake
// PHI only) and the head MRI template: voxels survive exactly, planted PHI does not, a study that
// fails verification leaves only its audit entry, roles hold, and imports are deterministic.

#include "../storage/StoreTestSupport.h"
#include "imaging/StudyReader.h"
#include "imaging/deid/BurnedInText.h"
#include "storage/AuditTrail.h"
#include "storage/SessionAccess.h" // white-box: row counts
#include "storage/StoredStudy.h"
#include "storage/Studies.h"
#include "storage/StudyImport.h"
#include "storage/Users.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace radmark::storage::testing {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> plantedPhi = {
    "DOE^JANE",      "MRN-9384756", "19610412", "ACC-55512",       "Springfield General",
    "742 Evergreen", "HIBBERT",     "SMITHERS", "CT-SPRINGFLD-01", "SN-4471-XQ"};

// Generates a small CT series with planted fake PHI (same fake patient, fixed seed).
fs::path generateSeries(const fs::path& out, int slices, const std::string& extraPython = {}) {
    const std::string generator =
        std::string(RADMARK_SOURCE_DIR) + "/tests/data/generate_ct_series.py";
    std::string command = "/usr/bin/python3 " + generator + " --out '" + out.string() +
                          "' --slices " + std::to_string(slices) +
                          " --rows 96 --cols 80 --seed 7 > /dev/null";
    if (std::system(command.c_str()) != 0)
        throw std::runtime_error("the CT generator failed");
    if (!extraPython.empty()) {
        const std::string edit =
            "/usr/bin/python3 -c \"import pydicom, glob\nfor f in glob.glob('" + out.string() +
            "/*'):\n    ds = pydicom.dcmread(f)\n" + extraPython + "\n    ds.save_as(f)\"";
        if (std::system(edit.c_str()) != 0)
            throw std::runtime_error("editing the generated series failed");
    }
    return out;
}

std::int64_t countRows(Session& session, const std::string& table) {
    auto s = SessionAccess::database(session).prepare("SELECT count(*) FROM " + table);
    s.step();
    return s.integer(0);
}

std::size_t importEntries(Session& admin) {
    return storage::AuditTrail(admin).entries(filterBy("", "import")).size();
}

struct ImportFixture : ::testing::Test {
    TestStore store;
    TempDir data;
    Session admin = store.admin();
    Session reviewer() {
        storage::Users(admin).add("rita-reviewer", Role::Reviewer, userPassword);
        return store.store.login("rita-reviewer", userPassword);
    }
};

TEST_F(ImportFixture, GeneratedCtIsStoredWithExactVoxelsAndWithoutPlantedPhi) {
    const fs::path source = generateSeries(data.path() / "ct", 12);
    const std::size_t entriesBefore = importEntries(admin);
    std::vector<double> fractions;
    const auto results = importStudies(admin, {source}, {}, [&](double f, const std::string&) {
        fractions.push_back(f);
        return true;
    });
    ASSERT_EQ(results.size(), 1u);
    const auto& r = results.front();
    ASSERT_EQ(r.status, ImportStatus::Imported) << r.reason;
    EXPECT_EQ(r.fileCount, 12);
    EXPECT_EQ(r.format, "DICOM");
    EXPECT_EQ(r.label.rfind("RM", 0), 0u) << r.label;
    EXPECT_EQ(importEntries(admin), entriesBefore + 1);
    ASSERT_FALSE(fractions.empty());
    EXPECT_TRUE(std::is_sorted(fractions.begin(), fractions.end()));
    EXPECT_DOUBLE_EQ(fractions.back(), 1.0);

    Session rita = reviewer();
    auto stored = StoredStudy::open(rita, r.studyId);
    const imaging::Volume reloaded = stored.loadVolume();
    const imaging::Volume original = imaging::readVolume(source);
    ASSERT_TRUE(reloaded.geometry().sameGridAs(original.geometry()));
    ASSERT_EQ(reloaded.pixelType(), original.pixelType());
    ASSERT_EQ(reloaded.byteCount(), original.byteCount());
    EXPECT_EQ(std::memcmp(reloaded.data(), original.data(), original.byteCount()), 0);
    EXPECT_EQ(reloaded.modality, "CT");

    const auto headers = stored.loadHeaders();
    ASSERT_EQ(headers.size(), 12u);
    for (const auto& header : headers) {
        const std::string text(header.begin(), header.end());
        EXPECT_LT(header.size(), 96u * 80u * 2u) << "pixel data must not be in the header";
        for (const auto& phi : plantedPhi)
            EXPECT_EQ(text.find(phi), std::string::npos) << "planted value left: " << phi;
        EXPECT_NE(text.find("2.25."), std::string::npos);
    }
    const std::string report = stored.loadReportJson();
    EXPECT_NE(report.find("patientPseudonym"), std::string::npos);
    for (const auto& phi : plantedPhi)
        EXPECT_EQ(report.find(phi), std::string::npos) << phi;
    // The study row holds no planted value either.
    for (const auto& phi : plantedPhi)
        EXPECT_EQ(stored.study().description.find(phi), std::string::npos) << phi;
    // Opening it was logged by storage.
    EXPECT_FALSE(
        storage::AuditTrail(admin).entries(filterBy("rita-reviewer", "open study")).empty());
}

TEST_F(ImportFixture, BurnedInTextWithoutRuleIsQuarantinedAndLeavesOnlyTheAuditEntry) {
    const fs::path source =
        generateSeries(data.path() / "burned", 4, "    ds.BurnedInAnnotation = 'YES'");
    const auto studiesBefore = countRows(admin, "studies");
    const auto chunksBefore = countRows(admin, "chunks");
    const std::size_t entriesBefore = importEntries(admin);
    const auto results = importStudies(admin, {source});
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results.front().status, ImportStatus::Quarantined);
    EXPECT_FALSE(results.front().reason.empty());
    for (const auto& phi : plantedPhi)
        EXPECT_EQ(results.front().reason.find(phi), std::string::npos);
    EXPECT_EQ(countRows(admin, "studies"), studiesBefore);
    EXPECT_EQ(countRows(admin, "chunks"), chunksBefore);
    const auto entries = storage::AuditTrail(admin).entries(filterBy("", "import"));
    ASSERT_EQ(entries.size(), entriesBefore + 1);
    EXPECT_NE(entries.back().details.find("quarantined"), std::string::npos);
}

// Burned-in text with a rule: the engine blacks out the banner in each file, and the stored
// volume (read from the source) gets the same blackout; nothing else changes.
TEST_F(ImportFixture, BurnedInTextWithARuleIsStoredWithTheBannerBlackedOut) {
    const fs::path source =
        generateSeries(data.path() / "banner", 3,
                       "    ds.BurnedInAnnotation = 'YES'\n    ds.Manufacturer = 'RADMARK TEST'");
    const auto ocr = deid::makeTesseractDetector();
    ImportOptions options;
    options.textDetector = ocr.get();
    const auto results = importStudies(admin, {source}, options);
    ASSERT_EQ(results.size(), 1u);
    ASSERT_EQ(results.front().status, ImportStatus::Imported) << results.front().reason;
    Session rita = reviewer();
    auto stored = StoredStudy::open(rita, results.front().studyId);
    const imaging::Volume reloaded = stored.loadVolume();
    const imaging::Volume original = imaging::readVolume(source);
    ASSERT_TRUE(reloaded.geometry().sameGridAs(original.geometry()));
    const auto& dims = reloaded.geometry().dims;
    const double black = reloaded.scalarRange().first;
    int changedOutside = 0, blackInSourceBanner = 0;
    for (int z = 0; z < dims[2]; ++z)
        for (int y = 0; y < dims[1]; ++y)
            for (int x = 0; x < dims[0]; ++x) {
                if (y < 48) {
                    ASSERT_EQ(reloaded.valueAt(x, y, z), black) << "banner row " << y;
                    blackInSourceBanner += original.valueAt(x, y, z) == black;
                } else {
                    changedOutside += reloaded.valueAt(x, y, z) != original.valueAt(x, y, z);
                }
            }
    EXPECT_LT(blackInSourceBanner, 48 * dims[0] * dims[2]) << "the source's banner was not black";
    EXPECT_EQ(changedOutside, 0) << "voxels below the banner are the source's";
    const std::string report = stored.loadReportJson();
    EXPECT_NE(report.find("burned-in text blacked out by rule"), std::string::npos);
}

TEST_F(ImportFixture, OnlyAdminsImport) {
    const fs::path source = generateSeries(data.path() / "ct", 2);
    storage::Users(admin).add("ann-annotator", Role::Annotator, userPassword);
    Session ann = store.store.login("ann-annotator", userPassword);
    Session rita = reviewer();
    EXPECT_THROW(importStudies(ann, {source}), PermissionDeniedError);
    EXPECT_THROW(importStudies(rita, {source}), PermissionDeniedError);
    EXPECT_EQ(countRows(admin, "studies"), 0);
    // Admins cannot open studies (a separate identity from the radiologists).
    const auto results = importStudies(admin, {source});
    ASSERT_EQ(results.front().status, ImportStatus::Imported);
    EXPECT_THROW(loadStoredVolume(admin, results.front().studyId), PermissionDeniedError);
    // Annotators only once assigned.
    EXPECT_THROW(loadStoredVolume(ann, results.front().studyId), PermissionDeniedError);
    storage::Studies(admin).assign("ann-annotator", results.front().studyId);
    EXPECT_EQ(loadStoredVolume(ann, results.front().studyId).geometry().dims[2], 2);
}

TEST_F(ImportFixture, SameSourceTwiceGivesTheSamePseudonymAndStudyAndOneEntryEach) {
    const fs::path source = generateSeries(data.path() / "ct", 3);
    const std::size_t entriesBefore = importEntries(admin);
    const auto first = importStudies(admin, {source});
    const auto second = importStudies(admin, {source});
    ASSERT_EQ(first.front().status, ImportStatus::Imported);
    ASSERT_EQ(second.front().status, ImportStatus::AlreadyInStore);
    EXPECT_EQ(first.front().label, second.front().label);
    EXPECT_EQ(first.front().studyId, second.front().studyId);
    EXPECT_EQ(countRows(admin, "studies"), 1);
    EXPECT_EQ(importEntries(admin), entriesBefore + 2);

    // A second store (another secret) gives other pseudonyms: they are keyed, not a plain hash.
    TestStore other;
    Session otherAdmin = other.admin();
    const auto elsewhere = importStudies(otherAdmin, {source});
    ASSERT_EQ(elsewhere.front().status, ImportStatus::Imported);
    EXPECT_NE(elsewhere.front().label, first.front().label);
}

TEST_F(ImportFixture, NewSeriesOfAStoredStudyIsAddedToIt) {
    // Same fake patient and seed: the generator gives both the same study (and series) UID; the
    // second gets a series UID of its own.
    const fs::path first = generateSeries(data.path() / "first", 3);
    const fs::path second = generateSeries(
        data.path() / "second", 4,
        "    u = ds.SeriesInstanceUID\n    ds.SeriesInstanceUID = u[:-1] + ('1' if u[-1] != '1' "
        "else '2')");
    ASSERT_EQ(importStudies(admin, {first}).front().status, ImportStatus::Imported);
    const auto again = importStudies(admin, {second});
    ASSERT_EQ(again.size(), 1u);
    ASSERT_EQ(again.front().status, ImportStatus::Imported) << again.front().reason;
    if (countRows(admin, "studies") != 1)
        GTEST_SKIP() << "the generator gave the two series different studies";
    // Added to the stored study (same pseudonym and date shift: same label), the first series
    // kept as it was.
    EXPECT_EQ(again.front().seriesCount, 1);
    EXPECT_NE(again.front().warnings.at(0).find("new series added"), std::string::npos);
    EXPECT_EQ(countRows(admin, "studies"), 1);
    EXPECT_EQ(countRows(admin, "imported_series"), 2);
    EXPECT_EQ(importStudies(admin, {second}).front().status, ImportStatus::AlreadyInStore);
}

TEST_F(ImportFixture, HeadMriNiftiIsImportedWithHeaderTextCleared) {
    const fs::path source = fs::path(RADMARK_MRICRON_TEMPLATES) / "ch2.nii.gz";
    if (!fs::exists(source))
        GTEST_SKIP() << "mricron-data is not installed";
    const auto results = importStudies(admin, {source});
    ASSERT_EQ(results.size(), 1u);
    ASSERT_EQ(results.front().status, ImportStatus::Imported) << results.front().reason;
    EXPECT_EQ(results.front().format, "NIfTI");
    Session rita = reviewer();
    auto stored = StoredStudy::open(rita, results.front().studyId);
    const imaging::Volume reloaded = stored.loadVolume();
    const imaging::Volume original = imaging::readVolume(source);
    ASSERT_TRUE(reloaded.geometry().sameGridAs(original.geometry()));
    ASSERT_EQ(reloaded.byteCount(), original.byteCount());
    EXPECT_EQ(std::memcmp(reloaded.data(), original.data(), original.byteCount()), 0);
    EXPECT_TRUE(reloaded.seriesDescription.empty());
    const std::string report = stored.loadReportJson();
    EXPECT_NE(report.find("descrip"), std::string::npos);
    EXPECT_NE(report.find("cleared"), std::string::npos);
}

// pydicom's MR_small: its institution is called like its manufacturer (kept by the profile).
// That is not a leak: it imports, and the report says why the value is still there.
TEST_F(ImportFixture, VendorSampleWithInstitutionNamedLikeTheManufacturerImports) {
    const fs::path source = fs::path(RADMARK_PYDICOM_DATA) / "MR_small.dcm";
    const auto results = importStudies(admin, {source});
    ASSERT_EQ(results.size(), 1u);
    ASSERT_EQ(results.front().status, ImportStatus::Imported) << results.front().reason;
    Session rita = reviewer();
    auto stored = StoredStudy::open(rita, results.front().studyId);
    EXPECT_NE(stored.loadReportJson().find("kept value equal to removed InstitutionName: present "
                                           "in Manufacturer, kept by the profile"),
              std::string::npos);
}

TEST_F(ImportFixture, UnreadableSourceFailsWithAReasonAndCancelRollsBack) {
    const auto missing = importStudies(admin, {data.path() / "nothing-here"});
    ASSERT_EQ(missing.size(), 1u);
    EXPECT_EQ(missing.front().status, ImportStatus::Failed);
    EXPECT_FALSE(missing.front().reason.empty());

    const fs::path source = generateSeries(data.path() / "ct", 6);
    const auto chunksBefore = countRows(admin, "chunks");
    const auto cancelled =
        importStudies(admin, {source}, {}, [](double f, const std::string& stage) {
            return !(stage == "storing" && f > 0.8);
        });
    ASSERT_EQ(cancelled.size(), 1u);
    EXPECT_EQ(cancelled.front().status, ImportStatus::Cancelled);
    EXPECT_EQ(countRows(admin, "studies"), 0);
    EXPECT_EQ(countRows(admin, "chunks"), chunksBefore);
}

// What reading a source noticed reaches the result, for DICOM and for the other formats alike:
// files skipped as not DICOM, links out of the folder refused, only the first volume of a 4D file.
TEST_F(ImportFixture, WhatTheScanNoticedIsInTheResultsWarnings) {
    const auto hasWarning = [](const StudyImportResult& r, const std::string& part) {
        return std::any_of(r.warnings.begin(), r.warnings.end(),
                           [&](const std::string& w) { return w.find(part) != std::string::npos; });
    };
    const fs::path dicom = generateSeries(data.path() / "ct", 4);
    std::ofstream(dicom / "notes.dcm") << "not a DICOM file";
    fs::create_symlink("/etc/hostname", dicom / "elsewhere.dcm");
    const fs::path nifti = data.path() / "nifti";
    fs::create_directories(nifti);
    fs::copy_file(fs::path(RADMARK_NIBABEL_DATA) / "tests/data/example4d.nii.gz",
                  nifti / "example4d.nii.gz");
    fs::create_symlink("/etc/hostname", nifti / "elsewhere.nii");

    const auto results = importStudies(admin, {dicom, nifti});
    ASSERT_EQ(results.size(), 2u);
    for (const auto& r : results) {
        SCOPED_TRACE(r.source.string());
        EXPECT_EQ(r.status, ImportStatus::Imported) << r.reason;
        EXPECT_TRUE(hasWarning(r, "symbolic link(s) pointing outside the folder"));
    }
    EXPECT_TRUE(hasWarning(results[0], "are not DICOM images and were skipped (e.g. notes.dcm"));
    EXPECT_TRUE(hasWarning(results[1], "4D image with 2 volumes"));
}

} // namespace
} // namespace radmark::storage::testing
