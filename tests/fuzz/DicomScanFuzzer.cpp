// libFuzzer target: the DICOM header scan (findSeries on one file: DICOMDIR check, header
// parse, series grouping, geometry). A ReadError or another std::exception is the refusal the
// CLI prints; anything else escaping, or a sanitizer report in our code, is a bug.

#include "FuzzInput.h"

#include "imaging/StudyReader.h"

#include <exception>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static radmark::fuzz::InputFile input;
    try {
        const auto series = radmark::imaging::findSeries(input.hold(data, size));
        for (const auto& s : series)
            if (s.imageCount <= 0)
                __builtin_trap(); // a series without images must have been refused
    } catch (const std::exception&) {
    }
    return 0;
}
