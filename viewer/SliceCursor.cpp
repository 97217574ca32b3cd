#include "viewer/SliceCursor.h"

#include <algorithm>
#include <cmath>

namespace radmark::viewer {

SliceCursor::SliceCursor(const imaging::Geometry& geometry)
    : geometry_(geometry), axes_(AnatomicalAxes::of(geometry)) {
    for (int a = 0; a < 3; ++a)
        index_[a] = std::floor(std::max(geometry.dims[a] - 1, 0) / 2.0);
}

imaging::Index3 SliceCursor::voxel() const {
    imaging::Index3 v;
    for (int a = 0; a < 3; ++a)
        v[a] = std::clamp(int(std::lround(index_[a])), 0, std::max(geometry_.dims[a] - 1, 0));
    return v;
}

bool SliceCursor::moveTo(const imaging::Vec3& index) {
    imaging::Vec3 clamped;
    for (int a = 0; a < 3; ++a)
        clamped[a] = std::clamp(index[a], 0.0, double(std::max(geometry_.dims[a] - 1, 0)));
    if (clamped == index_)
        return false;
    index_ = clamped;
    return true;
}

bool SliceCursor::moveInPlane(ViewPlane plane, const imaging::Vec3& index) {
    imaging::Vec3 target = index;
    const int normal = layout(plane).normalAxis;
    target[normal] = index_[normal];
    return moveTo(target);
}

bool SliceCursor::step(ViewPlane plane, int slices) {
    const PlaneLayout l = layout(plane);
    return setSlice(plane, slice(plane) + slices * l.stepSign);
}

int SliceCursor::slice(ViewPlane plane) const {
    return voxel()[layout(plane).normalAxis];
}

int SliceCursor::sliceCount(ViewPlane plane) const {
    return geometry_.dims[layout(plane).normalAxis];
}

bool SliceCursor::setSlice(ViewPlane plane, int slice) {
    imaging::Vec3 target = index_;
    target[layout(plane).normalAxis] = slice;
    return moveTo(target);
}

} // namespace radmark::viewer
