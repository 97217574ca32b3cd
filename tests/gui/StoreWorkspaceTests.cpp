// The workstation on an encrypted store, as an annotator meets it under Xvfb: the login dialog
// (typed into with real keystrokes), a stored, de-identified study opened into the viewer, a
// brush stroke saved with Ctrl+S as a version that is there again on reopening, the opens and
// the save logged under the annotator's name, and Ctrl+L hiding every image until the same user
// types the password again.
#include "GuiTestSupport.h"
#include "StoreTestSupport.h"

#include "app/gui/MainWindow.h"
#include "app/gui/StoreWorkspace.h"
#include "storage/StudyImport.h"
#include "viewer/FourUpViewer.h"
#include "viewer/LabelEditor.h"
#include "viewer/SliceView.h"

#include <QApplication>
#include <QLineEdit>
#include <QPushButton>
#include <QTest>
#include <QTimer>

using namespace radmark;
using namespace radmark::storage::testing;
using radmark::testing::GuiTest;

namespace {

const std::string annotatorName = "annie-annotator";

// A store holding pydicom's CT_small.dcm, imported (de-identified) by the admin and assigned to
// the annotator. Returns the study id.
std::int64_t makeStoreWithOneStudy(const std::filesystem::path& dir) {
    storage::Store::initialise(dir, adminName, adminPassword, lowCostPolicy());
    storage::Store store(dir, lowCostPolicy());
    auto admin = store.login(adminName, adminPassword);
    admin.addUser(annotatorName, storage::Role::Annotator, userPassword);
    auto results = storage::importStudies(admin, {RADMARK_PYDICOM_DATA "/CT_small.dcm"});
    EXPECT_EQ(results.size(), 1u);
    EXPECT_EQ(results.front().status, storage::ImportStatus::Imported) << results.front().reason;
    admin.assign(annotatorName, results.front().studyId);
    return results.front().studyId;
}

// Types into the modal login dialog once it is up, as a person would, and presses Log in.
void answerLoginDialog(const QString& user, const QString& password) {
    QTimer::singleShot(200, [user, password] {
        QWidget* dialog = QApplication::activeModalWidget();
        ASSERT_NE(dialog, nullptr);
        auto* userField = dialog->findChild<QLineEdit*>("userName");
        auto* passwordField = dialog->findChild<QLineEdit*>("password");
        auto* button = dialog->findChild<QPushButton*>("loginButton");
        ASSERT_TRUE(userField && passwordField && button);
        userField->clear();
        QTest::keyClicks(userField, user);
        QTest::keyClicks(passwordField, password);
        QTest::mouseClick(button, Qt::LeftButton);
    });
}

// Luminance spread over the middle of the axial view: the CT shows there, while the lock
// screen's controls sit in the middle of the window, outside it.
double imageContent(app::MainWindow& window) {
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

    app::MainWindow window;
    window.setInteractive(false);
    window.resize(1100, 850);
    app::StoreWorkspace workspace(storage::Store(dir.path(), lowCostPolicy()), window);
    window.show();
    ASSERT_TRUE(QTest::qWaitForWindowExposed(&window));

    answerLoginDialog(QString::fromStdString(annotatorName), QString::fromStdString(userPassword));
    ASSERT_TRUE(workspace.logIn());
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
    const QPoint from(axial->width() * 2 / 5, axial->height() / 2);
    const QPoint to(axial->width() * 3 / 5, axial->height() / 2);
    QTest::mousePress(axial, Qt::LeftButton, Qt::NoModifier, from);
    for (int step = 1; step <= 10; ++step)
        QTest::mouseMove(axial, from + (to - from) * step / 10);
    QTest::mouseRelease(axial, Qt::LeftButton, Qt::NoModifier, to);
    const auto painted = window.viewer()->labelEditor()->labels().voxelCounts();
    ASSERT_EQ(painted.size(), 1u);
    EXPECT_GT(painted.begin()->second, 20u);
    QTest::keyClick(axial, Qt::Key_Escape);
    QTimer::singleShot(300, [] {
        auto* field = QApplication::activeModalWidget()
                          ? QApplication::activeModalWidget()->findChild<QLineEdit*>()
                          : nullptr;
        ASSERT_NE(field, nullptr);
        QTest::keyClicks(field, "stroke across the slice");
        QTest::keyClick(field, Qt::Key_Return);
    });
    QTest::keyClick(axial, Qt::Key_S, Qt::ControlModifier);
    const auto versions = workspace.session()->listAnnotations(studyId);
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
    EXPECT_EQ(admin.auditEntries(filterBy(annotatorName, "open study")).size(), 2u);
    EXPECT_EQ(admin.auditEntries(filterBy(annotatorName, "save")).size(), 1u);
    EXPECT_EQ(admin.auditEntries(filterBy(annotatorName, "lock")).size(), 1u);
}

TEST_F(StoreWorkspace, WrongPasswordIsRefusedInTheDialog) {
    TempDir dir;
    makeStoreWithOneStudy(dir.path());
    app::MainWindow window;
    window.setInteractive(false);
    app::StoreWorkspace workspace(storage::Store(dir.path(), lowCostPolicy()), window);
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
