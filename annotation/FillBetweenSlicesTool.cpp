// Fill between slices: the radiologist outlines the active segment on some slices of one
// orientation; every slice between two annotated ones is filled with the shape interpolated
// through the signed distance maps of its two neighbours (ITK 5.2 in Debian has no
// morphological contour interpolation). Only unlabelled voxels are filled, so neighbouring
// segments are never overwritten.

#include "annotation/Tool.h"

namespace radmark::annotation {
namespace {

class FillBetweenSlicesTool final : public Tool {
  public:
    FillBetweenSlicesTool() {
        settings().declare("axis", "Slices of (0 sagittal, 1 coronal, 2 axial)", 2, 0, 2);
    }

    bool apply() override {
        const ToolContext& c = context();
        const LabelMap& labels = *c.labels;
        const Label label = c.activeSegment;
        const int axis = int(settings().get("axis") + 0.5);
        const VoxelRegion bounds = labels.boundsOf(label);
        if (bounds.empty())
            return false;

        // Which slices along the axis hold the segment.
        std::vector<int> annotated;
        for (int k = bounds.min[axis]; k <= bounds.max[axis]; ++k) {
            if (extractSlice(labels, label, bounds, axis, k).count() > 0)
                annotated.push_back(k);
        }
        Stroke& s = stroke();
        bool filledAny = false;
        for (std::size_t n = 1; n < annotated.size(); ++n) {
            const int a = annotated[n - 1], b = annotated[n];
            if (b - a < 2)
                continue;
            const RegionMask first = extractSlice(labels, label, bounds, axis, a);
            const RegionMask last = extractSlice(labels, label, bounds, axis, b);
            for (int k = a + 1; k < b; ++k) {
                const RegionMask shape = interpolateSlices(first, last, double(k - a) / (b - a));
                std::size_t i = 0;
                for (int z = 0; z < shape.dims[2]; ++z) {
                    for (int y = 0; y < shape.dims[1]; ++y) {
                        for (int x = 0; x < shape.dims[0]; ++x, ++i) {
                            if (!shape.voxels[i])
                                continue;
                            Index3 p{shape.origin[0] + x, shape.origin[1] + y, shape.origin[2] + z};
                            p[axis] = k;
                            if (labels.at(p) == 0)
                                filledAny |= s.write(p, label);
                        }
                    }
                }
            }
        }
        finishStroke("Fill between slices");
        return filledAny;
    }

  private:
    // The segment on slice k of `axis`, over the in-plane bounds padded by 2 voxels so every
    // shape has outside around it for its distance map.
    static RegionMask extractSlice(const LabelMap& labels, Label label, const VoxelRegion& bounds,
                                   int axis, int k) {
        Index3 pad{2, 2, 2};
        pad[axis] = 0;
        VoxelRegion box = padRegion(bounds, pad, labels.geometry().dims);
        box.min[axis] = box.max[axis] = k;
        return extractMask(labels, label, box);
    }
};

} // namespace

ToolRegistration fillBetweenSlicesTool() {
    ToolDescription d;
    d.name = "fill-between-slices";
    d.title = "Fill between slices";
    d.kind = ToolKind::WholeSegment;
    d.hint = "Works on the whole active segment: press Apply (Ctrl+Z undoes).";
    d.key = "Ctrl+Shift+F"; // applies at once, so the brush stays chosen between slices
    d.needsOnSegment = "on two slices with unpainted slices between them";
    return {std::move(d), [] { return std::make_unique<FillBetweenSlicesTool>(); }};
}

} // namespace radmark::annotation
