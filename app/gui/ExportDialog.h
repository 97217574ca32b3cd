#pragma once
// Admin > Export dataset: one dataset exported as a signed bundle (workflow::exportDataset, as
// `radmark-cli export`) to a destination of the site policy, chosen from a list (refused ones
// shown greyed with their reason; nothing can be typed in), with the formats, optional age
// recipients from a file, a progress bar with Cancel, and the summary with the bundle id.
// The export runs on a worker thread that alone uses the session until it is done
// (sessionInUse); a share's password is asked for on this thread.

#include <QDialog>

#include <memory>

class QComboBox;
class QLabel;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;

namespace radmark::storage {
class Session;
}
namespace radmark::workflow {
class DatasetAdministration;
}

namespace radmark::gui {

class ExportDialog : public QDialog {
    Q_OBJECT
  public:
    // Reads the datasets and the policy's destinations now; `dataset` is preselected. The
    // session must outlive the dialog.
    ExportDialog(storage::Session& session, const QString& dataset = {}, QWidget* parent = nullptr);
    // Through the store service of a shared workstation (StoreAccess::datasets): the worker
    // exports, draws the datasheet and reports its stages; Cancel stops it at the next one.
    ExportDialog(workflow::DatasetAdministration& datasets, const QString& dataset = {},
                 QWidget* parent = nullptr);
    ~ExportDialog() override;

    void startExport();  // the Export button
    void cancelExport(); // the Cancel button: the export stops at its next step
    bool isExporting() const;

    QComboBox* datasetChoice() const;
    QComboBox* destinationChoice() const;
    QProgressBar* progressBar() const;
    QLabel* stage() const;
    QLabel* message() const;         // a refusal, as its message
    QPlainTextEdit* summary() const; // after an export: bundle id, location, revision, ...
    QString bundleId() const;        // of the last export; empty when none completed

  signals:
    // true when the worker starts using the session, false once it is done with it.
    void sessionInUse(bool inUse);
    // On this thread, each time the bar moves on (a new stage is always shown before the export
    // goes on, so Cancel takes effect at the stage on screen).
    void progressShown(int permille, const QString& stage);
    void exportFinished(bool completed);

  private:
    struct Private;
    std::unique_ptr<Private> d_;

    ExportDialog(std::unique_ptr<workflow::DatasetAdministration> owned,
                 workflow::DatasetAdministration* datasets, const QString& dataset,
                 QWidget* parent);

    void fillDestinations();
    void chooseRecipientsFile();
    void showProgress(int permille, const QString& stage);
    void finish();
    void copySummary();
    void reject() override; // cancels a running export instead of closing
};

} // namespace radmark::gui
