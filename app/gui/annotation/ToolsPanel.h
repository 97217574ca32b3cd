#pragma once
// (being written) The ToolsPanel dock beside the views.

#include <QWidget>

namespace radmark::viewer {
class LabelEditor;
}

namespace radmark::gui {

class ToolsPanel : public QWidget {
    Q_OBJECT
  public:
    explicit ToolsPanel(viewer::LabelEditor& editor, QWidget* parent = nullptr);

  private:
    viewer::LabelEditor& editor_;
};

} // namespace radmark::gui
