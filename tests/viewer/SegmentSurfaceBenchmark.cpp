// How long the 3D view takes to re-mesh a segment after an edit: a liver-sized segment
// (ellipsoid, 1.7 L) on a 512x512x500 label map with abdominal CT spacing, one brush disc
// changed between updates, as after a stroke. No OpenGL involved: this is the extraction the
// 3D view runs 300 ms after the last edit, before it renders.
//   build/tests/viewer/bench_segment_surfaces
#include "viewer/SegmentSurfaces.h"

#include <benchmark/benchmark.h>

#include <vtkPolyData.h>

#include <cmath>
#include <memory>

using namespace radmark;

namespace {

constexpr annotation::Label liver = 1;

imaging::Geometry abdomenGrid() {
    imaging::Geometry g;
    g.dims = {512, 512, 500};
    g.spacing = {0.78, 0.78, 1.0};
    return g;
}

// An ellipsoid of semi-axes 90 x 70 x 65 mm (about 1.7 L, an adult liver).
const annotation::LabelMap& liverLabels() {
    static const std::unique_ptr<annotation::LabelMap> labels = [] {
        auto map = std::make_unique<annotation::LabelMap>(abdomenGrid());
        const auto& g = map->geometry();
        const double centre[3] = {220, 260, 250}, semiMm[3] = {90, 70, 65};
        for (int z = 0; z < g.dims[2]; ++z) {
            const double dz = (z - centre[2]) * g.spacing[2] / semiMm[2];
            if (std::abs(dz) > 1)
                continue;
            auto slice = map->chunkBytesForWriting(z);
            for (int y = 0; y < g.dims[1]; ++y)
                for (int x = 0; x < g.dims[0]; ++x) {
                    const double dx = (x - centre[0]) * g.spacing[0] / semiMm[0];
                    const double dy = (y - centre[1]) * g.spacing[1] / semiMm[1];
                    if (dx * dx + dy * dy + dz * dz <= 1)
                        slice[std::size_t(y) * std::size_t(g.dims[0]) + std::size_t(x)] = liver;
                }
        }
        return map;
    }();
    return *labels;
}

// A 5 mm brush disc inside the liver, painted or erased (so every update sees new voxels).
void toggleDisc(annotation::LabelMap& labels, bool paint) {
    const int cx = 220, cy = 200, z = 250, r = 6;
    for (int y = cy - r; y <= cy + r; ++y)
        for (int x = cx - r; x <= cx + r; ++x)
            if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r)
                labels.set({x, y, z}, paint ? liver : 0);
}

void SegmentBoundsScan(benchmark::State& state) {
    const annotation::LabelMap& labels = liverLabels();
    for (auto _ : state)
        benchmark::DoNotOptimize(viewer::segmentBounds(labels));
}
BENCHMARK(SegmentBoundsScan)->Unit(benchmark::kMillisecond)->UseRealTime();

// The whole update after an edit: bounds, mask, fingerprint, smoothing, flying edges.
// Argument: smoothing in tenths of a voxel (0 = plain voxel surface, 5 = the 3D view's).
void SurfaceUpdateAfterEdit(benchmark::State& state) {
    annotation::LabelMap labels = liverLabels();
    viewer::SegmentSurfaces surfaces(double(state.range(0)) / 10.0);
    surfaces.update(labels, {liver});
    bool paint = true; // the first toggle erases the disc from the liver
    for (auto _ : state) {
        state.PauseTiming();
        toggleDisc(labels, paint = !paint);
        state.ResumeTiming();
        if (surfaces.update(labels, {liver}).size() != 1)
            state.SkipWithError("the edit was not re-meshed");
    }
    state.counters["triangles"] = double(surfaces.surfaceOf(liver)->GetNumberOfPolys());
    state.counters["mL"] = 4.0 / 3.0 * M_PI * 90 * 70 * 65 / 1000;
}
BENCHMARK(SurfaceUpdateAfterEdit)->Arg(5)->Arg(0)->Unit(benchmark::kMillisecond)->UseRealTime();

// Nothing changed (e.g. only the opacity): the update finds the same voxels and keeps the mesh.
void SurfaceUpdateUnchanged(benchmark::State& state) {
    const annotation::LabelMap& labels = liverLabels();
    viewer::SegmentSurfaces surfaces;
    surfaces.update(labels, {liver});
    for (auto _ : state)
        if (!surfaces.update(labels, {liver}).empty())
            state.SkipWithError("an unchanged segment was re-meshed");
}
BENCHMARK(SurfaceUpdateUnchanged)->Unit(benchmark::kMillisecond)->UseRealTime();

} // namespace

int main(int argc, char** argv) {
    liverLabels(); // built once, outside every measurement
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
