// radmark-cli info PATH: per series, what a radiologist or IT needs to know before opening it.

#include "app/cli/Command.h"
#include "imaging/StudyReader.h"
#include "imaging/decoder/IsolatedDecoder.h"

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace radmark::cli {
namespace {

std::string triple(const imaging::Vec3& v) {
    std::ostringstream s;
    s << std::setprecision(6) << v[0] << " x " << v[1] << " x " << v[2];
    return s.str();
}

std::string directionText(const std::array<double, 9>& d) {
    // One LPS vector per index axis, as DICOM writes orientation.
    std::ostringstream s;
    s << std::fixed << std::setprecision(4);
    for (int c = 0; c < 3; ++c) {
        s << (c ? "  " : "") << "[" << d[c] << " " << d[3 + c] << " " << d[6 + c] << "]";
    }
    return s.str();
}

int runInfo(Arguments& args, CommandIo& io) {
    decoder::prestartDecoder(); // its zygote starts while this command gets ready
    args.allowOnly({});
    const std::string path = args.positional(0, "PATH");
    // Files are read in the isolated decoder: a file that crashes it is one line here.
    decoder::IsolatedDecoder decoder;
    const auto allSeries = decoder.findSeries(path);
    int failures = 0;
    for (std::size_t i = 0; i < allSeries.size(); ++i) {
        const auto& series = allSeries[i];
        io.out << "series " << i + 1 << " of " << allSeries.size() << ": " << series.key << "\n"
               << "  format:      " << series.format << "\n"
               << "  modality:    " << (series.modality.empty() ? "unknown" : series.modality)
               << "\n"
               << "  files:       " << series.files.size() << "\n"
               << "  images:      " << series.imageCount << "\n";
        imaging::ReadReport report;
        try {
            const imaging::Volume volume = decoder.readSeries(series, {}, &report);
            const auto& g = volume.geometry();
            const auto [low, high] = volume.scalarRange();
            io.out << "  dimensions:  " << g.dims[0] << " x " << g.dims[1] << " x " << g.dims[2]
                   << "\n"
                   << "  spacing:     " << triple(g.spacing) << " mm\n"
                   << "  origin:      " << triple(g.origin) << " mm (LPS)\n"
                   << "  direction:   " << directionText(g.direction) << " (LPS, per axis)\n"
                   << "  voxel type:  " << imaging::pixelTypeName(volume.pixelType()) << "\n"
                   << "  range:       " << low << " .. " << high << "\n";
        } catch (const imaging::ReadError& e) {
            ++failures;
            io.out << "  error:       " << e.what() << "\n";
            io.err << "radmark-cli info: " << e.what() << "\n";
        }
        // What the scan noticed (files skipped, links refused) and what the read added.
        std::vector<std::string> warnings = series.warnings;
        for (const auto& w : report.warnings)
            if (std::find(warnings.begin(), warnings.end(), w) == warnings.end())
                warnings.push_back(w);
        for (const auto& w : warnings)
            io.out << "  warning:     " << w << "\n";
    }
    return failures == 0 ? 0 : 1;
}

} // namespace
RADMARK_COMMAND("info",
                "PATH  dimensions, spacing, origin, direction, modality and range per series",
                runInfo);
} // namespace radmark::cli
