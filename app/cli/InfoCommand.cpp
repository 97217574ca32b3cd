// radmark-cli info PATH: per series, what a radiologist or IT needs to know before opening it.

#include "app/cli/Command.h"
#include "imaging/StudyReader.h"

#include <iostream>

namespace radmark::cli {
namespace {

int runInfo(Arguments& args, CommandIo& io) {
    args.allowOnly({});
    const std::string path = args.positional(0, "PATH");
    for (const auto& series : imaging::findSeries(path)) {
        io.out << "series " << series.key << ": " << series.modality << ", "
               << series.imageCount << " images, " << series.files.size() << " files\n";
    }
    return 0;
}

} // namespace
RADMARK_COMMAND("info", "PATH  dimensions, spacing, origin, direction, modality and range per series",
                runInfo);
} // namespace radmark::cli
