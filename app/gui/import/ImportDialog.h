#pragma once
// The admin's import dialog: choose files and folders, import them with storage::importStudies
// on a worker thread (progress bar, cancel), then one row per study: imported, quarantined (why)
// or failed (why). The session must outlive the dialog and is used only by the worker while an
// import runs.

#include "storage/StudyImport.h"

#include <QDialog>

#include <memory>
#include <vector>

namespace radmark::gui {

class ImportDialog : public QDialog {
    Q_OBJECT
  public:
    explicit ImportDialog(storage::Session& session, QWidget* parent = nullptr);
    ~ImportDialog() override;

    void setSources(const QStringList& paths); // also what the file choosers fill in
    QStringList sources() const;
    void startImport();
    bool isImporting() const;
    const std::vector<storage::StudyImportResult>& results() const;

  signals:
    void importFinished();

  private:
    struct Private;
    std::unique_ptr<Private> d_;
    void addFiles();
    void addFolder();
    void showResults();
    void reject() override; // cancels a running import first
};

} // namespace radmark::gui
