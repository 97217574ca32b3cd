#pragma once
// Transfer functions for the 3D view as data: CT bone, CT soft tissue (in HU) and MR (in
// fractions of the volume's 99th intensity percentile, since MR has no fixed scale). No Qt, no VTK.

#include <string>
#include <vector>

namespace radmark::viewer {

struct VolumeRenderingPreset {
    struct OpacityPoint {
        double value;
        double opacity;
    };
    struct ColourPoint {
        double value;
        double red, green, blue;
    };
    std::string name;
    bool relativeToPercentile = false; // values are fractions of the 99th percentile
    std::vector<OpacityPoint> opacity;
    std::vector<ColourPoint> colour;
    double ambient = 0.2, diffuse = 0.8, specular = 0.2;
};

const std::vector<VolumeRenderingPreset>& volumeRenderingPresets(); // CT bone, CT soft tissue, MR
const VolumeRenderingPreset* findVolumeRenderingPreset(const std::string& name);

} // namespace radmark::viewer
