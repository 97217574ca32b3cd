#pragma once
// Generated volumes for viewer tests and benchmarks (no patient data): a CT-like body with a
// bright marker at a known patient position, so tests can check where things appear on screen.

#include "imaging/Volume.h"

namespace radmark::testing {

struct SyntheticCt {
    imaging::Volume volume;
    imaging::Vec3
        markerIndex; // centre of a 1000 HU sphere in the patient's left, anterior, superior part
};

// int16 HU: air -1000, an elliptic body of 40 HU, the marker sphere of 1000 HU.
// `direction` is the grid's LPS direction (row-major, as in imaging::Geometry).
SyntheticCt makeSyntheticCt(imaging::Index3 dims, imaging::Vec3 spacing,
                            std::array<double, 9> direction = {1, 0, 0, 0, 1, 0, 0, 0, 1});

} // namespace radmark::testing
