// libFuzzer target: the header scan, then the pixel read of every series found (GDCM's codecs
// behind our conversion into a Volume), exactly as `radmark-cli info` and the viewer open a file.

#include "FuzzInput.h"

#include "imaging/StudyReader.h"

#include <exception>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static radmark::fuzz::InputFile input;
    std::vector<radmark::imaging::SeriesSummary> series;
    try {
        series = radmark::imaging::findSeries(input.hold(data, size));
    } catch (const std::exception&) {
        return 0;
    }
    for (const auto& s : series) {
        try {
            radmark::imaging::ReadReport report;
            const auto volume = radmark::imaging::readSeries(s, {}, &report);
            (void)volume;
        } catch (const std::exception&) {
        }
    }
    return 0;
}
