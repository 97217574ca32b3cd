#include "app/gui/DatasetsDialog.h"

#include "workflow/DatasetAdministration.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDateTime>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QTabWidget>
#include <QTableWidget>
#include <QTreeWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <optional>
#include <set>

namespace radmark::gui {

namespace {

QString q(const std::string& s) {
    return QString::fromStdString(s);
}

QString shortHash(const std::string& hash) {
    return hash.empty() ? QStringLiteral("-") : q(hash.substr(0, 12));
}

QString number3(int number) {
    return QStringLiteral("%1").arg(number, 3, 10, QLatin1Char('0'));
}

// A storage UTC time in local time, "2026-04-02 14:03".
QString localTime(const std::string& utc) {
    const QDateTime time = QDateTime::fromString(q(utc), Qt::ISODate);
    return time.isValid() ? time.toLocalTime().toString(QStringLiteral("yyyy-MM-dd HH:mm"))
                          : q(utc);
}

QTableWidget* makeTable(const QStringList& headers, const char* name) {
    auto* t = new QTableWidget(0, int(headers.size()));
    t->setObjectName(QString::fromLatin1(name));
    t->setHorizontalHeaderLabels(headers);
    t->setEditTriggers(QAbstractItemView::NoEditTriggers);
    t->setSelectionBehavior(QAbstractItemView::SelectRows);
    t->setSelectionMode(QAbstractItemView::SingleSelection);
    t->horizontalHeader()->setStretchLastSection(true);
    t->verticalHeader()->hide();
    return t;
}

QTableWidgetItem* setCell(QTableWidget* t, int row, int column, const QString& text) {
    auto* item = new QTableWidgetItem(text);
    t->setItem(row, column, item);
    return item;
}

void fillRow(QTableWidget* t, int row, const QStringList& cells) {
    for (int c = 0; c < cells.size(); ++c)
        setCell(t, row, c, cells[c]);
}

QPushButton* button(const QString& text, const char* name) {
    auto* b = new QPushButton(text);
    b->setObjectName(QString::fromLatin1(name));
    return b;
}

// An unapproved version is exported only because the admin chose it, and every file describing
// the bundle says so: it must stand out here too.
void markUnapproved(QTableWidgetItem* item) {
    QFont bold = item->font();
    bold.setBold(true);
    item->setFont(bold);
    item->setForeground(QColor(150, 20, 0));
    item->setBackground(QColor(255, 225, 200));
    item->setToolTip(QObject::tr("Not approved: exported only because this version was chosen, "
                                 "and marked UNAPPROVED in every file of the bundle."));
}

QString versionText(const workflow::CandidateVersion& v) {
    return QObject::tr("%1 · %2 by %3, %4 (%5)")
        .arg(v.annotationId)
        .arg(shortHash(v.contentHash), q(v.author), localTime(v.created),
             QString::fromUtf8(storage::reviewStateName(v.state)));
}

std::optional<workflow::CandidateVersion> latestApproved(const workflow::CandidateStudy& study) {
    for (auto it = study.versions.rbegin(); it != study.versions.rend(); ++it)
        if (it->state == storage::ReviewState::Approved)
            return *it;
    return std::nullopt;
}

// The version choices of one study: "latest approved" first (data: empty), then every version
// (data: its number), the unapproved ones marked.
void fillVersionCombo(QComboBox* combo, const workflow::CandidateStudy& study) {
    combo->clear();
    const auto approved = latestApproved(study);
    combo->addItem(approved ? QObject::tr("Latest approved (now %1 · %2)")
                                  .arg(approved->annotationId)
                                  .arg(shortHash(approved->contentHash))
                            : QObject::tr("Latest approved (none approved yet)"),
                   QString());
    for (auto it = study.versions.rbegin(); it != study.versions.rend(); ++it) {
        const bool unapproved = it->state != storage::ReviewState::Approved;
        combo->addItem((unapproved ? QObject::tr("NOT APPROVED: ") : QString()) + versionText(*it),
                       QString::number(it->annotationId));
        if (unapproved)
            combo->setItemData(combo->count() - 1, QColor(150, 20, 0), Qt::ForegroundRole);
    }
}

// The store's studies to pick from (those not in the dataset yet), each with its latest approved
// version or "none approved"; with one study picked, a version of it may be chosen instead.
class StudyPickerDialog : public QDialog {
  public:
    StudyPickerDialog(std::vector<workflow::CandidateStudy> studies, QWidget* parent)
        : QDialog(parent), studies_(std::move(studies)) {
        setObjectName(QStringLiteral("studyPickerDialog"));
        setWindowTitle(tr("Add studies"));
        table_ = makeTable({tr("Study"), tr("Modality"), tr("Description"), tr("Versions"),
                            tr("Latest approved version")},
                           "studyPickerTable");
        table_->setSelectionMode(QAbstractItemView::ExtendedSelection);
        table_->setRowCount(int(studies_.size()));
        for (int row = 0; row < int(studies_.size()); ++row) {
            const workflow::CandidateStudy& s = studies_[std::size_t(row)];
            const auto approved = latestApproved(s);
            fillRow(table_, row,
                    {q(s.pseudonym), q(s.modality), q(s.description),
                     QString::number(s.versions.size()),
                     approved ? versionText(*approved) : tr("none approved")});
            if (!approved)
                table_->item(row, 4)->setForeground(QColor(150, 20, 0));
        }
        table_->resizeColumnsToContents();
        version_ = new QComboBox;
        version_->setObjectName(QStringLiteral("pickerVersion"));
        auto* note = new QLabel(tr("Studies are added with their latest approved version. To add "
                                   "one study with another version, pick it alone and choose "
                                   "the version."));
        note->setWordWrap(true);
        auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
        buttons->button(QDialogButtonBox::Ok)->setText(tr("Add"));
        buttons->button(QDialogButtonBox::Ok)->setObjectName(QStringLiteral("addPickedButton"));
        connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
        connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
        connect(table_, &QTableWidget::itemSelectionChanged, this, [this] { picked(); });
        auto* form = new QHBoxLayout;
        form->addWidget(new QLabel(tr("Version:")));
        form->addWidget(version_, 1);
        auto* layout = new QVBoxLayout(this);
        layout->addWidget(note);
        layout->addWidget(table_);
        layout->addLayout(form);
        layout->addWidget(buttons);
        picked();
        resize(900, 420);
    }

    std::vector<std::string> chosenStudies() const {
        std::vector<std::string> out;
        for (int row : selectedRows())
            out.push_back(studies_[std::size_t(row)].pseudonym);
        return out;
    }
    std::optional<std::string> chosenVersion() const {
        const QString data = version_->currentData().toString();
        if (!version_->isEnabled() || data.isEmpty())
            return std::nullopt;
        return data.toStdString();
    }

  private:
    std::vector<int> selectedRows() const {
        std::set<int> rows;
        for (const QModelIndex& index : table_->selectionModel()->selectedRows())
            rows.insert(index.row());
        return {rows.begin(), rows.end()};
    }
    void picked() {
        const std::vector<int> rows = selectedRows();
        version_->setEnabled(rows.size() == 1);
        if (rows.size() == 1)
            fillVersionCombo(version_, studies_[std::size_t(rows.front())]);
        else {
            version_->clear();
            version_->addItem(tr("Latest approved"), QString());
        }
    }

    std::vector<workflow::CandidateStudy> studies_;
    QTableWidget* table_ = nullptr;
    QComboBox* version_ = nullptr;
};

} // namespace

struct DatasetsDialog::Private {
    workflow::DatasetAdministration& calls;
    std::unique_ptr<workflow::DatasetAdministration> owned; // on a personal store's session
    std::optional<workflow::DatasetOverview> overview; // of the selected dataset

    QTableWidget* datasets = nullptr;
    QLineEdit* newName = nullptr;
    QSpinBox* newNumber = nullptr;
    QLineEdit* newPurpose = nullptr;

    QLabel* title = nullptr;
    QLineEdit* purpose = nullptr;
    QTabWidget* tabs = nullptr;
    QTableWidget* cases = nullptr;

    QSpinBox* seed = nullptr;
    QDoubleSpinBox* train = nullptr;
    QDoubleSpinBox* validation = nullptr;
    QDoubleSpinBox* test = nullptr;
    QCheckBox* keepExportedTest = nullptr;
    QLabel* splitSummary = nullptr;
    QTableWidget* splitCases = nullptr;

    QLabel* protocol = nullptr;
    QTableWidget* protocols = nullptr;

    QTableWidget* labels = nullptr;
    QTreeWidget* conflicts = nullptr;
    QLineEdit* mapName = nullptr;
    QLineEdit* mapCode = nullptr;
    QLineEdit* mapCategory = nullptr;
    QTableWidget* mappings = nullptr;

    QTableWidget* revisions = nullptr;
    QTreeWidget* exports = nullptr;

    QWidget* details = nullptr; // everything about the selected dataset
    QLabel* message = nullptr;

    Private(workflow::DatasetAdministration& c,
            std::unique_ptr<workflow::DatasetAdministration> own)
        : calls(c), owned(std::move(own)) {}
    std::string name() const { return overview ? overview->dataset.summary.name : std::string(); }
};

DatasetsDialog::DatasetsDialog(storage::Session& session, QWidget* parent)
    : DatasetsDialog(workflow::sessionDatasets(session), nullptr, parent) {}

DatasetsDialog::DatasetsDialog(workflow::DatasetAdministration& datasets, QWidget* parent)
    : DatasetsDialog(nullptr, &datasets, parent) {}

DatasetsDialog::DatasetsDialog(std::unique_ptr<workflow::DatasetAdministration> owned,
                               workflow::DatasetAdministration* datasets, QWidget* parent)
    : QDialog(parent),
      d_(std::make_unique<Private>(datasets ? *datasets : *owned, std::move(owned))) {
    setObjectName(QStringLiteral("datasetsDialog"));
    setWindowTitle(tr("Datasets"));

    auto* left = new QWidget;
    auto* leftLayout = new QVBoxLayout(left);
    leftLayout->setContentsMargins(0, 0, 0, 0);
    d_->datasets =
        makeTable({tr("Dataset"), tr("NNN"), tr("Cases"), tr("Latest revision"), tr("Exports")},
                  "datasetsTable");
    leftLayout->addWidget(d_->datasets);
    connect(d_->datasets, &QTableWidget::itemSelectionChanged, this, &DatasetsDialog::showDataset);
    auto* create = new QGroupBox(tr("New dataset"));
    auto* createForm = new QFormLayout(create);
    d_->newName = new QLineEdit;
    d_->newName->setObjectName(QStringLiteral("newDatasetName"));
    d_->newName->setPlaceholderText(tr("letters, digits, _ or -"));
    d_->newNumber = new QSpinBox;
    d_->newNumber->setObjectName(QStringLiteral("newDatasetNumber"));
    d_->newNumber->setRange(0, 999);
    d_->newNumber->setSpecialValueText(tr("assigned (from 500)"));
    d_->newPurpose = new QLineEdit;
    d_->newPurpose->setObjectName(QStringLiteral("newDatasetPurpose"));
    auto* createButton = button(tr("Create"), "createDatasetButton");
    createForm->addRow(tr("Name"), d_->newName);
    createForm->addRow(tr("nnU-Net number"), d_->newNumber);
    createForm->addRow(tr("Purpose"), d_->newPurpose);
    createForm->addRow(createButton);
    leftLayout->addWidget(create);
    connect(createButton, &QPushButton::clicked, this, &DatasetsDialog::createDataset);
    connect(d_->newName, &QLineEdit::returnPressed, this, &DatasetsDialog::createDataset);

    d_->details = new QWidget;
    auto* right = new QVBoxLayout(d_->details);
    right->setContentsMargins(0, 0, 0, 0);
    d_->title = new QLabel;
    d_->title->setObjectName(QStringLiteral("datasetTitle"));
    QFont big = d_->title->font();
    big.setPointSizeF(big.pointSizeF() * 1.3);
    big.setBold(true);
    d_->title->setFont(big);
    d_->title->setTextInteractionFlags(Qt::TextSelectableByMouse);
    right->addWidget(d_->title);
    auto* purposeRow = new QHBoxLayout;
    d_->purpose = new QLineEdit;
    d_->purpose->setObjectName(QStringLiteral("datasetPurpose"));
    auto* savePurpose = button(tr("Save purpose"), "savePurposeButton");
    purposeRow->addWidget(new QLabel(tr("Purpose:")));
    purposeRow->addWidget(d_->purpose, 1);
    purposeRow->addWidget(savePurpose);
    right->addLayout(purposeRow);
    connect(savePurpose, &QPushButton::clicked, this, &DatasetsDialog::savePurpose);
    connect(d_->purpose, &QLineEdit::returnPressed, this, &DatasetsDialog::savePurpose);
    d_->tabs = new QTabWidget;
    d_->tabs->setObjectName(QStringLiteral("datasetTabs"));
    right->addWidget(d_->tabs);
    buildCasesTab();
    buildSplitTab();
    buildProtocolTab();
    buildLabelsTab();
    buildRevisionsTab();
    buildExportsTab();

    auto* splitter = new QSplitter;
    splitter->addWidget(left);
    splitter->addWidget(d_->details);
    splitter->setStretchFactor(1, 3);
    splitter->setSizes({400, 850});

    d_->message = new QLabel;
    d_->message->setObjectName(QStringLiteral("datasetMessage"));
    d_->message->setWordWrap(true);
    d_->message->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* close = new QDialogButtonBox(QDialogButtonBox::Close);
    connect(close, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(splitter, 1);
    layout->addWidget(d_->message);
    layout->addWidget(close);
    resize(1250, 760);

    refresh();
}

DatasetsDialog::~DatasetsDialog() = default;

QTableWidget* DatasetsDialog::datasetsTable() const {
    return d_->datasets;
}
QTableWidget* DatasetsDialog::casesTable() const {
    return d_->cases;
}
QTabWidget* DatasetsDialog::tabs() const {
    return d_->tabs;
}
QLabel* DatasetsDialog::message() const {
    return d_->message;
}

QString DatasetsDialog::currentDataset() const {
    return q(d_->name());
}

void DatasetsDialog::report(const QString& text, bool error) {
    d_->message->setText(text);
    d_->message->setStyleSheet(error ? QStringLiteral("color: #b03a2e; font-weight: bold")
                                     : QString());
}

template <class Change> bool DatasetsDialog::attempt(const QString& done, Change change) {
    try {
        change();
    } catch (const std::exception& e) {
        report(QString::fromUtf8(e.what()), true);
        refresh(); // a refusal is logged and changes nothing; show what is
        return false;
    }
    refresh();
    report(done, false);
    return true;
}

void DatasetsDialog::refresh() {
    reload(currentDataset());
}

void DatasetsDialog::reload(const QString& selected) {
    std::vector<storage::DatasetSummary> list;
    try {
        list = d_->calls.list();
    } catch (const std::exception& e) {
        report(QString::fromUtf8(e.what()), true);
    }
    const QSignalBlocker quiet(d_->datasets);
    d_->datasets->setRowCount(int(list.size()));
    int selectRow = -1;
    for (int row = 0; row < int(list.size()); ++row) {
        const storage::DatasetSummary& s = list[std::size_t(row)];
        fillRow(d_->datasets, row,
                {q(s.name), number3(s.number), QString::number(s.cases),
                 s.revisions ? tr("revision %1").arg(s.revisions) : tr("none"),
                 QString::number(s.exports)});
        if (q(s.name) == selected)
            selectRow = row;
    }
    d_->datasets->resizeColumnsToContents();
    if (selectRow < 0 && !list.empty())
        selectRow = 0;
    if (selectRow >= 0)
        d_->datasets->selectRow(selectRow);
    showDataset();
}

void DatasetsDialog::selectDataset(const QString& name) {
    for (int row = 0; row < d_->datasets->rowCount(); ++row)
        if (d_->datasets->item(row, 0)->text() == name)
            d_->datasets->selectRow(row);
}

void DatasetsDialog::createDataset() {
    const std::string name = d_->newName->text().trimmed().toStdString();
    const std::optional<int> number =
        d_->newNumber->value() == 0 ? std::nullopt : std::optional(d_->newNumber->value());
    const std::string purpose = d_->newPurpose->text().toStdString();
    storage::DatasetSummary created;
    try {
        created = d_->calls.create(name, number, purpose);
    } catch (const std::exception& e) {
        report(QString::fromUtf8(e.what()), true);
        return;
    }
    d_->newName->clear();
    d_->newNumber->setValue(0);
    d_->newPurpose->clear();
    reload(q(created.name));
    report(tr("Dataset %1 created: nnU-Net folder Dataset%2_%1.")
               .arg(q(created.name), number3(created.number)),
           false);
}

void DatasetsDialog::showDataset() {
    const QList<QTableWidgetItem*> selected = d_->datasets->selectedItems();
    const std::string shown = d_->name();
    d_->overview.reset();
    if (!selected.isEmpty()) {
        const std::string name =
            d_->datasets->item(selected.front()->row(), 0)->text().toStdString();
        try {
            d_->overview = d_->calls.show(name);
        } catch (const std::exception& e) {
            report(QString::fromUtf8(e.what()), true);
        }
    }
    d_->details->setEnabled(d_->overview.has_value());
    if (!d_->overview) {
        d_->title->setText(tr("Create a dataset, or pick one on the left."));
        d_->purpose->clear();
        for (QTableWidget* t :
             {d_->cases, d_->splitCases, d_->protocols, d_->labels, d_->mappings, d_->revisions})
            t->setRowCount(0);
        d_->conflicts->clear();
        d_->exports->clear();
        d_->protocol->clear();
        d_->splitSummary->clear();
        return;
    }
    const workflow::DatasetOverview& o = *d_->overview;
    const storage::Dataset& ds = o.dataset;
    // The fields the admin types into keep what she typed while she works on one dataset (a
    // refused split keeps its numbers); another dataset shows its own.
    const bool another = shown != ds.summary.name;
    d_->title->setText(tr("%1 (Dataset%2_%1), created %3 by %4")
                           .arg(q(ds.summary.name), number3(ds.summary.number),
                                localTime(ds.summary.created), q(ds.summary.createdBy)));
    if (another)
        d_->purpose->setText(q(ds.summary.purpose));

    // Cases and their versions.
    d_->cases->setRowCount(int(ds.cases.size()));
    d_->splitCases->setRowCount(int(ds.cases.size()));
    int counts[3] = {0, 0, 0};
    for (int row = 0; row < int(ds.cases.size()); ++row) {
        const storage::DatasetCase& c = ds.cases[std::size_t(row)];
        const QString split = c.split ? QString::fromUtf8(storage::splitName(*c.split)) : "-";
        if (c.split)
            ++counts[int(*c.split)];
        QString state =
            c.version ? QString::fromUtf8(storage::reviewStateName(c.state)) : tr("none approved");
        if (c.unapproved)
            state = tr("UNAPPROVED (%1)").arg(state);
        fillRow(d_->cases, row,
                {q(c.pseudonym), q(c.patientPseudonym),
                 c.version ? QStringLiteral("%1 · %2").arg(*c.version).arg(shortHash(c.versionHash))
                           : QStringLiteral("-"),
                 state, c.chosenVersion ? tr("chosen") : tr("latest approved"), split});
        if (c.unapproved)
            for (int column : {2, 3})
                markUnapproved(d_->cases->item(row, column));
        else if (!c.version)
            d_->cases->item(row, 3)->setForeground(QColor(150, 20, 0));
        fillRow(d_->splitCases, row, {q(c.pseudonym), q(c.patientPseudonym), split});
    }
    d_->cases->resizeColumnsToContents();
    d_->splitCases->resizeColumnsToContents();

    // The split: its settings in the fields, the counts.
    if (ds.split && another) {
        d_->seed->setValue(int(std::clamp<std::int64_t>(ds.split->seed, 0, d_->seed->maximum())));
        d_->train->setValue(ds.split->trainPermille / 1000.0);
        d_->validation->setValue(ds.split->validationPermille / 1000.0);
        d_->test->setValue(ds.split->testPermille / 1000.0);
        d_->keepExportedTest->setChecked(ds.split->keepExportedTest);
    }
    if (ds.split) {
        d_->splitSummary->setText(tr("Split with seed %1: %2 train, %3 validation, %4 test.")
                                      .arg(ds.split->seed)
                                      .arg(counts[0])
                                      .arg(counts[1])
                                      .arg(counts[2]));
    } else {
        d_->splitSummary->setText(tr("Not split yet."));
    }

    // Protocol.
    if (ds.protocol)
        d_->protocol->setText(tr("Version %1: %2 (%3, %4 bytes), sha256 %5")
                                  .arg(ds.protocol->version)
                                  .arg(q(ds.protocol->fileName), q(ds.protocol->mediaType))
                                  .arg(ds.protocol->size)
                                  .arg(shortHash(ds.protocol->sha256)));
    else
        d_->protocol->setText(tr("No protocol yet: a freeze needs one."));
    d_->protocol->setToolTip(ds.protocol ? q(ds.protocol->sha256) : QString());
    d_->protocols->setRowCount(int(ds.protocolVersions.size()));
    for (int row = 0; row < int(ds.protocolVersions.size()); ++row) {
        const storage::ProtocolVersion& p = ds.protocolVersions[std::size_t(row)];
        fillRow(d_->protocols, row,
                {QString::number(p.version), q(p.fileName), q(p.mediaType), QString::number(p.size),
                 shortHash(p.sha256), localTime(p.created), q(p.createdBy)});
        d_->protocols->item(row, 4)->setToolTip(q(p.sha256));
    }
    d_->protocols->resizeColumnsToContents();

    // Label table, conflicts per case, name mappings.
    d_->labels->setRowCount(int(o.labels.entries.size()) + 1);
    fillRow(d_->labels, 0, {QStringLiteral("0"), tr("background"), "-", "-", ""});
    for (int i = 0; i < int(o.labels.entries.size()); ++i) {
        const storage::LabelEntry& e = o.labels.entries[std::size_t(i)];
        fillRow(d_->labels, i + 1,
                {QString::number(e.value), q(e.name), q(storage::codeText(e.type)),
                 e.category ? q(storage::codeText(*e.category)) : QStringLiteral("-"),
                 e.mappedByName ? tr("mapped by name") : QString()});
    }
    d_->labels->resizeColumnsToContents();
    d_->conflicts->clear();
    std::map<std::string, std::vector<std::string>> byCase;
    for (const storage::LabelConflict& c : o.labels.conflicts) {
        if (c.cases.empty())
            byCase[tr("(the dataset)").toStdString()].push_back(c.problem);
        for (const std::string& name : c.cases)
            byCase[name].push_back(c.problem);
    }
    for (const auto& [caseName, problems] : byCase) {
        auto* top = new QTreeWidgetItem(
            d_->conflicts, {q(caseName), tr("%n conflict(s)", nullptr, int(problems.size()))});
        for (const std::string& problem : problems)
            new QTreeWidgetItem(top, {QString(), q(problem)});
        top->setForeground(0, QColor(150, 20, 0));
    }
    d_->conflicts->expandAll();
    d_->conflicts->resizeColumnToContents(0);
    d_->conflicts->setHeaderLabels(
        {tr("Case"), o.labels.conflicts.empty()
                         ? tr("No conflicts: the label table is usable")
                         : tr("Conflicts (a freeze is refused until they are resolved)")});
    d_->mappings->setRowCount(int(ds.mappings.size()));
    for (int row = 0; row < int(ds.mappings.size()); ++row) {
        const storage::SegmentNameMapping& m = ds.mappings[std::size_t(row)];
        fillRow(d_->mappings, row,
                {q(m.segmentName), q(storage::codeText(m.type)),
                 m.category ? q(storage::codeText(*m.category)) : QStringLiteral("-")});
    }
    d_->mappings->resizeColumnsToContents();

    // Revisions.
    d_->revisions->setRowCount(int(o.revisions.size()));
    for (int row = 0; row < int(o.revisions.size()); ++row) {
        const storage::RevisionSummary& r = o.revisions[std::size_t(row)];
        fillRow(d_->revisions, row,
                {QString::number(r.revision), shortHash(r.contentHash),
                 r.parentRevision ? QString::number(r.parentRevision) : QStringLiteral("-"),
                 localTime(r.frozen), q(r.frozenBy), QString::number(r.cases)});
        d_->revisions->item(row, 1)->setToolTip(q(r.contentHash));
    }
    d_->revisions->resizeColumnsToContents();

    // Every export: "which version did we train on".
    d_->exports->clear();
    for (auto it = o.exports.rbegin(); it != o.exports.rend(); ++it) {
        const storage::DatasetExport& x = *it;
        auto* top = new QTreeWidgetItem(
            d_->exports,
            {QString::number(x.id), tr("%1 · %2").arg(x.revision).arg(shortHash(x.revisionHash)),
             QString::fromUtf8(storage::exportOutcomeName(x.outcome)), q(x.destination),
             x.bundleId.empty() ? QStringLiteral("-") : q(x.bundleId), localTime(x.requested),
             q(x.user), x.manifestHash.empty() ? QString() : shortHash(x.manifestHash),
             q(x.reason)});
        top->setToolTip(7, q(x.manifestHash));
        if (x.outcome == storage::ExportOutcome::Refused)
            top->setForeground(2, QColor(150, 20, 0));
        for (const storage::ExportedVersion& v : x.versions) {
            auto* child = new QTreeWidgetItem(
                top, {QString(), q(v.pseudonym), QString::fromUtf8(storage::splitName(v.split)),
                      QString(), QString(), QString(), QString(), shortHash(v.versionHash),
                      v.unapproved ? tr("UNAPPROVED") : QString()});
            child->setToolTip(7, q(v.versionHash));
        }
    }
    // The newest completed export shows its versions: what the latest model was trained on.
    for (int i = 0; i < d_->exports->topLevelItemCount(); ++i)
        if (QTreeWidgetItem* item = d_->exports->topLevelItem(i);
            item->childCount() > 0 && item->text(2) == QString::fromUtf8(storage::exportOutcomeName(
                                                           storage::ExportOutcome::Completed))) {
            item->setExpanded(true);
            break;
        }
    for (int c = 0; c < d_->exports->columnCount(); ++c)
        d_->exports->resizeColumnToContents(c);
}

void DatasetsDialog::buildCasesTab() {
    auto* page = new QWidget;
    d_->cases = makeTable(
        {tr("Study"), tr("Patient"), tr("Version"), tr("State"), tr("Taken as"), tr("Split")},
        "casesTable");
    auto* add = button(tr("Add studies..."), "addStudiesButton");
    auto* remove = button(tr("Remove"), "removeCaseButton");
    auto* version = button(tr("Choose version..."), "chooseVersionButton");
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(add);
    buttons->addWidget(remove);
    buttons->addWidget(version);
    buttons->addStretch();
    auto* layout = new QVBoxLayout(page);
    layout->addWidget(d_->cases);
    layout->addLayout(buttons);
    d_->tabs->addTab(page, tr("Cases"));
    connect(add, &QPushButton::clicked, this, &DatasetsDialog::addStudies);
    connect(remove, &QPushButton::clicked, this, &DatasetsDialog::removeCase);
    connect(version, &QPushButton::clicked, this, &DatasetsDialog::chooseVersion);
    connect(d_->cases, &QTableWidget::cellDoubleClicked, this, &DatasetsDialog::chooseVersion);
}

void DatasetsDialog::buildSplitTab() {
    auto* page = new QWidget;
    d_->seed = new QSpinBox;
    d_->seed->setObjectName(QStringLiteral("splitSeed"));
    d_->seed->setRange(0, 2147483647);
    const auto fraction = [](const char* name, double value) {
        auto* box = new QDoubleSpinBox;
        box->setObjectName(QString::fromLatin1(name));
        box->setRange(0, 1);
        box->setDecimals(3);
        box->setSingleStep(0.05);
        box->setValue(value);
        return box;
    };
    d_->train = fraction("splitTrain", 0.7);
    d_->validation = fraction("splitValidation", 0.1);
    d_->test = fraction("splitTest", 0.2);
    d_->keepExportedTest = new QCheckBox(tr("Keep patients with an exported test case in test"));
    d_->keepExportedTest->setObjectName(QStringLiteral("splitKeepExportedTest"));
    auto* splitButton = button(tr("Split by patient"), "splitButton");
    auto* form = new QFormLayout;
    form->addRow(tr("Seed"), d_->seed);
    form->addRow(tr("Train"), d_->train);
    form->addRow(tr("Validation"), d_->validation);
    form->addRow(tr("Test"), d_->test);
    form->addRow(d_->keepExportedTest);
    form->addRow(splitButton);
    d_->splitSummary = new QLabel;
    d_->splitSummary->setObjectName(QStringLiteral("splitSummary"));
    d_->splitCases = makeTable({tr("Study"), tr("Patient"), tr("Split")}, "splitCasesTable");
    auto* results = new QVBoxLayout;
    results->addWidget(d_->splitSummary);
    results->addWidget(d_->splitCases);
    auto* layout = new QHBoxLayout(page);
    layout->addLayout(form);
    layout->addLayout(results, 1);
    d_->tabs->addTab(page, tr("Splits"));
    connect(splitButton, &QPushButton::clicked, this, &DatasetsDialog::split);
}

void DatasetsDialog::buildProtocolTab() {
    auto* page = new QWidget;
    d_->protocol = new QLabel;
    d_->protocol->setObjectName(QStringLiteral("protocolText"));
    d_->protocol->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* choose = button(tr("Set protocol (Markdown or PDF)..."), "setProtocolButton");
    d_->protocols = makeTable(
        {tr("Version"), tr("File"), tr("Type"), tr("Bytes"), tr("SHA-256"), tr("Stored"), tr("By")},
        "protocolsTable");
    auto* row = new QHBoxLayout;
    row->addWidget(d_->protocol, 1);
    row->addWidget(choose);
    auto* layout = new QVBoxLayout(page);
    layout->addLayout(row);
    layout->addWidget(d_->protocols);
    d_->tabs->addTab(page, tr("Protocol"));
    connect(choose, &QPushButton::clicked, this, &DatasetsDialog::chooseProtocol);
}

void DatasetsDialog::buildLabelsTab() {
    auto* page = new QWidget;
    d_->labels =
        makeTable({tr("Value"), tr("Name"), tr("Code"), tr("Category"), QString()}, "labelsTable");
    d_->conflicts = new QTreeWidget;
    d_->conflicts->setObjectName(QStringLiteral("conflictsTree"));
    d_->conflicts->setColumnCount(2);
    d_->mapName = new QLineEdit;
    d_->mapName->setObjectName(QStringLiteral("mapSegmentName"));
    d_->mapName->setPlaceholderText(tr("segment name"));
    d_->mapCode = new QLineEdit;
    d_->mapCode->setObjectName(QStringLiteral("mapCode"));
    d_->mapCode->setPlaceholderText(tr("SCT:108369006:Neoplasm"));
    d_->mapCategory = new QLineEdit;
    d_->mapCategory->setObjectName(QStringLiteral("mapCategory"));
    d_->mapCategory->setPlaceholderText(tr("category (optional)"));
    auto* map = button(tr("Map"), "mapButton");
    auto* unmap = button(tr("Remove selected mapping"), "unmapButton");
    d_->mappings = makeTable({tr("Segment name"), tr("Code"), tr("Category")}, "mappingsTable");
    auto* mapRow = new QHBoxLayout;
    mapRow->addWidget(new QLabel(tr("Segments without a code named")));
    mapRow->addWidget(d_->mapName);
    mapRow->addWidget(new QLabel(tr("take")));
    mapRow->addWidget(d_->mapCode, 1);
    mapRow->addWidget(d_->mapCategory, 1);
    mapRow->addWidget(map);
    auto* layout = new QVBoxLayout(page);
    layout->addWidget(d_->labels, 2);
    layout->addWidget(d_->conflicts, 2);
    layout->addLayout(mapRow);
    layout->addWidget(d_->mappings, 1);
    layout->addWidget(unmap, 0, Qt::AlignLeft);
    d_->tabs->addTab(page, tr("Labels"));
    connect(map, &QPushButton::clicked, this, &DatasetsDialog::mapSegmentName);
    connect(unmap, &QPushButton::clicked, this, &DatasetsDialog::unmapSegmentName);
}

void DatasetsDialog::buildRevisionsTab() {
    auto* page = new QWidget;
    auto* freezeButton = button(tr("Freeze a revision"), "freezeButton");
    d_->revisions = makeTable(
        {tr("Revision"), tr("SHA-256"), tr("Parent"), tr("Frozen"), tr("By"), tr("Cases")},
        "revisionsTable");
    auto* note = new QLabel(tr("A revision is immutable. Freezing an unchanged dataset gives its "
                               "existing revision; every export freezes first."));
    note->setWordWrap(true);
    auto* layout = new QVBoxLayout(page);
    layout->addWidget(note);
    layout->addWidget(d_->revisions);
    layout->addWidget(freezeButton, 0, Qt::AlignLeft);
    d_->tabs->addTab(page, tr("Revisions"));
    connect(freezeButton, &QPushButton::clicked, this, &DatasetsDialog::freeze);
}

void DatasetsDialog::buildExportsTab() {
    auto* page = new QWidget;
    d_->exports = new QTreeWidget;
    d_->exports->setObjectName(QStringLiteral("exportsTree"));
    d_->exports->setHeaderLabels({tr("Export"), tr("Revision / case"), tr("Outcome / split"),
                                  tr("Destination"), tr("Bundle"), tr("Requested"), tr("By"),
                                  tr("Manifest / version"), tr("Reason / mark")});
    auto* exportButton = button(tr("Export..."), "exportButton");
    auto* note = new QLabel(tr("Every export of this dataset, newest first, with the version of "
                               "each case it holds: which version a model was trained on."));
    note->setWordWrap(true);
    auto* layout = new QVBoxLayout(page);
    layout->addWidget(note);
    layout->addWidget(d_->exports);
    layout->addWidget(exportButton, 0, Qt::AlignLeft);
    d_->tabs->addTab(page, tr("Exports"));
    connect(exportButton, &QPushButton::clicked, this, [this] {
        const QString name = currentDataset();
        emit exportRequested(name);
        refresh();
    });
}

void DatasetsDialog::savePurpose() {
    const std::string name = d_->name();
    const std::string purpose = d_->purpose->text().toStdString();
    attempt(tr("Purpose saved."), [&] { d_->calls.setPurpose(name, purpose); });
}

void DatasetsDialog::addStudies() {
    if (!d_->overview)
        return;
    std::vector<workflow::CandidateStudy> studies;
    try {
        studies = d_->calls.candidates();
    } catch (const std::exception& e) {
        report(QString::fromUtf8(e.what()), true);
        return;
    }
    std::set<std::int64_t> inDataset;
    for (const storage::DatasetCase& c : d_->overview->dataset.cases)
        inDataset.insert(c.studyId);
    std::erase_if(
        studies, [&](const workflow::CandidateStudy& s) { return inDataset.count(s.studyId) > 0; });
    if (studies.empty()) {
        report(tr("Every study of the store is in this dataset already."), false);
        return;
    }
    StudyPickerDialog picker(std::move(studies), this);
    if (picker.exec() != QDialog::Accepted)
        return;
    const std::vector<std::string> chosen = picker.chosenStudies();
    if (chosen.empty())
        return;
    const std::optional<std::string> version = picker.chosenVersion();
    const std::string name = d_->name();
    attempt(version ? tr("Added %1 with version %2.").arg(q(chosen.front()), q(*version))
                    : tr("Added %n stud(ies) with their latest approved version.", nullptr,
                         int(chosen.size())),
            [&] { d_->calls.addStudies(name, chosen, version); });
}

void DatasetsDialog::removeCase() {
    const QList<QTableWidgetItem*> selected = d_->cases->selectedItems();
    if (!d_->overview || selected.isEmpty()) {
        report(tr("Pick the case to remove first."), true);
        return;
    }
    const std::string study = d_->cases->item(selected.front()->row(), 0)->text().toStdString();
    const std::string name = d_->name();
    attempt(tr("Removed %1.").arg(q(study)), [&] { d_->calls.removeStudy(name, study); });
}

void DatasetsDialog::chooseVersion() {
    const QList<QTableWidgetItem*> selected = d_->cases->selectedItems();
    if (!d_->overview || selected.isEmpty()) {
        report(tr("Pick the case whose version to choose first."), true);
        return;
    }
    const storage::DatasetCase& c =
        d_->overview->dataset.cases[std::size_t(selected.front()->row())];
    std::optional<workflow::CandidateStudy> study;
    try {
        for (workflow::CandidateStudy& s : d_->calls.candidates())
            if (s.studyId == c.studyId)
                study = std::move(s);
    } catch (const std::exception& e) {
        report(QString::fromUtf8(e.what()), true);
        return;
    }
    if (!study)
        return;
    QDialog dialog(this);
    dialog.setObjectName(QStringLiteral("chooseVersionDialog"));
    dialog.setWindowTitle(tr("Version of %1").arg(q(c.pseudonym)));
    auto* combo = new QComboBox;
    combo->setObjectName(QStringLiteral("versionChoice"));
    fillVersionCombo(combo, *study);
    if (c.chosenVersion)
        combo->setCurrentIndex(std::max(0, combo->findData(QString::number(*c.chosenVersion))));
    auto* note = new QLabel(tr("An unapproved version is exported only when chosen here, and the "
                               "bundle marks it UNAPPROVED in every file that describes it."));
    note->setWordWrap(true);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
    connect(buttons, &QDialogButtonBox::accepted, &dialog, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
    auto* layout = new QVBoxLayout(&dialog);
    layout->addWidget(combo);
    layout->addWidget(note);
    layout->addWidget(buttons);
    if (dialog.exec() != QDialog::Accepted)
        return;
    const QString data = combo->currentData().toString();
    const std::optional<std::string> version =
        data.isEmpty() ? std::nullopt : std::optional(data.toStdString());
    const std::string name = d_->name();
    const std::string pseudonym = c.pseudonym;
    attempt(version ? tr("%1 exports version %2.").arg(q(pseudonym), q(*version))
                    : tr("%1 exports its latest approved version.").arg(q(pseudonym)),
            [&] { d_->calls.chooseVersion(name, pseudonym, version); });
}

void DatasetsDialog::split() {
    const std::string name = d_->name();
    if (attempt(QString(), [&] {
            d_->calls.split(name, storage::splitSettings(d_->seed->value(), d_->train->value(),
                                                         d_->validation->value(), d_->test->value(),
                                                         d_->keepExportedTest->isChecked()));
        }))
        report(d_->splitSummary->text(), false);
}

void DatasetsDialog::chooseProtocol() {
    if (!d_->overview)
        return;
    QFileDialog dialog(this, tr("The labelling protocol (Markdown or PDF)"));
    dialog.setObjectName(QStringLiteral("protocolFileDialog"));
    dialog.setOption(QFileDialog::DontUseNativeDialog);
    dialog.setFileMode(QFileDialog::ExistingFile);
    dialog.setNameFilters({tr("Protocol (*.md *.pdf)")});
    if (dialog.exec() != QDialog::Accepted || dialog.selectedFiles().isEmpty())
        return;
    // Read here, in her process: through the store service the bytes cross, never the path.
    QFile file(dialog.selectedFiles().front());
    if (!file.open(QIODevice::ReadOnly)) {
        report(
            tr("The protocol file %1 cannot be read: %2").arg(file.fileName(), file.errorString()),
            true);
        return;
    }
    const QByteArray bytes = file.readAll();
    const storage::Bytes content(reinterpret_cast<const std::uint8_t*>(bytes.constData()),
                                 reinterpret_cast<const std::uint8_t*>(bytes.constData()) +
                                     bytes.size());
    const std::string fileName = QFileInfo(file.fileName()).fileName().toStdString();
    const std::string name = d_->name();
    storage::ProtocolVersion stored;
    if (attempt(QString(), [&] { stored = d_->calls.setProtocol(name, fileName, content); }))
        report(tr("Protocol version %1 (%2), sha256 %3.")
                   .arg(stored.version)
                   .arg(q(stored.fileName), shortHash(stored.sha256)),
               false);
}

void DatasetsDialog::mapSegmentName() {
    const std::string name = d_->name();
    const std::string segment = d_->mapName->text().trimmed().toStdString();
    const std::string code = d_->mapCode->text().trimmed().toStdString();
    const std::string category = d_->mapCategory->text().trimmed().toStdString();
    if (attempt(tr("Segments named '%1' without a code take %2.").arg(q(segment), q(code)), [&] {
            storage::SegmentNameMapping mapping{segment, workflow::parseCodedTerm(code),
                                                std::nullopt};
            if (!category.empty())
                mapping.category = workflow::parseCodedTerm(category);
            d_->calls.mapSegmentName(name, mapping);
        })) {
        d_->mapName->clear();
        d_->mapCode->clear();
        d_->mapCategory->clear();
    }
}

void DatasetsDialog::unmapSegmentName() {
    const QList<QTableWidgetItem*> selected = d_->mappings->selectedItems();
    if (selected.isEmpty()) {
        report(tr("Pick the mapping to remove first."), true);
        return;
    }
    const std::string segment =
        d_->mappings->item(selected.front()->row(), 0)->text().toStdString();
    const std::string name = d_->name();
    attempt(tr("'%1' is no longer mapped.").arg(q(segment)),
            [&] { d_->calls.unmapSegmentName(name, segment); });
}

void DatasetsDialog::freeze() {
    const std::string name = d_->name();
    workflow::FreezeOutcome frozen;
    if (!attempt(QString(), [&] { frozen = d_->calls.freeze(name); }))
        return;
    const storage::RevisionSummary& r = frozen.revision;
    report((frozen.existing ? tr("Unchanged: revision %1, sha256 %2.")
                            : tr("Revision %1 frozen, sha256 %2."))
                   .arg(r.revision)
                   .arg(q(r.contentHash)) +
               (r.parentRevision ? tr(" Parent: revision %1.").arg(r.parentRevision) : QString()),
           false);
}

} // namespace radmark::gui
