#include "annotation/Box.h"

#include <algorithm>

namespace radmark::annotation {

Index3 BoxList::clamp(Index3 p) const {
    for (int a = 0; a < 3; ++a)
        p[a] = std::clamp(p[a], 0, std::max(dims_[a] - 1, 0));
    return p;
}

void BoxList::normalise(Box& box) const {
    box.min = clamp(box.min);
    box.max = clamp(box.max);
    for (int a = 0; a < 3; ++a) {
        if (box.min[a] > box.max[a])
            std::swap(box.min[a], box.max[a]);
    }
}

BoxChange BoxList::insert(Box box) {
    box.id = nextId_++;
    boxes_.push_back(box);
    return {std::nullopt, box};
}

BoxChange BoxList::add2D(Label segment, std::string author, SliceAxis plane, Index3 a, Index3 b) {
    const int axis = int(plane);
    b[axis] = a[axis];
    Box box{0, segment, std::move(author), false, plane, a, b};
    normalise(box);
    return insert(std::move(box));
}

BoxChange BoxList::add3D(Label segment, std::string author, Index3 a, Index3 b) {
    Box box{0, segment, std::move(author), true, SliceAxis::Axial, a, b};
    normalise(box);
    return insert(std::move(box));
}

Box& BoxList::get(std::uint32_t id) {
    auto it = std::find_if(boxes_.begin(), boxes_.end(), [&](const Box& b) { return b.id == id; });
    if (it == boxes_.end())
        throw BoxError("This box no longer exists.");
    return *it;
}

const Box* BoxList::find(std::uint32_t id) const {
    auto it = std::find_if(boxes_.begin(), boxes_.end(), [&](const Box& b) { return b.id == id; });
    return it == boxes_.end() ? nullptr : &*it;
}

BoxChange BoxList::move(std::uint32_t id, Index3 delta) {
    Box& box = get(id);
    BoxChange change{box, std::nullopt};
    for (int a = 0; a < 3; ++a) {
        const int lowest = -box.min[a];
        const int highest = dims_[a] - 1 - box.max[a];
        const int d = std::clamp(delta[a], lowest, std::max(lowest, highest));
        box.min[a] += d;
        box.max[a] += d;
    }
    change.after = box;
    return change;
}

BoxChange BoxList::resize(std::uint32_t id, BoxHandle handle, Index3 to) {
    Box& box = get(id);
    BoxChange change{box, std::nullopt};
    to = clamp(to);
    for (int a = 0; a < 3; ++a) {
        if (!box.threeD && a == int(box.plane))
            continue;
        if (handle[a] < 0)
            box.min[a] = to[a];
        if (handle[a] > 0)
            box.max[a] = to[a];
    }
    normalise(box);
    change.after = box;
    return change;
}

BoxChange BoxList::remove(std::uint32_t id) {
    auto it = std::find_if(boxes_.begin(), boxes_.end(), [&](const Box& b) { return b.id == id; });
    if (it == boxes_.end())
        throw BoxError("This box no longer exists.");
    BoxChange change{*it, std::nullopt};
    boxes_.erase(it);
    return change;
}

void BoxList::apply(const BoxChange& change, bool forward) {
    const auto& from = forward ? change.before : change.after;
    const auto& to = forward ? change.after : change.before;
    const std::uint32_t id = from ? from->id : to->id;
    auto it = std::find_if(boxes_.begin(), boxes_.end(), [&](const Box& b) { return b.id == id; });
    if (to) {
        if (it != boxes_.end()) {
            *it = *to;
        } else {
            boxes_.push_back(*to);
            std::sort(boxes_.begin(), boxes_.end(),
                      [](const Box& l, const Box& r) { return l.id < r.id; });
        }
        nextId_ = std::max(nextId_, to->id + 1);
    } else if (it != boxes_.end()) {
        boxes_.erase(it);
    }
}

void BoxList::replaceAll(std::vector<Box> boxes) {
    boxes_ = std::move(boxes);
    nextId_ = 1;
    for (const auto& b : boxes_)
        nextId_ = std::max(nextId_, b.id + 1);
}

} // namespace radmark::annotation
