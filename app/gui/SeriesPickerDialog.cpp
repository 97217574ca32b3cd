#include "app/gui/SeriesPickerDialog.h"

#include <QDialogButtonBox>
#include <QHeaderView>
#include <QLabel>
#include <QTableWidget>
#include <QVBoxLayout>

namespace radmark::gui {

SeriesPickerDialog::SeriesPickerDialog(std::vector<imaging::SeriesSummary> series, QWidget* parent)
    : QDialog(parent), series_(std::move(series)) {
    setWindowTitle(tr("Choose a series"));
    setObjectName(QStringLiteral("seriesPicker"));
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(new QLabel(tr("This location holds %n series. Which one do you want to open?",
                                    "", int(series_.size()))));
    table_ = new QTableWidget(int(series_.size()), 4, this);
    table_->setHorizontalHeaderLabels(
        {tr("Modality"), tr("Description"), tr("Images"), tr("Format")});
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::SingleSelection);
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->verticalHeader()->hide();
    table_->horizontalHeader()->setSectionResizeMode(1, QHeaderView::Stretch);
    for (int row = 0; row < int(series_.size()); ++row) {
        const auto& s = series_[row];
        table_->setItem(row, 0, new QTableWidgetItem(QString::fromStdString(s.modality)));
        table_->setItem(row, 1, new QTableWidgetItem(QString::fromStdString(s.description)));
        auto* count = new QTableWidgetItem(QString::number(s.imageCount));
        count->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
        table_->setItem(row, 2, count);
        table_->setItem(row, 3, new QTableWidgetItem(QString::fromStdString(s.format)));
    }
    if (!series_.empty())
        table_->selectRow(largest(series_));
    layout->addWidget(table_);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Open | QDialogButtonBox::Cancel, this);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(table_, &QTableWidget::cellDoubleClicked, this, &QDialog::accept);
    layout->addWidget(buttons);
    resize(640, 320);
}

int SeriesPickerDialog::chosenIndex() const {
    const auto rows = table_->selectionModel()->selectedRows();
    return rows.isEmpty() ? -1 : rows.front().row();
}

const imaging::SeriesSummary* SeriesPickerDialog::chosen() const {
    const int index = chosenIndex();
    return index < 0 ? nullptr : &series_[index];
}

int SeriesPickerDialog::largest(const std::vector<imaging::SeriesSummary>& series) {
    int best = -1;
    for (int i = 0; i < int(series.size()); ++i)
        if (best < 0 || series[i].imageCount > series[best].imageCount)
            best = i;
    return best;
}

} // namespace radmark::gui
