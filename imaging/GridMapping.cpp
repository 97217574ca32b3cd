#include "imaging/GridMapping.h"

#include <cmath>
#include <sstream>

namespace radmark::imaging {

namespace {

// The world step of one index along axis j (LPS mm): spacing times the direction column.
Vec3 step(const Geometry& g, int j) {
    return {g.spacing[j] * g.direction[0 * 3 + j], g.spacing[j] * g.direction[1 * 3 + j],
            g.spacing[j] * g.direction[2 * 3 + j]};
}

double dot(const Vec3& a, const Vec3& b) {
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}
double norm(const Vec3& a) {
    return std::sqrt(dot(a, a));
}

std::string dimsText(const Index3& d) {
    return std::to_string(d[0]) + "x" + std::to_string(d[1]) + "x" + std::to_string(d[2]);
}

std::string spacingText(const Vec3& s) {
    std::ostringstream out;
    out.precision(4);
    out << s[0] << " x " << s[1] << " x " << s[2] << " mm";
    return out.str();
}

} // namespace

std::optional<GridMapping> voxelMapping(const Geometry& from, const Geometry& onto,
                                        std::string* why, double toleranceVoxels,
                                        double toleranceRatio) {
    auto refuse = [&](std::string reason) -> std::optional<GridMapping> {
        if (why)
            *why = std::move(reason);
        return std::nullopt;
    };
    GridMapping mapping;
    std::array<bool, 3> used{false, false, false};
    // Each axis of `onto` must be parallel to one axis of `from`, with the same spacing.
    for (int i = 0; i < 3; ++i) {
        const Vec3 target = step(onto, i);
        int found = -1;
        for (int j = 0; j < 3 && found < 0; ++j) {
            if (used[j])
                continue;
            const Vec3 candidate = step(from, j);
            const double cosine = dot(target, candidate) / (norm(target) * norm(candidate));
            if (std::abs(std::abs(cosine) - 1) > toleranceRatio)
                continue;
            found = j;
            mapping.axis[i] = j;
            mapping.sign[i] = cosine > 0 ? 1 : -1;
        }
        if (found < 0)
            return refuse("The mask's axes are not parallel to the study's: it was made in "
                          "another orientation.");
        used[found] = true;
        const double a = onto.spacing[i], b = from.spacing[mapping.axis[i]];
        if (std::abs(a - b) > toleranceRatio * std::max(a, b))
            return refuse("The mask's voxels are " + spacingText(from.spacing) +
                          " but the study's are " + spacingText(onto.spacing) + ".");
        if (onto.dims[i] != from.dims[mapping.axis[i]]) {
            std::ostringstream reason;
            reason << "The mask is " << dimsText(from.dims) << " voxels but the study is "
                   << dimsText(onto.dims) << ".";
            return refuse(reason.str());
        }
    }
    // Where the first voxel of `from` lies in `onto`'s index space: a whole voxel, at the start
    // of each axis that runs the same way and at the end of each that runs the other way.
    const Vec3 start = onto.lpsToIndex(from.origin);
    for (int i = 0; i < 3; ++i) {
        const double rounded = std::round(start[i]);
        if (std::abs(start[i] - rounded) > toleranceVoxels)
            return refuse("The mask's voxels lie between the study's (offset " +
                          std::to_string(start[i] - rounded) +
                          " voxel): it was made on a different grid.");
        mapping.offset[i] = int(rounded);
        const int expected = mapping.sign[i] > 0 ? 0 : onto.dims[i] - 1;
        if (mapping.offset[i] != expected)
            return refuse("The mask has the study's size and orientation but is shifted by " +
                          std::to_string(mapping.offset[i] - expected) +
                          " voxels: it covers other voxels than the study.");
    }
    return mapping;
}

} // namespace radmark::imaging
