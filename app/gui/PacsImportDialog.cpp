#include "app/gui/PacsImportDialog.h"

#include "imaging/deid/BurnedInText.h"
#include "pacs/PacsImport.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QMetaObject>
#include <QProgressBar>
#include <QPushButton>
#include <QTreeWidget>
#include <QVBoxLayout>

#include <atomic>
#include <map>
#include <thread>

namespace radmark::gui {

namespace {
enum Column {
    Patient,
    PatientId,
    Date,
    Accession,
    Modality,
    Description,
    Images,
    InStore,
    Progress
};
constexpr int uidRole = Qt::UserRole + 1;
constexpr int loadedRole = Qt::UserRole + 2;

QString text(const std::string& s) {
    return QString::fromStdString(s);
}
} // namespace

struct PacsImportDialog::Private {
    pacs::PacsAccess& pacs;
    std::unique_ptr<pacs::PacsAccess> owned; // in-process: on the caller's session
    std::vector<storage::PacsNode> nodes;
    QComboBox* node = nullptr;
    QLineEdit *patientId = nullptr, *patientName = nullptr, *accession = nullptr,
              *dateFrom = nullptr, *dateTo = nullptr, *modality = nullptr, *description = nullptr;
    QTreeWidget* tree = nullptr;
    QPushButton *searchButton = nullptr, *retrieveButton = nullptr, *cancelButton = nullptr;
    QLabel* status = nullptr;
    std::string clientNode; // the node connected last: its client is kept for the next calls
    std::unique_ptr<deid::TextDetector> ocr;
    std::thread worker;
    std::atomic<bool> busy{false};
    std::atomic<bool> cancel{false};
    Private(pacs::PacsAccess& access, std::unique_ptr<pacs::PacsAccess> own)
        : pacs(access), owned(std::move(own)) {}
};

PacsImportDialog::PacsImportDialog(storage::Session& session, QWidget* parent)
    : PacsImportDialog(pacs::sessionPacs(session), nullptr, parent) {}

PacsImportDialog::PacsImportDialog(pacs::PacsAccess& access, QWidget* parent)
    : PacsImportDialog(nullptr, &access, parent) {}

PacsImportDialog::PacsImportDialog(std::unique_ptr<pacs::PacsAccess> owned,
                                   pacs::PacsAccess* access, QWidget* parent)
    : QDialog(parent), d_(std::make_unique<Private>(access ? *access : *owned, std::move(owned))) {
    setWindowTitle(tr("Import from PACS"));
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(new QLabel(tr("Studies are de-identified in memory on their way in: only "
                                    "the de-identified study is stored.")));
    auto* form = new QFormLayout;
    d_->node = new QComboBox;
    d_->node->setObjectName("pacsNode");
    QString nodesFailed;
    try {
        d_->nodes = d_->pacs.nodes();
    } catch (const std::exception& error) {
        nodesFailed = text(error.what());
    }
    for (const auto& n : d_->nodes)
        d_->node->addItem(text(n.name));
    form->addRow(tr("PACS &node"), d_->node);
    const auto field = [&](QLineEdit*& edit, const QString& label, const char* name,
                           const QString& hint = {}) {
        edit = new QLineEdit;
        edit->setObjectName(name);
        edit->setPlaceholderText(hint);
        form->addRow(label, edit);
    };
    field(d_->patientId, tr("Patient &ID"), "patientId");
    field(d_->patientName, tr("Patient na&me"), "patientName", tr("DOE^J*"));
    field(d_->accession, tr("&Accession number"), "accession");
    auto* dates = new QHBoxLayout;
    d_->dateFrom = new QLineEdit;
    d_->dateFrom->setObjectName("dateFrom");
    d_->dateFrom->setPlaceholderText(tr("YYYYMMDD"));
    d_->dateTo = new QLineEdit;
    d_->dateTo->setObjectName("dateTo");
    d_->dateTo->setPlaceholderText(tr("YYYYMMDD"));
    dates->addWidget(d_->dateFrom);
    dates->addWidget(new QLabel(tr("to")));
    dates->addWidget(d_->dateTo);
    form->addRow(tr("Study &date"), dates);
    field(d_->modality, tr("M&odality"), "modality", tr("CT"));
    field(d_->description, tr("Study d&escription"), "description");
    layout->addLayout(form);

    d_->searchButton = new QPushButton(tr("&Search"));
    d_->searchButton->setObjectName("searchButton");
    d_->searchButton->setDefault(true);
    auto* searchRow = new QHBoxLayout;
    searchRow->addStretch();
    searchRow->addWidget(d_->searchButton);
    layout->addLayout(searchRow);

    d_->tree = new QTreeWidget;
    d_->tree->setObjectName("pacsResults");
    d_->tree->setColumnCount(9);
    d_->tree->setHeaderLabels({tr("Patient"), tr("Patient ID"), tr("Date"), tr("Accession"),
                               tr("Modality"), tr("Description"), tr("Images"), tr("In store"),
                               tr("Progress")});
    d_->tree->setSortingEnabled(true);
    d_->tree->sortByColumn(Date, Qt::DescendingOrder);
    d_->tree->header()->setStretchLastSection(true);
    layout->addWidget(d_->tree, 1);

    d_->status = new QLabel;
    d_->status->setObjectName("pacsStatus");
    d_->status->setWordWrap(true);
    layout->addWidget(d_->status);
    auto* buttons = new QHBoxLayout;
    d_->retrieveButton = new QPushButton(tr("&Retrieve checked"));
    d_->retrieveButton->setObjectName("retrieveButton");
    d_->cancelButton = new QPushButton(tr("&Cancel"));
    d_->cancelButton->setObjectName("cancelButton");
    d_->cancelButton->setEnabled(false);
    auto* close = new QDialogButtonBox(QDialogButtonBox::Close);
    buttons->addWidget(d_->retrieveButton);
    buttons->addWidget(d_->cancelButton);
    buttons->addStretch();
    buttons->addWidget(close);
    layout->addLayout(buttons);
    if (d_->nodes.empty()) {
        d_->status->setText(!nodesFailed.isEmpty()
                                ? nodesFailed
                                : tr("The site policy lists no PACS node: import from a PACS is "
                                     "not possible."));
        d_->searchButton->setEnabled(false);
        d_->retrieveButton->setEnabled(false);
    }
    connect(close, &QDialogButtonBox::rejected, this, &PacsImportDialog::reject);
    connect(d_->searchButton, &QPushButton::clicked, this, &PacsImportDialog::search);
    connect(d_->retrieveButton, &QPushButton::clicked, this, &PacsImportDialog::retrieveChecked);
    connect(d_->cancelButton, &QPushButton::clicked, this, [this] { d_->cancel = true; });
    connect(d_->tree, &QTreeWidget::itemExpanded, this, &PacsImportDialog::loadSeries);
    resize(980, 640);
}

PacsImportDialog::~PacsImportDialog() {
    d_->cancel = true;
    if (d_->worker.joinable())
        d_->worker.join();
}

QTreeWidget* PacsImportDialog::results() const {
    return d_->tree;
}

bool PacsImportDialog::isBusy() const {
    return d_->busy;
}

void PacsImportDialog::setBusy(bool busy, const QString& what) {
    d_->busy = busy;
    d_->searchButton->setEnabled(!busy && !d_->nodes.empty());
    d_->retrieveButton->setEnabled(!busy && !d_->nodes.empty());
    d_->node->setEnabled(!busy);
    d_->cancelButton->setEnabled(busy);
    d_->status->setText(what);
}

bool PacsImportDialog::connectNode() {
    const int index = d_->node->currentIndex();
    if (index < 0 || index >= int(d_->nodes.size()))
        return false;
    const storage::PacsNode& node = d_->nodes[std::size_t(index)];
    if (!d_->clientNode.empty() && d_->clientNode == node.name)
        return true;
    try {
        const bool connected = d_->pacs.connect(
            node.name, [&](const std::string& prompt) -> std::optional<std::string> {
                bool asked = false;
                const QString password = QInputDialog::getText(
                    this, tr("PACS password"), text(prompt), QLineEdit::Password, {}, &asked);
                if (!asked)
                    return std::nullopt;
                return password.toStdString();
            });
        if (!connected)
            return false;
        d_->clientNode = node.name;
        return true;
    } catch (const std::exception& error) {
        d_->status->setText(text(error.what()));
        return false;
    }
}

void PacsImportDialog::search() {
    if (d_->busy || !connectNode())
        return;
    if (d_->worker.joinable())
        d_->worker.join();
    pacs::StudyQuery query;
    query.patientId = d_->patientId->text().trimmed().toStdString();
    query.patientName = d_->patientName->text().trimmed().toStdString();
    query.accessionNumber = d_->accession->text().trimmed().toStdString();
    query.dateFrom = d_->dateFrom->text().trimmed().toStdString();
    query.dateTo = d_->dateTo->text().trimmed().toStdString();
    query.modality = d_->modality->text().trimmed().toStdString();
    query.studyDescription = d_->description->text().trimmed().toStdString();
    d_->tree->clear();
    setBusy(true, tr("Searching %1…").arg(text(d_->clientNode)));
    d_->worker = std::thread([this, query] {
        std::vector<pacs::StudyRow> rows;
        std::string failure;
        try {
            rows = d_->pacs.queryStudies(d_->clientNode, query);
        } catch (const std::exception& error) {
            failure = error.what();
        }
        QMetaObject::invokeMethod(
            this,
            [this, rows = std::move(rows), failure] {
                d_->tree->setSortingEnabled(false);
                for (const auto& row : rows) {
                    const auto& s = row.study;
                    auto* item = new QTreeWidgetItem(d_->tree);
                    item->setText(Patient, text(s.patientName));
                    item->setText(PatientId, text(s.patientId));
                    item->setText(Date, text(s.studyDate));
                    item->setText(Accession, text(s.accessionNumber));
                    item->setText(Modality, text(s.modalities));
                    item->setText(Description, text(s.description));
                    item->setData(Images, Qt::DisplayRole, s.instanceCount);
                    item->setText(InStore, row.stored ? tr("yes: %1").arg(text(row.stored->label))
                                                      : tr("no"));
                    item->setData(Patient, uidRole, text(s.studyUid));
                    item->setFlags(item->flags() | Qt::ItemIsUserCheckable);
                    item->setCheckState(Patient, Qt::Unchecked);
                    item->setChildIndicatorPolicy(QTreeWidgetItem::ShowIndicator);
                }
                d_->tree->setSortingEnabled(true);
                for (int c = 0; c < Progress; ++c)
                    d_->tree->resizeColumnToContents(c);
                setBusy(false, failure.empty() ? tr("%n study(ies) found", "", int(rows.size()))
                                               : text(failure));
                if (d_->worker.joinable())
                    d_->worker.join();
                emit searchFinished();
            },
            Qt::QueuedConnection);
    });
}

// The series of a study, asked of the PACS when the study is first expanded (on this thread:
// one small query).
void PacsImportDialog::loadSeries(QTreeWidgetItem* study) {
    if (!study || study->parent() || study->data(Patient, loadedRole).toBool() || d_->busy ||
        d_->clientNode.empty())
        return;
    study->setData(Patient, loadedRole, true);
    try {
        const auto rows = d_->pacs.querySeries(
            d_->clientNode, study->data(Patient, uidRole).toString().toStdString());
        for (const auto& row : rows) {
            auto* item = new QTreeWidgetItem(study);
            item->setText(Patient, tr("Series %1").arg(text(row.series.seriesNumber)));
            item->setText(Modality, text(row.series.modality));
            item->setText(Description, text(row.series.description));
            item->setData(Images, Qt::DisplayRole, row.series.instanceCount);
            item->setText(InStore, row.stored ? tr("yes") : tr("no"));
            item->setData(Patient, uidRole, text(row.series.seriesUid));
            item->setFlags(item->flags() | Qt::ItemIsUserCheckable);
            item->setCheckState(Patient, Qt::Unchecked);
        }
    } catch (const std::exception& error) {
        d_->status->setText(text(error.what()));
    }
}

void PacsImportDialog::retrieveChecked() {
    if (d_->busy || d_->clientNode.empty())
        return;
    if (d_->worker.joinable())
        d_->worker.join();
    // Checked studies (all their series) and studies with checked series (those only).
    struct Job {
        std::string studyUid;
        std::vector<std::string> series;
        QProgressBar* bar;
        QTreeWidgetItem* item;
    };
    std::vector<Job> jobs;
    for (int i = 0; i < d_->tree->topLevelItemCount(); ++i) {
        QTreeWidgetItem* study = d_->tree->topLevelItem(i);
        std::vector<std::string> series;
        for (int c = 0; c < study->childCount(); ++c)
            if (study->child(c)->checkState(Patient) == Qt::Checked)
                series.push_back(study->child(c)->data(Patient, uidRole).toString().toStdString());
        if (study->checkState(Patient) != Qt::Checked && series.empty())
            continue;
        if (study->checkState(Patient) == Qt::Checked)
            series.clear();
        auto* bar = new QProgressBar;
        bar->setRange(0, 1000);
        d_->tree->setItemWidget(study, Progress, bar);
        jobs.push_back(
            {study->data(Patient, uidRole).toString().toStdString(), series, bar, study});
    }
    if (jobs.empty()) {
        d_->status->setText(tr("Check the studies or series to retrieve."));
        return;
    }
    if (!d_->ocr) {
        try {
            d_->ocr = deid::makeTesseractDetector();
        } catch (const std::exception&) {
            // Without OCR, images that may hold burned-in text are quarantined.
        }
    }
    storage::ImportOptions options;
    options.textDetector = d_->ocr.get();
    d_->cancel = false;
    setBusy(true, tr("Retrieving %n study(ies)…", "", int(jobs.size())));
    d_->worker = std::thread([this, jobs, options] {
        int imported = 0, other = 0;
        for (const auto& job : jobs) {
            storage::StudyImportResult result;
            if (d_->cancel) {
                result.status = storage::ImportStatus::Cancelled;
                result.reason = "cancelled before it was retrieved";
            } else {
                try {
                    result = d_->pacs.retrieve(
                        d_->clientNode, job.studyUid, job.series, options,
                        [this, bar = job.bar](double fraction, const std::string& stage) {
                            const int value = int(fraction * 1000);
                            const QString what = QString::fromStdString(stage);
                            QMetaObject::invokeMethod(
                                this,
                                [bar, value, what] {
                                    bar->setValue(value);
                                    bar->setFormat(what + " %p%");
                                },
                                Qt::QueuedConnection);
                            return !d_->cancel.load();
                        });
                } catch (const std::exception& error) {
                    result.reason = error.what();
                }
            }
            const bool ok = result.status == storage::ImportStatus::Imported ||
                            result.status == storage::ImportStatus::AlreadyInStore;
            (ok ? imported : other)++;
            QString line = QString::fromUtf8(storage::importStatusName(result.status));
            if (!result.label.empty())
                line += " " + text(result.label);
            if (!result.reason.empty())
                line += ": " + text(result.reason);
            QMetaObject::invokeMethod(
                this,
                [item = job.item, bar = job.bar, line, ok] {
                    bar->setValue(1000);
                    bar->setFormat(line);
                    bar->setToolTip(line);
                    if (ok)
                        item->setText(InStore, line);
                },
                Qt::QueuedConnection);
        }
        QMetaObject::invokeMethod(
            this,
            [this, imported, other] {
                setBusy(
                    false,
                    tr("%1 stored or already in store, %2 not imported").arg(imported).arg(other));
                if (d_->worker.joinable())
                    d_->worker.join();
                emit retrieveFinished();
            },
            Qt::QueuedConnection);
    });
}

void PacsImportDialog::reject() {
    if (d_->busy) {
        d_->cancel = true; // the worker stops the transfer; nothing of that study is stored
        d_->status->setText(tr("Cancelling…"));
        return;
    }
    QDialog::reject();
}

} // namespace radmark::gui
