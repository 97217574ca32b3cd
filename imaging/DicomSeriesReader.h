#pragma once
// DICOM through GDCM (internal to imaging/): a header-only scan that groups images into series,
// then one pixel read per file straight into the Volume.

#include "imaging/StudyReader.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace radmark::imaging {

// What findSeries learnt about a DICOM series, kept so readSeries need not parse headers again
// (the isolated decoder sends it across, so a child that did not scan need not scan again).
struct DicomSeriesLayout {
    struct File {
        std::filesystem::path path;
        std::string transferSyntax;
        bool rawLittleEndian = false;       // uncompressed little endian: read straight from disk
        std::uint64_t pixelValueOffset = 0; // where the pixel bytes start, when rawLittleEndian
        int frames = 1;
    };
    struct Frame {
        int file = 0;
        int frame = 0;
        Vec3 position{0, 0, 0};
        double slope = 1, intercept = 0;
        int instanceNumber = 0;
    };
    std::vector<File> files;
    std::vector<Frame> frames; // sorted along the slice normal: frames[z] is slice z
    Geometry geometry;
    PixelType pixelType = PixelType::Int16;
    bool integralRescale = true;
    int rows = 0, columns = 0, samplesPerPixel = 1, bitsAllocated = 16, bitsStored = 16;
    bool signedPixels = false;
    bool planarByPlane = false;
    std::string photometric;
    std::string modality, description;
    std::vector<std::string> warnings;
};

} // namespace radmark::imaging

namespace radmark::imaging::dicom {

// Turns off, for the whole process, the guard that makes a GDCM abort() a ReadError: an abort
// then ends the process (radmark-decoder, whose parent names the file). For a process that may
// die of a file and must never hang on one.
void abortsEndTheProcess();
// Runs call as the reader runs its GDCM calls (under that guard unless it is off), for file.
void runAsLibraryCall(const std::filesystem::path& file, const std::function<void()>& call);

// True when file is a DICOMDIR (Media Storage Directory).
bool isDicomDir(const std::filesystem::path& file);

// The image files a DICOMDIR references, relative to its folder.
std::vector<std::filesystem::path> filesOfDicomDir(const std::filesystem::path& dicomdir);

// Scans headers only and groups the images by series (split when layouts disagree).
std::vector<SeriesSummary> scanSeries(const std::vector<std::filesystem::path>& files,
                                      bool singleFileGiven, const Progress& progress);

Volume readSeries(const SeriesSummary& series, const Progress& progress, ReadReport* report,
                  const FileDecoding& fileDecoding = {});

} // namespace radmark::imaging::dicom
