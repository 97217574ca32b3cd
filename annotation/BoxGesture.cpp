#include "annotation/BoxGesture.h"

#include <algorithm>
#include <cmath>
#include <tuple>

namespace radmark::annotation {

namespace {

// The two index axes lying in the view's plane.
std::array<int, 2> inPlaneAxes(const ViewSlice& view) {
    const int n = int(view.normal);
    return {n == 0 ? 1 : 0, n == 2 ? 1 : 2};
}

long long areaInView(const Box& box, const ViewSlice& view) {
    const auto [u, v] = inPlaneAxes(view);
    return (long long)(box.max[u] - box.min[u] + 1) * (box.max[v] - box.min[v] + 1);
}

// Where the pointer is on one box, or a hit with box 0.
BoxHit hitOne(const Box& box, const ViewSlice& view, const Index3& voxel, double tolerance) {
    BoxHit hit;
    bool inside = true;
    for (int axis : inPlaneAxes(view)) {
        const double low = box.min[axis] - 0.5, high = box.max[axis] + 0.5;
        // Small boxes keep an inside to grab: edges take at most a quarter of the width each.
        const double reach = std::min(tolerance, (high - low) / 4);
        const double p = voxel[axis];
        if (p < low - reach || p > high + reach)
            return {};
        const double toLow = std::abs(p - low), toHigh = std::abs(p - high);
        if (std::min(toLow, toHigh) <= reach)
            hit.handle[axis] = toLow <= toHigh ? -1 : 1;
        inside = inside && p > low && p < high;
    }
    if (hit.handle != BoxHandle{0, 0, 0})
        hit.part = BoxPart::Handle;
    else if (inside)
        hit.part = BoxPart::Inside;
    else
        return {};
    hit.box = box.id;
    return hit;
}

} // namespace

bool crossesSlice(const Box& box, const ViewSlice& view) {
    const int n = int(view.normal);
    return box.min[n] <= view.slice && view.slice <= box.max[n];
}

bool editableInView(const Box& box, const ViewSlice& view) {
    return crossesSlice(box, view) && (box.threeD || box.plane == view.normal);
}

BoxHit hitTest(const std::vector<Box>& shown, const ViewSlice& view, const Index3& voxel,
               double tolerance, std::uint32_t selected) {
    BoxHit best;
    std::tuple<int, long long> bestRank{3, 0}; // (priority, area): lower wins
    for (const Box& box : shown) {
        if (!editableInView(box, view))
            continue;
        const BoxHit hit = hitOne(box, view, voxel, tolerance);
        if (hit.part == BoxPart::None)
            continue;
        const int priority = hit.part == BoxPart::Inside ? 2 : box.id == selected ? 0 : 1;
        const std::tuple<int, long long> rank{priority, areaInView(box, view)};
        if (rank < bestRank) {
            bestRank = rank;
            best = hit;
        }
    }
    return best;
}

BoxChange BoxEdit::applyTo(BoxList& boxes) const {
    switch (kind) {
    case Kind::Draw2D:
        return boxes.add2D(segment, author, plane, from, to);
    case Kind::Draw3D:
        return boxes.add3D(segment, author, from, to);
    case Kind::Move:
        return boxes.move(box, from);
    case Kind::Resize:
        return boxes.resize(box, handle, to);
    }
    return {};
}

std::string BoxEdit::description() const {
    switch (kind) {
    case Kind::Draw2D:
    case Kind::Draw3D:
        return "Draw box";
    case Kind::Move:
        return "Move box";
    case Kind::Resize:
        return "Resize box";
    }
    return "Box";
}

void BoxGesture::press(Index3 dims, const std::vector<Box>& shown, const ViewSlice& view,
                       const Index3& voxel, double tolerance, std::uint32_t selected,
                       const BoxDrawing& drawing) {
    active_ = true;
    moved_ = false;
    dims_ = dims;
    view_ = view;
    drawing_ = drawing;
    pressed_ = current_ = voxel;
    hit_ = hitTest(shown, view, voxel, tolerance, selected);
    target_ = Box{};
    if (hit_.box != 0) {
        const auto it = std::find_if(shown.begin(), shown.end(),
                                     [&](const Box& b) { return b.id == hit_.box; });
        target_ = *it;
    }
}

void BoxGesture::drag(const Index3& voxel) {
    if (!active_)
        return;
    current_ = voxel;
    moved_ = moved_ || voxel != pressed_;
}

BoxGestureResult BoxGesture::release(const Index3& voxel) {
    drag(voxel);
    BoxGestureResult result;
    if (!active_)
        return result;
    result.selected = hit_.box;
    result.edit = currentEdit();
    active_ = false;
    return result;
}

void BoxGesture::cancel() {
    active_ = false;
}

std::optional<BoxEdit> BoxGesture::currentEdit() const {
    if (!active_ || !moved_)
        return std::nullopt;
    Index3 delta;
    for (int a = 0; a < 3; ++a)
        delta[a] = current_[a] - pressed_[a];
    BoxEdit edit;
    switch (hit_.part) {
    case BoxPart::None: {
        if (current_ == pressed_)
            return std::nullopt;
        edit.kind = drawing_.threeD ? BoxEdit::Kind::Draw3D : BoxEdit::Kind::Draw2D;
        edit.segment = drawing_.segment;
        edit.author = drawing_.author;
        edit.plane = view_.normal;
        edit.from = pressed_;
        edit.to = current_;
        const int n = int(view_.normal);
        if (drawing_.threeD) {
            edit.from[n] = view_.slice - drawing_.halfDepthSlices;
            edit.to[n] = view_.slice + drawing_.halfDepthSlices;
        } else {
            edit.from[n] = edit.to[n] = view_.slice;
        }
        return edit;
    }
    case BoxPart::Inside:
        edit.kind = BoxEdit::Kind::Move;
        edit.box = target_.id;
        edit.from = delta;
        return edit;
    case BoxPart::Handle:
        edit.kind = BoxEdit::Kind::Resize;
        edit.box = target_.id;
        edit.handle = hit_.handle;
        for (int a = 0; a < 3; ++a) {
            const int face = hit_.handle[a] < 0 ? target_.min[a] : target_.max[a];
            edit.to[a] = face + delta[a];
        }
        return edit;
    }
    return std::nullopt;
}

std::optional<Box> BoxGesture::preview() const {
    const std::optional<BoxEdit> edit = currentEdit();
    if (!edit)
        return std::nullopt;
    // Applied to a scratch list holding only the target, so clamping and ordering are the
    // list's own: the preview is what the release gives.
    BoxList scratch(dims_);
    if (target_.id != 0)
        scratch.replaceAll({target_});
    return edit->applyTo(scratch).after;
}

} // namespace radmark::annotation
