#pragma once
// Binary-mask geometry behind the segment-wide tools: exact Euclidean distance maps in mm (so
// anisotropic voxels are honoured), grow/shrink, opening/closing, median, hollow, connected
// components and slice interpolation. They work on a padded box around one segment, never on a
// copy of the whole volume.

#include "annotation/LabelMap.h"
#include "annotation/Stroke.h"

#include <vector>

namespace radmark::annotation {

struct RegionMask {
    Index3 origin{0, 0, 0}; // voxel index of the box's first voxel in the label map
    Index3 dims{0, 0, 0};
    imaging::Vec3 spacing{1, 1, 1};
    std::vector<std::uint8_t> voxels; // 0 or 1, x fastest

    std::size_t size() const { return voxels.size(); }
    std::size_t index(int x, int y, int z) const {
        return (std::size_t(z) * std::size_t(dims[1]) + std::size_t(y)) * std::size_t(dims[0]) +
               std::size_t(x);
    }
    std::size_t count() const;
};

// The box `region` grown by `pad` voxels per axis, kept inside the volume.
VoxelRegion padRegion(const VoxelRegion& region, const Index3& pad, const Index3& dims);
// Padding that lets an operation reaching `mm` see the background beyond it: the voxels needed
// on each axis to reach `mm` with this spacing, plus one.
Index3 voxelsForDistance(double mm, const imaging::Vec3& spacing);

RegionMask extractMask(const LabelMap& labels, Label label, const VoxelRegion& region);
// Writes `after` over `before` (same box) through the stroke: voxels leaving the mask are erased
// from `label`, voxels entering it are painted, both under the stroke's lock rules.
void applyMaskChange(Stroke& stroke, const RegionMask& before, const RegionMask& after,
                     Label label);

// Squared distance in mm^2 from each voxel to the nearest voxel whose value equals `target`
// (0 on such voxels); +infinity when there is none. Exact (separable parabola envelope).
std::vector<float> squaredDistanceMap(const RegionMask& mask, std::uint8_t target);

RegionMask grow(const RegionMask& mask, double mm);   // voxels within mm of the mask
RegionMask shrink(const RegionMask& mask, double mm); // voxels further than mm from outside
RegionMask opening(const RegionMask& mask, double mm);
RegionMask closing(const RegionMask& mask, double mm);
// Majority vote in a (2r+1)^3 box (r in voxels per axis; 0 keeps that axis out).
RegionMask median(const RegionMask& mask, const Index3& radius);
// The outer shell: mask voxels within `thicknessMm` of the outside (centre to centre).
RegionMask hollow(const RegionMask& mask, double thicknessMm);

// 6-connected components: component id per voxel (0 = background) and voxel count per id
// (sizes[0] unused).
std::vector<std::uint32_t> connectedComponents(const RegionMask& mask,
                                               std::vector<std::size_t>& sizes);
RegionMask removeIslands(const RegionMask& mask, std::size_t minimumVoxels);
RegionMask keepLargestComponent(const RegionMask& mask);

// Interpolates two parallel slices (same dims, one of them 1) at t in [0,1] through their
// signed distance maps; t = 0 gives `a`, t = 1 gives `b`.
RegionMask interpolateSlices(const RegionMask& a, const RegionMask& b, double t);

} // namespace radmark::annotation
