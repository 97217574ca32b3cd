#pragma once
// NIfTI-1 files (.nii.gz) for dataset export, as nnU-Net, MONAI and nibabel read them: RAS affine
// with sform and qform both set and equal (code 1, scanner), mm, slope 1 and intercept 0, and a
// gzip stream that is the same bytes for the same input (mtime 0, no file name), compressed in
// parallel with libdeflate as independent gzip members (a valid gzip stream: gzip, zlib's gzread,
// Python's gzip module and so nibabel and ITK read it whole).

#include "imaging/Volume.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <stdexcept>

namespace radmark::imaging {

// A file that could not be written (disk full, folder missing) or a label the caller did not
// map; the message names the file or the label. Nothing half-written is left at the path.
struct NiftiWriteError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Row-major 4x4 from voxel index (x, y, z, 1) to RAS world mm: the affine a NIfTI reader reports
// (LPS geometry with its first two world axes negated).
std::array<double, 16> rasAffine(const Geometry& geometry);

struct GzipSettings {
    // libdeflate level; 0 picks the measured default: 1 for images (noisy CT compresses to within
    // 1 % of `gzip -6` at ~150 MB/s a core), 6 for label maps (long runs: as small as `gzip -6`
    // at ~200 MB/s a core, where level 1 is 25 % larger).
    int level = 0;
    int threads = 0; // 0: one per core
    // Uncompressed bytes per gzip member. The split depends only on this, never on the number of
    // threads, so the output bytes do not either.
    std::size_t memberBytes = std::size_t(4) << 20;
};

// Sees the file's bytes in order as they are written (to hash them on the way, for instance).
using ByteSink = std::function<void(const std::uint8_t* data, std::size_t size)>;

struct NiftiOptions {
    GzipSettings gzip;
    ByteSink onBytes;
};

struct NiftiWritten {
    std::uint64_t fileBytes = 0;  // the .nii.gz on disk
    std::uint64_t niftiBytes = 0; // header and voxels before compression
};

// The volume's voxels as they are (CT: int16 HU; the store keeps them rescaled), with its
// geometry. Throws NiftiWriteError.
NiftiWritten writeNiftiImage(const Volume& volume, const std::filesystem::path& path,
                             const NiftiOptions& options = {});

// A label map's voxels (x fastest, little-endian 16-bit when bytesPerLabel is 2) on `geometry`.
struct LabelVoxels {
    const Geometry& geometry;
    const std::uint8_t* data;
    int bytesPerLabel; // 1 or 2
};

// Label values go through `datasetValue` (annotation label -> dataset integer; 0 stays 0) on the
// way: the file holds uint8 when every dataset integer fits, else uint16, and NIFTI_INTENT_LABEL.
// A label present in the voxels but missing from the map is a NiftiWriteError naming it.
NiftiWritten writeNiftiLabels(const LabelVoxels& labels,
                              const std::map<std::uint16_t, std::uint16_t>& datasetValue,
                              const std::filesystem::path& path, const NiftiOptions& options = {});

} // namespace radmark::imaging
