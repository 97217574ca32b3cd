#pragma once
// Boxes for dataset export: one JSON per case with each box in voxel indices and in world mm,
// LPS (DICOM) and RAS (NIfTI) both named; and MONAI's detection data list, where `box` is
// cccwhd (centre x, y, z, then width, height, depth) in RAS world mm, as MONAI's LUNA16 example
// reads it next to NIfTI images (affine_lps_to_ras false), with `label` beside it.

#include "annotation/Box.h"
#include "annotation/Segment.h"
#include "imaging/Volume.h"

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace radmark::annotation {

// A box whose segment the caller did not map: the message names box and segment.
struct BoxExportError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// What a box's segment is in the dataset.
struct BoxClass {
    int datasetValue = 0;   // the dataset's integer for the segment (its label table)
    int detectionClass = 0; // MONAI's class index: detectors count classes from 0 (LUNA16: 0)
    std::string name;
    std::optional<CodedConcept> type;
};
using BoxClasses = std::map<Label, BoxClass>; // by the box's segment label

// A box's world extent: the axis-aligned bounds of its voxels' full extent (voxel edges, index
// min - 1/2 to max + 1/2 on each axis; a 2D box is one voxel thick), in mm.
struct WorldBox {
    imaging::Vec3 min{0, 0, 0};
    imaging::Vec3 max{0, 0, 0};
    imaging::Vec3 centre() const;
    imaging::Vec3 size() const;
};
WorldBox lpsExtent(const Box& box, const imaging::Geometry& geometry);
WorldBox rasExtent(const Box& box, const imaging::Geometry& geometry);

// {"case", "coordinates" (what each system means), "image" (dims, spacing, LPS origin and
// direction, RAS affine), "boxes": [{"id", "label" (dataset value), "name", "code", "author",
// "kind", "voxel": {"min", "max"}, "lps": {"min", "max", "centre", "size"}, "ras": {...}}]}.
// Boxes in id order; mm rounded to 1e-6. Throws BoxExportError.
std::string caseBoxesJson(std::string_view caseId, const std::vector<Box>& boxes,
                          const imaging::Geometry& geometry, const BoxClasses& classes);

struct DetectionCase {
    std::string image; // the path MONAI loads, relative to its data folder
    const imaging::Geometry* geometry = nullptr;
    std::vector<Box> boxes;
};

// MONAI's data list: {"<split>": [{"image", "box": [[cx, cy, cz, w, h, d], ...], "label": [...]}]}
// with splits in the order given (e.g. "training", "validation"). Throws BoxExportError.
std::string
monaiDetectionJson(const std::vector<std::pair<std::string, std::vector<DetectionCase>>>& splits,
                   const BoxClasses& classes);

} // namespace radmark::annotation
