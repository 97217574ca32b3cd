#include "app/gui/annotation/SegmentsPanel.h"

#include "app/gui/annotation/TerminologyDialog.h"

#include "viewer/LabelEditor.h"
#include "viewer/VolumeView.h"

#include <QAction>
#include <QCheckBox>
#include <QColorDialog>
#include <QComboBox>
#include <QFont>
#include <QFormLayout>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QMessageBox>
#include <QPixmap>
#include <QSignalBlocker>
#include <QSlider>
#include <QTableWidget>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>
#include <array>
#include <climits>
#include <cmath>

namespace radmark::gui {

using annotation::Label;
using annotation::Segment;

namespace {

constexpr int volumeRefreshDelayMs = 200; // counts follow a brush drag, not every stamp
constexpr char labelProperty[] = "segmentLabel";

// Colours that stay apart from each other and from grey anatomy; the first is the default
// segment's red.
constexpr std::array<annotation::Rgb, 12> distinctColours{{{230, 60, 60},
                                                           {60, 180, 75},
                                                           {0, 130, 200},
                                                           {255, 225, 25},
                                                           {245, 130, 48},
                                                           {145, 30, 180},
                                                           {70, 240, 240},
                                                           {240, 50, 230},
                                                           {210, 245, 60},
                                                           {250, 190, 212},
                                                           {0, 128, 128},
                                                           {170, 110, 40}}};

bool colourInUse(const annotation::SegmentList& segments, const annotation::Rgb& colour) {
    for (const Segment& segment : segments.all())
        if (segment.colour == colour)
            return true;
    return false;
}

annotation::Rgb nextDistinctColour(const annotation::SegmentList& segments) {
    for (const annotation::Rgb& colour : distinctColours)
        if (!colourInUse(segments, colour))
            return colour;
    // All taken: walk the hue circle by the golden angle from the segment count.
    const QColor colour = QColor::fromHsvF(std::fmod(segments.size() * 0.618034, 1.0), 0.75, 0.9);
    return {std::uint8_t(colour.red()), std::uint8_t(colour.green()), std::uint8_t(colour.blue())};
}

QIcon swatch(const annotation::Rgb& colour) {
    QPixmap pixmap(16, 16);
    pixmap.fill(QColor(colour.r, colour.g, colour.b));
    return QIcon(pixmap);
}

QString describeSegment(const Segment& segment) {
    QString text = QString::fromStdString(segment.name);
    if (segment.type)
        text += QLatin1Char('\n') + describeConcept(segment.type->scheme, segment.type->code,
                                                    segment.type->meaning);
    else
        text += QLatin1Char('\n') + SegmentsPanel::tr("No terminology code");
    if (segment.category)
        text += QLatin1Char('\n') +
                SegmentsPanel::tr("Category: %1")
                    .arg(describeConcept(segment.category->scheme, segment.category->code,
                                         segment.category->meaning));
    return text;
}

// A checkbox centred in its table cell (a click in the middle of the cell hits it).
QCheckBox* centredCheckBox(QTableWidget* table, int row, int column, const QString& name) {
    if (QWidget* cell = table->cellWidget(row, column))
        return cell->findChild<QCheckBox*>();
    auto* cell = new QWidget(table);
    auto* layout = new QHBoxLayout(cell);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setAlignment(Qt::AlignCenter);
    auto* box = new QCheckBox(cell);
    box->setObjectName(name);
    layout->addWidget(box);
    table->setCellWidget(row, column, cell);
    return box;
}

QTableWidgetItem* itemAt(QTableWidget* table, int row, int column) {
    if (QTableWidgetItem* item = table->item(row, column))
        return item;
    auto* item = new QTableWidgetItem;
    table->setItem(row, column, item);
    return item;
}

} // namespace

SegmentsPanel::SegmentsPanel(viewer::LabelEditor& editor, viewer::VolumeView* volumeView,
                             QWidget* parent)
    : QWidget(parent), editor_(editor), volumeView_(volumeView) {
    setObjectName(QStringLiteral("SegmentsPanel"));
    auto* layout = new QVBoxLayout(this);

    table_ = new QTableWidget(0, 5, this);
    table_->setObjectName(QStringLiteral("segmentsTable"));
    table_->setHorizontalHeaderLabels({QString(), tr("Name"), tr("Shown"), tr("Locked"), tr("Volume")});
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::SingleSelection);
    table_->setEditTriggers(QAbstractItemView::DoubleClicked | QAbstractItemView::EditKeyPressed);
    table_->verticalHeader()->hide();
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    table_->horizontalHeader()->setSectionResizeMode(NameColumn, QHeaderView::Stretch);
    layout->addWidget(table_, 1);

    // Short labels in a grid: the dock stays narrow enough for the four views.
    auto* buttons = new QGridLayout;
    layout->addLayout(buttons);
    const auto addButton = [this, buttons](QAction* action, const QString& label) {
        action->setIconText(label);
        auto* button = new QToolButton(this);
        button->setDefaultAction(action);
        button->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
        const int index = buttons->count();
        buttons->addWidget(button, index / 3, index % 3);
    };
    auto* form = new QFormLayout;
    layout->addLayout(form);
    opacity_ = new QSlider(Qt::Horizontal, this);
    opacity_->setObjectName(QStringLiteral("segmentOpacity"));
    opacity_->setRange(0, 100);
    opacity_->setPageStep(10);
    form->addRow(tr("Opacity"), opacity_);
    display_ = new QComboBox(this);
    display_->setObjectName(QStringLiteral("segmentDisplay"));
    display_->addItems({tr("Fill"), tr("Outline")});
    form->addRow(tr("Display"), display_);
    code_ = new QLabel(this);
    code_->setObjectName(QStringLiteral("segmentCode"));
    code_->setWordWrap(true);
    code_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    form->addRow(tr("Code"), code_);
    message_ = new QLabel(this);
    message_->setObjectName(QStringLiteral("segmentsMessage"));
    message_->setWordWrap(true);
    layout->addWidget(message_);

    // Keys work anywhere in the main window, as long as the panel is shown.
    const struct {
        const char* text;
        QKeySequence keys;
        void (SegmentsPanel::*slot)();
        bool editing;
        const char* button; // its label, when it has a button
    } actions[] = {
        {"&New Segment...", QKeySequence(Qt::Key_N), &SegmentsPanel::addSegment, true, "New..."},
        {"&Remove Segment...", QKeySequence(), &SegmentsPanel::removeActiveSegment, true,
         "Remove..."},
        {"&Colour...", QKeySequence(), &SegmentsPanel::chooseActiveColour, true, "Colour..."},
        {"&Terminology...", QKeySequence(), &SegmentsPanel::chooseActiveTerminology, true,
         "Code..."},
        {"Re&name Segment", QKeySequence(Qt::Key_F2), &SegmentsPanel::renameActiveSegment, true,
         nullptr},
        {"&Hide/Show Segment", QKeySequence(Qt::Key_H), &SegmentsPanel::toggleActiveVisible, false,
         nullptr},
        {"&Lock/Unlock Segment", QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_L),
         &SegmentsPanel::toggleActiveLocked, true, nullptr},
    };
    for (const auto& a : actions) {
        QAction* action = addKeyAction(tr(a.text), a.keys, a.slot);
        if (a.editing)
            editingActions_.push_back(action);
        if (a.button)
            addButton(action, tr(a.button));
    }
    QAction* previous = addKeyAction(tr("&Previous Segment"), QKeySequence(Qt::CTRL | Qt::Key_Up),
                                     nullptr);
    connect(previous, &QAction::triggered, this, [this] { selectNeighbour(-1); });
    QAction* next = addKeyAction(tr("Ne&xt Segment"), QKeySequence(Qt::CTRL | Qt::Key_Down), nullptr);
    connect(next, &QAction::triggered, this, [this] { selectNeighbour(+1); });
    if (volumeView_) {
        QAction* surfacesOnly =
            addKeyAction(tr("&Surfaces Only in 3D"), QKeySequence(Qt::SHIFT | Qt::Key_3), nullptr);
        surfacesOnly->setObjectName(QStringLiteral("surfacesOnlyAction"));
        surfacesOnly->setCheckable(true);
        surfacesOnly->setToolTip(tr("The 3D view shows the segments' surfaces without the volume "
                                    "rendering (Shift+3)"));
        connect(surfacesOnly, &QAction::toggled, volumeView_,
                [this](bool only) { volumeView_->setVolumeRenderingShown(!only); });
        connect(volumeView_, &viewer::VolumeView::volumeRenderingShownChanged, surfacesOnly,
                [surfacesOnly](bool shown) { surfacesOnly->setChecked(!shown); });
        addButton(surfacesOnly, tr("3D: surfaces"));
    }

    volumeTimer_ = new QTimer(this);
    volumeTimer_->setSingleShot(true);
    volumeTimer_->setInterval(volumeRefreshDelayMs);
    connect(volumeTimer_, &QTimer::timeout, this, &SegmentsPanel::refreshVolumes);

    connect(&editor_, &viewer::LabelEditor::segmentsChanged, this, &SegmentsPanel::refresh);
    connect(&editor_, &viewer::LabelEditor::annotationReplaced, this, &SegmentsPanel::refresh);
    connect(&editor_, &viewer::LabelEditor::activeSegmentChanged, this, &SegmentsPanel::refresh);
    connect(&editor_, &viewer::LabelEditor::labelsChanged, volumeTimer_,
            qOverload<>(&QTimer::start));

    connect(table_, &QTableWidget::itemSelectionChanged, this, [this] {
        const QList<QTableWidgetItem*> selected = table_->selectedItems();
        if (!selected.isEmpty())
            editor_.setActiveSegment(Label(table_->item(selected.front()->row(), NameColumn)
                                               ->data(Qt::UserRole)
                                               .toUInt()));
    });
    connect(table_, &QTableWidget::itemChanged, this, [this](QTableWidgetItem* item) {
        if (item->column() != NameColumn)
            return;
        const Label label = Label(item->data(Qt::UserRole).toUInt());
        const QString name = item->text().trimmed();
        if (name.isEmpty() || !editable()) {
            refresh(); // back to the segment's name
            return;
        }
        editor_.editSegment(label, [&](Segment& s) { s.name = name.toStdString(); });
    });
    connect(table_, &QTableWidget::cellDoubleClicked, this, [this](int, int column) {
        if (column == ColourColumn)
            chooseActiveColour();
    });
    connect(opacity_, &QSlider::valueChanged, this, [this](int value) {
        if (editable())
            editor_.editSegment(editor_.activeSegment(),
                                [value](Segment& s) { s.opacity = float(value) / 100.0f; });
    });
    connect(display_, &QComboBox::currentIndexChanged, this, [this](int index) {
        if (editable())
            editor_.editSegment(editor_.activeSegment(), [index](Segment& s) {
                s.display = index == 1 ? annotation::SegmentDisplay::Outline
                                       : annotation::SegmentDisplay::Fill;
            });
    });
    refresh();
}

SegmentsPanel::~SegmentsPanel() = default;

QAction* SegmentsPanel::addKeyAction(const QString& text, const QKeySequence& keys,
                                     void (SegmentsPanel::*slot)()) {
    auto* action = new QAction(text, this);
    if (!keys.isEmpty()) {
        action->setShortcut(keys);
        action->setShortcutContext(Qt::WindowShortcut);
        action->setToolTip(QStringLiteral("%1 (%2)").arg(
            QString(text).remove(QLatin1Char('&')).remove(QStringLiteral("...")),
            keys.toString(QKeySequence::NativeText)));
    }
    if (slot)
        connect(action, &QAction::triggered, this, slot);
    addAction(action);
    return action;
}

bool SegmentsPanel::editable() const {
    return editor_.hasAnnotation() && !editor_.readOnly();
}

bool SegmentsPanel::refuseWhenReadOnly() {
    if (!editor_.hasAnnotation()) {
        showMessage(tr("Open a study first."));
        return true;
    }
    if (editor_.readOnly()) {
        showMessage(tr("This version is read-only: start a new draft from it to edit its "
                       "segments. Showing and hiding still works."));
        return true;
    }
    return false;
}

const Segment* SegmentsPanel::editableActiveSegment() {
    return refuseWhenReadOnly() ? nullptr : editor_.segments().find(editor_.activeSegment());
}

void SegmentsPanel::showMessage(const QString& text) {
    message_->setText(text);
}

int SegmentsPanel::rowOf(std::uint16_t label) const {
    for (int row = 0; row < table_->rowCount(); ++row)
        if (table_->item(row, NameColumn) &&
            table_->item(row, NameColumn)->data(Qt::UserRole).toUInt() == label)
            return row;
    return -1;
}

// Updates the rows in place (a row per segment, in label order), so an open name editor or a
// checkbox being clicked is not destroyed under the user.
void SegmentsPanel::refresh() {
    const QSignalBlocker blocker(table_);
    const auto& all = editor_.segments().all();
    const bool canEdit = editable();
    table_->setRowCount(int(all.size()));
    for (int row = 0; row < int(all.size()); ++row) {
        const Segment& segment = all[std::size_t(row)];
        const bool active = segment.label == editor_.activeSegment();
        const QString tip = describeSegment(segment);

        QTableWidgetItem* colour = itemAt(table_, row, ColourColumn);
        colour->setIcon(swatch(segment.colour));
        colour->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable);
        colour->setToolTip(tip + QLatin1Char('\n') + tr("Double-click to change the colour"));

        QTableWidgetItem* name = itemAt(table_, row, NameColumn);
        name->setData(Qt::UserRole, segment.label);
        name->setText(QString::fromStdString(segment.name));
        name->setToolTip(tip);
        name->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable |
                       (canEdit ? Qt::ItemIsEditable : Qt::NoItemFlags));
        QFont font = name->font();
        font.setBold(active);
        name->setFont(font);

        QCheckBox* shown = centredCheckBox(table_, row, VisibleColumn, QStringLiteral("visible"));
        QCheckBox* locked = centredCheckBox(table_, row, LockedColumn, QStringLiteral("locked"));
        shown->setChecked(segment.visible);
        shown->setToolTip(tr("Show or hide %1 (H)").arg(name->text()));
        locked->setChecked(segment.locked);
        locked->setEnabled(canEdit);
        locked->setToolTip(tr("Lock %1 against edits (Ctrl+Shift+L)").arg(name->text()));
        for (QCheckBox* box : {shown, locked}) {
            if (box->property(labelProperty).isValid()) {
                box->setProperty(labelProperty, segment.label);
                continue;
            }
            box->setProperty(labelProperty, segment.label);
            const bool visibility = box == shown;
            // clicked(): only the user's clicks, never the refresh's setChecked.
            connect(box, &QCheckBox::clicked, this, [this, box, visibility](bool checked) {
                const Label label = Label(box->property(labelProperty).toUInt());
                editor_.editSegment(label, [&](Segment& s) {
                    (visibility ? s.visible : s.locked) = checked;
                });
            });
        }
        // Moving the current cell would close a name editor still open on this row.
        if (active && (table_->currentRow() != row || !name->isSelected()))
            table_->selectRow(row);
    }
    for (QAction* action : editingActions_)
        action->setEnabled(canEdit);
    refreshVolumes();
    refreshActiveControls();
}

void SegmentsPanel::refreshVolumes() {
    volumeTimer_->stop();
    if (!editor_.hasAnnotation())
        return;
    const auto counts = editor_.labels().voxelCounts();
    const auto& spacing = editor_.labels().geometry().spacing;
    const double voxelMl = spacing[0] * spacing[1] * spacing[2] / 1000.0;
    for (int row = 0; row < table_->rowCount(); ++row) {
        const Label label = Label(table_->item(row, NameColumn)->data(Qt::UserRole).toUInt());
        const auto found = counts.find(label);
        const std::uint64_t voxels = found == counts.end() ? 0 : found->second;
        const double ml = double(voxels) * voxelMl;
        QTableWidgetItem* volume = itemAt(table_, row, VolumeColumn);
        const QSignalBlocker blocker(table_);
        volume->setText(tr("%1 mL").arg(ml, 0, 'f', ml < 10 ? 2 : 1));
        volume->setToolTip(tr("%n voxel(s)", nullptr, int(std::min<std::uint64_t>(voxels, INT_MAX))));
        volume->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable);
        volume->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    }
}

void SegmentsPanel::refreshActiveControls() {
    const Segment* segment = editor_.segments().find(editor_.activeSegment());
    const bool canEdit = editable() && segment;
    opacity_->setEnabled(canEdit);
    display_->setEnabled(canEdit);
    if (!segment) {
        code_->clear();
        return;
    }
    const QSignalBlocker opacityBlocker(opacity_);
    const QSignalBlocker displayBlocker(display_);
    opacity_->setValue(int(std::lround(segment->opacity * 100)));
    display_->setCurrentIndex(segment->display == annotation::SegmentDisplay::Outline ? 1 : 0);
    code_->setText(segment->type ? describeConcept(segment->type->scheme, segment->type->code,
                                                   segment->type->meaning)
                                 : tr("none (Code... picks one)"));
}

void SegmentsPanel::addSegment() {
    if (refuseWhenReadOnly())
        return;
    TerminologyDialog picker(tr("New segment"), this);
    if (picker.exec() != QDialog::Accepted)
        return;
    const annotation::SegmentList& segments = editor_.segments();
    Segment segment;
    if (const annotation::TerminologyEntry* picked = picker.chosen()) {
        segment.name = picked->type.meaning;
        segment.category = picked->category;
        segment.type = picked->type;
        segment.colour = colourInUse(segments, picked->colour) ? nextDistinctColour(segments)
                                                                 : picked->colour;
    } else {
        segment.name = picker.typedText().isEmpty()
                           ? tr("Segment %1").arg(segments.highestLabel() + 1).toStdString()
                           : picker.typedText().toStdString();
        segment.colour = nextDistinctColour(segments);
    }
    if (editor_.addSegment(segment))
        showMessage(tr("Added %1: paint it with B.").arg(QString::fromStdString(segment.name)));
}

void SegmentsPanel::removeActiveSegment() {
    const Segment* segment = editableActiveSegment();
    if (!segment)
        return;
    if (editor_.segments().size() <= 1) {
        showMessage(tr("An annotation keeps at least one segment: rename it instead."));
        return;
    }
    const QString name = QString::fromStdString(segment->name);
    QMessageBox confirm(QMessageBox::Warning, tr("Remove segment"),
                        tr("Remove \"%1\" with all its voxels and boxes?").arg(name),
                        QMessageBox::Yes | QMessageBox::Cancel, this);
    confirm.setObjectName(QStringLiteral("confirmRemoveSegment"));
    confirm.setInformativeText(tr("The undo history is cleared: neither this removal nor the "
                                  "edits before it can be undone. Saved versions keep it."));
    confirm.setDefaultButton(QMessageBox::Cancel);
    if (confirm.exec() != QMessageBox::Yes)
        return;
    editor_.removeSegment(editor_.activeSegment());
    showMessage(tr("Removed %1.").arg(name));
}

void SegmentsPanel::renameActiveSegment() {
    if (refuseWhenReadOnly())
        return;
    const int row = rowOf(editor_.activeSegment());
    if (row >= 0)
        table_->editItem(table_->item(row, NameColumn));
}

void SegmentsPanel::chooseActiveColour() {
    const Segment* segment = editableActiveSegment();
    if (!segment)
        return;
    QColorDialog dialog(QColor(segment->colour.r, segment->colour.g, segment->colour.b), this);
    dialog.setObjectName(QStringLiteral("segmentColourDialog"));
    dialog.setWindowTitle(tr("Colour of %1").arg(QString::fromStdString(segment->name)));
    if (dialog.exec() != QDialog::Accepted)
        return;
    const QColor colour = dialog.selectedColor();
    editor_.editSegment(segment->label, [&](Segment& s) {
        s.colour = {std::uint8_t(colour.red()), std::uint8_t(colour.green()),
                    std::uint8_t(colour.blue())};
    });
}

void SegmentsPanel::chooseActiveTerminology() {
    const Segment* segment = editableActiveSegment();
    if (!segment)
        return;
    TerminologyDialog picker(tr("Terminology of %1").arg(QString::fromStdString(segment->name)),
                             this);
    if (picker.exec() != QDialog::Accepted || !picker.chosen())
        return;
    const annotation::TerminologyEntry picked = *picker.chosen();
    editor_.editSegment(segment->label, [&](Segment& s) {
        // A name that only repeated the old concept (or the default name) follows the new one.
        const bool generic = (s.type && s.name == s.type->meaning) ||
                             QString::fromStdString(s.name).startsWith(tr("Segment "));
        s.category = picked.category;
        s.type = picked.type;
        if (generic)
            s.name = picked.type.meaning;
    });
}

void SegmentsPanel::selectNeighbour(int step) {
    const auto& all = editor_.segments().all();
    const int row = rowOf(editor_.activeSegment());
    if (row < 0 || all.empty())
        return;
    const int next = std::clamp(row + step, 0, int(all.size()) - 1);
    editor_.setActiveSegment(all[std::size_t(next)].label);
}

void SegmentsPanel::toggleActiveVisible() {
    // Showing and hiding is a viewing preference: allowed on read-only versions too.
    editor_.editSegment(editor_.activeSegment(), [](Segment& s) { s.visible = !s.visible; });
}

void SegmentsPanel::toggleActiveLocked() {
    if (refuseWhenReadOnly())
        return;
    editor_.editSegment(editor_.activeSegment(), [](Segment& s) { s.locked = !s.locked; });
    if (const Segment* segment = editor_.segments().find(editor_.activeSegment()))
        showMessage(segment->locked ? tr("%1 is locked: painting and erasing leave it unchanged.")
                                          .arg(QString::fromStdString(segment->name))
                                    : tr("%1 is unlocked.").arg(QString::fromStdString(segment->name)));
}

} // namespace radmark::gui
