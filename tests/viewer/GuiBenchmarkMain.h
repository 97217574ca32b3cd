#pragma once
// The main of a Google Benchmark binary that renders with real widgets: the OpenGL surface format
// and a QApplication first, then the benchmarks, then `releaseWidgets` while the QApplication
// still exists (widgets and render windows must go before it).

#include "viewer/VtkOpenGLWidget.h"

#include <QApplication>

#include <benchmark/benchmark.h>

#include <functional>

namespace radmark::testing {

inline int runGuiBenchmarks(int argc, char** argv, const std::function<void()>& releaseWidgets) {
    viewer::VtkOpenGLWidget::installDefaultSurfaceFormat();
    QApplication app(argc, argv);
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    releaseWidgets();
    return 0;
}

} // namespace radmark::testing
