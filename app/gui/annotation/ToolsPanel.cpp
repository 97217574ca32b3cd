#include "app/gui/annotation/ToolsPanel.h"

#include "viewer/LabelEditor.h"

namespace radmark::gui {

ToolsPanel::ToolsPanel(viewer::LabelEditor& editor, QWidget* parent) : QWidget(parent), editor_(editor) {
    setObjectName(QStringLiteral("ToolsPanel"));
}

} // namespace radmark::gui
