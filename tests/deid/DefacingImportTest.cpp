// Import with the deface option: the head MRI, as NIfTI and as a DICOM MR series, is stored
// defaced with every brain voxel (ch2bet) intact and the defacing in its report; a CT that is
// not a head is quarantined and nothing of it is stored.

#include "../storage/StoreTestSupport.h"
#include "imaging/StudyReader.h"
#include "storage/Studies.h"
#include "storage/Users.h"
#include "storage/StoredStudy.h"
#include "storage/StudyImport.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>

namespace radmark::storage::testing {
namespace {

namespace fs = std::filesystem;
const fs::path templates = RADMARK_MRICRON_TEMPLATES;

ImportOptions defacing() {
    ImportOptions options;
    options.profile = deid::ProfileOptions::parse("default,deface");
    return options;
}

struct DefacingImport : ::testing::Test {
    TestStore store;
    TempDir data;
    Session admin = store.admin();

    // A small generated body CT (not a head), written into the test's data folder.
    fs::path generatedBodyCt() {
        const fs::path out = data.path() / "body-ct";
        const std::string command = "/usr/bin/python3 '" + std::string(RADMARK_SOURCE_DIR) +
                                    "/tests/data/generate_ct_series.py' --out '" + out.string() +
                                    "' --slices 8 --rows 96 --cols 80 > /dev/null";
        EXPECT_EQ(std::system(command.c_str()), 0) << "the CT generator failed";
        return out;
    }

    // Imports one source with the deface option and checks the stored volume against ch2.
    void expectStoredDefacedHead(const fs::path& source) {
        const auto results = importStudies(admin, {source}, defacing());
        ASSERT_EQ(results.size(), 1u);
        ASSERT_EQ(results.front().status, ImportStatus::Imported) << results.front().reason;
        storage::Users(admin).add("rita-reviewer", Role::Reviewer, userPassword);
        Session rita = store.store.login("rita-reviewer", userPassword);
        auto stored = StoredStudy::open(rita, results.front().studyId);
        const imaging::Volume defaced = stored.loadVolume();
        const imaging::Volume head = imaging::readVolume(templates / "ch2.nii.gz");
        const imaging::Volume brain = imaging::readVolume(templates / "ch2bet.nii.gz");
        ASSERT_TRUE(defaced.geometry().sameGridAs(head.geometry()));
        std::size_t changed = 0, brainChanged = 0;
        const auto& dims = head.geometry().dims;
        for (int z = 0; z < dims[2]; ++z)
            for (int y = 0; y < dims[1]; ++y)
                for (int x = 0; x < dims[0]; ++x)
                    if (defaced.valueAt(x, y, z) != head.valueAt(x, y, z)) {
                        ++changed;
                        brainChanged += brain.valueAt(x, y, z) > 0;
                    }
        EXPECT_EQ(brainChanged, 0u);
        EXPECT_GT(changed, 50'000u);
        const auto report = nlohmann::json::parse(stored.loadReportJson());
        ASSERT_TRUE(report.contains("defacing")) << report.dump(2);
        ASSERT_EQ(report["defacing"].size(), 1u);
        EXPECT_EQ(report["defacing"][0]["action"], "defaced");
        EXPECT_EQ(report["defacing"][0]["removedVoxels"].get<std::size_t>(), changed);
        EXPECT_NE(report["defacing"][0]["method"].get<std::string>().find("face plane"),
                  std::string::npos);
    }
};

TEST_F(DefacingImport, HeadMriNiftiIsStoredDefacedWithTheBrainIntact) {
    expectStoredDefacedHead(templates / "ch2.nii.gz");
}

TEST_F(DefacingImport, HeadMriDicomSeriesIsStoredDefacedWithTheBrainIntact) {
    const fs::path out = data.path() / "head-mr";
    const std::string command = "/usr/bin/python3 '" + std::string(RADMARK_SOURCE_DIR) +
                                "/tests/deid/write_head_mri_dicom.py' --nifti '" +
                                (templates / "ch2.nii.gz").string() + "' --out '" + out.string() +
                                "'";
    ASSERT_EQ(std::system(command.c_str()), 0);
    expectStoredDefacedHead(out);
}

TEST_F(DefacingImport, CtThatIsNotAHeadIsQuarantinedAndNothingIsStored) {
    const fs::path out = generatedBodyCt();
    const auto results = importStudies(admin, {out}, defacing());
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results.front().status, ImportStatus::Quarantined);
    EXPECT_NE(results.front().reason.find("cannot deface"), std::string::npos)
        << results.front().reason;
    EXPECT_EQ(storage::Studies(admin).list().size(), 0u);
}

TEST_F(DefacingImport, StudyAlreadyInTheStoreIsNotDefacedAgain) {
    // A body CT stored without defacing, imported again with deface on: it is already in the
    // store, which the import says before any defacing is tried (defacing it would fail).
    const fs::path out = generatedBodyCt();
    const auto first = importStudies(admin, {out});
    ASSERT_EQ(first.size(), 1u);
    ASSERT_EQ(first.front().status, ImportStatus::Imported) << first.front().reason;
    const auto again = importStudies(admin, {out}, defacing());
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(again.front().status, ImportStatus::AlreadyInStore) << again.front().reason;
    EXPECT_EQ(again.front().studyId, first.front().studyId);
}

} // namespace
} // namespace radmark::storage::testing
