#include "imaging/StudyReader.h"

namespace radmark::imaging {

ReadError::ReadError(std::filesystem::path file, std::string reason)
    : std::runtime_error(file.string() + ": " + reason), file_(std::move(file)),
      reason_(std::move(reason)) {}

std::vector<SeriesSummary> findSeries(const std::filesystem::path& source, const Progress&) {
    throw ReadError(source, "reading studies is not implemented yet");
}

Volume readSeries(const SeriesSummary& series, const Progress&, ReadReport*) {
    throw ReadError(series.key, "reading studies is not implemented yet");
}

Volume readVolume(const std::filesystem::path& source, const Progress& progress,
                  ReadReport* report) {
    auto series = findSeries(source, progress);
    if (series.size() != 1) {
        std::string list;
        for (const auto& s : series)
            list += "\n  " + s.key + " (" + s.modality + ", " + std::to_string(s.imageCount) +
                    " images)";
        throw ReadError(source, "holds " + std::to_string(series.size()) +
                                    " series; choose one:" + list);
    }
    return readSeries(series.front(), progress, report);
}

} // namespace radmark::imaging
