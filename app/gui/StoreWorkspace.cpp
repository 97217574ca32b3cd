#include "app/gui/StoreWorkspace.h"

#include "app/annotations/StoredAnnotations.h"
#include "app/gui/MainWindow.h"
#include "app/gui/import/ImportDialog.h"
#include "app/gui/security/AdminPanel.h"
#include "app/gui/security/LockScreen.h"
#include "app/gui/security/LoginDialog.h"
#include "storage/Errors.h"
#include "storage/StoredStudy.h"
#include "viewer/FourUpViewer.h"
#include "viewer/LabelEditor.h"

#include <QApplication>
#include <QDialog>
#include <QDialogButtonBox>
#include <QHeaderView>
#include <QInputDialog>
#include <QLineEdit>
#include <QStatusBar>
#include <QMenuBar>
#include <QMessageBox>
#include <QTableWidget>
#include <QVBoxLayout>

namespace radmark::app {

StoreWorkspace::StoreWorkspace(storage::Store store, MainWindow& window)
    : QObject(&window), store_(std::move(store)), window_(window) {
    buildMenu();
}

StoreWorkspace::~StoreWorkspace() = default;

storage::Session* StoreWorkspace::session() { return session_ ? &*session_ : nullptr; }

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
    importAction_ = menu_->addAction(tr("&Import studies..."), this,
                                     &StoreWorkspace::showImportDialog);
    importAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_I));
    adminAction_ = menu_->addAction(tr("&Administration..."), this,
                                    &StoreWorkspace::showAdminPanel);
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
    const bool admin = session_ && session_->role() == storage::Role::Admin;
    adminAction_->setEnabled(admin);
    importAction_->setEnabled(admin);
    if (!lockScreen_) {
        lockScreen_ = new gui::LockScreen(&*session_, window_.centralWidget());
        connect(lockScreen_, &gui::LockScreen::loggedOut, this, &StoreWorkspace::afterLogout);
    } else {
        lockScreen_->setSession(&*session_);
    }
    window_.setWindowTitle(tr("Radmark: %1 (%2)")
                               .arg(QString::fromStdString(session_->userName()),
                                    QString::fromStdString(storage::roleName(session_->role()))));
}

void StoreWorkspace::afterLogout() {
    // The next user must not see what the last one had open.
    window_.closeStudy();
    openStudyId_.reset();
    session_.reset();
    if (!logIn())
        QApplication::quit();
}

void StoreWorkspace::chooseStudy() {
    if (!session_)
        return;
    std::vector<storage::Study> studies;
    try {
        studies = session_->listStudies();
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
    QApplication::setOverrideCursor(Qt::WaitCursor);
    try {
        auto volume = std::make_shared<imaging::Volume>(storage::loadStoredVolume(*session_, studyId));
        // Annotators and reviewers see the newest version over the images; admins see none.
        std::optional<annotation::OpenedAnnotation> latest;
        if (session_->role() != storage::Role::Admin)
            latest = StoredAnnotationHistory(*session_, studyId).latestDraft();
        QApplication::restoreOverrideCursor();
        window_.showStoredVolume(std::move(volume));
        openStudyId_ = studyId;
        if (latest && !window_.viewer()->labelEditor()->continueFrom(*latest))
            QMessageBox::warning(&window_, tr("Open stored study"),
                                 tr("The newest annotation does not fit this study's grid; "
                                    "it was not loaded."));
    } catch (const std::exception& e) {
        QApplication::restoreOverrideCursor();
        QMessageBox::warning(&window_, tr("Open stored study"), QString::fromUtf8(e.what()));
    }
}

void StoreWorkspace::saveVersion() {
    viewer::LabelEditor* editor = window_.viewer()->labelEditor();
    if (!session_ || !openStudyId_ || !editor->hasAnnotation()) {
        window_.statusBar()->showMessage(tr("Open a stored study to save its annotation."), 5000);
        return;
    }
    bool ok = false;
    const QString message = QInputDialog::getText(&window_, tr("Save version"),
                                                  tr("What changed in this version?"),
                                                  QLineEdit::Normal, QString(), &ok);
    if (!ok)
        return;
    try {
        StoredAnnotationHistory stored(*session_, *openStudyId_);
        annotation::SaveReport report;
        const annotation::Version version =
            stored.save(editor->labelsForSaving(), editor->segments(), editor->boxes().all(),
                        message.toStdString(), &report);
        window_.statusBar()->showMessage(
            tr("Saved version %1 (%2 new chunks)")
                .arg(QString::fromStdString(version.id.hex().substr(0, 12)))
                .arg(report.chunksWritten),
            10000);
    } catch (const std::exception& e) {
        QMessageBox::warning(&window_, tr("Save version"), QString::fromUtf8(e.what()));
    }
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

} // namespace radmark::app
