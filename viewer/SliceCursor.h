#pragma once
// The point every slice view passes through (the linked crosshair), in continuous voxel index
// coordinates of one volume. Clicking in a view moves it within that view's plane; scrolling
// moves it along the view's normal, one voxel at a time. No Qt, no VTK.

#include "viewer/SlicePlanes.h"

#include "imaging/Volume.h"

namespace radmark::viewer {

class SliceCursor {
  public:
    SliceCursor() = default;
    explicit SliceCursor(const imaging::Geometry& geometry); // starts at the grid's centre

    const imaging::Geometry& geometry() const { return geometry_; }
    const AnatomicalAxes& axes() const { return axes_; }
    PlaneLayout layout(ViewPlane plane) const { return layoutOf(plane, axes_); }

    const imaging::Vec3& index() const { return index_; }
    imaging::Index3 voxel() const; // nearest voxel, inside the grid
    imaging::Vec3 lps() const { return geometry_.indexToLps(index_); }

    // Moves to a point, clamped into the grid; returns true when the cursor changed.
    bool moveTo(const imaging::Vec3& index);
    // Moves within a view's plane only (its slice stays): what a click in that view does.
    bool moveInPlane(ViewPlane plane, const imaging::Vec3& index);
    // Moves `slices` voxels along the view's normal; positive toward S (axial), A (coronal),
    // L (sagittal). Stops at the first and last slice.
    bool step(ViewPlane plane, int slices);

    int slice(ViewPlane plane) const;      // 0-based slice number shown by the view
    int sliceCount(ViewPlane plane) const; // number of slices across the view
    bool setSlice(ViewPlane plane, int slice);

  private:
    imaging::Geometry geometry_;
    AnatomicalAxes axes_;
    imaging::Vec3 index_{0, 0, 0};
};

} // namespace radmark::viewer
