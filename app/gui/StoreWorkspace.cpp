#include "app/gui/StoreWorkspace.h"

#include "app/gui/AgreementDialog.h"
#include "app/gui/AnnotationQuestions.h"
#include "app/gui/CommentsPanel.h"
#include "app/gui/DatasetsDialog.h"
#include "app/gui/ExportDialog.h"
#include "app/gui/MainWindow.h"
#include "app/gui/PacsImportDialog.h"
#include "app/gui/ReviewDocks.h"
#include "app/gui/ReviewPanel.h"
#include "app/gui/VersionsPanel.h"
#include "app/gui/WorklistDialog.h"
#include "app/gui/import/ImportDialog.h"
#include "app/gui/security/AdminPanel.h"
#include "app/gui/security/LockScreen.h"
#include "app/gui/security/LoginDialog.h"
#include "storage/Errors.h"
#include "storage/StoredStudy.h"
#include "storage/Studies.h"
#include "viewer/BoxInteraction.h"
#include "viewer/CommentMarkers.h"
#include "viewer/ComparisonViewer.h"
#include "viewer/FourUpViewer.h"
#include "viewer/LabelEditor.h"
#include "workflow/AgreementReport.h"
#include "workflow/AnnotationSession.h"
#include "workflow/Review.h"

#include <QApplication>
#include <QDateTime>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDockWidget>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMenuBar>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QStatusBar>
#include <QTableWidget>
#include <QTimer>
#include <QTreeWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace radmark::gui {

namespace {


} // namespace

StoreWorkspace::StoreWorkspace(storage::Store store, MainWindow& window)
    : QObject(&window), store_(std::move(store)), window_(window) {
    buildMenu();
    versionsPanel_ = new VersionsPanel(&window_);
    versionsDock_ = window_.addPanel(versionsPanel_, tr("Versions"));
    connect(versionsPanel_, &VersionsPanel::openReadOnlyRequested, this,
            &StoreWorkspace::openVersionReadOnly);
    connect(versionsPanel_, &VersionsPanel::newDraftRequested, this,
            &StoreWorkspace::startDraftFrom);

    // The review loop: the compare view below the four-up, the comments beside it, their
    // markers in the four-up (ReviewDocks, as through the service).
    reviewDocks_ = new ReviewDocks(window_);
    reviewPanel_ = reviewDocks_->reviewPanel();
    reviewDock_ = reviewDocks_->reviewDock();
    commentsPanel_ = reviewDocks_->commentsPanel();
    commentsDock_ = reviewDocks_->commentsDock();
    commentMarkers_ = reviewDocks_->commentMarkers();
    connect(reviewPanel_, &ReviewPanel::failed, this, [this](const QString& message) {
        QMessageBox::warning(&window_, tr("Compare versions"), message);
    });
    connect(reviewPanel_->viewer(), &viewer::ComparisonViewer::pointPinned, this,
            &StoreWorkspace::pinComment);
    buildReviewMenu();
    buildAdminMenu();

    draftStatus_ = new QLabel(&window_);
    draftStatus_->setObjectName(QStringLiteral("draftStatus"));
    window_.statusBar()->addPermanentWidget(draftStatus_);

    viewer::LabelEditor* editor = window_.viewer()->labelEditor();
    connect(editor, &viewer::LabelEditor::labelsChanged, this, &StoreWorkspace::annotationEdited);
    connect(editor, &viewer::LabelEditor::segmentsChanged, this, &StoreWorkspace::annotationEdited);
    connect(editor, &viewer::LabelEditor::boxesChanged, this, &StoreWorkspace::annotationEdited);

    autosaveTimer_ = new QTimer(this);
    connect(autosaveTimer_, &QTimer::timeout, this, &StoreWorkspace::checkAutosave);
    setAutosaveInterval(autosaveIntervalFromEnvironment());
    // Quitting keeps the latest edits as a draft too; the next opening offers it.
    connect(qApp, &QCoreApplication::aboutToQuit, this, [this] { autosaveNow(); });
}

StoreWorkspace::~StoreWorkspace() = default;

void StoreWorkspace::setAutosaveInterval(std::chrono::seconds interval) {
    autosaveInterval_ = std::max(interval, std::chrono::seconds(1));
    if (annotations_)
        annotations_->setAutosaveInterval(autosaveInterval_);
    // Checked a few times per interval, so a draft is written at most ~1/4 interval late.
    const auto check = std::clamp<std::chrono::milliseconds>(
        autosaveInterval_ / 4, std::chrono::milliseconds(250), std::chrono::seconds(5));
    autosaveTimer_->start(check);
}

storage::Session* StoreWorkspace::session() {
    return session_ ? &*session_ : nullptr;
}

std::optional<annotation::VersionId> StoreWorkspace::readOnlyVersion() const {
    return annotations_ ? annotations_->state().readOnlyVersion : std::nullopt;
}

std::optional<annotation::VersionId> StoreWorkspace::draftParent() const {
    return annotations_ ? annotations_->state().parent : std::nullopt;
}

bool StoreWorkspace::logIn() {
    gui::LoginDialog dialog(store_, &window_);
    dialog.setWindowTitle(tr("Radmark: log in"));
    if (dialog.exec() != QDialog::Accepted)
        return false;
    session_ = dialog.takeSession();
    if (!session_)
        return false;
    sessionChanged();
    return true;
}

std::optional<std::int64_t> StoreWorkspace::versionOnScreen() const {
    if (!annotations_ || !reviews_)
        return std::nullopt;
    const workflow::AnnotationState state = annotations_->state();
    const std::optional<annotation::VersionId> id =
        state.readOnlyVersion ? state.readOnlyVersion : state.parent;
    if (!id)
        return std::nullopt;
    for (const workflow::ReviewVersion& v : reviews_->versions())
        if (v.id == *id)
            return v.annotationId;
    return std::nullopt;
}

void StoreWorkspace::buildMenu() {
    menu_ = window_.menuBar()->addMenu(tr("&Store"));
    auto* open = menu_->addAction(tr("Open &stored study..."), this, &StoreWorkspace::chooseStudy);
    open->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_T));
    auto* save = menu_->addAction(tr("&Save version..."), this, &StoreWorkspace::saveVersion);
    save->setShortcut(QKeySequence::Save);
    auto* submit =
        menu_->addAction(tr("Su&bmit for review"), this, &StoreWorkspace::submitForReview);
    submit->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Return));
    auto* versions = menu_->addAction(tr("&Versions"), this, [this] {
        versionsDock_->show();
        versionsDock_->raise();
        versionsPanel_->table()->setFocus(Qt::ShortcutFocusReason);
    });
    versions->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_V));
    importAction_ =
        menu_->addAction(tr("&Import studies..."), this, &StoreWorkspace::showImportDialog);
    importAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_I));
    pacsImportAction_ =
        menu_->addAction(tr("Import from &PACS..."), this, &StoreWorkspace::showPacsImportDialog);
    pacsImportAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_I));
    adminAction_ =
        menu_->addAction(tr("&Administration..."), this, &StoreWorkspace::showAdminPanel);
    adminAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_U));
    menu_->addSeparator();
    auto* lock = menu_->addAction(tr("&Lock"), [this] {
        if (lockScreen_)
            lockScreen_->lockNow();
    });
    lock->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_L));
    menu_->addAction(tr("Log &out"), [this] {
        if (lockScreen_)
            lockScreen_->logOut();
    });
}

void StoreWorkspace::buildReviewMenu() {
    reviewMenu_ = window_.menuBar()->addMenu(tr("&Review"));
    const auto add = [this](const QString& text, const QKeySequence& key, auto slot) {
        QAction* action = reviewMenu_->addAction(text, this, slot);
        action->setShortcut(key);
        return action;
    };
    add(tr("Review &queue..."), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_Q),
        [this] { chooseStudy(true); });
    add(tr("&Compare versions"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_D), [this] {
        if (const auto version = reviewedVersion_ ? reviewedVersion_ : versionOnScreen())
            showComparison(*version);
        else
            window_.statusBar()->showMessage(tr("Open a stored version to compare it."), 5000);
    });
    reviewMenu_->addSeparator();
    addDecisionActions(reviewMenu_, [this](storage::Decision decision) { decide(decision); });
    add(tr("Decide and open &next..."), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_Return),
        [this] { decideAndOpenNext(); });
    reviewMenu_->addSeparator();
    // The compare view's own actions (O, S, P while it has the focus), so the menu shows them.
    viewer::ComparisonViewer* compare = reviewPanel_->viewer();
    reviewMenu_->addAction(compare->overlayAction());
    reviewMenu_->addAction(compare->swapAction());
    reviewMenu_->addAction(compare->pinAction());
    addCommentActions(
        reviewMenu_, [this](int direction) { jumpToComment(direction); },
        [this] { reviewDocks_->showComments(); });
    reviewMenu_->addSeparator();
    reviewMenu_->addAction(tr("Build consensus (&vote)"), this, [this] { buildConsensus(false); });
    reviewMenu_->addAction(tr("Build consensus (&STAPLE)"), this, [this] { buildConsensus(true); });
    reviewMenu_->addSeparator();
    add(tr("A&greement report..."), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_G),
        [this] { showAgreementReport(); });
}

void StoreWorkspace::buildAdminMenu() {
    adminMenu_ = window_.menuBar()->addMenu(tr("A&dmin"));
    adminMenu_->setObjectName(QStringLiteral("adminMenu"));
    QAction* datasets =
        adminMenu_->addAction(tr("&Datasets..."), this, &StoreWorkspace::showDatasetsDialog);
    datasets->setObjectName(QStringLiteral("datasetsAction"));
    datasets->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_B));
    QAction* exportAction =
        adminMenu_->addAction(tr("&Export dataset..."), this, [this] { showExportDialog(); });
    exportAction->setObjectName(QStringLiteral("exportAction"));
    exportAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E));
    adminMenu_->menuAction()->setVisible(false); // until an admin logs in
}

bool StoreWorkspace::showAgreementReport() {
    if (!session_)
        return false;
    workflow::AgreementSummary summary;
    QApplication::setOverrideCursor(Qt::WaitCursor);
    try {
        summary = workflow::reviewersAgreement(*session_);
    } catch (const std::exception& e) {
        QApplication::restoreOverrideCursor();
        QMessageBox::warning(&window_, tr("Agreement report"), QString::fromUtf8(e.what()));
        return false;
    }
    QApplication::restoreOverrideCursor();
    AgreementDialog dialog(std::move(summary), &window_);
    dialog.exec();
    return true;
}

void StoreWorkspace::sessionChanged() {
    if (session_) // boxes drawn from now on name their author
        window_.viewer()->boxInteraction()->setAuthor(session_->userName());
    const bool admin = session_ && session_->role() == storage::Role::Admin;
    adminAction_->setEnabled(admin);
    importAction_->setEnabled(admin);
    pacsImportAction_->setEnabled(admin);
    // Not even a greyed-out menu for the others: its shortcuts go with it.
    adminMenu_->menuAction()->setVisible(admin);
    for (QAction* action : adminMenu_->actions())
        action->setEnabled(admin);
    applyEditingRule();
    if (!lockScreen_) {
        lockScreen_ = new gui::LockScreen(&*session_, window_.centralWidget());
        connect(lockScreen_, &gui::LockScreen::loggedOut, this, &StoreWorkspace::afterLogout);
        connect(lockScreen_, &gui::LockScreen::sessionEnding, this,
                [this] { autosaveNow(); }); // locking or logging out keeps the latest edits
        // The lock covers the central views; the compare view shows images too.
        connect(lockScreen_, &gui::LockScreen::locked, this, [this] {
            reviewDockWasVisible_ = reviewDock_->isVisible();
            reviewDock_->hide();
        });
        connect(lockScreen_, &gui::LockScreen::unlocked, this, [this] {
            if (reviewDockWasVisible_)
                reviewDock_->show();
        });
    } else {
        lockScreen_->setSession(&*session_);
    }
    updateTitle();
}

void StoreWorkspace::updateTitle() {
    if (!session_) {
        window_.setWindowTitle(tr("Radmark"));
        return;
    }
    QString title = tr("Radmark: %1 (%2)")
                        .arg(QString::fromStdString(session_->userName()),
                             QString::fromStdString(storage::roleName(session_->role())));
    if (annotations_) {
        const workflow::AnnotationState state = annotations_->state();
        if (state.readOnlyVersion)
            title += tr(" - read-only version %1").arg(shortId(*state.readOnlyVersion));
        if (state.draftWaiting)
            title += tr(" - read-only: an unsaved draft waits");
    }
    window_.setWindowTitle(title);
}

void StoreWorkspace::forgetStudy() {
    reviewPanel_->clear();
    reviewDock_->hide();
    commentsPanel_->clear(tr("Open a stored study to see its comments."));
    commentMarkers_->setMarkers({});
    reviewedVersion_.reset();
    reviews_.reset();
    volume_.reset();
    openStudyId_.reset();
    annotations_.reset();
    draftStatus_->clear();
    versionsPanel_->clear(tr("Open a stored study to see its versions."));
    updateTitle();
}

void StoreWorkspace::afterLogout() {
    // The next user must not see what the last one had open. The latest edits were written as
    // a draft just before the session closed (sessionEnding).
    window_.closeStudy();
    forgetStudy();
    session_.reset();
    if (!logIn())
        QApplication::quit();
}

void StoreWorkspace::chooseStudy(bool queue) {
    if (!session_)
        return;
    std::unique_ptr<WorklistDialog> dialog;
    try {
        std::optional<std::vector<workflow::WorklistRow>> reviewQueue;
        if (session_->role() == storage::Role::Reviewer)
            reviewQueue = workflow::reviewQueue(*session_);
        dialog =
            std::make_unique<WorklistDialog>(workflow::worklist(*session_), reviewQueue, &window_);
    } catch (const std::exception& e) {
        QMessageBox::warning(&window_, tr("Worklist"), QString::fromUtf8(e.what()));
        return;
    }
    if (queue)
        dialog->showQueue();
    if (dialog->exec() != QDialog::Accepted)
        return;
    const std::optional<WorklistDialog::Choice> choice = dialog->choice();
    dialog.reset();
    if (!choice)
        return;
    if (choice->version)
        openForReview(choice->studyId, *choice->version);
    else
        openStudy(choice->studyId);
}

void StoreWorkspace::openStudy(std::int64_t studyId) {
    if (!session_)
        return;
    // Edits not saved as a version: Save / Discard / Cancel, as before any other replacement.
    if (openStudyId_ && !confirmLeavingEdits())
        return;
    QApplication::setOverrideCursor(Qt::WaitCursor);
    try {
        auto volume =
            std::make_shared<imaging::Volume>(storage::loadStoredVolume(*session_, studyId));
        // Annotators and reviewers see the newest version of their line over the images;
        // admins see none.
        std::unique_ptr<workflow::AnnotationSession> annotations;
        if (session_->role() != storage::Role::Admin)
            annotations = std::make_unique<workflow::AnnotationSession>(*session_, studyId,
                                                                        autosaveInterval_);
        // The review side: versions with their states, comments (annotators and reviewers).
        std::unique_ptr<workflow::ReviewSession> reviews;
        if (annotations)
            reviews = std::make_unique<workflow::ReviewSession>(*session_, studyId);
        QApplication::restoreOverrideCursor();
        window_.showStoredVolume(volume);
        forgetStudy();
        openStudyId_ = studyId;
        volume_ = std::move(volume);
        annotations_ = std::move(annotations);
        reviews_ = std::move(reviews);
        if (annotations_ && !offerDraftRecovery()) {
            if (const auto newest = annotations_->openNewest())
                showAnnotation(*newest);
            else
                markEmptySlicesClean();
        }
        if (annotations_ && annotations_->state().draftWaiting)
            showReadOnlyWhileDraftWaits();
        applyEditingRule();
        refreshVersions();
        refreshReview();
    } catch (const std::exception& e) {
        QApplication::restoreOverrideCursor();
        QMessageBox::warning(&window_, tr("Open stored study"), QString::fromUtf8(e.what()));
    }
}

bool StoreWorkspace::offerDraftRecovery() {
    const std::optional<workflow::PendingDraft> draft = annotations_->pendingDraft();
    if (!draft)
        return false;
    const DraftAnswer answer = askAboutDraft(draft->savedUtc, draft->newerAuthors, &window_);
    if (answer == DraftAnswer::Recover) {
        const annotation::OpenedAnnotation opened = annotations_->recoverDraft();
        if (!showAnnotation(opened))
            return false;
        draftStatus_->setText(tr("Recovered the draft of %1")
                                  .arg(localClock(draft->savedUtc, QStringLiteral("HH:mm:ss"))));
        return true;
    }
    if (answer == DraftAnswer::Discard) {
        annotations_->discardDraft();
        draftStatus_->setText(tr("Draft discarded"));
    } else {
        annotations_->decideLater(); // openStudy shows the newest version read-only
    }
    return false;
}

void StoreWorkspace::showReadOnlyWhileDraftWaits() {
    // Nothing can be edited, so nothing new can be lost and the draft stays as it was.
    draftStatus_->setText(QString::fromStdString(workflow::AnnotationSession::draftWaitsMessage()));
    updateTitle();
}

void StoreWorkspace::applyEditingRule() {
    viewer::LabelEditor* editor = window_.viewer()->labelEditor();
    editor->setReadOnly(annotations_ && !annotations_->state().mayEdit);
    // A reviewer never edits labels: her editing tools are off (an annotator on a read-only
    // version keeps them, and a stroke tells her how to start a new draft).
    const bool reviewer = session_ && session_->role() == storage::Role::Reviewer;
    const auto editing = [](const QString& tool) {
        return viewer::LabelEditor::toolDescription(tool) != nullptr; // navigation is no tool
    };
    for (QAction* action : window_.findChildren<QAction*>()) {
        const QString name = action->objectName();
        if ((name.startsWith(QStringLiteral("tool:")) ||
             name.startsWith(QStringLiteral("apply:"))) &&
            editing(name.section(QLatin1Char(':'), 1)))
            action->setEnabled(!reviewer);
    }
    if (auto* list = window_.findChild<QListWidget*>(QStringLiteral("toolList"))) {
        for (int row = 0; row < list->count(); ++row) {
            QListWidgetItem* item = list->item(row);
            if (editing(item->data(Qt::UserRole).toString()))
                item->setFlags(reviewer ? item->flags() & ~Qt::ItemIsEnabled
                                        : item->flags() | Qt::ItemIsEnabled);
        }
    }
    if (reviewer && editing(editor->toolName()))
        for (const QString& tool : viewer::LabelEditor::toolList())
            if (!editing(tool))
                editor->selectTool(tool);
}

bool StoreWorkspace::showAnnotation(const annotation::OpenedAnnotation& opened) {
    viewer::LabelEditor* editor = window_.viewer()->labelEditor();
    if (!editor->continueFrom(opened)) {
        QMessageBox::warning(&window_, tr("Open stored study"),
                             tr("This annotation does not fit this study's grid; it was not "
                                "loaded."));
        return false;
    }
    // The slices were only copied in: they are clean, with the hashes they were stored under.
    annotation::LabelMap& labels = editor->labelsForSaving();
    for (int z = 0; z < labels.chunkCount(); ++z) {
        if (const auto hash = opened.labels.knownHash(z))
            labels.markClean(z, *hash);
    }
    updateTitle();
    return true;
}

void StoreWorkspace::markEmptySlicesClean() {
    viewer::LabelEditor* editor = window_.viewer()->labelEditor();
    if (!editor->hasAnnotation())
        return;
    // A new annotation is all empty slices: one hash for all, so the first autosave does not
    // hash every slice of the volume while the user paints.
    annotation::LabelMap& labels = editor->labelsForSaving();
    if (labels.chunkCount() == 0 || !labels.chunkIsEmpty(0))
        return;
    const imaging::ChunkHash empty = imaging::hashContent(labels.chunkBytes(0));
    for (int z = 0; z < labels.chunkCount(); ++z) {
        if (labels.chunkIsEmpty(z))
            labels.markClean(z, empty);
    }
}

bool StoreWorkspace::confirmLeavingEdits() {
    if (!annotations_)
        return true;
    if (const workflow::AnnotationState state = annotations_->state();
        !state.editedSinceVersion || state.readOnlyVersion)
        return true;
    switch (askAboutUnsavedEdits(&window_)) {
    case EditsAnswer::Save:
        return saveVersion();
    case EditsAnswer::Discard:
        try {
            annotations_->discardEdits();
        } catch (const std::exception& e) {
            QMessageBox::warning(&window_, tr("Discard changes"), QString::fromUtf8(e.what()));
            return false;
        }
        return true;
    default:
        return false;
    }
}

bool StoreWorkspace::openVersionReadOnly(const annotation::VersionId& id) {
    if (!showVersion(id, true))
        return false;
    // A reviewer decides on what is on screen: the compare view follows it.
    if (session_ && session_->role() == storage::Role::Reviewer && reviewDock_->isVisible())
        if (const std::optional<std::int64_t> version = versionOnScreen();
            version && version != reviewedVersion_) {
            reviewedVersion_ = version;
            showComparison(*version);
        }
    return true;
}

bool StoreWorkspace::startDraftFrom(const annotation::VersionId& id) {
    return showVersion(id, false);
}

bool StoreWorkspace::showVersion(const annotation::VersionId& id, bool readOnly) {
    if (!annotations_)
        return false;
    if (annotations_->state().draftWaiting && !readOnly) {
        // Editing now would let autosave replace the waiting draft.
        QMessageBox::information(
            &window_, tr("New draft"),
            QString::fromStdString(workflow::AnnotationSession::draftWaitsMessage()));
        return false;
    }
    if (!confirmLeavingEdits())
        return false;
    try {
        // Read-only keeps the parent of the edits it replaced; a new draft continues from id.
        if (!showAnnotation(annotations_->openVersion(id, readOnly ? workflow::OpenAs::ReadOnly
                                                                   : workflow::OpenAs::NewDraft)))
            return false;
    } catch (const std::exception& e) {
        QMessageBox::warning(&window_, readOnly ? tr("Open version") : tr("New draft"),
                             QString::fromUtf8(e.what()));
        return false;
    }
    applyEditingRule();
    updateTitle();
    window_.statusBar()->showMessage(versionOpenedText(id, readOnly), 10000);
    refreshVersions();
    refreshReview();
    return true;
}

void StoreWorkspace::refreshReviewSession() {
    if (reviews_ && reviews_->studyId() == *openStudyId_)
        reviews_->refresh();
    else
        reviews_ = std::make_unique<workflow::ReviewSession>(*session_, *openStudyId_);
}

void StoreWorkspace::refreshVersions() {
    if (!annotations_) {
        versionsPanel_->clear(openStudyId_ ? tr("Administrators do not see annotations.")
                                           : tr("Open a stored study to see its versions."));
        return;
    }
    std::vector<VersionsPanel::Entry> entries;
    for (const workflow::VersionEntry& entry : annotations_->versions())
        entries.push_back({entry.version, entry.reviewState});
    const workflow::AnnotationState state = annotations_->state();
    versionsPanel_->setVersions(entries,
                                state.readOnlyVersion ? state.readOnlyVersion : state.parent);
}

void StoreWorkspace::annotationEdited() {
    if (annotations_)
        annotations_->edited();
}

void StoreWorkspace::checkAutosave() {
    // Never in the middle of a drag: the draft waits for the stroke to end.
    if (QApplication::mouseButtons() != Qt::NoButton)
        return;
    if (annotations_ && annotations_->autosaveDue())
        autosaveNow();
}

bool StoreWorkspace::autosaveNow() {
    viewer::LabelEditor* editor = window_.viewer()->labelEditor();
    if (!session_ || !annotations_ || !editor->hasAnnotation())
        return false;
    try {
        if (annotations_->autosave(editor->labelsForSaving(), editor->segments(),
                                   editor->boxes().all()) != workflow::AutosaveOutcome::Written)
            return false;
    } catch (const std::exception& e) {
        // Kept as edited: the next check tries again. A status line, not a dialog every tick.
        draftStatus_->setText(tr("Draft not saved: %1").arg(QString::fromUtf8(e.what())));
        return false;
    }
    const QString text =
        tr("Draft saved %1").arg(QTime::currentTime().toString(QStringLiteral("HH:mm:ss")));
    draftStatus_->setText(text);
    emit draftSaved(text);
    return true;
}

bool StoreWorkspace::saveVersion() {
    viewer::LabelEditor* editor = window_.viewer()->labelEditor();
    if (!session_ || !openStudyId_ || !annotations_ || !editor->hasAnnotation()) {
        window_.statusBar()->showMessage(tr("Open a stored study to save its annotation."), 5000);
        return false;
    }
    try { // the session says why not: a read-only version, a waiting draft, the role
        annotations_->requireMayEdit("save label edits");
    } catch (const workflow::AnnotationRefused& refused) {
        QMessageBox::information(&window_, tr("Save version"), QString::fromUtf8(refused.what()));
        return false;
    }
    const std::optional<QString> message = askVersionMessage(&window_);
    if (!message)
        return false;
    try {
        annotation::SaveReport report;
        const annotation::Version version =
            annotations_->save(editor->labelsForSaving(), editor->segments(), editor->boxes().all(),
                               message->toStdString(), &report);
        draftStatus_->clear();
        QString saved = tr("Saved version %1 (%2 new chunks)")
                            .arg(shortId(version.id))
                            .arg(report.chunksWritten);
        if (const std::string problem = annotations_->listingProblem(); !problem.empty())
            // saved all the same: only the list is behind
            saved += tr("; the versions list could not be re-read (%1): reopen the study to "
                        "refresh it")
                         .arg(QString::fromStdString(problem));
        window_.statusBar()->showMessage(saved, 10000);
    } catch (const std::exception& e) {
        QMessageBox::warning(&window_, tr("Save version"),
                             tr("The version was not saved: %1").arg(QString::fromUtf8(e.what())));
        return false;
    }
    refreshVersions();
    // The review side reads the versions once: a new one needs a new reading.
    try {
        refreshReviewSession();
    } catch (const std::exception& e) {
        reviews_.reset();
        window_.statusBar()->showMessage(
            tr("The review state could not be re-read: %1").arg(QString::fromUtf8(e.what())),
            10000);
    }
    refreshReview();
    return true;
}

void StoreWorkspace::refreshReview() {
    const std::optional<std::int64_t> version = versionOnScreen();
    if (!reviews_ || !version) {
        commentsPanel_->clear(annotations_ ? tr("No saved version on screen: comments are "
                                                "pinned to saved versions.")
                                           : tr("Open a stored study to see its comments."));
        commentMarkers_->setMarkers({});
        reviewPanel_->clear();
        return;
    }
    commentsPanel_->setVersion(reviews_.get(), *version);
    if (reviewPanel_->shownVersion() && reviewPanel_->reviews() == reviews_.get()) {
        reviewPanel_->refreshVersions(); // states after a decision; the sides stay as they are
    } else if (reviewDock_->isVisible() || reviewedVersion_) {
        // The compare view reads from this study's review session (replaced after a save).
        const std::optional<std::int64_t> other = reviewPanel_->comparedVersion();
        reviewPanel_->setStudy(reviews_.get(), volume_);
        reviewPanel_->showVersion(reviewedVersion_.value_or(*version));
        if (other && *other != reviewedVersion_.value_or(*version))
            reviewPanel_->compareWith(*other);
    }
    refreshMarkers();
}

void StoreWorkspace::refreshMarkers() {
    reviewDocks_->refreshMarkers();
}

void StoreWorkspace::showComparison(std::int64_t version) {
    if (!reviews_)
        return;
    reviewDock_->show();
    reviewDock_->raise();
    if (reviewPanel_->shownVersion() != version) {
        reviewPanel_->setStudy(reviews_.get(), volume_);
        reviewPanel_->showVersion(version);
        refreshMarkers();
    }
    reviewPanel_->viewer()->setFocus(Qt::ShortcutFocusReason);
}

bool StoreWorkspace::submitForReview() {
    if (!session_ || !annotations_ || !openStudyId_) {
        window_.statusBar()->showMessage(tr("Open a stored study to submit its annotation."), 5000);
        return false;
    }
    const workflow::AnnotationState state = annotations_->state();
    if (state.mayEdit && state.editedSinceVersion) {
        // What is submitted is a saved version: the edits on screen must become one first.
        if (!askToSaveBeforeSubmit(&window_) || !saveVersion())
            return false;
    }
    const std::optional<annotation::VersionId> parent = annotations_->state().parent;
    std::optional<std::int64_t> version;
    if (parent && reviews_)
        for (const workflow::ReviewVersion& v : reviews_->versions())
            if (v.id == *parent)
                version = v.annotationId;
    if (!version) {
        QMessageBox::information(&window_, tr("Submit for review"),
                                 tr("There is no saved version of yours to submit: save the "
                                    "annotation as a version first (Ctrl+S)."));
        return false;
    }
    try {
        workflow::submitForReview(*session_, *version);
    } catch (const std::exception& e) {
        QMessageBox::warning(&window_, tr("Submit for review"), QString::fromUtf8(e.what()));
        return false;
    }
    try {
        refreshReviewSession();
    } catch (const std::exception&) {
        reviews_.reset();
    }
    refreshReview();
    refreshVersions();
    window_.statusBar()->showMessage(tr("Submitted version %1 for review.").arg(shortId(*parent)),
                                     10000);
    return true;
}

bool StoreWorkspace::openForReview(std::int64_t studyId, std::int64_t version) {
    if (!session_)
        return false;
    if (openStudyId_ != studyId) {
        openStudy(studyId);
        if (openStudyId_ != studyId || !reviews_)
            return false;
    }
    std::optional<annotation::VersionId> id;
    try {
        id = reviews_->version(version).id;
    } catch (const std::exception& e) {
        QMessageBox::warning(&window_, tr("Open for review"), QString::fromUtf8(e.what()));
        return false;
    }
    if (!openVersionReadOnly(*id))
        return false;
    reviewedVersion_ = version;
    showComparison(version);
    refreshReview();
    return true;
}

bool StoreWorkspace::decide(storage::Decision decision) {
    // The decision is on the version on screen (the one opened for review).
    const std::optional<std::int64_t> version =
        versionOnScreen() ? versionOnScreen() : reviewedVersion_;
    if (!session_ || !reviews_ || !version) {
        QMessageBox::information(&window_, tr("Review"),
                                 tr("Open a submitted version from the review queue first "
                                    "(Ctrl+Shift+Q)."));
        return false;
    }
    const std::optional<QString> comment = askDecisionComment(decision, &window_);
    if (!comment)
        return false;
    const QString& message = *comment;
    // The metrics recorded are the ones on screen, when the compare view shows this version.
    const std::string metrics =
        reviewPanel_->shownVersion() == version ? reviewPanel_->metricsJson() : std::string("{}");
    storage::ReviewDecisionRecord record;
    try {
        try {
            record = reviews_->decide(*version, decision, message.toStdString(), metrics);
        } catch (const storage::OpenCommentsError& open) {
            if (!askToResolveOpenComments(open.open, &window_))
                return false;
            record = reviews_->decide(*version, decision, message.toStdString(), metrics, true);
        }
    } catch (const storage::AlreadyDecidedError& decided) {
        QMessageBox box(
            QMessageBox::Information, tr("Already decided"),
            tr("%1 already %2 this version on %3.")
                .arg(QString::fromStdString(decided.first.reviewer),
                     decisionText(decided.first.decision),
                     localClock(decided.first.created, QStringLiteral("yyyy-MM-dd HH:mm"))),
            QMessageBox::Ok, &window_);
        box.setObjectName(QStringLiteral("alreadyDecidedDialog"));
        box.setInformativeText(
            (decided.first.message.empty()
                 ? QString()
                 : tr("Their comment: %1\n").arg(QString::fromStdString(decided.first.message))) +
            tr("The first decision is final; yours was not recorded."));
        box.exec();
        return false;
    } catch (const std::exception& e) {
        QMessageBox::warning(&window_, tr("Review"), QString::fromUtf8(e.what()));
        return false;
    }
    refreshReview();
    refreshVersions();
    window_.statusBar()->showMessage(
        tr("You %1 version %2.")
            .arg(decisionText(record.decision),
                 QString::fromStdString(record.contentHash.substr(0, 12))),
        10000);
    return true;
}

bool StoreWorkspace::decideAndOpenNext() {
    QMessageBox box(QMessageBox::Question, tr("Decide and open next"),
                    tr("Your decision on this version:"), QMessageBox::Cancel, &window_);
    box.setObjectName(QStringLiteral("decideAndNextDialog"));
    QPushButton* approve = box.addButton(tr("Approve"), QMessageBox::AcceptRole);
    approve->setObjectName(QStringLiteral("approveButton"));
    QPushButton* changes = box.addButton(tr("Request changes..."), QMessageBox::AcceptRole);
    changes->setObjectName(QStringLiteral("requestChangesButton"));
    QPushButton* reject = box.addButton(tr("Reject..."), QMessageBox::AcceptRole);
    reject->setObjectName(QStringLiteral("rejectButton"));
    box.setDefaultButton(approve);
    box.exec();
    storage::Decision decision;
    if (box.clickedButton() == approve)
        decision = storage::Decision::Approve;
    else if (box.clickedButton() == changes)
        decision = storage::Decision::RequestChanges;
    else if (box.clickedButton() == reject)
        decision = storage::Decision::Reject;
    else
        return false;
    return decide(decision) && openNextInQueue();
}

bool StoreWorkspace::openNextInQueue() {
    if (!session_)
        return false;
    std::vector<workflow::WorklistRow> queue;
    try {
        queue = workflow::reviewQueue(*session_);
    } catch (const std::exception& e) {
        QMessageBox::warning(&window_, tr("Review queue"), QString::fromUtf8(e.what()));
        return false;
    }
    for (const workflow::WorklistRow& row : queue)
        if (row.latest && row.latest->annotationId != reviewedVersion_)
            return openForReview(row.studyId, row.latest->annotationId);
    window_.statusBar()->showMessage(tr("The review queue is empty."), 10000);
    return false;
}

bool StoreWorkspace::pinComment(const imaging::Vec3& voxel) {
    // Pinned to the version under review, whichever side of the compare view was clicked.
    const std::optional<std::int64_t> version = reviewPanel_->shownVersion();
    if (!reviews_ || !version)
        return false;
    const std::optional<QString> text = reviewDocks_->askPinnedComment(voxel);
    if (!text)
        return false;
    try {
        reviews_->pin(*version, voxel, text->toStdString());
    } catch (const std::exception& e) {
        QMessageBox::warning(&window_, tr("Comment"), QString::fromUtf8(e.what()));
        return false;
    }
    reviewDocks_->commentPinned();
    return true;
}

bool StoreWorkspace::jumpToComment(int direction) {
    return reviewDocks_->jumpToComment(direction);
}

bool StoreWorkspace::buildConsensus(bool staple) {
    if (!reviews_) {
        QMessageBox::information(&window_, tr("Build consensus"),
                                 tr("Open the study whose versions to combine first."));
        return false;
    }
    workflow::ReviewVersion built;
    QApplication::setOverrideCursor(Qt::WaitCursor);
    try {
        built = reviews_->buildConsensus(staple ? workflow::ReviewSession::Method::Staple
                                                : workflow::ReviewSession::Method::Vote);
    } catch (const std::exception& e) {
        QApplication::restoreOverrideCursor();
        QMessageBox::warning(&window_, tr("Build consensus"), QString::fromUtf8(e.what()));
        return false;
    }
    // The versions panel lists it once the study's annotations are re-read (a reviewer has no
    // edits to lose: her view is read-only).
    try {
        const std::optional<annotation::VersionId> shown = readOnlyVersion();
        annotations_ = std::make_unique<workflow::AnnotationSession>(*session_, *openStudyId_,
                                                                     autosaveInterval_);
        if (shown)
            annotations_->openVersion(*shown, workflow::OpenAs::ReadOnly);
    } catch (const std::exception&) {
        // the list stays behind; the compare view below has the consensus all the same
    }
    refreshVersions();
    QApplication::restoreOverrideCursor();
    reviewDock_->show();
    if (reviewPanel_->shownVersion()) {
        reviewPanel_->refreshVersions();
        reviewPanel_->compareWith(built.annotationId);
    } else {
        showComparison(built.annotationId);
    }
    window_.statusBar()->showMessage(
        tr("Built consensus version %1 (%2): compare it, then approve it from the queue.")
            .arg(QString::fromStdString(built.shortHash), staple ? tr("STAPLE") : tr("vote")),
        10000);
    return true;
}

void StoreWorkspace::showAdminPanel() {
    if (!session_)
        return;
    QDialog dialog(&window_);
    dialog.setWindowTitle(tr("Administration"));
    auto* layout = new QVBoxLayout(&dialog);
    auto* panel = new gui::AdminPanel(*session_, &dialog);
    // Disable and Rotate key run a key rotation on a worker thread: no lock meanwhile.
    connect(panel, &gui::AdminPanel::sessionInUse, this, [this](bool inUse) {
        if (lockScreen_)
            lockScreen_->setSessionInUse(inUse);
    });
    layout->addWidget(panel);
    dialog.resize(900, 640);
    dialog.exec();
}

void StoreWorkspace::showDatasetsDialog() {
    if (!session_ || session_->role() != storage::Role::Admin)
        return;
    DatasetsDialog dialog(*session_, &window_);
    connect(&dialog, &DatasetsDialog::exportRequested, this,
            [this](const QString& dataset) { showExportDialog(dataset); });
    dialog.exec();
}

void StoreWorkspace::showExportDialog(const QString& dataset) {
    if (!session_ || session_->role() != storage::Role::Admin)
        return;
    ExportDialog dialog(*session_, dataset, &window_);
    connect(&dialog, &ExportDialog::sessionInUse, this, [this](bool inUse) {
        if (lockScreen_)
            lockScreen_->setSessionInUse(inUse);
    });
    dialog.exec();
}

void StoreWorkspace::showImportDialog() {
    if (!session_)
        return;
    gui::ImportDialog dialog(*session_, &window_);
    dialog.exec();
}

void StoreWorkspace::showPacsImportDialog() {
    if (!session_ || session_->role() != storage::Role::Admin)
        return;
    gui::PacsImportDialog dialog(*session_, &window_);
    dialog.exec();
}

} // namespace radmark::gui
