#include "app/gui/ReviewDocks.h"

#include "app/gui/AnnotationQuestions.h"
#include "app/gui/CommentsPanel.h"
#include "app/gui/MainWindow.h"
#include "app/gui/ReviewPanel.h"
#include "viewer/CommentMarkers.h"
#include "viewer/ComparisonViewer.h"
#include "viewer/FourUpViewer.h"

#include <QDockWidget>
#include <QStatusBar>
#include <QTreeWidget>

namespace radmark::gui {

ReviewDocks::ReviewDocks(MainWindow& window) : QObject(&window), window_(window) {
    // The compare view below the four-up: big enough to read both sides.
    reviewPanel_ = new ReviewPanel(&window_);
    reviewDock_ = window_.addPanel(reviewPanel_, tr("Compare"));
    window_.addDockWidget(Qt::BottomDockWidgetArea, reviewDock_);
    reviewDock_->setMinimumHeight(380);
    reviewDock_->hide();
    commentsPanel_ = new CommentsPanel(&window_);
    commentsDock_ = window_.addPanel(commentsPanel_, tr("Comments"));
    commentsPanel_->clear(tr("Open a stored study to see its comments."));
    connect(commentsPanel_, &CommentsPanel::jumpTo, this, [this](const imaging::Vec3& voxel) {
        window_.viewer()->moveCursorTo(voxel);
        if (reviewPanel_->viewer()->volume())
            reviewPanel_->viewer()->moveCursorTo(voxel);
    });
    connect(commentsPanel_, &CommentsPanel::commentsChanged, this, &ReviewDocks::refreshMarkers);
    commentMarkers_ = new viewer::CommentMarkers(*window_.viewer());
}

void ReviewDocks::refreshMarkers() {
    std::vector<viewer::PointMarker> markers;
    const std::vector<storage::ReviewComment>& pinned = commentsPanel_->pinned();
    for (std::size_t i = 0; i < pinned.size(); ++i)
        if (pinned[i].voxel)
            markers.push_back(
                {int(i) + 1, *pinned[i].voxel, QString::fromStdString(pinned[i].text)});
    commentMarkers_->setMarkers(markers);
    if (reviewPanel_->viewer()->volume())
        reviewPanel_->viewer()->setMarkers(std::move(markers));
}

bool ReviewDocks::jumpToComment(int direction) {
    commentsDock_->show();
    if (!commentsPanel_->step(direction)) {
        window_.statusBar()->showMessage(tr("No comments on the version on screen."), 5000);
        return false;
    }
    return true;
}

std::optional<QString> ReviewDocks::askPinnedComment(const imaging::Vec3& voxel) {
    const std::optional<QString> text = askCommentText(voxel, &window_);
    reviewPanel_->viewer()->setPinMode(false);
    return text;
}

void ReviewDocks::commentPinned() {
    commentsPanel_->refresh();
    refreshMarkers();
    commentsDock_->show();
}

void ReviewDocks::showComments() {
    commentsDock_->show();
    commentsDock_->raise();
    commentsPanel_->tree()->setFocus(Qt::ShortcutFocusReason);
}

} // namespace radmark::gui
