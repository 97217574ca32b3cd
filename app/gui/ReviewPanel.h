#pragma once
// The reviewer's "Compare" view: the version under review beside another version of the study
// (the previous one by default, or any other picked in the combo: another annotator's, a
// consensus) in the ComparisonViewer, each side headed by author, time and short hash, and the
// agreement metrics per segment and box in a table beside it (definitions as tooltips). It shows
// what workflow::ReviewSession::compare returns; the decision records the same metrics (json()).

#ifndef Q_MOC_RUN // Qt 6.4's moc fails on libstdc++'s <concepts>, which <compare> pulls in
#include "workflow/Review.h"
#endif

#include <QWidget>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

class QComboBox;
class QLabel;
class QTableWidget;

namespace radmark::imaging {
class Volume;
}
namespace radmark::viewer {
class ComparisonViewer;
}

namespace radmark::gui {

// Where the compare view reads a study's versions and compares two of them: the study's
// workflow::ReviewSession on a personal store (ReviewPanel::setStudy), the store service's
// session on a shared workstation (ServiceWorkspace, through cli::StoreAccess).
class ComparisonSource {
  public:
    virtual ~ComparisonSource() = default;
    virtual std::vector<workflow::ReviewVersion> versions() = 0; // oldest first
    // The version reviewed before this one in its line (ReviewSession::previousOf).
    virtual std::optional<std::int64_t> previousOf(std::int64_t annotationId) = 0;
    // As ReviewSession::compare: throws its refusals (ReviewRefused: different grids).
    virtual workflow::Comparison compare(std::int64_t reference, std::int64_t compared) = 0;
};

class ReviewPanel : public QWidget {
    Q_OBJECT
  public:
    explicit ReviewPanel(QWidget* parent = nullptr);
    ~ReviewPanel() override;

    // The study's versions come from `reviews` (kept by the caller while shown), or from
    // `source`; the volume is shown in both views. clear() forgets both.
    void setStudy(workflow::ReviewSession* reviews, std::shared_ptr<imaging::Volume> volume);
    void setStudy(std::unique_ptr<ComparisonSource> source,
                  std::shared_ptr<imaging::Volume> volume);
    void clear();
    // Shows `version` on the left beside its previous version (or the only other one). Throws
    // what ReviewSession::compare throws (ReviewRefused: different grids).
    void showVersion(std::int64_t version);
    // The right side: another version of the study.
    void compareWith(std::int64_t other);
    // The versions list changed (a consensus was built, a decision taken): re-read it.
    void refreshVersions();

    const workflow::ReviewSession* reviews() const { return reviews_; } // null for a source
    // The study's versions as the source listed them last (oldest first).
    const std::vector<workflow::ReviewVersion>& versions() const { return versions_; }
    std::optional<workflow::ReviewVersion> versionNamed(std::int64_t annotationId) const;
    std::optional<std::int64_t> shownVersion() const { return version_; }
    std::optional<std::int64_t> comparedVersion() const { return other_; }
    // The metrics on screen as annotation::agreementJson writes them, "{}" when nothing is
    // compared.
    std::string metricsJson() const;

    viewer::ComparisonViewer* viewer() const { return viewer_; }
    QComboBox* otherVersionCombo() const { return otherCombo_; }
    QTableWidget* metricsTable() const { return metrics_; }

  signals:
    void failed(const QString& message); // a comparison the workflow refused

  private:
    void compare();
    void fillMetrics(const annotation::AgreementReport& report);

    std::unique_ptr<ComparisonSource> source_;
    const workflow::ReviewSession* reviews_ = nullptr; // what source_ reads, when it is one
    std::vector<workflow::ReviewVersion> versions_;    // as source_ listed them last
    std::shared_ptr<imaging::Volume> volume_;
    std::optional<std::int64_t> version_, other_;
    std::optional<annotation::AgreementReport> report_;
    viewer::ComparisonViewer* viewer_ = nullptr;
    QComboBox* otherCombo_ = nullptr;
    QLabel* summary_ = nullptr;
    QTableWidget* metrics_ = nullptr;
    bool filling_ = false;
};

} // namespace radmark::gui
