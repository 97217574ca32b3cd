// The workstation's service mode (app/gui/ServiceWorkspace.h) as an annotator works it: the
// login typed into the dialog, the worklist clicked, the study with its newest version on
// screen, a real mouse stroke, Ctrl+S with a message, the versions panel, a new draft from an
// older version, Ctrl+L.
//
// On the in-process StoreAccess: the screen equals the in-process workstation's (StoreWorkspace),
// pixel for pixel, and what it saves reads back in-process voxel for voxel. Through radmarkd
// under other OS accounts: tests/threat/ServiceWorkstation.sh.

#include "ServiceWindowFixture.h"

#include "app/gui/AgreementDialog.h"
#include "app/gui/CommentsPanel.h"
#include "app/gui/ReviewPanel.h"
#include "app/gui/security/AdminPanel.h"
#include "storage/Annotations.h"
#include "storage/Reviews.h"
#include "storage/Users.h"
#include "viewer/CommentMarkers.h"
#include "viewer/ComparisonViewer.h"
#include "viewer/SliceView.h"
#include "workflow/AgreementReport.h"
#include "workflow/Review.h"
#include "workflow/StoredAnnotations.h"

#include <QAction>
#include <QComboBox>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QMenuBar>
#include <QPlainTextEdit>
#include <QProgressDialog>
#include <QPushButton>
#include <QTreeWidget>

#include <cmath>
#include <set>

namespace radmark::testing {
namespace {

using namespace radmark::storage::testing;

class ServiceWorkspace : public GuiTest {};

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
    // Ctrl+Return: that version goes for review; the panel says so.
    annie.submit();
    {
        auto session =
            storage::Store(dir.path(), lowCostPolicy()).login(annotatorName, userPassword);
        EXPECT_EQ(workflow::StoredAnnotationHistory(session, studyId).reviewState(*second),
                  storage::ReviewState::Submitted);
    }
    EXPECT_FALSE(annie.workspace->versionsPanel()
                     ->table()
                     ->findItems(QStringLiteral("submitted"), Qt::MatchContains)
                     .isEmpty())
        << "the versions panel does not show the submitted state";

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
    annie.activate();
    whenModalDialogShows([&asked](QWidget* dialog) {
        auto* box = qobject_cast<QMessageBox*>(dialog);
        ASSERT_NE(box, nullptr) << "her edits were not asked about";
        asked = box->text();
        // Then the login, once the question has gone.
        answerLoginDialog(QString::fromStdString(annotatorName),
                          QString::fromStdString(userPassword));
        QTest::mouseClick(box->button(QMessageBox::Discard), Qt::LeftButton);
    });
    QTest::keyClick(annie.axial(), Qt::Key_L, Qt::ControlModifier);
    EXPECT_TRUE(asked.contains(QStringLiteral("not saved"))) << asked.toStdString();
    EXPECT_EQ(annie.window.viewer()->volume(), nullptr) << "the images stay after the lock";
    EXPECT_NE(annie.workspace->access(), nullptr) << "she logged in again";
    EXPECT_EQ(annie.versionRows(), 0);
}

// Autosave through StoreAccess: her edits become her draft, the next opening offers it, Recover
// puts it back voxel for voxel and Ctrl+S makes it a version; Discard deletes it.
TEST_F(ServiceWorkspace, DraftIsWrittenOfferedRecoveredAndDiscarded) {
    TempDir dir;
    const std::int64_t studyId = makeStoreWithOneStudy(dir.path());
    const auto draftInStore = [&] {
        auto session =
            storage::Store(dir.path(), lowCostPolicy()).login(annotatorName, userPassword);
        return storage::Annotations(session).draftOf(studyId).has_value();
    };
    std::vector<std::uint8_t> painted;
    {
        ServiceWindow annie(inProcess(dir.path(), lowCostPolicy()));
        ASSERT_TRUE(annie.logIn(annotatorName, userPassword));
        int rows = 0;
        annie.openFromWorklist(&rows);
        ASSERT_NE(annie.window.viewer()->volume(), nullptr);
        EXPECT_FALSE(annie.workspace->autosaveNow()) << "nothing to keep yet";
        annie.paintStroke(0.5);
        painted = labelBytes(annie.window.viewer()->labelEditor()->labels());
        ASSERT_TRUE(annie.workspace->autosaveNow());
        EXPECT_FALSE(annie.workspace->autosaveNow()) << "nothing new since the draft";
        EXPECT_TRUE(
            annie.window.findChild<QLabel*>("draftStatus")->text().startsWith("Draft saved"));
    } // the window goes without a version, as after a crash
    EXPECT_TRUE(draftInStore());
    {
        ServiceWindow annie(inProcess(dir.path(), lowCostPolicy()));
        ASSERT_TRUE(annie.logIn(annotatorName, userPassword));
        int rows = 0;
        annie.openFromWorklist(&rows, QStringLiteral("recoverDraftButton"));
        ASSERT_NE(annie.window.viewer()->volume(), nullptr);
        EXPECT_EQ(labelBytes(annie.window.viewer()->labelEditor()->labels()), painted)
            << "the recovered draft is not what was painted";
        EXPECT_FALSE(annie.workspace->readOnly());
        annie.saveVersion(QStringLiteral("from the draft"));
        EXPECT_EQ(annie.versionRows(), 1);
        EXPECT_FALSE(draftInStore()) << "the save deletes the draft";
        auto session =
            storage::Store(dir.path(), lowCostPolicy()).login(annotatorName, userPassword);
        workflow::StoredAnnotationHistory stored(session, studyId);
        ASSERT_TRUE(stored.newest());
        EXPECT_EQ(labelBytes(stored.openVersion(*stored.newest(), true).labels), painted);

        annie.paintStroke(0.3);
        ASSERT_TRUE(annie.workspace->autosaveNow());
    }
    EXPECT_TRUE(draftInStore());
    {
        ServiceWindow annie(inProcess(dir.path(), lowCostPolicy()));
        ASSERT_TRUE(annie.logIn(annotatorName, userPassword));
        int rows = 0;
        annie.openFromWorklist(&rows, QStringLiteral("decideLaterButton"));
        EXPECT_TRUE(annie.workspace->readOnly()) << "a waiting draft leaves the study read-only";
        EXPECT_TRUE(draftInStore());
        EXPECT_EQ(labelBytes(annie.window.viewer()->labelEditor()->labels()), painted)
            << "the newest version is shown while the draft waits";
    }
    {
        ServiceWindow annie(inProcess(dir.path(), lowCostPolicy()));
        ASSERT_TRUE(annie.logIn(annotatorName, userPassword));
        int rows = 0;
        annie.openFromWorklist(&rows, QStringLiteral("discardDraftButton"));
        EXPECT_FALSE(draftInStore()) << "Discard deletes the draft";
        EXPECT_FALSE(annie.workspace->readOnly());
        EXPECT_EQ(labelBytes(annie.window.viewer()->labelEditor()->labels()), painted);
    }
}

// A reviewer through StoreAccess: her queue tab, the submitted version opened read-only,
// Ctrl+Shift+C with the comment typed: the store records the decision with its metrics against
// the previous version; a second decision is refused in the store's words.
const std::string reviewerName = "rita-reviewer";

// The store with one study and a reviewer, and annie's versions of the study through the
// workstation, a stroke each at these heights, the last one submitted.
std::int64_t storeWithSubmittedStrokes(const std::filesystem::path& dir,
                                       std::initializer_list<double> strokes) {
    const std::int64_t studyId = makeStoreWithOneStudy(dir);
    {
        auto admin = storage::Store(dir, lowCostPolicy()).login(adminName, adminPassword);
        storage::Users(admin).add(reviewerName, storage::Role::Reviewer, userPassword);
    }
    ServiceWindow annie(inProcess(dir, lowCostPolicy()));
    EXPECT_TRUE(annie.logIn(annotatorName, userPassword));
    int rows = 0;
    annie.openFromWorklist(&rows);
    int reviewMenus = 0;
    for (QAction* menu : annie.window.menuBar()->actions()) {
        if (menu->text() == QStringLiteral("&Review")) {
            ++reviewMenus;
            EXPECT_FALSE(menu->isVisible()) << "annotators have no Review menu";
        }
    }
    EXPECT_EQ(reviewMenus, 1);
    int n = 0;
    for (double height : strokes) {
        annie.paintStroke(height);
        annie.saveVersion(QStringLiteral("stroke %1").arg(++n));
    }
    annie.submit();
    return studyId;
}

// Ctrl+Shift+C on the version on screen, the comment typed into the dialog.
void requestChanges(ServiceWindow& reviewer, const QString& comment) {
    reviewer.activate(); // first: activating runs the event loop, where the answer would fire
    answerTextDialog(comment);
    QTest::keyClick(reviewer.axial(), Qt::Key_C, Qt::ControlModifier | Qt::ShiftModifier);
}

TEST_F(ServiceWorkspace, ReviewerDecidesOnTheQueuedVersion) {
    TempDir dir;
    const std::int64_t studyId = storeWithSubmittedStrokes(dir.path(), {0.5, 0.3});
    ServiceWindow rita(inProcess(dir.path(), lowCostPolicy()));
    ASSERT_TRUE(rita.logIn(reviewerName, userPassword));
    int queued = 0;
    rita.openFirstQueueRow(&queued);
    EXPECT_EQ(queued, 1);
    ASSERT_NE(rita.window.viewer()->volume(), nullptr);
    EXPECT_TRUE(rita.workspace->readOnly()) << "a reviewer sees the version read-only";
    const std::optional<annotation::VersionId> onScreen = rita.workspace->versionOnScreen();
    ASSERT_TRUE(onScreen);

    requestChanges(rita, QStringLiteral("the edge is off"));
    {
        auto session =
            storage::Store(dir.path(), lowCostPolicy()).login(reviewerName, userPassword);
        workflow::ReviewSession review(session, studyId);
        const auto& versions = review.versions();
        const auto it =
            std::find_if(versions.begin(), versions.end(),
                         [&](const workflow::ReviewVersion& v) { return v.id == *onScreen; });
        ASSERT_NE(it, versions.end());
        EXPECT_EQ(it->state, storage::ReviewState::ChangesRequested);
        const auto events = review.history(it->annotationId);
        ASSERT_FALSE(events.empty());
    }
    EXPECT_TRUE(rita.workspace->historyView()->toPlainText().contains("the edge is off"))
        << rita.workspace->historyView()->toPlainText().toStdString();
    // A second decision: refused, in the store's words, nothing recorded.
    QString refusal;
    answerMessageBox(QMessageBox::Ok, &refusal);
    EXPECT_FALSE(rita.workspace->decide(storage::Decision::Approve));
    EXPECT_FALSE(refusal.isEmpty());

    // The annotator opens the study: the Review history says why changes were requested.
    ServiceWindow annie(inProcess(dir.path(), lowCostPolicy()));
    ASSERT_TRUE(annie.logIn(annotatorName, userPassword));
    int rows = 0;
    annie.openFromWorklist(&rows);
    const QString history = annie.workspace->historyView()->toPlainText();
    EXPECT_TRUE(history.contains(QString::fromStdString(reviewerName)) &&
                history.contains("the edge is off"))
        << history.toStdString();
}

// A reviewer compares through StoreAccess: the queue row opens the compare view with the
// version under review beside its previous one, the metrics those ReviewSession::compare gives
// in-process; the other side picked with the keyboard in the combo; the decision then records
// the metrics of the comparison on screen (the version under review as the reference), as
// `review decide --compare-with` does.
TEST_F(ServiceWorkspace, ReviewerComparesAndTheDecisionHoldsTheComparisonOnScreen) {
    TempDir dir;
    const std::int64_t studyId = storeWithSubmittedStrokes(dir.path(), {0.5, 0.3, 0.7});
    auto session = storage::Store(dir.path(), lowCostPolicy()).login(reviewerName, userPassword);
    workflow::ReviewSession review(session, studyId);
    const std::vector<workflow::ReviewVersion> versions = review.versions();
    ASSERT_EQ(versions.size(), 3u);
    const std::int64_t first = versions[0].annotationId, second = versions[1].annotationId,
                       third = versions[2].annotationId;

    ServiceWindow rita(inProcess(dir.path(), lowCostPolicy()));
    ASSERT_TRUE(rita.logIn(reviewerName, userPassword));
    int queued = 0;
    rita.openFirstQueueRow(&queued);
    ASSERT_EQ(queued, 1);
    gui::ReviewPanel* panel = rita.workspace->reviewPanel();
    EXPECT_TRUE(panel->isVisible()) << "the queue row opens the compare view";
    ASSERT_EQ(panel->shownVersion(), std::optional(third));
    ASSERT_EQ(panel->comparedVersion(), std::optional(second));
    EXPECT_EQ(panel->metricsJson(),
              annotation::agreementJson(review.compare(third, second).metrics));
    EXPECT_GT(panel->metricsTable()->rowCount(), 0);
    QTest::qWait(300);
    const QImage left = panel->viewer()->view(0)->grabFramebuffer();
    const QImage right = panel->viewer()->view(1)->grabFramebuffer();
    for (const QImage& side : {left, right}) {
        std::set<QRgb> colours;
        for (int y = 0; y < side.height(); y += 4)
            for (int x = 0; x < side.width(); x += 4)
                colours.insert(side.pixel(x, y));
        EXPECT_GT(colours.size(), 50u) << "each side shows the images";
    }
    EXPECT_NE(left, right) << "the third stroke is on the left side only";

    // The other side: the first version, one key up in the combo.
    QComboBox* combo = panel->otherVersionCombo();
    combo->setFocus(Qt::OtherFocusReason);
    QTest::keyClick(combo, Qt::Key_Up);
    ASSERT_EQ(panel->comparedVersion(), std::optional(first));
    EXPECT_EQ(panel->metricsJson(),
              annotation::agreementJson(review.compare(third, first).metrics));

    const std::string onScreen = panel->metricsJson();
    ASSERT_NE(onScreen, annotation::agreementJson(review.compare(third, second).metrics))
        << "the versions differ, so the metrics tell which comparison was recorded";
    ASSERT_NE(onScreen, annotation::agreementJson(review.compare(first, third).metrics))
        << "and which side was the reference";
    requestChanges(rita, QStringLiteral("see the first"));
    const std::optional<storage::ReviewDecisionRecord> decided =
        storage::Reviews(session).decisionOf(third);
    ASSERT_TRUE(decided);
    EXPECT_EQ(decided->metricsJson, onScreen) << "the decision holds the comparison on screen";
    EXPECT_EQ(decided->metricsJson, workflow::decisionMetrics(review, third, first))
        << "as review decide --compare-with records it";
}

// Comments through StoreAccess: the reviewer pins one in the compare view (P, a click on a voxel
// only the version under review has, the text typed), the annotator finds it in her Comments
// panel and its marker in the four-up, jumps to it (Ctrl+Shift+N) and replies with the Reply
// button; the reviewer resolves it. The store has each, read in-process. A reply naming a
// comment of another version, an annotator's agreement report and a comment pinned far outside
// the image are refused (the first two logged).
TEST_F(ServiceWorkspace, ReviewerPinsACommentTheAnnotatorRepliesTheReviewerResolves) {
    TempDir dir;
    const std::int64_t studyId = storeWithSubmittedStrokes(dir.path(), {0.3, 0.7});
    auto session = storage::Store(dir.path(), lowCostPolicy()).login(reviewerName, userPassword);
    workflow::ReviewSession review(session, studyId);
    const std::vector<workflow::ReviewVersion> versions = review.versions();
    ASSERT_EQ(versions.size(), 2u);
    const workflow::ReviewVersion& submitted = versions[1];

    imaging::Vec3 pinned{};
    {
        ServiceWindow rita(inProcess(dir.path(), lowCostPolicy()));
        ASSERT_TRUE(rita.logIn(reviewerName, userPassword));
        int queued = 0;
        rita.openFirstQueueRow(&queued);
        viewer::ComparisonViewer* compare = rita.workspace->reviewPanel()->viewer();
        ASSERT_TRUE(compare->reference().labels && compare->other().labels);
        const annotation::LabelMap& mine = *compare->reference().labels;
        const annotation::LabelMap& previous = *compare->other().labels;
        std::optional<imaging::Vec3> onlyMine;
        const imaging::Geometry& grid = mine.geometry();
        for (int z = 0; z < grid.dims[2] && !onlyMine; ++z)
            for (int y = 0; y < grid.dims[1] && !onlyMine; ++y)
                for (int x = 2; x < grid.dims[0] && !onlyMine; x += 4)
                    if (mine.at({x, y, z}) && !previous.at({x, y, z}))
                        onlyMine = imaging::Vec3{double(x), double(y), double(z)};
        ASSERT_TRUE(onlyMine);
        compare->moveCursorTo(*onlyMine);
        compare->renderAll();
        QApplication::processEvents();
        rita.activate();
        compare->view(0)->setFocus(Qt::OtherFocusReason);
        QTest::keyClick(compare->view(0), Qt::Key_P);
        ASSERT_TRUE(compare->pinMode());
        QString asked;
        answerTextDialog(QStringLiteral("Is this part of the lesion?"), &asked);
        QTest::mouseClick(compare->view(0), Qt::LeftButton, Qt::NoModifier,
                          compare->view(0)->widgetPositionOf(*onlyMine).toPoint());
        EXPECT_TRUE(asked.contains(QStringLiteral("voxel"))) << asked.toStdString();
        gui::CommentsPanel* comments = rita.workspace->commentsPanel();
        ASSERT_EQ(comments->pinned().size(), 1u);
        pinned = *comments->pinned()[0].voxel;
        EXPECT_NEAR(pinned[0], (*onlyMine)[0], 1.0);
        EXPECT_NEAR(pinned[1], (*onlyMine)[1], 1.0);
        EXPECT_EQ(pinned[2], (*onlyMine)[2]);
        EXPECT_EQ(compare->markers().size(), 1u);
        EXPECT_EQ(rita.workspace->commentMarkers()->markers().size(), 1u);
    }
    std::vector<storage::ReviewComment> stored = review.comments(submitted.annotationId);
    ASSERT_EQ(stored.size(), 1u);
    EXPECT_EQ(stored[0].author, reviewerName);
    EXPECT_EQ(stored[0].text, "Is this part of the lesion?");
    const std::int64_t commentId = stored[0].id;

    {
        ServiceWindow annie(inProcess(dir.path(), lowCostPolicy()));
        ASSERT_TRUE(annie.logIn(annotatorName, userPassword));
        int rows = 0;
        annie.openFromWorklist(&rows);
        ASSERT_EQ(annie.workspace->versionOnScreen(), std::optional(submitted.id));
        gui::CommentsPanel* comments = annie.workspace->commentsPanel();
        ASSERT_EQ(comments->pinned().size(), 1u) << "her version's comment";
        EXPECT_EQ(annie.workspace->commentMarkers()->markers().size(), 1u);
        annie.activate();
        const imaging::Vec3 before = annie.window.viewer()->cursor().index();
        QTest::keyClick(annie.axial(), Qt::Key_N, Qt::ControlModifier | Qt::ShiftModifier);
        const imaging::Vec3 cursor = annie.window.viewer()->cursor().index();
        EXPECT_NE(before, pinned);
        for (int i = 0; i < 3; ++i)
            EXPECT_NEAR(cursor[i], pinned[i], 0.5) << "Ctrl+Shift+N moves the crosshair there";
        answerTextDialog(QStringLiteral("Yes, the upper pole."));
        QTest::mouseClick(comments->replyButton(), Qt::LeftButton);
    }
    stored = review.comments(submitted.annotationId);
    ASSERT_EQ(stored.size(), 2u);
    EXPECT_EQ(stored[1].replyTo, std::optional(commentId));
    EXPECT_EQ(stored[1].author, annotatorName);

    {
        ServiceWindow rita(inProcess(dir.path(), lowCostPolicy()));
        ASSERT_TRUE(rita.logIn(reviewerName, userPassword));
        int queued = 0;
        rita.openFirstQueueRow(&queued);
        gui::CommentsPanel* comments = rita.workspace->commentsPanel();
        ASSERT_EQ(comments->pinned().size(), 1u);
        comments->tree()->setCurrentItem(comments->tree()->topLevelItem(0));
        QTest::mouseClick(comments->resolveButton(), Qt::LeftButton);
        EXPECT_TRUE(comments->pinned()[0].resolved);
    }
    EXPECT_TRUE(review.comments(submitted.annotationId)[0].resolved);

    // A reply that names this comment on the other version: refused, logged, nothing written.
    auto access = cli::inProcessStoreAccess(
        storage::Store(dir.path(), lowCostPolicy()).login(annotatorName, userPassword));
    EXPECT_THROW(access->replyToComment(std::to_string(studyId), versions[0].id.hex(), commentId,
                                        "sneaked in"),
                 std::exception);
    EXPECT_EQ(review.comments(submitted.annotationId).size(), 2u);
    // Her client asks for the reviewers' agreement report: refused, logged.
    EXPECT_THROW(access->agreement(), std::exception);
    // A reviewer's client pins at a coordinate far outside (it would wrap into the image as an
    // int), or not a number: refused in words, nothing stored.
    auto reviewer = cli::inProcessStoreAccess(
        storage::Store(dir.path(), lowCostPolicy()).login(reviewerName, userPassword));
    for (const imaging::Vec3& far : {imaging::Vec3{4294967301.0, 2, 0}, imaging::Vec3{1e300, 2, 0},
                                     imaging::Vec3{std::nan(""), 2, 0}}) {
        try {
            reviewer->pinComment(std::to_string(studyId), submitted.id.hex(), far, "far away");
            ADD_FAILURE() << "a comment far outside the image was pinned";
        } catch (const std::exception& e) {
            EXPECT_NE(std::string(e.what()).find("outside the image"), std::string::npos)
                << e.what();
        }
    }
    EXPECT_EQ(review.comments(submitted.annotationId).size(), 2u);
    auto admin = storage::Store(dir.path(), lowCostPolicy()).login(adminName, adminPassword);
    bool refusedReply = false, refusedReport = false;
    for (const storage::AuditEntry& e : storage::AuditTrail(admin).entries()) {
        refusedReply = refusedReply || (e.action == "refused comment" && e.user == annotatorName);
        refusedReport =
            refusedReport || (e.action == "refused agreement report" && e.user == annotatorName);
    }
    EXPECT_TRUE(refusedReply) << "the refused reply is in the access log";
    EXPECT_TRUE(refusedReport) << "the refused agreement report is in the access log";
}

// A consensus through StoreAccess: two annotators' submitted versions, Review > Build consensus
// (vote): the store has a consensus version authored by the reviewer, and the compare view shows
// it beside the version under review, with its metrics.
TEST_F(ServiceWorkspace, ReviewerBuildsAConsensusAndComparesIt) {
    TempDir dir;
    const std::int64_t studyId = storeWithSubmittedStrokes(dir.path(), {0.5});
    addAssignedAnnotator(dir.path(), studyId, secondAnnotatorName);
    {
        ServiceWindow bert(inProcess(dir.path(), lowCostPolicy()));
        ASSERT_TRUE(bert.logIn(secondAnnotatorName, userPassword));
        int rows = 0;
        bert.openFromWorklist(&rows);
        bert.paintStroke(0.45);
        bert.saveVersion(QStringLiteral("bert's"));
        bert.submit();
    }
    ServiceWindow rita(inProcess(dir.path(), lowCostPolicy()));
    ASSERT_TRUE(rita.logIn(reviewerName, userPassword));
    int queued = 0;
    rita.openFirstQueueRow(&queued);
    ASSERT_EQ(queued, 2);
    QAction* vote = menuActionWith(rita.workspace->reviewMenu(), QStringLiteral("vote"));
    ASSERT_NE(vote, nullptr);
    vote->trigger();

    auto session = storage::Store(dir.path(), lowCostPolicy()).login(reviewerName, userPassword);
    const workflow::ReviewSession review(session, studyId);
    const std::vector<workflow::ReviewVersion> versions = review.versions();
    ASSERT_EQ(versions.size(), 3u);
    const workflow::ReviewVersion& consensus = versions.back();
    EXPECT_TRUE(consensus.consensus);
    EXPECT_EQ(consensus.author, reviewerName);
    gui::ReviewPanel* panel = rita.workspace->reviewPanel();
    EXPECT_EQ(panel->comparedVersion(), std::optional(consensus.annotationId));
    EXPECT_GE(panel->otherVersionCombo()->findData(qlonglong(consensus.annotationId)), 0);
    EXPECT_GE(panel->metricsTable()->rowCount(), 1);

    // Ctrl+Shift+G: the agreement report through StoreAccess has the in-process rows.
    const report::Table expected = workflow::agreementTable(workflow::measureAgreement(session));
    ASSERT_FALSE(expected.rows.empty());
    int shownRows = -1;
    QString firstCell;
    rita.activate();
    whenModalDialogShows([&](QWidget* dialog) {
        auto* report = qobject_cast<gui::AgreementDialog*>(dialog);
        ASSERT_NE(report, nullptr) << "not the agreement report";
        shownRows = report->table()->rowCount();
        firstCell = report->table()->item(0, 0)->text();
        report->reject();
    });
    QTest::keyClick(rita.axial(), Qt::Key_G, Qt::ControlModifier | Qt::ShiftModifier);
    EXPECT_EQ(shownRows, int(expected.rows.size()));
    EXPECT_FALSE(firstCell.isEmpty());
}

// Store > Administration (Ctrl+Shift+U) on the admin's session through StoreAccess: the admin
// panel lists what the store holds, adds a user typed in, assigns her a study, disables another
// (a key rotation behind its progress dialog), filters the access log and verifies it with the
// audit key; each checked in-process. Annotators have no such menu entry.
TEST_F(ServiceWorkspace, AdminPanelThroughTheSessionAddsAssignsDisablesAndVerifies) {
    TestStore t;
    std::int64_t studyId = 0;
    {
        auto admin = t.admin();
        storage::Users(admin).add(annotatorName, storage::Role::Annotator, userPassword);
        auto results = storage::importStudies(admin, {RADMARK_PYDICOM_DATA "/CT_small.dcm"});
        ASSERT_EQ(results.size(), 1u);
        studyId = results.front().studyId;
    }
    ServiceWindow ada(inProcess(t.storeDir, lowCostPolicy()));
    ASSERT_TRUE(ada.logIn(adminName, adminPassword));
    const std::filesystem::path keyFile = t.dir.path() / "audit.key";
    writeFile(keyFile, t.secrets.auditKey.toHex() + "\n");
    int usersShown = 0;
    AdminPanelRun run;
    ada.activate();
    whenModalDialogShows([&](QWidget* dialog) {
        usersShown = dialog->findChild<QTableWidget*>("usersTable")->rowCount();
        run = driveAdminPanel(
            dialog, {"nina", userPassword, {}, annotatorName, "assign", keyFile.string()});
    });
    QTest::keyClick(ada.axial(), Qt::Key_U, Qt::ControlModifier | Qt::ShiftModifier);

    auto admin = t.admin();
    const std::vector<storage::UserInfo> inStore = storage::Users(admin).list();
    EXPECT_EQ(usersShown, 2) << "the panel listed ada and annie";
    EXPECT_TRUE(run.added.contains(QStringLiteral("nina added"))) << run.added.toStdString();
    ASSERT_EQ(inStore.size(), 3u);
    EXPECT_NO_THROW(t.store.login("nina", userPassword));
    EXPECT_TRUE(run.assigned.contains(QStringLiteral("assigned to nina")))
        << run.assigned.toStdString();
    auto nina = t.store.login("nina", userPassword);
    const std::vector<storage::Study> hers = storage::Studies(nina).list();
    ASSERT_EQ(hers.size(), 1u);
    EXPECT_EQ(hers.front().id, studyId);
    EXPECT_GT(run.rotationDialogs, 0) << "no progress dialog during the rotation";
    EXPECT_TRUE(run.disabled.contains(QStringLiteral("key version 2")))
        << run.disabled.toStdString();
    EXPECT_THROW(t.store.login(annotatorName, userPassword), storage::AuthenticationError);
    EXPECT_EQ(run.logRows, int(storage::AuditTrail(admin).entries(filterBy({}, "assign")).size()));
    EXPECT_GE(run.logRows, 1);
    EXPECT_EQ(run.logActions, std::set<QString>{QStringLiteral("assign")}) << "the filter";
    EXPECT_TRUE(run.verified.contains(QStringLiteral("every MAC ok")))
        << run.verified.toStdString();

    // An annotator's Store menu has no Administration entry (nor its shortcut).
    ServiceWindow annotator(inProcess(t.storeDir, lowCostPolicy()));
    ASSERT_TRUE(annotator.logIn("nina", userPassword));
    QAction* entry = nullptr;
    for (QMenu* menu : annotator.window.menuBar()->findChildren<QMenu*>())
        if (QAction* a = menuActionWith(menu, QStringLiteral("Administration")))
            entry = a;
    ASSERT_NE(entry, nullptr);
    EXPECT_FALSE(entry->isVisible());
    EXPECT_FALSE(entry->isEnabled());
}

} // namespace
} // namespace radmark::testing
