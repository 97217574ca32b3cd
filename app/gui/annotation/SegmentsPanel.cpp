#include "app/gui/annotation/SegmentsPanel.h"

#include "viewer/LabelEditor.h"

namespace radmark::gui {

SegmentsPanel::SegmentsPanel(viewer::LabelEditor& editor, QWidget* parent) : QWidget(parent), editor_(editor) {
    setObjectName(QStringLiteral("SegmentsPanel"));
}

} // namespace radmark::gui
