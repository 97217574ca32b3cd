// A PACS retrieve's instances (sealed memfds) imported by storage::importHeldInstances, which
// takes them over: a study's instances are freed as it goes (by this process and by every decoder
// child: the kernel says each memfd is gone before the import ends), a file that crashes the
// decoder midway is named ("instance K") while the studies around it are imported, and once the
// import returns no descriptor of an instance is left open here. A file that crashes the header
// scan (radmark-decoder-test's marker) is named too, and the others are imported.

#include "../storage/StoreTestSupport.h"
#include "HeldTestSupport.h"
#include "storage/StudyImport.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <set>

namespace radmark::storage::testing {
namespace {

namespace fs = std::filesystem;
using decoder::testing::openInstanceDescriptors;

TEST(PacsHeldImport, ACrashMidwayIsNamedTheRestIsImportedAndEveryInstanceIsFreed) {
    TestStore store;
    Session admin = store.admin();
    TempDir data;
    // Instances 1-3 and 5-7: a generated CT; instance 4: a JPEG 2000 file whose decoder writes
    // past its buffer (tests/decoder/data); instance 8: pydicom's CT_small.
    const auto ct = decoder::testing::generatedSeries(data.path() / "ct", 6);
    ASSERT_EQ(ct.size(), 6u);
    const fs::path crashing = fs::path(RADMARK_SOURCE_DIR) /
                              "tests/decoder/data/info-SIGSEGV-JPEG2000-56b65079fed9.dcm";
    std::vector<fs::path> files = {ct[0], ct[1], ct[2], crashing, ct[3], ct[4], ct[5],
                                   fs::path(RADMARK_PYDICOM_DATA) / "CT_small.dcm"};
    auto instances = decoder::testing::instancesOf(files);
    decoder::testing::ReleaseWatch watch(instances);
    const std::set<std::size_t> ctInstances = {0, 1, 2, 4, 5, 6};
    ASSERT_EQ(openInstanceDescriptors(), 8);

    ImportOptions options;
    // The crashing file is a secondary capture: with pixel cleaning on it would be quarantined
    // for burned-in text before its pixels are decoded.
    options.profile.cleanPixelData = false;
    std::optional<std::set<std::size_t>> atFirstStoring;
    const auto results = importHeldInstances(
        admin, std::move(instances), "PACS test", options,
        [&](double, const std::string& stage) {
            if (stage == "storing" && !atFirstStoring)
                atFirstStoring = watch.released();
            return true;
        });

    // One line per study: the CT (6 files) and CT_small imported, the crashing one named.
    ASSERT_EQ(results.size(), 3u);
    int imported = 0;
    std::vector<int> fileCounts;
    std::string failure;
    for (const auto& result : results) {
        if (result.status == ImportStatus::Imported) {
            ++imported;
            fileCounts.push_back(result.fileCount);
        } else {
            EXPECT_EQ(result.status, ImportStatus::Failed);
            failure = result.reason;
        }
    }
    EXPECT_EQ(imported, 2);
    std::sort(fileCounts.begin(), fileCounts.end());
    EXPECT_EQ(fileCounts, (std::vector<int>{1, 6}));
    // A fault, or glibc's heap check aborting, as the JPEG 2000 decoder's overrun lies.
    const std::string named = "the pixels could not be read: instance 4: the decoder ";
    EXPECT_EQ(failure.rfind(named, 0), 0u) << failure;
    EXPECT_NE(failure.find(" while decoding pixel data"), std::string::npos) << failure;

    // While the import ran, a stored study's instances were already gone (all of the CT's or
    // none of them, whichever study came first), and not everything was.
    ASSERT_TRUE(atFirstStoring.has_value());
    EXPECT_FALSE(atFirstStoring->empty());
    EXPECT_LT(atFirstStoring->size(), 8u);
    const auto ctReleased = std::count_if(ctInstances.begin(), ctInstances.end(),
                                          [&](std::size_t i) { return atFirstStoring->count(i); });
    EXPECT_TRUE(ctReleased == 0 || ctReleased == 6) << ctReleased << " of the CT's 6 instances";
    // Afterwards: every memfd freed, and none of them open in this process.
    EXPECT_EQ(watch.released().size(), 8u);
    EXPECT_EQ(openInstanceDescriptors(), 0);
}

TEST(PacsHeldImport, AFileThatCrashesTheHeaderScanIsNamedAndTheOthersAreImported) {
    // radmark-decoder-test dies of SIGSEGV on a file that starts with its marker, in the scan.
    ::setenv("RADMARK_DECODER", RADMARK_DECODER_TEST_PROGRAM, 1);
    struct Unset {
        ~Unset() { ::unsetenv("RADMARK_DECODER"); }
    } unset;
    TestStore store;
    Session admin = store.admin();
    TempDir data;
    const auto ct = decoder::testing::generatedSeries(data.path() / "ct", 4);
    ASSERT_EQ(ct.size(), 4u);
    auto instances = decoder::testing::instancesOf({ct[0], ct[1]});
    const std::string marker = "RADMARK-TEST-CRASH-IN-SCAN, not DICOM";
    instances.push_back(decoder::memfdWithBytes("test-instance", marker.data(), marker.size()));
    for (auto& more : decoder::testing::instancesOf({ct[2], ct[3]}))
        instances.push_back(std::move(more));
    decoder::testing::ReleaseWatch watch(instances);
    ImportOptions options;
    options.profile.cleanPixelData = false;
    const auto results = importHeldInstances(admin, std::move(instances), "PACS test", options);
    ASSERT_EQ(results.size(), 2u);
    EXPECT_EQ(results[0].status, ImportStatus::Failed);
    EXPECT_EQ(results[0].reason,
              "instance 3: the decoder crashed (SIGSEGV) while reading its header");
    EXPECT_EQ(results[1].status, ImportStatus::Imported) << results[1].reason;
    EXPECT_EQ(results[1].fileCount, 4);
    EXPECT_EQ(watch.released().size(), 5u);
    EXPECT_EQ(openInstanceDescriptors(), 0);
}

} // namespace
} // namespace radmark::storage::testing
