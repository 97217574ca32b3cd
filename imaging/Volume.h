#pragma once
// A 3D image in patient (LPS) space: geometry plus one contiguous voxel buffer.
// Views and filters wrap the buffer without copying (vtkImageData external array,
// itk::ImportImageFilter), so a Volume must outlive whatever wraps it.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

namespace radmark::imaging {

enum class PixelType { UInt8, Int16, UInt16, Int32, Float32 };

std::size_t bytesPerVoxel(PixelType type);
const char* pixelTypeName(PixelType type);

using Vec3 = std::array<double, 3>;
using Index3 = std::array<int, 3>;

// Voxel grid in LPS. direction is row-major: column c is the LPS unit vector of index axis c
// (x = columns, y = rows, z = slices), so lps = origin + direction * (index .* spacing).
struct Geometry {
    Index3 dims{0, 0, 0};
    Vec3 spacing{1, 1, 1};
    Vec3 origin{0, 0, 0};
    std::array<double, 9> direction{1, 0, 0, 0, 1, 0, 0, 0, 1};

    std::size_t voxelCount() const {
        return std::size_t(dims[0]) * std::size_t(dims[1]) * std::size_t(dims[2]);
    }
    Vec3 indexToLps(const Vec3& index) const;
    Vec3 lpsToIndex(const Vec3& lps) const;
    bool contains(const Index3& i) const {
        return i[0] >= 0 && i[1] >= 0 && i[2] >= 0 && i[0] < dims[0] && i[1] < dims[1] &&
               i[2] < dims[2];
    }
    bool sameGridAs(const Geometry& other, double tolerance = 1e-4) const;
};

class Volume {
  public:
    Volume() = default;
    Volume(const Geometry& geometry, PixelType type); // zero-filled
    // For readers that write every voxel: skips zero-filling a buffer about to be overwritten.
    static Volume uninitialized(const Geometry& geometry, PixelType type);
    // Wraps a buffer someone else filled (the isolated decoder's shared memory) without copying
    // it; buffer must hold geometry.voxelCount() voxels of type and its deleter releases it.
    static Volume adopt(const Geometry& geometry, PixelType type,
                        std::shared_ptr<std::byte[]> buffer);

    // Where large voxel buffers come from (null: the heap, on huge pages). The isolated decoder
    // sets one so that a decoded volume already lies in shared memory it hands to its parent
    // without a copy. The source returns zero-filled memory of at least `bytes`.
    using BufferSource = std::shared_ptr<std::byte[]> (*)(std::size_t bytes);
    static void setLargeBufferSource(BufferSource source);

    const Geometry& geometry() const { return geometry_; }
    Geometry& geometry() { return geometry_; }
    PixelType pixelType() const { return type_; }

    std::byte* data() { return buffer_.get(); }
    const std::byte* data() const { return buffer_.get(); }
    template <class T> T* as() { return reinterpret_cast<T*>(buffer_.get()); }
    template <class T> const T* as() const { return reinterpret_cast<const T*>(buffer_.get()); }

    std::size_t voxelCount() const { return geometry_.voxelCount(); }
    std::size_t byteCount() const { return voxelCount() * bytesPerVoxel(type_); }
    std::size_t offset(int x, int y, int z) const {
        return (std::size_t(z) * geometry_.dims[1] + y) * geometry_.dims[0] + x;
    }
    bool empty() const { return voxelCount() == 0 || !buffer_; }

    double valueAt(int x, int y, int z) const;     // as a double (HU for CT)
    std::pair<double, double> scalarRange() const; // computed once, then cached
    void invalidateScalarRange() { rangeKnown_ = false; }

    // What a reader knows of the study; de-identified before anything is stored.
    std::string modality;          // "CT", "MR", ... (empty when unknown)
    std::string seriesDescription; // free text from the source
    std::string sourceFormat;      // "DICOM", "NIfTI", "NRRD", "MetaImage"

  private:
    void allocate(bool zeroed);
    Geometry geometry_;
    PixelType type_ = PixelType::Int16;
    std::shared_ptr<std::byte[]> buffer_;
    mutable bool rangeKnown_ = false;
    mutable std::pair<double, double> range_{0, 0};
};

// Calls f with the volume's buffer as a typed pointer: dispatchPixel(v, [](auto* p) {...}).
template <class F> decltype(auto) dispatchPixel(PixelType type, std::byte* data, F&& f) {
    switch (type) {
    case PixelType::UInt8:
        return f(reinterpret_cast<std::uint8_t*>(data));
    case PixelType::Int16:
        return f(reinterpret_cast<std::int16_t*>(data));
    case PixelType::UInt16:
        return f(reinterpret_cast<std::uint16_t*>(data));
    case PixelType::Int32:
        return f(reinterpret_cast<std::int32_t*>(data));
    case PixelType::Float32:
        return f(reinterpret_cast<float*>(data));
    }
    return f(reinterpret_cast<std::int16_t*>(data));
}

} // namespace radmark::imaging
