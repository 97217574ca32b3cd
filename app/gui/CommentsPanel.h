#pragma once
// The Comments panel: the review comments pinned to the version on screen, each with its replies,
// open or resolved; Reply and Resolve act on the selected comment, and double-clicking (or the
// next / previous comment keys) moves the crosshair to its voxel. Reviewers and the annotator of
// the version see the same list; what each may do is the workflow's rule
// (workflow::ReviewSession), and a refusal is shown as its message.

#include "storage/Reviews.h"

#include <QWidget>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

class QLabel;
class QPushButton;
class QTreeWidget;

namespace radmark::workflow {
class ReviewSession;
}

namespace radmark::gui {

// Where the panel reads and answers the comments of the version on screen: the study's
// workflow::ReviewSession on a personal store, the store service's session on a shared one
// (ServiceWorkspace, through cli::StoreAccess). Each throws the workflow's refusals.
class CommentSource {
  public:
    virtual ~CommentSource() = default;
    virtual std::vector<storage::ReviewComment> comments() = 0; // oldest first, with replies
    virtual void reply(std::int64_t commentId, const std::string& text) = 0;
    virtual void resolve(std::int64_t commentId) = 0;
};

class CommentsPanel : public QWidget {
    Q_OBJECT
  public:
    explicit CommentsPanel(QWidget* parent = nullptr);

    // The comments of `version` read through `reviews` (kept by the caller while shown), or
    // those `source` reads.
    void setVersion(workflow::ReviewSession* reviews, std::int64_t version);
    void setSource(std::unique_ptr<CommentSource> source); // version() stays unset
    void clear(const QString& why);
    void refresh(); // re-reads the comments

    // The pinned comments (not replies), oldest first.
    const std::vector<storage::ReviewComment>& pinned() const { return pinned_; }
    std::optional<std::int64_t> version() const { return version_; }
    // Selects the next (+1) or previous (-1) pinned comment after the selected one, open ones
    // first, and emits jumpTo; false when there is none.
    bool step(int direction);

    void replyToSelected(); // asks for the text
    void resolveSelected();

    QTreeWidget* tree() const { return tree_; }
    QPushButton* replyButton() const { return reply_; }
    QPushButton* resolveButton() const { return resolve_; }

  signals:
    void jumpTo(imaging::Vec3 voxel);
    void commentsChanged(); // a reply or a resolution was written

  private:
    std::optional<std::int64_t> selectedComment() const; // the pinned comment of the selection
    void selectPinned(std::int64_t commentId);

    std::unique_ptr<CommentSource> source_;
    std::optional<std::int64_t> version_;
    std::vector<storage::ReviewComment> pinned_;
    QLabel* status_ = nullptr;
    QTreeWidget* tree_ = nullptr;
    QPushButton* reply_ = nullptr;
    QPushButton* resolve_ = nullptr;
};

} // namespace radmark::gui
