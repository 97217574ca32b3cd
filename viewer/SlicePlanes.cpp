#include "viewer/SlicePlanes.h"

#include <cmath>

namespace radmark::viewer {

const char* viewPlaneName(ViewPlane plane) {
    switch (plane) {
    case ViewPlane::Axial:
        return "Axial";
    case ViewPlane::Coronal:
        return "Coronal";
    case ViewPlane::Sagittal:
        return "Sagittal";
    }
    return "";
}

AnatomicalAxes AnatomicalAxes::of(const imaging::Geometry& geometry) {
    const auto& m = geometry.direction; // column c = LPS vector of index axis c
    AnatomicalAxes axes;
    std::array<bool, 3> indexTaken{false, false, false};
    std::array<bool, 3> patientTaken{false, false, false};
    // Greedy by largest |cosine| so that each patient axis gets a distinct index axis even on
    // strongly oblique grids.
    for (int round = 0; round < 3; ++round) {
        int bestRow = -1, bestCol = -1;
        double best = -1;
        for (int row = 0; row < 3; ++row) {
            if (patientTaken[row])
                continue;
            for (int col = 0; col < 3; ++col) {
                if (indexTaken[col])
                    continue;
                const double c = std::abs(m[row * 3 + col]);
                if (c > best) {
                    best = c;
                    bestRow = row;
                    bestCol = col;
                }
            }
        }
        patientTaken[bestRow] = indexTaken[bestCol] = true;
        axes.indexAxis[bestRow] = bestCol;
        axes.sign[bestRow] = m[bestRow * 3 + bestCol] < 0 ? -1 : 1;
    }
    return axes;
}

std::array<double, 9> AnatomicalAxes::snappedDirection() const {
    std::array<double, 9> m{};
    for (int patient = 0; patient < 3; ++patient)
        m[patient * 3 + indexAxis[patient]] = sign[patient];
    return m;
}

PlaneLayout layoutOf(ViewPlane plane, const AnatomicalAxes& axes) {
    PlaneLayout layout;
    int normalPatient = 2, rightPatient = 0, upPatient = 1;
    switch (plane) {
    case ViewPlane::Axial: // seen from the feet: right = L, up = A, into screen = S
        normalPatient = 2, rightPatient = 0, upPatient = 1;
        layout.screenRight = {1, 0, 0};
        layout.screenUp = {0, -1, 0};
        layout.intoScreen = {0, 0, 1};
        layout.left = 'R', layout.right = 'L', layout.top = 'A', layout.bottom = 'P';
        layout.stepSign = axes.sign[2];
        break;
    case ViewPlane::Coronal: // seen from the front: right = L, up = S, into screen = P
        normalPatient = 1, rightPatient = 0, upPatient = 2;
        layout.screenRight = {1, 0, 0};
        layout.screenUp = {0, 0, 1};
        layout.intoScreen = {0, 1, 0};
        layout.left = 'R', layout.right = 'L', layout.top = 'S', layout.bottom = 'I';
        layout.stepSign = -axes.sign[1]; // positive step = toward anterior
        break;
    case ViewPlane::Sagittal: // seen from the left: right = P, up = S, into screen = R
        normalPatient = 0, rightPatient = 1, upPatient = 2;
        layout.screenRight = {0, 1, 0};
        layout.screenUp = {0, 0, 1};
        layout.intoScreen = {-1, 0, 0};
        layout.left = 'A', layout.right = 'P', layout.top = 'S', layout.bottom = 'I';
        layout.stepSign = axes.sign[0];
        break;
    }
    layout.normalAxis = axes.indexAxis[normalPatient];
    layout.rightAxis = axes.indexAxis[rightPatient];
    layout.upAxis = axes.indexAxis[upPatient];
    return layout;
}

} // namespace radmark::viewer
