#include "app/gui/WorklistDialog.h"

#include <QComboBox>
#include <QDateTime>
#include <QDialogButtonBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QTabWidget>
#include <QTableWidget>
#include <QVBoxLayout>

namespace radmark::gui {

namespace {

constexpr int studyIdRole = Qt::UserRole;
constexpr int versionIdRole = Qt::UserRole + 1;
constexpr int stateRole = Qt::UserRole + 2; // the storage::ReviewState of the row, as an int

// Sorts numbers as numbers (open comments), not as text.
class NumberItem : public QTableWidgetItem {
  public:
    explicit NumberItem(int value) : QTableWidgetItem(QString::number(value)), value_(value) {}
    bool operator<(const QTableWidgetItem& other) const override {
        if (const auto* number = dynamic_cast<const NumberItem*>(&other))
            return value_ < number->value_;
        return QTableWidgetItem::operator<(other);
    }

  private:
    int value_;
};

QString text(const std::string& s) {
    return QString::fromStdString(s);
}

// "2026-12-01 14:03" of a storage UTC time, in local time; sorts like the UTC text it came from.
QString localTime(const std::string& utc) {
    const QDateTime time = QDateTime::fromString(text(utc), Qt::ISODate);
    return time.isValid() ? time.toLocalTime().toString(QStringLiteral("yyyy-MM-dd HH:mm"))
                          : text(utc);
}

const QStringList columns = {
    QObject::tr("Pseudonym"),  QObject::tr("Modality"),       QObject::tr("Description"),
    QObject::tr("Annotators"), QObject::tr("Latest version"), QObject::tr("Author"),
    QObject::tr("Saved"),      QObject::tr("State"),          QObject::tr("Open comments")};

QTableWidget* makeTable(const std::vector<workflow::WorklistRow>& rows, bool queue,
                        QWidget* parent) {
    auto* table = new QTableWidget(int(rows.size()), int(columns.size()), parent);
    table->setHorizontalHeaderLabels(columns);
    table->setSelectionBehavior(QAbstractItemView::SelectRows);
    table->setSelectionMode(QAbstractItemView::SingleSelection);
    table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table->verticalHeader()->hide();
    table->horizontalHeader()->setStretchLastSection(true);
    for (int r = 0; r < int(rows.size()); ++r) {
        const workflow::WorklistRow& row = rows[std::size_t(r)];
        QStringList annotators;
        for (const std::string& name : row.annotators)
            annotators << text(name);
        const storage::ReviewState state =
            row.latest ? row.latest->state : storage::ReviewState::Draft;
        const QString stateText =
            row.latest ? text(std::string(storage::reviewStateName(state))) : QObject::tr("none");
        QList<QTableWidgetItem*> items = {
            new QTableWidgetItem(text(row.pseudonym)),
            new QTableWidgetItem(text(row.modality)),
            new QTableWidgetItem(text(row.description)),
            new QTableWidgetItem(annotators.join(QStringLiteral(", "))),
            new QTableWidgetItem(row.latest ? text(row.latest->shortHash) : QString()),
            new QTableWidgetItem(row.latest ? text(row.latest->author) : QString()),
            new QTableWidgetItem(row.latest ? localTime(row.latest->createdUtc) : QString()),
            new QTableWidgetItem(stateText),
            new NumberItem(row.openComments)};
        if (!queue && !row.annotator.empty()) // a blind study: one row per annotator
            items[3]->setText(
                QObject::tr("%1 (row of %2)").arg(items[3]->text(), text(row.annotator)));
        for (int c = 0; c < int(items.size()); ++c) {
            items[c]->setData(studyIdRole, qlonglong(row.studyId));
            items[c]->setData(versionIdRole,
                              row.latest ? qlonglong(row.latest->annotationId) : qlonglong(0));
            items[c]->setData(stateRole, row.latest ? int(state) : -1);
            table->setItem(r, c, items[c]);
        }
    }
    table->resizeColumnsToContents();
    table->setSortingEnabled(true); // after filling: sorting while inserting scrambles rows
    if (!rows.empty())
        table->selectRow(0);
    return table;
}

} // namespace

WorklistDialog::WorklistDialog(const std::vector<workflow::WorklistRow>& worklist,
                               const std::optional<std::vector<workflow::WorklistRow>>& queue,
                               QWidget* parent)
    : QDialog(parent) {
    setWindowTitle(tr("Worklist"));
    setObjectName(QStringLiteral("worklistDialog"));

    tabs_ = new QTabWidget(this);
    tabs_->setObjectName(QStringLiteral("worklistTabs"));

    auto* studiesPage = new QWidget(tabs_);
    auto* studiesLayout = new QVBoxLayout(studiesPage);
    auto* filterRow = new QHBoxLayout;
    filterRow->addWidget(new QLabel(tr("State:"), studiesPage));
    stateFilter_ = new QComboBox(studiesPage);
    stateFilter_->setObjectName(QStringLiteral("stateFilter"));
    stateFilter_->addItem(tr("all"), -1);
    for (storage::ReviewState state :
         {storage::ReviewState::Draft, storage::ReviewState::Submitted,
          storage::ReviewState::Approved, storage::ReviewState::ChangesRequested,
          storage::ReviewState::Rejected})
        stateFilter_->addItem(text(std::string(storage::reviewStateName(state))), int(state));
    filterRow->addWidget(stateFilter_);
    filterRow->addStretch(1);
    studiesLayout->addLayout(filterRow);
    worklist_ = makeTable(worklist, false, studiesPage);
    worklist_->setObjectName(QStringLiteral("worklistTable"));
    studiesLayout->addWidget(worklist_);
    tabs_->addTab(studiesPage, tr("Studies"));
    connect(stateFilter_, &QComboBox::currentIndexChanged, this, &WorklistDialog::applyStateFilter);

    if (queue) {
        queue_ = makeTable(*queue, true, tabs_);
        queue_->setObjectName(QStringLiteral("queueTable"));
        queue_->setSortingEnabled(false); // the queue keeps its order: oldest submission first
        tabs_->addTab(queue_, tr("Review queue (%1)").arg(queue_->rowCount()));
        connect(queue_, &QTableWidget::cellDoubleClicked, this, &QDialog::accept);
    }
    connect(worklist_, &QTableWidget::cellDoubleClicked, this, &QDialog::accept);

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Open | QDialogButtonBox::Cancel, this);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(tabs_);
    layout->addWidget(buttons);
    resize(980, 420);
}

void WorklistDialog::showQueue() {
    if (queue_)
        tabs_->setCurrentWidget(queue_);
}

void WorklistDialog::applyStateFilter() {
    const int wanted = stateFilter_->currentData().toInt();
    for (int r = 0; r < worklist_->rowCount(); ++r) {
        const int state = worklist_->item(r, 0)->data(stateRole).toInt();
        // A study without versions is a draft to be made.
        const bool draft = state == -1 && wanted == int(storage::ReviewState::Draft);
        worklist_->setRowHidden(r, wanted != -1 && state != wanted && !draft);
    }
    const QList<QTableWidgetItem*> selected = worklist_->selectedItems();
    if (selected.isEmpty() || worklist_->isRowHidden(selected.front()->row())) {
        worklist_->clearSelection();
        for (int r = 0; r < worklist_->rowCount(); ++r)
            if (!worklist_->isRowHidden(r)) {
                worklist_->selectRow(r);
                break;
            }
    }
}

std::optional<WorklistDialog::Choice> WorklistDialog::choice() const {
    const bool onQueue = queue_ && tabs_->currentWidget() == queue_;
    QTableWidget* table = onQueue ? queue_ : worklist_;
    const QList<QTableWidgetItem*> selected = table->selectedItems();
    if (selected.isEmpty() || table->isRowHidden(selected.front()->row()))
        return std::nullopt;
    const QTableWidgetItem* item = selected.front();
    Choice choice;
    choice.studyId = item->data(studyIdRole).toLongLong();
    if (onQueue)
        choice.version = item->data(versionIdRole).toLongLong();
    return choice;
}

} // namespace radmark::gui
