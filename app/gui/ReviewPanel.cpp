#include "app/gui/ReviewPanel.h"

#include "viewer/ComparisonViewer.h"

#include <QComboBox>
#include <QDateTime>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

#include <cmath>
#include <map>

namespace radmark::gui {

namespace {

QString text(const std::string& s) {
    return QString::fromStdString(s);
}

QString versionTitle(const workflow::ReviewVersion& v) {
    const QDateTime time = QDateTime::fromString(text(v.createdUtc), Qt::ISODate);
    return QObject::tr("%1 %2 %3 (%4)")
        .arg(text(v.shortHash), text(v.author),
             time.isValid() ? time.toLocalTime().toString(QStringLiteral("yyyy-MM-dd HH:mm"))
                            : text(v.createdUtc),
             text(std::string(storage::reviewStateName(v.state))));
}

viewer::SideLabel sideLabel(const workflow::ReviewVersion& v, const QString& title) {
    viewer::SideLabel label;
    label.author = text(v.author);
    label.timeUtc = QDateTime::fromString(text(v.createdUtc), Qt::ISODate);
    label.shortHash = text(v.shortHash);
    label.title = v.consensus ? QObject::tr("Consensus") : title;
    return label;
}

viewer::ComparedSide sideOf(annotation::OpenedAnnotation& opened, viewer::SideLabel label) {
    viewer::ComparedSide side;
    side.labels = std::make_shared<const annotation::LabelMap>(std::move(opened.labels));
    side.segments = opened.segments;
    side.boxes = opened.boxes.all();
    side.label = std::move(label);
    return side;
}

// The metric columns: key of annotation::agreementDefinitions() (its tooltip) and heading.
struct Column {
    const char* key;
    const char* heading;
};
const Column metricColumns[] = {{"", "Segment"},
                                {"dice", "Dice"},
                                {"jaccard", "Jaccard"},
                                {"volume_reference_ml", "Volume ref. mL"},
                                {"volume_compared_ml", "Volume other mL"},
                                {"volume_difference_ml", "Difference mL"},
                                {"volume_difference_percent", "Difference %"},
                                {"hausdorff_mm", "Hausdorff mm"},
                                {"hd95_mm", "HD95 mm"},
                                {"assd_mm", "ASSD mm"},
                                {"surface_dice", "Surface Dice"}};

QTableWidgetItem* number(double value, int decimals) {
    auto* item = new QTableWidgetItem;
    if (std::isinf(value) || std::isnan(value)) {
        item->setText(QStringLiteral("\u2014"));
        item->setToolTip(QObject::tr("one side empty"));
    } else {
        item->setText(QString::number(value, 'f', decimals));
    }
    item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    return item;
}

// A personal store's review session as the compare view's source.
class SessionComparisons final : public ComparisonSource {
  public:
    explicit SessionComparisons(workflow::ReviewSession& reviews) : reviews_(reviews) {}
    std::vector<workflow::ReviewVersion> versions() override { return reviews_.versions(); }
    std::optional<std::int64_t> previousOf(std::int64_t annotationId) override {
        return reviews_.previousOf(annotationId);
    }
    workflow::Comparison compare(std::int64_t reference, std::int64_t compared) override {
        return reviews_.compare(reference, compared);
    }

  private:
    workflow::ReviewSession& reviews_;
};

} // namespace

ReviewPanel::ReviewPanel(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("reviewPanel"));
    auto* top = new QHBoxLayout;
    summary_ =
        new QLabel(tr("Open a submitted version from the review queue (Ctrl+Shift+Q)."), this);
    summary_->setObjectName(QStringLiteral("reviewSummary"));
    top->addWidget(summary_, 1);
    top->addWidget(new QLabel(tr("Compare with:"), this));
    otherCombo_ = new QComboBox(this);
    otherCombo_->setObjectName(QStringLiteral("otherVersionCombo"));
    otherCombo_->setMinimumContentsLength(40);
    top->addWidget(otherCombo_);
    connect(otherCombo_, &QComboBox::currentIndexChanged, this, [this](int index) {
        if (filling_ || index < 0)
            return;
        compareWith(otherCombo_->itemData(index).toLongLong());
    });

    viewer_ = new viewer::ComparisonViewer(this);
    viewer_->setObjectName(QStringLiteral("comparisonViewer"));
    metrics_ = new QTableWidget(0, int(std::size(metricColumns)), this);
    metrics_->setObjectName(QStringLiteral("metricsTable"));
    metrics_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    metrics_->verticalHeader()->hide();
    std::map<std::string, QString> definitions;
    for (const annotation::MetricDefinition& d : annotation::agreementDefinitions())
        definitions[std::string(d.key)] = text(std::string(d.definition));
    for (int c = 0; c < int(std::size(metricColumns)); ++c) {
        auto* heading = new QTableWidgetItem(tr(metricColumns[c].heading));
        if (const auto it = definitions.find(metricColumns[c].key); it != definitions.end())
            heading->setToolTip(it->second);
        else if (c == 0)
            heading->setToolTip(definitions["boundary"]);
        metrics_->setHorizontalHeaderItem(c, heading);
    }

    auto* splitter = new QSplitter(Qt::Horizontal, this);
    splitter->addWidget(viewer_);
    splitter->addWidget(metrics_);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 2);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    layout->addLayout(top);
    layout->addWidget(splitter, 1);
}

ReviewPanel::~ReviewPanel() = default;

void ReviewPanel::setStudy(workflow::ReviewSession* reviews,
                           std::shared_ptr<imaging::Volume> volume) {
    setStudy(reviews ? std::make_unique<SessionComparisons>(*reviews) : nullptr, std::move(volume));
    reviews_ = reviews;
}

void ReviewPanel::setStudy(std::unique_ptr<ComparisonSource> source,
                           std::shared_ptr<imaging::Volume> volume) {
    source_ = std::move(source);
    reviews_ = nullptr;
    volume_ = std::move(volume);
    version_.reset();
    other_.reset();
    report_.reset();
    viewer_->setVolume(volume_);
    metrics_->setRowCount(0);
    refreshVersions();
}

void ReviewPanel::clear() {
    source_.reset();
    reviews_ = nullptr;
    versions_.clear();
    version_.reset();
    other_.reset();
    report_.reset();
    if (volume_) // let the views go of the old study
        viewer_->setVolume(nullptr);
    volume_.reset();
    metrics_->setRowCount(0);
    filling_ = true;
    otherCombo_->clear();
    filling_ = false;
    summary_->setText(tr("Open a submitted version from the review queue (Ctrl+Shift+Q)."));
}

std::optional<workflow::ReviewVersion> ReviewPanel::versionNamed(std::int64_t annotationId) const {
    for (const workflow::ReviewVersion& v : versions_)
        if (v.annotationId == annotationId)
            return v;
    return std::nullopt;
}

void ReviewPanel::refreshVersions() {
    filling_ = true;
    otherCombo_->clear();
    versions_.clear();
    if (source_) {
        try {
            versions_ = source_->versions();
        } catch (const std::exception& e) {
            filling_ = false;
            emit failed(QString::fromUtf8(e.what()));
            return;
        }
        for (const workflow::ReviewVersion& v : versions_) {
            if (version_ && v.annotationId == *version_)
                continue;
            otherCombo_->addItem((v.consensus ? tr("consensus ") : QString()) + versionTitle(v),
                                 qlonglong(v.annotationId));
        }
    }
    if (other_)
        otherCombo_->setCurrentIndex(otherCombo_->findData(qlonglong(*other_)));
    filling_ = false;
    if (version_)
        if (const std::optional<workflow::ReviewVersion> shown = versionNamed(*version_))
            summary_->setText(tr("Reviewing %1").arg(versionTitle(*shown)));
}

void ReviewPanel::showVersion(std::int64_t version) {
    if (!source_)
        return;
    std::optional<std::int64_t> previous;
    try {
        previous = source_->previousOf(version);
    } catch (const std::exception& e) {
        emit failed(QString::fromUtf8(e.what()));
        return;
    }
    version_ = version;
    other_ = previous;
    refreshVersions();
    if (!other_) // the first version of its line: any other, if there is one
        for (const workflow::ReviewVersion& v : versions_)
            if (v.annotationId != version)
                other_ = v.annotationId;
    filling_ = true;
    if (other_)
        otherCombo_->setCurrentIndex(otherCombo_->findData(qlonglong(*other_)));
    filling_ = false;
    compare();
}

void ReviewPanel::compareWith(std::int64_t other) {
    other_ = other;
    refreshVersions();
    compare();
}

void ReviewPanel::compare() {
    if (!source_ || !version_)
        return;
    // Without another version the version is shown beside itself: the metrics say "identical".
    const std::int64_t otherId = other_.value_or(*version_);
    try {
        workflow::Comparison c = source_->compare(*version_, otherId);
        viewer_->setSides(
            sideOf(c.referenceAnnotation, sideLabel(c.reference, tr("Under review"))),
            sideOf(c.comparedAnnotation,
                   sideLabel(c.compared, other_ ? tr("Compared with") : tr("No other version"))));
        report_ = std::move(c.metrics);
        fillMetrics(*report_);
    } catch (const std::exception& e) {
        report_.reset();
        metrics_->setRowCount(0);
        emit failed(QString::fromUtf8(e.what()));
    }
}

void ReviewPanel::fillMetrics(const annotation::AgreementReport& report) {
    metrics_->setSortingEnabled(false);
    metrics_->setRowCount(0);
    for (const annotation::SegmentAgreement& s : report.segments) {
        const int row = metrics_->rowCount();
        metrics_->insertRow(row);
        QString name = text(s.name);
        if (!s.referenceLabel)
            name += tr(" (only the other side)");
        else if (!s.comparedLabel)
            name += tr(" (only this version)");
        metrics_->setItem(row, 0, new QTableWidgetItem(name));
        const annotation::OverlapMeasures& o = s.overlap;
        const annotation::SurfaceDistances& d = s.distances;
        const double values[] = {o.dice,
                                 o.jaccard,
                                 o.volumeReferenceMl,
                                 o.volumeComparedMl,
                                 o.volumeDifferenceMl,
                                 o.volumeDifferencePercent,
                                 d.hausdorffMm,
                                 d.hd95Mm,
                                 d.assdMm,
                                 d.surfaceDice};
        const int decimals[] = {3, 3, 2, 2, 2, 1, 2, 2, 2, 3};
        for (int c = 0; c < 10; ++c)
            metrics_->setItem(row, c + 1, number(values[c], decimals[c]));
    }
    const auto boxRow = [this](const QString& name, std::optional<double> iou) {
        const int row = metrics_->rowCount();
        metrics_->insertRow(row);
        auto* item = new QTableWidgetItem(name);
        for (const annotation::MetricDefinition& d : annotation::agreementDefinitions())
            if (d.key == "box_iou")
                item->setToolTip(text(std::string(d.definition)));
        metrics_->setItem(row, 0, item);
        metrics_->setItem(row, 1, iou ? number(*iou, 3) : new QTableWidgetItem(tr("unmatched")));
    };
    for (const annotation::BoxPair& pair : report.boxes.pairs)
        boxRow(tr("Box %1 / %2: IoU").arg(pair.reference).arg(pair.compared), pair.iou);
    for (std::uint32_t id : report.boxes.onlyInReference)
        boxRow(tr("Box %1 only in this version").arg(id), std::nullopt);
    for (std::uint32_t id : report.boxes.onlyInCompared)
        boxRow(tr("Box %1 only in the other version").arg(id), std::nullopt);
    metrics_->resizeColumnsToContents();
    metrics_->horizontalHeaderItem(10)->setText(
        tr("Surface Dice (%1 mm)").arg(report.toleranceMm, 0, 'g', 3));
}

std::string ReviewPanel::metricsJson() const {
    return report_ ? annotation::agreementJson(*report_) : std::string("{}");
}

} // namespace radmark::gui
