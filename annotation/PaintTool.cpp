// Paint, erase and threshold paint: a 2D disc in the slice plane of the view or a 3D sphere,
// sized in mm on the volume's (possibly anisotropic) spacing. A drag stamps along the line
// between pointer positions so fast strokes leave no gaps; one drag is one undo record.

#include "annotation/Tool.h"

#include <cmath>

namespace radmark::annotation {
namespace {

enum class PaintMode { Paint, Erase, Threshold };

class PaintTool final : public Tool {
  public:
    explicit PaintTool(PaintMode mode) : mode_(mode) {
        settings().declare("radius_mm", "Brush radius (mm)", 5, 0.1, 100);
        settings().declare("sphere", "3D sphere instead of a disc in the slice", 0, 0, 1);
        if (mode == PaintMode::Threshold) {
            settings().declare("lower", "Paint only from intensity", -100, -100000, 100000);
            settings().declare("upper", "Paint only up to intensity", 300, -100000, 100000);
        }
    }

    void activate(const ToolContext& context) override {
        Tool::activate(context);
        if (mode_ == PaintMode::Threshold &&
            (!context.image || !context.image->geometry().sameGridAs(context.labels->geometry()))) {
            throw ToolError("Threshold paint needs the image the annotation belongs to.");
        }
        stampPlane_.reset();
    }

    bool handle(const PointerEvent& event) override {
        if (!context().labels->contains(event.voxel))
            return false;
        switch (event.phase) {
        case PointerPhase::Press:
            if (strokeOpen())
                finishStroke(description());
            stroke(); // opens (and checks the lock) before anything is painted
            stampAt(event.voxel, event.plane);
            last_ = event.voxel;
            return true;
        case PointerPhase::Drag:
            if (!strokeOpen() || !last_)
                return false;
            stampAlong(*last_, event.voxel, event.plane);
            last_ = event.voxel;
            return true;
        case PointerPhase::Release:
            if (!strokeOpen())
                return false;
            if (last_ && *last_ != event.voxel)
                stampAlong(*last_, event.voxel, event.plane);
            last_.reset();
            finishStroke(description());
            return true;
        }
        return false;
    }

  private:
    std::string description() const {
        return mode_ == PaintMode::Erase   ? "Erase"
               : mode_ == PaintMode::Paint ? "Paint"
                                           : "Threshold paint";
    }

    void settingChanged(const ToolSetting&) override { stampPlane_.reset(); }

    // Offsets of the voxels a stamp covers, cached until the size, shape or plane changes.
    const std::vector<Index3>& stampOffsets(SliceAxis plane) {
        const bool sphere = settings().get("sphere") >= 0.5;
        if (stampPlane_ && (sphere || *stampPlane_ == plane))
            return offsets_;
        offsets_.clear();
        const double r = settings().get("radius_mm");
        const auto& spacing = context().labels->geometry().spacing;
        Index3 extent{};
        for (int a = 0; a < 3; ++a)
            extent[a] = int(std::floor(r / spacing[a]));
        if (!sphere)
            extent[int(plane)] = 0;
        for (int dz = -extent[2]; dz <= extent[2]; ++dz) {
            for (int dy = -extent[1]; dy <= extent[1]; ++dy) {
                for (int dx = -extent[0]; dx <= extent[0]; ++dx) {
                    const double x = dx * spacing[0], y = dy * spacing[1], z = dz * spacing[2];
                    if (x * x + y * y + z * z <= r * r * (1 + 1e-9))
                        offsets_.push_back({dx, dy, dz});
                }
            }
        }
        stampPlane_ = plane;
        return offsets_;
    }

    void stampAt(const Index3& centre, SliceAxis plane) {
        const ToolContext& c = context();
        Stroke& s = stroke();
        const LabelMap& labels = *c.labels;
        const bool threshold = mode_ == PaintMode::Threshold;
        const double lower = threshold ? settings().get("lower") : 0;
        const double upper = threshold ? settings().get("upper") : 0;
        for (const Index3& o : stampOffsets(plane)) {
            const Index3 p{centre[0] + o[0], centre[1] + o[1], centre[2] + o[2]};
            if (!labels.contains(p))
                continue;
            if (mode_ == PaintMode::Erase) {
                s.erase(p, c.activeSegment);
                continue;
            }
            if (threshold) {
                const double v = c.image->valueAt(p[0], p[1], p[2]);
                if (v < lower || v > upper)
                    continue;
            }
            s.write(p, c.activeSegment);
        }
    }

    void stampAlong(const Index3& from, const Index3& to, SliceAxis plane) {
        int steps = 0;
        for (int a = 0; a < 3; ++a)
            steps = std::max(steps, std::abs(to[a] - from[a]));
        for (int k = 1; k <= steps; ++k) {
            const double t = double(k) / steps;
            Index3 p{};
            for (int a = 0; a < 3; ++a)
                p[a] = int(std::lround(from[a] + t * (to[a] - from[a])));
            stampAt(p, plane);
        }
    }

    PaintMode mode_;
    std::optional<Index3> last_;
    std::optional<SliceAxis> stampPlane_;
    std::vector<Index3> offsets_;
};

// The brushes share their hint: the keys that change radius and shape work for each of them.
ToolDescription brush(std::string name, std::string title, std::string key) {
    ToolDescription d;
    d.name = std::move(name);
    d.title = std::move(title);
    d.kind = ToolKind::Pointer;
    d.hint = "Drag in a slice view. [ and ] change the radius, Shift+S switches between disc and "
             "sphere.";
    d.key = std::move(key);
    d.brush = true;
    return d;
}

} // namespace

ToolRegistration paintTool() {
    return {brush("paint", "Paint", "B"),
            [] { return std::make_unique<PaintTool>(PaintMode::Paint); }};
}
ToolRegistration eraseTool() {
    return {brush("erase", "Erase", "E"),
            [] { return std::make_unique<PaintTool>(PaintMode::Erase); }};
}
ToolRegistration thresholdPaintTool() {
    ToolDescription d = brush("threshold-paint", "Threshold paint", "T");
    d.intensityRange = true;
    return {std::move(d), [] { return std::make_unique<PaintTool>(PaintMode::Threshold); }};
}

} // namespace radmark::annotation
