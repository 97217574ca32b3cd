#pragma once
// Small generated volumes and label maps for the annotation tests (no patient data).

#include "annotation/LabelMap.h"
#include "annotation/Segment.h"
#include "annotation/Tool.h"
#include "imaging/Volume.h"

#include <functional>

namespace radmark::annotation::test {

inline imaging::Geometry grid(Index3 dims, imaging::Vec3 spacing = {1, 1, 1}) {
    imaging::Geometry g;
    g.dims = dims;
    g.spacing = spacing;
    return g;
}

// An int16 image whose value at each voxel is f(x, y, z).
inline imaging::Volume image(const imaging::Geometry& g,
                             const std::function<int(int, int, int)>& f) {
    imaging::Volume v(g, imaging::PixelType::Int16);
    auto* p = v.as<std::int16_t>();
    for (int z = 0; z < g.dims[2]; ++z)
        for (int y = 0; y < g.dims[1]; ++y)
            for (int x = 0; x < g.dims[0]; ++x)
                *p++ = std::int16_t(f(x, y, z));
    return v;
}

// Every voxel's label compared with what `expected` says it should be; returns mismatches.
inline std::size_t mismatches(const LabelMap& labels,
                              const std::function<Label(int, int, int)>& expected) {
    std::size_t wrong = 0;
    const auto& d = labels.geometry().dims;
    for (int z = 0; z < d[2]; ++z)
        for (int y = 0; y < d[1]; ++y)
            for (int x = 0; x < d[0]; ++x)
                if (labels.at(Index3{x, y, z}) != expected(x, y, z))
                    ++wrong;
    return wrong;
}

inline void fillBox(LabelMap& labels, Index3 lo, Index3 hi, Label value) {
    for (int z = lo[2]; z <= hi[2]; ++z)
        for (int y = lo[1]; y <= hi[1]; ++y)
            for (int x = lo[0]; x <= hi[0]; ++x)
                labels.set(Index3{x, y, z}, value);
}

inline bool inBox(int x, int y, int z, Index3 lo, Index3 hi) {
    return x >= lo[0] && y >= lo[1] && z >= lo[2] && x <= hi[0] && y <= hi[1] && z <= hi[2];
}

struct Editor {
    LabelMap labels;
    SegmentList segments;
    explicit Editor(const imaging::Geometry& g) : labels(g) {
        segments.add("Liver", {220, 130, 100});
        segments.add("Lesion", {255, 80, 80});
    }
    std::unique_ptr<Tool> tool(std::string_view name, Label active = 1,
                               const imaging::Volume* img = nullptr) {
        auto t = createTool(name);
        t->activate(ToolContext{&labels, &segments, img, active});
        return t;
    }
};

inline void click(Tool& tool, Index3 voxel, SliceAxis plane = SliceAxis::Axial) {
    tool.handle({PointerPhase::Press, voxel, plane});
    tool.handle({PointerPhase::Release, voxel, plane});
}

} // namespace radmark::annotation::test
