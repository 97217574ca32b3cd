#pragma once
// Lets the user choose one series when a folder holds several (modality, description,
// number of images, format).

#include "imaging/StudyReader.h"

#include <QDialog>

#include <vector>

class QTableWidget;

namespace radmark::gui {

class SeriesPickerDialog : public QDialog {
    Q_OBJECT
  public:
    explicit SeriesPickerDialog(std::vector<imaging::SeriesSummary> series,
                                QWidget* parent = nullptr);
    int chosenIndex() const; // -1 when none
    const imaging::SeriesSummary* chosen() const;

    // The series a non-interactive open (screenshot) takes: the one with the most images.
    static int largest(const std::vector<imaging::SeriesSummary>& series);

  private:
    std::vector<imaging::SeriesSummary> series_;
    QTableWidget* table_ = nullptr;
};

} // namespace radmark::gui
