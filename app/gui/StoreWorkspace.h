#pragma once
// The workstation on an encrypted store: login, the studies this user may open, locking, and the
// admin's tools (users, assignments, audit log, import). Owns the session; the main window only
// shows what the session lets it load. Every access goes through storage, so it is role-checked
// and logged there.

#include "storage/Store.h"

#include <QObject>

#include <memory>
#include <optional>

class QAction;
class QMenu;

namespace radmark::gui {
class LockScreen;
}

namespace radmark::app {

class MainWindow;

class StoreWorkspace : public QObject {
    Q_OBJECT
public:
    StoreWorkspace(storage::Store store, MainWindow& window);
    ~StoreWorkspace() override;

    // Shows the login dialog until someone logs in; false when the user gives up.
    bool logIn();
    storage::Session* session();

    void chooseStudy();                     // list of the studies this user may open
    void openStudy(std::int64_t studyId);   // loads and shows the study (logged by storage)
    void saveVersion();                     // Ctrl+S: the annotation as a new immutable version
    void showAdminPanel();
    void showImportDialog();

private:
    void buildMenu();
    void sessionChanged();
    void afterLogout();

    storage::Store store_;
    MainWindow& window_;
    std::optional<storage::Session> session_;
    std::optional<std::int64_t> openStudyId_; // the stored study on screen
    gui::LockScreen* lockScreen_ = nullptr;
    QMenu* menu_ = nullptr;
    QAction* adminAction_ = nullptr;
    QAction* importAction_ = nullptr;
};

} // namespace radmark::app
