#pragma once
// The classic 2x2 reading layout: axial (top left), 3D (top right), coronal (bottom left),
// sagittal (bottom right). The slice views share one crosshair (SliceCursor) and one
// window/level; double-clicking a view maximises it, again restores the four.

#include "viewer/BoxInteraction.h"
#include "viewer/LabelEditor.h"
#include "viewer/SliceCursor.h"
#include "viewer/SliceView.h"
#include "viewer/VolumeView.h"
#include "viewer/WindowLevel.h"

#include "imaging/Volume.h"

#include <QWidget>

#include <memory>

namespace radmark::viewer {

class FourUpViewer : public QWidget {
    Q_OBJECT
  public:
    explicit FourUpViewer(QWidget* parent = nullptr);
    ~FourUpViewer() override;

    // Shows a volume in all four views (the viewer keeps it alive while shown).
    void setVolume(std::shared_ptr<imaging::Volume> volume);
    void clearVolume();
    const imaging::Volume* volume() const;

    SliceView* sliceView(ViewPlane plane) const;
    VolumeView* volumeView() const;
    const SliceCursor& cursor() const;
    void moveCursorTo(const imaging::Vec3& index);

    void setWindowLevel(const WindowLevel& windowLevel); // all slice views
    WindowLevel windowLevel() const;
    void applyDefaultWindowLevel(); // CT soft tissue or MR percentiles
    void applyVolumeRenderingPreset(const VolumeRenderingPreset& preset);
    void resetViews(); // zoom, pan and 3D camera

    QWidget* maximisedView() const; // nullptr when all four show
    void toggleMaximised(QWidget* view);

    // "L 12.3 P -4.5 S 30.0 mm | voxel (90, 108, 45) | 123 HU" for an index point.
    QString describePoint(const imaging::Vec3& index) const;

    // Renders every view now (for screenshots).
    void renderAll();

    // Label editing on the shown volume (an empty annotation is started with each volume);
    // the overlay in the slice views follows it, and the views edit with a left drag while the
    // selected tool uses the pointer (LabelEditor::pointerEdits).
    LabelEditor* labelEditor() const;
    // Boxes: drawing, moving and resizing bounding boxes while a box tool is selected.
    BoxInteraction* boxInteraction() const;

  signals:
    void statusMessage(const QString& text);
    void cursorChanged();

  private:
    void onCursorMoved();
    void onLabelsChanged();
    void showBrushOutline(); // the selected brush's circle under the pointer

    struct Private;
    std::unique_ptr<Private> d;
};

} // namespace radmark::viewer
