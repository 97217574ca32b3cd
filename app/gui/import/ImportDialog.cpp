#include "app/gui/import/ImportDialog.h"

#include "imaging/deid/BurnedInText.h"

#include <QDialogButtonBox>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QListWidget>
#include <QMetaObject>
#include <QProgressBar>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

#include <atomic>
#include <thread>

namespace radmark::gui {

struct ImportDialog::Private {
    storage::Session& session;
    QListWidget* sourceList = nullptr;
    QProgressBar* progress = nullptr;
    QLabel* stage = nullptr;
    QTableWidget* table = nullptr;
    QPushButton* importButton = nullptr;
    QPushButton* addFilesButton = nullptr;
    QPushButton* addFolderButton = nullptr;
    std::thread worker;
    std::atomic<bool> cancel{false};
    std::atomic<bool> running{false};
    std::vector<storage::StudyImportResult> results;
    std::unique_ptr<deid::TextDetector> ocr;
    explicit Private(storage::Session& s) : session(s) {}
};

ImportDialog::ImportDialog(storage::Session& session, QWidget* parent)
    : QDialog(parent), d_(std::make_unique<Private>(session)) {
    setWindowTitle(tr("Import studies"));
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(new QLabel(tr("Studies are de-identified before they are stored. "
                                    "Originals are read in place and never copied.")));
    d_->sourceList = new QListWidget;
    layout->addWidget(d_->sourceList);
    auto* buttons = new QHBoxLayout;
    d_->addFilesButton = new QPushButton(tr("Add files…"));
    d_->addFolderButton = new QPushButton(tr("Add folder…"));
    d_->importButton = new QPushButton(tr("Import"));
    d_->importButton->setObjectName("importButton");
    buttons->addWidget(d_->addFilesButton);
    buttons->addWidget(d_->addFolderButton);
    buttons->addStretch();
    buttons->addWidget(d_->importButton);
    layout->addLayout(buttons);
    d_->progress = new QProgressBar;
    d_->progress->setRange(0, 1000);
    d_->progress->setValue(0);
    layout->addWidget(d_->progress);
    d_->stage = new QLabel;
    layout->addWidget(d_->stage);
    d_->table = new QTableWidget(0, 4);
    d_->table->setHorizontalHeaderLabels({tr("Source"), tr("Result"), tr("Study"), tr("Why")});
    d_->table->horizontalHeader()->setStretchLastSection(true);
    d_->table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    layout->addWidget(d_->table);
    auto* close = new QDialogButtonBox(QDialogButtonBox::Close);
    layout->addWidget(close);
    connect(close, &QDialogButtonBox::rejected, this, &ImportDialog::reject);
    connect(d_->addFilesButton, &QPushButton::clicked, this, &ImportDialog::addFiles);
    connect(d_->addFolderButton, &QPushButton::clicked, this, &ImportDialog::addFolder);
    connect(d_->importButton, &QPushButton::clicked, this, &ImportDialog::startImport);
    resize(720, 520);
}

ImportDialog::~ImportDialog() {
    d_->cancel = true;
    if (d_->worker.joinable())
        d_->worker.join();
}

void ImportDialog::setSources(const QStringList& paths) {
    d_->sourceList->clear();
    d_->sourceList->addItems(paths);
}

QStringList ImportDialog::sources() const {
    QStringList out;
    for (int i = 0; i < d_->sourceList->count(); ++i)
        out << d_->sourceList->item(i)->text();
    return out;
}

bool ImportDialog::isImporting() const {
    return d_->running;
}

const std::vector<storage::StudyImportResult>& ImportDialog::results() const {
    return d_->results;
}

void ImportDialog::addFiles() {
    const QStringList files = QFileDialog::getOpenFileNames(this, tr("Choose files to import"));
    d_->sourceList->addItems(files);
}

void ImportDialog::addFolder() {
    const QString folder = QFileDialog::getExistingDirectory(this, tr("Choose a folder to import"));
    if (!folder.isEmpty())
        d_->sourceList->addItem(folder);
}

void ImportDialog::startImport() {
    if (d_->running || d_->sourceList->count() == 0)
        return;
    if (d_->worker.joinable())
        d_->worker.join();
    std::vector<std::filesystem::path> paths;
    for (const QString& s : sources())
        paths.emplace_back(s.toStdString());
    if (!d_->ocr) {
        try {
            d_->ocr = deid::makeTesseractDetector();
        } catch (const std::exception&) {
            // Without OCR, images that may hold burned-in text are quarantined.
        }
    }
    d_->results.clear();
    d_->table->setRowCount(0);
    d_->cancel = false;
    d_->running = true;
    for (auto* b : {d_->importButton, d_->addFilesButton, d_->addFolderButton})
        b->setEnabled(false);
    d_->stage->setText(tr("Starting…"));
    storage::ImportOptions options;
    options.textDetector = d_->ocr.get();
    d_->worker = std::thread([this, paths, options] {
        std::vector<storage::StudyImportResult> results;
        try {
            results = storage::importStudies(d_->session, paths, options,
                                             [this](double fraction, const std::string& stage) {
                                                 const int value = int(fraction * 1000);
                                                 const QString text = QString::fromStdString(stage);
                                                 QMetaObject::invokeMethod(
                                                     this,
                                                     [this, value, text] {
                                                         d_->progress->setValue(value);
                                                         d_->stage->setText(text);
                                                     },
                                                     Qt::QueuedConnection);
                                                 return !d_->cancel.load();
                                             });
        } catch (const std::exception& error) {
            storage::StudyImportResult failed;
            failed.reason = error.what();
            results = {failed};
        }
        QMetaObject::invokeMethod(
            this,
            [this, results = std::move(results)] {
                d_->results = results;
                d_->running = false;
                showResults();
                emit importFinished();
            },
            Qt::QueuedConnection);
    });
}

void ImportDialog::showResults() {
    if (d_->worker.joinable())
        d_->worker.join();
    d_->table->setRowCount(int(d_->results.size()));
    int row = 0;
    for (const auto& r : d_->results) {
        const QStringList cells = {QString::fromStdString(r.source.string()),
                                   QString::fromUtf8(storage::importStatusName(r.status)),
                                   QString::fromStdString(r.label),
                                   QString::fromStdString(r.reason)};
        for (int c = 0; c < cells.size(); ++c)
            d_->table->setItem(row, c, new QTableWidgetItem(cells[c]));
        ++row;
    }
    d_->table->resizeColumnsToContents();
    d_->progress->setValue(1000);
    d_->stage->setText(tr("Done"));
    for (auto* b : {d_->importButton, d_->addFilesButton, d_->addFolderButton})
        b->setEnabled(true);
}

void ImportDialog::reject() {
    if (d_->running) {
        d_->cancel = true; // the worker rolls back the study in progress and reports
        d_->stage->setText(tr("Cancelling…"));
        return;
    }
    QDialog::reject();
}

} // namespace radmark::gui
