#pragma once
// Two annotation versions of one volume compared on screen, read-only: two linked slice views
// (one crosshair and slice, one zoom and pan, one window/level; the left side is the
// reference), or one overlay view colouring per segment the voxels both sides labelled and
// each side's extra voxels. Boxes of both sides and pinned point markers are drawn in both
// modes; in pin mode a click reports the voxel instead of moving the crosshair.
//
// Keys while the widget has focus: Alt+1 / Alt+2 / Alt+3 axial / coronal / sagittal, O overlay
// on/off, S swap sides, P pin mode on/off (the slice view keys stay as they are; 1-5 and
// Ctrl+1-4 belong to the workstation).

#include "viewer/PointMarkerOverlay.h"
#include "viewer/SliceCursor.h"
#include "viewer/SliceView.h"
#include "viewer/WindowLevel.h"

#ifndef Q_MOC_RUN // Qt 6.4's moc fails on libstdc++'s <concepts>, which <compare> pulls in
#include "annotation/Box.h"
#include "annotation/LabelMap.h"
#include "annotation/Segment.h"
#endif
#include "imaging/Volume.h"

#include <QDateTime>
#include <QString>
#include <QWidget>

#include <array>
#include <memory>
#include <stdexcept>
#include <vector>

class QAction;
class QLabel;

namespace radmark::viewer {

class BoxOverlay;

// What the heading above a side says about the version it shows.
struct SideLabel {
    QString author;
    QDateTime timeUtc;
    QString shortHash;
    QString title; // e.g. "Submitted version", "Consensus (vote)"
};

// One side of the comparison; the viewer keeps the label map alive while it shows it.
struct ComparedSide {
    std::shared_ptr<const annotation::LabelMap> labels;
    annotation::SegmentList segments;
    std::vector<annotation::Box> boxes;
    SideLabel label;
};

// Two sides that cannot be compared on this volume (different grids, missing labels).
struct ComparisonError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The three classes of the overlay, per segment (paired as annotation::matchSegments pairs them
// for the metrics: terminology code, else name).
enum class OverlayClass { Agreement, OnlyReference, OnlyOther };
// Agreement: the segment's own colour (the reference's; the other side's when only it has the
// segment), amber instead when that colour is close to one of the two fixed hues; only in the
// reference (the other side missed it): blue; only in the other side (it added it): green.
annotation::Rgb overlayColour(OverlayClass kind, const annotation::Rgb& segmentColour);

class ComparisonViewer : public QWidget {
    Q_OBJECT
  public:
    explicit ComparisonViewer(QWidget* parent = nullptr);
    ~ComparisonViewer() override;

    // Shows a volume in both views; the sides are cleared.
    void setVolume(std::shared_ptr<imaging::Volume> volume);
    const imaging::Volume* volume() const;
    // `reference` goes left, `other` right. Throws ComparisonError when a label map is missing
    // or lies on another grid than the volume (nothing shown changes then).
    void setSides(ComparedSide reference, ComparedSide other);
    bool hasSides() const;
    const ComparedSide& reference() const; // the left side (after swaps)
    const ComparedSide& other() const;     // the right side
    void swapSides();

    void setPlane(ViewPlane plane); // both views
    ViewPlane plane() const;

    // Overlay: the left view shows both sides in the overlay colours, the right view is hidden.
    void setOverlayMode(bool on);
    bool overlayMode() const;

    void setWindowLevel(const WindowLevel& windowLevel);
    WindowLevel windowLevel() const;

    const SliceCursor& cursor() const;
    void moveCursorTo(const imaging::Vec3& index);

    // Markers (review comments pinned to a point) on every view whose slice holds the point.
    void setMarkers(std::vector<PointMarker> markers);
    const std::vector<PointMarker>& markers() const;
    // Pin mode: a left click in either view emits pointPinned instead of moving the crosshair.
    void setPinMode(bool on);
    bool pinMode() const;

    // 0 = left, 1 = right.
    SliceView* view(int position) const;
    QLabel* heading(int position) const;
    const BoxOverlay& boxOverlay(int position) const;
    const PointMarkerOverlay& markerOverlay(int position) const;
    // The widget's actions (keys listed above), for the workstation's menus.
    QAction* overlayAction() const;
    QAction* swapAction() const;
    QAction* pinAction() const;
    QAction* planeAction(ViewPlane plane) const;

    void renderAll(); // both shown views, now

  signals:
    void pointPinned(imaging::Vec3 index); // the voxel clicked in pin mode
    void cursorChanged();
    void overlayModeChanged(bool on);
    void sidesSwapped();

  private:
    void onCursorMoved();
    void showSides();
    void refreshOverlays(); // boxes and markers on the shown slices
    void rebuildOverlayColours();

    struct Private;
    std::unique_ptr<Private> d;
};

} // namespace radmark::viewer
