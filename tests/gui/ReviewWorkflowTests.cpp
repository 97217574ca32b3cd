// The review loop as people work it, under Xvfb with real keys, the real mouse and the wheel, on a
// store holding a generated 12-slice CT: the annotator paints two strokes as two versions and
// submits (Ctrl+Return); the reviewer opens the queue (Ctrl+Shift+Q), gets the version beside the
// previous one with its metrics, scrolls with the wheel (both sides move), switches to the
// overlay (agreement, the reference's extra voxels, and after a swap the other side's extra
// voxels), pins a comment with P and a click, and requests changes (typing the comment); the
// reviewer's editing tools are off and a stroke changes nothing. The annotator sees the marker,
// jumps to it (Ctrl+Shift+N), fixes, saves and submits; the reviewer approves (Ctrl+Shift+A)
// and confirms resolving the open comment. The access log holds every step and verifies.

#include "storage/AuditTrail.h"
#include "storage/Studies.h"
#include "storage/Users.h"
#include "StoreWorkspaceFixture.h"

#include "app/gui/AgreementDialog.h"
#include "app/gui/CommentsPanel.h"
#include "app/gui/ReviewPanel.h"
#include "app/gui/WorklistDialog.h"
#include "storage/Reviews.h"
#include "viewer/CommentMarkers.h"
#include "viewer/ComparisonViewer.h"
#include "viewer/LabelEditor.h"
#include "workflow/Review.h"

#include <QAction>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDockWidget>
#include <QInputDialog>
#include <QLabel>
#include <QMenu>
#include <QPlainTextEdit>
#include <QTableWidget>
#include <QTreeWidget>
#include <QWheelEvent>

#include <cmath>
#include <fstream>
#include <map>
#include <cstdlib>

using namespace radmark;
using namespace radmark::storage::testing;
using namespace radmark::testing;

namespace {

const std::string reviewerName = "rita-reviewer";

// A store with a generated 96x80x12 CT, imported by the admin and assigned to the annotator, and
// a reviewer. Returns the study id.
std::int64_t makeStoreWithGeneratedCt(const std::filesystem::path& dir) {
    const std::filesystem::path series = dir.parent_path() / (dir.filename().string() + "-ct");
    const std::string command = "/usr/bin/python3 " RADMARK_CT_GENERATOR " --out '" +
                                series.string() +
                                "' --slices 12 --rows 96 --cols 80 --seed 7 > /dev/null";
    EXPECT_EQ(std::system(command.c_str()), 0) << "the CT generator failed";
    storage::Store::initialise(dir, adminName, adminPassword, lowCostPolicy());
    storage::Store store(dir, lowCostPolicy());
    auto admin = store.login(adminName, adminPassword);
    storage::Users(admin).add(annotatorName, storage::Role::Annotator, userPassword);
    storage::Users(admin).add(reviewerName, storage::Role::Reviewer, userPassword);
    const auto results = storage::importStudies(admin, {series});
    EXPECT_EQ(results.size(), 1u);
    EXPECT_EQ(results.front().status, storage::ImportStatus::Imported) << results.front().reason;
    storage::Studies(admin).assign(annotatorName, results.front().studyId);
    std::filesystem::remove_all(series);
    return results.front().studyId;
}

QRgb pixelOf(const viewer::SliceView* view, const QImage& image, const imaging::Vec3& index) {
    const QPointF at = view->widgetPositionOf(index) * view->devicePixelRatioF();
    return image.pixel(int(std::lround(at.x())), int(std::lround(at.y())));
}
bool grey(QRgb p) {
    return std::abs(qRed(p) - qGreen(p)) < 12 && std::abs(qRed(p) - qBlue(p)) < 12;
}
bool bluish(QRgb p) {
    return qBlue(p) > qRed(p) + 50 && qBlue(p) > qGreen(p) + 50;
}
bool greenish(QRgb p) {
    return qGreen(p) > qRed(p) + 60 && qGreen(p) > qBlue(p) + 60;
}
std::string describe(QRgb p) {
    return "rgb(" + std::to_string(qRed(p)) + ", " + std::to_string(qGreen(p)) + ", " +
           std::to_string(qBlue(p)) + ")";
}

void wheel(QWidget* view, int delta) {
    const QPointF at(view->width() / 2.0, view->height() / 2.0);
    QWheelEvent event(at, view->mapToGlobal(at), QPoint(), QPoint(0, delta), Qt::NoButton,
                      Qt::NoModifier, Qt::NoScrollPhase, false);
    QApplication::sendEvent(view, &event);
}

std::string fingerprint(const annotation::LabelMap& labels) {
    return imaging::hashContent(
               std::span(labels.data(), labels.chunkByteCount() * std::size_t(labels.chunkCount())))
        .hex();
}

// The review state of a version, as the reviewer's or annotator's worklist reads it.
storage::ReviewState stateOf(storage::Session& session, std::int64_t studyId, std::int64_t id) {
    return workflow::ReviewSession(session, studyId).version(id).state;
}

// Opens the worklist with `keys` and, once it is up, the queue's first row with the Open button.
void openFirstQueueRow(StoreWindow& user, int* rows) {
    whenModalDialogShows([rows](QWidget* dialog) {
        auto* worklist = qobject_cast<gui::WorklistDialog*>(dialog);
        ASSERT_NE(worklist, nullptr);
        ASSERT_NE(worklist->queueTable(), nullptr);
        *rows = worklist->queueTable()->rowCount();
        QTest::mouseClick(worklist->findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Open),
                          Qt::LeftButton);
    });
    QTest::keyClick(user.axial(), Qt::Key_Q, Qt::ControlModifier | Qt::ShiftModifier);
}

struct Versions {
    std::int64_t first = 0, second = 0, third = 0;
};

class ReviewWorkflow : public GuiTest {};

TEST_F(ReviewWorkflow, AnnotatorSubmitsReviewerComparesCommentsAndDecidesAnnotatorFixes) {
    TempDir dir;
    const std::int64_t studyId = makeStoreWithGeneratedCt(dir.path() / "store");
    const std::filesystem::path storeDir = dir.path() / "store";
    Versions v;

    // --- The annotator: two strokes, two versions, Ctrl+Return submits the second.
    {
        StoreWindow annie(storeDir);
        ASSERT_TRUE(annie.openAsAnnotator(studyId));
        annie.paintStroke(0.5);
        annie.saveVersion(QStringLiteral("first stroke"));
        annie.paintStroke(0.4);
        annie.saveVersion(QStringLiteral("second stroke"));
        workflow::ReviewSession reviews(*annie.workspace->session(), studyId);
        ASSERT_EQ(reviews.versions().size(), 2u);
        v.first = reviews.versions()[0].annotationId;
        v.second = reviews.versions()[1].annotationId;
        annie.activate();
        QTest::keyClick(annie.axial(), Qt::Key_Return, Qt::ControlModifier);
        EXPECT_EQ(stateOf(*annie.workspace->session(), studyId, v.second),
                  storage::ReviewState::Submitted);
        EXPECT_EQ(stateOf(*annie.workspace->session(), studyId, v.first),
                  storage::ReviewState::Draft);
        // Her worklist row says so (the same rows as `radmark-cli studies`).
        QString state;
        whenModalDialogShows([&state](QWidget* dialog) {
            auto* worklist = qobject_cast<gui::WorklistDialog*>(dialog);
            ASSERT_NE(worklist, nullptr);
            EXPECT_EQ(worklist->queueTable(), nullptr) << "annotators have no review queue";
            ASSERT_EQ(worklist->worklistTable()->rowCount(), 1);
            state = worklist->worklistTable()->item(0, 7)->text();
            // Filtered by state, as a person picks it in the combo.
            QComboBox* filter = worklist->stateFilter();
            filter->setCurrentIndex(filter->findText(QStringLiteral("approved")));
            EXPECT_TRUE(worklist->worklistTable()->isRowHidden(0));
            EXPECT_FALSE(worklist->choice()) << "nothing shown, nothing to open";
            filter->setCurrentIndex(filter->findText(QStringLiteral("submitted")));
            EXPECT_FALSE(worklist->worklistTable()->isRowHidden(0));
            dialog->close();
        });
        QTest::keyClick(annie.axial(), Qt::Key_T, Qt::ControlModifier | Qt::ShiftModifier);
        EXPECT_EQ(state, QStringLiteral("submitted"));
    }

    // --- The reviewer: the queue, the compare view, wheel, overlay, a pinned comment, changes.
    imaging::Vec3 pinned{};
    {
        StoreWindow rita(storeDir);
        ASSERT_TRUE(rita.logIn(reviewerName, userPassword));
        rita.activate();
        int rows = 0;
        openFirstQueueRow(rita, &rows);
        EXPECT_EQ(rows, 1);
        gui::ReviewPanel* panel = rita.workspace->reviewPanel();
        ASSERT_TRUE(rita.workspace->reviewDock()->isVisible());
        ASSERT_EQ(panel->shownVersion(), v.second);
        EXPECT_EQ(panel->comparedVersion(), v.first) << "beside the previous version";
        EXPECT_EQ(rita.workspace->readOnlyVersion().has_value(), true);

        // The editing tools are off, and a stroke changes nothing.
        viewer::LabelEditor* editor = rita.window.viewer()->labelEditor();
        EXPECT_TRUE(editor->readOnly());
        for (const char* tool : {"tool:paint", "tool:erase", "tool:box"}) {
            auto* action = rita.window.findChild<QAction*>(QString::fromLatin1(tool));
            ASSERT_NE(action, nullptr) << tool;
            EXPECT_FALSE(action->isEnabled()) << tool;
        }
        const std::string before = fingerprint(editor->labels());
        rita.paintStroke(0.6);
        EXPECT_EQ(fingerprint(editor->labels()), before);

        // Each side is headed with author and short hash.
        viewer::ComparisonViewer* compare = panel->viewer();
        const workflow::ReviewSession reviews(*rita.workspace->session(), studyId);
        EXPECT_TRUE(compare->heading(0)->text().contains(
            QString::fromStdString(reviews.version(v.second).shortHash)));
        EXPECT_TRUE(compare->heading(1)->text().contains(
            QString::fromStdString(reviews.version(v.first).shortHash)));
        EXPECT_TRUE(compare->heading(0)->text().contains(QString::fromStdString(annotatorName)));
        // The metrics: one segment, Dice below 1 (the second stroke is only in this version).
        QTableWidget* metrics = panel->metricsTable();
        ASSERT_GE(metrics->rowCount(), 1);
        const double dice = metrics->item(0, 1)->text().toDouble();
        EXPECT_GT(dice, 0.3);
        EXPECT_LT(dice, 1.0);
        EXPECT_FALSE(metrics->horizontalHeaderItem(1)->toolTip().isEmpty());

        // Voxels of the painted slice: in both versions, and only in the one under review.
        const annotation::LabelMap& mine = *compare->reference().labels;
        const annotation::LabelMap& previous = *compare->other().labels;
        std::optional<imaging::Vec3> both, onlyMine;
        const imaging::Geometry& grid = mine.geometry();
        for (int z = 0; z < grid.dims[2]; ++z)
            for (int y = 0; y < grid.dims[1]; ++y)
                for (int x = 0; x < grid.dims[0]; ++x) {
                    const annotation::Label a = mine.at({x, y, z}), b = previous.at({x, y, z});
                    if (a && b && !both && x % 4 == 2)
                        both = imaging::Vec3{double(x), double(y), double(z)};
                    if (a && !b && !onlyMine && x % 4 == 2)
                        onlyMine = imaging::Vec3{double(x), double(y), double(z)};
                }
        ASSERT_TRUE(both && onlyMine);
        const int paintedSlice = int((*both)[2]);

        // The wheel scrolls both sides: one notch away from the painted slice, both views change.
        compare->moveCursorTo({2, 2, double(paintedSlice)});
        compare->renderAll();
        QApplication::processEvents();
        const QImage left = compare->view(0)->grabFramebuffer();
        const QImage right = compare->view(1)->grabFramebuffer();
        EXPECT_FALSE(grey(pixelOf(compare->view(0), left, *both)))
            << describe(pixelOf(compare->view(0), left, *both));
        EXPECT_FALSE(grey(pixelOf(compare->view(1), right, *both)));
        EXPECT_FALSE(grey(pixelOf(compare->view(0), left, *onlyMine)));
        EXPECT_TRUE(grey(pixelOf(compare->view(1), right, *onlyMine)))
            << describe(pixelOf(compare->view(1), right, *onlyMine));
        const int direction = paintedSlice + 1 < grid.dims[2] ? 1 : -1;
        wheel(compare->view(0), 120 * direction);
        compare->renderAll();
        QApplication::processEvents();
        EXPECT_EQ(compare->cursor().slice(viewer::ViewPlane::Axial), paintedSlice + direction);
        EXPECT_TRUE(grey(pixelOf(compare->view(0), compare->view(0)->grabFramebuffer(), *both)))
            << "the left side moved off the painted slice";
        EXPECT_TRUE(grey(pixelOf(compare->view(1), compare->view(1)->grabFramebuffer(), *both)))
            << "the right side moved with it";
        wheel(compare->view(1), -120 * direction); // back, from the other side
        EXPECT_EQ(compare->cursor().slice(viewer::ViewPlane::Axial), paintedSlice);

        // Overlay (O): the reference's extra voxels blue; after a swap (S) the other side's green.
        compare->setFocus(Qt::OtherFocusReason);
        QTest::keyClick(compare->view(0), Qt::Key_O);
        ASSERT_TRUE(compare->overlayMode());
        compare->renderAll();
        QApplication::processEvents();
        QImage overlay = compare->view(0)->grabFramebuffer();
        const QRgb agreement = pixelOf(compare->view(0), overlay, *both);
        EXPECT_FALSE(grey(agreement)) << describe(agreement);
        EXPECT_FALSE(bluish(agreement) || greenish(agreement)) << describe(agreement);
        EXPECT_TRUE(bluish(pixelOf(compare->view(0), overlay, *onlyMine)))
            << describe(pixelOf(compare->view(0), overlay, *onlyMine));
        QTest::keyClick(compare->view(0), Qt::Key_S);
        compare->renderAll();
        QApplication::processEvents();
        overlay = compare->view(0)->grabFramebuffer();
        EXPECT_TRUE(greenish(pixelOf(compare->view(0), overlay, *onlyMine)))
            << describe(pixelOf(compare->view(0), overlay, *onlyMine));
        EXPECT_EQ(pixelOf(compare->view(0), overlay, *both), agreement);
        QTest::keyClick(compare->view(0), Qt::Key_S);
        QTest::keyClick(compare->view(0), Qt::Key_O);
        ASSERT_FALSE(compare->overlayMode());

        // P, a click on a voxel only this version has: the dialog asks the text.
        QTest::keyClick(compare->view(0), Qt::Key_P);
        ASSERT_TRUE(compare->pinMode());
        QString asked;
        answerTextDialog(QStringLiteral("Is this part of the lesion?"), &asked);
        QTest::mouseClick(compare->view(0), Qt::LeftButton, Qt::NoModifier,
                          compare->view(0)->widgetPositionOf(*onlyMine).toPoint());
        EXPECT_TRUE(asked.contains(QStringLiteral("voxel")));
        EXPECT_FALSE(compare->pinMode());
        gui::CommentsPanel* comments = rita.workspace->commentsPanel();
        ASSERT_EQ(comments->pinned().size(), 1u);
        EXPECT_EQ(comments->pinned()[0].text, "Is this part of the lesion?");
        pinned = *comments->pinned()[0].voxel;
        EXPECT_NEAR(pinned[0], (*onlyMine)[0], 1.0);
        EXPECT_NEAR(pinned[1], (*onlyMine)[1], 1.0);
        EXPECT_EQ(pinned[2], (*onlyMine)[2]);
        EXPECT_EQ(compare->markers().size(), 1u);
        EXPECT_EQ(rita.workspace->commentMarkers()->markers().size(), 1u);

        // Request changes (Ctrl+Shift+C): the comment is typed into the dialog.
        rita.activate();
        answerTextDialog(QStringLiteral("Please check the upper edge."));
        QTest::keyClick(rita.axial(), Qt::Key_C, Qt::ControlModifier | Qt::ShiftModifier);
        EXPECT_EQ(stateOf(*rita.workspace->session(), studyId, v.second),
                  storage::ReviewState::ChangesRequested);
        // A second decision on it is refused and shows the first.
        QString shown;
        rita.activate();
        answerMessageBox(QMessageBox::Ok, &shown);
        QTest::keyClick(rita.axial(), Qt::Key_A, Qt::ControlModifier | Qt::ShiftModifier);
        EXPECT_TRUE(shown.contains(QString::fromStdString(reviewerName))) << shown.toStdString();
        EXPECT_TRUE(shown.contains(QStringLiteral("requested changes"))) << shown.toStdString();
    }

    // --- The annotator: sees the marker, jumps to it, fixes, saves and submits.
    {
        StoreWindow annie(storeDir);
        ASSERT_TRUE(annie.openAsAnnotator(studyId));
        EXPECT_EQ(annie.workspace->versionOnScreen(), v.second);
        ASSERT_EQ(annie.workspace->commentsPanel()->pinned().size(), 1u);
        EXPECT_EQ(annie.workspace->commentMarkers()->markers().size(), 1u);
        annie.window.viewer()->moveCursorTo({1, 1, 0});
        annie.activate();
        QTest::keyClick(annie.axial(), Qt::Key_N, Qt::ControlModifier | Qt::ShiftModifier);
        const viewer::SliceCursor& cursor = annie.window.viewer()->cursor();
        EXPECT_EQ(cursor.slice(viewer::ViewPlane::Axial), int(pinned[2]));
        EXPECT_EQ(annie.workspace->commentMarkers()->shownMarkerIds(viewer::ViewPlane::Axial),
                  std::vector<int>{1});
        // Her reply goes under the comment.
        annie.workspace->commentsPanel()->tree()->setCurrentItem(
            annie.workspace->commentsPanel()->tree()->topLevelItem(0));
        answerTextDialog(QStringLiteral("Yes, extended it."));
        QTest::mouseClick(annie.workspace->commentsPanel()->replyButton(), Qt::LeftButton);
        EXPECT_EQ(annie.workspace->commentsPanel()->tree()->topLevelItem(0)->childCount(), 1);
        // And she resolves it; Ctrl+Shift+P goes back to it all the same (every comment, once none
        // is open).
        QTest::mouseClick(annie.workspace->commentsPanel()->resolveButton(), Qt::LeftButton);
        ASSERT_EQ(annie.workspace->commentsPanel()->pinned().size(), 1u);
        EXPECT_TRUE(annie.workspace->commentsPanel()->pinned()[0].resolved);
        annie.window.viewer()->moveCursorTo({1, 1, 0});
        annie.activate();
        QTest::keyClick(annie.axial(), Qt::Key_P, Qt::ControlModifier | Qt::ShiftModifier);
        EXPECT_EQ(annie.window.viewer()->cursor().slice(viewer::ViewPlane::Axial), int(pinned[2]));

        annie.paintStroke(0.3);
        annie.activate();
        // Ctrl+Return with unsaved edits: save first (Save, then the message), then submitted.
        answerMessageBox(QMessageBox::Save);
        whenModalDialogShows( // after the Save above: the version message
            [](QWidget* dialog) {
                auto* field = dialog->findChild<QLineEdit*>();
                ASSERT_NE(field, nullptr);
                QTest::keyClicks(field, QStringLiteral("upper edge extended"));
                QTest::keyClick(field, Qt::Key_Return);
            },
            900);
        QTest::keyClick(annie.axial(), Qt::Key_Return, Qt::ControlModifier);
        workflow::ReviewSession reviews(*annie.workspace->session(), studyId);
        ASSERT_EQ(reviews.versions().size(), 3u);
        v.third = reviews.versions()[2].annotationId;
        EXPECT_EQ(reviews.version(v.third).state, storage::ReviewState::Submitted);
        EXPECT_EQ(reviews.version(v.third).revises, v.second);
    }

    // --- The reviewer approves the fix, confirming that the open comment is resolved.
    {
        StoreWindow rita(storeDir);
        ASSERT_TRUE(rita.logIn(reviewerName, userPassword));
        rita.activate();
        int rows = 0;
        openFirstQueueRow(rita, &rows);
        EXPECT_EQ(rows, 1);
        ASSERT_EQ(rita.workspace->reviewPanel()->shownVersion(), v.third);
        EXPECT_EQ(rita.workspace->reviewPanel()->comparedVersion(), v.second);
        // A remark pinned on the fix, then Approve (Ctrl+Shift+A): it is open, so the reviewer is
        // asked, confirms, and the comment is resolved with the approval.
        viewer::ComparisonViewer* compare = rita.workspace->reviewPanel()->viewer();
        rita.activate();
        compare->setFocus(Qt::OtherFocusReason);
        QTest::keyClick(compare->view(0), Qt::Key_P);
        answerTextDialog(QStringLiteral("Fine now."));
        QTest::mouseClick(compare->view(0), Qt::LeftButton, Qt::NoModifier,
                          compare->view(0)->widgetPositionOf(pinned).toPoint());
        ASSERT_EQ(rita.workspace->commentsPanel()->pinned().size(), 1u);
        rita.activate();
        QString asked;
        answerMessageBox(QMessageBox::Yes, &asked);
        QTest::keyClick(rita.axial(), Qt::Key_A, Qt::ControlModifier | Qt::ShiftModifier);
        EXPECT_TRUE(asked.contains(QStringLiteral("1 open comment"))) << asked.toStdString();
        EXPECT_EQ(stateOf(*rita.workspace->session(), studyId, v.third),
                  storage::ReviewState::Approved);
        ASSERT_EQ(rita.workspace->commentsPanel()->pinned().size(), 1u);
        EXPECT_TRUE(rita.workspace->commentsPanel()->pinned()[0].resolved);
        const auto decision = storage::Reviews(*rita.workspace->session()).decisionOf(v.third);
        ASSERT_TRUE(decision);
        EXPECT_NE(decision->metricsJson.find("dice"), std::string::npos)
            << "the metrics shown are recorded";
    }

    // --- The access log holds every step, and verifies.
    auto admin = storage::Store(storeDir, lowCostPolicy()).login(adminName, adminPassword);
    EXPECT_EQ(storage::AuditTrail(admin).entries(filterBy(annotatorName, "submit")).size(), 2u);
    EXPECT_EQ(storage::AuditTrail(admin).entries(filterBy(reviewerName, "comment")).size(), 2u);
    EXPECT_EQ(storage::AuditTrail(admin).entries(filterBy(reviewerName, "resolve comment")).size(), 1u);
    EXPECT_EQ(storage::AuditTrail(admin).entries(filterBy(annotatorName, "resolve comment")).size(), 1u);
    EXPECT_EQ(storage::AuditTrail(admin).entries(filterBy(reviewerName, "review decision")).size(), 2u);
    EXPECT_GE(storage::AuditTrail(admin).entries(filterBy(reviewerName, "refused review decision")).size(), 1u);
    EXPECT_GE(storage::AuditTrail(admin).entries(filterBy(reviewerName, "open version")).size(), 2u);
    const auto verified = storage::AuditTrail(admin).verify(nullptr, nullptr);
    EXPECT_TRUE(verified.ok) << verified.reason;
}

// Two annotators submit; the reviewer opens the first, builds a majority-vote consensus (Review
// menu), which shows in the compare view's versions; "Decide and open next" (Ctrl+Shift+Return)
// approves and opens the second; she opens the consensus read-only and approves it too.
TEST_F(ReviewWorkflow, ConsensusIsBuiltComparedAndApprovedAndDecideOpensTheNext) {
    TempDir dir;
    const std::filesystem::path storeDir = dir.path() / "store";
    const std::int64_t studyId = makeStoreWithGeneratedCt(storeDir);
    addAssignedAnnotator(storeDir, studyId, secondAnnotatorName);
    for (const std::string& name : {annotatorName, secondAnnotatorName}) {
        StoreWindow annotator(storeDir);
        ASSERT_TRUE(annotator.logIn(name, userPassword));
        annotator.workspace->openStudy(studyId);
        annotator.paintStroke(name == annotatorName ? 0.5 : 0.45);
        annotator.saveVersion(QString::fromStdString(name));
        annotator.activate();
        QTest::keyClick(annotator.axial(), Qt::Key_Return, Qt::ControlModifier);
        if (name == annotatorName) { // a second thought: saving again withdraws the submission
            annotator.paintStroke(0.55);
            annotator.saveVersion(QStringLiteral("second thought"));
            annotator.activate();
            QTest::keyClick(annotator.axial(), Qt::Key_Return, Qt::ControlModifier);
        }
    }

    StoreWindow rita(storeDir);
    ASSERT_TRUE(rita.logIn(reviewerName, userPassword));
    rita.activate();
    int rows = 0;
    openFirstQueueRow(rita, &rows);
    ASSERT_EQ(rows, 2);
    gui::ReviewPanel* panel = rita.workspace->reviewPanel();
    const std::optional<std::int64_t> first = panel->shownVersion();
    ASSERT_TRUE(first);

    QAction* vote = menuActionWith(rita.workspace->reviewMenu(), QStringLiteral("vote"));
    ASSERT_NE(vote, nullptr);
    vote->trigger();
    const workflow::ReviewSession reviews(*rita.workspace->session(), studyId);
    ASSERT_EQ(reviews.versions().size(), 4u);
    const workflow::ReviewVersion consensus = reviews.versions().back();
    EXPECT_TRUE(consensus.consensus);
    EXPECT_EQ(panel->comparedVersion(), consensus.annotationId);
    EXPECT_GE(panel->otherVersionCombo()->findData(qlonglong(consensus.annotationId)), 0);
    EXPECT_GE(panel->metricsTable()->rowCount(), 1);
    EXPECT_TRUE(
        panel->viewer()->heading(1)->text().contains(QString::fromStdString(consensus.shortHash)));

    rita.activate();
    answerWithButton(QStringLiteral("approveButton"));
    QTest::keyClick(rita.axial(), Qt::Key_Return, Qt::ControlModifier | Qt::ShiftModifier);
    EXPECT_EQ(stateOf(*rita.workspace->session(), studyId, *first), storage::ReviewState::Approved);
    ASSERT_TRUE(panel->shownVersion());
    EXPECT_NE(panel->shownVersion(), first) << "the next queue item is open";
    EXPECT_EQ(stateOf(*rita.workspace->session(), studyId, *panel->shownVersion()),
              storage::ReviewState::Submitted);

    ASSERT_TRUE(rita.workspace->openVersionReadOnly(consensus.id));
    EXPECT_EQ(panel->shownVersion(), consensus.annotationId);
    rita.activate();
    QTest::keyClick(rita.axial(), Qt::Key_A, Qt::ControlModifier | Qt::ShiftModifier);
    EXPECT_EQ(stateOf(*rita.workspace->session(), studyId, consensus.annotationId),
              storage::ReviewState::Approved);

    // Locking hides the compare view with the rest of the images.
    ASSERT_TRUE(rita.workspace->reviewDock()->isVisible());
    rita.activate();
    QTest::keyClick(rita.axial(), Qt::Key_L, Qt::ControlModifier);
    EXPECT_FALSE(rita.workspace->reviewDock()->isVisible());

    auto admin = storage::Store(storeDir, lowCostPolicy()).login(adminName, adminPassword);
    EXPECT_EQ(storage::AuditTrail(admin).entries(filterBy(annotatorName, "withdraw submission")).size(), 1u);
    EXPECT_EQ(storage::AuditTrail(admin).entries(filterBy(annotatorName, "submit")).size(), 2u);
    EXPECT_EQ(storage::AuditTrail(admin).entries(filterBy(reviewerName, "save consensus")).size(), 1u);
    EXPECT_EQ(storage::AuditTrail(admin).entries(filterBy(reviewerName, "review decision")).size(), 2u);
    const auto verified = storage::AuditTrail(admin).verify(nullptr, nullptr);
    EXPECT_TRUE(verified.ok) << verified.reason;
}

// A blind study worked by three annotators: each sees only her own row; the reviewer's worklist
// has one row per annotator; she builds a STAPLE consensus from the menu, rejects one version
// with Ctrl+Shift+R and a typed reason, and opens the agreement report (Ctrl+Shift+G), whose
// table has every pair and each annotator against the consensus, and saves it as CSV.
TEST_F(ReviewWorkflow, BlindStudyHasRowsPerAnnotatorStapleRejectAndTheAgreementReport) {
    TempDir dir;
    const std::filesystem::path storeDir = dir.path() / "store";
    const std::int64_t studyId = makeStoreWithGeneratedCt(storeDir);
    const std::string thirdAnnotatorName = "carl-annotator";
    addAssignedAnnotator(storeDir, studyId, secondAnnotatorName);
    addAssignedAnnotator(storeDir, studyId, thirdAnnotatorName);
    {
        auto admin = storage::Store(storeDir, lowCostPolicy()).login(adminName, adminPassword);
        storage::Studies(admin).setBlind(studyId, true);
    }
    const std::vector<std::string> annotators = {annotatorName, secondAnnotatorName,
                                                 thirdAnnotatorName};
    std::map<std::string, std::int64_t> versionOf;
    double height = 0.45;
    for (const std::string& name : annotators) {
        StoreWindow annotator(storeDir);
        ASSERT_TRUE(annotator.logIn(name, userPassword));
        annotator.workspace->openStudy(studyId);
        annotator.paintStroke(height);
        height += 0.03;
        annotator.saveVersion(QString::fromStdString(name));
        annotator.activate();
        QTest::keyClick(annotator.axial(), Qt::Key_Return, Qt::ControlModifier);
        const workflow::ReviewSession reviews(*annotator.workspace->session(), studyId);
        ASSERT_EQ(reviews.versions().size(), 1u) << name << " sees only her own version";
        versionOf[name] = reviews.versions().front().annotationId;
        // Her worklist: one row, her own version.
        QString author;
        int rows = 0;
        whenModalDialogShows([&](QWidget* dialog) {
            auto* worklist = qobject_cast<gui::WorklistDialog*>(dialog);
            ASSERT_NE(worklist, nullptr);
            rows = worklist->worklistTable()->rowCount();
            if (rows > 0)
                author = worklist->worklistTable()->item(0, 5)->text();
            dialog->close();
        });
        annotator.activate();
        QTest::keyClick(annotator.axial(), Qt::Key_T, Qt::ControlModifier | Qt::ShiftModifier);
        EXPECT_EQ(rows, 1);
        EXPECT_EQ(author, QString::fromStdString(name));
    }

    StoreWindow rita(storeDir);
    ASSERT_TRUE(rita.logIn(reviewerName, userPassword));
    rita.activate();
    // One worklist row per annotator of the blind study.
    QStringList rowAuthors;
    whenModalDialogShows([&](QWidget* dialog) {
        auto* worklist = qobject_cast<gui::WorklistDialog*>(dialog);
        ASSERT_NE(worklist, nullptr);
        QTableWidget* table = worklist->worklistTable();
        for (int r = 0; r < table->rowCount(); ++r) {
            rowAuthors << table->item(r, 5)->text();
            EXPECT_TRUE(table->item(r, 3)->text().contains(QStringLiteral("row of")));
        }
        dialog->close();
    });
    QTest::keyClick(rita.axial(), Qt::Key_T, Qt::ControlModifier | Qt::ShiftModifier);
    rowAuthors.sort();
    EXPECT_EQ(rowAuthors, (QStringList{QString::fromStdString(annotatorName),
                                       QString::fromStdString(secondAnnotatorName),
                                       QString::fromStdString(thirdAnnotatorName)}));
    int queued = 0;
    rita.activate();
    openFirstQueueRow(rita, &queued);
    ASSERT_EQ(queued, 3);

    QAction* staple = menuActionWith(rita.workspace->reviewMenu(), QStringLiteral("STAPLE"));
    ASSERT_NE(staple, nullptr);
    staple->trigger();
    std::int64_t consensusId = 0;
    {
        const workflow::ReviewSession reviews(*rita.workspace->session(), studyId);
        ASSERT_EQ(reviews.versions().size(), 4u);
        EXPECT_TRUE(reviews.versions().back().consensus);
        consensusId = reviews.versions().back().annotationId;
    }
    EXPECT_EQ(rita.workspace->reviewPanel()->comparedVersion(), consensusId);

    // Reject the third annotator's version, with a reason typed into the dialog.
    const std::int64_t rejected = versionOf[thirdAnnotatorName];
    ASSERT_TRUE(rita.workspace->openForReview(studyId, rejected));
    rita.activate();
    answerTextDialog(QStringLiteral("misses the lesion's upper edge"));
    QTest::keyClick(rita.axial(), Qt::Key_R, Qt::ControlModifier | Qt::ShiftModifier);
    EXPECT_EQ(stateOf(*rita.workspace->session(), studyId, rejected),
              storage::ReviewState::Rejected);
    const auto record = storage::Reviews(*rita.workspace->session()).decisionOf(rejected);
    ASSERT_TRUE(record);
    EXPECT_EQ(record->message, "misses the lesion's upper edge");

    // The agreement report: 3 pairs and 3 against the consensus, saved as CSV.
    rita.activate();
    const std::filesystem::path csv = dir.path() / "agreement.csv";
    int reportRows = -1;
    whenModalDialogShows([&](QWidget* dialog) {
        auto* report = qobject_cast<gui::AgreementDialog*>(dialog);
        ASSERT_NE(report, nullptr) << "not the agreement report";
        reportRows = report->table()->rowCount();
        whenModalDialogShows([&](QWidget* saveDialog) {
            auto* name = saveDialog->findChild<QLineEdit*>(QStringLiteral("fileNameEdit"));
            ASSERT_NE(name, nullptr);
            name->clear();
            QTest::keyClicks(name, QString::fromStdString(csv.string()));
            QTest::keyClick(name, Qt::Key_Return);
        });
        QTest::mouseClick(dialog->findChild<QPushButton*>(QStringLiteral("saveReportButton")),
                          Qt::LeftButton);
        dialog->close();
    });
    QTest::keyClick(rita.axial(), Qt::Key_G, Qt::ControlModifier | Qt::ShiftModifier);
    EXPECT_EQ(reportRows, 6);
    std::ifstream in(csv);
    ASSERT_TRUE(in) << "the CSV was not written";
    std::string line;
    int lines = 0, againstConsensus = 0;
    while (std::getline(in, line)) {
        ++lines;
        againstConsensus += line.find("consensus") != std::string::npos;
    }
    EXPECT_EQ(lines, 7) << "a header and six rows";
    EXPECT_EQ(againstConsensus, 3);

    auto admin = storage::Store(storeDir, lowCostPolicy()).login(adminName, adminPassword);
    EXPECT_EQ(storage::AuditTrail(admin).entries(filterBy(reviewerName, "save consensus")).size(), 1u);
    EXPECT_EQ(storage::AuditTrail(admin).entries(filterBy(reviewerName, "review decision")).size(), 1u);
    const auto verified = storage::AuditTrail(admin).verify(nullptr, nullptr);
    EXPECT_TRUE(verified.ok) << verified.reason;
}

} // namespace
