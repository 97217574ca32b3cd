#include "app/gui/annotation/TerminologyDialog.h"

#include "annotation/Segment.h"

#include <QColor>
#include <QDialogButtonBox>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPixmap>
#include <QPushButton>
#include <QVBoxLayout>

#include <algorithm>

namespace radmark::gui {

namespace {

const annotation::Terminology& terminology() {
    return annotation::Terminology::bundled();
}

QIcon colourSwatch(const annotation::Rgb& colour) {
    QPixmap swatch(14, 14);
    swatch.fill(QColor(colour.r, colour.g, colour.b));
    return QIcon(swatch);
}

} // namespace

QString describeConcept(const std::string& scheme, const std::string& code,
                        const std::string& meaning) {
    const QString name = scheme == "SCT" ? QStringLiteral("SNOMED CT") : QString::fromStdString(scheme);
    return QStringLiteral("%1 %2 %3").arg(name, QString::fromStdString(code),
                                          QString::fromStdString(meaning));
}

TerminologyDialog::TerminologyDialog(const QString& title, QWidget* parent) : QDialog(parent) {
    setObjectName(QStringLiteral("TerminologyDialog"));
    setWindowTitle(title);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(new QLabel(tr("Type part of a name or a SNOMED CT code:"), this));
    search_ = new QLineEdit(this);
    search_->setObjectName(QStringLiteral("terminologySearch"));
    search_->setPlaceholderText(tr("e.g. liver, mass, 10200004"));
    search_->setClearButtonEnabled(true);
    layout->addWidget(search_);
    matches_ = new QListWidget(this);
    matches_->setObjectName(QStringLiteral("terminologyMatches"));
    matches_->setMinimumSize(380, 280);
    layout->addWidget(matches_);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    layout->addWidget(buttons);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(search_, &QLineEdit::textChanged, this, &TerminologyDialog::filter);
    connect(search_, &QLineEdit::returnPressed, this, &QDialog::accept);
    connect(matches_, &QListWidget::itemDoubleClicked, this, &QDialog::accept);
    filter(QString());
    search_->setFocus();
}

void TerminologyDialog::filter(const QString& text) {
    const std::string typed = text.trimmed().toStdString();
    std::vector<const annotation::TerminologyEntry*> found = terminology().search(typed);
    // Names that start with what was typed first ("liv": Liver before Delivery), then codes.
    std::stable_partition(found.begin(), found.end(), [&](const auto* entry) {
        return QString::fromStdString(entry->type.meaning)
            .startsWith(text.trimmed(), Qt::CaseInsensitive);
    });
    if (!typed.empty()) {
        for (const auto& entry : terminology().entries())
            if (entry.type.code.starts_with(typed) &&
                std::find(found.begin(), found.end(), &entry) == found.end())
                found.push_back(&entry);
    }
    matches_->clear();
    for (const auto* entry : found) {
        auto* item = new QListWidgetItem(
            colourSwatch(entry->colour),
            QStringLiteral("%1    (SNOMED CT %2)")
                .arg(QString::fromStdString(entry->type.meaning),
                     QString::fromStdString(entry->type.code)),
            matches_);
        item->setToolTip(tr("Category: %1").arg(describeConcept(
            entry->category.scheme, entry->category.code, entry->category.meaning)));
        item->setData(Qt::UserRole, QString::fromStdString(entry->type.code));
    }
    matches_->setCurrentRow(found.empty() ? -1 : 0);
}

const annotation::TerminologyEntry* TerminologyDialog::chosen() const {
    const QListWidgetItem* item = matches_->currentItem();
    return item ? terminology().findByCode(item->data(Qt::UserRole).toString().toStdString())
                : nullptr;
}

QString TerminologyDialog::typedText() const {
    return search_->text().trimmed();
}

void TerminologyDialog::keyPressEvent(QKeyEvent* event) {
    // The search box keeps the focus; Up and Down still walk the matches.
    if ((event->key() == Qt::Key_Up || event->key() == Qt::Key_Down) && matches_->count() > 0) {
        const int step = event->key() == Qt::Key_Up ? -1 : 1;
        matches_->setCurrentRow(std::clamp(matches_->currentRow() + step, 0, matches_->count() - 1));
        return;
    }
    QDialog::keyPressEvent(event);
}

} // namespace radmark::gui
