#pragma once
// The admin panel: users and roles, study assignments, and the access log (filter by user,
// action and date, with a Verify button). Every action goes through the admin's Session, so the
// storage layer enforces the role and logs it; a non-admin session sees only a refusal.

#include "storage/KeyRotation.h"
#include "storage/Store.h"

#include <QWidget>

#include <functional>

class QComboBox;
class QDateEdit;
class QLabel;
class QLineEdit;
class QTableWidget;

namespace radmark::gui {

class AdminPanel : public QWidget {
    Q_OBJECT
public:
    explicit AdminPanel(storage::Session& session, QWidget* parent = nullptr);
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
    void report(const QString& message, bool error);
    // Runs a key rotation in a worker thread behind a modal progress dialog (no cancel: the rekey
    // is one transaction) and says what it did; the panel is not used meanwhile.
    void runRotation(const QString& title,
                     const std::function<storage::KeyRotationResult(
                         const storage::KeyRotationProgress&)>& job,
                     const QString& done);

    storage::Session& session_;
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
