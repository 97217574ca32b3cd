#pragma once
// The review panes both workspaces show, StoreWorkspace on a personal store and ServiceWorkspace
// through the store service: the compare view docked below the four-up (hidden until asked for),
// the Comments panel of the version on screen, and the comments' numbered markers in the four-up
// and in the compare view. What the panes read and write is the workspace's (a ReviewSession, or
// the service's session); stepping through comments and the steps around pinning one are here.

#include "imaging/Volume.h"

#include <QObject>
#include <QString>

#include <optional>

class QDockWidget;

namespace radmark::viewer {
class CommentMarkers;
}

namespace radmark::gui {

class CommentsPanel;
class MainWindow;
class ReviewPanel;

class ReviewDocks : public QObject {
    Q_OBJECT
  public:
    explicit ReviewDocks(MainWindow& window); // a child of the window; the docks are its

    ReviewPanel* reviewPanel() const { return reviewPanel_; }
    QDockWidget* reviewDock() const { return reviewDock_; }
    CommentsPanel* commentsPanel() const { return commentsPanel_; }
    QDockWidget* commentsDock() const { return commentsDock_; }
    viewer::CommentMarkers* commentMarkers() const { return commentMarkers_; }

    // The markers of the Comments panel's pinned comments, in both views.
    void refreshMarkers();
    // +1 next, -1 previous comment: the crosshair of both views moves there. False (and a
    // status line) when the version on screen has none.
    bool jumpToComment(int direction);
    // P and a click in the compare view at voxel: its text asked, the pin mode ended (one click,
    // one comment); none when she cancelled. commentPinned() after the workspace wrote it.
    std::optional<QString> askPinnedComment(const imaging::Vec3& voxel);
    void commentPinned(); // the comments re-read, their markers, the dock shown
    void showComments();  // Ctrl+Shift+M: the dock shown and raised, the list focused

  private:
    MainWindow& window_;
    ReviewPanel* reviewPanel_ = nullptr;
    QDockWidget* reviewDock_ = nullptr;
    CommentsPanel* commentsPanel_ = nullptr;
    QDockWidget* commentsDock_ = nullptr;
    viewer::CommentMarkers* commentMarkers_ = nullptr;
};

} // namespace radmark::gui
