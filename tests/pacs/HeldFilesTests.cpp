// Files that exist only in memory reach the isolated decoder: a sealed memfd holding pydicom's
// CT_small is scanned and decoded by radmark-decoder through /proc/self/fd/N, again by a fresh
// child after a restart (each child is given the files anew), and an unsealed memfd is refused.
// A releasing read frees each held file as its pixels come in: the child closes its copy, then
// this process (the kernel says the memfd is gone while the child still runs), and a later child
// is given only what is left.

#include "HeldTestSupport.h"
#include "imaging/decoder/IsolatedDecoder.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <set>

namespace radmark::decoder {
namespace {

namespace fs = std::filesystem;
using testing::fileBytes;

class ScratchFolder {
  public:
    ScratchFolder() {
        std::string pattern = (fs::temp_directory_path() / "radmark-held-test-XXXXXX").string();
        path_ = ::mkdtemp(pattern.data());
    }
    ~ScratchFolder() {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    const fs::path& path() const { return path_; }

  private:
    fs::path path_;
};

TEST(HeldFiles, ASealedMemfdIsReadByTheDecoderAsAFile) {
    const std::string bytes = fileBytes(std::string(RADMARK_PYDICOM_DATA) + "/CT_small.dcm");
    ASSERT_FALSE(bytes.empty());
    std::vector<UniqueFd> instances;
    instances.push_back(memfdWithBytes("test-instance", bytes.data(), bytes.size()));
    IsolatedDecoder decoder;
    const auto paths = decoder.holdFiles(std::move(instances));
    ASSERT_EQ(paths.size(), 1u);
    EXPECT_EQ(paths[0], "/proc/self/fd/1000");
    for (int child = 0; child < 2; ++child) {
        const auto series = decoder.findSeriesOfFiles(paths);
        ASSERT_EQ(series.size(), 1u);
        EXPECT_EQ(series[0].imageCount, 1);
        EXPECT_EQ(series[0].modality, "CT");
        const imaging::Volume volume = decoder.readSeries(series[0]);
        EXPECT_EQ(volume.geometry().dims[0], 128);
        EXPECT_EQ(volume.geometry().dims[2], 1);
        decoder.restart(); // the next child gets the held file again
    }
    EXPECT_EQ(decoder.heldFileCount(), 1u); // a plain read releases nothing
}

TEST(HeldFiles, AnUnsealedMemfdIsRefused) {
    std::vector<UniqueFd> unsealed;
    unsealed.push_back(createMemfd("test-unsealed", 16));
    IsolatedDecoder decoder;
    EXPECT_THROW(decoder.holdFiles(std::move(unsealed)), ChannelError);
}

TEST(PacsHeldFiles, AReleasingReadFreesEachFileInTheChildAndHere) {
    ScratchFolder scratch;
    const auto files = testing::generatedSeries(scratch.path() / "ct", 9);
    ASSERT_EQ(files.size(), 9u);
    std::vector<UniqueFd> instances = testing::instancesOf(files);
    // A second series held beside it: not read, so not released.
    const auto other = testing::instancesOf({fs::path(RADMARK_PYDICOM_DATA) / "CT_small.dcm"});
    instances.push_back(UniqueFd(::fcntl(other.front().get(), F_DUPFD_CLOEXEC, 0)));
    testing::ReleaseWatch watch(instances);
    IsolatedDecoder decoder;
    const auto paths = decoder.holdFiles(std::move(instances));
    const auto series = decoder.findSeriesOfFiles(paths);
    ASSERT_EQ(series.size(), 2u);
    const auto ct = std::find_if(series.begin(), series.end(),
                                 [](const auto& s) { return s.imageCount == 9; });
    ASSERT_NE(ct, series.end());
    EXPECT_TRUE(watch.released().empty()); // the scanning child holds them all
    // The child that scanned reads too: its own copies must be closed by it, while it runs.
    const pid_t reader = decoder.process().pid();
    const imaging::Volume volume = decoder.readSeriesReleasing(*ct);
    EXPECT_EQ(volume.geometry().dims[0], 48);
    EXPECT_EQ(volume.geometry().dims[1], 64);
    EXPECT_EQ(volume.geometry().dims[2], 9);
    EXPECT_TRUE(decoder.process().running());
    EXPECT_EQ(decoder.process().pid(), reader);
    EXPECT_EQ(decoder.heldFileCount(), 1u);
    const std::set<std::size_t> all = {0, 1, 2, 3, 4, 5, 6, 7, 8};
    EXPECT_EQ(watch.released(), all); // the last reference of each CT instance is gone
    // A fresh child gets only the file not yet released, and still reads it.
    decoder.restart();
    const auto small = std::find_if(series.begin(), series.end(),
                                    [](const auto& s) { return s.imageCount == 1; });
    ASSERT_NE(small, series.end());
    EXPECT_EQ(decoder.readSeriesReleasing(*small).geometry().dims[0], 128);
    EXPECT_EQ(decoder.heldFileCount(), 0u);
    // `other` still holds its own descriptor here: the held copy was released, the memfd is not
    // gone until the test lets go of it too.
    EXPECT_EQ(watch.released().count(9), 0u);
}

} // namespace
} // namespace radmark::decoder
