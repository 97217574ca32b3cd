// The 3D view on a generated 256x256x200 CT (CT bone preset, 512x512 view) on whatever OpenGL
// the display offers (llvmpipe under Xvfb here): a full-quality frame (mouse still) against an
// interactive frame (mouse down: the interactor asks for 10 frames a second and the mapper
// coarsens its sampling). Run:
//   xvfb-run -a -s "-screen 0 1920x1200x24" build/tests/viewer/bench_volume_render
#include "GuiBenchmarkMain.h"
#include "SyntheticVolumes.h"

#include "viewer/VolumeImageData.h"
#include "viewer/VolumeView.h"

#include <benchmark/benchmark.h>

#include <QApplication>
#include <QOpenGLContext>
#include <QOpenGLFunctions>
#include <QTest>

#include <vtkCamera.h>
#include <vtkGenericOpenGLRenderWindow.h>
#include <vtkImageData.h>
#include <vtkRenderer.h>

#include <memory>

using namespace radmark;
using namespace radmark::viewer;

namespace {

std::unique_ptr<radmark::testing::SyntheticCt> ct;
vtkSmartPointer<vtkImageData> image;
std::unique_ptr<VolumeView> view; // released before the QApplication goes

VolumeView& volumeView() {
    if (!view) {
        ct = std::make_unique<radmark::testing::SyntheticCt>(
            radmark::testing::makeSyntheticCt({256, 256, 200}, {1.4, 1.4, 2.0}));
        image = wrapVolume(ct->volume);
        image->SetOrigin(0, 0, 0);
        const double identity[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
        image->SetDirectionMatrix(identity);
        view = std::make_unique<VolumeView>();
        view->resize(512, 512);
        view->show();
        if (!QTest::qWaitForWindowExposed(view.get()))
            qFatal("the benchmark needs a display (run it under xvfb-run)");
        view->setImage(image, ct->volume.geometry(), 1000);
        view->applyPreset(*findVolumeRenderingPreset("CT bone"));
        QApplication::processEvents();
    }
    return *view;
}

void renderFrame(VolumeView& v) {
    v.renderer()->GetActiveCamera()->Azimuth(3); // a new viewpoint each frame, as when rotating
    v.renderNow();
    v.makeCurrent();
    QOpenGLContext::currentContext()->functions()->glFinish();
    v.doneCurrent();
}

void VolumeRender(benchmark::State& state) {
    VolumeView& v = volumeView();
    const bool interactive = state.range(0) == 1;
    v.renderWindow()->SetDesiredUpdateRate(interactive ? 10.0 : 0.001);
    renderFrame(v); // settle the sampling distance the mapper picks for this rate
    for (auto _ : state)
        renderFrame(v);
    state.SetLabel(interactive ? "interactive (mouse down)" : "still (full quality)");
    v.renderWindow()->SetDesiredUpdateRate(0.001);
}
BENCHMARK(VolumeRender)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->MinTime(3.0);

} // namespace

int main(int argc, char** argv) {
    return radmark::testing::runGuiBenchmarks(argc, argv, [] {
        view.reset();
        image = nullptr;
        ct.reset();
    });
}
