#include "app/gui/ServiceWorkspace.h"

#include "app/gui/AnnotationQuestions.h"
#include "app/gui/MainWindow.h"
#include "app/gui/VersionsPanel.h"
#include "app/gui/WorklistDialog.h"
#include "app/gui/security/LoginDialog.h"
#include "viewer/BoxInteraction.h"
#include "viewer/FourUpViewer.h"
#include "viewer/LabelEditor.h"

#include <QApplication>
#include <QDockWidget>
#include <QEvent>
#include <QInputDialog>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QStatusBar>
#include <QTableWidget>
#include <QTime>
#include <QTimer>

#include <algorithm>

namespace radmark::gui {

namespace {

std::string studyKey(std::int64_t studyId) {
    return std::to_string(studyId);
}

} // namespace

ServiceWorkspace::Connect ServiceWorkspace::throughService(const std::filesystem::path& socket) {
    return [socket](const std::string& user, const std::string& password) {
        std::unique_ptr<cli::StoreAccess> access = cli::serviceStoreAccess(socket, user, password);
        access->role(); // the worker logs in now
        return access;
    };
}

ServiceWorkspace::ServiceWorkspace(Connect connect, MainWindow& window)
    : QObject(&window), connect_(std::move(connect)), window_(window) {
    buildMenu();
    versionsPanel_ = new VersionsPanel(&window_);
    versionsDock_ = window_.addPanel(versionsPanel_, tr("Versions"));
    versionsPanel_->clear(tr("Open a stored study to see its versions."));
    // What happened to the version on screen: saves, submission, the reviewer's decision and
    // words (the annotator reads here why changes were requested).
    history_ = new QPlainTextEdit(&window_);
    history_->setObjectName(QStringLiteral("reviewHistory"));
    history_->setReadOnly(true);
    history_->setPlainText(tr("No saved version on screen."));
    window_.addPanel(history_, tr("Review history"));
    QObject::connect(versionsPanel_, &VersionsPanel::openReadOnlyRequested, this,
                     [this](const annotation::VersionId& id) { openVersion(id, true); });
    QObject::connect(versionsPanel_, &VersionsPanel::newDraftRequested, this,
                     [this](const annotation::VersionId& id) { openVersion(id, false); });
    viewer::LabelEditor* editor = window_.viewer()->labelEditor();
    const auto edited = [this] {
        edited_ = !readOnly_;
        draftStale_ = edited_;
    };
    QObject::connect(editor, &viewer::LabelEditor::labelsChanged, this, edited);
    QObject::connect(editor, &viewer::LabelEditor::segmentsChanged, this, edited);
    QObject::connect(editor, &viewer::LabelEditor::boxesChanged, this, edited);
    window_.installEventFilter(this);
    draftStatus_ = new QLabel(&window_);
    draftStatus_->setObjectName(QStringLiteral("draftStatus"));
    window_.statusBar()->addPermanentWidget(draftStatus_);
    autosaveInterval_ = autosaveIntervalFromEnvironment();
    autosaveTimer_ = new QTimer(this);
    QObject::connect(autosaveTimer_, &QTimer::timeout, this, &ServiceWorkspace::checkAutosave);
    // Checked a few times per interval, so a draft is written at most ~1/4 interval late.
    autosaveTimer_->start(std::clamp<std::chrono::milliseconds>(
        autosaveInterval_ / 4, std::chrono::milliseconds(250), std::chrono::seconds(5)));
    // Quitting keeps the latest edits as a draft; the next opening offers it.
    QObject::connect(qApp, &QCoreApplication::aboutToQuit, this, [this] { autosaveNow(); });
}

void ServiceWorkspace::checkAutosave() {
    // Never in the middle of a drag: the draft waits for the stroke to end.
    if (QApplication::mouseButtons() != Qt::NoButton || !draftStale_)
        return;
    if (std::chrono::steady_clock::now() - lastDraft_ >= autosaveInterval_)
        autosaveNow();
}

bool ServiceWorkspace::autosaveNow() {
    viewer::LabelEditor* editor = window_.viewer()->labelEditor();
    if (!access_ || !studyId_ || !draftStale_ || readOnly_ || role_ != storage::Role::Annotator ||
        !editor->hasAnnotation())
        return false;
    lastDraft_ = std::chrono::steady_clock::now();
    try {
        ensureParentKnown();
        access_->saveDraft(studyKey(*studyId_), editor->labelsForSaving(), editor->segments(),
                           editor->boxes().all());
    } catch (const std::exception& e) {
        // Kept as edited: the next check tries again. A status line, not a dialog every tick.
        draftStatus_->setText(tr("Draft not saved: %1").arg(QString::fromUtf8(e.what())));
        return false;
    }
    draftStale_ = false;
    draftWritten_ = true;
    draftStatus_->setText(
        tr("Draft saved %1").arg(QTime::currentTime().toString(QStringLiteral("HH:mm:ss"))));
    return true;
}

void ServiceWorkspace::ensureParentKnown() {
    if (!parentKnown_ && shown_ && studyId_) // a new session: her edits continue what is shown
        access_->openVersion(studyKey(*studyId_), shown_->hex(), false);
    parentKnown_ = true;
}

bool ServiceWorkspace::offerDraftRecovery(const workflow::PendingDraft& draft) {
    const DraftAnswer answer = askAboutDraft(draft.savedUtc, draft.newerAuthors, &window_);
    try {
        if (answer == DraftAnswer::Recover) {
            annotation::OpenedAnnotation opened = access_->recoverDraft(studyKey(*studyId_));
            viewer::LabelEditor* editor = window_.viewer()->labelEditor();
            editor->setReadOnly(false);
            if (!editor->continueFrom(opened))
                throw std::runtime_error("the draft does not fit this study's grid");
            annotation::LabelMap& labels = editor->labelsForSaving();
            for (int z = 0; z < labels.chunkCount(); ++z)
                if (const auto hash = opened.labels.knownHash(z))
                    labels.markClean(z, *hash);
            shown_ = opened.parent;
            readOnly_ = false;
            edited_ = true; // her draft is not a version yet
            draftWritten_ = true;
            draftStatus_->setText(tr("Recovered the draft of %1")
                                      .arg(localClock(draft.savedUtc, QStringLiteral("HH:mm:ss"))));
            return true;
        }
        if (answer == DraftAnswer::Discard) {
            access_->discardDraft(studyKey(*studyId_));
            draftStatus_->setText(tr("Draft discarded"));
            return false;
        }
    } catch (const std::exception& e) {
        report(tr("Unsaved work"), e);
        return false;
    }
    // Decide later: nothing can be edited, so nothing new can be lost and the draft stays.
    readOnly_ = true;
    draftStatus_->setText(tr("An unsaved draft waits: reopen the study to recover or discard it."));
    return false;
}

ServiceWorkspace::~ServiceWorkspace() = default;

void ServiceWorkspace::buildMenu() {
    QMenu* menu = window_.menuBar()->addMenu(tr("&Store"));
    auto* open = menu->addAction(tr("Open &stored study..."), this, &ServiceWorkspace::chooseStudy);
    open->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_T));
    saveAction_ = menu->addAction(tr("&Save version..."), this, &ServiceWorkspace::saveVersion);
    saveAction_->setShortcut(QKeySequence::Save);
    submitAction_ =
        menu->addAction(tr("Su&bmit for review"), this, &ServiceWorkspace::submitForReview);
    submitAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Return));
    auto* versions = menu->addAction(tr("&Versions"), this, [this] {
        versionsDock_->show();
        versionsDock_->raise();
        versionsPanel_->table()->setFocus(Qt::ShortcutFocusReason);
    });
    versions->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_V));
    menu->addSeparator();
    auto* lockAction = menu->addAction(tr("&Lock"), this, &ServiceWorkspace::lock);
    lockAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_L));

    reviewMenu_ = window_.menuBar()->addMenu(tr("&Review"));
    auto* queue =
        reviewMenu_->addAction(tr("Review &queue..."), this, [this] { chooseStudy(true); });
    queue->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_Q));
    reviewMenu_->addSeparator();
    addDecisionActions(reviewMenu_, [this](storage::Decision decision) { decide(decision); });
}

bool ServiceWorkspace::decide(storage::Decision decision) {
    if (!access_ || !studyId_ || !shown_) {
        QMessageBox::information(&window_, tr("Review"),
                                 tr("Open a submitted version from the review queue first "
                                    "(Ctrl+Shift+Q)."));
        return false;
    }
    const std::optional<QString> comment = askDecisionComment(decision, &window_);
    if (!comment)
        return false;
    const QString& message = *comment;
    cli::DecisionOutcome outcome;
    try {
        outcome = access_->decide(studyKey(*studyId_), shown_->hex(), decision,
                                  message.toStdString(), false);
        if (outcome.openComments > 0) {
            if (!askToResolveOpenComments(outcome.openComments, &window_))
                return false;
            outcome = access_->decide(studyKey(*studyId_), shown_->hex(), decision,
                                      message.toStdString(), true);
        }
    } catch (const std::exception& e) { // already decided, her own version, the role: its words
        report(tr("Review"), e);
        return false;
    }
    refreshVersions();
    window_.statusBar()->showMessage(
        tr("You %1 version %2.")
            .arg(decisionText(outcome.decision),
                 QString::fromStdString(outcome.contentHash.substr(0, 12))),
        10000);
    return true;
}

bool ServiceWorkspace::logIn(const std::string& suggestedUser) {
    LoginDialog dialog(
        [this](const std::string& user, const std::string& password) {
            std::unique_ptr<cli::StoreAccess> access = connect_(user, password);
            role_ = access->role();
            access_ = std::move(access);
            user_ = user;
        },
        &window_);
    dialog.setWindowTitle(tr("Radmark: log in"));
    if (!suggestedUser.empty())
        dialog.setUserName(QString::fromStdString(suggestedUser));
    if (dialog.exec() != QDialog::Accepted || !access_)
        return false;
    window_.viewer()->boxInteraction()->setAuthor(user_); // her boxes name her
    applyEditingRule();                                   // the menus her role has
    updateTitle();
    window_.statusBar()->showMessage(
        tr("Logged in through the Radmark service: Ctrl+Shift+T opens a study."), 10000);
    return true;
}

void ServiceWorkspace::updateTitle() {
    if (!access_) {
        window_.setWindowTitle(tr("Radmark"));
        return;
    }
    QString title =
        tr("Radmark: %1 (%2)")
            .arg(QString::fromStdString(user_), QString::fromStdString(storage::roleName(role_)));
    if (shown_ && readOnly_)
        title += tr(" - read-only version %1").arg(shortId(*shown_));
    window_.setWindowTitle(title);
}

void ServiceWorkspace::report(const QString& title, const std::exception& e) {
    QMessageBox::warning(&window_, title, QString::fromUtf8(e.what()));
    if (access_ && access_->sessionEnded())
        logInAgain();
}

bool ServiceWorkspace::logInAgain() {
    const std::string previous = user_;
    access_.reset();
    if (!logIn(previous))
        return false;
    if (user_ != previous) {
        // Someone else: what was on screen (and its edits) is not hers to see or to save.
        closeStudy();
        return true;
    }
    parentKnown_ = !studyId_;
    return true;
}

void ServiceWorkspace::chooseStudy(bool queue) {
    if (!access_ && !logInAgain())
        return;
    std::unique_ptr<WorklistDialog> dialog;
    std::optional<std::vector<workflow::WorklistRow>> queueRows;
    try {
        if (role_ == storage::Role::Reviewer)
            queueRows = access_->reviewQueue();
        dialog = std::make_unique<WorklistDialog>(access_->worklist(), queueRows, &window_);
    } catch (const std::exception& e) {
        report(tr("Worklist"), e);
        return;
    }
    if (queue)
        dialog->showQueue();
    if (dialog->exec() != QDialog::Accepted)
        return;
    const std::optional<WorklistDialog::Choice> choice = dialog->choice();
    dialog.reset();
    if (!choice || !openStudy(choice->studyId) || !choice->version || !queueRows)
        return;
    // A queue row: that submitted version, read-only, for her decision.
    for (const workflow::WorklistRow& row : *queueRows)
        if (row.studyId == choice->studyId && row.latest &&
            row.latest->annotationId == *choice->version)
            openVersion(row.latest->id, true);
}

void ServiceWorkspace::closeStudy() {
    window_.closeStudy();
    studyId_.reset();
    shown_.reset();
    readOnly_ = false;
    edited_ = false;
    draftStale_ = false;
    draftWritten_ = false;
    draftStatus_->clear();
    versionsPanel_->clear(tr("Open a stored study to see its versions."));
    history_->setPlainText(tr("No saved version on screen."));
    updateTitle();
}

bool ServiceWorkspace::openStudy(std::int64_t studyId) {
    if (!access_ || (studyId_ && !confirmLeavingEdits()))
        return false;
    QApplication::setOverrideCursor(Qt::WaitCursor);
    std::shared_ptr<imaging::Volume> volume;
    std::optional<cli::OpenedVersion> newest;
    try {
        volume = std::make_shared<imaging::Volume>(access_->openVolume(studyKey(studyId)));
        // Annotators and reviewers see the newest version over the images; admins none.
        if (role_ != storage::Role::Admin)
            newest = access_->openVersion(studyKey(studyId), std::nullopt,
                                          role_ != storage::Role::Annotator);
    } catch (const std::exception& e) {
        QApplication::restoreOverrideCursor();
        report(tr("Open stored study"), e);
        return false;
    }
    std::optional<workflow::PendingDraft> draft;
    if (role_ == storage::Role::Annotator) {
        try {
            draft = access_->pendingDraft(studyKey(studyId));
        } catch (const std::exception& e) {
            QApplication::restoreOverrideCursor();
            report(tr("Open stored study"), e);
            return false;
        }
    }
    QApplication::restoreOverrideCursor();
    closeStudy();
    window_.showStoredVolume(std::move(volume));
    studyId_ = studyId;
    if (newest)
        showOpened(std::move(*newest), role_ != storage::Role::Annotator);
    else
        markEmptySlicesClean();
    if (draft)
        offerDraftRecovery(*draft);
    applyEditingRule();
    refreshVersions();
    updateTitle();
    return true;
}

bool ServiceWorkspace::showOpened(cli::OpenedVersion opened, bool readOnly) {
    viewer::LabelEditor* editor = window_.viewer()->labelEditor();
    editor->setReadOnly(false);
    if (!editor->continueFrom(opened.annotation)) {
        QMessageBox::warning(&window_, tr("Open version"),
                             tr("This annotation does not fit this study's grid; it was not "
                                "loaded."));
        return false;
    }
    // continueFrom copies the slices: they hold the version's content, under its hashes.
    annotation::LabelMap& labels = editor->labelsForSaving();
    for (int z = 0; z < labels.chunkCount(); ++z)
        if (const auto hash = opened.annotation.labels.knownHash(z))
            labels.markClean(z, *hash);
    shown_ = opened.id;
    readOnly_ = readOnly;
    edited_ = false;
    return true;
}

void ServiceWorkspace::markEmptySlicesClean() {
    // A new annotation is all empty slices: one hash for all, so that a draft sends only the
    // slices she painted (the service writes the empty slice when the store lacks it).
    viewer::LabelEditor* editor = window_.viewer()->labelEditor();
    if (!editor->hasAnnotation())
        return;
    annotation::LabelMap& labels = editor->labelsForSaving();
    if (labels.chunkCount() == 0 || !labels.chunkIsEmpty(0))
        return;
    const imaging::ChunkHash empty = imaging::hashContent(labels.chunkBytes(0));
    for (int z = 0; z < labels.chunkCount(); ++z)
        if (labels.chunkIsEmpty(z))
            labels.markClean(z, empty);
}

void ServiceWorkspace::applyEditingRule() {
    // Only an annotator edits, and not a version opened read-only.
    window_.viewer()->labelEditor()->setReadOnly(readOnly_ || role_ != storage::Role::Annotator);
    saveAction_->setEnabled(role_ == storage::Role::Annotator);
    // Not even a greyed-out menu for annotators: its shortcuts go with it.
    reviewMenu_->menuAction()->setVisible(role_ == storage::Role::Reviewer);
    submitAction_->setEnabled(role_ == storage::Role::Annotator);
}

bool ServiceWorkspace::openVersion(const annotation::VersionId& id, bool readOnly) {
    if (!access_ || !studyId_ || !confirmLeavingEdits())
        return false;
    const bool mayEdit = role_ == storage::Role::Annotator;
    try {
        std::optional<cli::OpenedVersion> opened =
            access_->openVersion(studyKey(*studyId_), id.hex(), readOnly || !mayEdit);
        if (!opened || !showOpened(std::move(*opened), readOnly || !mayEdit))
            return false;
    } catch (const std::exception& e) {
        report(readOnly ? tr("Open version") : tr("New draft"), e);
        return false;
    }
    applyEditingRule();
    refreshVersions();
    updateTitle();
    window_.statusBar()->showMessage(versionOpenedText(id, readOnly), 10000);
    return true;
}

void ServiceWorkspace::refreshVersions() {
    if (!access_ || !studyId_)
        return;
    if (role_ == storage::Role::Admin) {
        versionsPanel_->clear(tr("Administrators do not see annotations."));
        return;
    }
    try {
        std::vector<VersionsPanel::Entry> entries;
        for (cli::VersionEntry& entry : access_->versions(studyKey(*studyId_)))
            entries.push_back({std::move(entry.version), entry.review});
        versionsPanel_->setVersions(entries, shown_);
    } catch (const std::exception& e) {
        versionsPanel_->clear(tr("The versions could not be read: %1").arg(e.what()));
    }
    refreshHistory();
}

void ServiceWorkspace::refreshHistory() {
    if (!access_ || !studyId_ || !shown_) {
        history_->setPlainText(tr("No saved version on screen."));
        return;
    }
    try {
        QStringList lines;
        for (const storage::ReviewEvent& e : access_->history(studyKey(*studyId_), shown_->hex()))
            lines << QStringLiteral("%1  %2  %3%4")
                         .arg(localClock(e.time, QStringLiteral("yyyy-MM-dd HH:mm")),
                              QString::fromStdString(e.user), QString::fromStdString(e.what),
                              e.details.empty()
                                  ? QString()
                                  : QStringLiteral(": ") + QString::fromStdString(e.details));
        history_->setPlainText(tr("Version %1\n").arg(shortId(*shown_)) + lines.join('\n'));
    } catch (const std::exception& e) {
        history_->setPlainText(tr("The history could not be read: %1").arg(e.what()));
    }
}

bool ServiceWorkspace::saveVersion() {
    viewer::LabelEditor* editor = window_.viewer()->labelEditor();
    if (!access_ && studyId_ && !logInAgain())
        return false;
    if (!access_ || !studyId_ || !editor->hasAnnotation()) {
        window_.statusBar()->showMessage(tr("Open a stored study to save its annotation."), 5000);
        return false;
    }
    if (role_ != storage::Role::Annotator || readOnly_) {
        QMessageBox::information(&window_, tr("Save version"),
                                 readOnly_
                                     ? tr("This version is open read-only: \"New draft from this "
                                          "version\" in the Versions panel to edit it.")
                                     : tr("Only annotators save label edits."));
        return false;
    }
    const std::optional<QString> message = askVersionMessage(&window_);
    if (!message)
        return false;
    try {
        QApplication::setOverrideCursor(Qt::WaitCursor);
        ensureParentKnown();
        const cli::SavedVersion saved =
            access_->saveVersion(studyKey(*studyId_), editor->labelsForSaving(), editor->segments(),
                                 editor->boxes().all(), message->toStdString());
        QApplication::restoreOverrideCursor();
        shown_ = annotation::VersionId::fromHex(saved.versionId);
        edited_ = false;
        draftStale_ = false;
        draftWritten_ = false; // the save deleted her draft in the same transaction
        draftStatus_->clear();
        window_.statusBar()->showMessage(
            tr("Saved version %1 (%2 new chunks)").arg(shortId(*shown_)).arg(saved.chunksWritten),
            10000);
    } catch (const std::exception& e) {
        QApplication::restoreOverrideCursor();
        // Nothing on screen is lost: the edits stay, marked as not saved, for another try.
        const std::runtime_error notSaved(std::string("The version was not saved: ") + e.what());
        report(tr("Save version"), notSaved);
        return false;
    }
    refreshVersions();
    return true;
}

bool ServiceWorkspace::submitForReview() {
    if (!access_ || !studyId_) {
        window_.statusBar()->showMessage(tr("Open a stored study to submit its annotation."), 5000);
        return false;
    }
    if (edited_ && !readOnly_) {
        // What is submitted is a saved version: the edits on screen must become one first.
        if (!askToSaveBeforeSubmit(&window_) || !saveVersion())
            return false;
    }
    if (!shown_) {
        QMessageBox::information(&window_, tr("Submit for review"),
                                 tr("There is no saved version of yours to submit: save the "
                                    "annotation as a version first (Ctrl+S)."));
        return false;
    }
    try { // the service says why not: another's version, already decided, the role
        access_->submitForReview(studyKey(*studyId_), shown_->hex());
    } catch (const std::exception& e) {
        report(tr("Submit for review"), e);
        return false;
    }
    refreshVersions();
    window_.statusBar()->showMessage(tr("Submitted version %1 for review.").arg(shortId(*shown_)),
                                     10000);
    return true;
}

bool ServiceWorkspace::confirmLeavingEdits() {
    if (!edited_ || readOnly_)
        return true;
    const EditsAnswer answer = askAboutUnsavedEdits(&window_);
    if (answer == EditsAnswer::Save)
        return saveVersion();
    if (answer != EditsAnswer::Discard)
        return false;
    if (draftWritten_ && access_ && studyId_) { // discarded edits: her draft of them goes too
        try {
            access_->discardDraft(studyKey(*studyId_));
        } catch (const std::exception& e) {
            report(tr("Unsaved changes"), e);
        }
    }
    return true;
}

bool ServiceWorkspace::lock() {
    if (!confirmLeavingEdits())
        return false;
    closeStudy();
    access_.reset(); // the worker logs out as the channel closes
    user_.clear();
    updateTitle();
    if (!logIn())
        QApplication::quit();
    return true;
}

bool ServiceWorkspace::eventFilter(QObject* watched, QEvent* event) {
    if (watched == &window_ && event->type() == QEvent::Close && !confirmLeavingEdits()) {
        event->ignore();
        return true;
    }
    return QObject::eventFilter(watched, event);
}

} // namespace radmark::gui
