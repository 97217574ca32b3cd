#include "bundle/NiftiHeader.h"

#include "bundle/Errors.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

namespace radmark::bundle {

namespace {

struct GzCloser {
    void operator()(gzFile_s* f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

GzFile openGz(const std::filesystem::path& file) {
    GzFile gz(gzopen(file.c_str(), "rb"));
    if (!gz)
        throw BundleError("cannot read " + file.string());
    gzbuffer(gz.get(), 1 << 17);
    return gz;
}

// Reads exactly size bytes; false at a short read.
bool readExactly(gzFile_s* gz, void* data, std::size_t size) {
    auto* out = static_cast<unsigned char*>(data);
    while (size > 0) {
        const unsigned chunk = unsigned(std::min<std::size_t>(size, 1u << 30));
        const int n = gzread(gz, out, chunk);
        if (n <= 0)
            return false;
        out += n;
        size -= std::size_t(n);
    }
    return true;
}

template <typename T> T fieldAt(const unsigned char* header, std::size_t offset, bool swap) {
    T value;
    unsigned char bytes[sizeof(T)];
    std::memcpy(bytes, header + offset, sizeof(T));
    if (swap)
        for (std::size_t i = 0; i < sizeof(T) / 2; ++i)
            std::swap(bytes[i], bytes[sizeof(T) - 1 - i]);
    std::memcpy(&value, bytes, sizeof(T));
    return value;
}

bool near(double a, double b) {
    return std::abs(a - b) <= 1e-5 * std::max({1.0, std::abs(a), std::abs(b)});
}

} // namespace

std::uint64_t NiftiHeader::voxelCount() const {
    std::uint64_t count = 1;
    for (std::int64_t i = 1; i <= dim[0] && i < 8; ++i)
        count *= std::uint64_t(std::max<std::int64_t>(dim[std::size_t(i)], 1));
    return count;
}

std::string NiftiHeader::shapeText() const {
    std::string text;
    for (std::int64_t i = 1; i <= dim[0] && i < 8; ++i)
        text += (i > 1 ? "x" : "") + std::to_string(dim[std::size_t(i)]);
    return text;
}

NiftiHeader readNiftiGzHeader(const std::filesystem::path& file) {
    GzFile gz = openGz(file);
    unsigned char raw[348];
    if (!readExactly(gz.get(), raw, sizeof raw))
        throw BundleError(file.string() + " is too short for a NIfTI header");
    NiftiHeader h;
    const std::int32_t size = fieldAt<std::int32_t>(raw, 0, false);
    if (size != 348) {
        if (fieldAt<std::int32_t>(raw, 0, true) != 348)
            throw BundleError(file.string() + " is not a NIfTI-1 file");
        h.swapped = true;
    }
    if (std::memcmp(raw + 344, "n+1\0", 4) != 0)
        throw BundleError(file.string() + " is not a single-file NIfTI-1 image (magic n+1)");
    const bool s = h.swapped;
    for (std::size_t i = 0; i < 8; ++i) {
        h.dim[i] = fieldAt<std::int16_t>(raw, 40 + 2 * i, s);
        h.pixdim[i] = fieldAt<float>(raw, 76 + 4 * i, s);
    }
    if (h.dim[0] < 1 || h.dim[0] > 7)
        throw BundleError(file.string() + " has a NIfTI header with " + std::to_string(h.dim[0]) +
                          " dimensions");
    h.datatype = fieldAt<std::int16_t>(raw, 70, s);
    h.bitpix = fieldAt<std::int16_t>(raw, 72, s);
    h.voxOffset = fieldAt<float>(raw, 108, s);
    h.sclSlope = fieldAt<float>(raw, 112, s);
    h.sclInter = fieldAt<float>(raw, 116, s);
    h.qformCode = fieldAt<std::int16_t>(raw, 252, s);
    h.sformCode = fieldAt<std::int16_t>(raw, 254, s);
    for (std::size_t i = 0; i < 3; ++i) {
        h.quatern[i] = fieldAt<float>(raw, 256 + 4 * i, s);
        h.qoffset[i] = fieldAt<float>(raw, 268 + 4 * i, s);
        for (std::size_t j = 0; j < 4; ++j)
            h.srow[i][j] = fieldAt<float>(raw, 280 + 16 * i + 4 * j, s);
    }
    return h;
}

std::string gridDifference(const NiftiHeader& a, const NiftiHeader& b) {
    auto spatialDims = [](const NiftiHeader& h) {
        std::array<std::int64_t, 3> d{1, 1, 1};
        for (std::size_t i = 0; i < 3 && std::int64_t(i) < h.dim[0]; ++i)
            d[i] = h.dim[i + 1];
        return d;
    };
    if (spatialDims(a) != spatialDims(b))
        return "shape " + a.shapeText() + " against " + b.shapeText();
    for (std::size_t i = 1; i <= 3; ++i)
        if (!near(a.pixdim[i], b.pixdim[i]))
            return "spacing " + std::to_string(a.pixdim[i]) + " against " +
                   std::to_string(b.pixdim[i]) + " on axis " + std::to_string(i);
    if (a.sformCode != b.sformCode || a.qformCode != b.qformCode)
        return "sform/qform codes " + std::to_string(a.sformCode) + "/" +
               std::to_string(a.qformCode) + " against " + std::to_string(b.sformCode) + "/" +
               std::to_string(b.qformCode);
    for (std::size_t i = 0; i < 3; ++i)
        for (std::size_t j = 0; j < 4; ++j)
            if (!near(a.srow[i][j], b.srow[i][j]))
                return "sform (affine) row " + std::to_string(i) + " differs";
    for (std::size_t i = 0; i < 3; ++i)
        if (!near(a.quatern[i], b.quatern[i]) || !near(a.qoffset[i], b.qoffset[i]))
            return "qform (orientation or origin) differs";
    if (!near(a.pixdim[0], b.pixdim[0]))
        return "qfac (pixdim[0]) differs";
    return {};
}

std::set<std::int64_t> niftiLabelValues(const std::filesystem::path& file,
                                        const NiftiHeader& header) {
    int bytesPerVoxel = 0;
    bool floating = false, isSigned = false;
    switch (header.datatype) {
    case 2:
        bytesPerVoxel = 1;
        break; // uint8
    case 256:
        bytesPerVoxel = 1;
        isSigned = true;
        break; // int8
    case 4:
        bytesPerVoxel = 2;
        isSigned = true;
        break; // int16
    case 512:
        bytesPerVoxel = 2;
        break; // uint16
    case 8:
        bytesPerVoxel = 4;
        isSigned = true;
        break; // int32
    case 768:
        bytesPerVoxel = 4;
        break; // uint32
    case 16:
        bytesPerVoxel = 4;
        floating = true;
        break; // float32
    case 64:
        bytesPerVoxel = 8;
        floating = true;
        break; // float64
    default:
        throw BundleError(file.string() + ": NIfTI datatype " + std::to_string(header.datatype) +
                          " is not a label type");
    }
    const bool scaled = header.sclSlope != 0 && (header.sclSlope != 1 || header.sclInter != 0);
    GzFile gz = openGz(file);
    const auto offset = std::int64_t(header.voxOffset);
    if (offset < 348 || gzseek(gz.get(), offset, SEEK_SET) != offset)
        throw BundleError(file.string() + ": the voxel data offset is wrong");
    std::uint64_t remaining = header.voxelCount();
    std::set<std::int64_t> values;
    std::vector<unsigned char> buffer(std::size_t(1) << 20);
    const bool swap = header.swapped && bytesPerVoxel > 1;
    // uint8 labels are the common case: a presence table instead of a set per voxel.
    std::array<bool, 256> seen{};
    while (remaining > 0) {
        const std::size_t count =
            std::size_t(std::min<std::uint64_t>(remaining, buffer.size() / bytesPerVoxel));
        if (!readExactly(gz.get(), buffer.data(), count * bytesPerVoxel))
            throw BundleError(file.string() + " is truncated (fewer voxels than its header says)");
        remaining -= count;
        if (bytesPerVoxel == 1 && !scaled) {
            for (std::size_t i = 0; i < count; ++i)
                seen[buffer[i]] = true;
            continue;
        }
        for (std::size_t i = 0; i < count; ++i) {
            unsigned char* v = buffer.data() + i * bytesPerVoxel;
            if (swap)
                std::reverse(v, v + bytesPerVoxel);
            double value = 0;
            if (floating && bytesPerVoxel == 4) {
                float f;
                std::memcpy(&f, v, 4);
                value = f;
            } else if (floating) {
                std::memcpy(&value, v, 8);
            } else if (bytesPerVoxel == 1)
                value = isSigned ? double(std::int8_t(v[0])) : double(v[0]);
            else if (bytesPerVoxel == 2) {
                std::uint16_t u;
                std::memcpy(&u, v, 2);
                value = isSigned ? double(std::int16_t(u)) : double(u);
            } else {
                std::uint32_t u;
                std::memcpy(&u, v, 4);
                value = isSigned ? double(std::int32_t(u)) : double(u);
            }
            if (scaled)
                value = value * header.sclSlope + header.sclInter;
            if (value != std::floor(value) || !std::isfinite(value))
                throw BundleError(file.string() + " holds a value that is not an integer label (" +
                                  std::to_string(value) + ")");
            values.insert(std::int64_t(value));
        }
    }
    for (std::size_t v = 0; v < seen.size(); ++v)
        if (seen[v])
            values.insert(header.datatype == 256 ? std::int64_t(std::int8_t(v)) : std::int64_t(v));
    return values;
}

} // namespace radmark::bundle
