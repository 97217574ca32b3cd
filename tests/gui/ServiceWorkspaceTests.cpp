// The workstation's service mode (app/gui/ServiceWorkspace.h) as an annotator works it: the
// login typed into the dialog, the worklist clicked, the study with its newest version on
// screen, a real mouse stroke, Ctrl+S with a message, the versions panel, a new draft from an
// older version, Ctrl+L.
//
// ShowsAndSavesWhatTheStoreWorkspaceShows runs everywhere, on the in-process StoreAccess: the
// screen equals the in-process workstation's (StoreWorkspace), pixel for pixel, and what it
// saves reads back in-process voxel for voxel. The other two run in the threat-model test
// tests/threat/ServiceWorkstation.sh, which sets their environment (they skip without it):
// ReferenceScreen as the service account on the store in-process, and ThroughRadmarkd as the
// annotator's own OS account against radmarkd, where it also checks that this process holds no
// store file open or mapped.

#include "StoreWorkspaceFixture.h"

#include "app/gui/ServiceWorkspace.h"
#include "app/gui/VersionsPanel.h"
#include "app/gui/WorklistDialog.h"
#include "storage/Annotations.h"
#include "workflow/StoredAnnotations.h"

#include <QDialogButtonBox>
#include <QDockWidget>
#include <QLabel>
#include <QTableWidget>

#include <unistd.h>

#include <fstream>

namespace radmark::testing {
namespace {

using namespace radmark::storage::testing;

class ServiceWorkspace : public GuiTest {};

// Every dock closed, so that the four views get the same room in both workspaces.
void hideDocks(gui::MainWindow& window) {
    for (QDockWidget* dock : window.findChildren<QDockWidget*>())
        dock->hide();
    QTest::qWait(300);
}

QImage axialImage(gui::MainWindow& window) {
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
        if (!QTest::qWaitForWindowExposed(&window))
            return ::testing::AssertionFailure() << "the window was not exposed";
        answerLoginDialog(QString::fromStdString(user), QString::fromStdString(password));
        if (!workspace->logIn())
            return ::testing::AssertionFailure() << "login failed";
        return ::testing::AssertionSuccess();
    }
    // Ctrl+Shift+T, the only row of her worklist clicked, Open.
    void openFromWorklist(int* rows) {
        whenModalDialogShows([rows](QWidget* dialog) {
            auto* worklist = qobject_cast<gui::WorklistDialog*>(dialog);
            ASSERT_NE(worklist, nullptr);
            EXPECT_EQ(worklist->queueTable(), nullptr);
            QTableWidget* table = worklist->worklistTable();
            *rows = table->rowCount();
            ASSERT_GT(*rows, 0);
            const QRect cell = table->visualItemRect(table->item(0, 0));
            QTest::mouseClick(table->viewport(), Qt::LeftButton, Qt::NoModifier, cell.center());
            QTest::mouseClick(
                worklist->findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Open),
                Qt::LeftButton);
        });
        activate();
        QTest::keyClick(axial(), Qt::Key_T, Qt::ControlModifier | Qt::ShiftModifier);
    }
    QWidget* axial() const { return window.viewer()->sliceView(viewer::ViewPlane::Axial); }
    void activate() {
        window.activateWindow();
        EXPECT_TRUE(QTest::qWaitForWindowActive(&window));
    }
    void paintStroke(double heightFraction) {
        activate();
        QTest::keyClick(axial(), Qt::Key_B);
        dragStroke(axial(), heightFraction);
        QTest::keyClick(axial(), Qt::Key_Escape);
    }
    void saveVersion(const QString& message) {
        activate();
        answerVersionMessage(message);
        QTest::keyClick(axial(), Qt::Key_S, Qt::ControlModifier);
    }
    int versionRows() const { return workspace->versionsPanel()->table()->rowCount(); }

    gui::MainWindow window;
    gui::ServiceWorkspace* workspace = nullptr; // the window's
};

gui::ServiceWorkspace::Connect inProcess(const std::filesystem::path& storeDir,
                                         storage::Policy policy) {
    return [storeDir, policy](const std::string& user, const std::string& password) {
        return cli::inProcessStoreAccess(storage::Store(storeDir, policy).login(user, password));
    };
}

std::vector<std::uint8_t> labelBytes(const annotation::LabelMap& labels) {
    const std::uint8_t* data = labels.data();
    return {data, data + labels.voxelCount() * std::size_t(labels.width())};
}

TEST_F(ServiceWorkspace, ShowsAndSavesWhatTheStoreWorkspaceShows) {
    TempDir dir;
    const std::int64_t studyId = makeStoreWithOneStudy(dir.path());
    { // her first version, drawn in the in-process workstation
        StoreWindow annie(dir.path());
        ASSERT_TRUE(annie.openAsAnnotator(studyId));
        annie.paintStroke(0.45);
        annie.saveVersion(QStringLiteral("first stroke"));
    }
    QImage reference;
    {
        StoreWindow annie(dir.path());
        ASSERT_TRUE(annie.openAsAnnotator(studyId));
        hideDocks(annie.window);
        reference = axialImage(annie.window);
    }

    ServiceWindow annie(inProcess(dir.path(), lowCostPolicy()));
    // A wrong password is refused in the dialog, in the store's words.
    QString refusal;
    whenModalDialogShows([&refusal](QWidget* dialog) {
        QTest::keyClicks(dialog->findChild<QLineEdit*>("userName"),
                         QString::fromStdString(annotatorName));
        QTest::keyClicks(dialog->findChild<QLineEdit*>("password"), QStringLiteral("wrong"));
        QTest::mouseClick(dialog->findChild<QPushButton*>("loginButton"), Qt::LeftButton);
        refusal = dialog->findChild<QLabel*>("loginError")->text();
        EXPECT_EQ(dialog->findChild<QPushButton*>("breakGlassButton"), nullptr)
            << "the recovery key stays with the service";
        dialog->close();
    });
    EXPECT_FALSE(annie.workspace->logIn());
    EXPECT_FALSE(refusal.isEmpty());
    ASSERT_TRUE(annie.logIn(annotatorName, userPassword));
    EXPECT_TRUE(annie.window.windowTitle().contains(QString::fromStdString(annotatorName)));
    int rows = 0;
    annie.openFromWorklist(&rows);
    EXPECT_EQ(rows, 1);
    ASSERT_NE(annie.window.viewer()->volume(), nullptr) << "the study did not open";
    ASSERT_EQ(annie.versionRows(), 1);
    const std::optional<annotation::VersionId> first = annie.workspace->versionOnScreen();
    ASSERT_TRUE(first);
    EXPECT_FALSE(annie.workspace->readOnly());
    hideDocks(annie.window);
    const QImage shown = axialImage(annie.window);
    ASSERT_EQ(shown.size(), reference.size());
    EXPECT_TRUE(shown == reference) << "the screen differs from the in-process workstation's";
    EXPECT_GT(pixelStatistics(shown, shown.rect()).distinctLuminances, 20) << "no image on screen";

    // A second stroke, Ctrl+S: a new version, her edits on the first as its parent.
    annie.paintStroke(0.6);
    const std::vector<std::uint8_t> painted =
        labelBytes(annie.window.viewer()->labelEditor()->labels());
    annie.saveVersion(QStringLiteral("second stroke"));
    EXPECT_EQ(annie.versionRows(), 2);
    const std::optional<annotation::VersionId> second = annie.workspace->versionOnScreen();
    ASSERT_TRUE(second);
    EXPECT_NE(*second, *first);
    {
        auto session =
            storage::Store(dir.path(), lowCostPolicy()).login(annotatorName, userPassword);
        workflow::StoredAnnotationHistory stored(session, studyId);
        ASSERT_EQ(stored.newest(), second);
        EXPECT_EQ(stored.history().get(*second).parent, first);
        EXPECT_EQ(stored.history().get(*second).message, "second stroke");
        EXPECT_EQ(labelBytes(stored.openVersion(*second, true).labels), painted)
            << "the saved version is not what was on screen";
    }

    // The first version read-only from the panel: no edits there; then a new draft from it.
    ASSERT_TRUE(annie.workspace->openVersion(*first, true));
    EXPECT_TRUE(annie.workspace->readOnly());
    EXPECT_TRUE(annie.window.windowTitle().contains(QStringLiteral("read-only")));
    answerMessageBox(QMessageBox::Ok);
    EXPECT_FALSE(annie.workspace->saveVersion()) << "a read-only version was saved";
    ASSERT_TRUE(annie.workspace->openVersion(*first, false));
    EXPECT_FALSE(annie.workspace->readOnly());
    annie.paintStroke(0.3);
    annie.saveVersion(QStringLiteral("from the first"));
    EXPECT_EQ(annie.versionRows(), 3);
    {
        auto session =
            storage::Store(dir.path(), lowCostPolicy()).login(annotatorName, userPassword);
        workflow::StoredAnnotationHistory stored(session, studyId);
        EXPECT_EQ(stored.history().get(*stored.newest()).parent, first)
            << "a new draft from the first version saves as its child";
    }

    // Ctrl+L: the study goes, the login comes back; her edits are asked about first.
    annie.paintStroke(0.7);
    QString asked;
    whenModalDialogShows([&asked](QWidget* dialog) {
        auto* box = qobject_cast<QMessageBox*>(dialog);
        ASSERT_NE(box, nullptr) << "her edits were not asked about";
        asked = box->text();
        // Then the login, once the question has gone.
        answerLoginDialog(QString::fromStdString(annotatorName),
                          QString::fromStdString(userPassword));
        QTest::mouseClick(box->button(QMessageBox::Discard), Qt::LeftButton);
    });
    annie.activate();
    QTest::keyClick(annie.axial(), Qt::Key_L, Qt::ControlModifier);
    EXPECT_TRUE(asked.contains(QStringLiteral("not saved"))) << asked.toStdString();
    EXPECT_EQ(annie.window.viewer()->volume(), nullptr) << "the images stay after the lock";
    EXPECT_NE(annie.workspace->access(), nullptr) << "she logged in again";
    EXPECT_EQ(annie.versionRows(), 0);
}

// What ReferenceScreen and ThroughRadmarkd read from tests/threat/ServiceWorkstation.sh.
struct ThreatSetting {
    std::string store, user, password, socket, reference, result;
    std::string study; // its label
};
std::optional<ThreatSetting> threatSetting() {
    const auto get = [](const char* name) {
        const char* value = std::getenv(name);
        return std::string(value ? value : "");
    };
    ThreatSetting s{get("RADMARK_TEST_STORE"),     get("RADMARK_TEST_USER"),
                    get("RADMARK_TEST_PASSWORD"),  get("RADMARK_TEST_SERVICE"),
                    get("RADMARK_TEST_REFERENCE"), get("RADMARK_TEST_RESULT")};
    if (s.user.empty() || s.reference.empty() || get("RADMARK_TEST_STUDY").empty())
        return std::nullopt;
    s.study = get("RADMARK_TEST_STUDY");
    return s;
}

TEST_F(ServiceWorkspace, ReferenceScreen) {
    const std::optional<ThreatSetting> setting = threatSetting();
    if (!setting || setting->store.empty())
        GTEST_SKIP() << "run by tests/threat/ServiceWorkstation.sh";
    StoreWindow user(setting->store, storage::Policy::system());
    ASSERT_TRUE(user.logIn(setting->user, setting->password));
    user.workspace->openStudy(storage::Studies(*user.workspace->session()).idFor(setting->study));
    ASSERT_NE(user.window.viewer()->volume(), nullptr);
    hideDocks(user.window);
    ASSERT_TRUE(axialImage(user.window).save(QString::fromStdString(setting->reference)));
    user.workspace->session()->logout();
}

// The files of the store this process has open or mapped (none may be).
std::vector<std::string> storeFilesHeld(const std::string& store) {
    std::vector<std::string> held;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
        std::error_code ec;
        const std::string target = std::filesystem::read_symlink(entry.path(), ec).string();
        if (!ec && target.rfind(store, 0) == 0)
            held.push_back("fd " + entry.path().filename().string() + " " + target);
    }
    std::ifstream maps("/proc/self/maps");
    for (std::string line; std::getline(maps, line);)
        if (line.find(store) != std::string::npos)
            held.push_back("mapped " + line);
    return held;
}

TEST_F(ServiceWorkspace, ThroughRadmarkd) {
    const std::optional<ThreatSetting> setting = threatSetting();
    if (!setting || setting->socket.empty())
        GTEST_SKIP() << "run by tests/threat/ServiceWorkstation.sh";
    const std::string socket = setting->socket;
    ServiceWindow anna([socket](const std::string& user, const std::string& password) {
        auto access = cli::serviceStoreAccess(socket, user, password);
        access->role();
        return access;
    });
    ASSERT_TRUE(anna.logIn(setting->user, setting->password));
    int rows = 0;
    anna.openFromWorklist(&rows);
    EXPECT_EQ(rows, 1) << "her worklist holds her one assigned study";
    ASSERT_NE(anna.window.viewer()->volume(), nullptr) << "the study did not open";
    const int before = anna.versionRows();
    ASSERT_GE(before, 1) << "the study's version made through the service";
    hideDocks(anna.window);
    const QImage shown = axialImage(anna.window);
    QImage reference(QString::fromStdString(setting->reference));
    ASSERT_FALSE(reference.isNull()) << "no reference screen";
    reference = reference.convertToFormat(QImage::Format_RGB32);
    ASSERT_EQ(shown.size(), reference.size());
    EXPECT_TRUE(shown == reference) << "the screen through the service differs from in-process";
    EXPECT_GT(pixelStatistics(shown, shown.rect()).distinctLuminances, 20) << "no image on screen";

    anna.paintStroke(0.5);
    anna.saveVersion(QStringLiteral("through the service"));
    EXPECT_EQ(anna.versionRows(), before + 1);
    ASSERT_TRUE(anna.workspace->versionOnScreen());
    const std::vector<std::string> held = storeFilesHeld(setting->store);
    EXPECT_TRUE(held.empty()) << "this process holds store files: " << held.front();
    std::ofstream(setting->result)
        << anna.workspace->versionOnScreen()->hex() << ' ' << ::getpid() << '\n';
}

} // namespace
} // namespace radmark::testing
