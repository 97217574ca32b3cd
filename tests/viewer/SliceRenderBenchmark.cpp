// Re-slice + render of one 512x512 slice view on a generated 512x512x500 CT (int16 HU, in
// memory), on whatever OpenGL the display offers (llvmpipe under Xvfb here). Run:
//   xvfb-run -a -s "-screen 0 1920x1200x24" build/tests/viewer/bench_slice_render
// Each frame moves the view to the next slice (VTK extracts and window/levels it, uploads the
// texture, draws, and the bridge blits), then waits for the GL to finish (glFinish).
// "ScrollAllSlices" renders every slice once and reports the slowest frame (a stall shows there).
// "PaintStampAndRender": one brush stamp (2D disc, r = 5 mm) through the LabelEditor during a
// drag in the axial view, then the frame showing it (label overlay refresh + render).
// "SingleViewWheelStep" / "SideBySideWheelStep" (review): one wheel notch (a real QWheelEvent)
// on a 512x512 axial view showing a label map (a 200 mL sphere), then the frame; side by side,
// the left view of a ComparisonViewer with two such label maps (the second sphere shifted
// 1.5 mm: they differ at the edge), and both linked views re-render. Counters: CPU time of the
// benchmark thread per view (side by side: per frame / 2), p50 and p95 over the frames, and
// the side-by-side figures over the single view's of the same run (ratio_p50, ratio_p95).
// "TwoLinkedSliceViewsWheelStep": the control, two bare SliceViews on one cursor.
#include "GuiBenchmarkMain.h"
#include "SyntheticVolumes.h"

#include "viewer/ComparisonViewer.h"
#include "viewer/LabelEditor.h"
#include "viewer/SliceCursor.h"
#include "viewer/SliceView.h"
#include "viewer/VolumeImageData.h"

#include <benchmark/benchmark.h>

#include <QApplication>
#include <QHBoxLayout>
#include <QOpenGLContext>
#include <QOpenGLFunctions>
#include <QTest>
#include <QWheelEvent>

#include <vtkImageData.h>
#include <vtkLookupTable.h>
#include <vtkPointData.h>
#include <vtkUnsignedCharArray.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <memory>
#include <tuple>
#include <utility>
#include <vector>

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

// Review: the side-by-side comparison's wheel step against one view's, in the same run.
std::shared_ptr<annotation::LabelMap> referenceLabels, otherLabels;
std::unique_ptr<Scene> singleView;
std::unique_ptr<ComparisonViewer> comparison;
double singleP50 = 0, singleP95 = 0;

// A 200 mL sphere (radius 36.3 mm) of label 1 around the grid centre, shifted `shiftMm` along x.
std::shared_ptr<annotation::LabelMap> sphereLabels(double shiftMm) {
    const imaging::Geometry& g = ct->volume.geometry();
    auto labels = std::make_shared<annotation::LabelMap>(g);
    const double radius = 36.28;
    const imaging::Vec3 centre{(g.dims[0] - 1) / 2.0 * g.spacing[0] + shiftMm,
                               (g.dims[1] - 1) / 2.0 * g.spacing[1],
                               (g.dims[2] - 1) / 2.0 * g.spacing[2]};
    for (int z = 0; z < g.dims[2]; ++z) {
        const double dz = z * g.spacing[2] - centre[2];
        if (std::abs(dz) > radius)
            continue;
        for (int y = 0; y < g.dims[1]; ++y) {
            const double dy = y * g.spacing[1] - centre[1];
            if (dy * dy + dz * dz > radius * radius)
                continue;
            for (int x = 0; x < g.dims[0]; ++x) {
                const double dx = x * g.spacing[0] - centre[0];
                if (dx * dx + dy * dy + dz * dz <= radius * radius)
                    labels->set({x, y, z}, 1);
            }
        }
    }
    return labels;
}

void makeLabels() {
    scene(ViewPlane::Axial); // makes the CT
    if (!referenceLabels) {
        referenceLabels = sphereLabels(0);
        otherLabels = sphereLabels(1.5);
    }
}

annotation::SegmentList liverSegments() {
    annotation::SegmentList segments;
    segments.add("Liver", annotation::Rgb{221, 130, 101});
    return segments;
}

double threadCpuMs() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

double percentile(std::vector<double> values, double q) {
    if (values.empty())
        return 0;
    std::sort(values.begin(), values.end());
    return values[std::size_t(q * double(values.size() - 1) + 0.5)];
}

// Wheel notches toward S, then back toward I, staying inside the sphere (slices 220..280).
void wheelStep(SliceView* view, const SliceCursor& cursor, int& direction) {
    const int slice = cursor.slice(ViewPlane::Axial);
    if (slice >= 280)
        direction = -1;
    else if (slice <= 220)
        direction = 1;
    const QPointF at(view->width() / 2.0, view->height() / 2.0);
    QWheelEvent wheel(at, view->mapToGlobal(at), QPoint(), QPoint(0, 120 * direction), Qt::NoButton,
                      Qt::NoModifier, Qt::NoScrollPhase, false);
    QApplication::sendEvent(view, &wheel);
}

void finish(SliceView* view) {
    view->makeCurrent();
    QOpenGLContext::currentContext()->functions()->glFinish();
    view->doneCurrent();
}

// The reference sphere as the workstation's label layer: the label map's buffer without a
// copy, label 1 at 50 % opacity.
struct LabelLayer {
    vtkSmartPointer<vtkImageData> image;
    vtkSmartPointer<vtkLookupTable> colours;
};
LabelLayer referenceLayer() {
    const imaging::Geometry& g = ct->volume.geometry();
    auto array = vtkSmartPointer<vtkUnsignedCharArray>::New();
    array->SetVoidArray(const_cast<std::uint8_t*>(referenceLabels->data()),
                        vtkIdType(referenceLabels->voxelCount()), 1);
    LabelLayer layer{vtkSmartPointer<vtkImageData>::New(), vtkSmartPointer<vtkLookupTable>::New()};
    layer.image->SetDimensions(g.dims[0], g.dims[1], g.dims[2]);
    layer.image->SetSpacing(g.spacing[0], g.spacing[1], g.spacing[2]);
    layer.image->GetPointData()->SetScalars(array);
    layer.colours->SetNumberOfTableValues(256);
    layer.colours->SetTableRange(0, 255);
    for (int value = 0; value < 256; ++value)
        layer.colours->SetTableValue(value, 0, 0, 0, 0);
    layer.colours->SetTableValue(1, 221 / 255.0, 130 / 255.0, 101 / 255.0, 0.5);
    layer.colours->Build();
    return layer;
}

// The loop: one wheel notch on views[0], then every view renders and finishes. Reports CPU
// time per view and frame (p50, p95) and the CPU time of the wheel event alone (the cursor
// step and every view's slice update, overlays included).
std::pair<double, double> measureWheelSteps(benchmark::State& state,
                                            const std::vector<SliceView*>& views,
                                            const SliceCursor& cursor) {
    int direction = 1;
    double eventMs = 0;
    std::vector<double> perView;
    for (auto _ : state) {
        const double start = threadCpuMs();
        wheelStep(views[0], cursor, direction);
        eventMs += threadCpuMs() - start;
        for (SliceView* view : views)
            view->renderNow();
        for (SliceView* view : views)
            finish(view);
        perView.push_back((threadCpuMs() - start) / double(views.size()));
    }
    const double p50 = percentile(perView, 0.5), p95 = percentile(perView, 0.95);
    state.counters["cpu_per_view_p50_ms"] = p50;
    state.counters["cpu_per_view_p95_ms"] = p95;
    state.counters["wheel_event_cpu_ms"] =
        eventMs / double(std::max<std::size_t>(1, perView.size()));
    state.counters["view_width"] = views[0]->width();
    state.counters["view_height"] = views[0]->height();
    return {p50, p95};
}

void reportRatio(benchmark::State& state, std::pair<double, double> figures) {
    if (singleP50 > 0) {
        state.counters["ratio_p50"] = figures.first / singleP50;
        state.counters["ratio_p95"] = figures.second / singleP95;
    }
}

LabelLayer singleLayer;

void SingleViewWheelStep(benchmark::State& state) {
    makeLabels();
    if (!singleView) {
        singleView = std::make_unique<Scene>();
        Scene& s = *singleView;
        s.image = wrapVolume(ct->volume);
        s.image->SetOrigin(0, 0, 0);
        const double identity[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
        s.image->SetDirectionMatrix(identity);
        s.cursor = SliceCursor(ct->volume.geometry());
        s.view = std::make_unique<SliceView>(ViewPlane::Axial);
        s.view->resize(512, 512);
        s.view->show();
        if (!QTest::qWaitForWindowExposed(s.view.get()))
            qFatal("the benchmark needs a display (run it under xvfb-run)");
        s.view->setImage(s.image, &s.cursor, 2000);
        s.view->setWindowLevel({400, 50});
        singleLayer = referenceLayer();
        s.view->setLabelOverlay(singleLayer.image, singleLayer.colours);
        QObject::connect(s.view.get(), &SliceView::cursorMoved, s.view.get(),
                         [view = s.view.get()] { view->cursorChanged(); });
        QApplication::processEvents();
    }
    std::tie(singleP50, singleP95) =
        measureWheelSteps(state, {singleView->view.get()}, singleView->cursor);
}
BENCHMARK(SingleViewWheelStep)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void SideBySideWheelStep(benchmark::State& state) {
    makeLabels();
    if (!comparison) {
        comparison = std::make_unique<ComparisonViewer>();
        comparison->resize(1026, 600);
        comparison->show();
        if (!QTest::qWaitForWindowExposed(comparison.get()))
            qFatal("the benchmark needs a display (run it under xvfb-run)");
        QApplication::processEvents();
        // Both views 512x512, like the single view.
        const QSize view = comparison->view(0)->size();
        comparison->resize(comparison->width() + 512 - view.width(),
                           comparison->height() + 512 - view.height());
        // Shares the benchmark's CT without copying it.
        comparison->setVolume(
            std::shared_ptr<imaging::Volume>(std::shared_ptr<void>(), &ct->volume));
        ComparedSide reference{referenceLabels, liverSegments(), {}, {"A", {}, "1111111", "A"}};
        ComparedSide other{otherLabels, liverSegments(), {}, {"B", {}, "2222222", "B"}};
        comparison->setSides(std::move(reference), std::move(other));
        comparison->setWindowLevel({400, 50});
        QApplication::processEvents();
    }
    reportRatio(state, measureWheelSteps(state, {comparison->view(0), comparison->view(1)},
                                         comparison->cursor()));
}
BENCHMARK(SideBySideWheelStep)->Unit(benchmark::kMillisecond)->MinTime(2.0);

// The control: two bare SliceViews on one cursor, linked by hand, with the same label layer.
// What they cost over one view is the second view's own GL context and frame, not the
// comparison widget.
struct TwoViews {
    QWidget window;
    std::array<SliceView*, 2> views{};
    vtkSmartPointer<vtkImageData> image;
    LabelLayer labels;
    SliceCursor cursor;
};
std::unique_ptr<TwoViews> twoViews;

void TwoLinkedSliceViewsWheelStep(benchmark::State& state) {
    makeLabels();
    if (!twoViews) {
        twoViews = std::make_unique<TwoViews>();
        TwoViews& t = *twoViews;
        auto* layout = new QHBoxLayout(&t.window);
        for (auto*& view : t.views) {
            view = new SliceView(ViewPlane::Axial, &t.window);
            view->setFixedSize(512, 512);
            layout->addWidget(view);
        }
        t.window.show();
        if (!QTest::qWaitForWindowExposed(&t.window))
            qFatal("the benchmark needs a display (run it under xvfb-run)");
        t.image = wrapVolume(ct->volume);
        t.image->SetOrigin(0, 0, 0);
        const double identity[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
        t.image->SetDirectionMatrix(identity);
        t.cursor = SliceCursor(ct->volume.geometry());
        t.labels = referenceLayer();
        for (SliceView* view : t.views) {
            view->setImage(t.image, &t.cursor, 2000);
            view->setWindowLevel({400, 50});
            view->setLabelOverlay(t.labels.image, t.labels.colours);
            QObject::connect(view, &SliceView::cursorMoved, view, [&t] {
                for (SliceView* each : t.views)
                    each->cursorChanged();
            });
        }
        QApplication::processEvents();
    }
    reportRatio(state, measureWheelSteps(state, {twoViews->views[0], twoViews->views[1]},
                                         twoViews->cursor));
}
BENCHMARK(TwoLinkedSliceViewsWheelStep)->Unit(benchmark::kMillisecond)->MinTime(2.0);

} // namespace

int main(int argc, char** argv) {
    return radmark::testing::runGuiBenchmarks(argc, argv, [] {
        for (auto& s : scenes)
            s.reset();
        editor.reset();
        comparison.reset();
        twoViews.reset();
        singleLayer = {};
        singleView.reset();
        referenceLabels.reset();
        otherLabels.reset();
        ct.reset();
    });
}
