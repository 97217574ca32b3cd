// The side-by-side comparison of two annotation versions, on a generated CT with two label maps
// that differ at known voxels, under a real X server (Xvfb): what each view shows, the linked
// wheel, zoom, pan and window/level, the overlay colours, swapping, markers and pinning.
#include "GuiTestSupport.h"
#include "SyntheticVolumes.h"

#include "viewer/BoxOverlay.h"
#include "viewer/ComparisonViewer.h"

#include <QApplication>
#include <QLabel>
#include <QMouseEvent>
#include <QSignalSpy>
#include <QTest>
#include <QWheelEvent>

#include <cmath>

using namespace radmark;
using namespace radmark::viewer;
using radmark::testing::GuiTest;

namespace {

constexpr annotation::Rgb referenceRed{230, 60, 60};
constexpr annotation::Rgb otherBlue{60, 60, 230}; // close to the overlay's blue: amber instead

// A 20 x 20 x 10 voxel block of "Liver" (SNOMED CT 10200004) starting at x = `x0`, with the
// segment under label `label`: the two sides use different label values for the same organ,
// matched by the code.
ComparedSide liverSide(const imaging::Geometry& grid, int x0, annotation::Label label,
                       annotation::Rgb colour, const QString& author) {
    auto labels = std::make_shared<annotation::LabelMap>(grid);
    for (int z = 15; z <= 24; ++z)
        for (int y = 20; y <= 39; ++y)
            for (int x = x0; x < x0 + 20; ++x)
                labels->set({x, y, z}, label);
    ComparedSide side;
    side.labels = labels;
    annotation::Segment liver;
    liver.label = label;
    liver.name = label == 1 ? "Liver" : "liver (edited)";
    liver.colour = colour;
    liver.type = annotation::CodedConcept{"SCT", "10200004", "Liver"};
    side.segments.add(liver);
    side.label = {author, QDateTime(QDate(2026, 11, 30), QTime(14, 5), Qt::UTC),
                  label == 1 ? QStringLiteral("3fa9c01") : QStringLiteral("b77e2d4"),
                  label == 1 ? QStringLiteral("Submitted") : QStringLiteral("Previous")};
    return side;
}

// The pixel of a voxel's centre in a grab of the view, through the view's own mapping.
QRgb pixelOf(const SliceView* view, const QImage& image, const imaging::Vec3& index) {
    const QPointF at = view->widgetPositionOf(index) * view->devicePixelRatioF();
    return image.pixel(int(std::lround(at.x())), int(std::lround(at.y())));
}

bool grey(QRgb p) {
    return std::abs(qRed(p) - qGreen(p)) < 12 && std::abs(qRed(p) - qBlue(p)) < 12;
}
bool reddish(QRgb p) {
    return qRed(p) > qGreen(p) + 50 && qRed(p) > qBlue(p) + 50;
}
bool bluish(QRgb p) {
    return qBlue(p) > qRed(p) + 50 && qBlue(p) > qGreen(p) + 50;
}
bool greenish(QRgb p) {
    return qGreen(p) > qRed(p) + 60 && qGreen(p) > qBlue(p) + 60;
}
bool amber(QRgb p) {
    return qRed(p) > qBlue(p) + 100 && qGreen(p) > qBlue(p) + 80 && qRed(p) >= qGreen(p);
}
std::string describe(QRgb p) {
    return "rgb(" + std::to_string(qRed(p)) + ", " + std::to_string(qGreen(p)) + ", " +
           std::to_string(qBlue(p)) + ")";
}

// Orange marker pixels in a square around a widget position.
int orangePixelsAround(const SliceView* view, const QImage& image, const imaging::Vec3& index) {
    const QPointF at = view->widgetPositionOf(index) * view->devicePixelRatioF();
    int count = 0;
    for (int y = int(at.y()) - 12; y <= int(at.y()) + 12; ++y)
        for (int x = int(at.x()) - 12; x <= int(at.x()) + 12; ++x) {
            if (!image.rect().contains(x, y))
                continue;
            const QRgb p = image.pixel(x, y);
            count += qRed(p) > 200 && qGreen(p) > 90 && qGreen(p) < 190 && qBlue(p) < 70;
        }
    return count;
}

void wheel(QWidget* view, int delta, Qt::KeyboardModifiers modifiers = Qt::NoModifier) {
    const QPointF at(view->width() / 2.0, view->height() / 2.0);
    QWheelEvent event(at, view->mapToGlobal(at), QPoint(), QPoint(0, delta), Qt::NoButton,
                      modifiers, Qt::NoScrollPhase, false);
    QApplication::sendEvent(view, &event);
}

void sendMouse(QWidget* widget, QEvent::Type type, Qt::MouseButton button, Qt::MouseButtons buttons,
               QPointF at) {
    QMouseEvent event(type, at, widget->mapToGlobal(at), button, buttons, Qt::NoModifier);
    QApplication::sendEvent(widget, &event);
}

// Reference: liver at x 20..39; other: x 24..43 (y 20..39, z 15..24 on both). So at y = 27 on
// slice 20: x 20..23 only in the reference, 24..39 both, 40..43 only in the other.
class Comparison : public GuiTest {
  protected:
    void SetUp() override {
        GuiTest::SetUp();
        ct = radmark::testing::makeSyntheticCt({64, 64, 40}, {2, 2, 2.5});
        const imaging::Geometry& grid = ct.volume.geometry();
        viewer = std::make_unique<ComparisonViewer>();
        viewer->resize(1000, 560);
        viewer->show();
        ASSERT_TRUE(QTest::qWaitForWindowExposed(viewer.get()));
        viewer->activateWindow(); // the widget's keys are shortcuts: they need an active window
        ASSERT_TRUE(QTest::qWaitForWindowActive(viewer.get()));
        viewer->setVolume(std::make_shared<imaging::Volume>(ct.volume));
        ComparedSide reference = liverSide(grid, 20, 1, referenceRed, QStringLiteral("Anna"));
        reference.boxes.push_back(
            {1, 1, "Anna", true, annotation::SliceAxis::Axial, {20, 20, 15}, {39, 39, 24}});
        ComparedSide other = liverSide(grid, 24, 2, otherBlue, QStringLiteral("Ben"));
        other.boxes.push_back(
            {1, 2, "Ben", false, annotation::SliceAxis::Axial, {24, 20, 20}, {43, 39, 20}});
        viewer->setSides(std::move(reference), std::move(other));
        // The crosshair runs through (50, 50): away from the voxels the tests look at.
        viewer->moveCursorTo({50, 50, 20});
        QApplication::processEvents();
    }
    void TearDown() override {
        viewer.reset();
        GuiTest::TearDown();
    }
    QImage grab(int position) { return viewer->view(position)->grabFramebuffer(); }
    void saveShot(const QString& name) {
        if (qEnvironmentVariableIsSet("RADMARK_DEBUG_SHOTS"))
            viewer->grab().save(QStringLiteral("/tmp/rm-compare-%1.png").arg(name));
    }

    radmark::testing::SyntheticCt ct;
    std::unique_ptr<ComparisonViewer> viewer;
};

} // namespace

TEST_F(Comparison, EachSideShowsItsLabelsAndItsHeading) {
    viewer->renderAll();
    saveShot(QStringLiteral("side-by-side"));
    const QImage left = grab(0), right = grab(1);
    SliceView* l = viewer->view(0);
    SliceView* r = viewer->view(1);
    const imaging::Vec3 onlyReference{21, 27, 20}, both{30, 27, 20}, onlyOther{42, 27, 20},
        neither{10, 27, 20};
    EXPECT_TRUE(reddish(pixelOf(l, left, onlyReference)))
        << describe(pixelOf(l, left, onlyReference));
    EXPECT_TRUE(reddish(pixelOf(l, left, both)));
    EXPECT_TRUE(grey(pixelOf(l, left, onlyOther))) << describe(pixelOf(l, left, onlyOther));
    EXPECT_TRUE(grey(pixelOf(r, right, onlyReference)))
        << describe(pixelOf(r, right, onlyReference));
    EXPECT_TRUE(bluish(pixelOf(r, right, both)));
    EXPECT_TRUE(bluish(pixelOf(r, right, onlyOther))) << describe(pixelOf(r, right, onlyOther));
    EXPECT_TRUE(grey(pixelOf(l, left, neither)));
    EXPECT_TRUE(grey(pixelOf(r, right, neither)));

    const QString reference = viewer->heading(0)->text(), other = viewer->heading(1)->text();
    EXPECT_TRUE(reference.contains("Reference") && reference.contains("Anna") &&
                reference.contains("2026-11-30 14:05 UTC") && reference.contains("3fa9c01") &&
                reference.contains("Submitted"))
        << reference.toStdString();
    EXPECT_TRUE(other.contains("Ben") && other.contains("b77e2d4")) << other.toStdString();
    // Each side's boxes on its own view.
    EXPECT_EQ(viewer->boxOverlay(0).shownBoxCount(), 1);
    EXPECT_EQ(viewer->boxOverlay(1).shownBoxCount(), 1);
}

TEST_F(Comparison, WheelInTheLeftViewMovesTheSliceInBoth) {
    viewer->renderAll();
    const QImage leftBefore = grab(0), rightBefore = grab(1);
    const int slice = viewer->cursor().slice(ViewPlane::Axial);
    const QString rightText = viewer->view(1)->sliceText();
    wheel(viewer->view(0), 120); // one notch: one slice toward S
    EXPECT_EQ(viewer->cursor().slice(ViewPlane::Axial), slice + 1);
    EXPECT_NE(viewer->view(1)->sliceText(), rightText);
    EXPECT_EQ(viewer->view(0)->sliceText(), viewer->view(1)->sliceText());
    viewer->renderAll();
    const QImage leftAfter = grab(0), rightAfter = grab(1);
    EXPECT_NE(leftAfter, leftBefore);
    EXPECT_NE(rightAfter, rightBefore);
    // Still labelled on slice 21 on both sides; past the block (slice 25) neither is.
    EXPECT_TRUE(reddish(pixelOf(viewer->view(0), leftAfter, {30, 27, 21})));
    EXPECT_TRUE(bluish(pixelOf(viewer->view(1), rightAfter, {30, 27, 21})));
    wheel(viewer->view(0), 4 * 120);
    EXPECT_EQ(viewer->cursor().slice(ViewPlane::Axial), 25);
    viewer->renderAll();
    EXPECT_TRUE(grey(pixelOf(viewer->view(0), grab(0), {30, 27, 25})));
    EXPECT_TRUE(grey(pixelOf(viewer->view(1), grab(1), {30, 27, 25})));
}

TEST_F(Comparison, OverlayShowsAgreementAndEachSidesExtraVoxels) {
    SliceView* l = viewer->view(0);
    l->setFocus();
    QTest::keyClick(l, Qt::Key_O);
    ASSERT_TRUE(viewer->overlayMode());
    EXPECT_FALSE(viewer->view(1)->isVisible());
    viewer->renderAll();
    saveShot(QStringLiteral("overlay"));
    QImage image = grab(0);
    const imaging::Vec3 onlyReference{21, 27, 20}, both{30, 27, 20}, onlyOther{42, 27, 20};
    EXPECT_TRUE(bluish(pixelOf(l, image, onlyReference)))
        << describe(pixelOf(l, image, onlyReference));
    EXPECT_TRUE(reddish(pixelOf(l, image, both))) << describe(pixelOf(l, image, both));
    EXPECT_TRUE(greenish(pixelOf(l, image, onlyOther))) << describe(pixelOf(l, image, onlyOther));
    EXPECT_TRUE(grey(pixelOf(l, image, {10, 27, 20})));
    EXPECT_TRUE(overlayColour(OverlayClass::Agreement, referenceRed) == referenceRed);
    // Boxes of both sides on the one view.
    EXPECT_EQ(viewer->boxOverlay(0).shownBoxCount(), 2);

    // Swapped, the other version is the reference: what it added is now what the first missed.
    QTest::keyClick(l, Qt::Key_S);
    viewer->renderAll();
    image = grab(0);
    EXPECT_TRUE(greenish(pixelOf(l, image, onlyReference)))
        << describe(pixelOf(l, image, onlyReference));
    EXPECT_TRUE(bluish(pixelOf(l, image, onlyOther))) << describe(pixelOf(l, image, onlyOther));
    // Its segment colour is close to the overlay's blue, so agreement shows amber.
    EXPECT_TRUE(overlayColour(OverlayClass::Agreement, otherBlue) ==
                (annotation::Rgb{255, 200, 0}));
    EXPECT_TRUE(amber(pixelOf(l, image, both))) << describe(pixelOf(l, image, both));

    QTest::keyClick(l, Qt::Key_O);
    EXPECT_FALSE(viewer->overlayMode());
    EXPECT_TRUE(viewer->view(1)->isVisible());
}

TEST_F(Comparison, ZoomPanAndWindowLevelOfOneSideFollowOnTheOther) {
    SliceView* l = viewer->view(0);
    SliceView* r = viewer->view(1);
    wheel(r, 120, Qt::ControlModifier); // Ctrl+wheel zooms
    EXPECT_GT(r->zoom(), 1.1);
    EXPECT_DOUBLE_EQ(l->zoom(), r->zoom());
    l->panBy({40, -25});
    const imaging::Vec3 voxel{30, 27, 20};
    EXPECT_EQ(r->pan(), l->pan());
    const QPointF inLeft = l->widgetPositionOf(voxel), inRight = r->widgetPositionOf(voxel);
    EXPECT_NEAR(inLeft.x(), inRight.x(), 0.5);
    EXPECT_NEAR(inLeft.y(), inRight.y(), 0.5);
    r->setFocus();
    QTest::keyClick(r, Qt::Key_R); // reset on one resets both
    EXPECT_DOUBLE_EQ(l->zoom(), 1);
    EXPECT_EQ(l->pan(), (imaging::Vec3{0, 0, 0}));

    const WindowLevel before = viewer->windowLevel();
    sendMouse(r, QEvent::MouseButtonPress, Qt::RightButton, Qt::RightButton, {100, 100});
    sendMouse(r, QEvent::MouseMove, Qt::NoButton, Qt::RightButton, {160, 130});
    sendMouse(r, QEvent::MouseButtonRelease, Qt::RightButton, Qt::NoButton, {160, 130});
    EXPECT_GT(viewer->windowLevel().window, before.window);
    EXPECT_DOUBLE_EQ(l->windowLevel().window, r->windowLevel().window);
    EXPECT_DOUBLE_EQ(l->windowLevel().level, r->windowLevel().level);
}

TEST_F(Comparison, MarkersShowOnTheirSliceOnlyAndAClickInPinModePinsAVoxel) {
    const imaging::Vec3 pinned{30, 27, 20};
    viewer->setMarkers({{1, pinned, QStringLiteral("edge too generous")},
                        {2, {12, 12, 30}, QStringLiteral("elsewhere")}});
    viewer->renderAll();
    saveShot(QStringLiteral("markers"));
    for (int position = 0; position < 2; ++position) {
        EXPECT_EQ(viewer->markerOverlay(position).shownMarkerIds(), std::vector<int>{1});
        EXPECT_GT(orangePixelsAround(viewer->view(position), grab(position), pinned), 10);
    }
    viewer->moveCursorTo({50, 50, 30});
    viewer->renderAll();
    for (int position = 0; position < 2; ++position) {
        EXPECT_EQ(viewer->markerOverlay(position).shownMarkerIds(), std::vector<int>{2});
        EXPECT_EQ(orangePixelsAround(viewer->view(position), grab(position), {30, 27, 30}), 0);
    }

    SliceView* r = viewer->view(1);
    r->setFocus();
    QTest::keyClick(r, Qt::Key_P);
    ASSERT_TRUE(viewer->pinMode());
    QSignalSpy pins(viewer.get(), &ComparisonViewer::pointPinned);
    const imaging::Vec3 before = viewer->cursor().index();
    QTest::mouseClick(r, Qt::LeftButton, {}, r->widgetPositionOf({33, 28, 30}).toPoint());
    ASSERT_EQ(pins.count(), 1);
    EXPECT_EQ(pins.at(0).at(0).value<imaging::Vec3>(), (imaging::Vec3{33, 28, 30}));
    EXPECT_EQ(viewer->cursor().index(), before); // pinning does not move the crosshair
    QTest::keyClick(r, Qt::Key_P);
    EXPECT_FALSE(viewer->pinMode());
    QTest::mouseClick(r, Qt::LeftButton, {}, r->widgetPositionOf({33, 28, 30}).toPoint());
    EXPECT_EQ(pins.count(), 1);
    EXPECT_NEAR(viewer->cursor().index()[0], 33, 0.6);
}

TEST_F(Comparison, SwapSidesSwapsHeadingsLabelsAndBoxes) {
    QSignalSpy swapped(viewer.get(), &ComparisonViewer::sidesSwapped);
    viewer->swapAction()->trigger();
    EXPECT_EQ(swapped.count(), 1);
    EXPECT_EQ(viewer->reference().label.author, QStringLiteral("Ben"));
    EXPECT_EQ(viewer->other().label.author, QStringLiteral("Anna"));
    EXPECT_TRUE(viewer->heading(0)->text().contains("Ben"));
    EXPECT_TRUE(viewer->heading(1)->text().contains("Anna"));
    viewer->renderAll();
    const QImage left = grab(0), right = grab(1);
    EXPECT_TRUE(grey(pixelOf(viewer->view(0), left, {21, 27, 20})));
    EXPECT_TRUE(bluish(pixelOf(viewer->view(0), left, {42, 27, 20})));
    EXPECT_TRUE(reddish(pixelOf(viewer->view(1), right, {21, 27, 20})));
    EXPECT_TRUE(grey(pixelOf(viewer->view(1), right, {42, 27, 20})));
    // Ben's 2D box lies on slice 20 only; Anna's 3D box spans 15..24.
    viewer->moveCursorTo({50, 50, 22});
    EXPECT_EQ(viewer->boxOverlay(0).shownBoxCount(), 0);
    EXPECT_EQ(viewer->boxOverlay(1).shownBoxCount(), 1);
}

TEST_F(Comparison, PlaneKeysSwitchBothViews) {
    SliceView* l = viewer->view(0);
    l->setFocus();
    QTest::keyClick(l, Qt::Key_2, Qt::AltModifier);
    EXPECT_EQ(viewer->plane(), ViewPlane::Coronal);
    EXPECT_EQ(viewer->view(0)->plane(), ViewPlane::Coronal);
    EXPECT_EQ(viewer->view(1)->plane(), ViewPlane::Coronal);
    // The coronal slice through y = 50 has no labels; move onto the block.
    viewer->moveCursorTo({50, 27, 20});
    viewer->renderAll();
    EXPECT_TRUE(reddish(pixelOf(l, grab(0), {21, 27, 18})))
        << describe(pixelOf(l, grab(0), {21, 27, 18}));
    EXPECT_TRUE(grey(pixelOf(viewer->view(1), grab(1), {21, 27, 18})));
    const int coronal = viewer->cursor().slice(ViewPlane::Coronal);
    wheel(viewer->view(1), -120);
    EXPECT_EQ(std::abs(viewer->cursor().slice(ViewPlane::Coronal) - coronal), 1);
    EXPECT_EQ(viewer->view(0)->sliceText(), viewer->view(1)->sliceText());
    QTest::keyClick(l, Qt::Key_3, Qt::AltModifier);
    EXPECT_EQ(viewer->view(1)->plane(), ViewPlane::Sagittal);
    QTest::keyClick(l, Qt::Key_1, Qt::AltModifier);
    EXPECT_EQ(viewer->view(0)->plane(), ViewPlane::Axial);
}

TEST_F(Comparison, ASegmentOnlyOneSideHasShowsAsThatSidesExtraVoxels) {
    // The other version adds a lesion (uncoded, so matched by name: the reference has none).
    const imaging::Geometry& grid = ct.volume.geometry();
    ComparedSide reference = liverSide(grid, 20, 1, referenceRed, QStringLiteral("Anna"));
    ComparedSide other = liverSide(grid, 24, 2, otherBlue, QStringLiteral("Ben"));
    auto labels = std::make_shared<annotation::LabelMap>(*other.labels);
    for (int y = 5; y <= 8; ++y)
        for (int x = 30; x <= 33; ++x)
            labels->set({x, y, 20}, 3);
    other.labels = labels;
    annotation::Segment lesion;
    lesion.label = 3;
    lesion.name = "Lesion";
    lesion.colour = {250, 250, 40};
    other.segments.add(lesion);
    viewer->setSides(std::move(reference), std::move(other));
    viewer->setOverlayMode(true);
    viewer->renderAll();
    SliceView* l = viewer->view(0);
    const QImage image = grab(0);
    EXPECT_TRUE(greenish(pixelOf(l, image, {31, 6, 20})))
        << describe(pixelOf(l, image, {31, 6, 20}));
    EXPECT_TRUE(reddish(pixelOf(l, image, {30, 27, 20})));
    EXPECT_TRUE(
        viewer->findChild<QLabel*>(QStringLiteral("overlayLegend"))->text().contains("Lesion"));
    viewer->swapSides();
    viewer->renderAll();
    EXPECT_TRUE(bluish(pixelOf(l, grab(0), {31, 6, 20}))); // the first version missed it
}

TEST_F(Comparison, VersionsOnAnotherGridAreRefused) {
    imaging::Geometry other = ct.volume.geometry();
    other.dims[2] = 39;
    ComparedSide a = liverSide(ct.volume.geometry(), 20, 1, referenceRed, "Anna");
    ComparedSide b = liverSide(other, 24, 2, otherBlue, "Ben");
    EXPECT_THROW(viewer->setSides(a, b), ComparisonError);
    // What was shown stays.
    EXPECT_EQ(viewer->other().label.author, QStringLiteral("Ben"));
    EXPECT_EQ(viewer->reference().label.author, QStringLiteral("Anna"));
    b.labels = nullptr;
    EXPECT_THROW(viewer->setSides(a, b), ComparisonError);
}
