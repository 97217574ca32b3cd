#pragma once
// (being written) The SegmentsPanel dock beside the views.

#include <QWidget>

namespace radmark::viewer {
class LabelEditor;
}

namespace radmark::gui {

class SegmentsPanel : public QWidget {
    Q_OBJECT
  public:
    explicit SegmentsPanel(viewer::LabelEditor& editor, QWidget* parent = nullptr);

  private:
    viewer::LabelEditor& editor_;
};

} // namespace radmark::gui
