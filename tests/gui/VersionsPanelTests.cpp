// The Versions panel as a user meets it under Xvfb: two versions saved with Ctrl+S are listed
// newest first with their voxel counts; a double-click opens the first read-only (its labels,
// "read-only version ..." in the title, painting refused); "New draft from this version" allows
// edits again, a double-click elsewhere then asks Save / Discard / Cancel first, and Ctrl+S
// saves a version whose parent is the first one. Every open is logged.

#include "StoreWorkspaceFixture.h"

#include "workflow/StoredAnnotations.h"
#include "app/gui/VersionsPanel.h"
#include "viewer/LabelEditor.h"

#include <QDockWidget>
#include <QMessageBox>
#include <QTableWidget>

using namespace radmark;
using namespace radmark::storage::testing;
using namespace radmark::testing;

namespace {

class VersionsPanelTest : public GuiTest {};

void doubleClickRow(QTableWidget* table, int row) {
    const QRect cell = table->visualItemRect(table->item(row, 0));
    QTest::mouseClick(table->viewport(), Qt::LeftButton, Qt::NoModifier, cell.center());
    QTest::mouseDClick(table->viewport(), Qt::LeftButton, Qt::NoModifier, cell.center());
}

TEST_F(VersionsPanelTest, ListOpenReadOnlyNewDraftAndSaveWithItsParent) {
    TempDir dir;
    const std::int64_t studyId = makeStoreWithOneStudy(dir.path());
    StoreWindow user(dir.path());
    ASSERT_TRUE(user.openAsAnnotator(studyId));
    viewer::LabelEditor* editor = user.window.viewer()->labelEditor();
    auto* panel = user.workspace->versionsPanel();
    QTableWidget* table = panel->table();
    EXPECT_TRUE(user.workspace->versionsDock()->isVisible());
    EXPECT_EQ(table->rowCount(), 0);

    user.paintStroke(0.5);
    user.saveVersion("first stroke");
    const annotation::LabelMap first = editor->labels();
    user.paintStroke(0.3);
    user.saveVersion("second stroke");
    const auto second = editor->labels().voxelCounts();
    ASSERT_GT(second.begin()->second, first.voxelCounts().begin()->second);

    // Newest first, with author, message and voxels per segment.
    ASSERT_EQ(table->rowCount(), 2);
    EXPECT_EQ(table->item(0, 3)->text(), "second stroke");
    EXPECT_EQ(table->item(1, 3)->text(), "first stroke");
    EXPECT_EQ(table->item(1, 1)->text(), QString::fromStdString(annotatorName));
    EXPECT_EQ(table->item(0, 4)->text(), "draft");
    EXPECT_EQ(table->item(1, 5)->text(),
              QString("Segment 1=%1").arg(first.voxelCounts().begin()->second));
    EXPECT_EQ(table->item(0, 5)->text(), QString("Segment 1=%1").arg(second.begin()->second));
    const QString firstId = table->item(1, 0)->text();

    // Ctrl+Shift+V puts the keyboard in the list.
    user.activate();
    QTest::keyClick(user.axial(), Qt::Key_V, Qt::ControlModifier | Qt::ShiftModifier);
    EXPECT_TRUE(table->hasFocus());

    // Double-click the first version: read-only, its labels, painting refused.
    doubleClickRow(table, 1);
    ASSERT_TRUE(user.workspace->readOnlyVersion());
    EXPECT_EQ(QString::fromStdString(user.workspace->readOnlyVersion()->hex().substr(0, 12)),
              firstId);
    EXPECT_TRUE(user.window.windowTitle().contains("read-only version " + firstId))
        << user.window.windowTitle().toStdString();
    EXPECT_TRUE(editor->readOnly());
    EXPECT_TRUE(editor->labels() == first);
    user.paintStroke(0.7);
    EXPECT_TRUE(editor->labels() == first) << "a read-only version must not change";

    // "New draft from this version": edits are allowed again.
    QTest::mouseClick(table->viewport(), Qt::LeftButton, Qt::NoModifier,
                      table->visualItemRect(table->item(1, 0)).center());
    QTest::mouseClick(panel->findChild<QPushButton*>("newDraftButton"), Qt::LeftButton);
    EXPECT_FALSE(user.workspace->readOnlyVersion());
    EXPECT_FALSE(editor->readOnly());
    EXPECT_FALSE(user.window.windowTitle().contains("read-only"));
    user.paintStroke(0.7);
    EXPECT_FALSE(editor->labels() == first);
    const annotation::LabelMap edited = editor->labels();

    // Opening another version now asks first; Cancel keeps the edits on screen.
    QString asked;
    whenModalDialogShows([&asked](QWidget* dialog) {
        auto* box = qobject_cast<QMessageBox*>(dialog);
        ASSERT_NE(box, nullptr);
        asked = box->text();
        QTest::mouseClick(box->button(QMessageBox::Cancel), Qt::LeftButton);
    });
    doubleClickRow(table, 0);
    EXPECT_TRUE(asked.contains("not saved as a version")) << asked.toStdString();
    EXPECT_FALSE(user.workspace->readOnlyVersion());
    EXPECT_TRUE(editor->labels() == edited);

    // Ctrl+S: the new version's parent is the first version, not the newest.
    user.saveVersion("from the first");
    ASSERT_EQ(table->rowCount(), 3);
    EXPECT_EQ(table->item(0, 3)->text(), "from the first");
    const workflow::StoredAnnotationHistory stored(*user.workspace->session(), studyId);
    const auto& versions = stored.history().versions();
    ASSERT_EQ(versions.size(), 3u);
    ASSERT_TRUE(versions[2].parent);
    EXPECT_EQ(*versions[2].parent, versions[0].id);
    EXPECT_EQ(versions[1].parent, versions[0].id);
    EXPECT_TRUE(stored.history().openReadOnly(versions[2].id).labels == edited);

    // Every open of a version is in the log: the newest at the study's open, the read-only one,
    // the new draft.
    EXPECT_EQ(user.annotatorLogCount("open version"), 2u);
}

} // namespace
