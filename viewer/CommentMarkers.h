#pragma once
// Review comments' markers in the four-up viewer: a numbered circle (PointMarkerOverlay) in each
// slice view whose shown slice holds a pinned point, kept up to date as the crosshair moves. The
// annotator sees on her version where the reviewer pinned comments, as the reviewer sees them in
// the ComparisonViewer.

#include "viewer/PointMarkerOverlay.h"

#include <QObject>

#include <array>
#include <memory>
#include <vector>

namespace radmark::viewer {

class FourUpViewer;

class CommentMarkers : public QObject {
    Q_OBJECT
  public:
    explicit CommentMarkers(FourUpViewer& viewer); // a child of the viewer
    ~CommentMarkers() override;

    void setMarkers(std::vector<PointMarker> markers); // replaces the markers shown
    const std::vector<PointMarker>& markers() const { return markers_; }
    // The markers drawn in the view of this plane on its current slice.
    std::vector<int> shownMarkerIds(ViewPlane plane) const;

  private:
    void refresh();

    FourUpViewer& viewer_;
    std::vector<PointMarker> markers_;
    std::array<std::unique_ptr<PointMarkerOverlay>, 3> overlays_; // axial, coronal, sagittal
};

} // namespace radmark::viewer
