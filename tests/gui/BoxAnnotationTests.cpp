// Bounding boxes in the workstation as a radiologist draws them, under Xvfb: X (or Shift+X for
// 3D) and a real mouse drag draw a box with the corners under the pointer, shown in the
// segment's colour; dragging a corner resizes it, dragging inside moves it, Delete removes it,
// Ctrl+Z brings each state back; a 3D box shows (and is adjusted) in the coronal view; a box of
// a hidden segment is hidden; a box saved with a version is there again when it is reopened.
#include "storage/Annotations.h"
#include "StoreWorkspaceFixture.h"
#include "WorkstationFixture.h"

#include "app/gui/MainWindow.h"
#include "viewer/BoxInteraction.h"
#include "viewer/FourUpViewer.h"

#include <QApplication>
#include <QImage>
#include <QLabel>
#include <QSpinBox>
#include <QTest>

#include <algorithm>
#include <cmath>

using namespace radmark;
using annotation::Box;
using imaging::Index3;
using imaging::Vec3;
using viewer::ViewPlane;

namespace {

using radmark::testing::headMri;

Vec3 centreOf(const Index3& voxel) {
    return {double(voxel[0]), double(voxel[1]), double(voxel[2])};
}

// A real left drag from one voxel centre to another, in small steps, as a hand does it.
void dragBetween(viewer::SliceView* view, const Index3& from, const Index3& to) {
    const QPoint start = view->widgetPositionOf(centreOf(from)).toPoint();
    const QPoint end = view->widgetPositionOf(centreOf(to)).toPoint();
    QTest::mousePress(view, Qt::LeftButton, Qt::NoModifier, start);
    for (int step = 1; step <= 8; ++step)
        QTest::mouseMove(view, start + (end - start) * step / 8);
    QTest::mouseRelease(view, Qt::LeftButton, Qt::NoModifier, end);
    QApplication::processEvents();
}

bool segmentRed(QRgb pixel) {
    // The default segment is (230, 60, 60); the image is grey and the crosshair yellow.
    return qRed(pixel) > 170 && qGreen(pixel) < 120 && qBlue(pixel) < 120;
}

// How many of the sample points along the rectangle edge from `a` to `b` (index coordinates)
// have a segment-red pixel within two pixels in `shot`.
int redSamplesAlong(const QImage& shot, const viewer::SliceView* view, const Vec3& a,
                    const Vec3& b) {
    const double ratio = view->devicePixelRatioF();
    int found = 0;
    for (double t : {0.15, 0.3, 0.4, 0.7, 0.85}) {
        Vec3 p;
        for (int k = 0; k < 3; ++k)
            p[k] = a[k] + (b[k] - a[k]) * t;
        const QPointF at = view->widgetPositionOf(p) * ratio;
        bool red = false;
        for (int dy = -2; dy <= 2 && !red; ++dy)
            for (int dx = -2; dx <= 2 && !red; ++dx) {
                const QPoint q(int(std::lround(at.x())) + dx, int(std::lround(at.y())) + dy);
                red = shot.rect().contains(q) && segmentRed(shot.pixel(q));
            }
        found += red;
    }
    return found;
}

// The four edges of the box's rectangle on the view's slice, as pairs of index points.
std::array<std::pair<Vec3, Vec3>, 4> rectangleEdges(const Box& box, int rightAxis, int upAxis,
                                                    int normalAxis, int slice) {
    const auto corner = [&](bool right, bool up) {
        Vec3 p{0, 0, 0};
        p[rightAxis] = right ? box.max[rightAxis] + 0.5 : box.min[rightAxis] - 0.5;
        p[upAxis] = up ? box.max[upAxis] + 0.5 : box.min[upAxis] - 0.5;
        p[normalAxis] = slice;
        return p;
    };
    return {{{corner(false, false), corner(true, false)},
             {corner(true, false), corner(true, true)},
             {corner(true, true), corner(false, true)},
             {corner(false, true), corner(false, false)}}};
}

// Red samples on all four edges of the box as the view shows it now (20 when fully drawn).
int redEdgeSamples(const viewer::FourUpViewer& viewer, ViewPlane plane, const Box& box) {
    viewer::SliceView* view = viewer.sliceView(plane);
    const QImage shot = view->grabFramebuffer();
    const viewer::PlaneLayout layout = viewer.cursor().layout(plane);
    int found = 0;
    for (const auto& [a, b] : rectangleEdges(box, layout.rightAxis, layout.upAxis,
                                             layout.normalAxis, viewer.cursor().slice(plane)))
        found += redSamplesAlong(shot, view, a, b);
    return found;
}

class BoxAnnotation : public radmark::testing::HeadMriWindow {
  protected:
    void SetUp() override {
        HeadMriWindow::SetUp();
        if (HasFatalFailure())
            return;
        centre = viewer()->cursor().voxel();
    }
    viewer::BoxInteraction& boxes() const { return *viewer()->boxInteraction(); }
    viewer::SliceView* view(ViewPlane plane) const { return viewer()->sliceView(plane); }
    Index3 atCentre(int dx, int dy, int dz = 0) const {
        return {centre[0] + dx, centre[1] + dy, centre[2] + dz};
    }
    // X and a drag in the axial view over +-half voxels around the crosshair: the box drawn
    // (id 0 when none was).
    Box drawAroundCentre(int half) {
        QTest::keyClick(view(ViewPlane::Axial), Qt::Key_X);
        dragBetween(view(ViewPlane::Axial), atCentre(-half, -half), atCentre(half, half));
        EXPECT_EQ(editor().boxes().all().size(), 1u);
        return editor().boxes().all().empty() ? Box{} : editor().boxes().all().front();
    }
    Index3 centre{0, 0, 0};
};

} // namespace

TEST_F(BoxAnnotation, DrawResizeMoveDeleteAndUndoWithTheMouse) {
    viewer::SliceView* axial = view(ViewPlane::Axial);
    const QImage empty = axial->grabFramebuffer();
    QTest::keyClick(axial, Qt::Key_X);
    ASSERT_EQ(editor().toolName(), QStringLiteral("box"));

    // Draw: from one voxel to another; the box covers both, on the shown axial slice.
    dragBetween(axial, atCentre(-20, -15), atCentre(15, 10));
    ASSERT_EQ(editor().boxes().all().size(), 1u);
    Box box = editor().boxes().all().front();
    EXPECT_FALSE(box.threeD);
    EXPECT_EQ(box.plane, annotation::SliceAxis::Axial);
    EXPECT_EQ(box.segment, editor().activeSegment());
    EXPECT_EQ(box.min, atCentre(-20, -15));
    EXPECT_EQ(box.max, atCentre(15, 10));
    EXPECT_EQ(viewer()->cursor().voxel(), centre) << "drawing a box is not navigation";
    EXPECT_EQ(editor().history().size(), 1u) << "one drag, one undo record";
    EXPECT_EQ(boxes().selectedBox(), box.id) << "a new box is selected";
    EXPECT_EQ(boxes().overlay(ViewPlane::Axial).shownBoxCount(), 1);
    EXPECT_TRUE(boxes().overlay(ViewPlane::Axial).showsHandles());

    // The rectangle is on screen in the segment's colour, where the image had none.
    EXPECT_GE(redEdgeSamples(*viewer(), ViewPlane::Axial, box), 19);
    int redBefore = 0;
    for (const auto& [a, b] : rectangleEdges(box, 0, 1, 2, centre[2]))
        redBefore += redSamplesAlong(empty, axial, a, b);
    EXPECT_EQ(redBefore, 0);

    // Resize: drag the corner at the max voxel 5 voxels right and 3 down the index axes.
    dragBetween(axial, box.max, {box.max[0] + 5, box.max[1] + 3, box.max[2]});
    box = editor().boxes().all().front();
    EXPECT_EQ(box.min, atCentre(-20, -15));
    EXPECT_EQ(box.max, atCentre(20, 13));
    EXPECT_EQ(editor().history().size(), 2u);
    EXPECT_GE(redEdgeSamples(*viewer(), ViewPlane::Axial, box), 19) << "resized box not drawn";

    // Move: drag from inside by (-7, +4).
    dragBetween(axial, atCentre(0, 0), atCentre(-7, 4));
    box = editor().boxes().all().front();
    EXPECT_EQ(box.min, atCentre(-27, -11));
    EXPECT_EQ(box.max, atCentre(13, 17));
    EXPECT_EQ(editor().history().size(), 3u);
    const QImage moved = axial->grabFramebuffer();

    // Delete removes the selected box, from the list and the screen; Ctrl+Z brings it back.
    QTest::keyClick(axial, Qt::Key_Delete);
    EXPECT_TRUE(editor().boxes().all().empty());
    EXPECT_EQ(boxes().selectedBox(), 0u);
    EXPECT_EQ(redEdgeSamples(*viewer(), ViewPlane::Axial, box), 0);
    QTest::keyClick(axial, Qt::Key_Z, Qt::ControlModifier);
    ASSERT_EQ(editor().boxes().all().size(), 1u);
    EXPECT_EQ(editor().boxes().all().front(), box);
    EXPECT_GE(redEdgeSamples(*viewer(), ViewPlane::Axial, box), 19);

    // Undo walks back through the move and the resize to the drawn box, then to nothing.
    QTest::keyClick(axial, Qt::Key_Z, Qt::ControlModifier);
    EXPECT_EQ(editor().boxes().all().front().min, atCentre(-20, -15));
    QTest::keyClick(axial, Qt::Key_Z, Qt::ControlModifier);
    EXPECT_EQ(editor().boxes().all().front().max, atCentre(15, 10));
    QTest::keyClick(axial, Qt::Key_Z, Qt::ControlModifier);
    EXPECT_TRUE(editor().boxes().all().empty());
    for (int i = 0; i < 3; ++i)
        QTest::keyClick(axial, Qt::Key_Z, Qt::ControlModifier | Qt::ShiftModifier);
    ASSERT_EQ(editor().boxes().all().size(), 1u);
    EXPECT_EQ(editor().boxes().all().front(), box);
    (void)moved;
}

TEST_F(BoxAnnotation, ClickSelectsAndOtherSlicesDoNotShowATwoDimensionalBox) {
    viewer::SliceView* axial = view(ViewPlane::Axial);
    const std::uint32_t id = drawAroundCentre(10).id;
    ASSERT_NE(id, 0u);

    // A click outside deselects (and draws nothing); a click inside selects again.
    QTest::mouseClick(axial, Qt::LeftButton, Qt::NoModifier,
                      axial->widgetPositionOf(centreOf(atCentre(40, 40))).toPoint());
    EXPECT_EQ(boxes().selectedBox(), 0u);
    EXPECT_FALSE(boxes().overlay(ViewPlane::Axial).showsHandles());
    QTest::mouseClick(axial, Qt::LeftButton, Qt::NoModifier,
                      axial->widgetPositionOf(centreOf(centre)).toPoint());
    EXPECT_EQ(boxes().selectedBox(), id);
    EXPECT_EQ(editor().boxes().all().size(), 1u);
    EXPECT_EQ(editor().history().size(), 1u) << "clicks must not add undo steps";

    // The next axial slice has no box; the coronal view through it shows it as a thin strip.
    QTest::keyClick(axial, Qt::Key_Up);
    EXPECT_EQ(boxes().overlay(ViewPlane::Axial).shownBoxCount(), 0);
    QTest::keyClick(axial, Qt::Key_Down);
    EXPECT_EQ(boxes().overlay(ViewPlane::Axial).shownBoxCount(), 1);
    EXPECT_EQ(boxes().overlay(ViewPlane::Coronal).shownBoxCount(), 1);

    // Escape: back to navigation; a click moves the crosshair and leaves the box alone.
    QTest::keyClick(axial, Qt::Key_Escape);
    EXPECT_EQ(boxes().selectedBox(), 0u);
    QTest::mouseClick(axial, Qt::LeftButton, Qt::NoModifier,
                      axial->widgetPositionOf(centreOf(atCentre(5, 5))).toPoint());
    EXPECT_EQ(viewer()->cursor().voxel(), atCentre(5, 5));
    EXPECT_EQ(editor().boxes().all().size(), 1u);
}

TEST_F(BoxAnnotation, ThreeDimensionalBoxShowsAndResizesInTheCoronalView) {
    viewer::SliceView* axial = view(ViewPlane::Axial);
    QTest::keyClick(axial, Qt::Key_X, Qt::ShiftModifier);
    ASSERT_EQ(editor().toolName(), QStringLiteral("box3d"));
    const int depth = boxes().halfDepthSlices();
    dragBetween(axial, atCentre(-12, -8), atCentre(14, 9));
    ASSERT_EQ(editor().boxes().all().size(), 1u);
    Box box = editor().boxes().all().front();
    EXPECT_TRUE(box.threeD);
    EXPECT_EQ(box.min, atCentre(-12, -8, -depth));
    EXPECT_EQ(box.max, atCentre(14, 9, depth));

    // The coronal view through the crosshair cuts it: a rectangle in x and z, in red.
    for (ViewPlane plane : viewer::allViewPlanes)
        EXPECT_EQ(boxes().overlay(plane).shownBoxCount(), 1) << viewer::viewPlaneName(plane);
    // (15 of 20 samples: the selected box's white handles cover some of a short edge.)
    EXPECT_GE(redEdgeSamples(*viewer(), ViewPlane::Coronal, box), 15);
    EXPECT_GE(redEdgeSamples(*viewer(), ViewPlane::Sagittal, box), 15);

    // In the coronal view, the edge at the highest z dragged 4 slices further.
    viewer::SliceView* coronal = view(ViewPlane::Coronal);
    const Index3 onTopEdge{centre[0], centre[1], box.max[2]};
    dragBetween(coronal, onTopEdge, {centre[0], centre[1], box.max[2] + 4});
    box = editor().boxes().all().front();
    EXPECT_EQ(box.min, atCentre(-12, -8, -depth));
    EXPECT_EQ(box.max, atCentre(14, 9, depth + 4));
    EXPECT_EQ(editor().history().size(), 2u);
    EXPECT_GE(redEdgeSamples(*viewer(), ViewPlane::Coronal, box), 15);
}

TEST_F(BoxAnnotation, DepthOfANewThreeDimensionalBoxIsSetInTheToolsPanel) {
    viewer::SliceView* axial = view(ViewPlane::Axial);
    QTest::keyClick(axial, Qt::Key_X, Qt::ShiftModifier);
    auto* depth = window->findChild<QSpinBox*>("boxHalfDepth");
    ASSERT_NE(depth, nullptr) << "no depth field for the 3D box in the Tools panel";
    ASSERT_TRUE(depth->isVisible());
    // Typed as a user would: select the value, type 2, Enter.
    depth->setFocus();
    depth->selectAll();
    QTest::keyClicks(depth, QStringLiteral("2"));
    QTest::keyClick(depth, Qt::Key_Return);
    EXPECT_EQ(boxes().halfDepthSlices(), 2);

    dragBetween(axial, atCentre(-10, -6), atCentre(10, 6));
    ASSERT_EQ(editor().boxes().all().size(), 1u);
    const Box box = editor().boxes().all().front();
    EXPECT_EQ(box.min, atCentre(-10, -6, -2));
    EXPECT_EQ(box.max, atCentre(10, 6, 2));
}

TEST_F(BoxAnnotation, BoxOfAHiddenSegmentIsHidden) {
    viewer::SliceView* axial = view(ViewPlane::Axial);
    const Box box = drawAroundCentre(10);
    ASSERT_NE(box.id, 0u);
    editor().editSegment(box.segment, [](annotation::Segment& s) { s.visible = false; });
    EXPECT_EQ(boxes().overlay(ViewPlane::Axial).shownBoxCount(), 0);
    EXPECT_EQ(redEdgeSamples(*viewer(), ViewPlane::Axial, box), 0);
    // Nothing to grab where it was: a drag inside draws a new box instead of moving it.
    dragBetween(axial, atCentre(0, 0), atCentre(5, 5));
    EXPECT_EQ(editor().boxes().find(box.id)->min, box.min);
    editor().editSegment(box.segment, [](annotation::Segment& s) { s.visible = true; });
    EXPECT_EQ(boxes().overlay(ViewPlane::Axial).shownBoxCount(), 2);
    EXPECT_GE(redEdgeSamples(*viewer(), ViewPlane::Axial, box), 15);
}

TEST_F(BoxAnnotation, LockedSegmentAndReadOnlyVersionRefuseBoxEdits) {
    viewer::SliceView* axial = view(ViewPlane::Axial);
    const Box box = drawAroundCentre(10);
    ASSERT_NE(box.id, 0u);
    const QLabel* status = window->findChild<QLabel*>(QStringLiteral("statusText"));
    ASSERT_NE(status, nullptr);

    editor().editSegment(box.segment, [](annotation::Segment& s) { s.locked = true; });
    dragBetween(axial, atCentre(0, 0), atCentre(6, 6));     // a move
    dragBetween(axial, atCentre(30, 30), atCentre(40, 40)); // a new box of the locked segment
    EXPECT_EQ(editor().boxes().all().size(), 1u);
    EXPECT_EQ(editor().boxes().all().front(), box);
    EXPECT_TRUE(status->text().contains(QStringLiteral("locked"))) << status->text().toStdString();
    EXPECT_EQ(redEdgeSamples(*viewer(), ViewPlane::Axial, box), 20) << "the preview stayed";

    editor().editSegment(box.segment, [](annotation::Segment& s) { s.locked = false; });
    editor().setReadOnly(true);
    dragBetween(axial, atCentre(0, 0), atCentre(6, 6));
    QTest::keyClick(axial, Qt::Key_Delete);
    EXPECT_EQ(editor().boxes().all().size(), 1u);
    EXPECT_EQ(editor().boxes().all().front(), box);
    EXPECT_TRUE(status->text().contains(QStringLiteral("read-only")))
        << status->text().toStdString();
    EXPECT_EQ(editor().history().size(), 1u);
}

TEST_F(BoxAnnotation, HandlesKeepTheirSizeOnScreenWhenZoomed) {
    viewer::SliceView* axial = view(ViewPlane::Axial);
    ASSERT_NE(drawAroundCentre(12).id, 0u);
    ASSERT_TRUE(boxes().overlay(ViewPlane::Axial).showsHandles());
    // White pixels around the top-left corner handle (the image there is grey brain).
    const auto handlePixels = [&] {
        const QImage shot = axial->grabFramebuffer();
        const Box box = editor().boxes().all().front();
        const QPoint corner =
            axial->widgetPositionOf({box.min[0] - 0.5, box.min[1] - 0.5, double(centre[2])})
                .toPoint();
        int white = 0;
        for (int y = corner.y() - 12; y <= corner.y() + 12; ++y)
            for (int x = corner.x() - 12; x <= corner.x() + 12; ++x)
                white += shot.rect().contains(x, y) && shot.pixel(x, y) == qRgb(255, 255, 255);
        return white;
    };
    const int fitted = handlePixels();
    EXPECT_GE(fitted, 25);
    QTest::keyClick(axial, Qt::Key_Plus);
    QTest::keyClick(axial, Qt::Key_Plus);
    ASSERT_GT(axial->zoom(), 1.5);
    const int zoomed = handlePixels();
    EXPECT_NEAR(zoomed, fitted, fitted / 4) << "handles grew with the zoom";
}

class StoredBoxes : public radmark::testing::GuiTest {};

TEST_F(StoredBoxes, SavedVersionShowsItsBoxesWhenReopened) {
    using namespace radmark::testing;
    storage::testing::TempDir dir;
    const std::int64_t studyId = makeStoreWithOneStudy(dir.path());
    StoreWindow user(dir.path());
    ASSERT_TRUE(user.openAsAnnotator(studyId));
    user.activate();
    gui::StoreWorkspace& workspace = *user.workspace;

    // X, a drag on the CT's one slice, Ctrl+S: a version holding the box.
    viewer::FourUpViewer& viewer = *user.window.viewer();
    viewer::SliceView* axial = viewer.sliceView(ViewPlane::Axial);
    QTest::keyClick(axial, Qt::Key_X);
    dragBetween(axial, {40, 50, 0}, {80, 70, 0});
    ASSERT_EQ(viewer.labelEditor()->boxes().all().size(), 1u);
    const Box drawn = viewer.labelEditor()->boxes().all().front();
    EXPECT_EQ(drawn.min, (Index3{40, 50, 0}));
    EXPECT_EQ(drawn.max, (Index3{80, 70, 0}));
    EXPECT_EQ(drawn.author, annotatorName) << "a box names the user who drew it";
    user.saveVersion(QStringLiteral("box around the lesion"));
    ASSERT_EQ(storage::Annotations(*workspace.session()).list(studyId).size(), 1u);

    // Closed and opened again: the box is back, drawn on the slice.
    user.window.closeStudy();
    EXPECT_TRUE(viewer.labelEditor()->boxes().all().empty());
    workspace.openStudy(studyId);
    ASSERT_EQ(viewer.labelEditor()->boxes().all().size(), 1u);
    EXPECT_EQ(viewer.labelEditor()->boxes().all().front(), drawn);
    EXPECT_EQ(viewer.boxInteraction()->overlay(ViewPlane::Axial).shownBoxCount(), 1);
    QTest::qWait(100);
    EXPECT_GE(redEdgeSamples(viewer, ViewPlane::Axial, drawn), 19);
}
