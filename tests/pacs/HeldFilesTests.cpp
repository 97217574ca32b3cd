// Files that exist only in memory reach the isolated decoder: a sealed memfd holding pydicom's
// CT_small is scanned and decoded by radmark-decoder through /proc/self/fd/N, again by a fresh
// child after a restart (each child is given the files anew), and an unsealed memfd is refused.

#include "imaging/decoder/IsolatedDecoder.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace radmark::decoder {
namespace {

std::string fileBytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

TEST(HeldFiles, ASealedMemfdIsReadByTheDecoderAsAFile) {
    const std::string bytes = fileBytes(std::string(RADMARK_PYDICOM_DATA) + "/CT_small.dcm");
    ASSERT_FALSE(bytes.empty());
    UniqueFd instance = memfdWithBytes("test-instance", bytes.data(), bytes.size());
    IsolatedDecoder decoder;
    const auto paths = decoder.holdFiles({instance.get()});
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
}

TEST(HeldFiles, AnUnsealedMemfdIsRefused) {
    UniqueFd unsealed = createMemfd("test-unsealed", 16);
    IsolatedDecoder decoder;
    EXPECT_THROW(decoder.holdFiles({unsealed.get()}), ChannelError);
}

} // namespace
} // namespace radmark::decoder
