#pragma once
// Draws bounding boxes on one slice view: every box crossing the shown slice as a rectangle
// around its voxels in its segment's colour (3D boxes in all three planes, a 2D box of another
// plane as a thin strip), the selected box thicker with square handles at its corners and edge
// midpoints. The handles keep their size on screen whatever the zoom.

#ifndef Q_MOC_RUN // Qt 6.4's moc fails on libstdc++'s <concepts>, which <compare> pulls in
#include "annotation/Box.h"
#include "annotation/Segment.h"
#endif
#include "viewer/SliceCursor.h"

#include <memory>
#include <vector>

namespace radmark::viewer {

class SliceView;

struct DrawnBox {
    annotation::Box box;
    annotation::Rgb colour;
    bool selected = false;
};

class BoxOverlay {
  public:
    explicit BoxOverlay(SliceView& view); // show() and clear() need the view alive
    ~BoxOverlay();
    BoxOverlay(const BoxOverlay&) = delete;
    BoxOverlay& operator=(const BoxOverlay&) = delete;

    // Replaces what is drawn with the boxes crossing the slice `cursor` shows in the view, and
    // asks the view to repaint.
    void show(const std::vector<DrawnBox>& boxes, const SliceCursor& cursor);
    void clear();

    int shownBoxCount() const; // rectangles drawn on the current slice
    bool showsHandles() const;

  private:
    struct Private;
    std::unique_ptr<Private> d;
};

} // namespace radmark::viewer
