#pragma once
// Generated shapes for the agreement and consensus tests: an anisotropic grid turned by an
// oblique rotation, and solids painted where a predicate on the patient (LPS) position holds.

#include "annotation/LabelMap.h"

#include <cmath>
#include <functional>
#include <random>

namespace radmark::annotation::test {

// 0.7 x 0.9 x 2.5 mm voxels whose axes are turned 30 degrees about the oblique axis (1, 2, 3):
// a rotation, so lengths in mm are kept. The grid centre lies at `centre` (LPS).
inline imaging::Geometry obliqueGrid(Index3 dims, imaging::Vec3 centre = {10, -20, 30},
                                     imaging::Vec3 spacing = {0.7, 0.9, 2.5}) {
    imaging::Geometry g;
    g.dims = dims;
    g.spacing = spacing;
    const double n = std::sqrt(14.0), ux = 1 / n, uy = 2 / n, uz = 3 / n;
    const double angle = 30.0 * M_PI / 180.0, c = std::cos(angle), s = std::sin(angle), t = 1 - c;
    g.direction = {t * ux * ux + c,      t * ux * uy - s * uz, t * ux * uz + s * uy,
                   t * ux * uy + s * uz, t * uy * uy + c,      t * uy * uz - s * ux,
                   t * ux * uz - s * uy, t * uy * uz + s * ux, t * uz * uz + c};
    g.origin = {0, 0, 0};
    const imaging::Vec3 middle =
        g.indexToLps({(dims[0] - 1) / 2.0, (dims[1] - 1) / 2.0, (dims[2] - 1) / 2.0});
    for (int a = 0; a < 3; ++a)
        g.origin[std::size_t(a)] = centre[std::size_t(a)] - middle[std::size_t(a)];
    return g;
}

inline void paintWhere(LabelMap& labels, Label value,
                       const std::function<bool(const imaging::Vec3&)>& inside) {
    const auto& g = labels.geometry();
    for (int z = 0; z < g.dims[2]; ++z)
        for (int y = 0; y < g.dims[1]; ++y)
            for (int x = 0; x < g.dims[0]; ++x)
                if (inside(g.indexToLps({double(x), double(y), double(z)})))
                    labels.set(Index3{x, y, z}, value);
}

inline double distance(const imaging::Vec3& a, const imaging::Vec3& b) {
    return std::hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

inline void paintSphere(LabelMap& labels, Label value, imaging::Vec3 centre, double radius) {
    paintWhere(labels, value,
               [&](const imaging::Vec3& p) { return distance(p, centre) <= radius; });
}

// A ragged blob: a union of random balls, then random voxels flipped, so boundaries are rough
// and the shapes may touch the edge of the volume.
inline void paintRaggedBlob(LabelMap& labels, Label value, unsigned seed, int balls = 6,
                            double flipFraction = 0.02) {
    std::mt19937 random(seed);
    const auto& g = labels.geometry();
    std::uniform_real_distribution<double> unit(0, 1);
    std::vector<std::pair<Index3, double>> centres;
    for (int i = 0; i < balls; ++i)
        centres.push_back({Index3{int(unit(random) * g.dims[0]), int(unit(random) * g.dims[1]),
                                  int(unit(random) * g.dims[2])},
                           2 + unit(random) * 6});
    for (int z = 0; z < g.dims[2]; ++z)
        for (int y = 0; y < g.dims[1]; ++y)
            for (int x = 0; x < g.dims[0]; ++x) {
                bool in = false;
                for (const auto& [c, r] : centres)
                    in = in || std::hypot((x - c[0]) * g.spacing[0], (y - c[1]) * g.spacing[1],
                                          (z - c[2]) * g.spacing[2]) <= r;
                if (unit(random) < flipFraction)
                    in = !in;
                if (in)
                    labels.set(Index3{x, y, z}, value);
            }
}

} // namespace radmark::annotation::test
