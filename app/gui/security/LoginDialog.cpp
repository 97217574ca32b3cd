#include "app/gui/security/LoginDialog.h"

#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QVBoxLayout>

namespace radmark::gui {

LoginDialog::LoginDialog(storage::Store store, QWidget* parent)
    : QDialog(parent), store_(std::move(store)) {
    build(true);
}

LoginDialog::LoginDialog(LogIn logIn, QWidget* parent) : QDialog(parent), logIn_(std::move(logIn)) {
    build(false);
}

void LoginDialog::build(bool withBreakGlass) {
    setWindowTitle(tr("Radmark — log in"));
    setObjectName("loginDialog");
    user_ = new QLineEdit(this);
    user_->setObjectName("userName");
    password_ = new QLineEdit(this);
    password_->setObjectName("password");
    password_->setEchoMode(QLineEdit::Password);
    error_ = new QLabel(this);
    error_->setObjectName("loginError");
    error_->setWordWrap(true);
    error_->setStyleSheet("color: #c0392b");
    login_ = new QPushButton(tr("Log in"), this);
    login_->setObjectName("loginButton");
    login_->setDefault(true);
    auto* breakGlass = withBreakGlass ? new QPushButton(tr("Break glass…"), this) : nullptr;
    if (breakGlass) {
        breakGlass->setObjectName("breakGlassButton");
        breakGlass->setToolTip(tr("Emergency access with the offline recovery key: put the reason "
                                  "in the user field and the recovery key in the password field. "
                                  "It is logged."));
    }
    auto* form = new QFormLayout;
    form->addRow(tr("User"), user_);
    form->addRow(tr("Password"), password_);
    auto* buttons = new QHBoxLayout;
    if (breakGlass)
        buttons->addWidget(breakGlass);
    buttons->addStretch();
    buttons->addWidget(login_);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(error_);
    layout->addLayout(buttons);
    connect(login_, &QPushButton::clicked, this, &LoginDialog::attemptLogin);
    connect(password_, &QLineEdit::returnPressed, this, &LoginDialog::attemptLogin);
    if (breakGlass)
        connect(breakGlass, &QPushButton::clicked, this, &LoginDialog::attemptBreakGlass);
}

LoginDialog::~LoginDialog() = default;

std::optional<storage::Session> LoginDialog::takeSession() {
    std::optional<storage::Session> out = std::move(session_);
    session_.reset();
    return out;
}

void LoginDialog::setUserName(const QString& name) {
    user_->setText(name);
    password_->setFocus();
}

QString LoginDialog::errorText() const { return error_->text(); }

void LoginDialog::fail(const QString& message) {
    error_->setText(message);
    password_->clear();
    password_->setFocus();
}

void LoginDialog::attemptLogin() {
    const std::string name = user_->text().trimmed().toStdString();
    std::string password = password_->text().toStdString();
    password_->clear(); // the QString copy is gone from the widget at once
    if (name.empty()) {
        fail(tr("Enter your user name."));
        return;
    }
    try {
        if (logIn_)
            logIn_(name, password);
        else
            session_.emplace(store_->login(name, password));
        error_->clear();
        accept();
    } catch (const std::exception& e) { // the store's or the service's refusal, in its words
        fail(QString::fromStdString(e.what()));
    }
    std::fill(password.begin(), password.end(), '\0');
}

void LoginDialog::attemptBreakGlass() {
    if (!store_)
        return;
    const std::string reason = user_->text().trimmed().toStdString();
    const storage::SecureBytes key =
        storage::SecureBytes::fromHex(password_->text().toStdString(), 32);
    password_->clear();
    if (reason.empty()) {
        fail(tr("Break glass: write the reason in the user field; it is logged."));
        return;
    }
    if (key.empty()) {
        fail(tr("Break glass: the recovery key is 64 hexadecimal digits."));
        return;
    }
    try {
        session_.emplace(store_->breakGlass(key, reason));
        error_->clear();
        accept();
    } catch (const storage::StoreError& e) {
        fail(QString::fromStdString(e.what()));
    }
}

} // namespace radmark::gui
