// Region growing from a clicked seed: every voxel 6-connected to the seed whose intensity lies in
// [lower, upper] joins the active segment (voxels of locked segments are left alone). Changing
// the range afterwards regrows from the same seed inside the same undo record, so the
// radiologist can tune it while watching. Our own scanline flood fill: one bit per voxel of
// bookkeeping, no image copy.

#include "annotation/Tool.h"

#include <cstring>

namespace radmark::annotation {
namespace {

class RegionGrowTool final : public Tool {
  public:
    RegionGrowTool() {
        settings().declare("lower", "Lowest intensity", -100000, -100000, 100000);
        settings().declare("upper", "Highest intensity", 100000, -100000, 100000);
    }

    void activate(const ToolContext& context) override {
        Tool::activate(context);
        if (!context.image || !context.image->geometry().sameGridAs(context.labels->geometry())) {
            throw ToolError("Region growing needs the image the annotation belongs to.");
        }
        seed_.reset();
    }

    bool handle(const PointerEvent& event) override {
        if (event.phase != PointerPhase::Press)
            return false;
        if (!context().labels->contains(event.voxel))
            return false;
        if (strokeOpen())
            finishStroke("Region grow");
        seed_ = event.voxel;
        grow();
        return true;
    }

    std::size_t lastGrownVoxels() const { return grown_; }

  private:
    void settingChanged(const ToolSetting&) override {
        if (seed_ && strokeOpen()) {
            stroke().revert();
            grow();
        }
    }

    void grow() {
        const ToolContext& c = context();
        Stroke& s = stroke();
        const imaging::Volume& image = *c.image;
        const double lower = settings().get("lower"), upper = settings().get("upper");
        grown_ = 0;
        imaging::dispatchPixel(image.pixelType(), const_cast<std::byte*>(image.data()),
                               [&](auto* voxels) { flood(voxels, lower, upper, s); });
    }

    template <class T> void flood(const T* voxels, double lower, double upper, Stroke& s) {
        const Label label = context().activeSegment;
        const Index3 d = context().labels->geometry().dims;
        const std::size_t nx = std::size_t(d[0]), nxy = nx * std::size_t(d[1]);
        std::vector<std::uint64_t> visited((std::size_t(d[0]) * d[1] * d[2] + 63) / 64, 0);
        auto seen = [&](std::size_t i) { return (visited[i >> 6] >> (i & 63)) & 1; };
        auto inRange = [&](std::size_t i) {
            const double v = double(voxels[i]);
            return v >= lower && v <= upper;
        };
        const std::size_t seedIndex = context().labels->index(*seed_);
        if (!inRange(seedIndex))
            return;
        std::vector<Index3> pending{*seed_};
        while (!pending.empty()) {
            const Index3 p = pending.back();
            pending.pop_back();
            const std::size_t row = std::size_t(p[2]) * nxy + std::size_t(p[1]) * nx;
            if (seen(row + std::size_t(p[0])) || !inRange(row + std::size_t(p[0])))
                continue;
            // Extend the run along x as far as it stays in range.
            int x0 = p[0], x1 = p[0];
            while (x0 > 0 && !seen(row + std::size_t(x0 - 1)) && inRange(row + std::size_t(x0 - 1)))
                --x0;
            while (x1 + 1 < d[0] && !seen(row + std::size_t(x1 + 1)) &&
                   inRange(row + std::size_t(x1 + 1)))
                ++x1;
            for (int x = x0; x <= x1; ++x) {
                const std::size_t i = row + std::size_t(x);
                visited[i >> 6] |= std::uint64_t(1) << (i & 63);
                s.write({x, p[1], p[2]}, label);
            }
            grown_ += std::size_t(x1 - x0 + 1);
            // Queue one seed per in-range run in the four neighbouring rows.
            const int neighbours[4][2] = {{0, -1}, {0, 1}, {-1, 0}, {1, 0}};
            for (const auto& n : neighbours) {
                const int y = p[1] + n[1], z = p[2] + n[0];
                if (y < 0 || y >= d[1] || z < 0 || z >= d[2])
                    continue;
                const std::size_t other = std::size_t(z) * nxy + std::size_t(y) * nx;
                bool inRun = false;
                for (int x = x0; x <= x1; ++x) {
                    const std::size_t i = other + std::size_t(x);
                    const bool open = !seen(i) && inRange(i);
                    if (open && !inRun)
                        pending.push_back({x, y, z});
                    inRun = open;
                }
            }
        }
    }

    std::optional<Index3> seed_;
    std::size_t grown_ = 0;
};

} // namespace

ToolRegistration regionGrowTool() {
    ToolDescription d;
    d.name = "region-grow";
    d.title = "Region grow";
    d.kind = ToolKind::Pointer;
    d.hint = "Click a voxel inside the structure. Changing the range regrows from the same voxel.";
    d.key = "G";
    d.intensityRange = true;
    d.regrowsFromSeed = true;
    return {std::move(d), [] { return std::make_unique<RegionGrowTool>(); }};
}

} // namespace radmark::annotation
