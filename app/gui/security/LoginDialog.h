#pragma once
// The login dialog: user name + password, or break-glass with the recovery key. On a personal
// store, success leaves the open storage::Session for the caller to take; through the store
// service, the caller's login function does the logging in (inside the service). Errors are
// shown in the dialog.

#include "storage/Store.h"

#include <QDialog>

#include <functional>
#include <memory>
#include <optional>
#include <string>

class QLabel;
class QLineEdit;
class QPushButton;

namespace radmark::gui {

class LoginDialog : public QDialog {
    Q_OBJECT
public:
    explicit LoginDialog(storage::Store store, QWidget* parent = nullptr);
    // Logs in, or throws std::exception with the refusal to show (wrong password, locked out,
    // the service unreachable). No break glass: the recovery key stays with the service.
    using LogIn = std::function<void(const std::string& user, const std::string& password)>;
    explicit LoginDialog(LogIn logIn, QWidget* parent = nullptr);
    ~LoginDialog() override;

    // The session opened by the last successful login (empty before, or after it was taken).
    std::optional<storage::Session> takeSession();
    void setUserName(const QString& name);
    QString errorText() const;

public slots:
    void attemptLogin();     // the "Log in" button
    void attemptBreakGlass(); // recovery key in the password field, reason in the user field

private:
    void build(bool breakGlass);
    void fail(const QString& message);

    std::optional<storage::Store> store_;
    LogIn logIn_;
    std::optional<storage::Session> session_;
    QLineEdit* user_;
    QLineEdit* password_;
    QLabel* error_;
    QPushButton* login_;
};

} // namespace radmark::gui
