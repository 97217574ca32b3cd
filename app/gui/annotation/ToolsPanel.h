#pragma once
// The Tools panel beside the views: the list of tools (the same choice as the Annotate menu),
// the chosen tool's settings bound to its annotation::ToolSettings in both directions (a key such
// as ] changes the spin box, the spin box changes the tool, a region grow regrows), the brush
// shape, the intensity range taken from the window shown, the depth of a new 3D box, Apply for
// whole-segment tools, and a line saying what the last edit did or why it was refused.

#include <QWidget>

class QLabel;
class QListWidget;
class QPushButton;

namespace radmark::viewer {
class BoxInteraction;
class LabelEditor;
} // namespace radmark::viewer

namespace radmark::gui {

class ToolsPanel : public QWidget {
    Q_OBJECT
  public:
    // `boxes` (may be null) gives the 3D box tool its depth field.
    ToolsPanel(viewer::LabelEditor& editor, viewer::BoxInteraction* boxes,
               QWidget* parent = nullptr);

  private:
    void showTool(const QString& name); // rebuilds the settings form for the chosen tool
    void showSetting(const QString& key, double value);

    viewer::LabelEditor& editor_;
    viewer::BoxInteraction* boxes_;
    QListWidget* list_ = nullptr;
    QLabel* hint_ = nullptr;
    QWidget* form_ = nullptr; // one row per setting; replaced when the tool changes
    QPushButton* fromWindow_ = nullptr;
    QPushButton* apply_ = nullptr;
    QLabel* status_ = nullptr;
};

} // namespace radmark::gui
