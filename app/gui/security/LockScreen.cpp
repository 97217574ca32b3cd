#include "app/gui/security/LockScreen.h"

#include <QApplication>
#include <QEvent>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPainter>
#include <QPushButton>
#include <QTimer>
#include <QVBoxLayout>

namespace radmark::gui {

LockScreen::LockScreen(storage::Session* session, QWidget* covered)
    : QWidget(covered->window()), session_(session), covered_(covered) {
    setObjectName("lockScreen");
    setAttribute(Qt::WA_OpaquePaintEvent);
    title_ = new QLabel(this);
    title_->setObjectName("lockTitle");
    title_->setStyleSheet("color: white; font-size: 18pt");
    password_ = new QLineEdit(this);
    password_->setObjectName("unlockPassword");
    password_->setEchoMode(QLineEdit::Password);
    password_->setPlaceholderText(tr("password"));
    password_->setMaximumWidth(320);
    error_ = new QLabel(this);
    error_->setObjectName("unlockError");
    error_->setStyleSheet("color: #f1948a");
    auto* unlock = new QPushButton(tr("Unlock"), this);
    unlock->setObjectName("unlockButton");
    auto* logout = new QPushButton(tr("Log out (another user)"), this);
    logout->setObjectName("logoutButton");
    auto* buttons = new QHBoxLayout;
    buttons->addStretch();
    buttons->addWidget(logout);
    buttons->addWidget(unlock);
    buttons->addStretch();
    auto* layout = new QVBoxLayout(this);
    layout->addStretch();
    layout->addWidget(title_, 0, Qt::AlignHCenter);
    layout->addWidget(password_, 0, Qt::AlignHCenter);
    layout->addWidget(error_, 0, Qt::AlignHCenter);
    layout->addLayout(buttons);
    layout->addStretch();
    connect(unlock, &QPushButton::clicked, this, &LockScreen::attemptUnlock);
    connect(password_, &QLineEdit::returnPressed, this, &LockScreen::attemptUnlock);
    connect(logout, &QPushButton::clicked, this, &LockScreen::logOut);

    idleTimer_ = new QTimer(this);
    idleTimer_->setInterval(1000);
    connect(idleTimer_, &QTimer::timeout, this, &LockScreen::checkIdle);
    idleTimer_->start();
    qApp->installEventFilter(this);
    hide();
}

LockScreen::~LockScreen() { qApp->removeEventFilter(this); }

void LockScreen::setSession(storage::Session* session) {
    session_ = session;
    locked_ = false;
    password_->clear();
    error_->clear();
    hide();
    covered_->show();
}

bool LockScreen::isLocked() const { return locked_; }

QString LockScreen::errorText() const { return error_->text(); }

void LockScreen::cover() {
    locked_ = true;
    covered_->hide(); // every image in it is gone from the screen, not just painted over
    setGeometry(parentWidget()->rect());
    raise();
    show();
    password_->setFocus();
}

void LockScreen::setSessionInUse(bool inUse) {
    sessionInUse_ = inUse;
    if (!inUse && lockDue_) {
        lockDue_ = false;
        lockNow();
    }
}

void LockScreen::lockNow() {
    if (locked_ || !session_)
        return;
    if (sessionInUse_) {
        lockDue_ = true;
        return;
    }
    emit sessionEnding();
    try {
        session_->lock();
    } catch (const storage::StoreError&) {
        // Locking must never fail visibly: the screen is covered either way.
    }
    title_->setText(tr("Locked — %1").arg(QString::fromStdString(session_->userName())));
    error_->clear();
    cover();
    emit locked();
}

void LockScreen::attemptUnlock() {
    if (!locked_ || !session_ || session_->isLoggedOut())
        return;
    std::string password = password_->text().toStdString();
    password_->clear();
    try {
        session_->unlock(password);
        locked_ = false;
        error_->clear();
        hide();
        covered_->show();
        emit unlocked();
    } catch (const storage::StoreError& e) {
        error_->setText(QString::fromStdString(e.what()));
    }
    std::fill(password.begin(), password.end(), '\0');
}

void LockScreen::logOut() {
    if (session_) {
        if (!locked_)
            emit sessionEnding();
        try {
            session_->logout();
        } catch (const storage::StoreError&) {
        }
    }
    title_->setText(tr("Logged out"));
    error_->clear();
    if (!locked_)
        cover();
    session_ = nullptr;
    emit loggedOut();
}

void LockScreen::checkIdle() {
    if (!locked_ && !sessionInUse_ && session_ && !session_->isLoggedOut() &&
        session_->idleTimeoutReached())
        lockNow();
}

bool LockScreen::eventFilter(QObject* watched, QEvent* event) {
    switch (event->type()) {
    case QEvent::MouseButtonPress:
    case QEvent::MouseMove:
    case QEvent::KeyPress:
    case QEvent::Wheel:
        if (!locked_ && !sessionInUse_ && session_ && !session_->isLoggedOut() &&
            !session_->isLocked())
            session_->touch();
        break;
    case QEvent::Resize:
        if (watched == parentWidget() && isVisible())
            setGeometry(parentWidget()->rect());
        break;
    default:
        break;
    }
    return QWidget::eventFilter(watched, event);
}

void LockScreen::paintEvent(QPaintEvent*) {
    QPainter painter(this);
    painter.fillRect(rect(), QColor(20, 24, 32)); // opaque: nothing behind shows through
}

} // namespace radmark::gui
