#pragma once
// The workstation on an encrypted store: login, the studies this user may open, locking, the
// admin's tools (users, assignments, audit log, import), and the annotation's life in the store:
// versions (Ctrl+S, the versions panel), autosaved drafts and their recovery. Owns the session;
// the main window only shows what the session lets it load. Every access goes through storage,
// so it is role-checked and logged there.

#include "storage/Store.h"

#ifndef Q_MOC_RUN // Qt 6.4's moc fails on libstdc++'s <concepts>, which <compare> pulls in
#include "annotation/Version.h"
#endif

#include <QObject>

#include <chrono>
#include <memory>
#include <optional>

class QAction;
class QDockWidget;
class QLabel;
class QMenu;
class QTimer;

namespace radmark::workflow {
class AnnotationSession;
}

namespace radmark::gui {

class LockScreen;
class MainWindow;
class VersionsPanel;

class StoreWorkspace : public QObject {
    Q_OBJECT
  public:
    // The autosave interval is 30 s, or RADMARK_AUTOSAVE_SECONDS (whole seconds, >= 1).
    StoreWorkspace(storage::Store store, MainWindow& window);
    ~StoreWorkspace() override;

    // Shows the login dialog until someone logs in; false when the user gives up.
    bool logIn();
    storage::Session* session();

    void chooseStudy(); // list of the studies this user may open
    // Loads and shows the study (logged by storage) with its newest version, or offers this
    // user's draft: Recover / Discard / Decide later (the newest version read-only, the draft
    // kept for the next opening). Unsaved edits of the open study ask Save / Discard / Cancel.
    void openStudy(std::int64_t studyId);
    bool saveVersion(); // Ctrl+S: the annotation as a new immutable version; false if not saved
    void showAdminPanel();
    void showImportDialog();

    // Versions panel actions. Both ask first (Save / Discard / Cancel) when the annotation has
    // edits not saved as a version; false when the user cancelled or it failed.
    bool openVersionReadOnly(const annotation::VersionId& id);
    bool startDraftFrom(const annotation::VersionId& id);

    // Autosave: how long after the last draft (or version) a change is written as a draft.
    void setAutosaveInterval(std::chrono::seconds interval);
    std::chrono::seconds autosaveInterval() const { return autosaveInterval_; }
    // Writes the draft now when something changed since the last one; false when nothing was
    // written (nothing to save, not an annotator, locked, or the store refused: see the status).
    bool autosaveNow();

    VersionsPanel* versionsPanel() const { return versionsPanel_; }
    QDockWidget* versionsDock() const { return versionsDock_; }
    // The version on screen read-only, if one is.
    std::optional<annotation::VersionId> readOnlyVersion() const;
    // The version the annotation being edited continues from (the next save's parent).
    std::optional<annotation::VersionId> draftParent() const;

  signals:
    void draftSaved(const QString& statusText);

  private:
    void buildMenu();
    void sessionChanged();
    void afterLogout();
    void updateTitle();
    void refreshVersions();
    void checkAutosave();
    void annotationEdited();
    // Puts an opened version or draft into the editor (the session knows its parent).
    bool showAnnotation(const annotation::OpenedAnnotation& opened);
    bool showVersion(const annotation::VersionId& id, bool readOnly);
    void markEmptySlicesClean(); // of a new annotation, so autosave hashes only edited slices
    // Offers this user's draft of the open study; true when it was recovered. "Decide later"
    // shows the study read-only until it is reopened.
    bool offerDraftRecovery();
    void showReadOnlyWhileDraftWaits();
    // The editor follows the session: read-only unless the session allows editing.
    void applyEditingRule();
    // Before the annotation is replaced: Save / Discard / Cancel when it has unsaved edits.
    bool confirmLeavingEdits();
    void forgetStudy();

    storage::Store store_;
    MainWindow& window_;
    std::optional<storage::Session> session_;
    std::optional<std::int64_t> openStudyId_; // the stored study on screen
    // The annotation's state and rules; none for administrators or without a study.
    std::unique_ptr<workflow::AnnotationSession> annotations_;
    std::chrono::seconds autosaveInterval_{30};
    QTimer* autosaveTimer_ = nullptr;
    QLabel* draftStatus_ = nullptr;
    VersionsPanel* versionsPanel_ = nullptr;
    QDockWidget* versionsDock_ = nullptr;
    LockScreen* lockScreen_ = nullptr;
    QMenu* menu_ = nullptr;
    QAction* adminAction_ = nullptr;
    QAction* importAction_ = nullptr;
};

} // namespace radmark::gui
