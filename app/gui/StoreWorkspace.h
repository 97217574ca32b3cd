#pragma once
// The workstation on an encrypted store: login, the studies this user may open, locking, the
// admin's tools (users, assignments, audit log, import), and the annotation's life in the store:
// versions (Ctrl+S, the versions panel), autosaved drafts and their recovery, and the review
// loop: the worklist, submitting (Ctrl+Return), the reviewer's compare view and decisions (the
// Review menu), comments pinned to the image with their markers and panel. Owns the session;
// the main window only shows what the session lets it load. Every access goes through storage,
// so it is role-checked and logged there.

#include "storage/Store.h"

#ifndef Q_MOC_RUN // Qt 6.4's moc fails on libstdc++'s <concepts>, which <compare> pulls in
#include "annotation/Version.h"
#include "storage/Reviews.h"
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
class ReviewSession;
} // namespace radmark::workflow
namespace radmark::viewer {
class CommentMarkers;
}

namespace radmark::gui {

class CommentsPanel;
class LockScreen;
class MainWindow;
class ReviewDocks;
class ReviewPanel;
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

    // The worklist (WorklistDialog): the studies this user may open with their review state,
    // and for reviewers the review queue; a queue row opens that version for review.
    void chooseStudy(bool queue = false);
    // Loads and shows the study (logged by storage) with its newest version, or offers this
    // user's draft: Recover / Discard / Decide later (the newest version read-only, the draft
    // kept for the next opening). Unsaved edits of the open study ask Save / Discard / Cancel.
    void openStudy(std::int64_t studyId);
    bool saveVersion(); // Ctrl+S: the annotation as a new immutable version; false if not saved
    // Store > Submit for review (Ctrl+Return): the annotator's version on screen (the last saved;
    // unsaved edits ask to be saved first). False when nothing was submitted.
    bool submitForReview();
    // A reviewer opens the study with `version` read-only (the editing tools off) and the Compare
    // view of it beside its previous version. False when it could not be opened.
    bool openForReview(std::int64_t studyId, std::int64_t version);
    // Review menu. Changes and reject ask for the comment; approving with open comments asks to
    // confirm. False when no decision was written (refused, cancelled).
    bool decide(storage::Decision decision);
    bool decideAndOpenNext(); // asks which decision, then opens the next queue item
    bool openNextInQueue();
    // Pins a comment (asks its text) to a voxel of the version under review.
    bool pinComment(const imaging::Vec3& voxel);
    bool jumpToComment(int direction); // +1 next, -1 previous: moves the crosshair there
    bool buildConsensus(bool staple);
    // Review > Agreement report: measures every study the user may review and shows the table.
    bool showAgreementReport();
    void showAdminPanel();
    void showImportDialog();
    void showPacsImportDialog(); // Import from PACS (admins), Ctrl+Shift+I
    // Admin > Datasets (Ctrl+Shift+B): the datasets for export (DatasetsDialog).
    void showDatasetsDialog();
    // Admin > Export dataset (Ctrl+Shift+E, or Export... in the Datasets dialog): ExportDialog.
    // While it exports, the lock screen leaves the session to the export's thread.
    void showExportDialog(const QString& dataset = {});
    QMenu* adminMenu() const { return adminMenu_; }

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

    // The stored annotation id of the version on screen (the read-only one, else the parent).
    std::optional<std::int64_t> versionOnScreen() const;
    ReviewPanel* reviewPanel() const { return reviewPanel_; }
    QDockWidget* reviewDock() const { return reviewDock_; }
    CommentsPanel* commentsPanel() const { return commentsPanel_; }
    QDockWidget* commentsDock() const { return commentsDock_; }
    viewer::CommentMarkers* commentMarkers() const { return commentMarkers_; }
    QMenu* reviewMenu() const { return reviewMenu_; }

  signals:
    void draftSaved(const QString& statusText);

  private:
    void buildMenu();
    void buildReviewMenu();
    void buildAdminMenu(); // shown to admins only
    // The review side of the open study: the versions, the comments on the version on screen and
    // their markers (re-read after saves, decisions and comments).
    void refreshReview();
    void refreshReviewSession(); // re-reads the open study's review side (creates it if needed)
    void refreshMarkers();
    void showComparison(std::int64_t version);
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
    QAction* pacsImportAction_ = nullptr;
    QMenu* adminMenu_ = nullptr;

    std::shared_ptr<imaging::Volume> volume_; // of the open study, also shown by the compare view
    std::unique_ptr<workflow::ReviewSession> reviews_;
    std::optional<std::int64_t> reviewedVersion_; // the version opened for review
    ReviewDocks* reviewDocks_ = nullptr;          // the window's; the five below are its
    ReviewPanel* reviewPanel_ = nullptr;
    QDockWidget* reviewDock_ = nullptr;
    CommentsPanel* commentsPanel_ = nullptr;
    QDockWidget* commentsDock_ = nullptr;
    viewer::CommentMarkers* commentMarkers_ = nullptr;
    QMenu* reviewMenu_ = nullptr;
    bool reviewDockWasVisible_ = false; // when the screen locked
};

} // namespace radmark::gui
