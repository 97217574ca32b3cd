#pragma once
// DICOM for dataset export: binary Segmentation objects (SEG) of a label map, packed by us (frames
// follow each other bit after bit, right for frames that are not a whole number of bytes such as
// 7x9, where Debian's DCMTK 3.6.7 dcmseg goes wrong), the de-identified source images a SEG
// references, and reading a SEG back for mask import. GDCM encodes and parses the datasets.

#include "imaging/NiftiWriter.h"
#include "imaging/StudyReader.h"
#include "imaging/Volume.h"

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace radmark::imaging {

// The export cannot be written as DICOM: headers that do not belong to the volume, a segment
// without a code, a value DICOM images cannot hold, a file that cannot be written.
struct DicomExportError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A coded concept: scheme "SCT" is SNOMED CT, "DCM" DICOM's own.
struct CodedTerm {
    std::string scheme;
    std::string code;
    std::string meaning;
    bool operator==(const CodedTerm&) const = default;
};

// One segment of a SEG. Writing: labelValue says which label map voxels it covers, and segment
// numbers are 1, 2, ... in the order given. Reading: labelValue is the segment number.
struct SegmentDescription {
    std::uint16_t labelValue = 0;
    std::string name;                           // Segment Label
    std::array<std::uint8_t, 3> rgb{255, 0, 0}; // written as Recommended Display CIELab Value
    CodedTerm category;                         // Segmented Property Category
    CodedTerm type;                             // Segmented Property Type
    std::string algorithmType = "MANUAL";       // MANUAL, SEMIAUTOMATIC or AUTOMATIC
    std::string algorithmName;                  // required unless MANUAL
    bool operator==(const SegmentDescription&) const = default;
};

using DicomBytes = std::vector<std::uint8_t>;

struct SegOptions {
    // Content Date and Time (YYYYMMDD, HHMMSS): the caller's, so a re-export is the same bytes.
    std::string contentDate;
    std::string contentTime;
    // What tells this SEG from others of the same series (e.g. "dataset revision / case"). With
    // the segments and every voxel it decides the SEG's UIDs (2.25 from a hash), so the same
    // input gives the same UIDs and different input different ones.
    std::string uidSeed;
    std::string seriesDescription = "Segmentation";
    int seriesNumber = 1000;
    std::string contentLabel = "SEGMENTATION"; // CS: capitals, digits, space, underscore
    std::string contentDescription;
    std::string contentCreator; // PN; empty is allowed
    std::string manufacturer = "Radmark";
    std::string modelName = "Radmark";
    std::string softwareVersions = "Radmark";
    std::string deviceSerialNumber = "1";
};

struct DicomWritten {
    std::uint64_t bytes = 0;
    std::string sopInstanceUid;
    std::string seriesInstanceUid;
    int frames = 0;
};

// A binary SEG of `labels` with one frame per segment and slice, empty frames included, over the
// series whose de-identified headers are `sourceHeaders` (StoredStudy::loadHeaders: file meta and
// dataset without pixel data, one per image, in any order; each is matched to its slice by its
// Image Position). Patient, study and frame of reference come from those headers as they are.
// Throws DicomExportError.
DicomBytes dicomSegBytes(const LabelVoxels& labels, const std::vector<SegmentDescription>& segments,
                         const std::vector<DicomBytes>& sourceHeaders, const SegOptions& options,
                         DicomWritten* written = nullptr);
DicomWritten writeDicomSeg(const LabelVoxels& labels,
                           const std::vector<SegmentDescription>& segments,
                           const std::vector<DicomBytes>& sourceHeaders, const SegOptions& options,
                           const std::filesystem::path& path);

struct SourceImagesWritten {
    std::vector<std::filesystem::path> files; // slice order: folder/slice-0001.dcm, ...
    std::uint64_t bytes = 0;
};

// The series' images again, from its de-identified headers and the stored volume's voxels (after
// burned-in text removal and defacing, if any): Explicit VR Little Endian, uncompressed, the pixels
// as the volume holds them (CT: signed 16-bit HU with Rescale Slope 1 and Intercept 0, so header
// and pixels agree). Their UIDs are the headers' (the SEG references them). Throws
// DicomExportError (a floating-point volume, headers of another series, a file not written).
SourceImagesWritten writeDicomSourceImages(const Volume& volume,
                                           const std::vector<DicomBytes>& sourceHeaders,
                                           const std::filesystem::path& folder);

// ---- reading -------------------------------------------------------------------------------

struct SegmentationFrame {
    std::uint16_t segmentNumber = 0;
    Vec3 position{0, 0, 0};        // Image Position (Patient) of the first pixel
    Vec3 rowDirection{1, 0, 0};    // along a row: increasing column index
    Vec3 columnDirection{0, 1, 0}; // down a column: increasing row index
    double rowSpacing = 1;         // between rows, mm
    double columnSpacing = 1;      // between columns, mm
};

struct DicomSegmentation {
    int rows = 0;
    int columns = 0;
    std::vector<SegmentDescription> segments; // labelValue = Segment Number
    std::vector<SegmentationFrame> frames;
    std::vector<std::uint8_t> packedBits; // the Pixel Data: frame after frame, one bit a pixel

    bool pixel(std::size_t frame, int row, int column) const {
        const std::size_t bit =
            (frame * std::size_t(rows) + std::size_t(row)) * std::size_t(columns) +
            std::size_t(column);
        return (packedBits[bit >> 3] >> (bit & 7)) & 1;
    }
};

// True when the file is a DICOM Segmentation (reads its header only).
bool isDicomSegmentation(const std::filesystem::path& file);
// A BINARY SEG with its frames' geometry. Throws ReadError (not a SEG, fractional, malformed).
DicomSegmentation readDicomSegmentation(const std::filesystem::path& file);

// Where a frame lies on a grid: pixel (row r, column c) is voxel first + c*columnStep + r*rowStep,
// each step one voxel along one axis. nullopt, and `why` in words, when the frame's pixels are
// not the grid's voxels (another orientation, spacing or position, or outside the grid).
struct FramePlacement {
    Index3 first{0, 0, 0};
    Index3 columnStep{1, 0, 0};
    Index3 rowStep{0, 1, 0};
};
std::optional<FramePlacement> placeFrame(const DicomSegmentation& seg, std::size_t frame,
                                         const Geometry& grid, std::string* why = nullptr);

} // namespace radmark::imaging
