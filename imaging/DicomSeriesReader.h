#pragma once
// DICOM through GDCM (internal to imaging/): a header-only scan that groups images into series,
// then one pixel read per file straight into the Volume.

#include "imaging/StudyReader.h"

#include <filesystem>
#include <vector>

namespace radmark::imaging::dicom {

// True when file is a DICOMDIR (Media Storage Directory).
bool isDicomDir(const std::filesystem::path& file);

// The image files a DICOMDIR references, relative to its folder.
std::vector<std::filesystem::path> filesOfDicomDir(const std::filesystem::path& dicomdir);

// Scans headers only and groups the images by series (split when layouts disagree).
std::vector<SeriesSummary> scanSeries(const std::vector<std::filesystem::path>& files,
                                      bool singleFileGiven, const Progress& progress);

Volume readSeries(const SeriesSummary& series, const Progress& progress, ReadReport* report);

} // namespace radmark::imaging::dicom
