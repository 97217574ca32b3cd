// Whole-segment operations on the active segment: remove small islands, keep the largest
// component, smoothing (opening, closing, median), hollow and margin. Each runs on a box around
// the segment padded by the reach of the operation, and is one undo record.

#include "annotation/Tool.h"

#include <cmath>

namespace radmark::annotation {
namespace {

class RemoveIslandsTool final : public Tool {
  public:
    RemoveIslandsTool() {
        settings().declare("minimum_voxels", "Remove pieces smaller than (voxels)", 100, 1, 1e9);
    }
    bool apply() override {
        const auto minimum = std::size_t(settings().get("minimum_voxels"));
        return transformActiveSegment(
            {0, 0, 0}, [&](const RegionMask& m) { return removeIslands(m, minimum); },
            "Remove small islands");
    }
};

class KeepLargestTool final : public Tool {
  public:
    bool apply() override {
        return transformActiveSegment({0, 0, 0}, keepLargestComponent, "Keep largest piece");
    }
};

enum class Smoothing { Opening, Closing, Median };

class SmoothingTool final : public Tool {
  public:
    explicit SmoothingTool(Smoothing kind) : kind_(kind) {
        settings().declare("radius_mm", "Smoothing radius (mm)", 1, 0.1, 50);
    }
    bool apply() override {
        const double r = settings().get("radius_mm");
        const auto& spacing = context().labels->geometry().spacing;
        Index3 reach{};
        for (int a = 0; a < 3; ++a)
            reach[a] = int(std::floor(r / spacing[a] + 1e-9));
        switch (kind_) {
        case Smoothing::Opening:
            return transformActiveSegment(
                voxelsForDistance(r, spacing), [&](const RegionMask& m) { return opening(m, r); },
                "Smoothing (opening)");
        case Smoothing::Closing:
            return transformActiveSegment(
                voxelsForDistance(r, spacing), [&](const RegionMask& m) { return closing(m, r); },
                "Smoothing (closing)");
        case Smoothing::Median:
            return transformActiveSegment(
                voxelsForDistance(r, spacing),
                [&](const RegionMask& m) { return median(m, reach); }, "Smoothing (median)");
        }
        return false;
    }

  private:
    Smoothing kind_;
};

class HollowTool final : public Tool {
  public:
    HollowTool() { settings().declare("thickness_mm", "Shell thickness (mm)", 1, 0.01, 100); }
    bool apply() override {
        const double t = settings().get("thickness_mm");
        return transformActiveSegment(
            {1, 1, 1}, [&](const RegionMask& m) { return hollow(m, t); }, "Hollow");
    }
};

class MarginTool final : public Tool {
  public:
    MarginTool() {
        settings().declare("distance_mm", "Grow by (mm; negative shrinks)", 2, -100, 100);
    }
    bool apply() override {
        const double mm = settings().get("distance_mm");
        const auto& spacing = context().labels->geometry().spacing;
        if (mm >= 0) {
            return transformActiveSegment(
                voxelsForDistance(mm, spacing), [&](const RegionMask& m) { return grow(m, mm); },
                "Grow margin");
        }
        return transformActiveSegment(
            {1, 1, 1}, [&](const RegionMask& m) { return shrink(m, -mm); }, "Shrink margin");
    }
};

// Set up in the Tools panel, then Apply; none of them has a key.
ToolRegistration wholeSegmentTool(std::string name, std::string title,
                                  std::function<std::unique_ptr<Tool>()> create) {
    ToolDescription d;
    d.name = std::move(name);
    d.title = std::move(title);
    d.kind = ToolKind::WholeSegment;
    d.hint = "Works on the whole active segment: press Apply (Ctrl+Z undoes).";
    return {std::move(d), std::move(create)};
}

} // namespace

ToolRegistration removeIslandsTool() {
    return wholeSegmentTool("remove-islands", "Remove small islands",
                            [] { return std::make_unique<RemoveIslandsTool>(); });
}
ToolRegistration keepLargestTool() {
    return wholeSegmentTool("keep-largest", "Keep largest piece",
                            [] { return std::make_unique<KeepLargestTool>(); });
}
ToolRegistration openingTool() {
    return wholeSegmentTool("smooth-opening", "Smooth (opening)",
                            [] { return std::make_unique<SmoothingTool>(Smoothing::Opening); });
}
ToolRegistration closingTool() {
    return wholeSegmentTool("smooth-closing", "Smooth (closing)",
                            [] { return std::make_unique<SmoothingTool>(Smoothing::Closing); });
}
ToolRegistration medianTool() {
    return wholeSegmentTool("smooth-median", "Smooth (median)",
                            [] { return std::make_unique<SmoothingTool>(Smoothing::Median); });
}
ToolRegistration hollowTool() {
    return wholeSegmentTool("hollow", "Hollow", [] { return std::make_unique<HollowTool>(); });
}
ToolRegistration marginTool() {
    return wholeSegmentTool("margin", "Margin (grow or shrink)",
                            [] { return std::make_unique<MarginTool>(); });
}

} // namespace radmark::annotation
