#pragma once
// Locks the workstation: after the policy's idle timeout (or lockNow()), the session is locked
// (database closed, keys wiped) and the covered widget, with every image in it, is hidden behind
// an opaque overlay until the same user unlocks. "Log out" ends the session instead; the main
// window then shows the LoginDialog and hands the new session over with setSession().

#include "storage/Store.h"

#include <QWidget>

class QLabel;
class QLineEdit;
class QTimer;

namespace radmark::gui {

class LockScreen : public QWidget {
    Q_OBJECT
public:
    // covered: the widget holding images (e.g. the main window's central widget). The overlay
    // covers covered->window(). session may be null (nothing to lock until setSession).
    LockScreen(storage::Session* session, QWidget* covered);
    ~LockScreen() override;

    void setSession(storage::Session* session); // after a new login; shows the covered widget
    // While a worker thread uses the session (an export), the session is not this thread's to
    // lock or touch: a lock that falls due waits and happens as soon as the worker is done.
    void setSessionInUse(bool inUse);
    bool isLocked() const;
    QString errorText() const;

public slots:
    void lockNow();
    void attemptUnlock(); // with the password typed into the overlay
    void logOut();

signals:
    // Just before the session is locked or logged out, while it can still write: the workspace
    // keeps unsaved edits as a draft here.
    void sessionEnding();
    void locked();
    void unlocked();
    void loggedOut(); // the covered widget stays hidden until setSession()

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;
    void paintEvent(QPaintEvent* event) override;

private:
    void checkIdle();
    void cover();

    storage::Session* session_;
    QWidget* covered_;
    QTimer* idleTimer_;
    QLabel* title_;
    QLineEdit* password_;
    QLabel* error_;
    bool locked_ = false;
    bool sessionInUse_ = false;
    bool lockDue_ = false; // lockNow() while the session was in use
};

} // namespace radmark::gui
