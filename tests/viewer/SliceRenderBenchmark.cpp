// Re-slice + render of one 512x512 slice view on a generated 512x512x500 CT (int16 HU, in
// memory), on whatever OpenGL the display offers (llvmpipe under Xvfb here). Run:
//   xvfb-run -a -s "-screen 0 1920x1200x24" build/tests/viewer/bench_slice_render
// Each frame moves the view to the next slice (VTK extracts and window/levels it, uploads the
// texture, draws, and the bridge blits), then waits for the GL to finish (glFinish).
// "ScrollAllSlices" renders every slice once and reports the slowest frame (a stall shows there).
// "PaintStampAndRender": one brush stamp (2D disc, r = 5 mm) through the LabelEditor during a
// drag in the axial view, then the frame showing it (label overlay refresh + render).
#include "GuiBenchmarkMain.h"
#include "SyntheticVolumes.h"

#include "viewer/LabelEditor.h"
#include "viewer/SliceCursor.h"
#include "viewer/SliceView.h"
#include "viewer/VolumeImageData.h"

#include <benchmark/benchmark.h>

#include <QApplication>
#include <QOpenGLContext>
#include <QOpenGLFunctions>
#include <QTest>

#include <vtkImageData.h>

#include <algorithm>
#include <chrono>
#include <memory>

using namespace radmark;
using namespace radmark::viewer;

namespace {

struct Scene {
    radmark::testing::SyntheticCt ct;
    vtkSmartPointer<vtkImageData> image;
    SliceCursor cursor;
    std::unique_ptr<SliceView> view;
};

std::unique_ptr<radmark::testing::SyntheticCt> ct;
std::array<std::unique_ptr<Scene>, 3> scenes; // released before the QApplication goes

Scene& scene(ViewPlane plane) {
    if (!ct)
        ct = std::make_unique<radmark::testing::SyntheticCt>(
            radmark::testing::makeSyntheticCt({512, 512, 500}, {0.7, 0.7, 1.0}));
    auto& s = scenes[int(plane)];
    if (!s) {
        s = std::make_unique<Scene>();
        s->image = wrapVolume(ct->volume);
        s->image->SetOrigin(0, 0, 0);
        const double identity[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
        s->image->SetDirectionMatrix(identity);
        s->cursor = SliceCursor(ct->volume.geometry());
        s->view = std::make_unique<SliceView>(plane);
        s->view->resize(512, 512);
        s->view->show();
        if (!QTest::qWaitForWindowExposed(s->view.get()))
            qFatal("the benchmark needs a display (run it under xvfb-run)");
        s->view->setImage(s->image, &s->cursor, 2000);
        s->view->setWindowLevel({400, 50});
        QApplication::processEvents();
    }
    return *s;
}

void renderFrame(Scene& s) {
    s.view->cursorChanged();
    s.view->renderNow();
    s.view->makeCurrent();
    QOpenGLContext::currentContext()->functions()->glFinish();
    s.view->doneCurrent();
}

void nextSlice(Scene& s, ViewPlane plane) {
    if (!s.cursor.step(plane, 1))
        s.cursor.setSlice(plane, 0);
}

void ResliceAndRender(benchmark::State& state) {
    const auto plane = ViewPlane(state.range(0));
    Scene& s = scene(plane);
    for (auto _ : state) {
        nextSlice(s, plane);
        renderFrame(s);
    }
    state.SetLabel(viewPlaneName(plane));
}
BENCHMARK(ResliceAndRender)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void ScrollAllSlices(benchmark::State& state) {
    const auto plane = ViewPlane(state.range(0));
    Scene& s = scene(plane);
    double slowest = 0, total = 0;
    int frames = 0;
    for (auto _ : state) {
        s.cursor.setSlice(plane, 0);
        const int count = s.cursor.sliceCount(plane);
        for (int i = 0; i < count; ++i) {
            const auto start = std::chrono::steady_clock::now();
            s.cursor.setSlice(plane, i);
            renderFrame(s);
            const double ms =
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                    .count();
            slowest = std::max(slowest, ms);
            total += ms;
            ++frames;
        }
    }
    state.counters["max_frame_ms"] = slowest;
    state.counters["mean_frame_ms"] = total / std::max(frames, 1);
    state.counters["frames"] = frames;
    state.SetLabel(viewPlaneName(plane));
}
BENCHMARK(ScrollAllSlices)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->Iterations(1);

std::unique_ptr<LabelEditor> editor;

void PaintStampAndRender(benchmark::State& state) {
    Scene& s = scene(ViewPlane::Axial);
    if (!editor) {
        editor = std::make_unique<LabelEditor>();
        editor->startAnnotation(&ct->volume);
        editor->setMode(EditMode::Paint);
        editor->setBrushRadiusMm(5);
        s.view->setLabelOverlay(editor->overlayImage(), editor->overlayColours());
    }
    const int z = s.cursor.slice(ViewPlane::Axial);
    imaging::Index3 voxel{100, 256, z};
    editor->handlePointer(annotation::PointerPhase::Press, voxel, 2);
    int step = 1;
    for (auto _ : state) {
        if (voxel[0] + step > 400 || voxel[0] + step < 100)
            step = -step;
        voxel[0] += step;
        editor->handlePointer(annotation::PointerPhase::Drag, voxel, 2);
        renderFrame(s);
    }
    editor->handlePointer(annotation::PointerPhase::Release, voxel, 2);
    state.counters["labelled_voxels"] = double(editor->labels().voxelCounts()[1]);
}
BENCHMARK(PaintStampAndRender)->Unit(benchmark::kMillisecond)->MinTime(2.0);

} // namespace

int main(int argc, char** argv) {
    return radmark::testing::runGuiBenchmarks(argc, argv, [] {
        for (auto& s : scenes)
                s.reset();
        editor.reset();
        ct.reset();
    });
}
