#include "annotation/Agreement.h"
#include "annotation/AgreementJson.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <functional>
#include <sstream>

namespace radmark::annotation {

namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

// Reads labels of either width without a branch per voxel: the width is chosen once per scan.
struct NarrowLabels {
    const std::uint8_t* data;
    Label operator()(std::size_t i) const { return data[i]; }
};
struct WideLabels {
    const std::uint8_t* data;
    Label operator()(std::size_t i) const {
        return Label(data[2 * i] | (Label(data[2 * i + 1]) << 8));
    }
};
template <class F> decltype(auto) withLabels(const LabelMap& map, F&& f) {
    if (map.width() == LabelWidth::UInt8)
        return f(NarrowLabels{map.data()});
    return f(WideLabels{map.data()});
}

// For 1-byte maps memchr skips empty slices and rows at memory speed: the whole 131 MB of a
// 512x512x500 map is read in a few milliseconds.
VoxelRegion labelBounds(const LabelMap& map, Label label) {
    VoxelRegion region;
    if (label == 0 || label > map.maxLabel())
        return region;
    const auto& d = map.geometry().dims;
    const std::size_t rowLength = std::size_t(d[0]), sliceSize = map.chunkVoxels();
    if (map.width() == LabelWidth::UInt8) {
        const int byte = int(label);
        for (int z = 0; z < d[2]; ++z) {
            const std::uint8_t* slice = map.data() + std::size_t(z) * sliceSize;
            if (!std::memchr(slice, byte, sliceSize))
                continue;
            for (int y = 0; y < d[1]; ++y) {
                const auto* row = slice + std::size_t(y) * rowLength;
                const auto* first =
                    static_cast<const std::uint8_t*>(std::memchr(row, byte, rowLength));
                if (!first)
                    continue;
                const auto* last = static_cast<const std::uint8_t*>(memrchr(row, byte, rowLength));
                region.include(Index3{int(first - row), y, z});
                region.include(Index3{int(last - row), y, z});
            }
        }
        return region;
    }
    const WideLabels read{map.data()};
    std::size_t i = 0;
    for (int z = 0; z < d[2]; ++z)
        for (int y = 0; y < d[1]; ++y) {
            int first = -1, last = -1;
            for (int x = 0; x < d[0]; ++x, ++i)
                if (read(i) == label) {
                    if (first < 0)
                        first = x;
                    last = x;
                }
            if (first >= 0) {
                region.include(Index3{first, y, z});
                region.include(Index3{last, y, z});
            }
        }
    return region;
}

enum MaskFlag : std::uint8_t {
    InReference = 1,
    InCompared = 2,
    ReferenceBoundary = 4,
    ComparedBoundary = 8,
};

// The two masks over their union bounding box, padded by one background voxel on every side so
// that every mask voxel has six neighbours to look at (padding outside the volume stands for the
// volume edge, which the boundary definition counts as background).
struct MaskPair {
    Index3 first{0, 0, 0}; // volume index of the first unpadded voxel
    Index3 dims{0, 0, 0};  // padded size
    std::vector<std::uint8_t> flags;
    std::uint64_t reference = 0, compared = 0, both = 0;
    std::size_t index(int x, int y, int z) const {
        return (std::size_t(z) * std::size_t(dims[1]) + std::size_t(y)) * std::size_t(dims[0]) +
               std::size_t(x);
    }
};

VoxelRegion unionBounds(const LabelMap& reference, Label referenceLabel, const LabelMap& compared,
                        Label comparedLabel) {
    VoxelRegion box = labelBounds(reference, referenceLabel);
    box.include(labelBounds(compared, comparedLabel));
    return box;
}

// Counts only (Dice and volumes need nothing else): no buffer at all.
void countOverlap(const LabelMap& reference, Label referenceLabel, const LabelMap& compared,
                  Label comparedLabel, const VoxelRegion& box, MaskPair& counts) {
    if (box.empty())
        return;
    // Label 0 means "missing on this side": it must never match the background.
    const bool refPossible = referenceLabel != 0 && referenceLabel <= reference.maxLabel();
    const bool cmpPossible = comparedLabel != 0 && comparedLabel <= compared.maxLabel();
    withLabels(reference, [&](auto readRef) {
        withLabels(compared, [&](auto readCmp) {
            std::uint64_t nRef = 0, nCmp = 0, nBoth = 0;
            for (int z = box.min[2]; z <= box.max[2]; ++z)
                for (int y = box.min[1]; y <= box.max[1]; ++y) {
                    std::size_t i = reference.index(box.min[0], y, z);
                    for (int x = box.min[0]; x <= box.max[0]; ++x, ++i) {
                        const bool a = refPossible && readRef(i) == referenceLabel;
                        const bool b = cmpPossible && readCmp(i) == comparedLabel;
                        nRef += a;
                        nCmp += b;
                        nBoth += a && b;
                    }
                }
            counts.reference = nRef;
            counts.compared = nCmp;
            counts.both = nBoth;
        });
    });
}

MaskPair buildMasks(const LabelMap& reference, Label referenceLabel, const LabelMap& compared,
                    Label comparedLabel, const VoxelRegion& box) {
    MaskPair masks;
    if (box.empty())
        return masks;
    masks.first = box.min;
    for (int a = 0; a < 3; ++a)
        masks.dims[a] = box.max[a] - box.min[a] + 3;
    masks.flags.assign(
        std::size_t(masks.dims[0]) * std::size_t(masks.dims[1]) * std::size_t(masks.dims[2]), 0);
    // Label 0 means "missing on this side": it must never match the background.
    const bool refPossible = referenceLabel != 0 && referenceLabel <= reference.maxLabel();
    const bool cmpPossible = comparedLabel != 0 && comparedLabel <= compared.maxLabel();
    withLabels(reference, [&](auto readRef) {
        withLabels(compared, [&](auto readCmp) {
            std::uint64_t nRef = 0, nCmp = 0, nBoth = 0;
            for (int z = box.min[2]; z <= box.max[2]; ++z)
                for (int y = box.min[1]; y <= box.max[1]; ++y) {
                    std::size_t i = reference.index(box.min[0], y, z);
                    std::uint8_t* out =
                        &masks.flags[masks.index(1, y - box.min[1] + 1, z - box.min[2] + 1)];
                    for (int x = box.min[0]; x <= box.max[0]; ++x, ++i, ++out) {
                        const bool a = refPossible && readRef(i) == referenceLabel;
                        const bool b = cmpPossible && readCmp(i) == comparedLabel;
                        *out = std::uint8_t((a ? InReference : 0) | (b ? InCompared : 0));
                        nRef += a;
                        nCmp += b;
                        nBoth += a && b;
                    }
                }
            masks.reference = nRef;
            masks.compared = nCmp;
            masks.both = nBoth;
        });
    });
    // Boundary: in the mask with a face neighbour outside it. The padding makes every neighbour
    // of an unpadded voxel addressable.
    const std::ptrdiff_t sx = 1, sy = masks.dims[0],
                         sz = std::ptrdiff_t(masks.dims[0]) * masks.dims[1];
    for (int z = 1; z < masks.dims[2] - 1; ++z)
        for (int y = 1; y < masks.dims[1] - 1; ++y) {
            std::uint8_t* p = &masks.flags[masks.index(1, y, z)];
            for (int x = 1; x < masks.dims[0] - 1; ++x, ++p) {
                const std::uint8_t v = *p;
                if (!(v & (InReference | InCompared)))
                    continue;
                const std::uint8_t all = p[-sx] & p[sx] & p[-sy] & p[sy] & p[-sz] & p[sz];
                if ((v & InReference) && !(all & InReference))
                    *p |= ReferenceBoundary;
                if ((v & InCompared) && !(all & InCompared))
                    *p |= ComparedBoundary;
            }
        }
    return masks;
}

OverlapMeasures overlapFrom(const MaskPair& counts, const imaging::Geometry& g) {
    OverlapMeasures o;
    o.voxelsReference = counts.reference;
    o.voxelsCompared = counts.compared;
    o.voxelsBoth = counts.both;
    const double m = g.direction[0], n = g.direction[1], k = g.direction[2];
    const double det = m * (g.direction[4] * g.direction[8] - g.direction[5] * g.direction[7]) -
                       n * (g.direction[3] * g.direction[8] - g.direction[5] * g.direction[6]) +
                       k * (g.direction[3] * g.direction[7] - g.direction[4] * g.direction[6]);
    const double voxelMl = g.spacing[0] * g.spacing[1] * g.spacing[2] * std::abs(det) / 1000.0;
    o.volumeReferenceMl = double(counts.reference) * voxelMl;
    o.volumeComparedMl = double(counts.compared) * voxelMl;
    o.volumeDifferenceMl = o.volumeComparedMl - o.volumeReferenceMl;
    o.bothEmpty = counts.reference == 0 && counts.compared == 0;
    o.oneEmpty = !o.bothEmpty && (counts.reference == 0 || counts.compared == 0);
    if (o.bothEmpty) {
        o.dice = o.jaccard = 1;
        o.volumeDifferencePercent = 0;
        return o;
    }
    const double sum = double(counts.reference) + double(counts.compared);
    o.dice = 2.0 * double(counts.both) / sum;
    o.jaccard = double(counts.both) / (sum - double(counts.both));
    o.volumeDifferencePercent =
        counts.reference == 0 ? kInfinity : 100.0 * o.volumeDifferenceMl / o.volumeReferenceMl;
    return o;
}

// Felzenszwalb-Huttenlocher: exact squared distance along one line to the nearest finite sample,
// sample positions q * spacing; f holds squared distances so far (+inf where none yet).
struct LineScratch {
    std::vector<double> f, d, z;
    std::vector<int> v;
    explicit LineScratch(int n)
        : f(std::size_t(n)), d(std::size_t(n)), z(std::size_t(n) + 1), v(std::size_t(n)) {}
};

void distanceAlongLine(int n, double spacing, LineScratch& s) {
    const double w2 = spacing * spacing;
    int k = -1;
    for (int q = 0; q < n; ++q) {
        if (s.f[std::size_t(q)] == kInfinity)
            continue;
        const double fq = s.f[std::size_t(q)] + w2 * double(q) * double(q);
        if (k < 0) {
            k = 0;
            s.v[0] = q;
            s.z[0] = -kInfinity;
            s.z[1] = kInfinity;
            continue;
        }
        // z[0] = -inf, so the loop stops at k = 0 at the latest.
        const auto crossing = [&](int p) {
            return (fq - (s.f[std::size_t(p)] + w2 * double(p) * double(p))) /
                   (2.0 * w2 * double(q - p));
        };
        double cross = crossing(s.v[std::size_t(k)]);
        while (cross <= s.z[std::size_t(k)]) {
            --k;
            cross = crossing(s.v[std::size_t(k)]);
        }
        ++k;
        s.v[std::size_t(k)] = q;
        s.z[std::size_t(k)] = cross;
        s.z[std::size_t(k) + 1] = kInfinity;
    }
    if (k < 0) {
        std::fill(s.d.begin(), s.d.begin() + n, kInfinity);
        return;
    }
    int j = 0;
    for (int q = 0; q < n; ++q) {
        while (s.z[std::size_t(j) + 1] < double(q))
            ++j;
        const int p = s.v[std::size_t(j)];
        const double dq = double(q - p);
        s.d[std::size_t(q)] = w2 * dq * dq + s.f[std::size_t(p)];
    }
}

// Squared distance in mm^2 from each voxel of the box to the nearest voxel whose flags have
// `feature`, separable over x, y and z.
void squaredDistanceTo(const MaskPair& masks, std::uint8_t feature, const imaging::Vec3& spacing,
                       std::vector<float>& out) {
    const Index3& n = masks.dims;
    out.resize(masks.flags.size());
    for (std::size_t i = 0; i < out.size(); ++i)
        out[i] = (masks.flags[i] & feature) ? 0.0f : std::numeric_limits<float>::infinity();
    const std::size_t stride[3] = {1, std::size_t(n[0]), std::size_t(n[0]) * std::size_t(n[1])};
    for (int axis = 0; axis < 3; ++axis) {
        const int length = n[axis];
        LineScratch line(length);
        const int a1 = axis == 0 ? 1 : 0, a2 = axis == 2 ? 1 : 2;
        for (int j = 0; j < n[a2]; ++j)
            for (int i = 0; i < n[a1]; ++i) {
                float* start =
                    out.data() + std::size_t(i) * stride[a1] + std::size_t(j) * stride[a2];
                bool any = false;
                for (int q = 0; q < length; ++q) {
                    const float v = start[std::size_t(q) * stride[axis]];
                    line.f[std::size_t(q)] =
                        v == std::numeric_limits<float>::infinity() ? kInfinity : double(v);
                    any = any || v != std::numeric_limits<float>::infinity();
                }
                if (!any)
                    continue;
                distanceAlongLine(length, spacing[std::size_t(axis)], line);
                for (int q = 0; q < length; ++q)
                    start[std::size_t(q) * stride[axis]] = float(line.d[std::size_t(q)]);
            }
    }
}

// numpy.percentile's default ("linear"): rank (n - 1) p / 100 between the two nearest values.
double percentile(std::vector<double> values, double p) {
    if (values.empty())
        return 0;
    const double rank = (double(values.size()) - 1.0) * p / 100.0;
    const auto lower = std::size_t(std::floor(rank));
    std::nth_element(values.begin(), values.begin() + std::ptrdiff_t(lower), values.end());
    const double low = values[lower];
    if (lower + 1 >= values.size())
        return low;
    const double high = *std::min_element(values.begin() + std::ptrdiff_t(lower) + 1, values.end());
    return low + (rank - double(lower)) * (high - low);
}

void requireOrthonormal(const imaging::Geometry& g) {
    for (int a = 0; a < 3; ++a)
        for (int b = a; b < 3; ++b) {
            double dot = 0;
            for (int r = 0; r < 3; ++r)
                dot += g.direction[std::size_t(3 * r + a)] * g.direction[std::size_t(3 * r + b)];
            if (std::abs(dot - (a == b ? 1.0 : 0.0)) > 1e-3)
                throw AgreementError(
                    "The image grid is sheared (its axes are not perpendicular), so surface "
                    "distances in millimetres cannot be measured on it; resample the series to an "
                    "orthogonal grid first.");
        }
}

SurfaceDistances distancesFrom(const MaskPair& masks, const imaging::Geometry& g,
                               double toleranceMm) {
    SurfaceDistances s;
    s.toleranceMm = toleranceMm;
    s.bothEmpty = masks.reference == 0 && masks.compared == 0;
    s.oneEmpty = !s.bothEmpty && (masks.reference == 0 || masks.compared == 0);
    for (std::uint8_t f : masks.flags) {
        s.boundaryVoxelsReference += (f & ReferenceBoundary) != 0;
        s.boundaryVoxelsCompared += (f & ComparedBoundary) != 0;
    }
    if (s.bothEmpty) {
        s.hausdorffMm = s.hd95Mm = s.assdMm = 0;
        s.surfaceDice = 1;
        return s;
    }
    if (s.oneEmpty) {
        s.hausdorffMm = s.hd95Mm = s.assdMm = kNoDistance;
        s.surfaceDice = 0;
        return s;
    }
    std::vector<float> squared;
    auto directed = [&](std::uint8_t from, std::uint8_t to) {
        squaredDistanceTo(masks, to, g.spacing, squared);
        std::vector<double> distances;
        distances.reserve(from == ReferenceBoundary ? s.boundaryVoxelsReference
                                                    : s.boundaryVoxelsCompared);
        for (std::size_t i = 0; i < masks.flags.size(); ++i)
            if (masks.flags[i] & from)
                distances.push_back(std::sqrt(double(squared[i])));
        return distances;
    };
    const std::vector<double> referenceToCompared = directed(ReferenceBoundary, ComparedBoundary);
    const std::vector<double> comparedToReference = directed(ComparedBoundary, ReferenceBoundary);
    double maximum = 0, sum = 0;
    std::uint64_t within = 0;
    for (const auto* side : {&referenceToCompared, &comparedToReference})
        for (double d : *side) {
            maximum = std::max(maximum, d);
            sum += d;
            within += d <= toleranceMm;
        }
    const double count = double(referenceToCompared.size() + comparedToReference.size());
    s.hausdorffMm = maximum;
    s.hd95Mm = std::max(percentile(referenceToCompared, 95), percentile(comparedToReference, 95));
    s.assdMm = sum / count;
    s.surfaceDice = double(within) / count;
    return s;
}

std::string lowerTrimmed(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
        text.remove_prefix(1);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
        text.remove_suffix(1);
    std::string out(text);
    for (char& c : out)
        c = char(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool sameCode(const Segment& a, const Segment& b) {
    return a.type && b.type && !a.type->code.empty() && a.type->scheme == b.type->scheme &&
           a.type->code == b.type->code;
}

bool hasCode(const Segment& s) {
    return s.type && !s.type->code.empty();
}

std::string formatTriple(const std::array<double, 3>& v, int precision) {
    std::ostringstream out;
    out.setf(std::ios::fixed);
    out.precision(precision);
    out << v[0] << " x " << v[1] << " x " << v[2];
    return out.str();
}

} // namespace

VoxelRegion findLabelBounds(const LabelMap& labels, Label label) {
    return labelBounds(labels, label);
}

VoxelRegion findLabelledBounds(const LabelMap& labels) {
    VoxelRegion region;
    const auto& d = labels.geometry().dims;
    const std::size_t rowBytes = std::size_t(d[0]) * std::size_t(labels.width());
    const std::vector<std::uint8_t> zeros(rowBytes, 0);
    for (int z = 0; z < d[2]; ++z) {
        if (labels.chunkIsEmpty(z))
            continue;
        const std::uint8_t* slice = labels.chunkBytes(z).data();
        for (int y = 0; y < d[1]; ++y) {
            if (std::memcmp(slice + std::size_t(y) * rowBytes, zeros.data(), rowBytes) == 0)
                continue;
            const std::size_t rowStart = labels.index(0, y, z);
            int first = 0, last = d[0] - 1;
            while (labels.at(rowStart + std::size_t(first)) == 0)
                ++first;
            while (labels.at(rowStart + std::size_t(last)) == 0)
                --last;
            region.include(Index3{first, y, z});
            region.include(Index3{last, y, z});
        }
    }
    return region;
}

std::string gridDifference(const imaging::Geometry& a, const imaging::Geometry& b) {
    if (a.sameGridAs(b))
        return {};
    std::string what;
    if (a.dims != b.dims) {
        what = "different sizes: " + std::to_string(a.dims[0]) + " x " + std::to_string(a.dims[1]) +
               " x " + std::to_string(a.dims[2]) + " voxels against " + std::to_string(b.dims[0]) +
               " x " + std::to_string(b.dims[1]) + " x " + std::to_string(b.dims[2]);
    } else if (std::abs(a.spacing[0] - b.spacing[0]) > 1e-4 ||
               std::abs(a.spacing[1] - b.spacing[1]) > 1e-4 ||
               std::abs(a.spacing[2] - b.spacing[2]) > 1e-4) {
        what = "different voxel spacing: " + formatTriple(a.spacing, 3) + " mm against " +
               formatTriple(b.spacing, 3) + " mm";
    } else if (std::abs(a.origin[0] - b.origin[0]) > 1e-4 ||
               std::abs(a.origin[1] - b.origin[1]) > 1e-4 ||
               std::abs(a.origin[2] - b.origin[2]) > 1e-4) {
        what = "different positions: first voxel at " + formatTriple(a.origin, 2) + " mm against " +
               formatTriple(b.origin, 2) + " mm";
    } else {
        what = "different orientations of the image axes";
    }
    return what;
}

void requireSameGrid(const imaging::Geometry& a, const imaging::Geometry& b) {
    const std::string what = gridDifference(a, b);
    if (what.empty())
        return;
    throw AgreementError("These two annotations lie on different image grids (" + what +
                         "), so they cannot be compared voxel by voxel. Compare versions drawn "
                         "on the same series.");
}

OverlapMeasures measureOverlap(const LabelMap& reference, Label referenceLabel,
                               const LabelMap& compared, Label comparedLabel) {
    requireSameGrid(reference.geometry(), compared.geometry());
    MaskPair counts;
    countOverlap(reference, referenceLabel, compared, comparedLabel,
                 unionBounds(reference, referenceLabel, compared, comparedLabel), counts);
    return overlapFrom(counts, reference.geometry());
}

SurfaceDistances measureSurfaceDistances(const LabelMap& reference, Label referenceLabel,
                                         const LabelMap& compared, Label comparedLabel,
                                         double toleranceMm) {
    return compareSegment(reference, referenceLabel, compared, comparedLabel, toleranceMm)
        .distances;
}

SegmentAgreement compareSegment(const LabelMap& reference, Label referenceLabel,
                                const LabelMap& compared, Label comparedLabel, double toleranceMm) {
    requireSameGrid(reference.geometry(), compared.geometry());
    requireOrthonormal(reference.geometry());
    const MaskPair masks =
        buildMasks(reference, referenceLabel, compared, comparedLabel,
                   unionBounds(reference, referenceLabel, compared, comparedLabel));
    SegmentAgreement result;
    result.referenceLabel = referenceLabel;
    result.comparedLabel = comparedLabel;
    result.overlap = overlapFrom(masks, reference.geometry());
    result.distances = distancesFrom(masks, reference.geometry(), toleranceMm);
    return result;
}

SegmentMatching matchSegments(const SegmentList& reference, const SegmentList& compared) {
    SegmentMatching matching;
    std::vector<bool> refTaken(reference.size(), false), cmpTaken(compared.size(), false);
    const auto& refs = reference.all();
    const auto& cmps = compared.all();
    auto pass = [&](auto&& matches, bool byCode) {
        for (std::size_t r = 0; r < refs.size(); ++r) {
            if (refTaken[r])
                continue;
            for (std::size_t c = 0; c < cmps.size(); ++c)
                if (!cmpTaken[c] && matches(refs[r], cmps[c])) {
                    refTaken[r] = cmpTaken[c] = true;
                    matching.pairs.push_back({refs[r].label, cmps[c].label, refs[r].name, byCode});
                    break;
                }
        }
    };
    auto sameName = [](const Segment& a, const Segment& b) {
        return lowerTrimmed(a.name) == lowerTrimmed(b.name);
    };
    pass([&](const Segment& a, const Segment& b) { return sameCode(a, b) && sameName(a, b); },
         true);
    pass([&](const Segment& a, const Segment& b) { return sameCode(a, b); }, true);
    pass([&](const Segment& a,
             const Segment& b) { return (!hasCode(a) || !hasCode(b)) && sameName(a, b); },
         false);
    std::sort(matching.pairs.begin(), matching.pairs.end(),
              [](const SegmentPair& a, const SegmentPair& b) { return a.reference < b.reference; });
    for (std::size_t r = 0; r < refs.size(); ++r)
        if (!refTaken[r])
            matching.onlyInReference.push_back(refs[r].label);
    for (std::size_t c = 0; c < cmps.size(); ++c)
        if (!cmpTaken[c])
            matching.onlyInCompared.push_back(cmps[c].label);
    return matching;
}

double boxIou(const Box& a, const Box& b) {
    double intersection = 1, volumeA = 1, volumeB = 1;
    for (int axis = 0; axis < 3; ++axis) {
        const int lo = std::max(a.min[axis], b.min[axis]);
        const int hi = std::min(a.max[axis], b.max[axis]);
        intersection *= std::max(0, hi - lo + 1);
        volumeA *= a.max[axis] - a.min[axis] + 1;
        volumeB *= b.max[axis] - b.min[axis] + 1;
    }
    const double unionVolume = volumeA + volumeB - intersection;
    return unionVolume > 0 ? intersection / unionVolume : 0;
}

namespace {

BoxMatching matchBoxesWhere(const std::vector<Box>& reference, const std::vector<Box>& compared,
                            const std::function<bool(const Box&, const Box&)>& comparable) {
    struct Candidate {
        std::size_t r, c;
        double iou;
    };
    std::vector<Candidate> candidates;
    for (std::size_t r = 0; r < reference.size(); ++r)
        for (std::size_t c = 0; c < compared.size(); ++c)
            if (comparable(reference[r], compared[c]))
                if (const double iou = boxIou(reference[r], compared[c]); iou > 0)
                    candidates.push_back({r, c, iou});
    std::sort(candidates.begin(), candidates.end(), [&](const Candidate& a, const Candidate& b) {
        if (a.iou != b.iou)
            return a.iou > b.iou;
        if (reference[a.r].id != reference[b.r].id)
            return reference[a.r].id < reference[b.r].id;
        return compared[a.c].id < compared[b.c].id;
    });
    BoxMatching matching;
    std::vector<bool> refTaken(reference.size(), false), cmpTaken(compared.size(), false);
    for (const Candidate& k : candidates)
        if (!refTaken[k.r] && !cmpTaken[k.c]) {
            refTaken[k.r] = cmpTaken[k.c] = true;
            matching.pairs.push_back({reference[k.r].id, compared[k.c].id, k.iou});
        }
    for (std::size_t r = 0; r < reference.size(); ++r)
        if (!refTaken[r])
            matching.onlyInReference.push_back(reference[r].id);
    for (std::size_t c = 0; c < compared.size(); ++c)
        if (!cmpTaken[c])
            matching.onlyInCompared.push_back(compared[c].id);
    return matching;
}

} // namespace

BoxMatching matchBoxes(const std::vector<Box>& reference, const std::vector<Box>& compared) {
    return matchBoxesWhere(reference, compared, [](const Box&, const Box&) { return true; });
}

BoxMatching matchBoxes(const std::vector<Box>& reference, const std::vector<Box>& compared,
                       const SegmentMatching& segments) {
    return matchBoxesWhere(reference, compared, [&](const Box& a, const Box& b) {
        return std::any_of(segments.pairs.begin(), segments.pairs.end(), [&](const SegmentPair& p) {
            return p.reference == a.segment && p.compared == b.segment;
        });
    });
}

AgreementReport compareAnnotations(const LabelMap& referenceLabels,
                                   const SegmentList& referenceSegments,
                                   const std::vector<Box>& referenceBoxes,
                                   const LabelMap& comparedLabels,
                                   const SegmentList& comparedSegments,
                                   const std::vector<Box>& comparedBoxes, double toleranceMm) {
    requireSameGrid(referenceLabels.geometry(), comparedLabels.geometry());
    AgreementReport report;
    report.toleranceMm = toleranceMm;
    report.matching = matchSegments(referenceSegments, comparedSegments);
    auto add = [&](Label r, Label c, const std::string& name) {
        SegmentAgreement row = compareSegment(referenceLabels, r, comparedLabels, c, toleranceMm);
        row.name = name;
        report.segments.push_back(std::move(row));
    };
    for (const SegmentPair& p : report.matching.pairs)
        add(p.reference, p.compared, p.name);
    for (Label r : report.matching.onlyInReference)
        add(r, 0, referenceSegments.get(r).name);
    for (Label c : report.matching.onlyInCompared)
        add(0, c, comparedSegments.get(c).name);
    report.boxes = matchBoxes(referenceBoxes, comparedBoxes, report.matching);
    return report;
}

const std::vector<MetricDefinition>& agreementDefinitions() {
    static const std::vector<MetricDefinition> definitions = {
        {"boundary", "",
         "Boundary voxels of a segment: its voxels with at least one of their 6 face neighbours "
         "outside the segment or beyond the edge of the volume. Distances are between voxel "
         "centres, Euclidean, in mm from the voxel spacing; the direction is a rotation, which "
         "keeps lengths (sheared grids are refused)."},
        {"dice", "", "Dice = 2 |A and B| / (|A| + |B|), counted in voxels."},
        {"jaccard", "", "Jaccard = |A and B| / |A or B|, counted in voxels."},
        {"volume_reference_ml", "mL",
         "Volume = voxel count x voxel volume (product of the spacings), 1 mL = 1000 mm^3."},
        {"volume_compared_ml", "mL", "Volume of the compared side, as above."},
        {"volume_difference_ml", "mL", "Volume difference = compared - reference."},
        {"volume_difference_percent", "%",
         "Volume difference in percent = 100 (compared - reference) / reference; null when the "
         "reference is empty and the compared side is not."},
        {"hausdorff_mm", "mm",
         "Hausdorff distance = the largest distance from a boundary voxel of either side to the "
         "nearest boundary voxel of the other side."},
        {"hd95_mm", "mm",
         "HD95 (MONAI-compatible) = the larger of the two directed 95th percentiles (reference to "
         "compared, compared to reference) of boundary-voxel distances, each percentile with "
         "linear interpolation between ranks as numpy.percentile's default. Not plastimatch's "
         "and 3D Slicer's mean of the two, nor medpy's one percentile over both directions "
         "pooled."},
        {"assd_mm", "mm",
         "Average symmetric surface distance = the mean of the boundary-voxel distances of both "
         "directions pooled (their sum divided by the number of boundary voxels of both sides)."},
        {"surface_dice", "",
         "Surface Dice at tolerance tau = (boundary voxels of the reference within tau mm of the "
         "compared boundary + boundary voxels of the compared side within tau mm of the reference "
         "boundary) / (boundary voxels of both sides), counted in voxels as MONAI's "
         "compute_surface_dice; tau = 1 mm unless stated."},
        {"empty", "",
         "Both sides empty: Dice, Jaccard and surface Dice 1, distances 0 (flag both_empty). One "
         "side empty (or the segment missing on one side): Dice, Jaccard and surface Dice 0, "
         "distances infinite, written as null with the note \"one side empty\" (flag one_empty)."},
        {"box_iou", "",
         "Box IoU = |A and B| / |A or B| of the two boxes as voxel sets (inclusive corners). Boxes "
         "of paired segments are paired one to one greedily, highest IoU first, while IoU > 0; "
         "the others are listed as unmatched on their side."},
    };
    return definitions;
}

nlohmann::json segmentAgreementJson(const SegmentAgreement& s) {
    using nlohmann::json;
    auto number = [](double v) { return std::isfinite(v) ? json(v) : json(nullptr); };
    const OverlapMeasures& o = s.overlap;
    const SurfaceDistances& d = s.distances;
    json row = {
        {"name", s.name},
        {"reference_label", s.referenceLabel},
        {"compared_label", s.comparedLabel},
        {"missing_in_reference", s.referenceLabel == 0},
        {"missing_in_compared", s.comparedLabel == 0},
        {"both_empty", o.bothEmpty},
        {"one_empty", o.oneEmpty},
        {"voxels_reference", o.voxelsReference},
        {"voxels_compared", o.voxelsCompared},
        {"voxels_both", o.voxelsBoth},
        {"dice", o.dice},
        {"jaccard", o.jaccard},
        {"volume_reference_ml", o.volumeReferenceMl},
        {"volume_compared_ml", o.volumeComparedMl},
        {"volume_difference_ml", o.volumeDifferenceMl},
        {"volume_difference_percent", number(o.volumeDifferencePercent)},
        {"boundary_voxels_reference", d.boundaryVoxelsReference},
        {"boundary_voxels_compared", d.boundaryVoxelsCompared},
        {"hausdorff_mm", number(d.hausdorffMm)},
        {"hd95_mm", number(d.hd95Mm)},
        {"assd_mm", number(d.assdMm)},
        {"surface_dice", d.surfaceDice},
        {"tolerance_mm", d.toleranceMm},
    };
    if (o.oneEmpty)
        row["note"] = "one side empty";
    else if (o.bothEmpty)
        row["note"] = "both sides empty";
    return row;
}

SegmentAgreement segmentAgreementFromJson(const nlohmann::json& in) {
    auto number = [](const nlohmann::json& v) {
        return v.is_null() ? kNoDistance : v.get<double>();
    };
    SegmentAgreement s;
    s.name = in.at("name").get<std::string>();
    s.referenceLabel = in.at("reference_label").get<Label>();
    s.comparedLabel = in.at("compared_label").get<Label>();
    OverlapMeasures& o = s.overlap;
    o.bothEmpty = in.at("both_empty").get<bool>();
    o.oneEmpty = in.at("one_empty").get<bool>();
    o.voxelsReference = in.at("voxels_reference").get<std::uint64_t>();
    o.voxelsCompared = in.at("voxels_compared").get<std::uint64_t>();
    o.voxelsBoth = in.at("voxels_both").get<std::uint64_t>();
    o.dice = in.at("dice").get<double>();
    o.jaccard = in.at("jaccard").get<double>();
    o.volumeReferenceMl = in.at("volume_reference_ml").get<double>();
    o.volumeComparedMl = in.at("volume_compared_ml").get<double>();
    o.volumeDifferenceMl = in.at("volume_difference_ml").get<double>();
    o.volumeDifferencePercent = number(in.at("volume_difference_percent"));
    SurfaceDistances& d = s.distances;
    d.boundaryVoxelsReference = in.at("boundary_voxels_reference").get<std::uint64_t>();
    d.boundaryVoxelsCompared = in.at("boundary_voxels_compared").get<std::uint64_t>();
    d.hausdorffMm = number(in.at("hausdorff_mm"));
    d.hd95Mm = number(in.at("hd95_mm"));
    d.assdMm = number(in.at("assd_mm"));
    d.surfaceDice = in.at("surface_dice").get<double>();
    d.toleranceMm = in.at("tolerance_mm").get<double>();
    // A segment with voxels has boundary voxels (the volume's edge counts): the same flags.
    d.bothEmpty = o.bothEmpty;
    d.oneEmpty = o.oneEmpty;
    return s;
}

std::string agreementJson(const AgreementReport& report) {
    using nlohmann::json;
    json out;
    out["tolerance_mm"] = report.toleranceMm;
    json definitions = json::object();
    for (const MetricDefinition& d : agreementDefinitions())
        definitions[std::string(d.key)] = {{"unit", d.unit}, {"definition", d.definition}};
    out["definitions"] = definitions;
    json segments = json::array();
    for (const SegmentAgreement& s : report.segments)
        segments.push_back(segmentAgreementJson(s));
    out["segments"] = segments;
    json boxes = json::object();
    boxes["pairs"] = json::array();
    for (const BoxPair& p : report.boxes.pairs)
        boxes["pairs"].push_back(
            {{"reference", p.reference}, {"compared", p.compared}, {"iou", p.iou}});
    boxes["only_in_reference"] = report.boxes.onlyInReference;
    boxes["only_in_compared"] = report.boxes.onlyInCompared;
    out["boxes"] = boxes;
    return out.dump(2);
}

} // namespace radmark::annotation
