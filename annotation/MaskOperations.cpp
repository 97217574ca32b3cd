#include "annotation/MaskOperations.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace radmark::annotation {

namespace {
constexpr double infinity = std::numeric_limits<double>::infinity();

// Lower envelope of parabolas (Felzenszwalb & Huttenlocher) for one line with spacing s.
void distanceAlongLine(std::vector<double>& f, double s, std::vector<double>& out,
                       std::vector<int>& v, std::vector<double>& z) {
    const int n = int(f.size());
    int k = -1;
    for (int q = 0; q < n; ++q) {
        if (f[std::size_t(q)] == infinity)
            continue;
        const double fq = f[std::size_t(q)] + (q * s) * (q * s);
        double boundary = -infinity;
        while (k >= 0) {
            const int p = v[std::size_t(k)];
            boundary = (fq - (f[std::size_t(p)] + (p * s) * (p * s))) / (2 * s * (q - p));
            if (boundary <= z[std::size_t(k)]) {
                --k;
                boundary = -infinity;
            } else {
                break;
            }
        }
        ++k;
        v[std::size_t(k)] = q;
        z[std::size_t(k)] = boundary;
        z[std::size_t(k) + 1] = infinity;
    }
    if (k < 0) {
        std::fill(out.begin(), out.end(), infinity);
        return;
    }
    int j = 0;
    for (int q = 0; q < n; ++q) {
        const double x = q * s;
        while (z[std::size_t(j) + 1] < x)
            ++j;
        const double d = x - v[std::size_t(j)] * s;
        out[std::size_t(q)] = d * d + f[std::size_t(v[std::size_t(j)])];
    }
}

RegionMask sameBox(const RegionMask& mask) {
    RegionMask out;
    out.origin = mask.origin;
    out.dims = mask.dims;
    out.spacing = mask.spacing;
    out.voxels.assign(mask.voxels.size(), 0);
    return out;
}
} // namespace

std::size_t RegionMask::count() const {
    return std::size_t(std::count(voxels.begin(), voxels.end(), std::uint8_t(1)));
}

VoxelRegion padRegion(const VoxelRegion& region, const Index3& pad, const Index3& dims) {
    VoxelRegion out = region;
    for (int a = 0; a < 3; ++a) {
        out.min[a] = std::max(0, region.min[a] - pad[a]);
        out.max[a] = std::min(dims[a] - 1, region.max[a] + pad[a]);
    }
    return out;
}

Index3 voxelsForDistance(double mm, const imaging::Vec3& spacing) {
    Index3 n{};
    for (int a = 0; a < 3; ++a)
        n[a] = int(std::ceil(std::abs(mm) / spacing[a] - 1e-9)) + 1;
    return n;
}

RegionMask extractMask(const LabelMap& labels, Label label, const VoxelRegion& region) {
    RegionMask mask;
    mask.origin = region.min;
    mask.spacing = labels.geometry().spacing;
    if (region.empty())
        return mask;
    for (int a = 0; a < 3; ++a)
        mask.dims[a] = region.max[a] - region.min[a] + 1;
    mask.voxels.assign(std::size_t(mask.dims[0]) * mask.dims[1] * mask.dims[2], 0);
    std::size_t i = 0;
    for (int z = 0; z < mask.dims[2]; ++z) {
        for (int y = 0; y < mask.dims[1]; ++y) {
            std::size_t li = labels.index(region.min[0], region.min[1] + y, region.min[2] + z);
            for (int x = 0; x < mask.dims[0]; ++x, ++i, ++li) {
                mask.voxels[i] = labels.at(li) == label ? 1 : 0;
            }
        }
    }
    return mask;
}

void applyMaskChange(Stroke& stroke, const RegionMask& before, const RegionMask& after,
                     Label label) {
    std::size_t i = 0;
    for (int z = 0; z < before.dims[2]; ++z) {
        for (int y = 0; y < before.dims[1]; ++y) {
            for (int x = 0; x < before.dims[0]; ++x, ++i) {
                if (before.voxels[i] == after.voxels[i])
                    continue;
                const Index3 p{before.origin[0] + x, before.origin[1] + y, before.origin[2] + z};
                if (after.voxels[i]) {
                    stroke.write(p, label);
                } else {
                    stroke.erase(p, label);
                }
            }
        }
    }
}

std::vector<float> squaredDistanceMap(const RegionMask& mask, std::uint8_t target) {
    const auto& d = mask.dims;
    std::vector<float> result(mask.size());
    std::vector<double> work(mask.size());
    for (std::size_t i = 0; i < mask.size(); ++i) {
        work[i] = mask.voxels[i] == target ? 0.0 : infinity;
    }
    const int longest = std::max({d[0], d[1], d[2]});
    std::vector<double> line, out;
    std::vector<int> v(std::size_t(longest) + 1);
    std::vector<double> z(std::size_t(longest) + 2);
    const std::size_t stride[3] = {1, std::size_t(d[0]), std::size_t(d[0]) * std::size_t(d[1])};
    for (int axis = 0; axis < 3; ++axis) {
        const int n = d[axis];
        if (n <= 1)
            continue;
        line.resize(std::size_t(n));
        out.resize(std::size_t(n));
        const int a1 = axis == 0 ? 1 : 0, a2 = axis == 2 ? 1 : 2;
        for (int j = 0; j < d[a2]; ++j) {
            for (int i = 0; i < d[a1]; ++i) {
                const std::size_t start = std::size_t(i) * stride[a1] + std::size_t(j) * stride[a2];
                for (int q = 0; q < n; ++q)
                    line[std::size_t(q)] = work[start + q * stride[axis]];
                distanceAlongLine(line, mask.spacing[axis], out, v, z);
                for (int q = 0; q < n; ++q)
                    work[start + q * stride[axis]] = out[std::size_t(q)];
            }
        }
    }
    for (std::size_t i = 0; i < mask.size(); ++i)
        result[i] = float(work[i]);
    return result;
}

RegionMask grow(const RegionMask& mask, double mm) {
    RegionMask out = sameBox(mask);
    const auto distance = squaredDistanceMap(mask, 1);
    const double limit = mm * mm * (1 + 1e-9);
    for (std::size_t i = 0; i < mask.size(); ++i)
        out.voxels[i] = distance[i] <= limit ? 1 : 0;
    return out;
}

RegionMask shrink(const RegionMask& mask, double mm) {
    RegionMask out = sameBox(mask);
    const auto distance = squaredDistanceMap(mask, 0);
    const double limit = mm * mm * (1 + 1e-9);
    for (std::size_t i = 0; i < mask.size(); ++i) {
        out.voxels[i] = mask.voxels[i] && distance[i] > limit ? 1 : 0;
    }
    return out;
}

RegionMask opening(const RegionMask& mask, double mm) {
    return grow(shrink(mask, mm), mm);
}
RegionMask closing(const RegionMask& mask, double mm) {
    return shrink(grow(mask, mm), mm);
}

RegionMask median(const RegionMask& mask, const Index3& radius) {
    const auto& d = mask.dims;
    // Summed-volume table with one zero border on each axis.
    const std::size_t sx = std::size_t(d[0]) + 1, sy = std::size_t(d[1]) + 1;
    std::vector<std::uint32_t> sum(sx * sy * (std::size_t(d[2]) + 1), 0);
    auto at = [&](int x, int y, int z) -> std::uint32_t& {
        return sum[(std::size_t(z) * sy + std::size_t(y)) * sx + std::size_t(x)];
    };
    for (int z = 1; z <= d[2]; ++z) {
        for (int y = 1; y <= d[1]; ++y) {
            for (int x = 1; x <= d[0]; ++x) {
                at(x, y, z) = mask.voxels[mask.index(x - 1, y - 1, z - 1)] + at(x - 1, y, z) +
                              at(x, y - 1, z) + at(x, y, z - 1) - at(x - 1, y - 1, z) -
                              at(x - 1, y, z - 1) - at(x, y - 1, z - 1) + at(x - 1, y - 1, z - 1);
            }
        }
    }
    RegionMask out = sameBox(mask);
    for (int z = 0; z < d[2]; ++z) {
        const int z0 = std::max(0, z - radius[2]), z1 = std::min(d[2], z + radius[2] + 1);
        for (int y = 0; y < d[1]; ++y) {
            const int y0 = std::max(0, y - radius[1]), y1 = std::min(d[1], y + radius[1] + 1);
            for (int x = 0; x < d[0]; ++x) {
                const int x0 = std::max(0, x - radius[0]), x1 = std::min(d[0], x + radius[0] + 1);
                const std::int64_t ones = std::int64_t(at(x1, y1, z1)) - at(x0, y1, z1) -
                                          at(x1, y0, z1) - at(x1, y1, z0) + at(x0, y0, z1) +
                                          at(x0, y1, z0) + at(x1, y0, z0) - at(x0, y0, z0);
                const std::int64_t total = std::int64_t(x1 - x0) * (y1 - y0) * (z1 - z0);
                out.voxels[mask.index(x, y, z)] = 2 * ones > total ? 1 : 0;
            }
        }
    }
    return out;
}

RegionMask hollow(const RegionMask& mask, double thicknessMm) {
    RegionMask out = sameBox(mask);
    const auto distance = squaredDistanceMap(mask, 0);
    const double limit = thicknessMm * thicknessMm * (1 + 1e-9);
    for (std::size_t i = 0; i < mask.size(); ++i) {
        out.voxels[i] = mask.voxels[i] && distance[i] <= limit ? 1 : 0;
    }
    return out;
}

std::vector<std::uint32_t> connectedComponents(const RegionMask& mask,
                                               std::vector<std::size_t>& sizes) {
    const auto& d = mask.dims;
    std::vector<std::uint32_t> ids(mask.size(), 0);
    sizes.assign(1, 0);
    std::vector<std::size_t> pending;
    const std::size_t sx = 1, sy = std::size_t(d[0]), sz = std::size_t(d[0]) * std::size_t(d[1]);
    for (std::size_t seed = 0; seed < mask.size(); ++seed) {
        if (!mask.voxels[seed] || ids[seed])
            continue;
        const auto id = std::uint32_t(sizes.size());
        std::size_t count = 0;
        ids[seed] = id;
        pending.push_back(seed);
        while (!pending.empty()) {
            const std::size_t i = pending.back();
            pending.pop_back();
            ++count;
            const int x = int(i % sy), y = int((i / sy) % std::size_t(d[1])), z = int(i / sz);
            auto visit = [&](bool inside, std::size_t j) {
                if (inside && mask.voxels[j] && !ids[j]) {
                    ids[j] = id;
                    pending.push_back(j);
                }
            };
            visit(x > 0, i - sx);
            visit(x + 1 < d[0], i + sx);
            visit(y > 0, i - sy);
            visit(y + 1 < d[1], i + sy);
            visit(z > 0, i - sz);
            visit(z + 1 < d[2], i + sz);
        }
        sizes.push_back(count);
    }
    return ids;
}

RegionMask removeIslands(const RegionMask& mask, std::size_t minimumVoxels) {
    std::vector<std::size_t> sizes;
    const auto ids = connectedComponents(mask, sizes);
    RegionMask out = sameBox(mask);
    for (std::size_t i = 0; i < mask.size(); ++i) {
        out.voxels[i] = ids[i] && sizes[ids[i]] >= minimumVoxels ? 1 : 0;
    }
    return out;
}

RegionMask keepLargestComponent(const RegionMask& mask) {
    std::vector<std::size_t> sizes;
    const auto ids = connectedComponents(mask, sizes);
    RegionMask out = sameBox(mask);
    if (sizes.size() < 2)
        return out;
    const auto largest =
        std::uint32_t(std::max_element(sizes.begin() + 1, sizes.end()) - sizes.begin());
    for (std::size_t i = 0; i < mask.size(); ++i)
        out.voxels[i] = ids[i] == largest ? 1 : 0;
    return out;
}

RegionMask interpolateSlices(const RegionMask& a, const RegionMask& b, double t) {
    auto signedDistance = [](const RegionMask& m) {
        const auto toInside = squaredDistanceMap(m, 1);
        const auto toOutside = squaredDistanceMap(m, 0);
        std::vector<double> sd(m.size());
        for (std::size_t i = 0; i < m.size(); ++i) {
            // Inside voxels are negative: minus the distance to the nearest outside voxel.
            // Capped so that a slice with no outside (or inside) still blends without NaNs.
            const double far = 1e9;
            sd[i] = m.voxels[i] ? -std::min(far, std::sqrt(double(toOutside[i])))
                                : std::min(far, std::sqrt(double(toInside[i])));
        }
        return sd;
    };
    const auto da = signedDistance(a), db = signedDistance(b);
    RegionMask out = sameBox(a);
    for (std::size_t i = 0; i < a.size(); ++i) {
        const double value = (1 - t) * da[i] + t * db[i];
        out.voxels[i] = value < 0 ? 1 : 0;
    }
    return out;
}

} // namespace radmark::annotation
