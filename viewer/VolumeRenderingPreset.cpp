#include "viewer/VolumeRenderingPreset.h"

namespace radmark::viewer {

const std::vector<VolumeRenderingPreset>& volumeRenderingPresets() {
    static const std::vector<VolumeRenderingPreset> presets{
        {"CT bone",
         false,
         {{-1000, 0}, {150, 0}, {300, 0.15}, {700, 0.6}, {3000, 0.85}},
         {{-1000, 0.3, 0.3, 1.0},
          {150, 0.55, 0.25, 0.15},
          {300, 0.88, 0.6, 0.29},
          {700, 1.0, 0.94, 0.85},
          {3000, 1.0, 1.0, 1.0}},
         0.2,
         0.9,
         0.3},
        {"CT soft tissue",
         false,
         {{-1000, 0}, {-500, 0}, {-100, 0.05}, {40, 0.25}, {300, 0.45}, {3000, 0.8}},
         {{-1000, 0, 0, 0},
          {-500, 0.55, 0.25, 0.15},
          {-100, 0.8, 0.5, 0.4},
          {40, 0.9, 0.45, 0.4},
          {300, 1.0, 0.9, 0.8},
          {3000, 1.0, 1.0, 1.0}},
         0.2,
         0.8,
         0.15},
        {"MR",
         true,
         {{0, 0}, {0.12, 0}, {0.35, 0.08}, {0.7, 0.35}, {1.2, 0.7}},
         {{0, 0, 0, 0}, {0.2, 0.55, 0.45, 0.4}, {0.6, 0.85, 0.8, 0.75}, {1.2, 1, 1, 1}},
         0.25,
         0.8,
         0.1},
    };
    return presets;
}

const VolumeRenderingPreset* findVolumeRenderingPreset(const std::string& name) {
    for (const auto& preset : volumeRenderingPresets())
        if (preset.name == name)
            return &preset;
    return nullptr;
}

} // namespace radmark::viewer
