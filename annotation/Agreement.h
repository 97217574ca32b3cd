#pragma once
// How far two annotations of the same image agree: per-segment overlap (Dice, Jaccard, volumes)
// and surface distances in millimetres (Hausdorff, HD95, ASSD, surface Dice), segments matched by
// terminology code or name, and boxes matched one to one by 3D IoU. Every number comes with the
// definition it was computed by (agreementDefinitions()), because the tools in the field disagree.
//
// All work happens inside the bounding box of the two masks (plus one voxel of padding), so a
// comparison on a 512x512x500 grid costs memory and time in proportion to the segments, not to
// the grid: 5 bytes per voxel of that box (a byte of flags and a float distance map).

#include "annotation/Box.h"
#include "annotation/LabelMap.h"
#include "annotation/Segment.h"

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace radmark::annotation {

// Two label maps that cannot be compared (different grids, a sheared grid): the message says
// which difference, in words a reader of the report understands.
struct AgreementError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

inline constexpr double kNoDistance = std::numeric_limits<double>::infinity();

struct OverlapMeasures {
    std::uint64_t voxelsReference = 0, voxelsCompared = 0, voxelsBoth = 0;
    double dice = 1, jaccard = 1;
    double volumeReferenceMl = 0, volumeComparedMl = 0;
    double volumeDifferenceMl = 0;      // compared - reference
    double volumeDifferencePercent = 0; // 100 (compared - reference) / reference; +inf when the
                                        // reference is empty and the compared side is not
    bool bothEmpty = true;
    bool oneEmpty = false;
};

struct SurfaceDistances {
    std::uint64_t boundaryVoxelsReference = 0, boundaryVoxelsCompared = 0;
    // +inf (kNoDistance) when one side is empty, 0 when both are.
    double hausdorffMm = 0;
    double hd95Mm = 0;
    double assdMm = 0;
    double toleranceMm = 1;
    double surfaceDice = 1;
    bool bothEmpty = true;
    bool oneEmpty = false;
};

struct SegmentAgreement {
    Label referenceLabel = 0; // 0 when the segment is missing on that side
    Label comparedLabel = 0;
    std::string name;
    OverlapMeasures overlap;
    SurfaceDistances distances;
    bool bothEmpty() const { return overlap.bothEmpty; }
    bool oneEmpty() const { return overlap.oneEmpty; }
};

// Throws AgreementError unless both maps lie on the same grid (size, spacing, origin, direction).
void requireSameGrid(const imaging::Geometry& reference, const imaging::Geometry& compared);
// The first difference between two grids in words ("different voxel spacing: ..."), or "" when
// they are the same grid.
std::string gridDifference(const imaging::Geometry& a, const imaging::Geometry& b);

// Where a label occurs (inclusive voxel box; empty when nowhere, and for label 0). Reads a 1-byte
// map at memory speed (memchr over slices and rows), unlike LabelMap::boundsOf's voxel loop.
VoxelRegion findLabelBounds(const LabelMap& labels, Label label);
// Where any label > 0 occurs.
VoxelRegion findLabelledBounds(const LabelMap& labels);

// Dice, Jaccard and volumes of `referenceLabel` in `reference` against `comparedLabel` in
// `compared`. Label 0 stands for "segment missing on this side" and counts as empty.
OverlapMeasures measureOverlap(const LabelMap& reference, Label referenceLabel,
                               const LabelMap& compared, Label comparedLabel);

// Boundary-voxel distances in mm, from the spacing and an orthonormal direction (a rotation
// keeps lengths, so index-space distances weighted by the spacing are world distances). A sheared
// direction is refused with AgreementError rather than measured wrongly.
SurfaceDistances measureSurfaceDistances(const LabelMap& reference, Label referenceLabel,
                                         const LabelMap& compared, Label comparedLabel,
                                         double toleranceMm = 1.0);

// Both of the above from one scan of the two maps.
SegmentAgreement compareSegment(const LabelMap& reference, Label referenceLabel,
                                const LabelMap& compared, Label comparedLabel,
                                double toleranceMm = 1.0);

// Segments of two versions paired up. Pass 1 pairs segments with the same terminology type code
// (scheme and code) and the same name (case-insensitive); pass 2 the same code alone; pass 3 the
// same name, only between segments of which at least one has no code (two different codes are
// two different structures, whatever their names). Each pass goes in label order and takes the
// lowest unpaired label on the compared side.
struct SegmentPair {
    Label reference = 0, compared = 0;
    std::string name; // the reference segment's name
    bool byCode = false;
};
struct SegmentMatching {
    std::vector<SegmentPair> pairs;
    std::vector<Label> onlyInReference, onlyInCompared;
};
SegmentMatching matchSegments(const SegmentList& reference, const SegmentList& compared);

// 3D IoU of two boxes, as voxel sets (inclusive corners as Box stores them; a 2D box is one slice
// thick). Voxels of one grid all have the same volume, so this is also the IoU in mm^3.
double boxIou(const Box& a, const Box& b);

// Boxes paired one to one greedily: the pair with the highest IoU first, then the next among the
// unpaired, until no pair with IoU > 0 is left (ties: lower reference id, then lower compared id).
// Only boxes of paired segments are compared when a matching is given.
struct BoxPair {
    std::uint32_t reference = 0, compared = 0;
    double iou = 0;
};
struct BoxMatching {
    std::vector<BoxPair> pairs;
    std::vector<std::uint32_t> onlyInReference, onlyInCompared;
};
BoxMatching matchBoxes(const std::vector<Box>& reference, const std::vector<Box>& compared);
BoxMatching matchBoxes(const std::vector<Box>& reference, const std::vector<Box>& compared,
                       const SegmentMatching& segments);

// Everything the review table, the CLI and a decision record show for two versions.
struct AgreementReport {
    double toleranceMm = 1;
    SegmentMatching matching;
    std::vector<SegmentAgreement> segments; // paired first, then each side's unpaired segments
    BoxMatching boxes;
};
AgreementReport compareAnnotations(const LabelMap& referenceLabels,
                                   const SegmentList& referenceSegments,
                                   const std::vector<Box>& referenceBoxes,
                                   const LabelMap& comparedLabels,
                                   const SegmentList& comparedSegments,
                                   const std::vector<Box>& comparedBoxes, double toleranceMm = 1.0);

// JSON text of a report: each metric with its unit, infinities as null with the reason
// ("one side empty"), and the definitions below.
std::string agreementJson(const AgreementReport& report);

struct MetricDefinition {
    std::string_view key;  // as in the JSON
    std::string_view unit; // "", "mm", "mL", "%"
    std::string_view definition;
};
// The definitions every report and the README print, in table order.
const std::vector<MetricDefinition>& agreementDefinitions();

} // namespace radmark::annotation
