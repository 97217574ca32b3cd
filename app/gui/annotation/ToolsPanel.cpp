#include "app/gui/annotation/ToolsPanel.h"

#include "viewer/BoxInteraction.h"
#include "viewer/LabelEditor.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QKeySequence>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QVBoxLayout>

#include <cmath>
#include <map>

namespace radmark::gui {

namespace {

// Settings that are a choice rather than a number: shown as a list of their meanings.
const std::map<std::string, QStringList>& choiceSettings() {
    static const std::map<std::string, QStringList> choices{
        {"sphere", {ToolsPanel::tr("2D disc in the slice"), ToolsPanel::tr("3D sphere")}},
        {"axis",
         {ToolsPanel::tr("Sagittal slices"), ToolsPanel::tr("Coronal slices"),
          ToolsPanel::tr("Axial slices")}}};
    return choices;
}

bool endsWith(const std::string& text, std::string_view suffix) {
    return text.size() >= suffix.size() &&
           text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

QString hintFor(const QString& name) {
    if (const annotation::ToolDescription* tool = viewer::LabelEditor::toolDescription(name))
        return QString::fromStdString(tool->hint);
    return ToolsPanel::tr("A left click in a slice view moves the crosshair.");
}

} // namespace

ToolsPanel::ToolsPanel(viewer::LabelEditor& editor, viewer::BoxInteraction* boxes, QWidget* parent)
    : QWidget(parent), editor_(editor), boxes_(boxes) {
    setObjectName(QStringLiteral("ToolsPanel"));
    auto* layout = new QVBoxLayout(this);

    list_ = new QListWidget(this);
    list_->setObjectName(QStringLiteral("toolList"));
    for (const QString& name : viewer::LabelEditor::toolList()) {
        auto* item = new QListWidgetItem(viewer::LabelEditor::toolTitle(name), list_);
        item->setData(Qt::UserRole, name);
        const annotation::ToolDescription* tool = viewer::LabelEditor::toolDescription(name);
        if (tool && !tool->key.empty()) {
            const QKeySequence key(QString::fromStdString(tool->key), QKeySequence::PortableText);
            item->setToolTip(tr("Key: %1").arg(key.toString(QKeySequence::NativeText)));
        }
    }
    list_->setCurrentRow(0);
    layout->addWidget(list_);

    hint_ = new QLabel(this);
    hint_->setObjectName(QStringLiteral("toolHint"));
    hint_->setWordWrap(true);
    layout->addWidget(hint_);
    form_ = new QWidget(this);
    layout->addWidget(form_);

    fromWindow_ = new QPushButton(tr("Range from current window/level"), this);
    fromWindow_->setObjectName(QStringLiteral("rangeFromWindow"));
    layout->addWidget(fromWindow_);
    apply_ = new QPushButton(tr("Apply"), this);
    apply_->setObjectName(QStringLiteral("applyTool"));
    layout->addWidget(apply_);

    status_ = new QLabel(this);
    status_->setObjectName(QStringLiteral("toolStatus"));
    status_->setWordWrap(true);
    layout->addWidget(status_);
    layout->addStretch(1);

    connect(list_, &QListWidget::currentItemChanged, this, [this](QListWidgetItem* item) {
        if (item)
            editor_.selectTool(item->data(Qt::UserRole).toString());
    });
    connect(fromWindow_, &QPushButton::clicked, &editor_,
            &viewer::LabelEditor::useShownIntensityRange);
    connect(apply_, &QPushButton::clicked, this, [this] { editor_.applyTool(); });
    connect(&editor_, &viewer::LabelEditor::toolChanged, this, &ToolsPanel::showTool);
    connect(&editor_, &viewer::LabelEditor::toolSettingChanged, this, &ToolsPanel::showSetting);
    connect(&editor_, &viewer::LabelEditor::statusMessage, status_, &QLabel::setText);
    showTool(editor_.toolName());
}

void ToolsPanel::showTool(const QString& name) {
    for (int row = 0; row < list_->count(); ++row) {
        if (list_->item(row)->data(Qt::UserRole).toString() == name) {
            const QSignalBlocker quiet(list_);
            list_->setCurrentRow(row);
        }
    }
    hint_->setText(hintFor(name));

    auto* form = new QWidget(this);
    auto* rows = new QFormLayout(form);
    rows->setContentsMargins(0, 0, 0, 0);
    // Labels above their fields and wrapped: choosing a tool never widens the panel (and so
    // never resizes the views under the pointer).
    rows->setRowWrapPolicy(QFormLayout::WrapAllRows);
    const auto rowLabel = [form](const std::string& text) {
        auto* label = new QLabel(QString::fromStdString(text), form);
        label->setWordWrap(true);
        return label;
    };
    const annotation::ToolDescription* description = viewer::LabelEditor::toolDescription(name);
    if (const annotation::Tool* tool = editor_.tool()) {
        for (const annotation::ToolSetting& setting : tool->settings().all()) {
            const QString key = QString::fromStdString(setting.name);
            if (const auto choice = choiceSettings().find(setting.name);
                choice != choiceSettings().end()) {
                auto* box = new QComboBox(form);
                box->addItems(choice->second);
                box->setCurrentIndex(int(std::lround(setting.value)));
                connect(box, &QComboBox::currentIndexChanged, this,
                        [this, key](int index) { editor_.setToolSetting(key, index); });
                box->setObjectName(key);
                rows->addRow(rowLabel(setting.label), box);
                continue;
            }
            auto* spin = new QDoubleSpinBox(form);
            const bool count = endsWith(setting.name, "_voxels");
            const bool millimetres = endsWith(setting.name, "_mm");
            spin->setDecimals(count ? 0 : millimetres ? 2 : 1);
            spin->setSingleStep(millimetres ? 0.5 : 10);
            spin->setRange(setting.minimum, setting.maximum);
            spin->setValue(setting.value);
            // Typing "150" applies once (Enter or leaving the box), not at 1, 15 and 150: each
            // change of a region grow's range regrows.
            spin->setKeyboardTracking(false);
            connect(spin, &QDoubleSpinBox::valueChanged, this,
                    [this, key](double value) { editor_.setToolSetting(key, value); });
            spin->setObjectName(key);
            rows->addRow(rowLabel(setting.label), spin);
        }
    }
    if (description && description->box3D && boxes_) {
        // A 3D box is drawn in one view: its depth along that view's normal, to adjust later
        // with the handles in another view.
        auto* depth = new QSpinBox(form);
        depth->setObjectName(QStringLiteral("boxHalfDepth"));
        depth->setRange(0, 500);
        depth->setValue(boxes_->halfDepthSlices());
        depth->setKeyboardTracking(false);
        connect(depth, &QSpinBox::valueChanged, this,
                [this](int slices) { boxes_->setHalfDepthSlices(slices); });
        rows->addRow(rowLabel(tr("Depth: slices on each side of the drawn one").toStdString()),
                     depth);
    }
    layout()->replaceWidget(form_, form);
    delete form_;
    form_ = form;
    form_->show(); // a widget made after its parent was shown stays hidden until told
    fromWindow_->setVisible(description && description->intensityRange);
    apply_->setVisible(viewer::LabelEditor::isWholeSegmentTool(name));
    apply_->setText(tr("Apply %1").arg(viewer::LabelEditor::toolTitle(name)));
}

void ToolsPanel::showSetting(const QString& key, double value) {
    if (auto* spin = form_->findChild<QDoubleSpinBox*>(key)) {
        const QSignalBlocker quiet(spin);
        spin->setValue(value);
    } else if (auto* box = form_->findChild<QComboBox*>(key)) {
        const QSignalBlocker quiet(box);
        box->setCurrentIndex(int(std::lround(value)));
    }
}

} // namespace radmark::gui
