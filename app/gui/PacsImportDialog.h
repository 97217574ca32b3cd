#pragma once
// Import > From PACS (admins, Ctrl+Shift+I): a node of the site policy, the query fields (patient
// ID, name, accession, study date range, modality, study description), a sortable result tree
// (studies, their series when expanded) with what the store already holds, and the retrieve of
// the checked studies or series, each with its own progress bar, and a Cancel button. A thin Qt
// face over pacs/PacsAccess.h (in-process: pacs/PacsImport.h's calls on this session; on a shared
// workstation: the store service's worker runs them); the query and the retrieve run on a worker
// thread. The session (or the interface) must outlive the dialog and is used only by the worker
// while it runs.

#include "pacs/PacsAccess.h"
#include "storage/Session.h"

#include <QDialog>

#include <memory>

class QTreeWidget;
class QTreeWidgetItem;

namespace radmark::gui {

class PacsImportDialog : public QDialog {
    Q_OBJECT
  public:
    explicit PacsImportDialog(storage::Session& session, QWidget* parent = nullptr);
    // Through the store service of a shared workstation (StoreAccess::pacs): the worker queries,
    // retrieves and imports, its stages move the bars and Cancel stops it at the next one; a
    // node's password is asked for here and crosses in a sealed memfd.
    explicit PacsImportDialog(pacs::PacsAccess& access, QWidget* parent = nullptr);
    ~PacsImportDialog() override;

    QTreeWidget* results() const;
    void search();
    void retrieveChecked();
    bool isBusy() const;

  signals:
    void searchFinished();
    void retrieveFinished();

  private:
    struct Private;
    std::unique_ptr<Private> d_;
    PacsImportDialog(std::unique_ptr<pacs::PacsAccess> owned, pacs::PacsAccess* access,
                     QWidget* parent);
    bool connectNode(); // the node's client, its password asked when the policy says so
    void loadSeries(QTreeWidgetItem* study);
    void setBusy(bool busy, const QString& what);
    void reject() override; // cancels a running retrieve first
};

} // namespace radmark::gui
