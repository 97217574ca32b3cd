#pragma once
// For GUI tests of the workstation's service mode (app/gui/ServiceWorkspace.h): its window,
// logged in through the dialog, the worklist clicked, strokes and Ctrl+S as a person makes them,
// and the axial view's pixels with every dock closed (the same room in both workspaces).

#include "StoreWorkspaceFixture.h"

#include "app/gui/ServiceWorkspace.h"
#include "app/gui/VersionsPanel.h"
#include "app/gui/WorklistDialog.h"
#include "app/gui/security/AdminPanel.h"

#include <QComboBox>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDockWidget>
#include <QLineEdit>
#include <QProgressDialog>
#include <QPushButton>
#include <QTableWidget>
#include <QTimer>

#include <set>

namespace radmark::testing {

// Every dock closed, so that the four views get the same room in both workspaces.
inline void hideDocks(gui::MainWindow& window) {
    for (QDockWidget* dock : window.findChildren<QDockWidget*>())
        dock->hide();
    QTest::qWait(300);
}

inline QImage axialImage(gui::MainWindow& window) {
    auto* axial = window.viewer()->sliceView(viewer::ViewPlane::Axial);
    return axial->grabFramebuffer().convertToFormat(QImage::Format_RGB32);
}

// The service-mode window, logged in as `user` through the dialog with `connect`.
struct ServiceWindow {
    explicit ServiceWindow(gui::ServiceWorkspace::Connect connect) {
        window.setInteractive(false);
        window.resize(1300, 900);
        workspace = new gui::ServiceWorkspace(std::move(connect), window);
        window.show();
    }
    ::testing::AssertionResult logIn(const std::string& user, const std::string& password) {
        return logInThroughDialog(window, *workspace, user, password);
    }
    // Ctrl+Shift+Q, Open on the review queue's first row; queued: how many rows it had.
    void openFirstQueueRow(int* queued) {
        whenModalDialogShows([queued](QWidget* dialog) {
            auto* worklist = qobject_cast<gui::WorklistDialog*>(dialog);
            ASSERT_NE(worklist, nullptr);
            ASSERT_NE(worklist->queueTable(), nullptr) << "a reviewer has her queue";
            *queued = worklist->queueTable()->rowCount();
            QTest::mouseClick(
                worklist->findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Open),
                Qt::LeftButton);
        });
        activate();
        QTest::keyClick(axial(), Qt::Key_Q, Qt::ControlModifier | Qt::ShiftModifier);
    }
    // Ctrl+Shift+T, the only row of her worklist clicked, Open.
    // thenDraft: the button (recoverDraftButton, discardDraftButton, decideLaterButton) to
    // click when the study offers her draft.
    void openFromWorklist(int* rows, const QString& thenDraft = {}) {
        whenModalDialogShows([rows, thenDraft](QWidget* dialog) {
            auto* worklist = qobject_cast<gui::WorklistDialog*>(dialog);
            ASSERT_NE(worklist, nullptr);
            EXPECT_EQ(worklist->queueTable(), nullptr);
            QTableWidget* table = worklist->worklistTable();
            *rows = table->rowCount();
            ASSERT_GT(*rows, 0);
            const QRect cell = table->visualItemRect(table->item(0, 0));
            QTest::mouseClick(table->viewport(), Qt::LeftButton, Qt::NoModifier, cell.center());
            if (!thenDraft.isEmpty())
                answerWithButton(thenDraft); // once the worklist has gone
            QTest::mouseClick(
                worklist->findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Open),
                Qt::LeftButton);
        });
        activate();
        QTest::keyClick(axial(), Qt::Key_T, Qt::ControlModifier | Qt::ShiftModifier);
    }
    QWidget* axial() { return axialView(window); }
    void activate() { activateWindow(window); }
    void paintStroke(double heightFraction) { paintStrokeIn(window, heightFraction); }
    void saveVersion(const QString& message) { saveVersionIn(window, message); }
    void submit() {
        activate();
        QTest::keyClick(axial(), Qt::Key_Return, Qt::ControlModifier);
    }
    int versionRows() const { return workspace->versionsPanel()->table()->rowCount(); }

    gui::MainWindow window;
    gui::ServiceWorkspace* workspace = nullptr; // the window's
};

// What the admin panel's Administration dialog is asked to do (driveAdminPanel).
struct AdminPanelSteps {
    std::string newUser, newPassword; // added as an annotator, name and password typed
    std::string study;                // its label, assigned to the new user (empty: the first)
    std::string disable;              // disabled (a key rotation)
    std::string logAction;            // the access log filtered by it
    std::string auditKeyFile;         // typed into Verify's field
};
// The status line after each step, how often the rotation's progress dialog was seen up, and
// how many rows the filtered log showed.
struct AdminPanelRun {
    QString added, assigned, disabled, verified;
    int rotationDialogs = 0, logRows = -1;
    std::set<QString> logActions; // of the rows the filtered log showed
};
// Clicks through the steps in the Administration dialog, as an admin would, then closes it.
inline AdminPanelRun driveAdminPanel(QWidget* dialog, const AdminPanelSteps& steps) {
    AdminPanelRun run;
    auto* panel = dialog->findChild<gui::AdminPanel*>("adminPanel");
    EXPECT_NE(panel, nullptr) << "no admin panel";
    if (!panel)
        return run;
    const auto button = [panel](const char* name) { return panel->findChild<QPushButton*>(name); };
    QTest::keyClicks(panel->findChild<QLineEdit*>("newUserName"),
                     QString::fromStdString(steps.newUser));
    QTest::keyClicks(panel->findChild<QLineEdit*>("newUserPassword"),
                     QString::fromStdString(steps.newPassword));
    QTest::mouseClick(button("addUserButton"), Qt::LeftButton);
    run.added = panel->statusText();
    auto* assignUser = panel->findChild<QComboBox*>("assignUser");
    assignUser->setCurrentIndex(assignUser->findText(QString::fromStdString(steps.newUser)));
    if (!steps.study.empty()) {
        auto* assignStudy = panel->findChild<QComboBox*>("assignStudy");
        assignStudy->setCurrentIndex(assignStudy->findText(QString::fromStdString(steps.study)));
    }
    QTest::mouseClick(button("assignButton"), Qt::LeftButton);
    run.assigned = panel->statusText();
    auto* users = panel->findChild<QTableWidget*>("usersTable");
    for (int row = 0; row < users->rowCount(); ++row)
        if (users->item(row, 0)->text() == QString::fromStdString(steps.disable))
            users->setCurrentCell(row, 0);
    // Looked for while the rotation runs (the panel's event loop keeps going).
    QTimer watch;
    QObject::connect(&watch, &QTimer::timeout, [&] {
        if (auto* d = panel->findChild<QProgressDialog*>("keyRotationProgress");
            d && d->isVisible())
            ++run.rotationDialogs;
    });
    watch.start(1);
    QTest::mouseClick(button("disableUserButton"), Qt::LeftButton);
    watch.stop();
    run.disabled = panel->statusText();
    panel->findChild<QComboBox*>("auditFilterAction")
        ->setCurrentText(QString::fromStdString(steps.logAction));
    QTest::mouseClick(button("auditShowButton"), Qt::LeftButton);
    auto* log = panel->findChild<QTableWidget*>("auditTable");
    run.logRows = log->rowCount();
    for (int row = 0; row < log->rowCount(); ++row)
        run.logActions.insert(log->item(row, 3)->text());
    QTest::keyClicks(panel->findChild<QLineEdit*>("auditKeyFile"),
                     QString::fromStdString(steps.auditKeyFile));
    QTest::mouseClick(button("verifyButton"), Qt::LeftButton);
    run.verified = panel->statusText();
    qobject_cast<QDialog*>(dialog)->reject();
    return run;
}

} // namespace radmark::testing
