#pragma once
// For GUI tests of the workstation on an encrypted store: a store with one imported,
// de-identified CT assigned to an annotator, the login dialog answered with real keystrokes, a
// real mouse stroke in a slice view, and modal dialogs answered once they are up.

#include "GuiTestSupport.h"
#include "StoreTestSupport.h"

#include "app/gui/MainWindow.h"
#include "app/gui/StoreWorkspace.h"
#include "storage/AuditTrail.h"
#include "storage/Studies.h"
#include "storage/StudyImport.h"
#include "storage/Users.h"
#include "viewer/FourUpViewer.h"
#include "viewer/SliceView.h"

#include <QAction>
#include <QApplication>
#include <QDialogButtonBox>
#include <QInputDialog>
#include <QLineEdit>
#include <QMenu>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QTest>
#include <QTimer>

#include <functional>
#include <memory>

namespace radmark::testing {

inline const std::string annotatorName = "annie-annotator";

// A store holding pydicom's CT_small.dcm (128x128x1), imported (de-identified) by the admin and
// assigned to the annotator. Returns the study id.
inline std::int64_t makeStoreWithOneStudy(const std::filesystem::path& dir) {
    using namespace radmark::storage::testing;
    storage::Store::initialise(dir, adminName, adminPassword, lowCostPolicy());
    storage::Store store(dir, lowCostPolicy());
    auto admin = store.login(adminName, adminPassword);
    storage::Users(admin).add(annotatorName, storage::Role::Annotator, userPassword);
    auto results = storage::importStudies(admin, {RADMARK_PYDICOM_DATA "/CT_small.dcm"});
    EXPECT_EQ(results.size(), 1u);
    EXPECT_EQ(results.front().status, storage::ImportStatus::Imported) << results.front().reason;
    storage::Studies(admin).assign(annotatorName, results.front().studyId);
    return results.front().studyId;
}

// Another annotator, assigned to the same study (two people annotating one study).
inline const std::string secondAnnotatorName = "bert-annotator";
inline void addAssignedAnnotator(const std::filesystem::path& dir, std::int64_t studyId,
                                 const std::string& name) {
    using namespace radmark::storage::testing;
    auto admin = storage::Store(dir, lowCostPolicy()).login(adminName, adminPassword);
    storage::Users(admin).add(name, storage::Role::Annotator, userPassword);
    storage::Studies(admin).assign(name, studyId);
}

// Runs `answer` on the modal dialog once it is up (a person reading it, then acting).
inline void whenModalDialogShows(std::function<void(QWidget*)> answer, int delayMs = 200) {
    QTimer::singleShot(delayMs, [answer = std::move(answer)] {
        QWidget* dialog = QApplication::activeModalWidget();
        ASSERT_NE(dialog, nullptr) << "no dialog came up";
        answer(dialog);
    });
}

// Types into the modal login dialog once it is up, as a person would, and presses Log in.
inline void answerLoginDialog(const QString& user, const QString& password) {
    whenModalDialogShows([user, password](QWidget* dialog) {
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

// Types the version message into the Ctrl+S dialog and presses Return.
inline void answerVersionMessage(const QString& message) {
    whenModalDialogShows([message](QWidget* dialog) {
        auto* field = dialog->findChild<QLineEdit*>();
        ASSERT_NE(field, nullptr);
        QTest::keyClicks(field, message);
        QTest::keyClick(field, Qt::Key_Return);
    });
}

// Clicks the dialog's button with this object name.
inline void answerWithButton(const QString& buttonName) {
    whenModalDialogShows([buttonName](QWidget* dialog) {
        auto* button = dialog->findChild<QPushButton*>(buttonName);
        ASSERT_NE(button, nullptr) << buttonName.toStdString();
        QTest::mouseClick(button, Qt::LeftButton);
    });
}

// Clicks a standard button of the message box once it is up; its text and informative text go
// to `shown` when given.
inline void answerMessageBox(QMessageBox::StandardButton button, QString* shown = nullptr) {
    whenModalDialogShows([button, shown](QWidget* dialog) {
        auto* box = qobject_cast<QMessageBox*>(dialog);
        ASSERT_NE(box, nullptr) << "not a message box";
        if (shown)
            *shown = box->text() + QLatin1Char('\n') + box->informativeText();
        ASSERT_NE(box->button(button), nullptr);
        QTest::mouseClick(box->button(button), Qt::LeftButton);
    });
}

// The menu's action whose text contains `text` (null when none does).
inline QAction* menuActionWith(QMenu* menu, const QString& text) {
    for (QAction* action : menu->actions())
        if (action->text().contains(text))
            return action;
    return nullptr;
}

// Types the text into the modal input dialog once it is up and presses OK; its label goes to
// `label` when given.
inline void answerTextDialog(const QString& text, QString* label = nullptr) {
    whenModalDialogShows([text, label](QWidget* dialog) {
        auto* input = qobject_cast<QInputDialog*>(dialog);
        ASSERT_NE(input, nullptr) << "not an input dialog";
        if (label)
            *label = input->labelText();
        if (auto* plain = input->findChild<QPlainTextEdit*>(); plain && plain->isVisible())
            QTest::keyClicks(plain, text);
        else
            QTest::keyClicks(input->findChild<QLineEdit*>(), text);
        QTest::mouseClick(input->findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Ok),
                          Qt::LeftButton);
    });
}

// A left drag with the real mouse across the view, at `heightFraction` of its height.
inline void dragStroke(QWidget* view, double heightFraction) {
    const int y = int(view->height() * heightFraction);
    const QPoint from(view->width() * 2 / 5, y);
    const QPoint to(view->width() * 3 / 5, y);
    QTest::mousePress(view, Qt::LeftButton, Qt::NoModifier, from);
    for (int step = 1; step <= 10; ++step)
        QTest::mouseMove(view, from + (to - from) * step / 10);
    QTest::mouseRelease(view, Qt::LeftButton, Qt::NoModifier, to);
}

// What a person does in the workstation's window, in either workspace: keys go to the active
// window, as they would for a user who clicked into it; B, a stroke, Escape; Ctrl+S with a
// message.
inline QWidget* axialView(gui::MainWindow& window) {
    return window.viewer()->sliceView(viewer::ViewPlane::Axial);
}
inline void activateWindow(gui::MainWindow& window) {
    window.activateWindow();
    EXPECT_TRUE(QTest::qWaitForWindowActive(&window));
}
inline void paintStrokeIn(gui::MainWindow& window, double heightFraction) {
    activateWindow(window);
    QTest::keyClick(axialView(window), Qt::Key_B);
    dragStroke(axialView(window), heightFraction);
    QTest::keyClick(axialView(window), Qt::Key_Escape);
}
inline void saveVersionIn(gui::MainWindow& window, const QString& message) {
    activateWindow(window);
    answerVersionMessage(message);
    QTest::keyClick(axialView(window), Qt::Key_S, Qt::ControlModifier);
}

// Types into the login dialog once it is up and logs in: either workspace's logIn().
template <class Workspace>
::testing::AssertionResult logInThroughDialog(gui::MainWindow& window, Workspace& workspace,
                                              const std::string& user,
                                              const std::string& password) {
    if (!QTest::qWaitForWindowExposed(&window))
        return ::testing::AssertionFailure() << "the window was not exposed";
    answerLoginDialog(QString::fromStdString(user), QString::fromStdString(password));
    if (!workspace.logIn())
        return ::testing::AssertionFailure() << "login failed";
    return ::testing::AssertionSuccess();
}

// The main window on a store, shown and exposed, logged in as `user` through the dialog.
struct StoreWindow {
    // The policy: the tests' low-cost one unless given (e.g. with export destinations).
    explicit StoreWindow(const std::filesystem::path& storeDir,
                         storage::Policy policy = radmark::storage::testing::lowCostPolicy())
        : storeDir(storeDir) {
        window.setInteractive(false);
        window.resize(1300, 900);
        workspace = std::make_unique<gui::StoreWorkspace>(storage::Store(storeDir, policy), window);
        window.show();
    }
    ::testing::AssertionResult logIn(const std::string& user, const std::string& password) {
        return logInThroughDialog(window, *workspace, user, password);
    }
    // The annotator logs in through the dialog and opens the study.
    ::testing::AssertionResult openAsAnnotator(std::int64_t studyId) {
        if (auto loggedIn = logIn(annotatorName, radmark::storage::testing::userPassword);
            !loggedIn)
            return loggedIn;
        workspace->openStudy(studyId);
        if (!window.viewer()->volume())
            return ::testing::AssertionFailure() << "the study did not open";
        return ::testing::AssertionSuccess();
    }
    // How often the annotator's session logged `action`: logs out (as the log is read by the
    // admin), so it comes last in a test.
    std::size_t annotatorLogCount(const std::string& action) {
        using namespace radmark::storage::testing;
        workspace->session()->logout();
        auto admin = storage::Store(storeDir, lowCostPolicy()).login(adminName, adminPassword);
        return storage::AuditTrail(admin).entries(filterBy(annotatorName, action)).size();
    }
    QWidget* axial() { return axialView(window); }
    void activate() { activateWindow(window); }
    void paintStroke(double heightFraction) { paintStrokeIn(window, heightFraction); }
    void saveVersion(const QString& message) { saveVersionIn(window, message); }

    std::filesystem::path storeDir;
    gui::MainWindow window;
    std::unique_ptr<gui::StoreWorkspace> workspace;
};

} // namespace radmark::testing
