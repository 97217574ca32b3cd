#pragma once
// The workstation on a shared workstation's store, through radmarkd (docs/service.md): her
// Radmark password unlocks a session inside the service, and everything she sees or saves crosses
// that session's channel (app/cli/StoreAccess.h): the worklist, the study's volume (a sealed
// memfd), its versions and their labels, and at Ctrl+S the slices she edited, as a new version.
// This process never opens a store file. The annotator's path: login, worklist (Ctrl+Shift+T),
// open a study with its newest version, the versions panel (open read-only, new draft from a
// version), autosaved drafts and their recovery, save (Ctrl+S), submit for review
// (Ctrl+Return), lock (Ctrl+L: the session ends, the login comes back); for reviewers the review
// queue, the compare view (the version under review beside its previous one or any other, with
// the agreement metrics; both label maps cross as sealed memfds) and decisions recording the
// metrics of the comparison on screen; comments pinned in the compare view (P, a click), read,
// answered and resolved in the Comments panel by the reviewer and the version's annotator, their
// markers in both views; a consensus of the submitted versions (vote or STAPLE); the agreement
// report; for admins the admin panel (users, key rotation with progress, assignments, the
// access log and its verification). Datasets, export and import work on a personal store
// (StoreWorkspace) and through the CLI's --service; here they are not built yet
// (docs/service.md, "The workstation through the service").

#include "app/cli/StoreAccess.h"

#include <QObject>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

class QAction;
class QDockWidget;
class QLabel;
class QMenu;
class QPlainTextEdit;
class QTimer;

namespace radmark::viewer {
class CommentMarkers;
}

namespace radmark::gui {

class CommentsPanel;
class MainWindow;
class ReviewDocks;
class ReviewPanel;
class VersionsPanel;

class ServiceWorkspace : public QObject {
    Q_OBJECT
  public:
    // A user's session from her name and password, logged in (or throws with the refusal):
    // cli::serviceStoreAccess for radmarkd; the tests also pass the in-process one.
    using Connect = std::function<std::unique_ptr<cli::StoreAccess>(const std::string& user,
                                                                    const std::string& password)>;
    // Through radmarkd at socket, logged in at once (a refusal shows in the login dialog).
    static Connect throughService(const std::filesystem::path& socket);
    ServiceWorkspace(Connect connect, MainWindow& window);
    ~ServiceWorkspace() override;

    // Shows the login dialog until someone logs in; false when she gives up.
    bool logIn(const std::string& suggestedUser = {});
    // The worklist (WorklistDialog) of the studies she may open and, for reviewers, the review
    // queue (queue: that tab first); a study row opens the study, a queue row that version
    // read-only.
    void chooseStudy(bool queue = false);
    // The study's volume, then its newest version (or a fresh annotation). Unsaved edits of the
    // open study ask Save / Discard / Cancel first. False when nothing was opened.
    bool openStudy(std::int64_t studyId);
    // Versions panel actions (they ask first about unsaved edits too).
    bool openVersion(const annotation::VersionId& id, bool readOnly);
    bool saveVersion(); // Ctrl+S: asks what changed; false when not saved
    // Ctrl+Return: the version on screen (hers, saved) for review; unsaved edits ask to be
    // saved first. False when nothing was submitted.
    bool submitForReview();
    // Reviewers: the worklist's Review queue tab (Ctrl+Shift+Q) opens a submitted version
    // read-only; Review > Approve (Ctrl+Shift+A), Request changes (Ctrl+Shift+C), Reject
    // (Ctrl+Shift+R) decide on the version on screen (changes and reject ask for the comment;
    // approving with open comments asks to resolve them). False when nothing was recorded.
    bool decide(storage::Decision decision);
    // Review > Compare versions (Ctrl+Shift+D; a queue row opens it too): the version on screen
    // beside the one reviewed before it in its line; the panel's combo picks any other.
    bool showComparison();
    // P and a click in the compare view: a comment pinned there on the version under review
    // (its text asked). False when nothing was pinned.
    bool pinComment(const imaging::Vec3& voxel);
    // Comments > Next / Previous comment (Ctrl+Shift+N / P): the crosshair to its voxel.
    bool jumpToComment(int direction);
    // Review > Build consensus (vote / STAPLE): a new version of the study from its submitted
    // ones, shown on the right of the compare view. False when none was built.
    bool buildConsensus(workflow::ReviewSession::Method method);
    // Review > Agreement report (Ctrl+Shift+G): how far annotators agree over every study she
    // reviews (AgreementDialog: the table, saved as CSV, Markdown or PDF where she chooses).
    bool showAgreementReport();
    // Admins: Store > Administration (Ctrl+Shift+U), the admin panel on her session in the
    // service: users (add; disable, which rotates the store key, with a progress bar), a key
    // rotation, study assignments, the access log filtered and verified (the audit key, a
    // checkpoint file, the policy's anchors). False when it did not open.
    bool showAdminPanel();
    // Admins: Admin > Datasets (Ctrl+Shift+B) and Export dataset (Ctrl+Shift+E), the dialogs of
    // a personal store on her session in the service (StoreAccess::datasets): the worker builds,
    // freezes and exports; the export's bar follows the worker's stages and Cancel stops it.
    // dataset: preselected in the export dialog. False when it did not open.
    bool showDatasetsDialog();
    bool showExportDialog(const QString& dataset = {});
    // Admins: Admin > Import from PACS (Ctrl+Shift+I), the personal store's dialog on her session
    // in the service (StoreAccess::pacs): the worker queries the policy's nodes, retrieves and
    // imports; the bars follow its stages and Cancel stops it. False when it did not open.
    bool showPacsImportDialog();
    // Ctrl+L: edits not saved as a version ask first; the study closes, the session ends in the
    // service (logged out) and the login dialog comes back. False when she cancelled.
    bool lock();

    // Autosave: her edits become her draft in the store (through the service, only the slices
    // edited since cross) every 30 s or RADMARK_AUTOSAVE_SECONDS, and when she quits or locks.
    // False when nothing was written (nothing new, not hers to edit, or refused: the status says).
    bool autosaveNow();

    cli::StoreAccess* access() const { return access_.get(); }
    const std::string& userName() const { return user_; }
    VersionsPanel* versionsPanel() const { return versionsPanel_; }
    QPlainTextEdit* historyView() const { return history_; }
    ReviewPanel* reviewPanel() const { return reviewPanel_; }
    CommentsPanel* commentsPanel() const { return commentsPanel_; }
    QMenu* reviewMenu() const { return reviewMenu_; }
    viewer::CommentMarkers* commentMarkers() const;
    std::optional<annotation::VersionId> versionOnScreen() const { return shown_; }
    bool readOnly() const { return readOnly_; }

  protected:
    bool eventFilter(QObject* watched, QEvent* event) override; // closing asks about edits

  private:
    void buildMenu();
    void refreshVersions(); // and the history of the version on screen
    void refreshHistory();
    void refreshComments(); // of the version on screen, and their markers
    bool compareViewShows(const annotation::VersionId& id) const; // on its left side
    void updateTitle();
    void closeStudy();
    void applyEditingRule();
    void markEmptySlicesClean(); // of a new annotation
    bool confirmLeavingEdits();  // Save / Discard / Cancel; true when it may go on
    bool showOpened(cli::OpenedVersion opened, bool readOnly);
    // Her draft of the study just opened: Recover / Discard / Decide later (the newest version
    // read-only until she reopens the study). True when it was recovered.
    bool offerDraftRecovery(const workflow::PendingDraft& draft);
    void checkAutosave();
    // After a new login with a study open, the new session learns the version her edits
    // continue (the one on screen) before it saves them.
    void ensureParentKnown();
    // Shows what a call refused, in its words; a session that ended (idle timeout, a key
    // rotation, the service restarted) brings the login back, the study and edits kept when
    // the same user logs in again (closed for anyone else).
    void report(const QString& title, const std::exception& e);
    bool logInAgain(); // false when she gave up (the screen stays; the next action asks again)

    Connect connect_;
    MainWindow& window_;
    std::unique_ptr<cli::StoreAccess> access_;
    std::string user_;
    storage::Role role_ = storage::Role::Annotator;
    std::optional<std::int64_t> studyId_;
    std::shared_ptr<imaging::Volume> volume_;    // the open study's, shown by both views
    std::optional<annotation::VersionId> shown_; // the version on screen
    bool readOnly_ = false;
    bool edited_ = false;       // since the version on screen (or the fresh annotation)
    bool draftStale_ = false;   // edited since the last draft
    bool draftWritten_ = false; // a draft of hers holds edits not saved as a version
    std::chrono::steady_clock::time_point lastDraft_;
    std::chrono::seconds autosaveInterval_{30};
    QTimer* autosaveTimer_ = nullptr;
    QLabel* draftStatus_ = nullptr;
    // False after a new login with a study open: the new session learns the next save's
    // parent (the version on screen) before it saves.
    bool parentKnown_ = true;
    VersionsPanel* versionsPanel_ = nullptr;
    QDockWidget* versionsDock_ = nullptr;
    QPlainTextEdit* history_ = nullptr;
    ReviewDocks* reviewDocks_ = nullptr; // the window's; the two below are its
    ReviewPanel* reviewPanel_ = nullptr;
    CommentsPanel* commentsPanel_ = nullptr;
    QMenu* commentsMenu_ = nullptr;
    QAction* saveAction_ = nullptr;
    QAction* submitAction_ = nullptr;
    QAction* adminAction_ = nullptr;
    QMenu* reviewMenu_ = nullptr;
    QMenu* adminMenu_ = nullptr;
};

} // namespace radmark::gui
