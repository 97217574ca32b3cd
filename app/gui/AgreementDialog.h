#pragma once
// The agreement report in the workstation (Review > Agreement report, Ctrl+Shift+G): the same
// rows as `radmark-cli review agreement` (workflow::measureAgreement and agreementTable), in a
// sortable table, saved as CSV or PDF by the same writers.

#include "workflow/AgreementReport.h"

#include <QDialog>

#include <filesystem>

class QLabel;
class QTableWidget;

namespace radmark::gui {

class AgreementDialog : public QDialog {
    Q_OBJECT
  public:
    explicit AgreementDialog(workflow::AgreementSummary summary, QWidget* parent = nullptr);

    QTableWidget* table() const { return table_; }
    // Writes the report (CSV, Markdown or PDF by the file's extension); throws what the report
    // writers throw (folder missing, not writable, disk full).
    void save(const std::filesystem::path& target) const;

  private:
    void chooseAndSave();

    workflow::AgreementSummary summary_;
    QTableWidget* table_ = nullptr;
};

} // namespace radmark::gui
