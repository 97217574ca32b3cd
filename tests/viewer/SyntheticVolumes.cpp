#include "SyntheticVolumes.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace radmark::testing {

SyntheticCt makeSyntheticCt(imaging::Index3 dims, imaging::Vec3 spacing,
                            std::array<double, 9> direction) {
    imaging::Geometry geometry;
    geometry.dims = dims;
    geometry.spacing = spacing;
    geometry.direction = direction;
    // Centre the grid on the LPS origin.
    imaging::Vec3 half{(dims[0] - 1) / 2.0 * spacing[0], (dims[1] - 1) / 2.0 * spacing[1],
                       (dims[2] - 1) / 2.0 * spacing[2]};
    for (int r = 0; r < 3; ++r) {
        geometry.origin[r] = 0;
        for (int c = 0; c < 3; ++c)
            geometry.origin[r] -= direction[r * 3 + c] * half[c];
    }
    SyntheticCt ct{imaging::Volume(geometry, imaging::PixelType::Int16), {}};
    ct.volume.modality = "CT";
    ct.volume.sourceFormat = "synthetic";

    // Marker at LPS (+0.25, -0.25, +0.25) of the extents: left, anterior, superior.
    const imaging::Vec3 extent{dims[0] * spacing[0], dims[1] * spacing[1], dims[2] * spacing[2]};
    const double reach = std::min({extent[0], extent[1], extent[2]});
    const imaging::Vec3 markerLps{0.22 * reach, -0.22 * reach, 0.22 * reach};
    ct.markerIndex = geometry.lpsToIndex(markerLps);
    const double markerRadius = 0.08 * reach;

    std::int16_t* voxels = ct.volume.as<std::int16_t>();
    for (int z = 0; z < dims[2]; ++z) {
        for (int y = 0; y < dims[1]; ++y) {
            for (int x = 0; x < dims[0]; ++x) {
                const imaging::Vec3 p = geometry.indexToLps({double(x), double(y), double(z)});
                const double body = (p[0] * p[0]) / (0.42 * 0.42 * reach * reach) +
                                    (p[1] * p[1]) / (0.36 * 0.36 * reach * reach) +
                                    (p[2] * p[2]) / (0.46 * 0.46 * reach * reach);
                const double dx = p[0] - markerLps[0], dy = p[1] - markerLps[1],
                             dz = p[2] - markerLps[2];
                std::int16_t value = -1000;
                if (body <= 1)
                    value =
                        std::int16_t(40 + ((x * 7 + y * 13 + z * 5) % 21) - 10); // a little texture
                if (dx * dx + dy * dy + dz * dz <= markerRadius * markerRadius)
                    value = 1000;
                voxels[ct.volume.offset(x, y, z)] = value;
            }
        }
    }
    ct.volume.invalidateScalarRange();
    return ct;
}

} // namespace radmark::testing
