#pragma once
// The worklist: the studies this user may open with their review state (the same rows as
// `radmark-cli studies`, from workflow::worklist), sortable by any column and filtered by state,
// and for reviewers the review queue (workflow::reviewQueue: the submitted versions of other
// people). Choosing a row says which study to open, and for a queue row which version to review.
// It shows rows it is given, read in-process or through the store service
// (workflow/WorklistJson.h): it never reads the store itself.

#include "storage/Reviews.h"
#include "workflow/Review.h"

#include <QDialog>

#include <cstdint>
#include <optional>
#include <vector>

class QComboBox;
class QTabWidget;
class QTableWidget;

namespace radmark::gui {

class WorklistDialog : public QDialog {
    Q_OBJECT
  public:
    // queue: the review queue's rows, for a reviewer (no queue tab without it).
    WorklistDialog(const std::vector<workflow::WorklistRow>& worklist,
                   const std::optional<std::vector<workflow::WorklistRow>>& queue,
                   QWidget* parent = nullptr);

    struct Choice {
        std::int64_t studyId = 0;
        std::optional<std::int64_t> version; // a queue row: the version to review
    };
    std::optional<Choice> choice() const; // the selected row of the shown tab

    void showQueue(); // the review queue tab, when there is one
    QTableWidget* worklistTable() const { return worklist_; }
    QTableWidget* queueTable() const { return queue_; } // nullptr for annotators
    QComboBox* stateFilter() const { return stateFilter_; }

  private:
    void applyStateFilter();

    QTabWidget* tabs_ = nullptr;
    QTableWidget* worklist_ = nullptr;
    QTableWidget* queue_ = nullptr;
    QComboBox* stateFilter_ = nullptr;
};

} // namespace radmark::gui
