#pragma once
// The login dialog: user name + password, or break-glass with the recovery key. On success it
// holds the open storage::Session for the caller to take; errors are shown in the dialog.

#include "storage/Store.h"

#include <QDialog>

#include <memory>
#include <optional>

class QLabel;
class QLineEdit;
class QPushButton;

namespace radmark::gui {

class LoginDialog : public QDialog {
    Q_OBJECT
public:
    explicit LoginDialog(storage::Store store, QWidget* parent = nullptr);
    ~LoginDialog() override;

    // The session opened by the last successful login (empty before, or after it was taken).
    std::optional<storage::Session> takeSession();
    void setUserName(const QString& name);
    QString errorText() const;

public slots:
    void attemptLogin();     // the "Log in" button
    void attemptBreakGlass(); // recovery key in the password field, reason in the user field

private:
    void fail(const QString& message);

    storage::Store store_;
    std::optional<storage::Session> session_;
    QLineEdit* user_;
    QLineEdit* password_;
    QLabel* error_;
    QPushButton* login_;
};

} // namespace radmark::gui
