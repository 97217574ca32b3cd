#include "viewer/SegmentSurfaces.h"

#include <vtkFlyingEdges3D.h>
#include <vtkImageData.h>
#include <vtkImageGaussianSmooth.h>
#include <vtkPolyData.h>

#include <algorithm>
#include <cstring>

namespace radmark::viewer {

using annotation::Label;
using annotation::LabelMap;
using annotation::VoxelRegion;

namespace {

constexpr unsigned char inside = 255;
// Two voxels of zeros around the box: the smoothed mask fades out before the image edge, so
// every surface is closed, also where the segment touches its bounding box.
constexpr int padding = 2;
// Slightly below half way: after smoothing a single isolated voxel still peaks above it.
constexpr double isoValue = 0.45 * inside;

// The mask of `label` inside `bounds` as 0/255 in `mask` (already sized and zeroed, with
// `padding` voxels around the box); returns a fingerprint of the mask's content.
std::uint64_t fillMask(const LabelMap& labels, Label label, const VoxelRegion& bounds,
                       vtkImageData* mask) {
    int dims[3];
    mask->GetDimensions(dims);
    auto* out = static_cast<unsigned char*>(mask->GetScalarPointer());
    const bool bytes = labels.width() == annotation::LabelWidth::UInt8;
    std::uint64_t fingerprint = 1469598103934665603ull;
    for (int z = bounds.min[2]; z <= bounds.max[2]; ++z) {
        for (int y = bounds.min[1]; y <= bounds.max[1]; ++y) {
            const std::size_t from = labels.index(bounds.min[0], y, z);
            unsigned char* row =
                out + (std::size_t(z - bounds.min[2] + padding) * std::size_t(dims[1]) +
                       std::size_t(y - bounds.min[1] + padding)) *
                          std::size_t(dims[0]) +
                      padding;
            const int width = bounds.max[0] - bounds.min[0] + 1;
            std::uint64_t rowBits = 0;
            for (int x = 0; x < width; ++x) {
                const Label value = bytes ? Label(labels.data()[from + std::size_t(x)])
                                          : labels.at(from + std::size_t(x));
                const bool set = value == label;
                row[x] = set ? inside : 0;
                rowBits = rowBits * 31 + (set ? std::uint64_t(x) + 1 : 0);
            }
            fingerprint = (fingerprint ^ rowBits) * 1099511628211ull;
        }
    }
    return fingerprint;
}

vtkSmartPointer<vtkImageData> emptyMask(const LabelMap& labels, const VoxelRegion& bounds) {
    const imaging::Geometry& g = labels.geometry();
    auto mask = vtkSmartPointer<vtkImageData>::New();
    mask->SetDimensions(bounds.max[0] - bounds.min[0] + 1 + 2 * padding,
                        bounds.max[1] - bounds.min[1] + 1 + 2 * padding,
                        bounds.max[2] - bounds.min[2] + 1 + 2 * padding);
    mask->SetSpacing(g.spacing[0], g.spacing[1], g.spacing[2]);
    mask->SetOrigin((bounds.min[0] - padding) * g.spacing[0],
                    (bounds.min[1] - padding) * g.spacing[1],
                    (bounds.min[2] - padding) * g.spacing[2]);
    mask->AllocateScalars(VTK_UNSIGNED_CHAR, 1);
    auto* p = static_cast<unsigned char*>(mask->GetScalarPointer());
    std::fill(p, p + mask->GetNumberOfPoints(), 0);
    return mask;
}

vtkSmartPointer<vtkPolyData> surfaceOfMask(vtkImageData* mask, double smoothingVoxels) {
    auto contour = vtkSmartPointer<vtkFlyingEdges3D>::New();
    vtkSmartPointer<vtkImageGaussianSmooth> smooth;
    if (smoothingVoxels > 0) {
        smooth = vtkSmartPointer<vtkImageGaussianSmooth>::New();
        smooth->SetInputData(mask);
        smooth->SetDimensionality(3);
        smooth->SetStandardDeviations(smoothingVoxels, smoothingVoxels, smoothingVoxels);
        smooth->SetRadiusFactors(2, 2, 2);
        contour->SetInputConnection(smooth->GetOutputPort());
    } else {
        contour->SetInputData(mask);
    }
    contour->SetValue(0, isoValue);
    contour->ComputeNormalsOn(); // from the gradient: smooth shading without a smoothing pass
    contour->ComputeGradientsOff();
    contour->ComputeScalarsOff();
    contour->Update();
    auto surface = vtkSmartPointer<vtkPolyData>::New();
    surface->ShallowCopy(contour->GetOutput());
    return surface;
}

} // namespace

std::map<Label, VoxelRegion> segmentBounds(const LabelMap& labels) {
    std::vector<VoxelRegion> found(std::size_t(labels.maxLabel()) + 1);
    const auto& dims = labels.geometry().dims;
    const bool bytes = labels.width() == annotation::LabelWidth::UInt8;
    const auto valueAt = [&](std::size_t i) {
        return bytes ? Label(labels.data()[i]) : labels.at(i);
    };
    // Unlabelled bytes are skipped eight at a time: most of an organ's slices is background.
    const std::size_t stride = bytes ? sizeof(std::uint64_t) : sizeof(std::uint64_t) / 2;
    for (int z = 0; z < dims[2]; ++z) {
        if (labels.chunkIsEmpty(z))
            continue;
        for (int y = 0; y < dims[1]; ++y) {
            const std::size_t row = labels.index(0, y, z);
            const std::uint8_t* rowBytes = labels.data() + row * std::size_t(labels.width());
            for (int x = 0; x < dims[0];) {
                std::uint64_t word = 1;
                if (std::size_t(x) + stride <= std::size_t(dims[0]))
                    std::memcpy(&word, rowBytes + std::size_t(x) * std::size_t(labels.width()),
                                sizeof word);
                if (word == 0) {
                    x += int(stride);
                    continue;
                }
                const Label value = valueAt(row + std::size_t(x));
                if (value == 0) {
                    ++x;
                    continue;
                }
                // A run of one label costs one update of its box.
                int last = x;
                while (last + 1 < dims[0] && valueAt(row + std::size_t(last) + 1) == value)
                    ++last;
                found[value].include(imaging::Index3{x, y, z});
                found[value].include(imaging::Index3{last, y, z});
                x = last + 1;
            }
        }
    }
    std::map<Label, VoxelRegion> bounds;
    for (std::size_t label = 1; label < found.size(); ++label)
        if (!found[label].empty())
            bounds.emplace(Label(label), found[label]);
    return bounds;
}

vtkSmartPointer<vtkPolyData> extractSegmentSurface(const LabelMap& labels, Label label,
                                                   const VoxelRegion& bounds,
                                                   double smoothingVoxels) {
    if (bounds.empty())
        return nullptr;
    auto mask = emptyMask(labels, bounds);
    fillMask(labels, label, bounds, mask);
    return surfaceOfMask(mask, smoothingVoxels);
}

SegmentSurfaces::SegmentSurfaces(double smoothingVoxels) : smoothingVoxels_(smoothingVoxels) {}

std::vector<SurfaceJob> SegmentSurfaces::changes(const LabelMap& labels,
                                                 const std::vector<Label>& wanted,
                                                 std::vector<Label>& emptied) {
    std::vector<SurfaceJob> jobs;
    if (wanted.empty())
        return jobs;
    const auto bounds = segmentBounds(labels);
    for (Label label : wanted) {
        const auto where = bounds.find(label);
        if (where == bounds.end()) { // no voxels (any more)
            if (entries_.erase(label))
                emptied.push_back(label);
            continue;
        }
        SurfaceJob job{label, emptyMask(labels, where->second), where->second, 0,
                       smoothingVoxels_};
        job.fingerprint = fillMask(labels, label, where->second, job.mask);
        const auto known = entries_.find(label);
        if (known != entries_.end() && known->second.mesh &&
            known->second.fingerprint == job.fingerprint &&
            known->second.bounds.min == job.bounds.min && known->second.bounds.max == job.bounds.max)
            continue;
        jobs.push_back(std::move(job));
    }
    return jobs;
}

vtkSmartPointer<vtkPolyData> meshSurface(const SurfaceJob& job) {
    return surfaceOfMask(job.mask, job.smoothingVoxels);
}

void SegmentSurfaces::store(const SurfaceJob& job, vtkSmartPointer<vtkPolyData> mesh) {
    entries_[job.label] = {std::move(mesh), job.bounds, job.fingerprint};
}

std::vector<Label> SegmentSurfaces::update(const LabelMap& labels,
                                           const std::vector<Label>& wanted) {
    std::vector<Label> extracted;
    for (const SurfaceJob& job : changes(labels, wanted, extracted)) {
        store(job, meshSurface(job));
        extracted.push_back(job.label);
    }
    return extracted;
}

vtkPolyData* SegmentSurfaces::surfaceOf(Label label) const {
    const auto where = entries_.find(label);
    return where == entries_.end() ? nullptr : where->second.mesh.Get();
}

void SegmentSurfaces::forget(Label label) {
    entries_.erase(label);
}

void SegmentSurfaces::clear() {
    entries_.clear();
}

} // namespace radmark::viewer
