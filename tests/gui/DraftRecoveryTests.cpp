// Autosaved drafts as a user meets them under Xvfb. The workstation runs as a separate process
// (this test binary again, running only the disabled child test; the password goes through its
// stdin, never its command line): log in, open the study, B + a real mouse stroke, wait for
// "Draft saved" in the status bar, then SIGKILL. Reopened here, the recovery dialog is offered and
// Recover brings the stroke back bit for bit; Discard deletes the draft; both are logged. Decide
// later shows the study read-only until it is reopened; another annotator's newer version does
// not hide the draft.

#include "storage/Annotations.h"
#include "StoreWorkspaceFixture.h"

#include "workflow/StoredAnnotations.h"
#include "viewer/LabelEditor.h"

#include <QLabel>
#include <QAction>
#include <QLineEdit>
#include <QMessageBox>
#include <QProcess>
#include <QProcessEnvironment>
#include <QSignalSpy>

#include <iostream>

using namespace radmark;
using namespace radmark::storage::testing;
using namespace radmark::testing;

namespace {

// The hash of the whole label map: equal hashes, equal labels.
std::string labelsFingerprint(const annotation::LabelMap& labels) {
    return imaging::hashContent(
               std::span(labels.data(), labels.chunkByteCount() * std::size_t(labels.chunkCount())))
        .hex();
}

QString draftStatus(const gui::MainWindow& window) {
    auto* label = window.findChild<QLabel*>("draftStatus");
    return label ? label->text() : QString();
}

// Opens the study, reads the recovery question (text and details) and clicks Recover.
QString openAndRecover(StoreWindow& user, std::int64_t studyId) {
    QString question;
    whenModalDialogShows([&question](QWidget* dialog) {
        auto* box = qobject_cast<QMessageBox*>(dialog);
        ASSERT_NE(box, nullptr);
        question = box->text() + QLatin1Char('\n') + box->informativeText();
        QTest::mouseClick(box->findChild<QPushButton*>("recoverDraftButton"), Qt::LeftButton);
    });
    user.workspace->openStudy(studyId);
    return question;
}

class DraftRecovery : public GuiTest {};

// The child: the workstation, painting until the parent kills it. It prints
// "draft-saved <fingerprint>" once the stroke is autosaved.
TEST_F(DraftRecovery, DISABLED_WorkstationPaintsUntilKilled) {
    const QString storeDir = qEnvironmentVariable("RADMARK_TEST_CHILD_STORE");
    if (storeDir.isEmpty())
        GTEST_SKIP() << "run by DraftRecovery.KilledWorkstationOffersItsDraftOnReopening";
    std::string password;
    std::getline(std::cin, password);
    StoreWindow user(storeDir.toStdString());
    ASSERT_EQ(user.workspace->autosaveInterval(), std::chrono::seconds(1)); // from the environment
    ASSERT_TRUE(user.logIn(annotatorName, password));
    user.workspace->openStudy(qEnvironmentVariableIntValue("RADMARK_TEST_CHILD_STUDY"));
    user.paintStroke(0.5);
    const annotation::LabelMap& labels = user.window.viewer()->labelEditor()->labels();
    ASSERT_FALSE(labels.voxelCounts().empty());
    for (int i = 0; i < 100 && !draftStatus(user.window).startsWith("Draft saved"); ++i)
        QTest::qWait(100);
    ASSERT_TRUE(draftStatus(user.window).startsWith("Draft saved")) << "no autosave";
    std::cout << "draft-saved " << labelsFingerprint(labels) << std::endl;
    for (;;) // until SIGKILL
        QTest::qWait(100);
}

TEST_F(DraftRecovery, KilledWorkstationOffersItsDraftOnReopening) {
    TempDir dir;
    const std::int64_t studyId = makeStoreWithOneStudy(dir.path());

    QProcess child;
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.insert("RADMARK_TEST_CHILD_STORE", QString::fromStdString(dir.path().string()));
    environment.insert("RADMARK_TEST_CHILD_STUDY", QString::number(studyId));
    environment.insert("RADMARK_AUTOSAVE_SECONDS", "1");
    child.setProcessEnvironment(environment);
    child.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    child.start(QCoreApplication::applicationFilePath(),
                {"--gtest_filter=DraftRecovery.DISABLED_WorkstationPaintsUntilKilled",
                 "--gtest_also_run_disabled_tests"});
    ASSERT_TRUE(child.waitForStarted(10000));
    child.write(QByteArray::fromStdString(userPassword) + "\n");
    child.closeWriteChannel();
    QByteArray output;
    while (!output.contains("draft-saved ") || !output.endsWith('\n')) {
        ASSERT_TRUE(child.waitForReadyRead(60000)) << "the workstation never saved a draft:\n"
                                                   << output.toStdString();
        output += child.readAllStandardOutput();
    }
    child.kill(); // SIGKILL: no chance to save or log out
    ASSERT_TRUE(child.waitForFinished(10000));
    EXPECT_EQ(child.exitStatus(), QProcess::CrashExit);
    const int at = output.indexOf("draft-saved ") + 12;
    const std::string painted = output.mid(at, output.indexOf('\n', at) - at).toStdString();

    // Reopened in this process: the dialog offers the draft, Recover brings the stroke back.
    StoreWindow user(dir.path());
    ASSERT_TRUE(user.logIn(annotatorName, userPassword));
    const QString question = openAndRecover(user, studyId);
    EXPECT_TRUE(question.startsWith("Recover unsaved work from ")) << question.toStdString();
    const annotation::LabelMap& labels = user.window.viewer()->labelEditor()->labels();
    EXPECT_FALSE(labels.voxelCounts().empty());
    EXPECT_EQ(labelsFingerprint(labels), painted);

    // Ctrl+S makes it a version and removes the draft: no question at the next open.
    user.saveVersion("recovered stroke");
    EXPECT_FALSE(storage::Annotations(*user.workspace->session()).draftOf(studyId));
    user.workspace->openStudy(studyId); // a dialog here would block and fail the test
    EXPECT_EQ(labelsFingerprint(user.window.viewer()->labelEditor()->labels()), painted);

    EXPECT_EQ(user.annotatorLogCount("recover draft"), 1u);
}

// The annotator opens the study (no draft waiting), paints, the draft is autosaved, and the
// workstation goes away without saving or logging out, as in a crash. Returns what was painted.
std::string paintAutosaveAndVanish(const std::filesystem::path& storeDir, std::int64_t studyId,
                                   double heightFraction) {
    StoreWindow user(storeDir);
    EXPECT_TRUE(user.openAsAnnotator(studyId));
    user.paintStroke(heightFraction);
    EXPECT_TRUE(user.workspace->autosaveNow());
    EXPECT_TRUE(draftStatus(user.window).startsWith("Draft saved"));
    return labelsFingerprint(user.window.viewer()->labelEditor()->labels());
}

TEST_F(DraftRecovery, DecideLaterIsReadOnlyAndKeepsTheDraftForTheNextOpening) {
    TempDir dir;
    const std::int64_t studyId = makeStoreWithOneStudy(dir.path());
    const std::string painted = paintAutosaveAndVanish(dir.path(), studyId, 0.5);

    StoreWindow user(dir.path());
    ASSERT_TRUE(user.logIn(annotatorName, userPassword));
    EXPECT_FALSE(user.workspace->autosaveNow()) << "nothing open yet";
    const auto draft = storage::Annotations(*user.workspace->session()).draftOf(studyId);
    ASSERT_TRUE(draft);
    const viewer::LabelEditor& editor = *user.window.viewer()->labelEditor();

    // Decide later: the newest version (none: empty labels) shows read-only, and says why.
    answerWithButton("decideLaterButton");
    user.workspace->openStudy(studyId);
    EXPECT_TRUE(editor.labels().voxelCounts().empty());
    EXPECT_TRUE(editor.readOnly());
    EXPECT_TRUE(user.window.windowTitle().contains("unsaved draft waits"))
        << user.window.windowTitle().toStdString();
    EXPECT_TRUE(draftStatus(user.window).contains("Reopen the study to recover or discard it"))
        << draftStatus(user.window).toStdString();

    // Painting is refused, so there is nothing new to lose; autosave has nothing to write.
    user.paintStroke(0.3);
    EXPECT_TRUE(editor.labels().voxelCounts().empty()) << "painted while a draft waits";
    EXPECT_FALSE(user.workspace->autosaveNow());

    // Ctrl+S is refused with the reason, and writes nothing.
    QString refusal;
    user.activate();
    answerMessageBox(QMessageBox::Ok, &refusal);
    QTest::keyClick(user.axial(), Qt::Key_S, Qt::ControlModifier);
    EXPECT_TRUE(refusal.contains("unsaved draft waits")) << refusal.toStdString();
    EXPECT_TRUE(storage::Annotations(*user.workspace->session()).list(studyId).empty());
    ASSERT_TRUE(storage::Annotations(*user.workspace->session()).draftOf(studyId));
    EXPECT_EQ(storage::Annotations(*user.workspace->session()).draftOf(studyId)->chunk, draft->chunk);

    // Reopened: the draft is offered again, and Recover brings back what was painted.
    answerWithButton("recoverDraftButton");
    user.workspace->openStudy(studyId);
    EXPECT_FALSE(editor.readOnly());
    EXPECT_EQ(labelsFingerprint(editor.labels()), painted);
    EXPECT_FALSE(user.window.windowTitle().contains("unsaved draft waits"));

    // The recovered work is not a version: opening a study asks first. Cancel keeps it all.
    QString question;
    answerMessageBox(QMessageBox::Cancel, &question);
    user.workspace->openStudy(studyId);
    EXPECT_TRUE(question.contains("not saved as a version")) << question.toStdString();
    EXPECT_EQ(labelsFingerprint(editor.labels()), painted);
    EXPECT_TRUE(storage::Annotations(*user.workspace->session()).draftOf(studyId));

    // Discard there deletes the draft; the study opens empty, with no recovery question.
    answerMessageBox(QMessageBox::Discard);
    user.workspace->openStudy(studyId);
    EXPECT_TRUE(editor.labels().voxelCounts().empty());
    EXPECT_FALSE(storage::Annotations(*user.workspace->session()).draftOf(studyId));
    EXPECT_EQ(user.annotatorLogCount("discard draft"), 1u);
}

TEST_F(DraftRecovery, DiscardDeletesTheDraft) {
    TempDir dir;
    const std::int64_t studyId = makeStoreWithOneStudy(dir.path());
    paintAutosaveAndVanish(dir.path(), studyId, 0.5);

    StoreWindow user(dir.path());
    ASSERT_TRUE(user.logIn(annotatorName, userPassword));
    answerWithButton("discardDraftButton");
    user.workspace->openStudy(studyId);
    EXPECT_TRUE(user.window.viewer()->labelEditor()->labels().voxelCounts().empty());
    EXPECT_FALSE(user.window.viewer()->labelEditor()->readOnly());
    EXPECT_FALSE(storage::Annotations(*user.workspace->session()).draftOf(studyId));
    EXPECT_EQ(user.annotatorLogCount("discard draft"), 1u);
}

// Two annotators on one study: a version the other one saves after this user's draft does not
// hide the draft (it would be replaced unseen by the next autosave).
TEST_F(DraftRecovery, AnotherAnnotatorsNewerVersionDoesNotHideTheDraft) {
    TempDir dir;
    const std::int64_t studyId = makeStoreWithOneStudy(dir.path());
    addAssignedAnnotator(dir.path(), studyId, secondAnnotatorName);
    const std::string painted = paintAutosaveAndVanish(dir.path(), studyId, 0.5);

    {
        StoreWindow other(dir.path());
        ASSERT_TRUE(other.logIn(secondAnnotatorName, userPassword));
        other.workspace->openStudy(studyId); // no draft of theirs: no question
        other.paintStroke(0.3);
        other.saveVersion("the colleague's stroke");
        ASSERT_EQ(storage::Annotations(*other.workspace->session()).list(studyId).size(), 1u);
    }

    StoreWindow user(dir.path());
    ASSERT_TRUE(user.logIn(annotatorName, userPassword));
    const QString question = openAndRecover(user, studyId);
    EXPECT_TRUE(question.startsWith("Recover unsaved work from ")) << question.toStdString();
    EXPECT_TRUE(question.contains(QString::fromStdString(secondAnnotatorName)))
        << "the dialog names who saved since: " << question.toStdString();
    EXPECT_EQ(labelsFingerprint(user.window.viewer()->labelEditor()->labels()), painted);
    EXPECT_EQ(user.annotatorLogCount("recover draft"), 1u);
}

TEST_F(DraftRecovery, AutosaveRunsOnItsOwnAfterTheInterval) {
    TempDir dir;
    const std::int64_t studyId = makeStoreWithOneStudy(dir.path());
    StoreWindow user(dir.path());
    user.workspace->setAutosaveInterval(std::chrono::seconds(1));
    ASSERT_TRUE(user.logIn(annotatorName, userPassword));
    user.workspace->openStudy(studyId);
    QSignalSpy saved(user.workspace.get(), &gui::StoreWorkspace::draftSaved);
    QTest::qWait(1500);
    EXPECT_TRUE(saved.isEmpty()) << "nothing changed: nothing to autosave";
    user.paintStroke(0.5);
    EXPECT_TRUE(saved.wait(5000));
    EXPECT_TRUE(saved.front().front().toString().startsWith("Draft saved "));
    EXPECT_TRUE(storage::Annotations(*user.workspace->session()).draftOf(studyId));
    saved.clear();
    QTest::qWait(1500);
    EXPECT_TRUE(saved.isEmpty()) << "no change since the last draft";
}

TEST_F(DraftRecovery, LockingAndLoggingOutKeepTheLatestEditsAsADraft) {
    TempDir dir;
    const std::int64_t studyId = makeStoreWithOneStudy(dir.path());
    StoreWindow user(dir.path()); // the default 30 s interval: only locking can write the draft
    ASSERT_TRUE(user.openAsAnnotator(studyId));
    user.paintStroke(0.5);
    const std::string painted =
        labelsFingerprint(user.window.viewer()->labelEditor()->labels());

    // Ctrl+L, then unlock with the password typed into the overlay.
    QTest::keyClick(user.axial(), Qt::Key_L, Qt::ControlModifier);
    auto* password = user.window.findChild<QLineEdit*>("unlockPassword");
    ASSERT_NE(password, nullptr);
    ASSERT_TRUE(password->isVisible()) << "Ctrl+L did not lock";
    QTest::keyClicks(password, QString::fromStdString(userPassword));
    QTest::keyClick(password, Qt::Key_Return);
    ASSERT_FALSE(password->isVisible()) << "the password did not unlock";
    ASSERT_TRUE(storage::Annotations(*user.workspace->session()).draftOf(studyId)) << "locking wrote no draft";

    // More paint, then log out: the draft follows the latest edits. The next login (the same
    // annotator) is offered it and Recover shows exactly what was painted.
    user.paintStroke(0.3);
    const std::string latest = labelsFingerprint(user.window.viewer()->labelEditor()->labels());
    ASSERT_NE(latest, painted);
    answerLoginDialog(QString::fromStdString(annotatorName), QString::fromStdString(userPassword));
    QAction* logOut = nullptr;
    for (QAction* action : user.window.findChildren<QAction*>())
        if (action->text() == QStringLiteral("Log &out"))
            logOut = action;
    ASSERT_NE(logOut, nullptr);
    logOut->trigger(); // Store > Log out
    ASSERT_TRUE(user.workspace->session()) << "the annotator did not log in again";
    answerWithButton("recoverDraftButton");
    user.workspace->openStudy(studyId);
    EXPECT_EQ(labelsFingerprint(user.window.viewer()->labelEditor()->labels()), latest);
}

} // namespace
