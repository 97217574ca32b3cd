// Painting labels in the workstation as a radiologist does it, on the head MRI (ch2.nii.gz)
// under Xvfb: B picks the brush, a real mouse drag in the axial view paints a stroke into the
// label map (only near the stroke, only in the shown axial slice), the overlay shows it, Ctrl+Z
// takes every voxel back and Ctrl+Shift+Z restores them bit-identically.
#include "WorkstationFixture.h"

#include "app/gui/MainWindow.h"
#include "viewer/FourUpViewer.h"

#include <QApplication>
#include <QImage>
#include <QLabel>
#include <QSignalSpy>
#include <QTest>

#include <algorithm>
#include <cmath>
#include <vector>

using namespace radmark;
using radmark::testing::GuiTest;
using viewer::ViewPlane;

namespace {

using radmark::testing::headMri;

using AnnotationPainting = radmark::testing::HeadMriWindow;

// Pixels that changed and turned redder than they are green (the default segment is red).
int reddenedPixels(const QImage& before, const QImage& after) {
    int count = 0;
    for (int y = 0; y < before.height(); ++y)
        for (int x = 0; x < before.width(); ++x) {
            const QRgb a = before.pixel(x, y), b = after.pixel(x, y);
            count += a != b && qRed(b) > qRed(a) && qRed(b) > qGreen(b) + 40;
        }
    return count;
}

int differingPixels(const QImage& a, const QImage& b) {
    if (a.size() != b.size())
        return -1;
    int count = 0;
    for (int y = 0; y < a.height(); ++y)
        for (int x = 0; x < a.width(); ++x)
            count += a.pixel(x, y) != b.pixel(x, y);
    return count;
}

// Distance in mm from p to the segment ab, in the axial plane (x, y).
double distanceToStrokeMm(const imaging::Index3& p, const imaging::Vec3& a, const imaging::Vec3& b,
                          const imaging::Vec3& spacing) {
    const double px = p[0] * spacing[0], py = p[1] * spacing[1];
    const double ax = a[0] * spacing[0], ay = a[1] * spacing[1];
    const double bx = b[0] * spacing[0], by = b[1] * spacing[1];
    const double dx = bx - ax, dy = by - ay;
    const double t = std::clamp(((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy), 0.0, 1.0);
    return std::hypot(px - (ax + t * dx), py - (ay + t * dy));
}

} // namespace

TEST_F(AnnotationPainting, BrushStrokeInAxialViewPaintsUndoesAndRedoes) {
    viewer::SliceView* axial = window->viewer()->sliceView(ViewPlane::Axial);
    const annotation::LabelMap& labels = editor().labels();
    ASSERT_EQ(labels.geometry().dims, window->viewer()->volume()->geometry().dims);
    ASSERT_TRUE(labelledVoxels().empty());

    // The stroke: across the middle of the head in the shown axial slice.
    const imaging::Vec3 centre = window->viewer()->cursor().index();
    const int slice = int(std::lround(centre[2]));
    const imaging::Vec3 from{centre[0] - 20, centre[1] - 10, centre[2]};
    const imaging::Vec3 to{centre[0] + 20, centre[1] + 10, centre[2]};
    QTest::keyClick(axial, Qt::Key_B);
    ASSERT_EQ(editor().toolName(), QStringLiteral("paint"));
    QApplication::processEvents(); // the Tools panel shows the brush settings
    const QPoint start = axial->widgetPositionOf(from).toPoint();
    const QPoint end = axial->widgetPositionOf(to).toPoint();
    // The brush circle follows the pointer: "before" has it where the stroke will end. The first
    // move into the view may arrive as an enter only, so the pointer moves twice and the events
    // are delivered before the grab.
    QTest::mouseMove(axial, end - QPoint(2, 0));
    QTest::mouseMove(axial, end);
    QTest::qWait(50);
    QApplication::processEvents();
    const QImage before = axial->grabFramebuffer();
    const double radius = editor().brushRadiusMm();
    QTest::mousePress(axial, Qt::LeftButton, Qt::NoModifier, start);
    for (int step = 1; step <= 10; ++step)
        QTest::mouseMove(axial, start + (end - start) * step / 10);
    QTest::mouseRelease(axial, Qt::LeftButton, Qt::NoModifier, end);
    QApplication::processEvents();

    // The crosshair stayed where it was: painting is not navigation.
    EXPECT_EQ(window->viewer()->cursor().index(), centre);
    const std::vector<imaging::Index3> painted = labelledVoxels();
    ASSERT_FALSE(painted.empty());
    const imaging::Vec3 spacing = labels.geometry().spacing;
    const double voxelDiagonal = std::hypot(spacing[0], spacing[1]);
    for (const imaging::Index3& p : painted) {
        EXPECT_EQ(p[2], slice) << "labelled outside the shown axial slice";
        EXPECT_LE(distanceToStrokeMm(p, from, to, spacing), radius + 1.5 * voxelDiagonal)
            << "labelled away from the stroke at (" << p[0] << ", " << p[1] << ")";
    }
    // The whole stroke is painted: every voxel on the line between its ends.
    for (int step = 0; step <= 20; ++step) {
        const imaging::Index3 onLine{int(std::lround(from[0] + (to[0] - from[0]) * step / 20)),
                                     int(std::lround(from[1] + (to[1] - from[1]) * step / 20)),
                                     slice};
        EXPECT_EQ(labels.at(onLine), editor().activeSegment()) << "gap in the stroke at " << step;
    }
    // A disc of the brush radius along a 40 x 20 voxel line covers at least the line's length
    // times the brush diameter (in voxels) roughly; checks it is a brush, not a line.
    const double lengthMm = std::hypot(40 * spacing[0], 20 * spacing[1]);
    EXPECT_GT(double(painted.size()), 0.8 * lengthMm * 2 * radius / (spacing[0] * spacing[1]));
    EXPECT_EQ(editor().history().size(), 1u) << "one drag, one undo record";

    const QImage paintedView = axial->grabFramebuffer();
    const int changed = differingPixels(paintedView, before);
    EXPECT_GT(changed, 500) << "the overlay does not show the stroke";
    EXPECT_GT(reddenedPixels(before, paintedView), changed * 8 / 10)
        << "the stroke is not shown in the segment's colour";

    const annotation::LabelMap afterStroke = labels;
    QTest::keyClick(axial, Qt::Key_Z, Qt::ControlModifier);
    EXPECT_TRUE(labelledVoxels().empty()) << "Ctrl+Z left labelled voxels";
    EXPECT_EQ(differingPixels(axial->grabFramebuffer(), before), 0)
        << "the overlay still shows the undone stroke";

    QTest::keyClick(axial, Qt::Key_Z, Qt::ControlModifier | Qt::ShiftModifier);
    EXPECT_TRUE(labels == afterStroke) << "redo is not bit-identical";
    EXPECT_EQ(labelledVoxels().size(), painted.size());

    // Escape returns to navigation: a click moves the crosshair again and paints nothing.
    QTest::keyClick(axial, Qt::Key_Escape);
    EXPECT_EQ(editor().toolName(), QString());
    QTest::mouseClick(axial, Qt::LeftButton, Qt::NoModifier, start);
    EXPECT_NE(window->viewer()->cursor().index(), centre);
    EXPECT_TRUE(labels == afterStroke);
}

TEST_F(AnnotationPainting, BracketsResizeTheBrushAndEraseRemovesPaint) {
    viewer::SliceView* axial = window->viewer()->sliceView(ViewPlane::Axial);
    const double initial = editor().brushRadiusMm();
    QTest::keyClick(axial, Qt::Key_B);
    QTest::keyClick(axial, Qt::Key_BracketRight);
    QTest::keyClick(axial, Qt::Key_BracketRight);
    EXPECT_DOUBLE_EQ(editor().brushRadiusMm(), initial + 1.0);
    QTest::keyClick(axial, Qt::Key_BracketLeft);
    EXPECT_DOUBLE_EQ(editor().brushRadiusMm(), initial + 0.5);
    const QLabel* status = window->findChild<QLabel*>(QStringLiteral("statusText"));
    ASSERT_NE(status, nullptr);
    EXPECT_TRUE(status->text().contains(QStringLiteral("%1 mm").arg(initial + 0.5, 0, 'f', 1)))
        << status->text().toStdString();

    const imaging::Vec3 centre = window->viewer()->cursor().index();
    const QPoint point = axial->widgetPositionOf(centre).toPoint();
    QTest::mouseClick(axial, Qt::LeftButton, Qt::NoModifier, point);
    ASSERT_FALSE(labelledVoxels().empty());
    QTest::keyClick(axial, Qt::Key_E);
    EXPECT_EQ(editor().toolName(), QStringLiteral("erase"));
    QTest::mouseClick(axial, Qt::LeftButton, Qt::NoModifier, point);
    EXPECT_TRUE(labelledVoxels().empty()) << "erasing with the same brush left voxels";
    EXPECT_EQ(editor().history().size(), 2u);
}

TEST_F(AnnotationPainting, ClickInCoronalAndSagittalViewsPaintsDiscsInTheirPlanes) {
    const imaging::Vec3 centre = window->viewer()->cursor().index();
    const imaging::Index3 voxel{int(std::lround(centre[0])), int(std::lround(centre[1])),
                                int(std::lround(centre[2]))};
    QTest::keyClick(window->viewer()->sliceView(ViewPlane::Coronal), Qt::Key_B);
    const struct {
        ViewPlane plane;
        int normalAxis;
    } views[] = {{ViewPlane::Coronal, 1}, {ViewPlane::Sagittal, 0}};
    for (const auto& view : views) {
        viewer::SliceView* slice = window->viewer()->sliceView(view.plane);
        QTest::mouseClick(slice, Qt::LeftButton, Qt::NoModifier,
                          slice->widgetPositionOf(centre).toPoint());
        std::vector<imaging::Index3> painted = labelledVoxels();
        ASSERT_FALSE(painted.empty()) << viewer::viewPlaneName(view.plane);
        for (const imaging::Index3& p : painted)
            EXPECT_EQ(p[view.normalAxis], voxel[view.normalAxis])
                << viewer::viewPlaneName(view.plane) << " painted off its slice";
        EXPECT_EQ(editor().labels().at(voxel), editor().activeSegment());
        QTest::keyClick(slice, Qt::Key_Z, Qt::ControlModifier);
        EXPECT_TRUE(labelledVoxels().empty());
    }
    EXPECT_EQ(window->viewer()->cursor().index(), centre);
}
