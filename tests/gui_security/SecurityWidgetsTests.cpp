// The security widgets on a real store: the login dialog opens a session or explains why not,
// the lock screen hides every image until the same user unlocks (or another logs in after a
// logout), and the admin panel manages users and shows and verifies the access log.

#include "storage/Users.h"
#include "GuiTestSupport.h"
#include "StoreTestSupport.h"
#include "app/gui/security/AdminPanel.h"
#include "app/gui/security/LockScreen.h"
#include "app/gui/security/LoginDialog.h"

#include <QApplication>
#include <QComboBox>
#include <QDateEdit>
#include <QLabel>
#include <QLineEdit>
#include <QProgressDialog>
#include <QPushButton>
#include <QTimer>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTest>
#include <QVBoxLayout>

#include <chrono>

using namespace radmark;
using namespace radmark::storage::testing;

namespace {

// Qt and VTK warnings fail a test (GuiTestSupport).
class SecurityWidgets : public radmark::testing::GuiTest {};

template <class T> T* child(QWidget* parent, const char* name) {
    T* found = parent->findChild<T*>(name);
    EXPECT_NE(found, nullptr) << name;
    return found;
}

bool waitUntil(const std::function<bool()>& condition, int milliseconds) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(milliseconds);
    while (!condition()) {
        if (std::chrono::steady_clock::now() > end)
            return false;
        QTest::qWait(20);
    }
    return true;
}

// A stand-in for the viewer: a window whose central area shows a pure red "image".
struct ImageWindow {
    QWidget window;
    QWidget* central;
    ImageWindow() {
        window.resize(400, 300);
        auto* layout = new QVBoxLayout(&window);
        layout->setContentsMargins(0, 0, 0, 0);
        central = new QLabel;
        central->setObjectName("imageArea");
        central->setAutoFillBackground(true);
        QPalette p = central->palette();
        p.setColor(QPalette::Window, Qt::red);
        central->setPalette(p);
        layout->addWidget(central);
        window.show();
        EXPECT_TRUE(QTest::qWaitForWindowExposed(&window));
    }
    // Fraction of the window's pixels that are the image's red.
    double redFraction() {
        QApplication::processEvents();
        const QImage image = window.grab().toImage();
        int red = 0;
        for (int y = 0; y < image.height(); y += 4)
            for (int x = 0; x < image.width(); x += 4)
                red += image.pixelColor(x, y) == QColor(Qt::red);
        return double(red) / ((image.height() / 4) * (image.width() / 4));
    }
};

} // namespace

TEST_F(SecurityWidgets, LoginDialogRefusesAWrongPasswordAndOpensASession) {
    TestStore t;
    gui::LoginDialog dialog(t.store);
    dialog.show();
    child<QLineEdit>(&dialog, "userName")->setText(QString::fromStdString(adminName));
    QTest::keyClicks(child<QLineEdit>(&dialog, "password"), "wrong password here");
    QTest::mouseClick(child<QPushButton>(&dialog, "loginButton"), Qt::LeftButton);
    EXPECT_TRUE(dialog.errorText().contains("not correct")) << dialog.errorText().toStdString();
    EXPECT_FALSE(dialog.takeSession().has_value());
    EXPECT_TRUE(child<QLineEdit>(&dialog, "password")->text().isEmpty());

    QTest::keyClicks(child<QLineEdit>(&dialog, "password"), QString::fromStdString(adminPassword));
    QTest::mouseClick(child<QPushButton>(&dialog, "loginButton"), Qt::LeftButton);
    EXPECT_EQ(dialog.result(), QDialog::Accepted);
    auto session = dialog.takeSession();
    ASSERT_TRUE(session.has_value());
    EXPECT_EQ(session->userName(), adminName);
    EXPECT_EQ(session->role(), storage::Role::Admin);
}

TEST_F(SecurityWidgets, LoginDialogBreakGlassWithTheRecoveryKey) {
    TestStore t;
    gui::LoginDialog dialog(t.store);
    dialog.show();
    child<QLineEdit>(&dialog, "userName")->setText("admin on leave, ticket 7");
    child<QLineEdit>(&dialog, "password")->setText(QString::fromStdString(t.secrets.recoveryKey.toHex()));
    QTest::mouseClick(child<QPushButton>(&dialog, "breakGlassButton"), Qt::LeftButton);
    auto session = dialog.takeSession();
    ASSERT_TRUE(session.has_value()) << dialog.errorText().toStdString();
    EXPECT_TRUE(session->isBreakGlass());
}

TEST_F(SecurityWidgets, LockScreenHidesEveryImageUntilTheSameUserUnlocks) {
    TestStore t;
    auto session = t.admin();
    ImageWindow w;
    gui::LockScreen lock(&session, w.central);
    EXPECT_GT(w.redFraction(), 0.9);

    QSignalSpy locked(&lock, &gui::LockScreen::locked);
    lock.lockNow();
    EXPECT_EQ(locked.count(), 1);
    EXPECT_TRUE(session.isLocked());
    EXPECT_FALSE(w.central->isVisible());
    EXPECT_EQ(w.redFraction(), 0.0);

    QTest::keyClicks(child<QLineEdit>(&lock, "unlockPassword"), "not my password!");
    QTest::mouseClick(child<QPushButton>(&lock, "unlockButton"), Qt::LeftButton);
    EXPECT_TRUE(lock.isLocked());
    EXPECT_FALSE(lock.errorText().isEmpty());
    EXPECT_EQ(w.redFraction(), 0.0);

    QSignalSpy unlocked(&lock, &gui::LockScreen::unlocked);
    QTest::keyClicks(child<QLineEdit>(&lock, "unlockPassword"),
                     QString::fromStdString(adminPassword));
    QTest::mouseClick(child<QPushButton>(&lock, "unlockButton"), Qt::LeftButton);
    EXPECT_EQ(unlocked.count(), 1);
    EXPECT_FALSE(session.isLocked());
    EXPECT_GT(w.redFraction(), 0.9);
}

TEST_F(SecurityWidgets, LockScreenLocksAfterTheIdleTimeout) {
    storage::Policy p = lowCostPolicy();
    p.idleTimeout = std::chrono::seconds(1);
    TestStore t(p);
    auto session = t.admin();
    ImageWindow w;
    gui::LockScreen lock(&session, w.central);
    EXPECT_FALSE(lock.isLocked());
    EXPECT_TRUE(waitUntil([&] { return lock.isLocked(); }, 5000));
    EXPECT_TRUE(session.isLocked());
    EXPECT_EQ(w.redFraction(), 0.0);
}

// While an export's thread uses the session, a lock that falls due (the idle timeout, Ctrl+L)
// waits, and happens as soon as the session is free again.
TEST_F(SecurityWidgets, LockScreenWaitsWhileAWorkerUsesTheSession) {
    storage::Policy p = lowCostPolicy();
    p.idleTimeout = std::chrono::seconds(1);
    TestStore t(p);
    auto session = t.admin();
    ImageWindow w;
    gui::LockScreen lock(&session, w.central);
    lock.setSessionInUse(true);
    QTest::qWait(2500); // past the idle timeout
    lock.lockNow();
    EXPECT_FALSE(lock.isLocked());
    EXPECT_FALSE(session.isLocked());
    lock.setSessionInUse(false);
    EXPECT_TRUE(lock.isLocked());
    EXPECT_TRUE(session.isLocked());
    EXPECT_EQ(w.redFraction(), 0.0);
}

TEST_F(SecurityWidgets, LogoutKeepsImagesHiddenUntilAnotherUserLogsIn) {
    TestStore t;
    {
        auto admin = t.admin();
        storage::Users(admin).add("rita", storage::Role::Reviewer, userPassword);
    }
    auto session = t.admin();
    ImageWindow w;
    gui::LockScreen lock(&session, w.central);
    lock.lockNow();
    QSignalSpy loggedOut(&lock, &gui::LockScreen::loggedOut);
    QTest::mouseClick(child<QPushButton>(&lock, "logoutButton"), Qt::LeftButton);
    EXPECT_EQ(loggedOut.count(), 1);
    EXPECT_TRUE(session.isLoggedOut());
    EXPECT_EQ(w.redFraction(), 0.0);
    auto rita = t.store.login("rita", userPassword);
    lock.setSession(&rita);
    EXPECT_GT(w.redFraction(), 0.9);
    EXPECT_FALSE(lock.isLocked());
}

TEST_F(SecurityWidgets, AdminPanelManagesUsersAndShowsAndVerifiesTheLog) {
    TestStore t;
    auto session = t.admin();
    gui::AdminPanel panel(session);
    panel.show();
    auto* users = child<QTableWidget>(&panel, "usersTable");
    EXPECT_EQ(users->rowCount(), 1);

    child<QLineEdit>(&panel, "newUserName")->setText("nina");
    child<QComboBox>(&panel, "newUserRole")->setCurrentText("annotator");
    child<QLineEdit>(&panel, "newUserPassword")->setText(QString::fromStdString(userPassword));
    QTest::mouseClick(child<QPushButton>(&panel, "addUserButton"), Qt::LeftButton);
    EXPECT_EQ(users->rowCount(), 2) << panel.statusText().toStdString();
    EXPECT_TRUE(child<QLineEdit>(&panel, "newUserPassword")->text().isEmpty());
    EXPECT_NO_THROW(t.store.login("nina", userPassword));

    // Too short a password: refused with the rule, nothing added.
    child<QLineEdit>(&panel, "newUserName")->setText("oscar");
    child<QLineEdit>(&panel, "newUserPassword")->setText("short");
    QTest::mouseClick(child<QPushButton>(&panel, "addUserButton"), Qt::LeftButton);
    EXPECT_TRUE(panel.statusText().contains("at least")) << panel.statusText().toStdString();
    EXPECT_EQ(users->rowCount(), 2);

    // The log, filtered by user and action.
    child<QLineEdit>(&panel, "auditFilterUser")->setText("nina");
    child<QComboBox>(&panel, "auditFilterAction")->setCurrentText("login");
    QTest::mouseClick(child<QPushButton>(&panel, "auditShowButton"), Qt::LeftButton);
    auto* audit = child<QTableWidget>(&panel, "auditTable");
    ASSERT_EQ(audit->rowCount(), 1);
    EXPECT_EQ(audit->item(0, 2)->text(), "nina");
    EXPECT_EQ(audit->item(0, 3)->text(), "login");
    child<QDateEdit>(&panel, "auditFilterSince")->setDate(QDate::currentDate().addDays(1));
    QTest::mouseClick(child<QPushButton>(&panel, "auditShowButton"), Qt::LeftButton);
    EXPECT_EQ(audit->rowCount(), 0);

    // Verify, with the offline audit key from a file.
    TempDir dir;
    writeFile(dir.path() / "audit.key", t.secrets.auditKey.toHex() + "\n");
    child<QLineEdit>(&panel, "auditKeyFile")
        ->setText(QString::fromStdString((dir.path() / "audit.key").string()));
    QTest::mouseClick(child<QPushButton>(&panel, "verifyButton"), Qt::LeftButton);
    EXPECT_TRUE(panel.statusText().contains("every MAC ok")) << panel.statusText().toStdString();
    writeFile(dir.path() / "audit.key", std::string(64, '7'));
    QTest::mouseClick(child<QPushButton>(&panel, "verifyButton"), Qt::LeftButton);
    EXPECT_TRUE(panel.statusText().contains("FAILED at entry 1"))
        << panel.statusText().toStdString();
}

// Disabling a user in the Admin panel rotates the store key behind a progress dialog; so does
// "Rotate key". A keyring copied before opens nothing afterwards.
TEST_F(SecurityWidgets, AdminPanelDisableAndRotateKeyShowProgressAndRotateTheKey) {
    TestStore t;
    {
        auto admin = t.admin();
        storage::Users(admin).add("nina", storage::Role::Annotator, userPassword);
        storage::Users(admin).add("omar", storage::Role::Reviewer, userPassword);
    }
    const std::string copied = readFile(t.store.keyringPath());
    auto session = t.admin();
    gui::AdminPanel panel(session);
    panel.show();
    auto* users = child<QTableWidget>(&panel, "usersTable");
    for (int row = 0; row < users->rowCount(); ++row)
        if (users->item(row, 0)->text() == "nina")
            users->setCurrentCell(row, 0);
    ASSERT_EQ(users->item(users->currentRow(), 0)->text(), "nina");

    // The dialog is looked for while the rotation runs (the panel's event loop keeps going).
    int dialogSeen = 0, highest = -1;
    QTimer watch;
    QObject::connect(&watch, &QTimer::timeout, [&] {
        if (auto* d = panel.findChild<QProgressDialog*>("keyRotationProgress"); d && d->isVisible()) {
            ++dialogSeen;
            highest = std::max(highest, d->value());
        }
    });
    watch.start(1);
    QSignalSpy inUse(&panel, &gui::AdminPanel::sessionInUse); // the lock screen waits meanwhile
    QTest::mouseClick(child<QPushButton>(&panel, "disableUserButton"), Qt::LeftButton);
    ASSERT_EQ(inUse.count(), 2);
    EXPECT_TRUE(inUse.at(0).at(0).toBool());
    EXPECT_FALSE(inUse.at(1).at(0).toBool());
    EXPECT_TRUE(panel.statusText().contains("key version 2")) << panel.statusText().toStdString();
    EXPECT_GT(dialogSeen, 0);
    EXPECT_GE(highest, 0);
    EXPECT_EQ(panel.findChild<QProgressDialog*>("keyRotationProgress"), nullptr);
    EXPECT_THROW(t.store.login("nina", userPassword), storage::AuthenticationError);
    EXPECT_NO_THROW(t.store.login("omar", userPassword));

    dialogSeen = 0;
    QTest::mouseClick(child<QPushButton>(&panel, "rotateKeyButton"), Qt::LeftButton);
    watch.stop();
    EXPECT_TRUE(panel.statusText().contains("Store key rotated: key version 3"))
        << panel.statusText().toStdString();
    EXPECT_GT(dialogSeen, 0);

    // omar's entry in the keyring from before, with his password, opens nothing now.
    writeFile(t.dir.path() / "copied-keyring", copied);
    const storage::Keyring old = storage::Keyring::load(t.dir.path() / "copied-keyring");
    const storage::SecureBytes oldKey = old.unwrapWithPassword(old.userIdFor("omar"), userPassword);
    EXPECT_THROW(storage::Database::open(t.store.databasePath(), &oldKey, false),
                 storage::StoreError);
    EXPECT_NO_THROW(storage::Users(session).list()); // the panel's session goes on
}

TEST_F(SecurityWidgets, AdminPanelShowsNothingToANonAdmin) {
    TestStore t;
    {
        auto admin = t.admin();
        storage::Users(admin).add("rita", storage::Role::Reviewer, userPassword);
    }
    auto rita = t.store.login("rita", userPassword);
    gui::AdminPanel panel(rita);
    EXPECT_EQ(child<QTableWidget>(&panel, "usersTable")->rowCount(), 0);
    EXPECT_EQ(child<QTableWidget>(&panel, "auditTable")->rowCount(), 0);
    EXPECT_TRUE(panel.statusText().contains("only the admin role")) << panel.statusText().toStdString();
}
