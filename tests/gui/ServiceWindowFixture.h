#pragma once
// For GUI tests of the workstation's service mode (app/gui/ServiceWorkspace.h): its window,
// logged in through the dialog, the worklist clicked, strokes and Ctrl+S as a person makes them,
// and the axial view's pixels with every dock closed (the same room in both workspaces).

#include "StoreWorkspaceFixture.h"

#include "app/gui/ServiceWorkspace.h"
#include "app/gui/VersionsPanel.h"
#include "app/gui/WorklistDialog.h"

#include <QDialogButtonBox>
#include <QDockWidget>
#include <QTableWidget>

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

} // namespace radmark::testing
