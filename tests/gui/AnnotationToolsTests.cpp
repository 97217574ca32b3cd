// The annotation tools in the workstation as a radiologist uses them, under Xvfb, on a generated
// CT phantom with known values (no patient data): keys T, G, Shift+S, Ctrl+Shift+F, real mouse
// drags and clicks in the axial view, the Tools panel (tool list, settings typed into its spin
// boxes, Apply). Every edit is checked voxel by voxel and undone bit-identically with Ctrl+Z;
// screenshots show the brush circle where the pointer is and outlined segments as their boundary.
#include "WorkstationFixture.h"

#include "app/gui/MainWindow.h"
#include "app/gui/annotation/ToolsPanel.h"
#include "viewer/FourUpViewer.h"

#include <QApplication>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QImage>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QTest>

#include <cmath>
#include <functional>
#include <numbers>
#include <vector>

using namespace radmark;
using viewer::ViewPlane;

namespace {

// 64 x 64 x 12 voxels of 1 mm, int16 HU: water (0) around an "organ" block of 100 HU
// (x, y 10..40, every slice) holding a "lesion" block of 200 HU (x, y 20..30, z 3..8), and a
// separate 200 HU block (x, y 46..56, z 3..8) outside the organ, not connected to the lesion.
constexpr int organLow = 10, organHigh = 40, lesionLow = 20, lesionHigh = 30;
constexpr int lesionFirstSlice = 3, lesionLastSlice = 8;

std::shared_ptr<imaging::Volume> makePhantom() {
    imaging::Geometry geometry;
    geometry.dims = {64, 64, 12};
    auto volume = std::make_shared<imaging::Volume>(geometry, imaging::PixelType::Int16);
    volume->modality = "CT";
    volume->sourceFormat = "generated phantom";
    auto* voxels = volume->as<std::int16_t>();
    const auto inside = [](int v, int low, int high) { return v >= low && v <= high; };
    for (int z = 0; z < 12; ++z)
        for (int y = 0; y < 64; ++y)
            for (int x = 0; x < 64; ++x) {
                std::int16_t value = 0;
                if (inside(x, organLow, organHigh) && inside(y, organLow, organHigh))
                    value = 100;
                const bool lesionSlice = inside(z, lesionFirstSlice, lesionLastSlice);
                if (lesionSlice && inside(x, lesionLow, lesionHigh) &&
                    inside(y, lesionLow, lesionHigh))
                    value = 200;
                if (lesionSlice && inside(x, 46, 56) && inside(y, 46, 56))
                    value = 200;
                voxels[(std::size_t(z) * 64 + std::size_t(y)) * 64 + std::size_t(x)] = value;
            }
    return volume;
}

// Voxels of a ball or a disc (in the axial plane) of radius r voxels around c, as the brush
// counts them on 1 mm voxels: centre distance <= r.
std::vector<imaging::Index3> brushVoxels(const imaging::Index3& c, double r, bool sphere) {
    std::vector<imaging::Index3> voxels;
    const int reach = int(std::floor(r));
    for (int dz = sphere ? -reach : 0; dz <= (sphere ? reach : 0); ++dz)
        for (int dy = -reach; dy <= reach; ++dy)
            for (int dx = -reach; dx <= reach; ++dx)
                if (dx * dx + dy * dy + dz * dz <= r * r * (1 + 1e-9))
                    voxels.push_back({c[0] + dx, c[1] + dy, c[2] + dz});
    return voxels;
}

class AnnotationTools : public radmark::testing::WorkstationWindow {
  protected:
    void SetUp() override {
        WorkstationWindow::SetUp();
        window->activateWindow();
        ASSERT_TRUE(QTest::qWaitForWindowActive(window.get()));
        phantom = makePhantom();
        window->showStoredVolume(phantom);
        QApplication::processEvents();
        axial = viewer()->sliceView(ViewPlane::Axial);
        panel = window->findChild<gui::ToolsPanel*>();
        ASSERT_NE(panel, nullptr);
    }

    viewer::LabelEditor& editor() const { return *viewer()->labelEditor(); }
    const annotation::LabelMap& labels() const { return editor().labels(); }

    std::vector<imaging::Index3> labelled() const {
        const auto dims = labels().geometry().dims;
        std::vector<imaging::Index3> found;
        for (int z = 0; z < dims[2]; ++z)
            for (int y = 0; y < dims[1]; ++y)
                for (int x = 0; x < dims[0]; ++x)
                    if (labels().at({x, y, z}) != 0)
                        found.push_back({x, y, z});
        return found;
    }

    // Shows axial slice z in the axial view, as scrolling there does.
    void showAxialSlice(int z) {
        imaging::Vec3 index = viewer()->cursor().index();
        index[2] = z;
        viewer()->moveCursorTo(index);
        ASSERT_EQ(viewer()->cursor().slice(ViewPlane::Axial), z);
    }

    QPoint pointOf(int x, int y) const {
        return axial->widgetPositionOf({double(x), double(y), viewer()->cursor().index()[2]})
            .toPoint();
    }
    void clickVoxel(int x, int y) {
        QTest::mouseClick(axial, Qt::LeftButton, Qt::NoModifier, pointOf(x, y));
        QApplication::processEvents();
    }

    // Picks a tool by clicking its row in the Tools panel's list.
    void chooseInPanel(const QString& name) {
        auto* list = panel->findChild<QListWidget*>(QStringLiteral("toolList"));
        ASSERT_NE(list, nullptr);
        for (int row = 0; row < list->count(); ++row) {
            QListWidgetItem* item = list->item(row);
            if (item->data(Qt::UserRole).toString() != name)
                continue;
            list->scrollToItem(item);
            QTest::mouseClick(list->viewport(), Qt::LeftButton, Qt::NoModifier,
                              list->visualItemRect(item).center());
            ASSERT_EQ(editor().toolName(), name);
            return;
        }
        FAIL() << "no tool " << name.toStdString() << " in the panel";
    }

    QDoubleSpinBox* setting(const char* key) const {
        return panel->findChild<QDoubleSpinBox*>(QString::fromLatin1(key));
    }
    // Types a value into a setting's spin box and presses Enter, as a user does.
    void typeSetting(const char* key, double value) {
        QDoubleSpinBox* spin = setting(key);
        ASSERT_NE(spin, nullptr) << key;
        ASSERT_TRUE(spin->isVisible()) << key;
        spin->setFocus(Qt::OtherFocusReason);
        QTest::keyClick(spin, Qt::Key_A, Qt::ControlModifier);
        QTest::keyClicks(spin, QString::number(value));
        QTest::keyClick(spin, Qt::Key_Return);
        QApplication::processEvents();
        ASSERT_DOUBLE_EQ(editor().tool()->settings().get(key), value) << key;
    }
    void pressApply() {
        auto* apply = panel->findChild<QPushButton*>(QStringLiteral("applyTool"));
        ASSERT_NE(apply, nullptr);
        ASSERT_TRUE(apply->isVisible());
        QTest::mouseClick(apply, Qt::LeftButton);
        QApplication::processEvents();
    }
    QString statusText() const {
        return window->findChild<QLabel*>(QStringLiteral("statusText"))->text();
    }

    // Ctrl+Z takes the last edit back to `before`, Ctrl+Shift+Z brings back `after`, both
    // bit-identically.
    void expectUndoRedo(const annotation::LabelMap& before) {
        const annotation::LabelMap after = labels();
        QTest::keyClick(axial, Qt::Key_Z, Qt::ControlModifier);
        EXPECT_TRUE(labels() == before) << "Ctrl+Z did not restore the labels";
        QTest::keyClick(axial, Qt::Key_Z, Qt::ControlModifier | Qt::ShiftModifier);
        EXPECT_TRUE(labels() == after) << "Ctrl+Shift+Z did not restore the edit";
    }

    std::shared_ptr<imaging::Volume> phantom;
    viewer::SliceView* axial = nullptr;
    gui::ToolsPanel* panel = nullptr;
};

int countIf(const QImage& image, const QRect& region, const std::function<bool(QRgb)>& test) {
    int count = 0;
    for (int y = std::max(0, region.top()); y <= std::min(image.height() - 1, region.bottom()); ++y)
        for (int x = std::max(0, region.left()); x <= std::min(image.width() - 1, region.right());
             ++x)
            count += test(image.pixel(x, y));
    return count;
}

bool isRed(QRgb pixel) {
    return qRed(pixel) > qGreen(pixel) + 60 && qRed(pixel) > qBlue(pixel) + 60;
}
bool isBrushGreen(QRgb pixel) {
    return qGreen(pixel) > 150 && qGreen(pixel) > qRed(pixel) + 50 &&
           qGreen(pixel) > qBlue(pixel) + 50;
}

} // namespace

TEST_F(AnnotationTools, ThresholdPaintDragPaintsOnlyVoxelsInsideTheRange) {
    showAxialSlice(5);
    QTest::keyClick(axial, Qt::Key_T);
    ASSERT_EQ(editor().toolName(), QStringLiteral("threshold-paint"));
    // The range starts from the window shown; "1" shows the brain window (W 80, L 40), and the
    // panel's button takes it over.
    QTest::keyClick(axial, Qt::Key_1);
    QTest::mouseClick(panel->findChild<QPushButton*>(QStringLiteral("rangeFromWindow")),
                      Qt::LeftButton);
    EXPECT_DOUBLE_EQ(setting("lower")->value(), 0);
    EXPECT_DOUBLE_EQ(setting("upper")->value(), 80);
    typeSetting("lower", 150);
    typeSetting("upper", 250);

    // A drag along y = 25 from the water through the organ and the lesion and out again.
    const annotation::LabelMap before = labels();
    QTest::mousePress(axial, Qt::LeftButton, Qt::NoModifier, pointOf(4, 25));
    for (int x = 6; x <= 44; x += 2)
        QTest::mouseMove(axial, pointOf(x, 25));
    QTest::mouseRelease(axial, Qt::LeftButton, Qt::NoModifier, pointOf(44, 25));
    QApplication::processEvents();

    const std::vector<imaging::Index3> painted = labelled();
    ASSERT_FALSE(painted.empty());
    for (const imaging::Index3& p : painted) {
        EXPECT_EQ(p[2], 5);
        EXPECT_EQ(phantom->valueAt(p[0], p[1], p[2]), 200)
            << "painted outside 150..250 HU at (" << p[0] << ", " << p[1] << ")";
    }
    // The whole lesion row under the stroke is painted, the organ and water beside it are not.
    for (int x = lesionLow; x <= lesionHigh; ++x)
        EXPECT_EQ(labels().at({x, 25, 5}), 1) << "x " << x;
    EXPECT_EQ(labels().at({15, 25, 5}), 0);
    EXPECT_EQ(labels().at({5, 25, 5}), 0);
    EXPECT_EQ(editor().history().size(), 1u);
    expectUndoRedo(before);
}

TEST_F(AnnotationTools, RegionGrowFromAClickAndRegrowsWhenTheRangeChangesInThePanel) {
    showAxialSlice(5);
    QTest::keyClick(axial, Qt::Key_G);
    ASSERT_EQ(editor().toolName(), QStringLiteral("region-grow"));
    typeSetting("lower", 150);
    typeSetting("upper", 250);
    const annotation::LabelMap before = labels();

    clickVoxel(25, 25);
    // Exactly the lesion: 11 x 11 voxels on 6 slices; the other 200 HU block is not connected.
    const std::size_t lesion = 11 * 11 * 6;
    std::vector<imaging::Index3> grown = labelled();
    ASSERT_EQ(grown.size(), lesion);
    for (const imaging::Index3& p : grown)
        EXPECT_EQ(phantom->valueAt(p[0], p[1], p[2]), 200);
    EXPECT_EQ(labels().at({50, 50, 5}), 0) << "grew into the separate block";
    EXPECT_TRUE(statusText().contains(QString::number(lesion))) << statusText().toStdString();

    // Widening the range in the panel regrows from the same click: the whole organ block.
    typeSetting("lower", 50);
    const std::size_t organ = 31 * 31 * 12;
    EXPECT_EQ(labelled().size(), organ);
    EXPECT_EQ(labels().at({10, 10, 0}), 1);
    EXPECT_EQ(labels().at({50, 50, 5}), 0);
    EXPECT_TRUE(statusText().contains(QString::number(organ))) << statusText().toStdString();
    typeSetting("lower", 150);
    EXPECT_EQ(labelled().size(), lesion);

    // One click and its retunes are one undo step.
    QTest::keyClick(axial, Qt::Key_Z, Qt::ControlModifier);
    EXPECT_TRUE(labels() == before);
    EXPECT_FALSE(editor().history().canUndo());
    QTest::keyClick(axial, Qt::Key_Z, Qt::ControlModifier | Qt::ShiftModifier);
    EXPECT_EQ(labelled().size(), lesion);
}

TEST_F(AnnotationTools, FillBetweenSlicesFillsTheSlicesBetweenTwoPaintedOnes) {
    QTest::keyClick(axial, Qt::Key_B);
    editor().setBrushRadiusMm(4);
    showAxialSlice(2);
    clickVoxel(30, 30);
    showAxialSlice(8);
    clickVoxel(30, 30);
    const std::vector<imaging::Index3> disc = brushVoxels({30, 30, 0}, 4, false);
    ASSERT_EQ(labelled().size(), 2 * disc.size());
    const annotation::LabelMap before = labels();

    QTest::keyClick(axial, Qt::Key_F, Qt::ControlModifier | Qt::ShiftModifier);
    EXPECT_EQ(editor().toolName(), QStringLiteral("paint")) << "the brush stays chosen";
    EXPECT_EQ(labelled().size(), 7 * disc.size());
    for (int z = 2; z <= 8; ++z)
        for (imaging::Index3 p : disc) {
            p[2] = z;
            EXPECT_EQ(labels().at(p), 1) << "slice " << z;
        }
    EXPECT_TRUE(statusText().contains(QString::number(5 * disc.size())))
        << statusText().toStdString();
    expectUndoRedo(before);
}

TEST_F(AnnotationTools, RemoveIslandsAndMarginFromThePanelWithExactVoxelCounts) {
    showAxialSlice(5);
    QTest::keyClick(axial, Qt::Key_B);
    editor().setBrushRadiusMm(5);
    clickVoxel(20, 20);
    editor().setBrushRadiusMm(1);
    clickVoxel(45, 45); // an island of 5 voxels
    const std::size_t big = brushVoxels({20, 20, 5}, 5, false).size();
    ASSERT_EQ(labelled().size(), big + 5);

    chooseInPanel(QStringLiteral("remove-islands"));
    typeSetting("minimum_voxels", 20);
    const annotation::LabelMap withIsland = labels();
    pressApply();
    EXPECT_EQ(labelled().size(), big);
    EXPECT_EQ(labels().at({45, 45, 5}), 0);
    EXPECT_EQ(labels().at({20, 20, 5}), 1);
    EXPECT_TRUE(statusText().contains(QStringLiteral("5 voxels"))) << statusText().toStdString();
    expectUndoRedo(withIsland);

    // Margin +1 mm: every voxel within 1 mm of the disc, in 3D (the slices above and below).
    chooseInPanel(QStringLiteral("margin"));
    typeSetting("distance_mm", 1);
    const annotation::LabelMap disc = labels();
    pressApply();
    std::size_t expected = 0;
    for (int z = 3; z <= 7; ++z)
        for (int y = 10; y <= 30; ++y)
            for (int x = 10; x <= 30; ++x) {
                bool near = false;
                for (int dz = -1; dz <= 1 && !near; ++dz)
                    for (int dy = -1; dy <= 1 && !near; ++dy)
                        for (int dx = -1; dx <= 1 && !near; ++dx)
                            near = std::abs(dx) + std::abs(dy) + std::abs(dz) <= 1 &&
                                   disc.at({x + dx, y + dy, z + dz}) == 1;
                expected += near;
                EXPECT_EQ(labels().at({x, y, z}), near ? 1 : 0) << x << " " << y << " " << z;
            }
    EXPECT_EQ(labelled().size(), expected);
    EXPECT_TRUE(statusText().contains(QString::number(expected - big)))
        << statusText().toStdString();
    expectUndoRedo(disc);
}

TEST_F(AnnotationTools, ShiftSSwitchesToASpherePaintingAcrossSlices) {
    showAxialSlice(5);
    QTest::keyClick(axial, Qt::Key_B);
    QTest::keyClick(axial, Qt::Key_S, Qt::ShiftModifier);
    ASSERT_TRUE(editor().sphereBrush());
    editor().setBrushRadiusMm(3);
    const annotation::LabelMap before = labels();
    clickVoxel(30, 30);
    const std::vector<imaging::Index3> ball = brushVoxels({30, 30, 5}, 3, true);
    EXPECT_EQ(labelled().size(), ball.size());
    for (const imaging::Index3& p : ball)
        EXPECT_EQ(labels().at(p), 1);
    EXPECT_EQ(labels().at({30, 30, 2}), 1) << "the sphere reaches 3 slices down";
    EXPECT_EQ(labels().at({30, 30, 8}), 1) << "and 3 slices up";
    expectUndoRedo(before);

    QTest::keyClick(axial, Qt::Key_S, Qt::ShiftModifier);
    EXPECT_FALSE(editor().sphereBrush());
    auto* shape = panel->findChild<QComboBox*>(QStringLiteral("sphere"));
    ASSERT_NE(shape, nullptr);
    EXPECT_EQ(shape->currentIndex(), 0) << "the panel shows the disc again";
}

TEST_F(AnnotationTools, BrushCircleFollowsThePointerAndBracketsResizeIt) {
    const QSize viewSize = axial->size();
    QTest::keyClick(axial, Qt::Key_B);
    QApplication::processEvents();
    EXPECT_EQ(axial->size(), viewSize) << "the brush settings in the Tools panel moved the views";
    editor().setBrushRadiusMm(5);
    const QPoint centre = pointOf(30, 30);
    QTest::mouseMove(axial, centre);
    QApplication::processEvents();
    ASSERT_TRUE(axial->brushOutlineShown());
    const auto ringRadius = [&] { // widget pixels per brush radius
        const double mm = editor().brushRadiusMm();
        const QPointF edge = axial->widgetPositionOf({30 + mm, 30, viewer()->cursor().index()[2]});
        return std::hypot(edge.x() - centre.x(), edge.y() - centre.y());
    };
    const auto greenOnRing = [&](const QImage& image, double radius) {
        int angles = 0;
        for (int a = 0; a < 36; ++a) {
            const double t = 2 * std::numbers::pi * a / 36;
            const QPoint p(int(std::lround(centre.x() + radius * std::cos(t))),
                           int(std::lround(centre.y() + radius * std::sin(t))));
            angles += countIf(image, QRect(p - QPoint(2, 2), QSize(5, 5)), isBrushGreen) > 0;
        }
        return angles;
    };
    QImage shot = axial->grabFramebuffer();
    const double radius = ringRadius();
    ASSERT_GT(radius, 15) << "the phantom is shown too small to see the brush";
    EXPECT_GE(greenOnRing(shot, radius), 34) << "no brush circle around the pointer";
    EXPECT_EQ(countIf(shot,
                      QRect(centre - QPoint(int(radius / 2), int(radius / 2)),
                            QSize(int(radius), int(radius))),
                      isBrushGreen),
              0)
        << "the circle is not a ring";

    // ] makes it larger at once; the ring moves out with it.
    QTest::keyClick(axial, Qt::Key_BracketRight);
    QTest::keyClick(axial, Qt::Key_BracketRight);
    shot = axial->grabFramebuffer();
    EXPECT_GE(greenOnRing(shot, ringRadius()), 34);
    EXPECT_DOUBLE_EQ(setting("radius_mm")->value(), 6) << "the panel follows the keys";

    // Navigation hides it.
    QTest::keyClick(axial, Qt::Key_Escape);
    EXPECT_FALSE(axial->brushOutlineShown());
    EXPECT_EQ(countIf(axial->grabFramebuffer(), axial->rect(), isBrushGreen), 0);
}

TEST_F(AnnotationTools, OutlineDisplayDrawsTheBoundaryButNotTheInterior) {
    showAxialSlice(5);
    const QImage empty = axial->grabFramebuffer();
    QTest::keyClick(axial, Qt::Key_B);
    editor().setBrushRadiusMm(6);
    clickVoxel(30, 30);
    QTest::keyClick(axial, Qt::Key_Escape); // no brush circle in the screenshots
    QTest::mouseMove(axial, QPoint(2, 2));
    editor().editSegment(
        1, [](annotation::Segment& s) { s.display = annotation::SegmentDisplay::Outline; });
    QApplication::processEvents();
    const QImage outlined = axial->grabFramebuffer();

    // Boundary voxels (their outer neighbour is unlabelled) show red; interior ones show the
    // image as it was before painting.
    const auto voxelRect = [&](int x, int y) {
        const QPoint p = pointOf(x, y);
        return QRect(p - QPoint(1, 1), QSize(3, 3));
    };
    for (const auto& [x, y] : {std::pair{36, 30}, {24, 30}, {30, 36}, {30, 24}}) {
        ASSERT_EQ(labels().at({x, y, 5}), 1);
        EXPECT_EQ(countIf(outlined, voxelRect(x, y), isRed), 9) << x << ", " << y;
    }
    for (const auto& [x, y] : {std::pair{30, 30}, {33, 30}, {27, 28}}) {
        const QRect r = voxelRect(x, y);
        EXPECT_EQ(countIf(outlined, r, isRed), 0) << "interior drawn at " << x << ", " << y;
        EXPECT_EQ(outlined.copy(r), empty.copy(r)) << "interior changed at " << x << ", " << y;
    }

    // Fill again: the interior is red too; hidden: nothing is drawn.
    editor().editSegment(
        1, [](annotation::Segment& s) { s.display = annotation::SegmentDisplay::Fill; });
    EXPECT_GT(countIf(axial->grabFramebuffer(), voxelRect(30, 30), isRed), 0);
    editor().editSegment(1, [](annotation::Segment& s) {
        s.display = annotation::SegmentDisplay::Outline;
        s.visible = false;
    });
    EXPECT_EQ(axial->grabFramebuffer(), empty);
}

TEST_F(AnnotationTools, LockedSegmentAndReadOnlyVersionRefuseWithAMessage) {
    showAxialSlice(5);
    editor().editSegment(1, [](annotation::Segment& s) { s.locked = true; });
    QTest::keyClick(axial, Qt::Key_B);
    clickVoxel(30, 30);
    EXPECT_TRUE(labelled().empty());
    EXPECT_TRUE(statusText().contains(QStringLiteral("locked"))) << statusText().toStdString();
    auto* toolStatus = panel->findChild<QLabel*>(QStringLiteral("toolStatus"));
    ASSERT_NE(toolStatus, nullptr);
    EXPECT_TRUE(toolStatus->text().contains(QStringLiteral("locked")));

    chooseInPanel(QStringLiteral("margin"));
    pressApply();
    EXPECT_TRUE(labelled().empty());
    EXPECT_TRUE(statusText().contains(QStringLiteral("no voxels")) ||
                statusText().contains(QStringLiteral("locked")))
        << statusText().toStdString();

    editor().editSegment(1, [](annotation::Segment& s) { s.locked = false; });
    editor().setReadOnly(true);
    QTest::keyClick(axial, Qt::Key_G);
    clickVoxel(30, 30);
    EXPECT_TRUE(labelled().empty());
    EXPECT_TRUE(statusText().contains(QStringLiteral("read-only"))) << statusText().toStdString();
}
