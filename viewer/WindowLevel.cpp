#include "viewer/WindowLevel.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace radmark::viewer {

WindowLevel WindowLevel::dragged(double dx, double dy, double unitsPerPixel) const {
    WindowLevel result = *this;
    result.window = std::max(1e-3, window + dx * unitsPerPixel);
    result.level = level + dy * unitsPerPixel;
    return result;
}

const std::vector<WindowLevelPreset>& ctWindowPresets() {
    static const std::vector<WindowLevelPreset> presets{
        {"Brain", "1", {80, 40}},    {"Lung", "2", {1500, -600}},     {"Bone", "3", {1800, 400}},
        {"Abdomen", "4", {400, 50}}, {"Mediastinum", "5", {350, 40}},
    };
    return presets;
}

double intensityPercentile(const imaging::Volume& volume, double q) {
    if (volume.empty())
        return 0;
    // A strided sample of about a million voxels is plenty for display contrast.
    const std::size_t count = volume.voxelCount();
    const std::size_t stride = std::max<std::size_t>(1, count / 1'000'000);
    std::vector<float> sample;
    sample.reserve(count / stride + 1);
    imaging::dispatchPixel(volume.pixelType(), const_cast<std::byte*>(volume.data()), [&](auto* p) {
        for (std::size_t i = 0; i < count; i += stride)
            sample.push_back(float(p[i]));
    });
    q = std::clamp(q, 0.0, 1.0);
    const auto nth = sample.begin() + std::ptrdiff_t(std::llround(q * double(sample.size() - 1)));
    std::nth_element(sample.begin(), nth, sample.end());
    return *nth;
}

WindowLevel defaultWindowLevel(const imaging::Volume& volume) {
    if (volume.modality == "CT")
        return ctWindowPresets()[3].value; // abdomen: a soft-tissue window that suits most CT
    const double low = intensityPercentile(volume, 0.005);
    const double high = intensityPercentile(volume, 0.995);
    if (!(high > low)) {
        const auto [min, max] = volume.scalarRange();
        return {std::max(max - min, 1.0), (max + min) / 2};
    }
    return {high - low, (high + low) / 2};
}

} // namespace radmark::viewer
