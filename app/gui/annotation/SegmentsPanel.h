#pragma once
// The Segments dock beside the views: the annotation's segments with colour, name, visibility,
// lock and volume (mL); the active one is selected and painted with. Adds segments from the
// bundled terminology, renames, recolours, sets opacity and fill/outline, removes (after asking),
// and switches the 3D view between surfaces alone and surfaces with the volume rendering.
// Keys on the main window: N new, Ctrl+Up/Down previous/next, H hide/show, Ctrl+Shift+L lock,
// Shift+3 surfaces only in 3D.

#include <QWidget>

#include <cstdint>

class QAction;
class QComboBox;
class QLabel;
class QSlider;
class QTableWidget;
class QTimer;

namespace radmark::annotation {
struct Segment;
}

namespace radmark::viewer {
class LabelEditor;
class VolumeView;
} // namespace radmark::viewer

namespace radmark::gui {

class SegmentsPanel : public QWidget {
    Q_OBJECT
  public:
    // Table columns.
    enum Column { ColourColumn, NameColumn, VisibleColumn, LockedColumn, VolumeColumn };

    // `volumeView` may be null (no 3D toggle then).
    SegmentsPanel(viewer::LabelEditor& editor, viewer::VolumeView* volumeView,
                  QWidget* parent = nullptr);
    ~SegmentsPanel() override;

    QTableWidget* table() const { return table_; }
    int rowOf(std::uint16_t label) const; // -1 when not listed

    // What the buttons and keys do (dialogs are modal: the terminology picker, the colour dialog
    // and the confirmation before removing).
    void addSegment();
    void removeActiveSegment();
    void renameActiveSegment();
    void chooseActiveColour();
    void chooseActiveTerminology();
    void selectNeighbour(int step); // -1 previous, +1 next
    void toggleActiveVisible();
    void toggleActiveLocked();

  private:
    QAction* addKeyAction(const QString& text, const QKeySequence& keys,
                          void (SegmentsPanel::*slot)());
    void refresh();
    void refreshVolumes();
    void refreshActiveControls();
    void showMessage(const QString& text);
    bool editable() const;
    bool refuseWhenReadOnly();
    // The active segment, or null (with a message) when the annotation cannot be edited.
    const annotation::Segment* editableActiveSegment();

    viewer::LabelEditor& editor_;
    viewer::VolumeView* volumeView_;
    QTableWidget* table_ = nullptr;
    QSlider* opacity_ = nullptr;
    QComboBox* display_ = nullptr;
    QLabel* code_ = nullptr;
    QLabel* message_ = nullptr;
    QTimer* volumeTimer_ = nullptr;
    QList<QAction*> editingActions_; // disabled on a read-only annotation
};

} // namespace radmark::gui
