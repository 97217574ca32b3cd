// The workstation on an encrypted store, as an annotator meets it under Xvfb: the login dialog
// (typed into with real keystrokes), a stored, de-identified study opened into the viewer, a
// brush stroke saved with Ctrl+S as a version that is there again on reopening, the opens and
// the save logged under the annotator's name, Ctrl+L hiding every image until the same user
// types the password again, and the store's refusal shown when the study was unassigned.
#include "storage/Studies.h"
#include "storage/AuditTrail.h"
#include "storage/Annotations.h"
#include "StoreWorkspaceFixture.h"

#include "viewer/LabelEditor.h"

#include <QMessageBox>

using namespace radmark;
using namespace radmark::storage::testing;
using namespace radmark::testing;

namespace {

// Luminance spread over the middle of the axial view: the CT shows there, while the lock
// screen's controls sit in the middle of the window, outside it.
double imageContent(gui::MainWindow& window) {
    auto* axial = window.viewer()->sliceView(viewer::ViewPlane::Axial);
    const QImage shot = window.grab().toImage();
    const QSize size = axial->size();
    const QRect area(axial->mapTo(&window, QPoint(size.width() / 4, size.height() / 4)),
                     size / 2);
    return radmark::testing::pixelStatistics(shot, area).luminanceStdDev;
}

class StoreWorkspace : public GuiTest {};

TEST_F(StoreWorkspace, AnnotatorLogsInPaintsSavesReopensAndLocks) {
    TempDir dir;
    const std::int64_t studyId = makeStoreWithOneStudy(dir.path());

    StoreWindow user(dir.path());
    gui::MainWindow& window = user.window;
    gui::StoreWorkspace& workspace = *user.workspace;
    ASSERT_TRUE(user.logIn(annotatorName, userPassword));
    ASSERT_NE(workspace.session(), nullptr);
    EXPECT_EQ(workspace.session()->userName(), annotatorName);
    EXPECT_TRUE(window.windowTitle().contains(QString::fromStdString(annotatorName)));

    workspace.openStudy(studyId);
    const imaging::Volume* shown = window.viewer()->volume();
    ASSERT_NE(shown, nullptr);
    EXPECT_EQ(shown->geometry().dims, (imaging::Index3{128, 128, 1})); // CT_small's grid
    QTest::qWait(300);
    EXPECT_GT(imageContent(window), 10.0) << "the stored CT should show in the axial view";

    // B, a stroke with the real mouse, Ctrl+S with a message: a version in the store.
    window.activateWindow();
    ASSERT_TRUE(QTest::qWaitForWindowActive(&window));
    auto* axial = window.viewer()->sliceView(viewer::ViewPlane::Axial);
    QTest::keyClick(axial, Qt::Key_B);
    dragStroke(axial, 0.5);
    const auto painted = window.viewer()->labelEditor()->labels().voxelCounts();
    ASSERT_EQ(painted.size(), 1u);
    EXPECT_GT(painted.begin()->second, 20u);
    QTest::keyClick(axial, Qt::Key_Escape);
    answerVersionMessage("stroke across the slice");
    QTest::keyClick(axial, Qt::Key_S, Qt::ControlModifier);
    const auto versions = storage::Annotations(*workspace.session()).list(studyId);
    ASSERT_EQ(versions.size(), 1u);
    EXPECT_EQ(versions.front().message, "stroke across the slice");
    EXPECT_EQ(versions.front().author, annotatorName);

    // Reopened, the stroke is there, voxel for voxel.
    window.closeStudy();
    EXPECT_FALSE(window.viewer()->labelEditor()->hasAnnotation());
    workspace.openStudy(studyId);
    EXPECT_EQ(window.viewer()->labelEditor()->labels().voxelCounts(), painted);

    // Ctrl+L: the images disappear behind the lock screen until the same user unlocks.
    window.activateWindow();
    ASSERT_TRUE(QTest::qWaitForWindowActive(&window));
    QTest::keyClick(window.viewer()->sliceView(viewer::ViewPlane::Axial), Qt::Key_L,
                    Qt::ControlModifier);
    QTest::qWait(200);
    EXPECT_TRUE(workspace.session()->isLocked());
    auto* unlock = window.findChild<QLineEdit*>("unlockPassword");
    ASSERT_NE(unlock, nullptr);
    EXPECT_LT(imageContent(window), 1.0) << "a locked workstation must show no image";
    QTest::keyClicks(unlock, QString::fromStdString(userPassword));
    QTest::keyClick(unlock, Qt::Key_Return);
    QTest::qWait(300);
    EXPECT_FALSE(workspace.session()->isLocked());
    EXPECT_GT(imageContent(window), 10.0);

    // The open is in the signed log, under the annotator's name.
    storage::Store store(dir.path(), lowCostPolicy());
    workspace.session()->logout();
    auto admin = store.login(adminName, adminPassword);
    EXPECT_EQ(storage::AuditTrail(admin).entries(filterBy(annotatorName, "open study")).size(), 2u);
    EXPECT_EQ(storage::AuditTrail(admin).entries(filterBy(annotatorName, "save")).size(), 1u);
    EXPECT_EQ(storage::AuditTrail(admin).entries(filterBy(annotatorName, "lock")).size(), 1u);
}

TEST_F(StoreWorkspace, AnUnassignedAnnotatorCannotSaveAndIsToldWhy) {
    TempDir dir;
    const std::int64_t studyId = makeStoreWithOneStudy(dir.path());
    StoreWindow user(dir.path());
    ASSERT_TRUE(user.openAsAnnotator(studyId));

    // The admin takes the study away while it is open.
    {
        auto admin = storage::Store(dir.path(), lowCostPolicy()).login(adminName, adminPassword);
        storage::Studies(admin).unassign(annotatorName, studyId);
    }

    user.paintStroke(0.5);
    // Ctrl+S: the message is typed, then the store's refusal is read and closed.
    QString shown;
    whenModalDialogShows([&shown](QWidget* dialog) {
        auto* field = dialog->findChild<QLineEdit*>();
        ASSERT_NE(field, nullptr);
        QTest::keyClicks(field, "after the study was taken away");
        whenModalDialogShows([&shown](QWidget* refusal) {
            auto* message = qobject_cast<QMessageBox*>(refusal);
            ASSERT_NE(message, nullptr);
            shown = message->text();
            message->accept();
        });
        QTest::keyClick(field, Qt::Key_Return);
    });
    EXPECT_FALSE(user.workspace->saveVersion());
    EXPECT_TRUE(shown.contains("not assigned to you")) << shown.toStdString();
    EXPECT_EQ(user.annotatorLogCount("save"), 0u);
}

TEST_F(StoreWorkspace, WrongPasswordIsRefusedInTheDialog) {
    TempDir dir;
    makeStoreWithOneStudy(dir.path());
    gui::MainWindow window;
    window.setInteractive(false);
    gui::StoreWorkspace workspace(storage::Store(dir.path(), lowCostPolicy()), window);
    window.show();
    ASSERT_TRUE(QTest::qWaitForWindowExposed(&window));

    QTimer::singleShot(200, [] {
        QWidget* dialog = QApplication::activeModalWidget();
        ASSERT_NE(dialog, nullptr);
        QTest::keyClicks(dialog->findChild<QLineEdit*>("userName"),
                         QString::fromStdString(annotatorName));
        QTest::keyClicks(dialog->findChild<QLineEdit*>("password"), "not the password at all");
        QTest::mouseClick(dialog->findChild<QPushButton*>("loginButton"), Qt::LeftButton);
        QTest::qWait(300);
        EXPECT_TRUE(dialog->isVisible()) << "a wrong password must not log in";
        dialog->close(); // the user gives up
    });
    EXPECT_FALSE(workspace.logIn());
    EXPECT_EQ(workspace.session(), nullptr);
    EXPECT_EQ(window.viewer()->volume(), nullptr);
}

} // namespace
