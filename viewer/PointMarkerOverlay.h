#pragma once
// Draws numbered point markers (review comments pinned to a voxel) on one slice view: a small
// circle with its number where the marker lies in the shown slice, nothing on other slices.
// The circles keep their size on screen whatever the zoom.

#include "viewer/SliceCursor.h"

#include "imaging/Volume.h"

#include <QString>

#include <memory>
#include <vector>

namespace radmark::viewer {

class SliceView;

struct PointMarker {
    int id = 0;          // the number drawn beside the circle
    imaging::Vec3 index; // continuous voxel index coordinates of the pinned point
    QString text;        // what the marker stands for (a comment); not drawn on the image
};

class PointMarkerOverlay {
  public:
    explicit PointMarkerOverlay(SliceView& view); // show() and clear() need the view alive
    ~PointMarkerOverlay();
    PointMarkerOverlay(const PointMarkerOverlay&) = delete;
    PointMarkerOverlay& operator=(const PointMarkerOverlay&) = delete;

    // Replaces what is drawn with the markers on the slice `cursor` shows in the view (the
    // marker's nearest slice), and asks the view to repaint.
    void show(const std::vector<PointMarker>& markers, const SliceCursor& cursor);
    void clear();

    std::vector<int> shownMarkerIds() const; // markers drawn on the current slice

  private:
    struct Private;
    std::unique_ptr<Private> d;
};

} // namespace radmark::viewer
