// Run by tests/threat/ServiceWorkstation.sh only (not a CTest test by itself), which sets the
// environment: ReferenceScreen as the service account, the in-process workstation (StoreWorkspace)
// logged in as the annotator on the store, writes the axial view with her study's newest version;
// ThroughRadmarkd as her own OS account, the workstation through radmarkd (ServiceWorkspace):
// login typed, worklist clicked, the same screen pixel for pixel, a stroke saved with Ctrl+S,
// and no store file open or mapped in this process; ReviewerThroughRadmarkd and
// AdminThroughRadmarkd the reviewer's and the admin's paths, each under her own OS account;
// AdminExportsThroughRadmarkd the admin's dataset built and exported through the service.

#include "DialogDriving.h"
#include "ServiceWindowFixture.h"

#include "app/gui/AgreementDialog.h"
#include "app/gui/CommentsPanel.h"
#include "app/gui/DatasetsDialog.h"
#include "app/gui/ExportDialog.h"
#include "app/gui/PacsImportDialog.h"
#include "app/gui/ReviewPanel.h"
#include "app/gui/security/AdminPanel.h"
#include "viewer/CommentMarkers.h"
#include "viewer/ComparisonViewer.h"
#include "viewer/SliceView.h"

#include "storage/Studies.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QProgressDialog>
#include <QPushButton>
#include <QSignalSpy>
#include <QStatusBar>
#include <QTabBar>
#include <QTabWidget>
#include <QTableWidget>
#include <QTimer>
#include <QTreeWidget>

#include <algorithm>

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <vector>

namespace radmark::testing {
namespace {

class ServiceWorkspace : public GuiTest {};

// What ReferenceScreen and ThroughRadmarkd read from tests/threat/ServiceWorkstation.sh.
struct ThreatSetting {
    std::string store, user, password, socket, reference, result;
    std::string study;                                        // its label
    std::string cli, adminPassword, otherUser, otherPassword; // for the rotation in ThroughRadmarkd
};
std::optional<ThreatSetting> threatSetting() {
    const auto get = [](const char* name) {
        const char* value = std::getenv(name);
        return std::string(value ? value : "");
    };
    ThreatSetting s{get("RADMARK_TEST_STORE"),          get("RADMARK_TEST_USER"),
                    get("RADMARK_TEST_PASSWORD"),       get("RADMARK_TEST_SERVICE"),
                    get("RADMARK_TEST_REFERENCE"),      get("RADMARK_TEST_RESULT"),
                    get("RADMARK_TEST_STUDY"),          get("RADMARK_TEST_CLI"),
                    get("RADMARK_TEST_ADMIN_PASSWORD"), get("RADMARK_TEST_OTHER_USER"),
                    get("RADMARK_TEST_OTHER_PASSWORD")};
    if (s.user.empty() || s.reference.empty() || s.study.empty())
        return std::nullopt;
    return s;
}

TEST_F(ServiceWorkspace, ReferenceScreen) {
    const std::optional<ThreatSetting> setting = threatSetting();
    ASSERT_TRUE(setting && !setting->store.empty()) << "run by tests/threat/ServiceWorkstation.sh";
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
    ASSERT_TRUE(setting && !setting->socket.empty()) << "run by tests/threat/ServiceWorkstation.sh";
    const std::string socket = setting->socket;
    ServiceWindow anna(gui::ServiceWorkspace::throughService(socket));
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
    anna.submit(); // Ctrl+Return: the script reads its state in-process
    ASSERT_TRUE(anna.workspace->versionOnScreen());
    // Autosave through the service, then a new session (a second window, logged in again)
    // offers the draft: recovered voxel for voxel, and saved as her next version.
    const auto countsBefore = anna.window.viewer()->labelEditor()->labels().voxelCounts();
    anna.paintStroke(0.3);
    ASSERT_NE(anna.window.viewer()->labelEditor()->labels().voxelCounts(), countsBefore)
        << "the stroke painted nothing; read-only: " << anna.workspace->readOnly();
    const annotation::LabelMap& labels = anna.window.viewer()->labelEditor()->labels();
    const std::vector<std::uint8_t> painted(
        labels.data(), labels.data() + labels.voxelCount() * std::size_t(labels.width()));
    ASSERT_TRUE(anna.workspace->autosaveNow())
        << anna.window.findChild<QLabel*>("draftStatus")->text().toStdString();
    {
        ServiceWindow again(gui::ServiceWorkspace::throughService(socket));
        ASSERT_TRUE(again.logIn(setting->user, setting->password));
        again.openFromWorklist(&rows, QStringLiteral("recoverDraftButton"));
        const annotation::LabelMap& recovered = again.window.viewer()->labelEditor()->labels();
        EXPECT_EQ(std::vector<std::uint8_t>(recovered.data(),
                                            recovered.data() + recovered.voxelCount() *
                                                                   std::size_t(recovered.width())),
                  painted)
            << "the draft recovered through the service is not what was painted";
        again.saveVersion(QStringLiteral("her recovered draft"));
        EXPECT_EQ(again.versionRows(), before + 2);

        // A key rotation ends her session in the service: her next save is refused with its
        // words and the login comes back with her name. She logs in again: the study and her
        // edits stay, and Ctrl+S saves them on the version on screen (only the edited slice).
        const std::string rotate = "printf '%s\\n' '" + setting->adminPassword + "' | '" +
                                   setting->cli + "' --service '" + socket +
                                   "' store rotate-key --user ada --reason 'threat test' "
                                   "--password-stdin > /dev/null";
        // Ctrl+S with a message, refused; the login that comes back answered as user.
        const auto saveRefusedThenLogIn = [&](const std::string& user, const std::string& password,
                                              QString* refusal, QString* suggested) {
            again.activate(); // first: activating runs the event loop, where the answer fires
            whenModalDialogShows([=](QWidget* dialog) {
                QTest::keyClicks(dialog->findChild<QLineEdit*>(), QStringLiteral("after rotation"));
                whenModalDialogShows([=](QWidget* box) {
                    auto* message = qobject_cast<QMessageBox*>(box);
                    *refusal = message ? message->text() : QString();
                    whenModalDialogShows([=](QWidget* login) {
                        auto* name = login->findChild<QLineEdit*>("userName");
                        ASSERT_NE(name, nullptr) << "no login dialog after the session ended";
                        *suggested = name->text();
                        name->clear();
                        QTest::keyClicks(name, QString::fromStdString(user));
                        QTest::keyClicks(login->findChild<QLineEdit*>("password"),
                                         QString::fromStdString(password));
                        QTest::mouseClick(login->findChild<QPushButton*>("loginButton"),
                                          Qt::LeftButton);
                    });
                    QTest::keyClick(box, Qt::Key_Return);
                });
                QTest::keyClick(dialog->findChild<QLineEdit*>(), Qt::Key_Return);
            });
            QTest::keyClick(again.axial(), Qt::Key_S, Qt::ControlModifier);
        };
        ASSERT_EQ(std::system(rotate.c_str()), 0) << "the rotation through the service";
        const std::optional<annotation::VersionId> onScreen = again.workspace->versionOnScreen();
        again.paintStroke(0.6);
        QString refusal, suggested;
        saveRefusedThenLogIn(setting->user, setting->password, &refusal, &suggested);
        EXPECT_TRUE(refusal.contains(QStringLiteral("not saved"))) << refusal.toStdString();
        EXPECT_EQ(suggested.toStdString(), setting->user) << "the login suggests her name";
        ASSERT_EQ(again.workspace->userName(), setting->user);
        ASSERT_NE(again.window.viewer()->volume(), nullptr) << "her study stays open";
        EXPECT_EQ(again.workspace->versionOnScreen(), onScreen);
        again.saveVersion(QStringLiteral("her edits after logging in again"));
        EXPECT_EQ(again.versionRows(), before + 3);
        const QString saved = again.window.statusBar()->currentMessage();
        EXPECT_TRUE(saved.contains(QStringLiteral("(1 new chunks)"))) << saved.toStdString();
        again.submit(); // for the reviewer (ReviewerThroughRadmarkd)

        // Another rotation: this time someone else logs in there (rita), and does not see anna's
        // study or her edits.
        ASSERT_EQ(std::system(rotate.c_str()), 0) << "the rotation through the service";
        again.paintStroke(0.7);
        saveRefusedThenLogIn(setting->otherUser, setting->otherPassword, &refusal, &suggested);
        EXPECT_TRUE(refusal.contains(QStringLiteral("not saved"))) << refusal.toStdString();
        EXPECT_EQ(suggested.toStdString(), setting->user) << "the login suggests her name";
        EXPECT_EQ(again.workspace->userName(), setting->otherUser);
        EXPECT_EQ(again.window.viewer()->volume(), nullptr)
            << "another user sees anna's study after her session ended";
        const std::vector<std::string> held = storeFilesHeld(setting->store);
        EXPECT_TRUE(held.empty()) << "this process holds store files: " << held.front();
    }
    const std::vector<std::string> held = storeFilesHeld(setting->store);
    EXPECT_TRUE(held.empty()) << "this process holds store files: " << held.front();
    std::ofstream(setting->result)
        << anna.workspace->versionOnScreen()->hex() << ' ' << ::getpid() << '\n';
}

// The reviewer, under her own OS account: her queue through the service, the submitted version
// read-only beside its previous one in the compare view (both label maps through the service;
// its metrics written for the script to check against the in-process `review diff --json`), a
// comment pinned there and resolved, Ctrl+Shift+A, the agreement report saved as CSV. The script
// reads the decision in-process.
TEST_F(ServiceWorkspace, ReviewerThroughRadmarkd) {
    const std::optional<ThreatSetting> setting = threatSetting();
    ASSERT_TRUE(setting && !setting->socket.empty()) << "run by tests/threat/ServiceWorkstation.sh";
    const std::string socket = setting->socket;
    ServiceWindow rita(gui::ServiceWorkspace::throughService(socket));
    ASSERT_TRUE(rita.logIn(setting->user, setting->password));
    int queued = 0;
    rita.openFirstQueueRow(&queued);
    ASSERT_EQ(queued, 1) << "anna's submitted version waits in her queue";
    ASSERT_NE(rita.window.viewer()->volume(), nullptr);
    EXPECT_TRUE(rita.workspace->readOnly());
    gui::ReviewPanel* panel = rita.workspace->reviewPanel();
    EXPECT_TRUE(panel->isVisible()) << "the queue row opens the compare view";
    ASSERT_TRUE(panel->shownVersion() && panel->comparedVersion());
    const std::optional<workflow::ReviewVersion> reviewed =
        panel->versionNamed(*panel->shownVersion());
    const std::optional<workflow::ReviewVersion> compared =
        panel->versionNamed(*panel->comparedVersion());
    ASSERT_TRUE(reviewed && compared);
    EXPECT_EQ(reviewed->id, *rita.workspace->versionOnScreen());
    EXPECT_NE(reviewed->id, compared->id) << "anna's version beside her previous one";
    QTest::qWait(300);
    for (int side = 0; side < 2; ++side) {
        const QImage shot = panel->viewer()->view(side)->grabFramebuffer();
        std::set<QRgb> colours;
        for (int y = 0; y < shot.height(); y += 4)
            for (int x = 0; x < shot.width(); x += 4)
                colours.insert(shot.pixel(x, y));
        EXPECT_GT(colours.size(), 50u) << "side " << side << " shows no image";
    }
    std::ofstream(setting->result + ".metrics") << panel->metricsJson() << '\n';
    // A comment pinned through the service (P, a click in the middle of the left side), then
    // resolved in the Comments panel.
    viewer::ComparisonViewer* compare = panel->viewer();
    rita.activate();
    compare->view(0)->setFocus(Qt::OtherFocusReason);
    QTest::keyClick(compare->view(0), Qt::Key_P);
    ASSERT_TRUE(compare->pinMode());
    answerTextDialog(QStringLiteral("pinned through the service"));
    QTest::mouseClick(compare->view(0), Qt::LeftButton, Qt::NoModifier,
                      compare->view(0)->rect().center());
    gui::CommentsPanel* comments = rita.workspace->commentsPanel();
    ASSERT_EQ(comments->pinned().size(), 1u);
    EXPECT_EQ(rita.workspace->commentMarkers()->markers().size(), 1u);
    comments->tree()->setCurrentItem(comments->tree()->topLevelItem(0));
    QTest::mouseClick(comments->resolveButton(), Qt::LeftButton);
    EXPECT_TRUE(comments->pinned()[0].resolved);
    rita.activate();
    QTest::keyClick(rita.axial(), Qt::Key_A, Qt::ControlModifier | Qt::ShiftModifier);
    // The version's history, through the service, has her decision.
    const QString history = rita.workspace->historyView()->toPlainText();
    EXPECT_TRUE(history.contains(QString::fromStdString(setting->user))) << history.toStdString();
    // Ctrl+Shift+G: the agreement report through the service, saved as CSV by her process for
    // the script to compare with `review agreement` in-process.
    rita.activate();
    bool reported = false;
    whenModalDialogShows([&](QWidget* dialog) {
        auto* report = qobject_cast<gui::AgreementDialog*>(dialog);
        ASSERT_NE(report, nullptr) << "not the agreement report";
        report->save(setting->result + ".agreement.csv");
        reported = true;
        report->reject();
    });
    QTest::keyClick(rita.axial(), Qt::Key_G, Qt::ControlModifier | Qt::ShiftModifier);
    EXPECT_TRUE(reported);
    const std::vector<std::string> held = storeFilesHeld(setting->store);
    EXPECT_TRUE(held.empty()) << "this process holds store files: " << held.front();
    std::ofstream(setting->result) << rita.workspace->versionOnScreen()->hex() << ' ' << ::getpid()
                                   << ' ' << compared->id.hex() << '\n';
}

// The admin, under her own OS account: a key rotation through her session reports its stages as
// it goes (the progress the panel shows); Store > Administration (Ctrl+Shift+U) through the
// service: a user typed in and added (the new password crosses in a sealed memfd), the study
// assigned to her, another user disabled (a key rotation behind the progress dialog), the access
// log filtered, and verified with her copy of the audit key. The script checks each in-process.
TEST_F(ServiceWorkspace, AdminThroughRadmarkd) {
    const std::optional<ThreatSetting> setting = threatSetting();
    const char* auditKey = std::getenv("RADMARK_TEST_AUDIT_KEY");
    ASSERT_TRUE(setting && !setting->socket.empty() && auditKey)
        << "run by tests/threat/ServiceWorkstation.sh";
    const std::string socket = setting->socket;
    std::vector<std::pair<std::string, double>> notes;
    {
        std::unique_ptr<cli::StoreAccess> access =
            cli::serviceStoreAccess(socket, setting->user, setting->password);
        const storage::KeyRotationResult rotated =
            access->administration().rotateKey("threat test: progress through the service",
                                               [&](const std::string& stage, double fraction) {
                                                   notes.emplace_back(stage, fraction);
                                               });
        EXPECT_GE(rotated.keyVersion, 2);
    }
    ASSERT_GE(notes.size(), 3u) << "the rotation's stages did not cross";
    EXPECT_EQ(notes.front().first, "sealing");
    EXPECT_EQ(notes.back(), std::make_pair(std::string("done"), 1.0));
    for (std::size_t i = 1; i < notes.size(); ++i)
        EXPECT_GE(notes[i].second, notes[i - 1].second) << "the progress went back";

    ServiceWindow ada(gui::ServiceWorkspace::throughService(socket));
    ASSERT_TRUE(ada.logIn(setting->user, setting->password));
    AdminPanelRun run;
    ada.activate();
    whenModalDialogShows([&](QWidget* dialog) {
        run = driveAdminPanel(dialog, {setting->otherUser, setting->otherPassword, setting->study,
                                       "bob", "user add", auditKey});
    });
    QTest::keyClick(ada.axial(), Qt::Key_U, Qt::ControlModifier | Qt::ShiftModifier);
    EXPECT_TRUE(run.added.contains(QString::fromStdString(setting->otherUser + " added")))
        << run.added.toStdString();
    EXPECT_TRUE(run.assigned.contains(QStringLiteral("assigned to"))) << run.assigned.toStdString();
    EXPECT_GT(run.rotationDialogs, 0) << "no progress dialog during the rotation";
    EXPECT_TRUE(run.disabled.contains(QStringLiteral("User bob disabled")))
        << run.disabled.toStdString();
    EXPECT_GE(run.logRows, 4) << "anna, rita, bob and the new user were added";
    EXPECT_EQ(run.logActions, std::set<QString>{QStringLiteral("user add")}) << "the filter";
    EXPECT_TRUE(run.verified.contains(QStringLiteral("every MAC ok")))
        << run.verified.toStdString();
    const std::vector<std::string> held = storeFilesHeld(setting->store);
    EXPECT_TRUE(held.empty()) << "this process holds store files: " << held.front();
    std::ofstream(setting->result) << notes.size() << ' ' << ::getpid() << '\n';
}

// Waits, the event loop running, until the dialog's export is done: its outcome.
std::optional<bool> waitForExport(gui::ExportDialog* dialog) {
    QSignalSpy finished(dialog, &gui::ExportDialog::exportFinished);
    for (int i = 0; i < 2400 && finished.isEmpty(); ++i)
        QTest::qWait(50);
    if (finished.isEmpty())
        return std::nullopt;
    return finished.front().front().toBool();
}

// The admin, under her own OS account, through the service: Admin > Datasets (Ctrl+Shift+B), a
// dataset typed in, the annotator's study added with its approved version, split, the protocol
// picked in the file dialog (her process reads it: its bytes cross), the study's uncoded segment
// mapped to a typed code, frozen; Admin > Export dataset (Ctrl+Shift+E) to the policy's folder,
// the bar moving stage by stage to the end; again, cancelled by the Cancel button at the first
// case. The worker writes the bundle as the service account: the script verifies it, reads it
// with nibabel and reads the access log.
TEST_F(ServiceWorkspace, AdminExportsThroughRadmarkd) {
    const std::optional<ThreatSetting> setting = threatSetting();
    const char* protocol = std::getenv("RADMARK_TEST_PROTOCOL");
    const char* destinationName = std::getenv("RADMARK_TEST_DESTINATION");
    ASSERT_TRUE(setting && !setting->socket.empty() && protocol && destinationName)
        << "run by tests/threat/ServiceWorkstation.sh";
    const QString study = QString::fromStdString(setting->study);
    const QString destination = QString::fromLocal8Bit(destinationName);
    ServiceWindow ada(gui::ServiceWorkspace::throughService(setting->socket));
    ASSERT_TRUE(ada.logIn(setting->user, setting->password));

    QString created, caseState, splitOfCase, protocolText, conflict, frozen;
    int cases = 0, conflictsLeft = -1, revisions = 0;
    bool built = false;
    ada.activate();
    whenModalDialogShows([&](QWidget* shown) {
        auto* dialog = qobject_cast<gui::DatasetsDialog*>(shown);
        ASSERT_NE(dialog, nullptr) << "Ctrl+Shift+B opened no Datasets dialog";
        RejectIfOpen guard{dialog};
        QTest::keyClicks(child<QLineEdit>(dialog, "newDatasetName"), QStringLiteral("Liver"));
        QTest::keyClicks(child<QLineEdit>(dialog, "newDatasetPurpose"),
                         QStringLiteral("liver model, through the service"));
        click(child<QPushButton>(dialog, "createDatasetButton"));
        created = dialog->message()->text();
        ASSERT_EQ(dialog->currentDataset(), QStringLiteral("Liver")) << created.toStdString();

        // Her study, picked by its row, with its latest approved version (rita's approval).
        clickTab(dialog->tabs(), QStringLiteral("Cases"));
        whenModalDialogShows([&](QWidget* picker) {
            RejectIfOpen pickerGuard{qobject_cast<QDialog*>(picker)};
            auto* table = child<QTableWidget>(picker, "studyPickerTable");
            ASSERT_NE(table, nullptr) << "no study picker";
            for (int row = 0; row < table->rowCount(); ++row)
                if (table->item(row, 0)->text() == study)
                    QTest::mouseClick(table->viewport(), Qt::LeftButton, Qt::NoModifier,
                                      table->visualItemRect(table->item(row, 0)).center());
            click(child<QPushButton>(picker, "addPickedButton"));
        });
        click(child<QPushButton>(dialog, "addStudiesButton"));
        cases = dialog->casesTable()->rowCount();
        ASSERT_EQ(cases, 1) << dialog->message()->text().toStdString();
        caseState = dialog->casesTable()->item(0, 3)->text();

        // One patient: all of it in train, which nnU-Net needs.
        clickTab(dialog->tabs(), QStringLiteral("Splits"));
        retype(child<QDoubleSpinBox>(dialog, "splitTrain"), QStringLiteral("1"));
        retype(child<QDoubleSpinBox>(dialog, "splitValidation"), QStringLiteral("0"));
        retype(child<QDoubleSpinBox>(dialog, "splitTest"), QStringLiteral("0"));
        click(child<QPushButton>(dialog, "splitButton"));
        auto* splits = child<QTableWidget>(dialog, "splitCasesTable");
        ASSERT_EQ(splits->rowCount(), 1) << dialog->message()->text().toStdString();
        splitOfCase = splits->item(0, 2)->text();

        clickTab(dialog->tabs(), QStringLiteral("Protocol"));
        whenModalDialogShows([&](QWidget* files) {
            auto* fileDialog = qobject_cast<QFileDialog*>(files);
            RejectIfOpen fileGuard{fileDialog};
            ASSERT_NE(fileDialog, nullptr) << "no file dialog";
            auto* name = fileDialog->findChild<QLineEdit*>(QStringLiteral("fileNameEdit"));
            ASSERT_NE(name, nullptr);
            QTest::keyClicks(name, QString::fromLocal8Bit(protocol));
            QTest::keyClick(name, Qt::Key_Return);
        });
        click(child<QPushButton>(dialog, "setProtocolButton"));
        protocolText = child<QLabel>(dialog, "protocolText")->text();

        // The hand-written client's "Liver" has no code: the label table's one conflict, until
        // the name is mapped (with a category, which the DICOM SEG needs).
        clickTab(dialog->tabs(), QStringLiteral("Labels"));
        auto* conflicts = child<QTreeWidget>(dialog, "conflictsTree");
        if (conflicts->topLevelItemCount() > 0 && conflicts->topLevelItem(0)->childCount() > 0)
            conflict = conflicts->topLevelItem(0)->child(0)->text(1);
        QTest::keyClicks(child<QLineEdit>(dialog, "mapSegmentName"), QStringLiteral("Liver"));
        QTest::keyClicks(child<QLineEdit>(dialog, "mapCode"), QStringLiteral("SCT:10200004:Liver"));
        QTest::keyClicks(child<QLineEdit>(dialog, "mapCategory"),
                         QStringLiteral("SCT:123037004:Anatomical Structure"));
        click(child<QPushButton>(dialog, "mapButton"));
        conflictsLeft = conflicts->topLevelItemCount();

        clickTab(dialog->tabs(), QStringLiteral("Revisions"));
        click(child<QPushButton>(dialog, "freezeButton"));
        frozen = dialog->message()->text();
        revisions = child<QTableWidget>(dialog, "revisionsTable")->rowCount();
        built = true;
        click(dialog->findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Close));
    });
    QTest::keyClick(ada.axial(), Qt::Key_B, Qt::ControlModifier | Qt::ShiftModifier);
    ASSERT_TRUE(built) << created.toStdString();
    EXPECT_TRUE(created.contains(QStringLiteral("Dataset500_Liver"))) << created.toStdString();
    EXPECT_EQ(caseState, QStringLiteral("approved")) << "the case takes rita's approved version";
    EXPECT_EQ(splitOfCase, QStringLiteral("train"));
    EXPECT_TRUE(protocolText.startsWith(QStringLiteral("Version 1: guideline.md")))
        << protocolText.toStdString();
    EXPECT_TRUE(conflict.contains(QStringLiteral("'Liver'"))) << conflict.toStdString();
    EXPECT_EQ(conflictsLeft, 0) << "the mapping left a conflict";
    EXPECT_TRUE(frozen.startsWith(QStringLiteral("Revision 1 frozen"))) << frozen.toStdString();
    EXPECT_EQ(revisions, 1);

    std::vector<int> shown; // the bar's values as the window showed them
    QString stages, destinationText, reason, summary, bundle, cancelledAt, cancelMessage;
    std::optional<bool> completed, cancelled;
    int finalValue = -1;
    ada.activate();
    whenModalDialogShows([&](QWidget* shownDialog) {
        auto* dialog = qobject_cast<gui::ExportDialog*>(shownDialog);
        ASSERT_NE(dialog, nullptr) << "Ctrl+Shift+E opened no export dialog";
        RejectIfOpen guard{dialog};
        ASSERT_EQ(dialog->datasetChoice()->currentText(), QStringLiteral("Liver"));
        // The policy's one folder, picked from the list (nothing can be typed).
        QComboBox* destinations = dialog->destinationChoice();
        EXPECT_FALSE(destinations->isEditable());
        destinations->setFocus();
        QTest::keyClick(destinations, Qt::Key_Home);
        destinationText = destinations->currentText();
        reason = child<QLabel>(dialog, "destinationReason")->text();
        ASSERT_EQ(destinations->currentData().toString(), destination);
        clickBox(child<QCheckBox>(dialog, "formatBoxes")); // the versions have none
        QMetaObject::Connection watch = QObject::connect(
            dialog, &gui::ExportDialog::progressShown, [&](int permille, const QString& stage) {
                shown.push_back(permille);
                stages += QString::number(permille) + QLatin1Char(' ') + stage + '\n';
            });
        click(child<QPushButton>(dialog, "startExportButton"));
        completed = waitForExport(dialog);
        QObject::disconnect(watch);
        finalValue = dialog->progressBar()->value();
        summary = dialog->summary()->toPlainText();
        bundle = dialog->bundleId();
        if (!completed || !*completed)
            summary = dialog->message()->text();

        // Again, cancelled with the Cancel button once the first case is on screen.
        QMetaObject::Connection cancelAt = QObject::connect(
            dialog, &gui::ExportDialog::progressShown, [&, dialog](int, const QString& stage) {
                if (!cancelledAt.isEmpty() || !stage.startsWith(QStringLiteral("case 1 of")))
                    return;
                cancelledAt = stage;
                QTest::mouseClick(child<QPushButton>(dialog, "cancelExportButton"), Qt::LeftButton);
            });
        click(child<QPushButton>(dialog, "startExportButton"));
        cancelled = waitForExport(dialog);
        QObject::disconnect(cancelAt);
        cancelMessage = dialog->message()->text();
        click(dialog->findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Close));
    });
    QTest::keyClick(ada.axial(), Qt::Key_E, Qt::ControlModifier | Qt::ShiftModifier);
    EXPECT_TRUE(destinationText.contains(QStringLiteral("(folder: ")))
        << destinationText.toStdString();
    EXPECT_TRUE(reason.startsWith(QStringLiteral("Allowed"))) << reason.toStdString();
    ASSERT_TRUE(completed) << "the export did not finish";
    ASSERT_TRUE(*completed) << summary.toStdString();
    ASSERT_FALSE(bundle.isEmpty());
    EXPECT_TRUE(summary.startsWith(QStringLiteral("Bundle: ") + bundle)) << summary.toStdString();
    EXPECT_TRUE(summary.contains(QStringLiteral("Cases: 1"))) << summary.toStdString();
    EXPECT_EQ(finalValue, 1000);
    // The bar moved through the stages the worker reported, in order, to the end.
    EXPECT_TRUE(std::any_of(shown.begin(), shown.end(), [](int v) { return v > 0 && v < 1000; }))
        << stages.toStdString();
    EXPECT_GT(shown.size(), 5u) << stages.toStdString();
    EXPECT_TRUE(std::is_sorted(shown.begin(), shown.end())) << stages.toStdString();
    EXPECT_TRUE(stages.contains(QStringLiteral("case 1 of 1"))) << stages.toStdString();
    ASSERT_TRUE(cancelled) << "the cancelled export did not end";
    EXPECT_FALSE(*cancelled) << "Cancel at " << cancelledAt.toStdString() << " did not stop it";
    EXPECT_FALSE(cancelledAt.isEmpty()) << "Cancel was never clicked";
    EXPECT_TRUE(cancelMessage.contains(QStringLiteral("cancelled"))) << cancelMessage.toStdString();
    const std::vector<std::string> held = storeFilesHeld(setting->store);
    EXPECT_TRUE(held.empty()) << "this process holds store files: " << held.front();
    std::ofstream(setting->result) << bundle.toStdString() << ' ' << ::getpid() << '\n';
    std::ofstream(setting->result + ".stages") << stages.toStdString();
}

// The admin, under her own OS account, through the service: Admin > Import from PACS
// (Ctrl+Shift+I), the patient ID typed, Search; of the studies found, the one the store does not
// hold yet checked with the keyboard and retrieved, its bar to the end. The worker queries the
// policy's node with the service's credentials, retrieves and imports: her process holds no store
// file. tests/threat/service_pacs_test.py reads the store and the access log back.
TEST_F(ServiceWorkspace, AdminImportsFromPacsThroughRadmarkd) {
    const auto get = [](const char* name) {
        const char* value = std::getenv(name);
        return std::string(value ? value : "");
    };
    const std::string socket = get("RADMARK_TEST_SERVICE"), user = get("RADMARK_TEST_USER"),
                      password = get("RADMARK_TEST_PASSWORD"),
                      patientId = get("RADMARK_TEST_PATIENT_ID"), store = get("RADMARK_TEST_STORE"),
                      result = get("RADMARK_TEST_RESULT");
    ASSERT_FALSE(socket.empty() || patientId.empty() || result.empty())
        << "run by tests/threat/service_pacs_test.py";
    ServiceWindow ada(gui::ServiceWorkspace::throughService(socket));
    ASSERT_TRUE(ada.logIn(user, password));

    QString nodeName, searched, retrieved, inStore, bar;
    int found = -1, notStored = 0;
    bool searchDone = false, retrieveDone = false, checked = false;
    ada.activate();
    whenModalDialogShows([&](QWidget* shown) {
        auto* dialog = qobject_cast<gui::PacsImportDialog*>(shown);
        ASSERT_NE(dialog, nullptr) << "not the PACS dialog";
        RejectIfOpen closer{dialog};
        QSignalSpy searchSpy(dialog, &gui::PacsImportDialog::searchFinished);
        QSignalSpy retrieveSpy(dialog, &gui::PacsImportDialog::retrieveFinished);
        nodeName = child<QComboBox>(dialog, "pacsNode")->currentText();
        retype(child<QLineEdit>(dialog, "patientId"), QString::fromStdString(patientId));
        click(child<QPushButton>(dialog, "searchButton"));
        for (int i = 0; i < 1200 && searchSpy.isEmpty(); ++i)
            QTest::qWait(50);
        searchDone = !searchSpy.isEmpty();
        searched = child<QLabel>(dialog, "pacsStatus")->text();
        QTreeWidget* tree = dialog->results();
        found = tree->topLevelItemCount();
        QTreeWidgetItem* wanted = nullptr;
        for (int i = 0; i < found; ++i)
            if (tree->topLevelItem(i)->text(7) == QStringLiteral("no")) {
                ++notStored;
                wanted = tree->topLevelItem(i);
            }
        if (!wanted)
            return;
        // Checked as a person does without a mouse: the row made current, Space.
        tree->setFocus();
        tree->setCurrentItem(wanted);
        QTest::keyClick(tree->viewport(), Qt::Key_Space);
        checked = wanted->checkState(0) == Qt::Checked;
        click(child<QPushButton>(dialog, "retrieveButton"));
        for (int i = 0; i < 2400 && retrieveSpy.isEmpty(); ++i)
            QTest::qWait(50);
        retrieveDone = !retrieveSpy.isEmpty();
        QTest::qWait(100); // the bars' last queued updates
        retrieved = child<QLabel>(dialog, "pacsStatus")->text();
        inStore = wanted->text(7);
        if (auto* progress = qobject_cast<QProgressBar*>(tree->itemWidget(wanted, 8)))
            bar = QString::number(progress->value());
        click(dialog->findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Close));
    });
    QTest::keyClick(ada.axial(), Qt::Key_I, Qt::ControlModifier | Qt::ShiftModifier);
    EXPECT_FALSE(nodeName.isEmpty()) << "the policy's node was not offered";
    ASSERT_TRUE(searchDone) << "the search did not finish";
    EXPECT_EQ(found, 2) << searched.toStdString();
    EXPECT_EQ(notStored, 1) << "one study is in the store already";
    ASSERT_TRUE(checked) << "Space did not check the study";
    ASSERT_TRUE(retrieveDone) << "the retrieve did not finish";
    EXPECT_TRUE(retrieved.startsWith(QStringLiteral("1 stored or already in store, 0 not")))
        << retrieved.toStdString();
    EXPECT_TRUE(inStore.startsWith(QStringLiteral("imported RM"))) << inStore.toStdString();
    EXPECT_EQ(bar, QStringLiteral("1000"));
    const std::vector<std::string> held = storeFilesHeld(store);
    EXPECT_TRUE(held.empty()) << "this process holds store files: " << held.front();
    std::ofstream(result) << inStore.toStdString() << '\n' << ::getpid() << '\n';
}

} // namespace
} // namespace radmark::testing
