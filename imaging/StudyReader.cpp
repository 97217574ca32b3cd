#include "imaging/StudyReader.h"

#include "imaging/DicomSeriesReader.h"
#include "imaging/ItkImageReader.h"
#include "imaging/SourceFolder.h"

#include <algorithm>

namespace radmark::imaging {

namespace fs = std::filesystem;

ReadError::ReadError(fs::path file, std::string reason)
    : std::runtime_error(file.string() + ": " + reason), file_(std::move(file)),
      reason_(std::move(reason)) {}

std::vector<SeriesSummary> findSeries(const fs::path& source, const Progress& progress) {
    std::error_code ec;
    const auto status = fs::status(source, ec);
    if (ec || !fs::exists(status))
        throw ReadError(source, "does not exist");

    if (fs::is_regular_file(status)) {
        if (!itkio::formatOf(source).empty())
            return {itkio::describe(source)};
        if (dicom::isDicomDir(source))
            return dicom::scanSeries(dicom::filesOfDicomDir(source), false, progress);
        return dicom::scanSeries({source}, true, progress);
    }
    if (!fs::is_directory(status))
        throw ReadError(source, "is neither a file nor a folder");

    std::vector<fs::path> dicomFiles;
    std::vector<SeriesSummary> result;
    const FolderListing listing = listFolder(source, /*skipHidden=*/true);
    const std::vector<fs::path>& imageFiles = listing.files;
    if (imageFiles.empty())
        throw ReadError(source,
                        listing.linksRefused == 0
                            ? "is an empty folder: no image files found"
                            : "holds no image files of its own: " + listing.refusedSummary());
    // In a folder, one bad file must not hide the good ones: skip it and say so.
    std::vector<ReadError> skipped;
    for (const auto& file : imageFiles) {
        if (itkio::formatOf(file).empty()) {
            dicomFiles.push_back(file);
            continue;
        }
        try {
            result.push_back(itkio::describe(file));
        } catch (const ReadError& e) {
            skipped.push_back(e);
        }
    }
    if (!dicomFiles.empty()) {
        try {
            auto dicomSeries = dicom::scanSeries(dicomFiles, false, progress);
            result.insert(result.end(), dicomSeries.begin(), dicomSeries.end());
        } catch (const ReadError& e) {
            if (e.reason() == "cancelled")
                throw;
            skipped.push_back(e);
        }
    }
    if (result.empty())
        throw skipped.size() == 1
            ? skipped.front()
            : ReadError(source, "holds no readable images (" + std::to_string(skipped.size()) +
                                    " problems; first: " + skipped.front().what() + ")");
    if (!skipped.empty())
        for (auto& series : result)
            series.warnings.push_back(std::to_string(skipped.size()) +
                                      " other file(s) or group(s) could not be read (first: " +
                                      skipped.front().what() + ")");
    if (listing.linksRefused > 0)
        for (auto& series : result)
            series.warnings.push_back(listing.refusedSummary());
    return result;
}

Volume readSeries(const SeriesSummary& series, const Progress& progress, ReadReport* report,
                  const FileDecoding& fileDecoding) {
    if (series.format == "DICOM" || series.dicomLayout)
        return dicom::readSeries(series, progress, report, fileDecoding);
    if (series.files.size() == 1 && !itkio::formatOf(series.files.front()).empty())
        return itkio::read(series.files.front(), progress, report);
    if (series.files.empty())
        throw ReadError(series.key, "the series lists no files");
    return dicom::readSeries(series, progress, report, fileDecoding);
}

Volume readVolume(const fs::path& source, const Progress& progress, ReadReport* report) {
    auto series = findSeries(source, progress);
    if (series.size() != 1) {
        std::string list;
        for (const auto& s : series)
            list += "\n  " + s.key + " (" + s.modality + ", " + std::to_string(s.imageCount) +
                    " images)";
        throw ReadError(source,
                        "holds " + std::to_string(series.size()) + " series; choose one:" + list);
    }
    return readSeries(series.front(), progress, report);
}

} // namespace radmark::imaging
