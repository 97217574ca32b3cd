// radmark-cli bench annotate [--slices N] [--stamps N] [--radius-mm R]: the editor's speed on a
// synthetic 512x512xN CT (default N = 500), through the same annotation library the workstation
// uses: brush stamps plus the overlay refresh they cause (p50/p95), region growing, saving a
// version after 5 edited slices (time and bytes written), label-map memory and undo memory.

#include "annotation/Tool.h"
#include "annotation/UndoHistory.h"
#include "annotation/Version.h"
#include "app/cli/Command.h"
#include "imaging/Volume.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iomanip>
#include <ostream>
#include <vector>

namespace radmark::cli {
namespace {

using namespace radmark::annotation;
using Clock = std::chrono::steady_clock;

double millis(Clock::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
}

double percentile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    const std::size_t i =
        std::min(v.size() - 1, std::size_t(std::ceil(p / 100 * double(v.size()))) - 1);
    return v[i];
}

// Body (soft tissue) in air, a liver-like ellipsoid at 60 HU and two 30 HU lesions inside it.
imaging::Volume syntheticCt(int slices) {
    imaging::Geometry g;
    g.dims = {512, 512, slices};
    g.spacing = {0.7, 0.7, 1.0};
    imaging::Volume ct(g, imaging::PixelType::Int16);
    auto* v = ct.as<std::int16_t>();
    const double zc = slices / 2.0;
    for (int z = 0; z < slices; ++z) {
        for (int y = 0; y < 512; ++y) {
            for (int x = 0; x < 512; ++x, ++v) {
                const double bx = (x - 256) / 220.0, by = (y - 256) / 170.0;
                std::int16_t hu = bx * bx + by * by <= 1 ? 40 : -1000;
                const double lx = (x - 200) * 0.7 / 80, ly = (y - 240) * 0.7 / 60,
                             lz = (z - zc) * 1.0 / std::min(80.0, zc);
                if (lx * lx + ly * ly + lz * lz <= 1)
                    hu = std::int16_t(58 + (x + y + z) % 5);
                const double s1 = std::hypot((x - 180) * 0.7, (y - 230) * 0.7, (z - zc) * 1.0);
                const double s2 = std::hypot((x - 230) * 0.7, (y - 270) * 0.7, (z - zc + 10) * 1.0);
                if (s1 <= 12 || s2 <= 8)
                    hu = 30;
                *v = hu;
            }
        }
    }
    return ct;
}

// What an overlay refresh needs after a stamp: the changed rectangle of the viewed slice as RGBA.
std::size_t refreshOverlay(const LabelMap& labels, const VoxelRegion& dirty, int slice,
                           const std::vector<std::uint32_t>& colourOf,
                           std::vector<std::uint32_t>& rgba) {
    if (dirty.empty() || slice < dirty.min[2] || slice > dirty.max[2])
        return 0;
    const int w = dirty.max[0] - dirty.min[0] + 1, h = dirty.max[1] - dirty.min[1] + 1;
    rgba.resize(std::size_t(w) * std::size_t(h));
    std::size_t k = 0;
    for (int y = dirty.min[1]; y <= dirty.max[1]; ++y) {
        std::size_t i = labels.index(dirty.min[0], y, slice);
        for (int x = 0; x < w; ++x)
            rgba[k++] = colourOf[labels.at(i++)];
    }
    return k;
}

struct StampResult {
    std::vector<double> ms;
    double pressMs = 0;
    double meanDirtyVoxels = 0;
};

StampResult benchStamps(Tool& brush, LabelMap& labels, const std::vector<std::uint32_t>& colourOf,
                        int stamps, int slice, UndoHistory& history) {
    StampResult result;
    std::vector<std::uint32_t> rgba;
    double dirtyVoxels = 0;
    for (int i = 0; i <= stamps; ++i) {
        // A drag over unpainted tissue, 2 voxels per pointer event, in rows 24 voxels apart.
        const int column = (i * 2) % 360, row = (i * 2) / 360;
        const Index3 at{80 + column, 120 + 24 * row, slice};
        const auto t0 = Clock::now();
        brush.handle({i == 0 ? PointerPhase::Press : PointerPhase::Drag, at, SliceAxis::Axial});
        const VoxelRegion dirty = brush.takeDirtyRegion();
        refreshOverlay(labels, dirty, slice, colourOf, rgba);
        const double ms = millis(Clock::now() - t0);
        if (i == 0) {
            result.pressMs = ms; // also opens the stroke (keeps a copy of the slice for undo)
        } else {
            result.ms.push_back(ms);
            dirtyVoxels += double(dirty.voxelCount());
        }
    }
    brush.handle({PointerPhase::Release, {80, 120, slice}, SliceAxis::Axial});
    while (auto r = brush.takeUndoRecord())
        history.push(std::move(*r));
    result.meanDirtyVoxels = dirtyVoxels / stamps;
    return result;
}

int runBenchAnnotate(Arguments& args, CommandIo& io) {
    args.allowOnly({"slices", "stamps", "radius-mm"});
    const int slices = std::stoi(args.option("slices").value_or("500"));
    const int stamps = std::stoi(args.option("stamps").value_or("500"));
    const double radius = std::stod(args.option("radius-mm").value_or("5"));
    if (slices < 20 || slices > 2000 || stamps < 10) {
        throw CommandError("--slices must be 20..2000 and --stamps at least 10.");
    }
    auto& out = io.out;
    out << std::fixed << std::setprecision(2);

    auto t0 = Clock::now();
    const imaging::Volume ct = syntheticCt(slices);
    out << "synthetic CT 512x512x" << slices << " int16, spacing 0.7x0.7x1.0 mm, generated in "
        << millis(Clock::now() - t0) << " ms\n";

    LabelMap labels(ct.geometry());
    SegmentList segments;
    const Terminology& terms = Terminology::bundled();
    terms.addSegment(segments, "10200004"); // liver
    terms.addSegment(segments, "52988006"); // lesion
    std::vector<std::uint32_t> colourOf(256, 0);
    for (const auto& s : segments.all()) {
        colourOf[s.label] = std::uint32_t(s.colour.r) | std::uint32_t(s.colour.g) << 8 |
                            std::uint32_t(s.colour.b) << 16 |
                            std::uint32_t(std::lround(s.opacity * 255)) << 24;
    }
    out << "label map: " << labels.memoryBytes() << " bytes for " << labels.voxelCount()
        << " voxels = " << std::setprecision(4)
        << double(labels.memoryBytes()) / double(labels.voxelCount()) << " bytes/voxel"
        << std::setprecision(2) << "\n";

    UndoHistory history;
    const int mid = slices / 2;
    for (const bool sphere : {false, true}) {
        auto brush = createTool("paint");
        brush->activate({&labels, &segments, &ct, 1});
        brush->settings().set("radius_mm", radius);
        brush->settings().set("sphere", sphere ? 1 : 0);
        const StampResult r =
            benchStamps(*brush, labels, colourOf, stamps, sphere ? mid + 20 : mid, history);
        out << std::setprecision(3) << "brush stamp + overlay refresh ("
            << (sphere ? "3D sphere" : "2D disc") << ", r = " << radius << " mm, " << stamps
            << " drag stamps): p50 " << percentile(r.ms, 50) << std::setprecision(3) << " ms, p95 "
            << percentile(r.ms, 95) << " ms, max " << percentile(r.ms, 100)
            << " ms; first stamp of the stroke " << r.pressMs << std::setprecision(2)
            << " ms; mean dirty region " << std::lround(r.meanDirtyVoxels) << " voxels\n";
    }

    {
        auto grow = createTool("region-grow");
        grow->activate({&labels, &segments, &ct, 1});
        grow->settings().set("lower", 50);
        grow->settings().set("upper", 70);
        t0 = Clock::now();
        grow->handle({PointerPhase::Press, {200, 300, mid}, SliceAxis::Axial});
        const auto grown = Clock::now();
        // Retuning the range regrows from the same seed inside the same edit.
        grow->settings().set("upper", 75);
        const auto retuned = Clock::now();
        auto record = grow->takeUndoRecord();
        const auto recorded = Clock::now();
        const std::size_t voxels = record ? record->labels.changedVoxels() : 0;
        out << "region grow (liver, 50..70 HU): " << millis(grown - t0)
            << " ms; retuned to 50..75 HU: " << millis(retuned - grown) << " ms; " << voxels
            << " voxels filled; undo record built in " << millis(recorded - retuned) << " ms ("
            << (record ? record->memoryBytes() : 0) << " bytes)\n";
        if (record)
            history.push(std::move(*record));
        BoxList boxes(labels.geometry().dims);
        const auto u0 = Clock::now();
        history.undo(labels, boxes);
        const auto u1 = Clock::now();
        history.redo(labels, boxes);
        out << "undo of that region grow: " << millis(u1 - u0)
            << " ms, redo: " << millis(Clock::now() - u1) << " ms\n";
    }
    out << "undo history: " << history.size() << " edits in " << history.memoryBytes()
        << " bytes (label map " << labels.memoryBytes() << " bytes)\n";

    imaging::InMemoryChunkStore store;
    VersionHistory versions(store);
    SaveReport first;
    t0 = Clock::now();
    const VersionId v1 =
        versions.commit(labels, segments, {}, {"bench", "first save", {}, {}}, &first).id;
    out << "first save (all " << slices << " slices): " << millis(Clock::now() - t0) << " ms, "
        << first.chunksWritten << " chunks / " << first.bytesWritten << " bytes written, "
        << first.chunksReused << " chunks shared\n";

    // Edit 5 slices with the brush, away from what is already painted.
    auto brush = createTool("paint");
    brush->activate({&labels, &segments, &ct, 2});
    brush->settings().set("radius_mm", 8);
    for (int k = 0; k < 5; ++k) {
        const int z = 10 + 7 * k;
        // A different stroke on each slice (identical slices would be stored once).
        brush->handle({PointerPhase::Press, {120 + 9 * k, 380, z}, SliceAxis::Axial});
        brush->handle({PointerPhase::Drag, {260, 400 - 5 * k, z}, SliceAxis::Axial});
        brush->handle({PointerPhase::Release, {260, 400 - 5 * k, z}, SliceAxis::Axial});
    }
    const std::size_t storedBefore = store.storedBytes();
    SaveReport second;
    t0 = Clock::now();
    versions.commit(labels, segments, {}, {"bench", "five slices", v1, {}}, &second);
    out << "save after 5 edited slices: " << millis(Clock::now() - t0) << " ms, "
        << second.chunksWritten << " chunks / " << second.bytesWritten
        << " bytes written (store grew " << store.storedBytes() - storedBefore << " bytes), "
        << second.chunksReused << " chunks shared\n";

    t0 = Clock::now();
    const OpenedAnnotation reopened = versions.openReadOnly(v1);
    out << "open a version read-only: " << millis(Clock::now() - t0) << " ms\n";
    return reopened.labels.voxelCount() == labels.voxelCount() ? 0 : 1;
}

} // namespace
RADMARK_COMMAND("bench annotate",
                "[--slices N] [--stamps N] [--radius-mm R]  brush, region grow, save and memory "
                "figures on a synthetic 512x512xN CT",
                runBenchAnnotate);
} // namespace radmark::cli
