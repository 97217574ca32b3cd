#include "app/gui/StoreWorkspace.h"

#include "app/gui/MainWindow.h"
#include "app/gui/VersionsPanel.h"
#include "app/gui/import/ImportDialog.h"
#include "app/gui/security/AdminPanel.h"
#include "app/gui/security/LockScreen.h"
#include "app/gui/security/LoginDialog.h"
#include "storage/Studies.h"
#include "storage/Errors.h"
#include "storage/StoredStudy.h"
#include "viewer/BoxInteraction.h"
#include "viewer/FourUpViewer.h"
#include "viewer/LabelEditor.h"
#include "workflow/AnnotationSession.h"

#include <QApplication>
#include <QDateTime>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDockWidget>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QMenuBar>
#include <QMessageBox>
#include <QPushButton>
#include <QStatusBar>
#include <QTableWidget>
#include <QTimer>
#include <QVBoxLayout>

#include <algorithm>

namespace radmark::gui {

namespace {

QString shortId(const annotation::VersionId& id) {
    return QString::fromStdString(id.hex().substr(0, 12));
}

// "14:03" of a storage UTC time, in local time.
QString localClock(const std::string& utc, const QString& format) {
    const QDateTime time = QDateTime::fromString(QString::fromStdString(utc), Qt::ISODate);
    return time.isValid() ? time.toLocalTime().toString(format) : QString::fromStdString(utc);
}

std::chrono::seconds autosaveIntervalFromEnvironment() {
    bool ok = false;
    const int seconds = qEnvironmentVariableIntValue("RADMARK_AUTOSAVE_SECONDS", &ok);
    return std::chrono::seconds(ok && seconds >= 1 ? seconds : 30);
}

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

void StoreWorkspace::buildMenu() {
    menu_ = window_.menuBar()->addMenu(tr("&Store"));
    auto* open = menu_->addAction(tr("Open &stored study..."), this, &StoreWorkspace::chooseStudy);
    open->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_T));
    auto* save = menu_->addAction(tr("&Save version..."), this, &StoreWorkspace::saveVersion);
    save->setShortcut(QKeySequence::Save);
    auto* versions = menu_->addAction(tr("&Versions"), this, [this] {
        versionsDock_->show();
        versionsDock_->raise();
        versionsPanel_->table()->setFocus(Qt::ShortcutFocusReason);
    });
    versions->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_V));
    importAction_ =
        menu_->addAction(tr("&Import studies..."), this, &StoreWorkspace::showImportDialog);
    importAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_I));
    adminAction_ =
        menu_->addAction(tr("&Administration..."), this, &StoreWorkspace::showAdminPanel);
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

void StoreWorkspace::sessionChanged() {
    if (session_) // boxes drawn from now on name their author
        window_.viewer()->boxInteraction()->setAuthor(session_->userName());
    const bool admin = session_ && session_->role() == storage::Role::Admin;
    adminAction_->setEnabled(admin);
    importAction_->setEnabled(admin);
    if (!lockScreen_) {
        lockScreen_ = new gui::LockScreen(&*session_, window_.centralWidget());
        connect(lockScreen_, &gui::LockScreen::loggedOut, this, &StoreWorkspace::afterLogout);
        connect(lockScreen_, &gui::LockScreen::sessionEnding, this,
                [this] { autosaveNow(); }); // locking or logging out keeps the latest edits
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

void StoreWorkspace::chooseStudy() {
    if (!session_)
        return;
    std::vector<storage::Study> studies;
    try {
        studies = storage::Studies(*session_).list();
    } catch (const std::exception& e) {
        QMessageBox::warning(&window_, tr("Studies"), QString::fromUtf8(e.what()));
        return;
    }
    QDialog dialog(&window_);
    dialog.setWindowTitle(tr("Open stored study"));
    auto* table = new QTableWidget(int(studies.size()), 2, &dialog);
    table->setHorizontalHeaderLabels({tr("Study"), tr("Description")});
    table->setSelectionBehavior(QAbstractItemView::SelectRows);
    table->setSelectionMode(QAbstractItemView::SingleSelection);
    table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table->horizontalHeader()->setStretchLastSection(true);
    for (int row = 0; row < int(studies.size()); ++row) {
        table->setItem(row, 0, new QTableWidgetItem(QString::fromStdString(studies[row].label)));
        table->setItem(row, 1,
                       new QTableWidgetItem(QString::fromStdString(studies[row].description)));
    }
    if (!studies.empty())
        table->selectRow(0);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Open | QDialogButtonBox::Cancel);
    connect(buttons, &QDialogButtonBox::accepted, &dialog, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
    connect(table, &QTableWidget::cellDoubleClicked, &dialog, &QDialog::accept);
    auto* layout = new QVBoxLayout(&dialog);
    layout->addWidget(table);
    layout->addWidget(buttons);
    dialog.resize(560, 360);
    if (dialog.exec() != QDialog::Accepted || table->currentRow() < 0)
        return;
    openStudy(studies[std::size_t(table->currentRow())].id);
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
        QApplication::restoreOverrideCursor();
        window_.showStoredVolume(std::move(volume));
        forgetStudy();
        openStudyId_ = studyId;
        annotations_ = std::move(annotations);
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
    } catch (const std::exception& e) {
        QApplication::restoreOverrideCursor();
        QMessageBox::warning(&window_, tr("Open stored study"), QString::fromUtf8(e.what()));
    }
}

bool StoreWorkspace::offerDraftRecovery() {
    const std::optional<workflow::PendingDraft> draft = annotations_->pendingDraft();
    if (!draft)
        return false;
    QMessageBox box(QMessageBox::Question, tr("Unsaved work"),
                    tr("Recover unsaved work from %1?")
                        .arg(localClock(draft->savedUtc, QStringLiteral("HH:mm"))),
                    QMessageBox::NoButton, &window_);
    box.setObjectName(QStringLiteral("draftRecoveryDialog"));
    QString details = tr("It was autosaved on %1 and is not a saved version yet.")
                          .arg(localClock(draft->savedUtc, QStringLiteral("yyyy-MM-dd HH:mm:ss")));
    if (!draft->newerAuthors.empty()) {
        QStringList authors;
        for (const std::string& author : draft->newerAuthors)
            authors << QString::fromStdString(author);
        details += QLatin1Char(' ') +
                   tr("Since then %1 saved a newer version; recovering continues from your "
                      "draft, and your next save sits beside theirs.")
                       .arg(authors.join(QStringLiteral(", ")));
    }
    box.setInformativeText(details);
    QPushButton* recover = box.addButton(tr("Recover"), QMessageBox::AcceptRole);
    recover->setObjectName(QStringLiteral("recoverDraftButton"));
    QPushButton* discard = box.addButton(tr("Discard"), QMessageBox::DestructiveRole);
    discard->setObjectName(QStringLiteral("discardDraftButton"));
    QPushButton* later = box.addButton(tr("Decide later"), QMessageBox::RejectRole);
    later->setObjectName(QStringLiteral("decideLaterButton"));
    box.setDefaultButton(recover);
    box.exec();
    if (box.clickedButton() == recover) {
        const annotation::OpenedAnnotation opened = annotations_->recoverDraft();
        if (!showAnnotation(opened))
            return false;
        draftStatus_->setText(tr("Recovered the draft of %1")
                                  .arg(localClock(draft->savedUtc, QStringLiteral("HH:mm:ss"))));
        return true;
    }
    if (box.clickedButton() == discard) {
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
    window_.viewer()->labelEditor()->setReadOnly(annotations_ && !annotations_->state().mayEdit);
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
    QMessageBox box(QMessageBox::Question, tr("Unsaved changes"),
                    tr("This annotation has changes that are not saved as a version."),
                    QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel, &window_);
    box.setObjectName(QStringLiteral("unsavedChangesDialog"));
    box.setInformativeText(tr("Save them as a version first, or discard them?"));
    box.setDefaultButton(QMessageBox::Save);
    switch (box.exec()) {
    case QMessageBox::Save:
        return saveVersion();
    case QMessageBox::Discard:
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
    return showVersion(id, true);
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
    window_.statusBar()->showMessage(
        readOnly ? tr("Showing read-only version %1: \"New draft from this version\" to edit it.")
                       .arg(shortId(id))
                 : tr("New draft from version %1: Ctrl+S saves it as that version's child.")
                       .arg(shortId(id)),
        10000);
    refreshVersions();
    return true;
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
    bool ok = false;
    const QString message =
        QInputDialog::getText(&window_, tr("Save version"), tr("What changed in this version?"),
                              QLineEdit::Normal, QString(), &ok);
    if (!ok)
        return false;
    try {
        annotation::SaveReport report;
        const annotation::Version version =
            annotations_->save(editor->labelsForSaving(), editor->segments(), editor->boxes().all(),
                               message.toStdString(), &report);
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
    return true;
}

void StoreWorkspace::showAdminPanel() {
    if (!session_)
        return;
    QDialog dialog(&window_);
    dialog.setWindowTitle(tr("Administration"));
    auto* layout = new QVBoxLayout(&dialog);
    layout->addWidget(new gui::AdminPanel(*session_, &dialog));
    dialog.resize(900, 640);
    dialog.exec();
}

void StoreWorkspace::showImportDialog() {
    if (!session_)
        return;
    gui::ImportDialog dialog(*session_, &window_);
    dialog.exec();
}

} // namespace radmark::gui
