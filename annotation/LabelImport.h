#pragma once
// Pre-labels from a model or another tool: an integer mask volume (read by imaging, e.g. NIfTI)
// becomes a label map on the study's grid, with segment definitions from a small JSON list.
// Used by `radmark-cli annotations import`; the workstation has no mask import yet.

#include "annotation/LabelMap.h"
#include "annotation/Segment.h"
#include "imaging/DicomSeg.h"

#include <string_view>

namespace radmark::annotation {

// The mask cannot become this study's annotation; the message says why.
struct ImportError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Puts the mask's voxels on the study's grid: the same grid, or one holding the same voxels in
// another order (axes flipped or permuted, as dcm2niix writes a plain axial CT), within a small
// tolerance; any other grid is refused with the difference named. Every value must be a whole
// number in 0..65535; picks 8- or 16-bit labels as needed.
LabelMap labelMapFromVolume(const imaging::Volume& mask, const imaging::Geometry& studyGrid);

// A DICOM Segmentation (Radmark's export or another tool's) on the study's grid: each frame is
// placed voxel for voxel wherever it lies (frames in any order, axes flipped or swapped), each
// segment number becomes that label, and the segments keep their names, colours and codes.
// Refused with the reason: frames off the study's voxels, or segments that overlap (a label map
// holds one label a voxel).
struct ImportedSegmentation {
    LabelMap labels;
    SegmentList segments;
};
ImportedSegmentation labelMapFromSegmentation(const imaging::DicomSegmentation& segmentation,
                                              const imaging::Geometry& studyGrid);

// Segments for the labels present. `definitions` is a JSON list such as
//   [{"label": 1, "name": "Liver", "code": "10200004", "colour": "#dd8265"}]
// ("code" from the bundled terminology, "name" and "colour" optional when a code is given).
// Labels present but not defined get "Segment N"; definitions of absent labels are kept.
SegmentList segmentsForImport(std::string_view definitions,
                              const std::map<Label, std::uint64_t>& present);

} // namespace radmark::annotation
