#pragma once
// How the three slice views (axial, coronal, sagittal) lie on a voxel grid: which index axis
// each view cuts across and which index axes run to the right of and up the screen, in the
// radiological convention (patient's right on the screen's left; anterior up in axial views;
// face to the left in sagittal views). An oblique grid is shown along its nearest patient
// axes, as ITK-SNAP does. No Qt, no VTK.

#include "imaging/Volume.h"

#include <array>

namespace radmark::viewer {

enum class ViewPlane { Axial = 0, Coronal = 1, Sagittal = 2 };
inline constexpr std::array<ViewPlane, 3> allViewPlanes{ViewPlane::Axial, ViewPlane::Coronal,
                                                        ViewPlane::Sagittal};
const char* viewPlaneName(ViewPlane plane); // "Axial", ...

// For each patient axis (0 = L, 1 = P, 2 = S): the index axis nearest to it, and +1 when the
// index grows toward L / P / S, -1 when it grows toward R / A / I.
struct AnatomicalAxes {
    std::array<int, 3> indexAxis{0, 1, 2};
    std::array<int, 3> sign{1, 1, 1};

    static AnatomicalAxes of(const imaging::Geometry& geometry);
    // The grid's direction snapped to the nearest patient axes: column c is the signed LPS unit
    // vector of index axis c (row-major like Geometry::direction).
    std::array<double, 9> snappedDirection() const;
};

// A view's axes in index space. "Toward" signs say in which direction the index grows on screen.
struct PlaneLayout {
    int normalAxis = 2; // index axis the view cuts across (its slice number)
    int rightAxis = 0;  // index axis along screen x
    int upAxis = 1;     // index axis along screen y
    // The patient directions, as LPS unit vectors, that point to the screen's right, up, and
    // from the viewer into the screen.
    imaging::Vec3 screenRight{1, 0, 0};
    imaging::Vec3 screenUp{0, -1, 0};
    imaging::Vec3 intoScreen{0, 0, 1};
    // Orientation letters at the screen's left, right, top and bottom edges.
    char left = 'R', right = 'L', top = 'A', bottom = 'P';
    // +1 when a positive slice step (toward S, A or L) increases the normal index.
    int stepSign = 1;
};

PlaneLayout layoutOf(ViewPlane plane, const AnatomicalAxes& axes);

} // namespace radmark::viewer
