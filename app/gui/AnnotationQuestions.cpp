#include "app/gui/AnnotationQuestions.h"

#include <QAction>
#include <QCoreApplication>
#include <QDateTime>
#include <QInputDialog>
#include <QKeySequence>
#include <QLineEdit>
#include <QMenu>
#include <QMessageBox>
#include <QPushButton>
#include <QStringList>

#include <cmath>

namespace radmark::gui {

namespace {
QString tr(const char* text) {
    return QCoreApplication::translate("radmark::gui::AnnotationQuestions", text);
}
} // namespace

QString localClock(const std::string& utc, const QString& format) {
    const QDateTime time = QDateTime::fromString(QString::fromStdString(utc), Qt::ISODate);
    return time.isValid() ? time.toLocalTime().toString(format) : QString::fromStdString(utc);
}

std::chrono::seconds autosaveIntervalFromEnvironment() {
    bool ok = false;
    const int seconds = qEnvironmentVariableIntValue("RADMARK_AUTOSAVE_SECONDS", &ok);
    return std::chrono::seconds(ok && seconds >= 1 ? seconds : 30);
}

DraftAnswer askAboutDraft(const std::string& savedUtc, const std::vector<std::string>& newerAuthors,
                          QWidget* parent) {
    QMessageBox box(
        QMessageBox::Question, tr("Unsaved work"),
        tr("Recover unsaved work from %1?").arg(localClock(savedUtc, QStringLiteral("HH:mm"))),
        QMessageBox::NoButton, parent);
    box.setObjectName(QStringLiteral("draftRecoveryDialog"));
    QString details = tr("It was autosaved on %1 and is not a saved version yet.")
                          .arg(localClock(savedUtc, QStringLiteral("yyyy-MM-dd HH:mm:ss")));
    if (!newerAuthors.empty()) {
        QStringList authors;
        for (const std::string& author : newerAuthors)
            authors << QString::fromStdString(author);
        details += QLatin1Char(' ') +
                   tr("Since then %1 saved a newer version; recovering continues from your "
                      "draft, and your next save sits beside theirs.")
                       .arg(authors.join(QStringLiteral(", ")));
    }
    box.setInformativeText(details);
    QPushButton* recover = box.addButton(tr("Recover"), QMessageBox::AcceptRole);
    recover->setObjectName(QStringLiteral("recoverDraftButton"));
    QPushButton* discard = box.addButton(tr("Discard"), QMessageBox::DestructiveRole);
    discard->setObjectName(QStringLiteral("discardDraftButton"));
    QPushButton* later = box.addButton(tr("Decide later"), QMessageBox::RejectRole);
    later->setObjectName(QStringLiteral("decideLaterButton"));
    box.setDefaultButton(recover);
    box.exec();
    if (box.clickedButton() == recover)
        return DraftAnswer::Recover;
    if (box.clickedButton() == discard)
        return DraftAnswer::Discard;
    return DraftAnswer::DecideLater;
}

EditsAnswer askAboutUnsavedEdits(QWidget* parent) {
    QMessageBox box(QMessageBox::Question, tr("Unsaved changes"),
                    tr("This annotation has changes that are not saved as a version."),
                    QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel, parent);
    box.setObjectName(QStringLiteral("unsavedChangesDialog"));
    box.setInformativeText(tr("Save them as a version first, or discard them?"));
    box.setDefaultButton(QMessageBox::Save);
    switch (box.exec()) {
    case QMessageBox::Save:
        return EditsAnswer::Save;
    case QMessageBox::Discard:
        return EditsAnswer::Discard;
    default:
        return EditsAnswer::Cancel;
    }
}

bool askToSaveBeforeSubmit(QWidget* parent) {
    QMessageBox box(QMessageBox::Question, tr("Submit for review"),
                    tr("This annotation has changes that are not saved as a version."),
                    QMessageBox::Save | QMessageBox::Cancel, parent);
    box.setObjectName(QStringLiteral("saveBeforeSubmitDialog"));
    box.setInformativeText(tr("Save them as a version and submit that version?"));
    box.setDefaultButton(QMessageBox::Save);
    return box.exec() == QMessageBox::Save;
}

std::optional<QString> askDecisionComment(storage::Decision decision, QWidget* parent) {
    if (decision == storage::Decision::Approve)
        return QString();
    QInputDialog dialog(parent);
    dialog.setObjectName(QStringLiteral("decisionMessageDialog"));
    dialog.setWindowTitle(decision == storage::Decision::Reject ? tr("Reject")
                                                                : tr("Request changes"));
    dialog.setLabelText(tr("What must the annotator know? (required)"));
    dialog.setOption(QInputDialog::UsePlainTextEditForTextInput);
    if (dialog.exec() != QDialog::Accepted)
        return std::nullopt;
    return dialog.textValue();
}

void addDecisionActions(QMenu* menu, const std::function<void(storage::Decision)>& decide) {
    const auto add = [&](const QString& text, int key, storage::Decision decision) {
        QAction* action = menu->addAction(text, menu, [decide, decision] { decide(decision); });
        action->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | key));
    };
    add(tr("&Approve"), Qt::Key_A, storage::Decision::Approve);
    add(tr("Request &changes..."), Qt::Key_C, storage::Decision::RequestChanges);
    add(tr("Re&ject..."), Qt::Key_R, storage::Decision::Reject);
}

std::optional<QString> askCommentText(const imaging::Vec3& voxel, QWidget* parent) {
    QInputDialog dialog(parent);
    dialog.setObjectName(QStringLiteral("commentTextDialog"));
    dialog.setWindowTitle(tr("Comment"));
    dialog.setLabelText(tr("Comment at voxel (%1, %2, %3):")
                            .arg(std::lround(voxel[0]))
                            .arg(std::lround(voxel[1]))
                            .arg(std::lround(voxel[2])));
    if (dialog.exec() != QDialog::Accepted)
        return std::nullopt;
    return dialog.textValue();
}

void addCommentActions(QMenu* menu, const std::function<void(int)>& step,
                       const std::function<void()>& show) {
    menu->addAction(tr("Ne&xt comment"), menu, [step] { step(+1); })
        ->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_N));
    menu->addAction(tr("&Previous comment"), menu, [step] { step(-1); })
        ->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_P));
    menu->addAction(tr("Co&mments"), menu, [show] { show(); })
        ->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_M));
}

std::optional<QString> askVersionMessage(QWidget* parent) {
    bool ok = false;
    const QString message =
        QInputDialog::getText(parent, tr("Save version"), tr("What changed in this version?"),
                              QLineEdit::Normal, QString(), &ok);
    if (!ok)
        return std::nullopt;
    return message;
}

QString shortId(const annotation::VersionId& id) {
    return QString::fromStdString(id.hex().substr(0, 12));
}

QString versionOpenedText(const annotation::VersionId& id, bool readOnly) {
    return readOnly
               ? tr("Showing read-only version %1: \"New draft from this version\" to edit it.")
                     .arg(shortId(id))
               : tr("New draft from version %1: Ctrl+S saves it as that version's child.")
                     .arg(shortId(id));
}

QString decisionText(storage::Decision decision) {
    switch (decision) {
    case storage::Decision::Approve:
        return tr("approved");
    case storage::Decision::RequestChanges:
        return tr("requested changes to");
    case storage::Decision::Reject:
        return tr("rejected");
    }
    return {};
}

bool askToResolveOpenComments(int open, QWidget* parent) {
    QMessageBox box(QMessageBox::Question, tr("Approve"),
                    QCoreApplication::translate("radmark::gui::AnnotationQuestions",
                                                "This version has %n open comment(s).", nullptr,
                                                open),
                    QMessageBox::Yes | QMessageBox::Cancel, parent);
    box.setObjectName(QStringLiteral("openCommentsDialog"));
    box.setInformativeText(tr("Approve it and mark them resolved?"));
    box.setDefaultButton(QMessageBox::Cancel);
    return box.exec() == QMessageBox::Yes;
}

} // namespace radmark::gui
