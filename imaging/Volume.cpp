#include "imaging/Volume.h"

#include <sys/mman.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>
#include <utility>

namespace radmark::imaging {

std::size_t bytesPerVoxel(PixelType type) {
    switch (type) {
    case PixelType::UInt8:
        return 1;
    case PixelType::Int16:
    case PixelType::UInt16:
        return 2;
    case PixelType::Int32:
    case PixelType::Float32:
        return 4;
    }
    return 2;
}

const char* pixelTypeName(PixelType type) {
    switch (type) {
    case PixelType::UInt8:
        return "uint8";
    case PixelType::Int16:
        return "int16";
    case PixelType::UInt16:
        return "uint16";
    case PixelType::Int32:
        return "int32";
    case PixelType::Float32:
        return "float32";
    }
    return "?";
}

Vec3 Geometry::indexToLps(const Vec3& index) const {
    Vec3 out = origin;
    for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 3; ++c)
            out[r] += direction[r * 3 + c] * index[c] * spacing[c];
    return out;
}

Vec3 Geometry::lpsToIndex(const Vec3& lps) const {
    // direction is orthonormal: its inverse is its transpose.
    Vec3 d{lps[0] - origin[0], lps[1] - origin[1], lps[2] - origin[2]};
    Vec3 out{0, 0, 0};
    for (int c = 0; c < 3; ++c) {
        double s = 0;
        for (int r = 0; r < 3; ++r)
            s += direction[r * 3 + c] * d[r];
        out[c] = s / spacing[c];
    }
    return out;
}

bool Geometry::sameGridAs(const Geometry& o, double tol) const {
    if (dims != o.dims)
        return false;
    for (int i = 0; i < 3; ++i)
        if (std::abs(spacing[i] - o.spacing[i]) > tol || std::abs(origin[i] - o.origin[i]) > tol)
            return false;
    for (int i = 0; i < 9; ++i)
        if (std::abs(direction[i] - o.direction[i]) > tol)
            return false;
    return true;
}

Volume::Volume(const Geometry& geometry, PixelType type) : geometry_(geometry), type_(type) {
    allocate(true);
}

Volume Volume::uninitialized(const Geometry& geometry, PixelType type) {
    Volume v;
    v.geometry_ = geometry;
    v.type_ = type;
    v.allocate(false);
    return v;
}

Volume Volume::adopt(const Geometry& geometry, PixelType type,
                     std::shared_ptr<std::byte[]> buffer) {
    if (!buffer)
        throw std::invalid_argument("an adopted volume needs a buffer");
    Volume v;
    v.geometry_ = geometry;
    v.type_ = type;
    v.buffer_ = std::move(buffer);
    return v;
}

namespace {
Volume::BufferSource largeBufferSource = nullptr;
}

void Volume::setLargeBufferSource(BufferSource source) {
    largeBufferSource = source;
}

void Volume::allocate(bool zeroed) {
    for (int d : geometry_.dims)
        if (d <= 0)
            throw std::invalid_argument("volume dimensions must be positive");
    const std::size_t bytes = byteCount();
    // Large volumes on 2 MiB pages: a 250 MB CT otherwise takes 64 000 page faults to fill,
    // which costs more than reading its files from the page cache.
    constexpr std::size_t hugePage = std::size_t(2) << 20;
    if (bytes >= 2 * hugePage && largeBufferSource) {
        buffer_ = largeBufferSource(bytes);
        if (!buffer_)
            throw std::bad_alloc();
        return;
    }
    if (bytes >= 2 * hugePage) {
        const std::size_t rounded = (bytes + hugePage - 1) / hugePage * hugePage;
        void* memory = std::aligned_alloc(hugePage, rounded);
        if (!memory)
            throw std::bad_alloc();
        ::madvise(memory, rounded, MADV_HUGEPAGE);
        if (zeroed)
            std::memset(memory, 0, bytes);
        buffer_ = std::shared_ptr<std::byte[]>(static_cast<std::byte*>(memory),
                                               [](std::byte* p) { std::free(p); });
        return;
    }
    buffer_ = zeroed ? std::shared_ptr<std::byte[]>(new std::byte[bytes]())
                     : std::shared_ptr<std::byte[]>(new std::byte[bytes]);
}

double Volume::valueAt(int x, int y, int z) const {
    const std::size_t i = offset(x, y, z);
    return dispatchPixel(type_, const_cast<std::byte*>(data()),
                         [i](auto* p) { return static_cast<double>(p[i]); });
}

std::pair<double, double> Volume::scalarRange() const {
    if (rangeKnown_ || empty())
        return range_;
    range_ = dispatchPixel(type_, const_cast<std::byte*>(data()), [n = voxelCount()](auto* p) {
        auto [lo, hi] = std::minmax_element(p, p + n);
        return std::pair<double, double>(double(*lo), double(*hi));
    });
    rangeKnown_ = true;
    return range_;
}

} // namespace radmark::imaging
