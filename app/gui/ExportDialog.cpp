#include "app/gui/ExportDialog.h"

#include "report/PdfWriter.h"
#include "workflow/DatasetAdministration.h"

#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QStandardItemModel>
#include <QVBoxLayout>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <optional>
#include <thread>

namespace radmark::gui {

namespace {

QString q(const std::string& s) {
    return QString::fromStdString(s);
}

// Runs `work` on the thread of `context` (the dialog's, the GUI thread) and waits for its value
// on the worker. Nothing when `stop` is set meanwhile or the dialog went away (its queued call
// is then dropped, and the promise with it); work's exception is rethrown here.
template <class T, class Work>
std::optional<T> waitOnGuiThread(QObject* context, const std::atomic<bool>& stop, Work work) {
    auto promise = std::make_shared<std::promise<T>>();
    std::future<T> future = promise->get_future();
    QMetaObject::invokeMethod(
        context,
        [promise, work = std::move(work)]() mutable {
            try {
                promise->set_value(work());
            } catch (...) {
                promise->set_exception(std::current_exception());
            }
        },
        Qt::QueuedConnection);
    while (future.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready)
        if (stop)
            return std::nullopt;
    try {
        return future.get();
    } catch (const std::future_error&) {
        return std::nullopt; // the dialog is gone
    }
}

QString sizeText(std::uint64_t bytes) {
    return QStringLiteral("%1 MB").arg(double(bytes) / 1e6, 0, 'f', 1);
}

} // namespace

struct ExportDialog::Private {
    workflow::DatasetAdministration& datasets;
    std::unique_ptr<workflow::DatasetAdministration> owned; // on a personal store's session
    QComboBox* dataset = nullptr;
    QComboBox* destination = nullptr;
    QLabel* destinationReason = nullptr;
    QCheckBox* nnunet = nullptr;
    QCheckBox* dicomSeg = nullptr;
    QCheckBox* boxes = nullptr;
    QLineEdit* recipients = nullptr; // read-only: filled from the file dialog
    QPushButton* chooseRecipients = nullptr;
    QPushButton* clearRecipients = nullptr;
    QPushButton* start = nullptr;
    QPushButton* cancel = nullptr;
    QPushButton* copy = nullptr;
    QProgressBar* progress = nullptr;
    QLabel* stage = nullptr;
    QLabel* message = nullptr;
    QPlainTextEdit* summary = nullptr;
    std::vector<workflow::ExportDestination> destinations;

    std::thread worker;
    std::atomic<bool> cancelRequested{false};
    std::atomic<bool> running{false};
    // Worker side only: what it last handed to the window.
    std::string lastStage;
    int lastPermille = -1;
    // Set on this thread when the worker is done.
    std::optional<workflow::ExportResult> result;
    QString refusal;
    QString bundleId;

    Private(workflow::DatasetAdministration& calls,
            std::unique_ptr<workflow::DatasetAdministration> own)
        : datasets(calls), owned(std::move(own)) {}
};

ExportDialog::ExportDialog(storage::Session& session, const QString& dataset, QWidget* parent)
    : ExportDialog(workflow::sessionDatasets(session), nullptr, dataset, parent) {}

ExportDialog::ExportDialog(workflow::DatasetAdministration& datasets, const QString& dataset,
                           QWidget* parent)
    : ExportDialog(nullptr, &datasets, dataset, parent) {}

ExportDialog::ExportDialog(std::unique_ptr<workflow::DatasetAdministration> owned,
                           workflow::DatasetAdministration* datasets, const QString& dataset,
                           QWidget* parent)
    : QDialog(parent),
      d_(std::make_unique<Private>(datasets ? *datasets : *owned, std::move(owned))) {
    setObjectName(QStringLiteral("exportDialog"));
    setWindowTitle(tr("Export dataset"));

    d_->dataset = new QComboBox;
    d_->dataset->setObjectName(QStringLiteral("exportDataset"));
    d_->destination = new QComboBox; // not editable: only the policy's destinations
    d_->destination->setObjectName(QStringLiteral("exportDestination"));
    d_->destination->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    d_->destination->setMinimumContentsLength(50);
    d_->destinationReason = new QLabel;
    d_->destinationReason->setObjectName(QStringLiteral("destinationReason"));
    d_->destinationReason->setWordWrap(true);
    auto* formats = new QGroupBox(tr("Formats"));
    d_->nnunet = new QCheckBox(tr("nnU-Net v2 (NIfTI images and labels, dataset.json, splits)"));
    d_->nnunet->setObjectName(QStringLiteral("formatNnunet"));
    d_->dicomSeg = new QCheckBox(tr("DICOM SEG with the de-identified source images"));
    d_->dicomSeg->setObjectName(QStringLiteral("formatDicomSeg"));
    d_->boxes = new QCheckBox(tr("Boxes (JSON and MONAI detection lists)"));
    d_->boxes->setObjectName(QStringLiteral("formatBoxes"));
    for (QCheckBox* box : {d_->nnunet, d_->dicomSeg, d_->boxes})
        box->setChecked(true);
    auto* formatLayout = new QVBoxLayout(formats);
    formatLayout->addWidget(d_->nnunet);
    formatLayout->addWidget(d_->dicomSeg);
    formatLayout->addWidget(d_->boxes);
    d_->recipients = new QLineEdit;
    d_->recipients->setObjectName(QStringLiteral("ageRecipientsFile"));
    d_->recipients->setReadOnly(true);
    d_->recipients->setPlaceholderText(tr("not encrypted"));
    d_->chooseRecipients = new QPushButton(tr("Recipients file..."));
    d_->chooseRecipients->setObjectName(QStringLiteral("chooseRecipientsButton"));
    d_->clearRecipients = new QPushButton(tr("Not encrypted"));
    d_->clearRecipients->setObjectName(QStringLiteral("clearRecipientsButton"));
    auto* encryption = new QHBoxLayout;
    encryption->addWidget(d_->recipients, 1);
    encryption->addWidget(d_->chooseRecipients);
    encryption->addWidget(d_->clearRecipients);

    auto* form = new QFormLayout;
    form->addRow(tr("Dataset"), d_->dataset);
    form->addRow(tr("Destination"), d_->destination);
    form->addRow(QString(), d_->destinationReason);
    form->addRow(formats);
    form->addRow(tr("Encrypt with age to"), encryption);

    d_->start = new QPushButton(tr("Export"));
    d_->start->setObjectName(QStringLiteral("startExportButton"));
    d_->start->setDefault(true);
    d_->cancel = new QPushButton(tr("Cancel export"));
    d_->cancel->setObjectName(QStringLiteral("cancelExportButton"));
    d_->cancel->setEnabled(false);
    auto* run = new QHBoxLayout;
    run->addStretch();
    run->addWidget(d_->cancel);
    run->addWidget(d_->start);
    d_->progress = new QProgressBar;
    d_->progress->setObjectName(QStringLiteral("exportProgress"));
    d_->progress->setRange(0, 1000);
    d_->progress->setValue(0);
    d_->stage = new QLabel;
    d_->stage->setObjectName(QStringLiteral("exportStage"));
    d_->message = new QLabel;
    d_->message->setObjectName(QStringLiteral("exportMessage"));
    d_->message->setWordWrap(true);
    d_->message->setTextInteractionFlags(Qt::TextSelectableByMouse);
    d_->message->setStyleSheet(QStringLiteral("color: #b03a2e; font-weight: bold"));
    d_->summary = new QPlainTextEdit;
    d_->summary->setObjectName(QStringLiteral("exportSummary"));
    d_->summary->setReadOnly(true);
    d_->summary->setPlaceholderText(tr("The bundle's id, location and hashes show here."));
    d_->copy = new QPushButton(tr("Copy summary"));
    d_->copy->setObjectName(QStringLiteral("copySummaryButton"));
    d_->copy->setEnabled(false);
    auto* close = new QDialogButtonBox(QDialogButtonBox::Close);
    close->addButton(d_->copy, QDialogButtonBox::ActionRole);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addLayout(run);
    layout->addWidget(d_->progress);
    layout->addWidget(d_->stage);
    layout->addWidget(d_->message);
    layout->addWidget(d_->summary, 1);
    layout->addWidget(close);
    resize(820, 620);

    connect(d_->start, &QPushButton::clicked, this, &ExportDialog::startExport);
    connect(d_->cancel, &QPushButton::clicked, this, &ExportDialog::cancelExport);
    connect(d_->copy, &QPushButton::clicked, this, &ExportDialog::copySummary);
    connect(close, &QDialogButtonBox::rejected, this, &ExportDialog::reject);
    connect(d_->chooseRecipients, &QPushButton::clicked, this, &ExportDialog::chooseRecipientsFile);
    connect(d_->clearRecipients, &QPushButton::clicked, d_->recipients, &QLineEdit::clear);
    connect(d_->destination, &QComboBox::currentIndexChanged, this, [this](int index) {
        if (index < 0 || index >= int(d_->destinations.size()))
            return d_->destinationReason->clear();
        const delivery::DestinationCheck& check = d_->destinations[std::size_t(index)].check;
        d_->destinationReason->setText(
            (check.allowed ? tr("Allowed: %1") : tr("Refused: %1")).arg(q(check.reason)));
    });

    try {
        for (const storage::DatasetSummary& s : d_->datasets.list())
            d_->dataset->addItem(q(s.name));
    } catch (const std::exception& e) {
        d_->message->setText(QString::fromUtf8(e.what()));
    }
    if (const int index = d_->dataset->findText(dataset); index >= 0)
        d_->dataset->setCurrentIndex(index);
    fillDestinations();
}

ExportDialog::~ExportDialog() {
    d_->cancelRequested = true;
    if (d_->worker.joinable())
        d_->worker.join();
    if (d_->running) // the worker's last word was not read: the session is free now all the same
        emit sessionInUse(false);
}

QComboBox* ExportDialog::datasetChoice() const {
    return d_->dataset;
}
QComboBox* ExportDialog::destinationChoice() const {
    return d_->destination;
}
QProgressBar* ExportDialog::progressBar() const {
    return d_->progress;
}
QLabel* ExportDialog::stage() const {
    return d_->stage;
}
QLabel* ExportDialog::message() const {
    return d_->message;
}
QPlainTextEdit* ExportDialog::summary() const {
    return d_->summary;
}
QString ExportDialog::bundleId() const {
    return d_->bundleId;
}
bool ExportDialog::isExporting() const {
    return d_->running;
}

void ExportDialog::fillDestinations() {
    d_->destination->clear();
    try {
        d_->destinations = d_->datasets.destinations();
    } catch (const std::exception& e) {
        d_->message->setText(QString::fromUtf8(e.what()));
        return;
    }
    // Refused destinations stay in the list, greyed out with their reason: the admin sees why.
    auto* model = qobject_cast<QStandardItemModel*>(d_->destination->model());
    int firstAllowed = -1;
    for (const workflow::ExportDestination& x : d_->destinations) {
        const bool share = x.destination.kind == delivery::Destination::Kind::SmbShare;
        QString text = tr("%1 (%2: %3)")
                           .arg(q(x.destination.name), share ? tr("SMB3 share") : tr("folder"),
                                q(x.destination.location()));
        if (!x.check.allowed)
            text += tr(": refused, %1").arg(q(x.check.reason));
        d_->destination->addItem(text, q(x.destination.name));
        const int row = d_->destination->count() - 1;
        d_->destination->setItemData(row, q(x.check.reason), Qt::ToolTipRole);
        if (!x.check.allowed) {
            if (QStandardItem* item = model ? model->item(row) : nullptr)
                item->setFlags(item->flags() & ~(Qt::ItemIsEnabled | Qt::ItemIsSelectable));
        } else if (firstAllowed < 0) {
            firstAllowed = row;
        }
    }
    d_->destination->setCurrentIndex(firstAllowed);
    if (d_->destinations.empty())
        d_->destinationReason->setText(
            tr("The site policy lists no export destination (export_destinations)."));
    else if (firstAllowed < 0)
        d_->destinationReason->setText(
            tr("None of the policy's destinations can be written to now (reasons in the list)."));
}

void ExportDialog::chooseRecipientsFile() {
    QFileDialog dialog(this, tr("age recipients file (one age1... recipient a line)"));
    dialog.setObjectName(QStringLiteral("recipientsFileDialog"));
    dialog.setOption(QFileDialog::DontUseNativeDialog);
    dialog.setFileMode(QFileDialog::ExistingFile);
    if (dialog.exec() == QDialog::Accepted && !dialog.selectedFiles().isEmpty())
        d_->recipients->setText(dialog.selectedFiles().front());
}

void ExportDialog::startExport() {
    if (d_->running)
        return;
    const int index = d_->destination->currentIndex();
    if (d_->dataset->currentText().isEmpty() || index < 0 ||
        index >= int(d_->destinations.size())) {
        d_->message->setText(tr("Choose a dataset and one of the policy's destinations."));
        return;
    }
    if (d_->worker.joinable())
        d_->worker.join();
    workflow::ExportRequest request;
    request.dataset = d_->dataset->currentText().toStdString();
    request.destination = d_->destinations[std::size_t(index)].destination.name;
    request.formats = {d_->nnunet->isChecked(), d_->dicomSeg->isChecked(), d_->boxes->isChecked()};
    if (!d_->recipients->text().isEmpty())
        request.ageRecipientFiles = {d_->recipients->text().toStdString()};
    // Qt paints the datasheet's PDF on this thread, the worker waits for it.
    request.renderPdf = [this](const report::Report& sheet, const report::PdfOptions& options) {
        std::optional<std::string> pdf =
            waitOnGuiThread<std::string>(this, d_->cancelRequested, [sheet, options] {
                return report::renderPdf(sheet, options);
            });
        if (!pdf)
            throw std::runtime_error("the export was cancelled while its datasheet was drawn");
        return std::move(*pdf);
    };
    // The share's password, asked for on this thread.
    const delivery::PasswordPrompt askPassword =
        [this](const std::string& question) -> std::optional<std::string> {
        auto answer = waitOnGuiThread<std::optional<std::string>>(
            this, d_->cancelRequested, [this, question]() -> std::optional<std::string> {
                QInputDialog dialog(this);
                dialog.setObjectName(QStringLiteral("sharePasswordDialog"));
                dialog.setWindowTitle(tr("Password for the share"));
                dialog.setLabelText(q(question));
                dialog.setTextEchoMode(QLineEdit::Password);
                if (dialog.exec() != QDialog::Accepted)
                    return std::nullopt;
                QString typed = dialog.textValue();
                std::string password = typed.toStdString();
                typed.fill(QLatin1Char('\0'));
                dialog.setTextValue(QString());
                return password;
            });
        return answer ? *answer : std::nullopt;
    };
    // Each new stage waits until the window shows it; the bar's steps in between do not.
    const workflow::ExportProgress progress = [this](double fraction, const std::string& stage) {
        if (d_->cancelRequested)
            return false;
        const int permille = int(fraction * 1000);
        const bool newStage = stage != d_->lastStage;
        if (!newStage && permille == d_->lastPermille)
            return true;
        d_->lastStage = stage;
        d_->lastPermille = permille;
        const QString text = q(stage);
        if (newStage)
            waitOnGuiThread<bool>(this, d_->cancelRequested, [this, permille, text] {
                showProgress(permille, text);
                return true;
            });
        else
            QMetaObject::invokeMethod(
                this, [this, permille, text] { showProgress(permille, text); },
                Qt::QueuedConnection);
        return !d_->cancelRequested;
    };

    d_->result.reset();
    d_->refusal.clear();
    d_->bundleId.clear();
    d_->message->clear();
    d_->summary->clear();
    d_->copy->setEnabled(false);
    d_->progress->setValue(0);
    d_->stage->setText(tr("Starting..."));
    d_->lastStage.clear();
    d_->lastPermille = -1;
    d_->cancelRequested = false;
    d_->running = true;
    for (QWidget* w : std::initializer_list<QWidget*>{d_->start, d_->dataset, d_->destination,
                                                      d_->nnunet, d_->dicomSeg, d_->boxes,
                                                      d_->chooseRecipients, d_->clearRecipients})
        w->setEnabled(false);
    d_->cancel->setEnabled(true);
    emit sessionInUse(true);
    d_->worker = std::thread([this, request, askPassword, progress] {
        std::optional<workflow::ExportResult> result;
        QString refusal;
        try {
            result = d_->datasets.exportDataset(request, askPassword, progress);
        } catch (const std::exception& e) {
            refusal = QString::fromUtf8(e.what());
        }
        QMetaObject::invokeMethod(
            this,
            [this, result = std::move(result), refusal] {
                d_->result = result;
                d_->refusal = refusal;
                finish();
            },
            Qt::QueuedConnection);
    });
}

void ExportDialog::showProgress(int permille, const QString& stage) {
    if (!d_->running)
        return;
    // The bar never moves back (the composer's first case starts below its "opening" step).
    const int value = std::max(permille, d_->progress->value());
    d_->progress->setValue(value);
    d_->stage->setText(d_->cancelRequested ? tr("Cancelling...") : stage);
    emit progressShown(value, stage);
}

void ExportDialog::cancelExport() {
    if (!d_->running)
        return;
    d_->cancelRequested = true;
    d_->cancel->setEnabled(false);
    d_->stage->setText(tr("Cancelling: the partial bundle is removed..."));
}

void ExportDialog::finish() {
    if (d_->worker.joinable())
        d_->worker.join();
    d_->running = false;
    emit sessionInUse(false);
    for (QWidget* w : std::initializer_list<QWidget*>{d_->start, d_->dataset, d_->destination,
                                                      d_->nnunet, d_->dicomSeg, d_->boxes,
                                                      d_->chooseRecipients, d_->clearRecipients})
        w->setEnabled(true);
    d_->cancel->setEnabled(false);
    if (!d_->result) {
        d_->progress->setValue(0);
        d_->stage->setText(tr("Not exported."));
        d_->message->setText(d_->refusal);
        fillDestinations(); // a share may have gone, a mount changed
        emit exportFinished(false);
        return;
    }
    const workflow::ExportResult& r = *d_->result;
    d_->bundleId = q(r.bundleId);
    d_->progress->setValue(1000);
    d_->stage->setText(tr("Exported."));
    QStringList lines = {
        tr("Bundle: %1").arg(q(r.bundleId)),
        tr("Location: %1").arg(q(r.location)),
        tr("Revision: %1 %2, sha256 %3")
            .arg(r.revisionNumber)
            .arg(r.newRevision ? tr("(new)") : tr("(unchanged dataset: the existing revision)"),
                 q(r.revisionHash)),
        tr("Cases: %1").arg(r.cases),
        tr("Manifest sha256: %1").arg(q(r.manifestSha256)),
        tr("Tag manifest sha256: %1").arg(q(r.tagManifestSha256)),
        tr("Signed by: minisign key %1").arg(q(r.signerKeyId)),
        tr("Files: %1 (%2)%3")
            .arg(r.files)
            .arg(sizeText(r.bytes), r.encrypted ? tr(", age-encrypted") : QString())};
    for (const std::string& note : r.notes)
        lines << tr("Note: %1").arg(q(note));
    d_->summary->setPlainText(lines.join(QLatin1Char('\n')));
    d_->copy->setEnabled(true);
    emit exportFinished(true);
}

void ExportDialog::copySummary() {
    QApplication::clipboard()->setText(d_->summary->toPlainText());
}

void ExportDialog::reject() {
    if (d_->running) {
        cancelExport(); // the worker removes the partial bundle and reports
        return;
    }
    QDialog::reject();
}

} // namespace radmark::gui
