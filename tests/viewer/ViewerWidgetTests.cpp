// The Qt 6 <-> VTK bridge and the views, on generated volumes, under a real X server (Xvfb).
#include "GuiTestSupport.h"
#include "SyntheticVolumes.h"

#include "viewer/FourUpViewer.h"
#include "viewer/VtkOpenGLWidget.h"

#include <QApplication>
#include <QMouseEvent>
#include <QTest>
#include <QWheelEvent>

#include <vtkActor.h>
#include <vtkCamera.h>
#include <vtkGenericOpenGLRenderWindow.h>
#include <vtkPlaneSource.h>
#include <vtkPolyDataMapper.h>
#include <vtkProperty.h>
#include <vtkRenderer.h>
#include <vtkSmartPointer.h>

#include <algorithm>
#include <cmath>

using namespace radmark;
using namespace radmark::viewer;
using radmark::testing::GuiTest;

namespace {

// Where the bright pixels (the 1000 HU marker under a bone window) are, as a fraction of the image.
QPointF brightCentroid(const QImage& image) {
    double sx = 0, sy = 0, n = 0;
    // The middle 80%: corner text is light grey too.
    for (int y = image.height() / 10; y < image.height() * 9 / 10; ++y)
        for (int x = image.width() / 10; x < image.width() * 9 / 10; ++x) {
            const QRgb p = image.pixel(x, y);
            // The marker shows light grey; letters are orange and the crosshair yellow.
            const bool grey =
                std::abs(qRed(p) - qGreen(p)) < 12 && std::abs(qRed(p) - qBlue(p)) < 12;
            if (grey && qRed(p) > 150) {
                sx += x;
                sy += y;
                ++n;
            }
        }
    if (n == 0)
        return {-1, -1};
    return {sx / n / image.width(), sy / n / image.height()};
}

void sendMouse(QWidget* widget, QEvent::Type type, Qt::MouseButton button, Qt::MouseButtons buttons,
               QPointF at) {
    QMouseEvent event(type, at, widget->mapToGlobal(at), button, buttons, Qt::NoModifier);
    QApplication::sendEvent(widget, &event);
}

class Viewer : public GuiTest {
  protected:
    void SetUp() override {
        GuiTest::SetUp();
        ct = radmark::testing::makeSyntheticCt({96, 96, 80}, {2, 2, 2.5});
        viewer = std::make_unique<FourUpViewer>();
        viewer->resize(900, 900);
        viewer->show();
        ASSERT_TRUE(QTest::qWaitForWindowExposed(viewer.get()));
        viewer->setVolume(std::make_shared<imaging::Volume>(ct.volume));
        QApplication::processEvents();
    }
    void TearDown() override {
        viewer.reset();
        GuiTest::TearDown();
    }
    radmark::testing::SyntheticCt ct;
    std::unique_ptr<FourUpViewer> viewer;
};

} // namespace

TEST_F(GuiTest, BridgeWidgetShowsRealPixels) {
    // A red square over the left half of a blue background, seen straight on.
    VtkOpenGLWidget widget;
    widget.resize(320, 240);
    widget.renderer()->SetBackground(0, 0, 1);
    auto plane = vtkSmartPointer<vtkPlaneSource>::New();
    plane->SetOrigin(-1, -1, 0);
    plane->SetPoint1(0, -1, 0);
    plane->SetPoint2(-1, 1, 0);
    auto mapper = vtkSmartPointer<vtkPolyDataMapper>::New();
    mapper->SetInputConnection(plane->GetOutputPort());
    auto actor = vtkSmartPointer<vtkActor>::New();
    actor->SetMapper(mapper);
    actor->GetProperty()->SetColor(1, 0, 0);
    actor->GetProperty()->LightingOff();
    widget.renderer()->AddActor(actor);
    vtkCamera* camera = widget.renderer()->GetActiveCamera();
    camera->ParallelProjectionOn();
    camera->SetFocalPoint(0, 0, 0);
    camera->SetPosition(0, 0, 5);
    camera->SetViewUp(0, 1, 0);
    camera->SetParallelScale(1); // y in [-1, 1] fills the height
    widget.show();
    ASSERT_TRUE(QTest::qWaitForWindowExposed(&widget));
    ASSERT_TRUE(widget.renderNow());

    const QImage image = widget.grabFramebuffer();
    ASSERT_FALSE(image.isNull());
    const int w = image.width(), h = image.height();
    // x = 0 in world is the centre column; the red square spans world x in [-1, 0].
    const QRgb insideSquare = image.pixel(w / 2 - 20, h / 2);
    const QRgb background = image.pixel(w - 10, h / 2);
    EXPECT_GT(qRed(insideSquare), 230);
    EXPECT_LT(qGreen(insideSquare), 20);
    EXPECT_LT(qBlue(insideSquare), 20);
    EXPECT_LT(qRed(background), 20);
    EXPECT_GT(qBlue(background), 230);
    EXPECT_EQ(qAlpha(background), 255); // alpha cleared to 1, or the desktop would show through

    // The same pixels through QWidget::grab (how screenshots of the main window are taken).
    const QImage grabbed = widget.grab().toImage();
    const QRgb grabbedSquare = grabbed.pixel(grabbed.width() / 2 - 20, grabbed.height() / 2);
    EXPECT_GT(qRed(grabbedSquare), 230);
    EXPECT_LT(qBlue(grabbedSquare), 20);
}

TEST_F(Viewer, MarkerAppearsWhereTheConventionPutsIt) {
    viewer->setWindowLevel({1800, 400}); // bone: only the marker is white
    viewer->moveCursorTo(ct.markerIndex);
    viewer->renderAll();
    const QPointF axial = brightCentroid(viewer->sliceView(ViewPlane::Axial)->grabFramebuffer());
    if (qEnvironmentVariableIsSet("RADMARK_DEBUG_SHOTS")) {
        viewer->sliceView(ViewPlane::Axial)->grabFramebuffer().save("/tmp/rm-axial.png");
        viewer->sliceView(ViewPlane::Coronal)->grabFramebuffer().save("/tmp/rm-coronal.png");
        viewer->sliceView(ViewPlane::Sagittal)->grabFramebuffer().save("/tmp/rm-sagittal.png");
    }
    const QPointF coronal =
        brightCentroid(viewer->sliceView(ViewPlane::Coronal)->grabFramebuffer());
    const QPointF sagittal =
        brightCentroid(viewer->sliceView(ViewPlane::Sagittal)->grabFramebuffer());
    // Marker: patient's left, anterior, superior.
    EXPECT_GT(axial.x(), 0.55);                             // left is on the screen's right
    EXPECT_LT(axial.y(), 0.45);                             // anterior is up
    EXPECT_GT(coronal.x(), 0.55);                           // left on the right
    EXPECT_LT(coronal.y(), 0.45);                           // superior up
    EXPECT_LT(sagittal.x(), 0.45);                          // anterior on the left
    EXPECT_LT(sagittal.y(), 0.45);                          // superior up
    for (const QPointF& found : {axial, coronal, sagittal}) // -1: the marker was not seen at all
        EXPECT_GT(std::min(found.x(), found.y()), 0.05);
}

TEST_F(Viewer, LeftHandedGridStillShowsLeftOnTheRight) {
    // Index x grows toward the patient's right (a mirrored grid): the display must not mirror.
    ct = radmark::testing::makeSyntheticCt({96, 96, 80}, {2, 2, 2.5}, {-1, 0, 0, 0, 1, 0, 0, 0, 1});
    viewer->setVolume(std::make_shared<imaging::Volume>(ct.volume));
    viewer->setWindowLevel({1800, 400});
    viewer->moveCursorTo(ct.markerIndex);
    viewer->renderAll();
    const QPointF axial = brightCentroid(viewer->sliceView(ViewPlane::Axial)->grabFramebuffer());
    EXPECT_GT(axial.x(), 0.55);
    EXPECT_LT(axial.y(), 0.45);
    EXPECT_GT(axial.y(), 0.05);
}

TEST_F(Viewer, ValueUnderTheCursorIsInHounsfieldUnits) {
    const QString text = viewer->describePoint(ct.markerIndex);
    EXPECT_TRUE(text.contains(QStringLiteral("value 1000 HU"))) << text.toStdString();
    EXPECT_TRUE(text.contains(QLatin1Char('L'))) << text.toStdString();
}

TEST_F(Viewer, ClickInAxialMovesCoronalAndSagittal) {
    SliceView* axial = viewer->sliceView(ViewPlane::Axial);
    const int axialSlice = viewer->cursor().slice(ViewPlane::Axial);
    const int coronalSlice = viewer->cursor().slice(ViewPlane::Coronal);
    const int sagittalSlice = viewer->cursor().slice(ViewPlane::Sagittal);
    // Click where the marker shows: coronal and sagittal must move onto it.
    const QPointF at =
        axial->widgetPositionOf({ct.markerIndex[0], ct.markerIndex[1], double(axialSlice)});
    QTest::mouseClick(axial, Qt::LeftButton, {}, at.toPoint());
    EXPECT_EQ(viewer->cursor().slice(ViewPlane::Axial), axialSlice);
    EXPECT_NE(viewer->cursor().slice(ViewPlane::Coronal), coronalSlice);
    EXPECT_NE(viewer->cursor().slice(ViewPlane::Sagittal), sagittalSlice);
    EXPECT_NEAR(viewer->cursor().slice(ViewPlane::Sagittal), ct.markerIndex[0], 1.01);
    EXPECT_NEAR(viewer->cursor().slice(ViewPlane::Coronal), ct.markerIndex[1], 1.01);
}

TEST_F(Viewer, WheelAndKeysScrollSlices) {
    SliceView* coronal = viewer->sliceView(ViewPlane::Coronal);
    const imaging::Vec3 start = viewer->cursor().lps();
    coronal->setFocus();
    QTest::keyClick(coronal, Qt::Key_Up);
    EXPECT_LT(viewer->cursor().lps()[1], start[1]); // one slice anterior
    QTest::keyClick(coronal, Qt::Key_PageDown);
    EXPECT_NEAR(viewer->cursor().lps()[1] - start[1], 9 * 2.0, 1e-6); // net 9 slices posterior
    const int before = viewer->cursor().slice(ViewPlane::Coronal);
    QWheelEvent wheel(QPointF(100, 100), coronal->mapToGlobal(QPointF(100, 100)), QPoint(),
                      QPoint(0, 240), Qt::NoButton, Qt::NoModifier, Qt::NoScrollPhase, false);
    QApplication::sendEvent(coronal, &wheel);
    EXPECT_EQ(std::abs(viewer->cursor().slice(ViewPlane::Coronal) - before), 2);
    QTest::keyClick(coronal, Qt::Key_Home);
    EXPECT_EQ(viewer->cursor().slice(ViewPlane::Coronal), 0);
}

TEST_F(Viewer, RightDragChangesWindowLevelOfEveryView) {
    SliceView* sagittal = viewer->sliceView(ViewPlane::Sagittal);
    const WindowLevel before = viewer->windowLevel();
    sendMouse(sagittal, QEvent::MouseButtonPress, Qt::RightButton, Qt::RightButton, {100, 100});
    sendMouse(sagittal, QEvent::MouseMove, Qt::NoButton, Qt::RightButton, {160, 130});
    sendMouse(sagittal, QEvent::MouseButtonRelease, Qt::RightButton, Qt::NoButton, {160, 130});
    const WindowLevel after = viewer->windowLevel();
    EXPECT_GT(after.window, before.window);
    EXPECT_GT(after.level, before.level);
    EXPECT_DOUBLE_EQ(viewer->sliceView(ViewPlane::Axial)->windowLevel().window, after.window);
}

TEST_F(Viewer, ZoomPanAndReset) {
    SliceView* axial = viewer->sliceView(ViewPlane::Axial);
    const QPointF centre = axial->widgetPositionOf(ct.markerIndex);
    axial->zoomBy(2);
    EXPECT_DOUBLE_EQ(axial->zoom(), 2);
    axial->panBy({30, 0});
    const QPointF moved = axial->widgetPositionOf(ct.markerIndex);
    EXPECT_NE(moved, centre);
    axial->resetView();
    const QPointF reset = axial->widgetPositionOf(ct.markerIndex);
    EXPECT_NEAR(reset.x(), centre.x(), 0.5);
    EXPECT_NEAR(reset.y(), centre.y(), 0.5);
}

TEST_F(Viewer, DoubleClickMaximisesAndRestores) {
    SliceView* sagittal = viewer->sliceView(ViewPlane::Sagittal);
    QTest::mouseDClick(sagittal, Qt::LeftButton, {}, QPoint(50, 50));
    EXPECT_EQ(viewer->maximisedView(), sagittal);
    EXPECT_FALSE(viewer->sliceView(ViewPlane::Axial)->isVisible());
    EXPECT_FALSE(viewer->volumeView()->isVisible());
    QTest::mouseDClick(sagittal, Qt::LeftButton, {}, QPoint(50, 50));
    EXPECT_EQ(viewer->maximisedView(), nullptr);
    EXPECT_TRUE(viewer->sliceView(ViewPlane::Axial)->isVisible());
    EXPECT_TRUE(viewer->volumeView()->isVisible());
}

TEST_F(Viewer, VolumeRenderingShowsTheBody) {
    viewer->applyVolumeRenderingPreset(*findVolumeRenderingPreset("CT soft tissue"));
    viewer->renderAll();
    const QImage image = viewer->volumeView()->grabFramebuffer();
    const auto stats = radmark::testing::pixelStatistics(image, image.rect());
    EXPECT_GT(stats.brightFraction, 0.1);
    EXPECT_GT(stats.distinctLuminances, 40);
}

TEST_F(Viewer, DraggingRotatesThe3DView) {
    VolumeView* view = viewer->volumeView();
    vtkCamera* camera = view->renderer()->GetActiveCamera();
    double before[3];
    camera->GetPosition(before);
    const QPointF centre(view->width() / 2.0, view->height() / 2.0);
    sendMouse(view, QEvent::MouseButtonPress, Qt::LeftButton, Qt::LeftButton, centre);
    sendMouse(view, QEvent::MouseMove, Qt::NoButton, Qt::LeftButton, centre + QPointF(60, 0));
    view->renderNow(); // an interactive (reduced quality) frame
    sendMouse(view, QEvent::MouseButtonRelease, Qt::LeftButton, Qt::NoButton,
              centre + QPointF(60, 0));
    view->renderNow(); // and the full-quality one
    double after[3];
    camera->GetPosition(after);
    EXPECT_GT(std::abs(after[0] - before[0]) + std::abs(after[1] - before[1]), 1.0);
}
