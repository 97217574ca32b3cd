// A new tool is one file and one registration line: this file defines a tool that marks the
// voxels under the pointer, registers it with ONE line (before main, so before any window is
// built), and checks, under Xvfb with real keys and a real mouse drag, that the Annotate menu and
// the Tools panel show it with its title, hint and key, and that its handle() gets Press, Drag
// and Release with the voxels under the pointer. It also collects every key the workstation binds
// outside the tools (menus, panels, the Store menu, the slice views' own keys) and checks that no
// tool's key is one of them.
#include "StoreWorkspaceFixture.h"
#include "WorkstationFixture.h"

#include "app/gui/MainWindow.h"
#include "app/gui/StoreWorkspace.h"
#include "app/gui/annotation/ToolsPanel.h"
#include "viewer/FourUpViewer.h"
#include "viewer/SliceView.h"

#include <QAction>
#include <QApplication>
#include <QKeySequence>
#include <QLabel>
#include <QListWidget>
#include <QMenu>
#include <QTest>

#include <map>
#include <vector>

using namespace radmark;
using imaging::Index3;
using viewer::ViewPlane;

namespace {

struct SeenEvent {
    annotation::PointerPhase phase;
    Index3 voxel;
    annotation::SliceAxis plane;
};
std::vector<SeenEvent> seenEvents;

// Marks every voxel the pointer passes with the active segment; one drag is one undo step.
class VoxelMarkerTool final : public annotation::Tool {
  public:
    bool handle(const annotation::PointerEvent& event) override {
        seenEvents.push_back({event.phase, event.voxel, event.plane});
        if (!context().labels->contains(event.voxel))
            return false;
        stroke().write(event.voxel, context().activeSegment);
        if (event.phase == annotation::PointerPhase::Release)
            finishStroke("Mark voxels");
        return true;
    }
};

// As a built-in tool's file does it: the description and how to make the tool.
annotation::ToolRegistration voxelMarkerTool() {
    annotation::ToolDescription d;
    d.name = "voxel-marker";
    d.title = "Mark voxels";
    d.kind = annotation::ToolKind::Pointer;
    d.hint = "Drag in a slice view to mark each voxel under the pointer.";
    d.key = "K";
    return {std::move(d), [] { return std::make_unique<VoxelMarkerTool>(); }};
}

// The one registration line.
const bool markerRegistered = (annotation::registerTool(voxelMarkerTool()), true);

// 64 x 64 x 12 voxels of 1 mm, all water: nothing here depends on the image.
std::shared_ptr<imaging::Volume> makeWaterVolume() {
    imaging::Geometry geometry;
    geometry.dims = {64, 64, 12};
    auto volume = std::make_shared<imaging::Volume>(geometry, imaging::PixelType::Int16);
    volume->modality = "CT";
    volume->sourceFormat = "generated water phantom";
    return volume;
}

class NewTool : public radmark::testing::WorkstationWindow {
  protected:
    void SetUp() override {
        ASSERT_TRUE(markerRegistered);
        seenEvents.clear();
        WorkstationWindow::SetUp();
        window->activateWindow();
        ASSERT_TRUE(QTest::qWaitForWindowActive(window.get()));
        window->showStoredVolume(makeWaterVolume());
        QApplication::processEvents();
        axial = viewer()->sliceView(ViewPlane::Axial);
    }
    QPoint pointOf(int x, int y) const {
        return axial->widgetPositionOf({double(x), double(y), viewer()->cursor().index()[2]})
            .toPoint();
    }
    viewer::SliceView* axial = nullptr;
};

QString menuTitlesOf(const QAction* action) {
    QStringList titles;
    for (QObject* object : action->associatedObjects())
        if (auto* menu = qobject_cast<QMenu*>(object))
            titles << menu->title();
    return titles.join(QLatin1Char(','));
}

} // namespace

TEST_F(NewTool, ANewToolIsInTheMenuAndToolsPanelWithItsKeyAndGetsThePointer) {
    // Its key chooses it, and the menu entry, checked, shows its title and key.
    QTest::keyClick(axial, Qt::Key_K);
    ASSERT_EQ(editor().toolName(), QStringLiteral("voxel-marker"));
    auto* action = window->findChild<QAction*>(QStringLiteral("tool:voxel-marker"));
    ASSERT_NE(action, nullptr) << "not in the Annotate menu";
    EXPECT_EQ(menuTitlesOf(action), QStringLiteral("&Annotate"));
    EXPECT_EQ(action->text(), QStringLiteral("Mark voxels"));
    EXPECT_EQ(action->shortcut(), QKeySequence(Qt::Key_K));
    EXPECT_TRUE(action->isChecked());
    QTest::keyClick(axial, Qt::Key_Escape);
    EXPECT_EQ(editor().toolName(), QString());
    EXPECT_FALSE(action->isChecked());
    QTest::keyClick(axial, Qt::Key_K);
    ASSERT_EQ(editor().toolName(), QStringLiteral("voxel-marker"));

    // The Tools panel lists it (after the built-in pointer tools, before the boxes), chosen,
    // with its key in the tooltip and its hint under the list.
    auto* panel = window->findChild<gui::ToolsPanel*>();
    ASSERT_NE(panel, nullptr);
    auto* list = panel->findChild<QListWidget*>(QStringLiteral("toolList"));
    ASSERT_NE(list, nullptr);
    QListWidgetItem* item = list->currentItem();
    ASSERT_NE(item, nullptr);
    EXPECT_EQ(item->data(Qt::UserRole).toString(), QStringLiteral("voxel-marker"));
    EXPECT_EQ(item->text(), QStringLiteral("Mark voxels"));
    EXPECT_EQ(item->toolTip(), QStringLiteral("Key: K"));
    EXPECT_EQ(list->item(list->currentRow() - 1)->data(Qt::UserRole).toString(),
              QStringLiteral("region-grow"));
    EXPECT_EQ(list->item(list->currentRow() + 1)->data(Qt::UserRole).toString(),
              QStringLiteral("box"));
    auto* hint = panel->findChild<QLabel*>(QStringLiteral("toolHint"));
    ASSERT_NE(hint, nullptr);
    EXPECT_EQ(hint->text(),
              QStringLiteral("Drag in a slice view to mark each voxel under the pointer."));
    EXPECT_TRUE(hint->isVisible());

    // A real drag along y = 30 on axial slice 5, from x = 20 to x = 40.
    imaging::Vec3 index = viewer()->cursor().index();
    index[2] = 5;
    viewer()->moveCursorTo(index);
    QTest::mousePress(axial, Qt::LeftButton, Qt::NoModifier, pointOf(20, 30));
    for (int x = 22; x <= 40; x += 2)
        QTest::mouseMove(axial, pointOf(x, 30));
    QTest::mouseRelease(axial, Qt::LeftButton, Qt::NoModifier, pointOf(40, 30));
    QApplication::processEvents();

    ASSERT_GE(seenEvents.size(), 3u);
    EXPECT_EQ(seenEvents.front().phase, annotation::PointerPhase::Press);
    EXPECT_EQ(seenEvents.front().voxel, (Index3{20, 30, 5}));
    EXPECT_EQ(seenEvents.back().phase, annotation::PointerPhase::Release);
    EXPECT_EQ(seenEvents.back().voxel, (Index3{40, 30, 5}));
    std::size_t drags = 0;
    for (const SeenEvent& event : seenEvents) {
        drags += event.phase == annotation::PointerPhase::Drag;
        EXPECT_EQ(event.plane, annotation::SliceAxis::Axial);
        EXPECT_EQ(event.voxel[1], 30);
        EXPECT_EQ(event.voxel[2], 5);
    }
    EXPECT_EQ(drags, seenEvents.size() - 2) << "Press, Drags, Release";
    EXPECT_GE(drags, 5u);
    // The label map holds what the tool painted, as one undo step.
    const annotation::LabelMap& labels = editor().labels();
    for (const SeenEvent& event : seenEvents)
        EXPECT_EQ(labels.at(event.voxel), 1) << event.voxel[0];
    EXPECT_EQ(labels.at({30, 31, 5}), 0);
    EXPECT_EQ(labels.at({30, 30, 4}), 0);
    ASSERT_EQ(editor().history().size(), 1u);
    QTest::keyClick(axial, Qt::Key_Z, Qt::ControlModifier);
    EXPECT_EQ(labels.at({20, 30, 5}), 0);
    EXPECT_EQ(labels.at({40, 30, 5}), 0);
}

class WorkstationKeys : public radmark::testing::GuiTest {};

// The keys the workstation binds outside the tools, collected from the real window (every menu
// and panel, the Store menu included) plus the keys a focused slice view handles itself
// (viewer/SliceView.cpp, keyPressEvent: without Ctrl or Alt, so with or without Shift), which a
// tool's shortcut would take from it. No tool key may be among them, and each tool key is bound
// exactly once, by the tool's own menu entry.
TEST_F(WorkstationKeys, NoToolKeyIsTakenByAnythingElseInTheWorkstation) {
    using namespace radmark::testing;
    storage::testing::TempDir dir;
    storage::Store::initialise(dir.path(), storage::testing::adminName,
                               storage::testing::adminPassword, storage::testing::lowCostPolicy());
    StoreWindow store(dir.path());
    ASSERT_TRUE(QTest::qWaitForWindowExposed(&store.window));

    std::map<QKeySequence, QStringList> outsideTools; // key -> what binds it
    std::map<QKeySequence, QStringList> byTools;
    for (QAction* action : store.window.findChildren<QAction*>()) {
        const QString tool = action->objectName().section(QLatin1Char(':'), 1);
        const bool toolAction = (action->objectName().startsWith(QStringLiteral("tool:")) ||
                                 action->objectName().startsWith(QStringLiteral("apply:"))) &&
                                viewer::LabelEditor::toolDescription(tool);
        for (const QKeySequence& key : action->shortcuts()) {
            auto& holders = toolAction ? byTools : outsideTools;
            holders[key] << (action->text().isEmpty() ? action->objectName() : action->text());
        }
    }
    for (Qt::Key key :
         {Qt::Key_Up, Qt::Key_Down, Qt::Key_Left, Qt::Key_Right, Qt::Key_PageUp, Qt::Key_PageDown,
          Qt::Key_Home, Qt::Key_End, Qt::Key_Plus, Qt::Key_Equal, Qt::Key_Minus, Qt::Key_R}) {
        outsideTools[QKeySequence(key)] << QStringLiteral("slice view");
        outsideTools[QKeySequence(Qt::SHIFT | key)] << QStringLiteral("slice view");
    }
    // The collection found what the menus and panels bind (spot checks, one of each source).
    for (const char* key : {"Esc", "N", "H", "Shift+S", "[", "Del", "Ctrl+Z", "1", "F5",
                            "Ctrl+Shift+S", "Ctrl+S", "Ctrl+L", "Shift+3"})
        EXPECT_TRUE(outsideTools.count(QKeySequence(QString::fromLatin1(key)))) << key;
    // Qt runs neither of two actions that share a key in one window.
    for (const auto& [key, holders] : outsideTools)
        EXPECT_EQ(holders.size(), 1) << key.toString().toStdString() << " is bound by "
                                     << holders.join(QStringLiteral(", ")).toStdString();

    int keyed = 0;
    for (const annotation::ToolDescription& tool : annotation::toolDescriptions()) {
        if (tool.key.empty())
            continue;
        ++keyed;
        const QKeySequence key(QString::fromStdString(tool.key), QKeySequence::PortableText);
        ASSERT_EQ(key.count(), 1) << tool.name << ": \"" << tool.key << "\" is not one key";
        EXPECT_FALSE(outsideTools.count(key))
            << tool.name << "'s key " << tool.key << " is already bound by "
            << outsideTools[key].join(QStringLiteral(", ")).toStdString();
        EXPECT_EQ(byTools[key], QStringList{QString::fromStdString(tool.title)})
            << tool.name << "'s key " << tool.key;
    }
    EXPECT_EQ(keyed, 8) << "B E T G X Shift+X Ctrl+Shift+F, and K of the tool registered here";
    EXPECT_EQ(byTools.size(), std::size_t(keyed));
}
