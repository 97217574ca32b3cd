#pragma once
// Admin > Datasets: the admin builds datasets for export here, through the same workflow calls
// as `radmark-cli dataset ...` (workflow/Datasets.h): create, purpose, cases and the version each
// exports, splits, protocol, label table and name mappings, freeze, revisions, and the history
// of every export ("which version did we train on"). Refusals are shown as their message.

#include <QDialog>

#include <memory>

class QLabel;
class QTableWidget;
class QTabWidget;
class QTreeWidget;

namespace radmark::storage {
class Session;
}
namespace radmark::workflow {
class DatasetAdministration;
}

namespace radmark::gui {

class DatasetsDialog : public QDialog {
    Q_OBJECT
  public:
    // Reads the datasets now; the session (a personal store's) or the calls (a shared
    // workstation's, through the store service: StoreAccess::datasets) must outlive the dialog.
    explicit DatasetsDialog(storage::Session& session, QWidget* parent = nullptr);
    explicit DatasetsDialog(workflow::DatasetAdministration& datasets, QWidget* parent = nullptr);
    ~DatasetsDialog() override;

    // Re-reads the list and the selected dataset (after an export, for its history).
    void refresh();
    void selectDataset(const QString& name);
    QString currentDataset() const; // empty when none is selected

    QTableWidget* datasetsTable() const;
    QTableWidget* casesTable() const;
    QTabWidget* tabs() const;
    QLabel* message() const; // the last result or refusal

  signals:
    // Export... was pressed for this dataset; the workspace opens the export dialog.
    void exportRequested(const QString& dataset);

  private:
    struct Private;
    std::unique_ptr<Private> d_;

    DatasetsDialog(std::unique_ptr<workflow::DatasetAdministration> owned,
                   workflow::DatasetAdministration* datasets, QWidget* parent);

    void reload(const QString& select);
    void buildCasesTab();
    void buildSplitTab();
    void buildProtocolTab();
    void buildLabelsTab();
    void buildRevisionsTab();
    void buildExportsTab();

    void showDataset(); // the selected dataset's overview in every tab
    void createDataset();
    void savePurpose();
    void addStudies();
    void removeCase();
    void chooseVersion();
    void split();
    void chooseProtocol();
    void mapSegmentName();
    void unmapSegmentName();
    void freeze();
    // Runs `change` on the selected dataset; refusals go to the message line.
    template <class Change> bool attempt(const QString& done, Change change);
    void report(const QString& text, bool error);
};

} // namespace radmark::gui
