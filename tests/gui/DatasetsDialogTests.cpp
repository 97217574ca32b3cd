// Admin > Datasets and Admin > Export dataset as the admin works them, under Xvfb with real
// keys and clicks, on a store of five generated CT studies of four patients (two studies share
// one), four annotated with a coded liver segment and approved, the fifth only submitted.
// Datasets (Ctrl+Shift+B): a new dataset typed; studies picked with their latest approved
// version, the fifth "none approved" and refused by name until its version is chosen, then
// marked UNAPPROVED; a split by patient from a typed seed; the protocol from the file dialog
// (version and hash shown); the fifth case's uncoded segment listed under it as a conflict that
// refuses the freeze, until its name is mapped to a typed code; freeze, and again unchanged.
// Export (Export... in the dialog, Ctrl+Shift+E): only the policy's destinations, the refused
// one greyed with its reason; the bar moves, the summary names the bundle, which
// `radmark-cli bundle verify` passes; Cancel mid-way leaves no bundle and no partial; an age
// recipients file picked in the file dialog gives one .tar.age that `age -d` opens; the history
// lists every export with its versions; an exported test case never moves to train (the
// refusal shown as its message); a loopback SMB3 share's password is typed into a password
// dialog. An annotator sees no Admin menu and the keys open nothing.

#include "DialogDriving.h"
#include "StoreWorkspaceFixture.h"

#include "annotation/Segment.h"
#include "app/gui/DatasetsDialog.h"
#include "app/gui/ExportDialog.h"
#include "delivery/loopback/LoopbackSamba.h"
#include "storage/AuditTrail.h"
#include "storage/Datasets.h"
#include "storage/StoredStudy.h"
#include "workflow/DatasetExport.h"
#include "workflow/Datasets.h"
#include "workflow/Review.h"
#include "workflow/StoredAnnotations.h"

#include <QCheckBox>
#include <QClipboard>
#include <QComboBox>
#include <QCryptographicHash>
#include <QDialogButtonBox>
#include <QFile>
#include <QFileDialog>
#include <QInputDialog>
#include <QLabel>
#include <QMenu>
#include <QMenuBar>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardItemModel>
#include <QTabBar>
#include <QTabWidget>
#include <QTableWidget>
#include <QTreeWidget>

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

using namespace radmark;
using namespace radmark::storage::testing;
using namespace radmark::testing;

namespace {

const std::string reviewerName = "rita-reviewer";

struct DatasetStore {
    std::filesystem::path dir;
    std::vector<std::string> approved; // pseudonyms of the four approved studies
    std::string unapproved;            // the study whose only version is submitted
    std::int64_t unapprovedVersion = 0;
};

// Five generated CTs (24x24x6), patients MRN-1 (two studies), MRN-2, MRN-3, MRN-4; the annotator
// saves a liver (SCT 10200004) on each (the fifth also a "Lesion" without a code) and submits
// it; the reviewer approves the first four.
DatasetStore makeDatasetStore(const std::filesystem::path& root) {
    DatasetStore out;
    out.dir = root / "store";
    storage::Store::initialise(out.dir, adminName, adminPassword, lowCostPolicy());
    storage::Store store(out.dir, lowCostPolicy());
    std::vector<std::filesystem::path> series;
    const char* patients[] = {"MRN-1000001", "MRN-1000001", "MRN-2000002", "MRN-3000003",
                              "MRN-4000004"};
    for (int i = 0; i < 5; ++i) {
        const std::filesystem::path folder = root / ("ct" + std::to_string(i));
        const std::string generate = "/usr/bin/python3 " RADMARK_CT_GENERATOR " --out '" +
                                     folder.string() + "' --slices 6 --rows 24 --cols 24 --seed " +
                                     std::to_string(21 + i) + " > /dev/null";
        EXPECT_EQ(std::system(generate.c_str()), 0) << "the CT generator failed";
        const std::string patient =
            "/usr/bin/python3 -c \"import glob, pydicom\nfor f in glob.glob('" + folder.string() +
            "/*.dcm'):\n    d = pydicom.dcmread(f); d.PatientID = '" + patients[i] +
            "'; d.save_as(f)\"";
        EXPECT_EQ(std::system(patient.c_str()), 0) << "setting the patient failed";
        series.push_back(folder);
    }
    std::vector<std::int64_t> studies;
    {
        auto admin = store.login(adminName, adminPassword);
        storage::Users(admin).add(annotatorName, storage::Role::Annotator, userPassword);
        storage::Users(admin).add(reviewerName, storage::Role::Reviewer, userPassword);
        for (const storage::StudyImportResult& r : storage::importStudies(admin, series)) {
            EXPECT_EQ(r.status, storage::ImportStatus::Imported) << r.reason;
            studies.push_back(r.studyId);
            storage::Studies(admin).assign(annotatorName, r.studyId);
        }
    }
    for (const auto& folder : series)
        std::filesystem::remove_all(folder);
    EXPECT_EQ(studies.size(), 5u);
    std::vector<std::int64_t> versions;
    {
        auto annie = store.login(annotatorName, userPassword);
        for (const std::int64_t study : studies) {
            const imaging::Geometry grid = storage::loadStoredVolume(annie, study).geometry();
            workflow::StoredAnnotationHistory history(annie, study);
            annotation::SegmentList segments;
            annotation::Terminology::bundled().addSegment(segments, "10200004"); // Liver, 1
            annotation::LabelMap labels(grid);
            for (int z = 1; z < 5; ++z)
                for (int y = 8; y < 16; ++y)
                    for (int x = 6; x < 14; ++x)
                        labels.set(annotation::Index3{x, y, z}, 1);
            if (study == studies.back()) { // and a lesion without a code
                segments.add("Lesion", annotation::Rgb{200, 0, 0});
                labels.set(annotation::Index3{9, 10, 2}, 2);
            }
            const annotation::Version saved = history.save(labels, segments, {}, "liver", {});
            std::int64_t id = 0;
            for (std::size_t i = 0; i < history.stored().ids.size(); ++i)
                if (history.stored().ids[i] == saved.id)
                    id = history.stored().records[i].id;
            EXPECT_NE(id, 0);
            workflow::submitForReview(annie, id);
            versions.push_back(id);
        }
    }
    {
        auto rita = store.login(reviewerName, userPassword);
        for (int i = 0; i < 4; ++i) {
            workflow::ReviewSession review(rita, studies[std::size_t(i)]);
            review.decide(versions[std::size_t(i)], storage::Decision::Approve, "good");
        }
    }
    auto admin = store.login(adminName, adminPassword);
    for (const storage::Study& s : storage::Studies(admin).list()) {
        if (s.id == studies[4])
            out.unapproved = s.label;
        else
            out.approved.push_back(s.label);
    }
    out.unapprovedVersion = versions[4];
    return out;
}

// With RADMARK_SCREENSHOT_DIR set, the dialog as it is now goes there (to look at).
void keepScreenshot(QWidget* dialog, const QString& name) {
    if (const char* folder = std::getenv("RADMARK_SCREENSHOT_DIR")) {
        QApplication::processEvents();
        dialog->grab().save(QString::fromLocal8Bit(folder) + QLatin1Char('/') + name + ".png");
    }
}

// Clicks a row of a table (Ctrl held adds it to the selection).
void clickRow(QTableWidget* table, int row, Qt::KeyboardModifiers modifiers = Qt::NoModifier) {
    QTableWidgetItem* item = table->item(row, 0);
    ASSERT_NE(item, nullptr);
    table->scrollToItem(item);
    QTest::mouseClick(table->viewport(), Qt::LeftButton, modifiers,
                      table->visualItemRect(item).center());
}

int rowOf(QTableWidget* table, const std::string& text) {
    for (int row = 0; row < table->rowCount(); ++row)
        if (table->item(row, 0) && table->item(row, 0)->text().toStdString() == text)
            return row;
    return -1;
}

// Picks the rows of these studies in the study picker (Ctrl+click), optionally a version in
// its combo (Down presses from "latest approved"), reads what the picker shows, presses Add.
void answerStudyPicker(std::vector<std::string> studies, int versionDowns,
                       std::map<std::string, QString>* approvedColumn = nullptr) {
    whenModalDialogShows([=](QWidget* shown) {
        auto* picker = qobject_cast<QDialog*>(shown);
        RejectIfOpen guard{picker};
        ASSERT_EQ(picker->objectName(), QStringLiteral("studyPickerDialog"));
        auto* table = child<QTableWidget>(picker, "studyPickerTable");
        ASSERT_NE(table, nullptr);
        if (approvedColumn)
            for (int row = 0; row < table->rowCount(); ++row)
                (*approvedColumn)[table->item(row, 0)->text().toStdString()] =
                    table->item(row, 4)->text();
        bool first = true;
        for (const std::string& s : studies) {
            const int row = rowOf(table, s);
            ASSERT_GE(row, 0) << s << " is not offered";
            clickRow(table, row, first ? Qt::NoModifier : Qt::ControlModifier);
            first = false;
        }
        auto* version = child<QComboBox>(picker, "pickerVersion");
        ASSERT_NE(version, nullptr);
        for (int i = 0; i < versionDowns; ++i) {
            version->setFocus();
            QTest::keyClick(version, Qt::Key_Down);
        }
        click(child<QPushButton>(picker, "addPickedButton"));
    });
}

class DatasetsDialogTest : public GuiTest {};

TEST_F(DatasetsDialogTest, AdminBuildsADatasetWithKeysClicksAndTheFileDialog) {
    TempDir dir;
    const DatasetStore data = makeDatasetStore(dir.path());
    const std::filesystem::path protocol = dir.path() / "liver-guideline.md";
    std::ofstream(protocol) << "# Liver guideline\n\nOutline the liver on every slice.\n";
    QFile protocolFile(QString::fromStdString(protocol.string()));
    ASSERT_TRUE(protocolFile.open(QIODevice::ReadOnly));
    const QString protocolHash = QString::fromLatin1(
        QCryptographicHash::hash(protocolFile.readAll(), QCryptographicHash::Sha256).toHex());

    StoreWindow ada(data.dir);
    ASSERT_TRUE(ada.logIn(adminName, adminPassword));
    ASSERT_TRUE(ada.workspace->adminMenu()->menuAction()->isVisible());
    ada.activate();

    bool reached = false;
    std::map<std::string, QString> offered;
    QImage screenshot;
    whenModalDialogShows([&](QWidget* shown) {
        auto* dialog = qobject_cast<gui::DatasetsDialog*>(shown);
        ASSERT_NE(dialog, nullptr) << "Ctrl+Shift+B opened no Datasets dialog";
        RejectIfOpen guard{dialog};
        EXPECT_EQ(dialog->datasetsTable()->rowCount(), 0);

        // A dataset, typed: the number is assigned from 500.
        QTest::keyClicks(child<QLineEdit>(dialog, "newDatasetName"), QStringLiteral("Liver"));
        QTest::keyClicks(child<QLineEdit>(dialog, "newDatasetPurpose"),
                         QStringLiteral("liver segmentation model"));
        click(child<QPushButton>(dialog, "createDatasetButton"));
        ASSERT_EQ(dialog->datasetsTable()->rowCount(), 1)
            << dialog->message()->text().toStdString();
        EXPECT_EQ(dialog->datasetsTable()->item(0, 0)->text(), QStringLiteral("Liver"));
        EXPECT_EQ(dialog->datasetsTable()->item(0, 1)->text(), QStringLiteral("500"));
        EXPECT_EQ(dialog->currentDataset(), QStringLiteral("Liver"));
        EXPECT_TRUE(dialog->message()->text().contains(QStringLiteral("Dataset500_Liver")));
        EXPECT_EQ(child<QLineEdit>(dialog, "datasetPurpose")->text(),
                  QStringLiteral("liver segmentation model"));
        // A second one with the same name is refused with storage's sentence.
        QTest::keyClicks(child<QLineEdit>(dialog, "newDatasetName"), QStringLiteral("liver"));
        click(child<QPushButton>(dialog, "createDatasetButton"));
        EXPECT_EQ(dialog->datasetsTable()->rowCount(), 1);
        EXPECT_FALSE(dialog->message()->text().isEmpty());
        retype(child<QLineEdit>(dialog, "newDatasetName"), QString());

        // The purpose, edited.
        retype(child<QLineEdit>(dialog, "datasetPurpose"), QStringLiteral("liver model v1"));
        click(child<QPushButton>(dialog, "savePurposeButton"));
        EXPECT_EQ(dialog->message()->text(), QStringLiteral("Purpose saved."));

        // The four approved studies, each with its latest approved version.
        QTabWidget* tabs = dialog->tabs();
        clickTab(tabs, QStringLiteral("Cases"));
        answerStudyPicker(data.approved, 0, &offered);
        click(child<QPushButton>(dialog, "addStudiesButton"));
        QTableWidget* cases = dialog->casesTable();
        ASSERT_EQ(cases->rowCount(), 4) << dialog->message()->text().toStdString();
        for (int row = 0; row < 4; ++row) {
            EXPECT_EQ(cases->item(row, 3)->text(), QStringLiteral("approved"));
            EXPECT_EQ(cases->item(row, 4)->text(), QStringLiteral("latest approved"));
        }

        // The fifth has none approved: refused by name; with its version chosen, marked.
        answerStudyPicker({data.unapproved}, 0);
        click(child<QPushButton>(dialog, "addStudiesButton"));
        EXPECT_EQ(cases->rowCount(), 4);
        EXPECT_TRUE(dialog->message()->text().contains(QString::fromStdString(data.unapproved)))
            << dialog->message()->text().toStdString();
        answerStudyPicker({data.unapproved}, 1); // the first version below "latest approved"
        click(child<QPushButton>(dialog, "addStudiesButton"));
        ASSERT_EQ(cases->rowCount(), 5) << dialog->message()->text().toStdString();
        const int row = rowOf(cases, data.unapproved);
        ASSERT_GE(row, 0);
        EXPECT_TRUE(cases->item(row, 3)->text().startsWith(QStringLiteral("UNAPPROVED")))
            << cases->item(row, 3)->text().toStdString();
        EXPECT_EQ(cases->item(row, 4)->text(), QStringLiteral("chosen"));
        EXPECT_TRUE(cases->item(row, 2)->text().startsWith(QString::number(data.unapprovedVersion) +
                                                           QStringLiteral(" · ")));
        EXPECT_TRUE(cases->item(row, 3)->font().bold());
        EXPECT_NE(cases->item(row, 3)->background().color(),
                  cases->item(row == 0 ? 1 : 0, 3)->background().color())
            << "the unapproved case stands out";

        // Splits: a typed seed; the patient with two studies keeps them together.
        clickTab(tabs, QStringLiteral("Splits"));
        retype(child<QSpinBox>(dialog, "splitSeed"), QStringLiteral("7"));
        retype(child<QDoubleSpinBox>(dialog, "splitTrain"), QStringLiteral("0.6"));
        retype(child<QDoubleSpinBox>(dialog, "splitValidation"), QStringLiteral("0.2"));
        retype(child<QDoubleSpinBox>(dialog, "splitTest"), QStringLiteral("0.2"));
        click(child<QPushButton>(dialog, "splitButton"));
        auto* splits = child<QTableWidget>(dialog, "splitCasesTable");
        ASSERT_EQ(splits->rowCount(), 5);
        std::map<QString, std::set<QString>> splitsOfPatient;
        std::map<QString, int> counts;
        for (int r = 0; r < 5; ++r) {
            splitsOfPatient[splits->item(r, 1)->text()].insert(splits->item(r, 2)->text());
            ++counts[splits->item(r, 2)->text()];
        }
        EXPECT_EQ(splitsOfPatient.size(), 4u) << "four patients";
        for (const auto& [patient, in] : splitsOfPatient)
            EXPECT_EQ(in.size(), 1u) << patient.toStdString() << " is in two splits";
        EXPECT_EQ(counts[QStringLiteral("train")] + counts[QStringLiteral("validation")] +
                      counts[QStringLiteral("test")],
                  5);
        EXPECT_GE(counts[QStringLiteral("train")], 1);
        keepScreenshot(dialog, QStringLiteral("datasets-splits"));
        EXPECT_TRUE(dialog->message()->text().startsWith(QStringLiteral("Split with seed 7")))
            << dialog->message()->text().toStdString();
        // Fractions that do not sum to 1 are refused with storage's sentence; the fields keep
        // what was typed.
        retype(child<QDoubleSpinBox>(dialog, "splitTrain"), QStringLiteral("0.9"));
        click(child<QPushButton>(dialog, "splitButton"));
        EXPECT_TRUE(dialog->message()->text().contains(QStringLiteral("sum")))
            << dialog->message()->text().toStdString();
        EXPECT_DOUBLE_EQ(child<QDoubleSpinBox>(dialog, "splitTrain")->value(), 0.9);
        retype(child<QDoubleSpinBox>(dialog, "splitTrain"), QStringLiteral("0.6"));

        // Freezing without a protocol is refused.
        clickTab(tabs, QStringLiteral("Revisions"));
        click(child<QPushButton>(dialog, "freezeButton"));
        EXPECT_TRUE(dialog->message()->text().contains(QStringLiteral("protocol")))
            << dialog->message()->text().toStdString();
        EXPECT_EQ(child<QTableWidget>(dialog, "revisionsTable")->rowCount(), 0);

        // The protocol, picked in the file dialog by typing its path.
        clickTab(tabs, QStringLiteral("Protocol"));
        whenModalDialogShows([&](QWidget* files) {
            auto* fileDialog = qobject_cast<QFileDialog*>(files);
            RejectIfOpen fileGuard{fileDialog};
            ASSERT_NE(fileDialog, nullptr) << "no file dialog";
            auto* name = fileDialog->findChild<QLineEdit*>(QStringLiteral("fileNameEdit"));
            ASSERT_NE(name, nullptr);
            QTest::keyClicks(name, QString::fromStdString(protocol.string()));
            QTest::keyClick(name, Qt::Key_Return);
        });
        click(child<QPushButton>(dialog, "setProtocolButton"));
        const QString protocolText = child<QLabel>(dialog, "protocolText")->text();
        EXPECT_TRUE(protocolText.startsWith(QStringLiteral("Version 1: liver-guideline.md")))
            << protocolText.toStdString();
        EXPECT_TRUE(protocolText.contains(protocolHash.left(12))) << protocolText.toStdString();
        EXPECT_EQ(child<QTableWidget>(dialog, "protocolsTable")->rowCount(), 1);
        keepScreenshot(dialog, QStringLiteral("datasets-protocol"));

        // The label table: the fifth case's lesion has no code, a conflict listed under that
        // case, and freezing is refused until its name is mapped to a code (typed).
        clickTab(tabs, QStringLiteral("Labels"));
        auto* conflicts = child<QTreeWidget>(dialog, "conflictsTree");
        ASSERT_EQ(conflicts->topLevelItemCount(), 1);
        EXPECT_EQ(conflicts->topLevelItem(0)->text(0).toStdString(), data.unapproved);
        ASSERT_EQ(conflicts->topLevelItem(0)->childCount(), 1);
        EXPECT_TRUE(
            conflicts->topLevelItem(0)->child(0)->text(1).contains(QStringLiteral("Lesion")))
            << conflicts->topLevelItem(0)->child(0)->text(1).toStdString();
        keepScreenshot(dialog, QStringLiteral("datasets-conflicts"));
        clickTab(tabs, QStringLiteral("Revisions"));
        click(child<QPushButton>(dialog, "freezeButton"));
        EXPECT_TRUE(dialog->message()->text().contains(QString::fromStdString(data.unapproved)))
            << dialog->message()->text().toStdString();
        EXPECT_EQ(child<QTableWidget>(dialog, "revisionsTable")->rowCount(), 0);
        clickTab(tabs, QStringLiteral("Labels"));
        QTest::keyClicks(child<QLineEdit>(dialog, "mapSegmentName"), QStringLiteral("Lesion"));
        QTest::keyClicks(child<QLineEdit>(dialog, "mapCode"),
                         QStringLiteral("SCT:108369006:Neoplasm"));
        QTest::keyClicks(child<QLineEdit>(dialog, "mapCategory"),
                         QStringLiteral("SCT:49755003:Morphologically abnormal structure"));
        click(child<QPushButton>(dialog, "mapButton"));
        EXPECT_EQ(conflicts->topLevelItemCount(), 0) << dialog->message()->text().toStdString();
        EXPECT_EQ(child<QTableWidget>(dialog, "mappingsTable")->rowCount(), 1);
        auto* labels = child<QTableWidget>(dialog, "labelsTable");
        ASSERT_EQ(labels->rowCount(), 3);
        std::map<QString, QString> codeOf, markOf;
        for (int r = 1; r < 3; ++r) {
            codeOf[labels->item(r, 1)->text()] = labels->item(r, 2)->text();
            markOf[labels->item(r, 1)->text()] = labels->item(r, 4)->text();
        }
        EXPECT_TRUE(codeOf[QStringLiteral("Liver")].startsWith(QStringLiteral("SCT:10200004")));
        EXPECT_TRUE(codeOf[QStringLiteral("Lesion")].startsWith(QStringLiteral("SCT:108369006")));
        EXPECT_EQ(markOf[QStringLiteral("Lesion")], QStringLiteral("mapped by name"));
        keepScreenshot(dialog, QStringLiteral("datasets-labels"));

        // Freeze: revision 1; again unchanged: the same revision.
        clickTab(tabs, QStringLiteral("Revisions"));
        click(child<QPushButton>(dialog, "freezeButton"));
        auto* revisions = child<QTableWidget>(dialog, "revisionsTable");
        ASSERT_EQ(revisions->rowCount(), 1) << dialog->message()->text().toStdString();
        EXPECT_TRUE(dialog->message()->text().startsWith(QStringLiteral("Revision 1 frozen")))
            << dialog->message()->text().toStdString();
        click(child<QPushButton>(dialog, "freezeButton"));
        EXPECT_EQ(revisions->rowCount(), 1);
        EXPECT_TRUE(dialog->message()->text().startsWith(QStringLiteral("Unchanged: revision 1")));
        EXPECT_EQ(dialog->datasetsTable()->item(0, 3)->text(), QStringLiteral("revision 1"));
        keepScreenshot(dialog, QStringLiteral("datasets-revisions"));

        clickTab(tabs, QStringLiteral("Cases"));
        QApplication::processEvents();
        screenshot = dialog->grab().toImage();
        reached = true;
        dialog->accept();
    });
    QTest::keyClick(&ada.window, Qt::Key_B, Qt::ControlModifier | Qt::ShiftModifier);
    ASSERT_TRUE(reached);

    // What the dialog did is in the store, through the same calls as the CLI.
    storage::Session& admin = *ada.workspace->session();
    const workflow::DatasetOverview o = workflow::showDataset(admin, "Liver");
    EXPECT_EQ(o.dataset.summary.purpose, "liver model v1");
    EXPECT_EQ(o.dataset.cases.size(), 5u);
    ASSERT_TRUE(o.dataset.split);
    EXPECT_EQ(o.dataset.split->seed, 7);
    EXPECT_EQ(o.dataset.split->trainPermille, 600);
    ASSERT_TRUE(o.dataset.protocol);
    EXPECT_EQ(QString::fromStdString(o.dataset.protocol->sha256), protocolHash);
    EXPECT_EQ(o.revisions.size(), 1u);
    for (const storage::DatasetCase& c : o.dataset.cases)
        EXPECT_EQ(c.unapproved, c.pseudonym == data.unapproved) << c.pseudonym;

    // The screenshot has real content: text, table lines, the marked row.
    ASSERT_FALSE(screenshot.isNull());
    if (const char* folder = std::getenv("RADMARK_SCREENSHOT_DIR"))
        screenshot.save(QString::fromLocal8Bit(folder) + QStringLiteral("/datasets-cases.png"));
    const PixelStatistics stats = pixelStatistics(screenshot, screenshot.rect());
    EXPECT_GT(stats.distinctLuminances, 40);
    EXPECT_GT(stats.luminanceStdDev, 10);
    int orange = 0; // the unapproved cells' background
    for (int y = 0; y < screenshot.height(); ++y)
        for (int x = 0; x < screenshot.width(); ++x)
            if (screenshot.pixel(x, y) == qRgb(255, 225, 200))
                ++orange;
    EXPECT_GT(orange, 200) << "the unapproved case is marked on screen";
}

TEST_F(DatasetsDialogTest, AnnotatorSeesNoAdminMenuAndTheKeysOpenNothing) {
    TempDir dir;
    makeStoreWithOneStudy(dir.path());
    StoreWindow annie(dir.path());
    ASSERT_TRUE(annie.logIn(annotatorName, userPassword));
    QMenu* admin = annie.workspace->adminMenu();
    EXPECT_FALSE(admin->menuAction()->isVisible());
    for (QAction* action : annie.window.menuBar()->actions())
        if (action->isVisible()) {
            EXPECT_NE(action->text().remove(QLatin1Char('&')), QStringLiteral("Admin"));
        }
    for (QAction* action : admin->actions())
        EXPECT_FALSE(action->isEnabled()) << action->text().toStdString();
    annie.activate();
    bool opened = false;
    QTimer::singleShot(300, [&opened] {
        if (QWidget* modal = QApplication::activeModalWidget()) {
            opened = true;
            modal->close();
        }
    });
    QTest::keyClick(&annie.window, Qt::Key_B, Qt::ControlModifier | Qt::ShiftModifier);
    QTest::keyClick(&annie.window, Qt::Key_E, Qt::ControlModifier | Qt::ShiftModifier);
    QTest::qWait(500);
    EXPECT_FALSE(opened) << "Ctrl+Shift+B or Ctrl+Shift+E opened a dialog for an annotator";
}

// The policy of the export tests: a plain local folder allowed explicitly, and a folder that is
// no encrypted network mount (refused).
storage::Policy exportPolicy(const std::filesystem::path& root) {
    storage::Policy policy = lowCostPolicy();
    policy.exportAllowList.clear();
    std::filesystem::create_directories(root / "exports");
    std::filesystem::create_directories(root / "not-a-mount");
    storage::ExportDestination local;
    local.name = "local";
    local.folder = root / "exports";
    local.local = true;
    storage::ExportDestination plain;
    plain.name = "not-a-mount";
    plain.folder = root / "not-a-mount";
    policy.exportDestinations = {local, plain};
    return policy;
}

std::vector<std::string> entriesOf(const std::filesystem::path& folder) {
    std::vector<std::string> out;
    for (const auto& entry : std::filesystem::directory_iterator(folder))
        out.push_back(entry.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

// The dataset "Liver" of the store's approved studies, with a protocol and a seeded split, as
// the CLI (and the first test, through the dialog) builds it.
void makeLiverDataset(const std::filesystem::path& dir, const DatasetStore& data) {
    const std::filesystem::path protocol = dir / "guide.md";
    std::ofstream(protocol) << "# Liver guideline\n";
    auto admin = storage::Store(data.dir, lowCostPolicy()).login(adminName, adminPassword);
    workflow::createDataset(admin, "Liver", std::nullopt, "liver model");
    workflow::addStudies(admin, "Liver", data.approved);
    workflow::setProtocol(admin, "Liver", protocol);
    workflow::splitDataset(admin, "Liver", storage::splitSettings(7, 0.6, 0.2, 0.2));
}

// A policy whose one destination is the loopback share's "exports" folder, naming only its user
// (the password is asked).
storage::Policy shareOnlyPolicy(const delivery::LoopbackSamba& samba) {
    storage::Policy policy = lowCostPolicy();
    policy.exportAllowList.clear();
    storage::ExportDestination share;
    share.name = "share";
    share.smbUrl = samba.url("exports");
    share.smbUser = samba.user();
    policy.exportDestinations = {share};
    return policy;
}

// Waits (the event loop running) until the dialog's export is done; its outcome.
std::optional<bool> waitForExport(gui::ExportDialog* dialog) {
    QSignalSpy finished(dialog, &gui::ExportDialog::exportFinished);
    for (int i = 0; i < 2400 && finished.isEmpty(); ++i)
        QTest::qWait(50);
    if (finished.isEmpty())
        return std::nullopt;
    return finished.front().front().toBool();
}

class ExportDialogTest : public GuiTest {};

TEST_F(ExportDialogTest, ExportsToThePolicysFolderCancelsMidwayAndEncryptsWithAge) {
    TempDir dir;
    const DatasetStore data = makeDatasetStore(dir.path());
    const std::filesystem::path exports = dir.path() / "exports";
    makeLiverDataset(dir.path(), data);

    StoreWindow ada(data.dir, exportPolicy(dir.path()));
    ASSERT_TRUE(ada.logIn(adminName, adminPassword));
    ada.activate();
    std::vector<int> shown; // the bar's values, as the window showed them
    QString stages;
    QString summary, bundle, cancelMessage, clipboard, refusedText;
    bool refusedEnabled = true, reached = false, historyChecked = false;
    QImage screenshot;
    std::vector<std::string> afterCancel;
    bool partialAtCancel = false; // the first case was written when Cancel was clicked
    QString encryptedBundle, encryptedSummary;
    const std::filesystem::path ageKey = dir.path() / "age.key";
    const std::filesystem::path recipients = dir.path() / "recipients.txt";
    ASSERT_EQ(
        std::system(("age-keygen -o '" + ageKey.string() + "' 2> /dev/null && age-keygen -y '" +
                     ageKey.string() + "' > '" + recipients.string() + "'")
                        .c_str()),
        0);
    QString splitRefusal;

    whenModalDialogShows([&](QWidget* shownDialog) {
        auto* datasets = qobject_cast<gui::DatasetsDialog*>(shownDialog);
        ASSERT_NE(datasets, nullptr);
        RejectIfOpen guard{datasets};
        clickTab(datasets->tabs(), QStringLiteral("Exports"));
        // Export... opens the export dialog for this dataset.
        whenModalDialogShows([&](QWidget* exportShown) {
            auto* dialog = qobject_cast<gui::ExportDialog*>(exportShown);
            ASSERT_NE(dialog, nullptr) << "Export... opened no export dialog";
            RejectIfOpen exportGuard{dialog};
            EXPECT_EQ(dialog->datasetChoice()->currentText(), QStringLiteral("Liver"));
            // Only the policy's destinations, nothing to type; the refused one greyed out with
            // its reason.
            QComboBox* destination = dialog->destinationChoice();
            EXPECT_FALSE(destination->isEditable());
            ASSERT_EQ(destination->count(), 2);
            EXPECT_EQ(destination->currentData().toString(), QStringLiteral("local"));
            auto* model = qobject_cast<QStandardItemModel*>(destination->model());
            ASSERT_NE(model, nullptr);
            refusedText = destination->itemText(1);
            refusedEnabled = model->item(1)->isEnabled();
            // The keyboard cannot pick it either.
            destination->setFocus();
            QTest::keyClick(destination, Qt::Key_Down);
            EXPECT_EQ(destination->currentData().toString(), QStringLiteral("local"));
            EXPECT_TRUE(child<QLabel>(dialog, "destinationReason")
                            ->text()
                            .startsWith(QStringLiteral("Allowed")));

            // Formats: no boxes (there are none); nnU-Net and DICOM SEG.
            auto* boxes = child<QCheckBox>(dialog, "formatBoxes");
            QTest::mouseClick(boxes, Qt::LeftButton, Qt::NoModifier,
                              QPoint(8, boxes->height() / 2)); // on its box
            EXPECT_FALSE(boxes->isChecked());

            QMetaObject::Connection watch = QObject::connect(
                dialog, &gui::ExportDialog::progressShown, [&](int permille, const QString& stage) {
                    shown.push_back(permille);
                    stages += QString::number(permille) + QLatin1Char(' ') + stage + '\n';
                });
            click(child<QPushButton>(dialog, "startExportButton"));
            EXPECT_TRUE(dialog->isExporting());
            EXPECT_FALSE(child<QPushButton>(dialog, "startExportButton")->isEnabled());
            const std::optional<bool> done = waitForExport(dialog);
            QObject::disconnect(watch);
            ASSERT_TRUE(done) << "the export did not finish";
            ASSERT_TRUE(*done) << dialog->message()->text().toStdString();
            EXPECT_EQ(dialog->progressBar()->value(), 1000);
            summary = dialog->summary()->toPlainText();
            bundle = dialog->bundleId();
            click(child<QPushButton>(dialog, "copySummaryButton"));
            clipboard = QApplication::clipboard()->text();
            screenshot = dialog->grab().toImage();
            keepScreenshot(dialog, QStringLiteral("export-summary"));

            // Again, cancelled mid-way by the Cancel button once the second case is on screen.
            QMetaObject::Connection cancelAt = QObject::connect(
                dialog, &gui::ExportDialog::progressShown, [&, dialog](int, const QString& stage) {
                    if (!stage.startsWith(QStringLiteral("case 2 of")) || partialAtCancel)
                        return;
                    for (const std::string& entry : entriesOf(exports))
                        partialAtCancel = partialAtCancel || entry.rfind(".partial-", 0) == 0;
                    QTest::mouseClick(
                        dialog->findChild<QPushButton*>(QStringLiteral("cancelExportButton")),
                        Qt::LeftButton);
                });
            click(child<QPushButton>(dialog, "startExportButton"));
            const std::optional<bool> cancelled = waitForExport(dialog);
            QObject::disconnect(cancelAt);
            ASSERT_TRUE(cancelled);
            EXPECT_FALSE(*cancelled);
            cancelMessage = dialog->message()->text();
            afterCancel = entriesOf(exports);
            keepScreenshot(dialog, QStringLiteral("export-cancelled"));

            // Encrypted to the age recipients of a file picked in the file dialog.
            whenModalDialogShows([&](QWidget* files) {
                auto* fileDialog = qobject_cast<QFileDialog*>(files);
                RejectIfOpen fileGuard{fileDialog};
                ASSERT_NE(fileDialog, nullptr) << "no file dialog";
                auto* name = fileDialog->findChild<QLineEdit*>(QStringLiteral("fileNameEdit"));
                ASSERT_NE(name, nullptr);
                QTest::keyClicks(name, QString::fromStdString(recipients.string()));
                QTest::keyClick(name, Qt::Key_Return);
            });
            click(child<QPushButton>(dialog, "chooseRecipientsButton"));
            EXPECT_EQ(child<QLineEdit>(dialog, "ageRecipientsFile")->text().toStdString(),
                      recipients.string());
            click(child<QPushButton>(dialog, "startExportButton"));
            const std::optional<bool> encrypted = waitForExport(dialog);
            ASSERT_TRUE(encrypted && *encrypted) << dialog->message()->text().toStdString();
            encryptedBundle = dialog->bundleId();
            encryptedSummary = dialog->summary()->toPlainText();
            click(dialog->findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Close));
        });
        click(child<QPushButton>(datasets, "exportButton"));

        // The history: the completed export with each case's version, and the cancelled one.
        auto* history = child<QTreeWidget>(datasets, "exportsTree");
        ASSERT_EQ(history->topLevelItemCount(), 3);
        QTreeWidgetItem* completed = history->topLevelItem(2); // newest first
        EXPECT_EQ(completed->text(2), QStringLiteral("completed"));
        EXPECT_EQ(completed->text(3), QStringLiteral("local"));
        EXPECT_EQ(completed->text(4), bundle);
        EXPECT_EQ(completed->childCount(), 4) << "one row per case: which version was exported";
        EXPECT_EQ(history->topLevelItem(1)->text(2), QStringLiteral("refused"));
        EXPECT_TRUE(history->topLevelItem(1)->text(8).contains(QStringLiteral("cancel")));
        EXPECT_EQ(history->topLevelItem(0)->text(4), encryptedBundle);
        historyChecked = true;
        keepScreenshot(datasets, QStringLiteral("datasets-exports"));

        // The exported test case never moves to train: the refusal is shown as its message.
        clickTab(datasets->tabs(), QStringLiteral("Splits"));
        retype(child<QDoubleSpinBox>(datasets, "splitTrain"), QStringLiteral("1"));
        retype(child<QDoubleSpinBox>(datasets, "splitValidation"), QStringLiteral("0"));
        retype(child<QDoubleSpinBox>(datasets, "splitTest"), QStringLiteral("0"));
        click(child<QPushButton>(datasets, "splitButton"));
        splitRefusal = datasets->message()->text();
        reached = true;
        datasets->accept();
    });
    QTest::keyClick(&ada.window, Qt::Key_B, Qt::ControlModifier | Qt::ShiftModifier);
    ASSERT_TRUE(reached);
    EXPECT_TRUE(historyChecked);

    EXPECT_FALSE(refusedEnabled) << "the refused destination can be chosen";
    EXPECT_TRUE(refusedText.contains(QStringLiteral("not-a-mount")));
    EXPECT_TRUE(refusedText.contains(QStringLiteral("not an encrypted network mount")))
        << refusedText.toStdString();
    ASSERT_FALSE(bundle.isEmpty()) << summary.toStdString();
    EXPECT_TRUE(summary.startsWith(QStringLiteral("Bundle: ") + bundle)) << summary.toStdString();
    EXPECT_TRUE(summary.contains(QStringLiteral("Cases: 4")));
    EXPECT_TRUE(summary.contains(QStringLiteral("Revision: 1 (new), sha256 ")));
    EXPECT_TRUE(summary.contains(QStringLiteral("Manifest sha256: ")));
    EXPECT_EQ(clipboard, summary);
    // The bar moved: many steps on the way, in order, to the end.
    EXPECT_GT(shown.size(), 10u);
    EXPECT_TRUE(std::is_sorted(shown.begin(), shown.end())) << stages.toStdString();
    EXPECT_GE(shown.back(), 950);
    // The cancelled run left nothing that looks complete, nor a partial folder.
    EXPECT_TRUE(cancelMessage.contains(QStringLiteral("cancelled"))) << cancelMessage.toStdString();
    EXPECT_TRUE(partialAtCancel) << "Cancel came before anything was written";
    EXPECT_EQ(afterCancel, std::vector<std::string>{bundle.toStdString()});
    EXPECT_TRUE(splitRefusal.contains(QStringLiteral("never moves to train")))
        << splitRefusal.toStdString();
    EXPECT_TRUE(std::filesystem::is_empty(dir.path() / "not-a-mount"));

    // The bundle verifies without the store, against the workstation's public key.
    const std::filesystem::path key = dir.path() / "workstation.pub";
    std::ofstream(key) << workflow::workstationPublicKey(*ada.workspace->session());
    const std::filesystem::path out = dir.path() / "verify.out";
    const std::string verify = "'" RADMARK_CLI "' bundle verify '" +
                               (exports / bundle.toStdString()).string() + "' --public-key '" +
                               key.string() + "' > '" + out.string() + "' 2>&1";
    const int status = std::system(verify.c_str());
    std::stringstream printed;
    printed << std::ifstream(out).rdbuf();
    EXPECT_EQ(status, 0) << printed.str();
    EXPECT_NE(printed.str().find("Liver"), std::string::npos) << printed.str();

    // The encrypted one: one age file that `age -d` opens into a bundle that verifies.
    ASSERT_FALSE(encryptedBundle.isEmpty());
    EXPECT_TRUE(encryptedSummary.contains(QStringLiteral("age-encrypted")))
        << encryptedSummary.toStdString();
    const std::filesystem::path sealed = exports / encryptedBundle.toStdString();
    EXPECT_EQ(entriesOf(sealed),
              std::vector<std::string>{encryptedBundle.toStdString() + ".tar.age"});
    const std::filesystem::path opened = dir.path() / "decrypted";
    std::filesystem::create_directories(opened);
    const std::string decrypt =
        "age -d -i '" + ageKey.string() + "' '" +
        (sealed / (encryptedBundle.toStdString() + ".tar.age")).string() + "' | tar -x -C '" +
        opened.string() + "' && '" RADMARK_CLI "' bundle verify '" +
        (opened / encryptedBundle.toStdString()).string() + "' --public-key '" + key.string() +
        "' > '" + out.string() + "' 2>&1";
    const int decrypted = std::system(decrypt.c_str());
    std::stringstream verified;
    verified << std::ifstream(out).rdbuf();
    EXPECT_EQ(decrypted, 0) << verified.str();

    // The screenshot has real content.
    ASSERT_FALSE(screenshot.isNull());
    const PixelStatistics stats = pixelStatistics(screenshot, screenshot.rect());
    EXPECT_GT(stats.distinctLuminances, 40);
    EXPECT_GT(stats.luminanceStdDev, 10);
}

// A share whose policy entry names only the user: the password is asked in a password field on
// the window's thread while the export waits, and the bundle lands on the loopback SMB3 share.
TEST_F(ExportDialogTest, ASharesPasswordIsAskedInThePasswordDialog) {
    TempDir dir;
    const DatasetStore data = makeDatasetStore(dir.path());
    makeLiverDataset(dir.path(), data);
    delivery::LoopbackSamba samba;
    samba.start();
    std::filesystem::create_directories(samba.shareFolder() / "exports");
    const storage::Policy policy = shareOnlyPolicy(samba);

    StoreWindow ada(data.dir, policy);
    ASSERT_TRUE(ada.logIn(adminName, adminPassword));
    ada.activate();
    QString question, summary, bundle;
    bool echoHidden = false;
    whenModalDialogShows([&](QWidget* shown) {
        auto* dialog = qobject_cast<gui::ExportDialog*>(shown);
        ASSERT_NE(dialog, nullptr) << "Ctrl+Shift+E opened no export dialog";
        RejectIfOpen guard{dialog};
        ASSERT_EQ(dialog->destinationChoice()->currentData().toString(), QStringLiteral("share"));
        whenModalDialogShows([&](QWidget* prompt) {
            auto* input = qobject_cast<QInputDialog*>(prompt);
            RejectIfOpen promptGuard{input};
            ASSERT_NE(input, nullptr) << "no password dialog";
            EXPECT_EQ(input->objectName(), QStringLiteral("sharePasswordDialog"));
            question = input->labelText();
            auto* field = input->findChild<QLineEdit*>();
            ASSERT_NE(field, nullptr);
            echoHidden = field->echoMode() == QLineEdit::Password;
            QTest::keyClicks(field, QString::fromStdString(samba.password()));
            QTest::keyClick(field, Qt::Key_Return);
        });
        click(child<QPushButton>(dialog, "startExportButton"));
        const std::optional<bool> done = waitForExport(dialog);
        ASSERT_TRUE(done) << "the export did not finish";
        EXPECT_TRUE(*done) << dialog->message()->text().toStdString();
        summary = dialog->summary()->toPlainText();
        bundle = dialog->bundleId();
        dialog->accept();
    });
    QTest::keyClick(&ada.window, Qt::Key_E, Qt::ControlModifier | Qt::ShiftModifier);
    EXPECT_TRUE(echoHidden) << "the password was shown as it was typed";
    EXPECT_FALSE(question.isEmpty());
    ASSERT_FALSE(bundle.isEmpty()) << summary.toStdString();
    EXPECT_TRUE(summary.contains(QStringLiteral("Location: smb://"))) << summary.toStdString();
    // On the share's disk, and it verifies.
    const std::filesystem::path delivered = samba.shareFolder() / "exports" / bundle.toStdString();
    ASSERT_TRUE(std::filesystem::is_directory(delivered)) << delivered;
    const std::filesystem::path out = dir.path() / "verify.out";
    const std::string verify = "'" RADMARK_CLI "' bundle verify '" + delivered.string() + "' > '" +
                               out.string() + "' 2>&1";
    std::stringstream printed;
    const int status = std::system(verify.c_str());
    printed << std::ifstream(out).rdbuf();
    EXPECT_EQ(status, 0) << printed.str();
}

// The same share with a wrong password typed: the dialog says the share refused it, nothing
// lands on the share (not even a partial folder), the refusal is in the access log, and the same
// dialog then exports with the right password.
TEST_F(ExportDialogTest, AWrongSharePasswordIsRefusedAndNothingReachesTheShare) {
    TempDir dir;
    const DatasetStore data = makeDatasetStore(dir.path());
    makeLiverDataset(dir.path(), data);
    delivery::LoopbackSamba samba;
    samba.start();
    const std::filesystem::path exports = samba.shareFolder() / "exports";
    std::filesystem::create_directories(exports);
    const storage::Policy policy = shareOnlyPolicy(samba);

    StoreWindow ada(data.dir, policy);
    ASSERT_TRUE(ada.logIn(adminName, adminPassword));
    ada.activate();
    QString refusal, bundle;
    std::vector<std::string> afterRefusal;
    whenModalDialogShows([&](QWidget* shown) {
        auto* dialog = qobject_cast<gui::ExportDialog*>(shown);
        ASSERT_NE(dialog, nullptr) << "Ctrl+Shift+E opened no export dialog";
        RejectIfOpen guard{dialog};
        auto typePassword = [&](const std::string& password) {
            whenModalDialogShows([&, password](QWidget* prompt) {
                auto* input = qobject_cast<QInputDialog*>(prompt);
                RejectIfOpen promptGuard{input};
                ASSERT_NE(input, nullptr) << "no password dialog";
                auto* field = input->findChild<QLineEdit*>();
                ASSERT_NE(field, nullptr);
                QTest::keyClicks(field, QString::fromStdString(password));
                QTest::keyClick(field, Qt::Key_Return);
            });
        };
        typePassword("not-" + samba.password());
        click(child<QPushButton>(dialog, "startExportButton"));
        std::optional<bool> done = waitForExport(dialog);
        ASSERT_TRUE(done) << "the refused export did not end";
        EXPECT_FALSE(*done) << "an export with a wrong share password succeeded";
        refusal = dialog->message()->text();
        EXPECT_TRUE(dialog->bundleId().isEmpty());
        afterRefusal = entriesOf(exports);

        typePassword(samba.password());
        click(child<QPushButton>(dialog, "startExportButton"));
        done = waitForExport(dialog);
        ASSERT_TRUE(done) << "the second export did not finish";
        EXPECT_TRUE(*done) << dialog->message()->text().toStdString();
        bundle = dialog->bundleId();
        dialog->accept();
    });
    QTest::keyClick(&ada.window, Qt::Key_E, Qt::ControlModifier | Qt::ShiftModifier);
    EXPECT_TRUE(refusal.contains(QStringLiteral("refused the user name or password")))
        << refusal.toStdString();
    EXPECT_TRUE(afterRefusal.empty()) << "left on the share after the refusal: "
                                      << (afterRefusal.empty() ? "" : afterRefusal.front());
    {
        auto admin = storage::Store(data.dir, policy).login(adminName, adminPassword);
        const auto refused =
            storage::AuditTrail(admin).entries(filterBy(adminName, "dataset export refused"));
        ASSERT_EQ(refused.size(), 1u);
        EXPECT_NE(refused.front().details.find("password"), std::string::npos)
            << refused.front().details;
        const auto verified = storage::AuditTrail(admin).verify(nullptr, nullptr);
        EXPECT_TRUE(verified.ok) << verified.reason;
    }
    ASSERT_FALSE(bundle.isEmpty());
    EXPECT_TRUE(std::filesystem::is_directory(exports / bundle.toStdString()));
    EXPECT_EQ(entriesOf(exports), std::vector<std::string>{bundle.toStdString()});
}

} // namespace
