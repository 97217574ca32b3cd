#pragma once
// NIfTI, NRRD and MetaImage through ITK (internal to imaging/). ITK's templates live in
// ItkImageReader.cpp only: it is slow to compile.

#include "imaging/StudyReader.h"

#include <filesystem>

namespace radmark::imaging::itkio {

// "NIfTI", "NRRD", "MetaImage" by file name, or empty when ITK is not the reader for it.
std::string formatOf(const std::filesystem::path& file);

// Reads only the header: what a series picker needs.
SeriesSummary describe(const std::filesystem::path& file);

Volume read(const std::filesystem::path& file, const Progress& progress, ReadReport* report);

} // namespace radmark::imaging::itkio
