#include "app/gui/ServiceWorkspace.h"

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
#include "app/gui/security/AdminPanel.h"
#include "app/gui/security/LoginDialog.h"
#include "viewer/BoxInteraction.h"
#include "viewer/ComparisonViewer.h"
#include "viewer/FourUpViewer.h"
#include "viewer/LabelEditor.h"

#include <QApplication>
#include <QDialog>
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
#include <QVBoxLayout>

#include <algorithm>

namespace radmark::gui {

namespace {

std::string studyKey(std::int64_t studyId) {
    return std::to_string(studyId);
}

// The workspace's current session (a new one after she logged in again), for the panels.
class CurrentSession {
  public:
    explicit CurrentSession(std::function<cli::StoreAccess*()> access)
        : access_(std::move(access)) {}
    cli::StoreAccess& session() const {
        cli::StoreAccess* access = access_();
        if (!access)
            throw std::runtime_error("the session has ended: log in again");
        return *access;
    }

  private:
    std::function<cli::StoreAccess*()> access_;
};

// The Comments panel's source through the service: one version's comments (hex).
class ServiceComments final : public CommentSource, CurrentSession {
  public:
    ServiceComments(std::function<cli::StoreAccess*()> access, std::string study,
                    std::string version)
        : CurrentSession(std::move(access)), study_(std::move(study)),
          version_(std::move(version)) {}
    std::vector<storage::ReviewComment> comments() override {
        return session().comments(study_, version_);
    }
    void reply(std::int64_t commentId, const std::string& text) override {
        session().replyToComment(study_, version_, commentId, text);
    }
    void resolve(std::int64_t commentId) override {
        session().resolveComment(study_, version_, commentId);
    }

  private:
    std::string study_, version_;
};

// The compare view's source through the service: the study's versions as the worker's review
// session lists them, and two of them as the worker sends them (cli::StoreAccess::readVersion).
class ServiceComparisons final : public ComparisonSource, CurrentSession {
  public:
    ServiceComparisons(std::function<cli::StoreAccess*()> access, std::string study)
        : CurrentSession(std::move(access)), study_(std::move(study)) {}

    std::vector<workflow::ReviewVersion> versions() override {
        entries_ = session().reviewVersions(study_);
        std::vector<workflow::ReviewVersion> versions;
        for (const cli::ReviewEntry& e : entries_)
            versions.push_back(e.version);
        return versions;
    }
    std::optional<std::int64_t> previousOf(std::int64_t annotationId) override {
        return entry(annotationId).previous;
    }
    // Both versions as the worker sends them (read-only, each logged), compared here by the
    // function ReviewSession::compare runs.
    workflow::Comparison compare(std::int64_t reference, std::int64_t compared) override {
        const workflow::ReviewVersion a = entry(reference).version, b = entry(compared).version;
        annotation::OpenedAnnotation left = session().readVersion(study_, a.id.hex());
        annotation::OpenedAnnotation right = session().readVersion(study_, b.id.hex());
        return workflow::compareOpened(a, std::move(left), b, std::move(right));
    }

  private:
    const cli::ReviewEntry& entry(std::int64_t annotationId) {
        for (int pass = 0; pass < 2; ++pass) {
            for (const cli::ReviewEntry& e : entries_)
                if (e.version.annotationId == annotationId)
                    return e;
            versions(); // a version saved or decided since: read the list again
        }
        throw std::runtime_error("that version is no longer one of this study's versions");
    }

    std::string study_;
    std::vector<cli::ReviewEntry> entries_;
};

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
    // The reviewer's compare view below the four-up and the comments of the version on screen,
    // as on a personal store (ReviewDocks).
    reviewDocks_ = new ReviewDocks(window_);
    reviewPanel_ = reviewDocks_->reviewPanel();
    commentsPanel_ = reviewDocks_->commentsPanel();
    QObject::connect(reviewPanel_, &ReviewPanel::failed, this, [this](const QString& message) {
        const std::runtime_error refused(message.toStdString());
        report(tr("Compare versions"), refused);
    });
    QObject::connect(reviewPanel_->viewer(), &viewer::ComparisonViewer::pointPinned, this,
                     &ServiceWorkspace::pinComment);
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
    lastDraft_ = std::chrono::steady_clock::now(); // the first draft one interval from now
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
        access_->continueFrom(studyKey(*studyId_), shown_->hex());
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
    adminAction_ =
        menu->addAction(tr("&Administration..."), this, &ServiceWorkspace::showAdminPanel);
    adminAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_U));
    menu->addSeparator();
    auto* lockAction = menu->addAction(tr("&Lock"), this, &ServiceWorkspace::lock);
    lockAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_L));

    adminMenu_ = window_.menuBar()->addMenu(tr("A&dmin"));
    adminMenu_->setObjectName(QStringLiteral("adminMenu"));
    auto* datasets =
        adminMenu_->addAction(tr("&Datasets..."), this, &ServiceWorkspace::showDatasetsDialog);
    datasets->setObjectName(QStringLiteral("datasetsAction"));
    datasets->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_B));
    auto* exportAction =
        adminMenu_->addAction(tr("&Export dataset..."), this, [this] { showExportDialog(); });
    exportAction->setObjectName(QStringLiteral("exportAction"));
    exportAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E));
    auto* pacsAction = adminMenu_->addAction(tr("Import from &PACS..."), this,
                                             &ServiceWorkspace::showPacsImportDialog);
    pacsAction->setObjectName(QStringLiteral("pacsImportAction"));
    pacsAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_I));

    reviewMenu_ = window_.menuBar()->addMenu(tr("&Review"));
    auto* queue =
        reviewMenu_->addAction(tr("Review &queue..."), this, [this] { chooseStudy(true); });
    queue->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_Q));
    auto* compare =
        reviewMenu_->addAction(tr("&Compare versions"), this, &ServiceWorkspace::showComparison);
    compare->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_D));
    reviewMenu_->addSeparator();
    addDecisionActions(reviewMenu_, [this](storage::Decision decision) { decide(decision); });
    reviewMenu_->addSeparator();
    reviewMenu_->addAction(tr("Build consensus (&vote)"), this,
                           [this] { buildConsensus(workflow::ReviewSession::Method::Vote); });
    reviewMenu_->addAction(tr("Build consensus (&STAPLE)"), this,
                           [this] { buildConsensus(workflow::ReviewSession::Method::Staple); });
    auto* agreement = reviewMenu_->addAction(tr("A&greement report..."), this,
                                             &ServiceWorkspace::showAgreementReport);
    agreement->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_G));
    reviewMenu_->addSeparator();
    // The compare view's own actions (O, S, P while it has the focus), so the menu shows them.
    reviewMenu_->addAction(reviewPanel_->viewer()->overlayAction());
    reviewMenu_->addAction(reviewPanel_->viewer()->swapAction());
    reviewMenu_->addAction(reviewPanel_->viewer()->pinAction());

    // Reviewers and the version's annotator both read and answer comments.
    commentsMenu_ = window_.menuBar()->addMenu(tr("&Comments"));
    addCommentActions(
        commentsMenu_, [this](int direction) { jumpToComment(direction); },
        [this] { reviewDocks_->showComments(); });
}

void ServiceWorkspace::refreshComments() {
    if (!access_ || !studyId_ || !shown_ || role_ == storage::Role::Admin) {
        commentsPanel_->clear(studyId_ ? tr("No saved version on screen: comments are pinned to "
                                            "saved versions.")
                                       : tr("Open a stored study to see its comments."));
        reviewDocks_->refreshMarkers();
        return;
    }
    commentsPanel_->setSource(std::make_unique<ServiceComments>(
        [this] { return access_.get(); }, studyKey(*studyId_), shown_->hex()));
    reviewDocks_->refreshMarkers();
}

bool ServiceWorkspace::pinComment(const imaging::Vec3& voxel) {
    // Pinned to the version under review, whichever side of the compare view was clicked.
    const std::optional<std::int64_t> shown = reviewPanel_->shownVersion();
    const std::optional<workflow::ReviewVersion> version =
        shown ? reviewPanel_->versionNamed(*shown) : std::nullopt;
    if (!access_ || !studyId_ || !version)
        return false;
    const std::optional<QString> text = reviewDocks_->askPinnedComment(voxel);
    if (!text)
        return false;
    try {
        access_->pinComment(studyKey(*studyId_), version->id.hex(), voxel, text->toStdString());
    } catch (const std::exception& e) { // the role, a point outside, an empty text: its words
        report(tr("Comment"), e);
        return false;
    }
    reviewDocks_->commentPinned();
    return true;
}

bool ServiceWorkspace::buildConsensus(workflow::ReviewSession::Method method) {
    if (!access_ || !studyId_) {
        QMessageBox::information(&window_, tr("Build consensus"),
                                 tr("Open the study whose versions to combine first."));
        return false;
    }
    workflow::ReviewVersion built;
    QApplication::setOverrideCursor(Qt::WaitCursor);
    try {
        built = access_->buildConsensus(studyKey(*studyId_), method);
    } catch (const std::exception& e) { // too few versions, the role: its words
        QApplication::restoreOverrideCursor();
        report(tr("Build consensus"), e);
        return false;
    }
    QApplication::restoreOverrideCursor();
    refreshVersions();
    if (!reviewPanel_->shownVersion())
        showComparison();
    reviewDocks_->reviewDock()->show();
    if (reviewPanel_->shownVersion())
        reviewPanel_->compareWith(built.annotationId); // the list re-read with it
    else
        reviewPanel_->refreshVersions();
    window_.statusBar()->showMessage(
        tr("Built consensus version %1 (%2): compare it, then approve it from the queue.")
            .arg(QString::fromStdString(built.shortHash),
                 method == workflow::ReviewSession::Method::Staple ? tr("STAPLE") : tr("vote")),
        10000);
    return true;
}

bool ServiceWorkspace::showAgreementReport() {
    if (!access_ && !logInAgain())
        return false;
    workflow::AgreementSummary summary;
    QApplication::setOverrideCursor(Qt::WaitCursor);
    try {
        summary = access_->agreement();
    } catch (const std::exception& e) {
        QApplication::restoreOverrideCursor();
        report(tr("Agreement report"), e);
        return false;
    }
    QApplication::restoreOverrideCursor();
    AgreementDialog dialog(std::move(summary), &window_);
    dialog.exec();
    return true;
}

bool ServiceWorkspace::showAdminPanel() {
    // A session that ended (idle timeout, a rotation) logs in again first: the panel shows
    // refusals in its status line, where no login would come back.
    if ((!access_ || access_->sessionEnded()) && !logInAgain())
        return false;
    if (role_ != storage::Role::Admin)
        return false;
    QDialog dialog(&window_);
    dialog.setObjectName("administrationDialog");
    dialog.setWindowTitle(tr("Administration"));
    auto* layout = new QVBoxLayout(&dialog);
    // Each call goes to her session in the service (the dialog is modal: the session stays
    // while it is up); a rotation's progress dialog moves as the worker reports its stages.
    layout->addWidget(new AdminPanel(access_->administration(), &dialog));
    dialog.resize(900, 640);
    dialog.exec();
    return true;
}

bool ServiceWorkspace::showDatasetsDialog() {
    if ((!access_ || access_->sessionEnded()) && !logInAgain())
        return false;
    if (role_ != storage::Role::Admin)
        return false;
    DatasetsDialog dialog(access_->datasets(), &window_);
    connect(&dialog, &DatasetsDialog::exportRequested, this,
            [this](const QString& dataset) { showExportDialog(dataset); });
    dialog.exec();
    return true;
}

bool ServiceWorkspace::showExportDialog(const QString& dataset) {
    if ((!access_ || access_->sessionEnded()) && !logInAgain())
        return false;
    if (role_ != storage::Role::Admin)
        return false;
    // Modal: nothing else uses her session while the export's thread waits on the worker.
    ExportDialog dialog(access_->datasets(), dataset, &window_);
    dialog.exec();
    return true;
}

bool ServiceWorkspace::showPacsImportDialog() {
    if ((!access_ || access_->sessionEnded()) && !logInAgain())
        return false;
    if (role_ != storage::Role::Admin)
        return false;
    // Modal: nothing else uses her session while the retrieve's thread waits on the worker.
    PacsImportDialog dialog(access_->pacs(), &window_);
    dialog.exec();
    return true;
}

viewer::CommentMarkers* ServiceWorkspace::commentMarkers() const {
    return reviewDocks_->commentMarkers();
}

bool ServiceWorkspace::jumpToComment(int direction) {
    return reviewDocks_->jumpToComment(direction);
}

bool ServiceWorkspace::showComparison() {
    if (!access_ || !studyId_ || !shown_) {
        window_.statusBar()->showMessage(tr("Open a stored version to compare it."), 5000);
        return false;
    }
    reviewDocks_->reviewDock()->show();
    reviewDocks_->reviewDock()->raise();
    QApplication::setOverrideCursor(Qt::WaitCursor);
    reviewPanel_->setStudy(
        std::make_unique<ServiceComparisons>([this] { return access_.get(); }, studyKey(*studyId_)),
        volume_);
    std::optional<std::int64_t> shown;
    for (const workflow::ReviewVersion& v : reviewPanel_->versions())
        if (v.id == *shown_)
            shown = v.annotationId;
    if (shown)
        reviewPanel_->showVersion(*shown);
    QApplication::restoreOverrideCursor();
    if (!shown)
        return false;
    reviewPanel_->viewer()->setFocus(Qt::ShortcutFocusReason);
    return reviewPanel_->shownVersion().has_value();
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
    // The metrics recorded are those of the comparison on screen, when it shows this version.
    const bool panelShowsIt = compareViewShows(*shown_);
    const std::optional<std::int64_t> compared = reviewPanel_->comparedVersion();
    const std::optional<workflow::ReviewVersion> other =
        compared ? reviewPanel_->versionNamed(*compared) : std::nullopt;
    std::optional<std::string> comparedWith;
    if (panelShowsIt && other)
        comparedWith = other->id.hex();
    cli::DecisionOutcome outcome;
    try {
        outcome = access_->decide(studyKey(*studyId_), shown_->hex(), decision,
                                  message.toStdString(), false, comparedWith);
        if (outcome.openComments > 0) {
            if (!askToResolveOpenComments(outcome.openComments, &window_))
                return false;
            outcome = access_->decide(studyKey(*studyId_), shown_->hex(), decision,
                                      message.toStdString(), true, comparedWith);
        }
    } catch (const std::exception& e) { // already decided, her own version, the role: its words
        report(tr("Review"), e);
        return false;
    }
    refreshVersions();
    if (panelShowsIt)
        reviewPanel_->refreshVersions(); // its state after the decision; the sides stay
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
            row.latest->annotationId == *choice->version && openVersion(row.latest->id, true) &&
            !compareViewShows(row.latest->id))
            showComparison();
}

bool ServiceWorkspace::compareViewShows(const annotation::VersionId& id) const {
    const std::optional<std::int64_t> shown = reviewPanel_->shownVersion();
    const std::optional<workflow::ReviewVersion> version =
        shown ? reviewPanel_->versionNamed(*shown) : std::nullopt;
    return version && version->id == id;
}

void ServiceWorkspace::closeStudy() {
    reviewPanel_->clear();
    commentsPanel_->clear(tr("Open a stored study to see its comments."));
    reviewDocks_->refreshMarkers();
    window_.closeStudy();
    volume_.reset();
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
    volume_ = volume;
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
    commentsMenu_->menuAction()->setVisible(role_ != storage::Role::Admin);
    submitAction_->setEnabled(role_ == storage::Role::Annotator);
    adminAction_->setVisible(role_ == storage::Role::Admin);
    adminAction_->setEnabled(role_ == storage::Role::Admin);
    adminMenu_->menuAction()->setVisible(role_ == storage::Role::Admin);
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
    // The compare view, when shown, follows the version on screen (its comments and pins too).
    if (reviewDocks_->reviewDock()->isVisible() && reviewPanel_->shownVersion())
        showComparison();
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
    refreshComments();
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
