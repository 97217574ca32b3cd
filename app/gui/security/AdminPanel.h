#pragma once
// The admin panel: users and roles, study assignments, and the access log (filter by user,
// action and date, with a Verify button). Every action goes through the admin's session
// (storage::Administration: in this process, or in the store service), so the storage layer
// enforces the role and logs it; a non-admin session sees only a refusal.

#include "storage/Administration.h"

#include <QWidget>

#include <functional>
#include <memory>
#include <vector>

class QComboBox;
class QDateEdit;
class QLabel;
class QLineEdit;
class QTableWidget;

namespace radmark::gui {

class AdminPanel : public QWidget {
    Q_OBJECT
public:
  // On this session (a personal store), or on `admin`, which outlives the panel (the
  // service's session: cli::StoreAccess::administration).
  explicit AdminPanel(storage::Session& session, QWidget* parent = nullptr);
  explicit AdminPanel(storage::Administration& admin, QWidget* parent = nullptr);
  ~AdminPanel() override;

  QString statusText() const;

signals:
    // A key rotation's worker thread uses the session: the lock screen waits until it is done.
    void sessionInUse(bool inUse);

public slots:
    void refresh();
    void addUser();     // from the name / role / password fields
    void disableUser(); // the selected row of the users table; rotates the key (progress dialog)
    void rotateKey();   // a new database key for the remaining users (progress dialog)
    void assignStudy(); // selected annotator + study
    void showAuditLog(); // with the current filter
    void verifyAuditLog(); // optional audit key file from the key field

private:
  // admin, else *owned.
  AdminPanel(std::unique_ptr<storage::Administration> owned, storage::Administration* admin,
             QWidget* parent);
  void report(const QString& message, bool error);
  // Runs a key rotation in a worker thread behind a modal progress dialog (no cancel: the rekey
  // is one transaction) and says what it did; the panel is not used meanwhile.
  void runRotation(
      const QString& title,
      const std::function<storage::KeyRotationResult(const storage::KeyRotationProgress&)>& job,
      const QString& done);

  std::unique_ptr<storage::Administration> owned_; // on a personal store's session
  storage::Administration& admin_;
  QTableWidget* users_;
  QLineEdit* newName_;
  QComboBox* newRole_;
  QLineEdit* newPassword_;
  QComboBox* assignUser_;
  QComboBox* assignStudy_;
  QTableWidget* assignments_;
  QLineEdit* filterUser_;
  QComboBox* filterAction_;
  QDateEdit* filterSince_;
  QTableWidget* audit_;
  QLineEdit* auditKeyFile_;
  QLineEdit* checkpointFile_;
  QLabel* status_;
};

} // namespace radmark::gui
