#include "app/gui/VersionsPanel.h"

#include <QDateTime>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

namespace radmark::gui {

namespace {

enum Column { IdColumn, AuthorColumn, TimeColumn, MessageColumn, ReviewColumn, VoxelsColumn };

QString localTime(const std::string& utc) {
    const QDateTime time = QDateTime::fromString(QString::fromStdString(utc), Qt::ISODate);
    return time.isValid() ? time.toLocalTime().toString(QStringLiteral("yyyy-MM-dd HH:mm"))
                          : QString::fromStdString(utc);
}

QString voxelsPerSegment(const annotation::Version& version) {
    QStringList parts;
    for (const auto& [label, count] : version.voxelCounts) {
        const annotation::Segment* segment = version.segments.find(label);
        const QString name =
            segment ? QString::fromStdString(segment->name) : QObject::tr("label %1").arg(label);
        parts << QStringLiteral("%1=%2").arg(name).arg(count);
    }
    return parts.isEmpty() ? QObject::tr("empty") : parts.join(QStringLiteral(", "));
}

} // namespace

VersionsPanel::VersionsPanel(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("versionsPanel"));
    table_ = new QTableWidget(0, 6, this);
    table_->setObjectName(QStringLiteral("versionsTable"));
    table_->setHorizontalHeaderLabels(
        {tr("Version"), tr("Author"), tr("Time"), tr("Message"), tr("Review"), tr("Voxels")});
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::SingleSelection);
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->verticalHeader()->hide();
    table_->horizontalHeader()->setStretchLastSection(true);
    note_ = new QLabel(this);
    note_->setWordWrap(true);
    openButton_ = new QPushButton(tr("Open read-only"), this);
    openButton_->setObjectName(QStringLiteral("openReadOnlyButton"));
    draftButton_ = new QPushButton(tr("New draft from this version"), this);
    draftButton_->setObjectName(QStringLiteral("newDraftButton"));

    auto* buttons = new QHBoxLayout;
    buttons->addWidget(openButton_);
    buttons->addWidget(draftButton_);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(table_);
    layout->addWidget(note_);
    layout->addLayout(buttons);

    connect(table_, &QTableWidget::itemSelectionChanged, this, &VersionsPanel::updateButtons);
    connect(table_, &QTableWidget::cellDoubleClicked, this,
            [this](int row, int) { emit openReadOnlyRequested(rows_[std::size_t(row)]); });
    connect(openButton_, &QPushButton::clicked, this, [this] {
        if (const auto id = selected())
            emit openReadOnlyRequested(*id);
    });
    connect(draftButton_, &QPushButton::clicked, this, [this] {
        if (const auto id = selected())
            emit newDraftRequested(*id);
    });
    clear(tr("Open a stored study to see its versions."));
}

void VersionsPanel::setVersions(const std::vector<Entry>& oldestFirst,
                                const std::optional<annotation::VersionId>& shown) {
    table_->setRowCount(int(oldestFirst.size()));
    rows_.clear();
    int row = 0;
    for (auto it = oldestFirst.rbegin(); it != oldestFirst.rend(); ++it, ++row) {
        const annotation::Version& v = it->version;
        rows_.push_back(v.id);
        const QString cells[] = {QString::fromStdString(v.id.hex().substr(0, 12)),
                                 QString::fromStdString(v.author),
                                 localTime(v.createdUtc),
                                 QString::fromStdString(v.message),
                                 QString::fromUtf8(storage::reviewStateName(it->review)),
                                 voxelsPerSegment(v)};
        for (int column = IdColumn; column <= VoxelsColumn; ++column) {
            auto* item = new QTableWidgetItem(cells[column]);
            QFont font = item->font();
            font.setBold(shown && *shown == v.id);
            item->setFont(font);
            item->setToolTip(cells[column]);
            table_->setItem(row, column, item);
        }
    }
    table_->resizeColumnsToContents();
    note_->setText(oldestFirst.empty() ? tr("No saved versions yet: Ctrl+S saves one.")
                                       : tr("Double-click a version to view it read-only."));
    updateButtons();
}

void VersionsPanel::clear(const QString& reason) {
    table_->setRowCount(0);
    rows_.clear();
    note_->setText(reason);
    updateButtons();
}

std::optional<annotation::VersionId> VersionsPanel::selected() const {
    const int row = table_->currentRow();
    if (row < 0 || row >= int(rows_.size()) || table_->selectedItems().isEmpty())
        return std::nullopt;
    return rows_[std::size_t(row)];
}

void VersionsPanel::updateButtons() {
    const bool any = selected().has_value();
    openButton_->setEnabled(any);
    draftButton_->setEnabled(any);
}

} // namespace radmark::gui
