#include "app/gui/CommentsPanel.h"

#include "workflow/Review.h"

#include <QDateTime>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QTreeWidget>
#include <QVBoxLayout>

#include <cmath>
#include <map>

namespace radmark::gui {

namespace {

constexpr int commentIdRole = Qt::UserRole;

QString text(const std::string& s) {
    return QString::fromStdString(s);
}

QString localTime(const std::string& utc) {
    const QDateTime time = QDateTime::fromString(text(utc), Qt::ISODate);
    return time.isValid() ? time.toLocalTime().toString(QStringLiteral("yyyy-MM-dd HH:mm"))
                          : text(utc);
}

} // namespace

CommentsPanel::CommentsPanel(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("commentsPanel"));
    status_ = new QLabel(tr("Open a stored study to see its comments."), this);
    status_->setWordWrap(true);
    tree_ = new QTreeWidget(this);
    tree_->setObjectName(QStringLiteral("commentsTree"));
    tree_->setColumnCount(4);
    tree_->setHeaderLabels({tr("#"), tr("Comment"), tr("By"), tr("State")});
    tree_->header()->setStretchLastSection(false);
    tree_->header()->setSectionResizeMode(1, QHeaderView::Stretch);
    reply_ = new QPushButton(tr("Reply..."), this);
    reply_->setObjectName(QStringLiteral("replyButton"));
    resolve_ = new QPushButton(tr("Resolve"), this);
    resolve_->setObjectName(QStringLiteral("resolveButton"));
    connect(reply_, &QPushButton::clicked, this, &CommentsPanel::replyToSelected);
    connect(resolve_, &QPushButton::clicked, this, &CommentsPanel::resolveSelected);
    connect(tree_, &QTreeWidget::itemDoubleClicked, this, [this] {
        if (const auto id = selectedComment())
            for (const storage::ReviewComment& c : pinned_)
                if (c.id == *id && c.voxel)
                    emit jumpTo(*c.voxel);
    });
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(reply_);
    buttons->addWidget(resolve_);
    buttons->addStretch(1);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(status_);
    layout->addWidget(tree_, 1);
    layout->addLayout(buttons);
}

namespace {
// A personal store's review session as the panel's source, for one version.
class SessionComments final : public CommentSource {
  public:
    SessionComments(workflow::ReviewSession& reviews, std::int64_t version)
        : reviews_(reviews), version_(version) {}
    std::vector<storage::ReviewComment> comments() override { return reviews_.comments(version_); }
    void reply(std::int64_t commentId, const std::string& text) override {
        reviews_.reply(commentId, text);
    }
    void resolve(std::int64_t commentId) override { reviews_.resolve(commentId); }

  private:
    workflow::ReviewSession& reviews_;
    std::int64_t version_;
};
} // namespace

void CommentsPanel::setVersion(workflow::ReviewSession* reviews, std::int64_t version) {
    source_ = reviews ? std::make_unique<SessionComments>(*reviews, version) : nullptr;
    version_ = version;
    refresh();
}

void CommentsPanel::setSource(std::unique_ptr<CommentSource> source) {
    source_ = std::move(source);
    version_.reset();
    refresh();
}

void CommentsPanel::clear(const QString& why) {
    source_.reset();
    version_.reset();
    pinned_.clear();
    tree_->clear();
    status_->setText(why);
}

void CommentsPanel::refresh() {
    const std::optional<std::int64_t> selected = selectedComment();
    tree_->clear();
    pinned_.clear();
    if (!source_)
        return;
    std::vector<storage::ReviewComment> all;
    try {
        all = source_->comments();
    } catch (const std::exception& e) {
        status_->setText(tr("The comments could not be read: %1").arg(QString::fromUtf8(e.what())));
        return;
    }
    std::map<std::int64_t, QTreeWidgetItem*> items;
    int open = 0;
    for (const storage::ReviewComment& c : all) {
        if (c.replyTo)
            continue;
        pinned_.push_back(c);
        auto* item = new QTreeWidgetItem(tree_);
        item->setText(0, QString::number(pinned_.size()));
        item->setText(1, text(c.text));
        item->setText(2, text(c.author) + QLatin1Char(' ') + localTime(c.created));
        item->setText(3, c.resolved ? tr("resolved by %1").arg(text(c.resolvedBy)) : tr("open"));
        if (c.voxel)
            item->setToolTip(1, tr("Pinned at voxel (%1, %2, %3)")
                                    .arg(std::lround((*c.voxel)[0]))
                                    .arg(std::lround((*c.voxel)[1]))
                                    .arg(std::lround((*c.voxel)[2])));
        item->setData(0, commentIdRole, qlonglong(c.id));
        items[c.id] = item;
        open += c.resolved ? 0 : 1;
    }
    for (const storage::ReviewComment& c : all) {
        if (!c.replyTo)
            continue;
        QTreeWidgetItem* parent = items.count(*c.replyTo) ? items[*c.replyTo] : nullptr;
        auto* item = parent ? new QTreeWidgetItem(parent) : new QTreeWidgetItem(tree_);
        item->setText(1, text(c.text));
        item->setText(2, text(c.author) + QLatin1Char(' ') + localTime(c.created));
        item->setData(0, commentIdRole, qlonglong(*c.replyTo));
    }
    tree_->expandAll();
    tree_->resizeColumnToContents(0);
    tree_->resizeColumnToContents(2);
    status_->setText(pinned_.empty()
                         ? tr("No comments on this version.")
                         : tr("%1 comments, %2 open. Ctrl+Shift+N / Ctrl+Shift+P: next / previous.")
                               .arg(pinned_.size())
                               .arg(open));
    if (selected)
        selectPinned(*selected);
}

std::optional<std::int64_t> CommentsPanel::selectedComment() const {
    const QTreeWidgetItem* item = tree_->currentItem();
    if (!item)
        return std::nullopt;
    return item->data(0, commentIdRole).toLongLong();
}

void CommentsPanel::selectPinned(std::int64_t commentId) {
    for (int i = 0; i < tree_->topLevelItemCount(); ++i)
        if (tree_->topLevelItem(i)->data(0, commentIdRole).toLongLong() == commentId)
            tree_->setCurrentItem(tree_->topLevelItem(i));
}

bool CommentsPanel::step(int direction) {
    if (pinned_.empty())
        return false;
    // Open comments are the ones to work through; when all are resolved, every comment.
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < pinned_.size(); ++i)
        if (!pinned_[i].resolved && pinned_[i].voxel)
            order.push_back(i);
    if (order.empty())
        for (std::size_t i = 0; i < pinned_.size(); ++i)
            if (pinned_[i].voxel)
                order.push_back(i);
    if (order.empty())
        return false;
    std::size_t at = direction > 0 ? 0 : order.size() - 1;
    if (const auto selected = selectedComment()) {
        for (std::size_t k = 0; k < order.size(); ++k)
            if (pinned_[order[k]].id == *selected)
                at = (k + order.size() + std::size_t(direction > 0 ? 1 : order.size() - 1)) %
                     order.size();
    }
    const storage::ReviewComment& c = pinned_[order[at]];
    selectPinned(c.id);
    emit jumpTo(*c.voxel);
    return true;
}

void CommentsPanel::replyToSelected() {
    const auto id = selectedComment();
    if (!source_ || !id) {
        QMessageBox::information(this, tr("Reply"), tr("Select the comment to reply to."));
        return;
    }
    bool ok = false;
    const QString reply =
        QInputDialog::getMultiLineText(this, tr("Reply"), tr("Your reply:"), QString(), &ok);
    if (!ok)
        return;
    try {
        source_->reply(*id, reply.toStdString());
    } catch (const std::exception& e) {
        QMessageBox::warning(this, tr("Reply"), QString::fromUtf8(e.what()));
        return;
    }
    refresh();
    emit commentsChanged();
}

void CommentsPanel::resolveSelected() {
    const auto id = selectedComment();
    if (!source_ || !id) {
        QMessageBox::information(this, tr("Resolve"), tr("Select the comment to resolve."));
        return;
    }
    try {
        source_->resolve(*id);
    } catch (const std::exception& e) {
        QMessageBox::warning(this, tr("Resolve"), QString::fromUtf8(e.what()));
        return;
    }
    refresh();
    emit commentsChanged();
}

} // namespace radmark::gui
