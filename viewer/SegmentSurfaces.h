#pragma once
// Surface meshes of segments for the 3D view. Each segment's surface is extracted (flying edges
// on a lightly smoothed mask) only inside its bounding box, and only again when the voxels in
// that box changed, so an edit re-meshes one organ, never the whole label map.

#include "annotation/LabelMap.h"

#include <vtkSmartPointer.h>

#include <cstdint>
#include <map>
#include <vector>

class vtkImageData;
class vtkPolyData;

namespace radmark::viewer {

// The bounding box of every label > 0 present, in one pass that skips empty slices.
std::map<annotation::Label, annotation::VoxelRegion>
segmentBounds(const annotation::LabelMap& labels);

// The surface of `label` inside `bounds` (its bounding box), in voxel index space scaled by the
// spacing (the frame the 3D view places with the volume's direction and origin).
// `smoothingVoxels` is the Gaussian standard deviation in voxels (0: the plain voxel surface);
// at 0.5 a structure one voxel thick is kept.
vtkSmartPointer<vtkPolyData> extractSegmentSurface(const annotation::LabelMap& labels,
                                                   annotation::Label label,
                                                   const annotation::VoxelRegion& bounds,
                                                   double smoothingVoxels = 0.5);

// A segment whose voxels changed since its surface was made: its mask, ready to be meshed on
// any thread (it holds no reference to the label map).
struct SurfaceJob {
    annotation::Label label = 0;
    vtkSmartPointer<vtkImageData> mask;
    annotation::VoxelRegion bounds;
    std::uint64_t fingerprint = 0;
    double smoothingVoxels = 0;
};
vtkSmartPointer<vtkPolyData> meshSurface(const SurfaceJob& job);

class SegmentSurfaces {
  public:
    explicit SegmentSurfaces(double smoothingVoxels = 0.5);

    // Brings the surfaces of `wanted` up to date with `labels`; surfaces of other labels are
    // kept as they are (hidden segments keep theirs until shown again). Returns the labels whose
    // surface was extracted again.
    std::vector<annotation::Label> update(const annotation::LabelMap& labels,
                                          const std::vector<annotation::Label>& wanted);

    // The same in steps, so the meshing can run off the GUI thread: `changes` reads the label
    // map and forgets the surfaces of wanted segments left without voxels (listed in
    // `emptied`); each job is meshed with meshSurface anywhere; `store` keeps the result.
    std::vector<SurfaceJob> changes(const annotation::LabelMap& labels,
                                    const std::vector<annotation::Label>& wanted,
                                    std::vector<annotation::Label>& emptied);
    void store(const SurfaceJob& job, vtkSmartPointer<vtkPolyData> mesh);

    // Null when the segment has no voxels (or was never updated).
    vtkPolyData* surfaceOf(annotation::Label label) const;
    void forget(annotation::Label label);
    void clear();

  private:
    struct Entry {
        vtkSmartPointer<vtkPolyData> mesh;
        annotation::VoxelRegion bounds;
        std::uint64_t fingerprint = 0; // of the segment's voxels inside bounds
    };
    double smoothingVoxels_;
    std::map<annotation::Label, Entry> entries_;
};

} // namespace radmark::viewer
