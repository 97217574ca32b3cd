#include "app/gui/AgreementDialog.h"

#include "report/PdfWriter.h"
#include "report/TextWriters.h"
#include "storage/AuditLog.h"

#include <QDialogButtonBox>
#include <QFileDialog>
#include <QHeaderView>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

#include <cmath>

namespace radmark::gui {

namespace {

// Sorts number cells as numbers; an undefined number (empty cell) sorts last.
class NumberItem : public QTableWidgetItem {
  public:
    NumberItem(const QString& text, double value) : QTableWidgetItem(text), value_(value) {
        setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    }
    bool operator<(const QTableWidgetItem& other) const override {
        const auto* number = dynamic_cast<const NumberItem*>(&other);
        if (!number)
            return QTableWidgetItem::operator<(other);
        if (!std::isfinite(value_))
            return false;
        return !std::isfinite(number->value_) || value_ < number->value_;
    }

  private:
    double value_;
};

QTableWidgetItem* itemOf(const report::Cell& cell) {
    if (!cell.isNumber())
        return new QTableWidgetItem(QString::fromStdString(cell.text));
    const double v = *cell.value;
    return new NumberItem(std::isfinite(v) ? QString::number(v, 'f', cell.decimals) : QString(), v);
}

} // namespace

AgreementDialog::AgreementDialog(workflow::AgreementSummary summary, QWidget* parent)
    : QDialog(parent), summary_(std::move(summary)) {
    setWindowTitle(tr("Agreement report"));
    const report::Table model = workflow::agreementTable(summary_);
    table_ = new QTableWidget(int(model.rows.size()), int(model.columns.size()), this);
    table_->setObjectName(QStringLiteral("agreementTable"));
    QStringList headings;
    for (const report::Column& c : model.columns)
        headings << QString::fromStdString(c.heading);
    table_->setHorizontalHeaderLabels(headings);
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->verticalHeader()->hide();
    for (int r = 0; r < int(model.rows.size()); ++r)
        for (int c = 0; c < int(model.columns.size()); ++c)
            table_->setItem(r, c, itemOf(model.rows[std::size_t(r)][std::size_t(c)]));
    table_->setSortingEnabled(true);
    table_->resizeColumnsToContents();

    QString note = tr("%n segment comparison(s); surface distances in mm, surface Dice at %1 mm.",
                      nullptr, int(summary_.rows.size()))
                       .arg(summary_.toleranceMm);
    if (!summary_.studiesWithoutPairs.empty())
        note += QLatin1Char(' ') + tr("%n study(ies) with fewer than two annotators and no "
                                      "reference are not in the table.",
                                      nullptr, int(summary_.studiesWithoutPairs.size()));
    if (model.hasUndefinedNumber())
        note += QLatin1Char(' ') + QString::fromStdString(model.undefinedNote);
    auto* label = new QLabel(note, this);
    label->setWordWrap(true);

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    QPushButton* saveButton =
        buttons->addButton(tr("&Save as CSV or PDF..."), QDialogButtonBox::ActionRole);
    saveButton->setObjectName(QStringLiteral("saveReportButton"));
    connect(saveButton, &QPushButton::clicked, this, &AgreementDialog::chooseAndSave);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(table_);
    layout->addWidget(label);
    layout->addWidget(buttons);
    resize(1000, 500);
}

void AgreementDialog::save(const std::filesystem::path& target) const {
    const std::string ext = target.extension().string();
    if (ext == ".csv")
        report::writeFileAtomically(target, report::writeCsv(workflow::agreementTable(summary_)));
    else if (ext == ".md")
        report::writeFileAtomically(
            target, report::writeMarkdown(workflow::agreementReport(summary_, storage::utcNow())));
    else
        report::writePdf(workflow::agreementReport(summary_, storage::utcNow()), target);
}

void AgreementDialog::chooseAndSave() {
    QFileDialog dialog(this, tr("Save agreement report"));
    dialog.setObjectName(QStringLiteral("saveReportDialog"));
    dialog.setAcceptMode(QFileDialog::AcceptSave);
    dialog.setOption(QFileDialog::DontUseNativeDialog);
    dialog.setNameFilters({tr("PDF (*.pdf)"), tr("CSV (*.csv)"), tr("Markdown (*.md)")});
    dialog.setDefaultSuffix(QStringLiteral("pdf"));
    if (dialog.exec() != QDialog::Accepted || dialog.selectedFiles().isEmpty())
        return;
    std::filesystem::path target = dialog.selectedFiles().front().toStdString();
    const std::string ext = target.extension().string();
    if (ext != ".csv" && ext != ".pdf" && ext != ".md")
        target += ".pdf";
    try {
        save(target);
    } catch (const std::exception& e) {
        QMessageBox::warning(this, tr("Save agreement report"),
                             tr("The report was not saved: %1").arg(QString::fromUtf8(e.what())));
    }
}

} // namespace radmark::gui
