#pragma once
// Reads studies from disk into Volumes: DICOM series (folders, files, DICOMDIR) through GDCM,
// NIfTI / NRRD / MetaImage through ITK. The GUI and the CLI both open studies through here.

#include "imaging/Volume.h"

#include <filesystem>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace radmark::imaging {

// A failure the user caused (bad file, unsupported syntax, empty folder): one clear line
// naming the file. Never contains pixel data or patient attributes.
class ReadError : public std::runtime_error {
public:
    ReadError(std::filesystem::path file, std::string reason);
    const std::filesystem::path& file() const { return file_; }
    const std::string& reason() const { return reason_; }

private:
    std::filesystem::path file_;
    std::string reason_;
};

struct DicomSeriesLayout; // what a DICOM scan learnt about a series (internal to imaging/)

// Reports progress in [0, 1]; returning false cancels the read (ReadError "cancelled").
using Progress = std::function<bool(double fraction)>;

// One series found at a source: what a series picker shows before anything is decoded.
struct SeriesSummary {
    std::string key;         // opaque and stable: identifies the series at its source
    std::string format;      // "DICOM", "NIfTI", "NRRD", "MetaImage"
    std::string modality;    // "CT", "MR", ... or empty
    std::string description; // series description (as at the source; shown, never logged)
    int imageCount = 0;      // slices or frames
    std::vector<std::filesystem::path> files;
    std::vector<std::string> warnings; // found while scanning (unreadable files skipped, ...)
    // Set by findSeries for DICOM so readSeries does not parse the headers again; when empty
    // (a summary built by hand from files), readSeries scans the files itself.
    std::shared_ptr<const DicomSeriesLayout> dicomLayout;
};

// What a read noticed but did not change: non-uniform spacing, missing slices, mixed series.
struct ReadReport {
    std::vector<std::string> warnings;
};

// Lists the series at a folder, file or DICOMDIR. Throws ReadError when nothing readable is there.
std::vector<SeriesSummary> findSeries(const std::filesystem::path& source,
                                      const Progress& progress = {});

// Told, from the decoding threads, when a file's pixels start to be decoded (decoded false) and
// when they are in the volume (decoded true): the isolated decoder releases each file of a PACS
// retrieve as soon as its pixels are in. DICOM only; other formats are one file, never told.
using FileDecoding = std::function<void(const std::filesystem::path& file, bool decoded)>;

// Decodes one series into a Volume (CT in HU as int16, LPS geometry).
Volume readSeries(const SeriesSummary& series, const Progress& progress = {},
                  ReadReport* report = nullptr, const FileDecoding& fileDecoding = {});

// Convenience for sources holding exactly one series; throws ReadError listing the series
// when there are several.
Volume readVolume(const std::filesystem::path& source, const Progress& progress = {},
                  ReadReport* report = nullptr);

} // namespace radmark::imaging
