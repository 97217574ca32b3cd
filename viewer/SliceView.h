#pragma once
// One 2D slice view (axial, coronal or sagittal) of a volume with the linked crosshair,
// orientation letters and slice position. Mouse: left click/drag moves the crosshair,
// right-drag changes window/level, middle-drag or Shift+left-drag pans, Ctrl+wheel zooms,
// wheel scrolls slices. Keys: arrows and Page Up/Down scroll, Home/End, +/- zoom, R resets.
// The crosshair lives in a SliceCursor shared by the views; this widget only draws it and
// asks for changes. In editing mode (setEditing) a left drag does not move the crosshair but
// reports the voxel under the pointer through editPointer, for the label editor.

#ifndef Q_MOC_RUN // Qt 6.4's moc fails on libstdc++'s <concepts>, which <compare> pulls in
#include "annotation/Tool.h"
#endif
#include "viewer/SliceCursor.h"
#include "viewer/VtkOpenGLWidget.h"
#include "viewer/WindowLevel.h"

#include <memory>
#include <optional>

class vtkImageData;
class vtkLookupTable;

namespace radmark::viewer {

class SliceView : public VtkOpenGLWidget {
    Q_OBJECT
  public:
    explicit SliceView(ViewPlane plane, QWidget* parent = nullptr);
    ~SliceView() override;

    ViewPlane plane() const;
    // Shows another plane of the same image and labels (zoom and pan reset); the side-by-side
    // comparison switches both views with it.
    void setPlane(ViewPlane plane);

    // Shows `image` (a volume wrapped in voxel index space: origin 0, identity direction, the
    // volume's spacing) through `cursor`, which the views share and must outlive them.
    void setImage(vtkImageData* image, SliceCursor* cursor, double valueRange);
    void clearImage();
    bool hasImage() const;

    // Shows a label map (same grid and index space as the image) over the image through
    // `colours` (label value -> RGBA); nullptr removes it. Labels visible in `outlineColours`
    // are drawn as their boundary in the shown slice only (labels are uint8 or uint16; values
    // above 255 are not drawn). The caller calls Modified() on the label image when labels
    // change and then labelsChanged().
    void setLabelOverlay(vtkImageData* labels, vtkLookupTable* colours,
                         vtkLookupTable* outlineColours = nullptr);
    void labelsChanged();

    // The brush under the pointer while a brush is chosen: the circle of `radiusMm` around the
    // voxel under the pointer, at the current zoom (a sphere's cut through the shown slice is
    // the same circle, drawn in another colour). A radius of 0 hides it.
    void setBrushOutline(double radiusMm, bool sphere);
    bool brushOutlineShown() const;
    // The voxel index axis normal to this view (0 = x, 1 = y, 2 = z).
    int normalIndexAxis() const;

    // Editing: left press/drag/release report voxels through editPointer instead of moving
    // the crosshair.
    void setEditing(bool editing);
    bool editing() const;

    // Re-reads the shared cursor (slice and crosshair) and repaints.
    void cursorChanged();

    void setWindowLevel(const WindowLevel& windowLevel);
    WindowLevel windowLevel() const;

    void resetView(); // whole slice fits, centred
    void zoomBy(double factor);
    void panBy(const QPointF& widgetPixels);
    double zoom() const; // 1 = fitted
    // The camera's offset from the slice centre in world mm; with zoom() all a linked view
    // needs to show the same part of the slice (side by side).
    imaging::Vec3 pan() const;
    // Takes over another view's zoom and pan without emitting zoomOrPanChanged.
    void setZoomAndPan(double zoom, const imaging::Vec3& pan);

    // The voxel index coordinates under a widget position on the shown slice, if inside the grid.
    std::optional<imaging::Vec3> indexAt(const QPointF& widgetPosition) const;
    // Where an index point appears in widget coordinates.
    QPointF widgetPositionOf(const imaging::Vec3& index) const;
    // boxes: the world point (the renderer's coordinates) of an index point, for overlays drawn
    // in world coordinates on this view's renderer.
    imaging::Vec3 worldOf(const imaging::Vec3& index) const;

    // The text in the view's lower-left corner (plane, slice number, position along the normal).
    QString sliceText() const;

  signals:
    void cursorMoved();                         // this view moved the shared cursor
    void windowLevelChanged(WindowLevel value); // right-drag
    void hovered(imaging::Vec3 index);          // pointer over the image
    void hoverLeft();
    void zoomOrPanChanged(); // zoomBy, panBy, resetView (wheel, keys, drags)
    void editPointer(annotation::PointerPhase phase, imaging::Index3 voxel);

  protected:
    void mousePressEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void wheelEvent(QWheelEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;
    void leaveEvent(QEvent* event) override;
    void resizeGL(int width, int height) override;

  private:
    void placeCamera();
    void placeBrushOutline(const std::optional<imaging::Vec3>& index);
    void refreshOutlines();

    struct Private;
    std::unique_ptr<Private> d;
};

} // namespace radmark::viewer
