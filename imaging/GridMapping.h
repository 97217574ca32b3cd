#pragma once
// Whether two grids hold the same voxels in another order: a mask a pipeline made on a NIfTI
// written by dcm2niix (rows flipped) or in another axis order covers the study's voxels one to
// one. The mapping is a signed permutation of the index axes plus a whole-voxel offset.

#include "imaging/Volume.h"

#include <array>
#include <cstddef>
#include <optional>
#include <string>

namespace radmark::imaging {

// onto index = for each axis i of `onto`: offset[i] + sign[i] * from index[axis[i]].
struct GridMapping {
    std::array<int, 3> axis{0, 1, 2}; // which axis of `from` runs along each axis of `onto`
    std::array<int, 3> sign{1, 1, 1}; // +1, or -1 when that axis runs the other way
    std::array<int, 3> offset{0, 0, 0};

    bool isIdentity() const {
        return axis == std::array<int, 3>{0, 1, 2} && sign == std::array<int, 3>{1, 1, 1} &&
               offset == std::array<int, 3>{0, 0, 0};
    }
    Index3 map(const Index3& fromIndex) const {
        Index3 out{};
        for (int i = 0; i < 3; ++i)
            out[i] = offset[i] + sign[i] * fromIndex[axis[i]];
        return out;
    }
};

// The mapping when every voxel centre of `from` is a voxel centre of `onto` and they cover the
// same voxels, within `toleranceVoxels` of a voxel in position and `toleranceRatio` in spacing
// and direction; otherwise nullopt and `why` names the difference (size, spacing, orientation
// or position), in words a radiologist reads.
std::optional<GridMapping> voxelMapping(const Geometry& from, const Geometry& onto,
                                        std::string* why = nullptr, double toleranceVoxels = 0.01,
                                        double toleranceRatio = 1e-3);

} // namespace radmark::imaging
