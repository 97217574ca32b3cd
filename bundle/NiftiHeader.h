#pragma once
// The 348-byte NIfTI-1 header of a .nii.gz file (dims, pixdim, qform, sform, datatype), read
// through zlib without decompressing the voxels, and the set of values a label file holds.
// Enough to check that an image and its label share one grid, as nnU-Net requires.

#include <array>
#include <cstdint>
#include <filesystem>
#include <set>
#include <string>

namespace radmark::bundle {

struct NiftiHeader {
    std::array<std::int64_t, 8> dim{}; // dim[0] = number of dimensions
    std::array<double, 8> pixdim{};
    int datatype = 0;
    int bitpix = 0;
    double voxOffset = 0;
    double sclSlope = 0;
    double sclInter = 0;
    int qformCode = 0;
    int sformCode = 0;
    std::array<double, 3> quatern{};
    std::array<double, 3> qoffset{};
    std::array<std::array<double, 4>, 3> srow{};
    bool swapped = false; // written big-endian

    std::uint64_t voxelCount() const;
    std::string shapeText() const; // "512x512x300"
};

// Throws BundleError naming the file when it is not a gzip'd NIfTI-1 file.
NiftiHeader readNiftiGzHeader(const std::filesystem::path& file);
// Where a and b differ as grids (shape, spacing, qform, sform), in words; empty when they agree
// within a relative 1e-5.
std::string gridDifference(const NiftiHeader& a, const NiftiHeader& b);
// Every distinct voxel value of an integer (or integral floating-point) label file, scaled by
// scl_slope/scl_inter when set; throws BundleError when truncated or not integral.
std::set<std::int64_t> niftiLabelValues(const std::filesystem::path& file,
                                        const NiftiHeader& header);

} // namespace radmark::bundle
