#include "GuiTestSupport.h"

#include "viewer/VtkOpenGLWidget.h"

#include <QApplication>
#include <QDir>
#include <QFile>
#include <QMutex>
#include <QMutexLocker>

#include <vtkObjectFactory.h>
#include <vtkOutputWindow.h>
#include <vtkSmartPointer.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <unistd.h>

namespace radmark::testing {

namespace {
QMutex mutex;
QStringList& warnings() {
    static QStringList list;
    return list;
}
void record(const QString& text) {
    QMutexLocker lock(&mutex);
    warnings().append(text);
}

void qtMessages(QtMsgType type, const QMessageLogContext&, const QString& message) {
    std::fprintf(stderr, "%s\n", qPrintable(message));
    if (type != QtDebugMsg && type != QtInfoMsg)
        record(QStringLiteral("Qt: ") + message);
}

// Records VTK warnings and errors (and still prints them).
class RecordingOutputWindow : public vtkOutputWindow {
  public:
    static RecordingOutputWindow* New();
    vtkTypeMacro(RecordingOutputWindow,
                 vtkOutputWindow) void DisplayErrorText(const char* text) override {
        record(QStringLiteral("VTK error: ") + QString::fromUtf8(text));
        std::fprintf(stderr, "%s\n", text);
    }
    void DisplayWarningText(const char* text) override {
        record(QStringLiteral("VTK warning: ") + QString::fromUtf8(text));
        std::fprintf(stderr, "%s\n", text);
    }
    void DisplayGenericWarningText(const char* text) override { DisplayWarningText(text); }
};
vtkStandardNewMacro(RecordingOutputWindow);
} // namespace

QStringList recordedWarnings() {
    QMutexLocker lock(&mutex);
    return warnings();
}

void clearRecordedWarnings() {
    QMutexLocker lock(&mutex);
    warnings().clear();
}

PixelStatistics pixelStatistics(const QImage& image, const QRect& region) {
    const QRect r = region.intersected(image.rect());
    PixelStatistics s;
    if (r.isEmpty())
        return s;
    std::array<int, 256> histogram{};
    double sum = 0, sumSquares = 0;
    int bright = 0;
    const QImage rgb = image.convertToFormat(QImage::Format_RGB32);
    for (int y = r.top(); y <= r.bottom(); ++y) {
        for (int x = r.left(); x <= r.right(); ++x) {
            const QRgb p = rgb.pixel(x, y);
            const int l = (qRed(p) * 30 + qGreen(p) * 59 + qBlue(p) * 11) / 100;
            ++histogram[l];
            sum += l;
            sumSquares += double(l) * l;
            bright += l > 30;
        }
    }
    const double n = double(r.width()) * r.height();
    s.meanLuminance = sum / n;
    s.luminanceStdDev =
        std::sqrt(std::max(0.0, sumSquares / n - s.meanLuminance * s.meanLuminance));
    for (int count : histogram)
        s.distinctLuminances += count > 0;
    s.brightFraction = bright / n;
    return s;
}

} // namespace radmark::testing

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    for (int i = 1; i < argc; ++i)
        if (std::strncmp(argv[i], "--gtest_list_tests", 18) == 0)
            return RUN_ALL_TESTS(); // listing needs no display
    // Qt warns when the runtime dir is missing (common under xvfb-run); give it a private one
    // so that a real warning is never drowned by that one.
    if (!std::getenv("XDG_RUNTIME_DIR")) {
        const std::string dir =
            QDir::tempPath().toStdString() + "/radmark-test-runtime-" + std::to_string(getuid());
        QDir().mkpath(QString::fromStdString(dir));
        QFile::setPermissions(QString::fromStdString(dir), QFileDevice::ReadOwner |
                                                               QFileDevice::WriteOwner |
                                                               QFileDevice::ExeOwner);
        setenv("XDG_RUNTIME_DIR", dir.c_str(), 1);
    }
    qInstallMessageHandler(radmark::testing::qtMessages);
    vtkOutputWindow::SetInstance(vtkSmartPointer<radmark::testing::RecordingOutputWindow>::New());
    radmark::viewer::VtkOpenGLWidget::installDefaultSurfaceFormat();
    QApplication app(argc, argv);
    return RUN_ALL_TESTS();
}
