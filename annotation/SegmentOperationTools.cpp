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
    std::string_view name() const override { return "remove-islands"; }
    bool apply() override {
        const auto minimum = std::size_t(settings().get("minimum_voxels"));
        return transformActiveSegment(
            {0, 0, 0}, [&](const RegionMask& m) { return removeIslands(m, minimum); },
            "Remove small islands");
    }
};

class KeepLargestTool final : public Tool {
  public:
    std::string_view name() const override { return "keep-largest"; }
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
    std::string_view name() const override {
        return kind_ == Smoothing::Opening   ? "smooth-opening"
               : kind_ == Smoothing::Closing ? "smooth-closing"
                                             : "smooth-median";
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
    std::string_view name() const override { return "hollow"; }
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
    std::string_view name() const override { return "margin"; }
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

} // namespace

std::unique_ptr<Tool> makeRemoveIslandsTool() {
    return std::make_unique<RemoveIslandsTool>();
}
std::unique_ptr<Tool> makeKeepLargestTool() {
    return std::make_unique<KeepLargestTool>();
}
std::unique_ptr<Tool> makeOpeningTool() {
    return std::make_unique<SmoothingTool>(Smoothing::Opening);
}
std::unique_ptr<Tool> makeClosingTool() {
    return std::make_unique<SmoothingTool>(Smoothing::Closing);
}
std::unique_ptr<Tool> makeMedianTool() {
    return std::make_unique<SmoothingTool>(Smoothing::Median);
}
std::unique_ptr<Tool> makeHollowTool() {
    return std::make_unique<HollowTool>();
}
std::unique_ptr<Tool> makeMarginTool() {
    return std::make_unique<MarginTool>();
}

} // namespace radmark::annotation
