#pragma once
// Window/level (contrast) as data: the CT presets radiologists expect, a default for MR taken
// from the volume's intensity percentiles, and the right-drag adjustment. No Qt, no VTK.

#include "imaging/Volume.h"

#include <string>
#include <vector>

namespace radmark::viewer {

struct WindowLevel {
    double window = 400; // width of the displayed intensity range (> 0)
    double level = 40;   // its centre

    double low() const { return level - window / 2; }
    double high() const { return level + window / 2; }
    // A right-drag by (dx, dy) screen pixels: right widens the window, down raises the level.
    // `unitsPerPixel` scales pixels to intensities (e.g. the volume's range / 512).
    WindowLevel dragged(double dx, double dy, double unitsPerPixel) const;
};

struct WindowLevelPreset {
    std::string name;     // "Brain", ...
    std::string shortcut; // a key sequence, e.g. "1"
    WindowLevel value;
};

// Brain, lung, bone, abdomen, mediastinum (HU).
const std::vector<WindowLevelPreset>& ctWindowPresets();

// The value in [0, 1]-quantile `q` of the volume's voxels (sampled on large volumes).
double intensityPercentile(const imaging::Volume& volume, double q);

// What a volume opens with: the soft-tissue/abdomen window for CT, the 0.5-99.5 percentile
// range for everything else (MR intensities have no fixed scale).
WindowLevel defaultWindowLevel(const imaging::Volume& volume);

} // namespace radmark::viewer
