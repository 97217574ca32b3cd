#include "imaging/ItkImageReader.h"

#include <itkImageIOBase.h>
#include <itkMetaImageIO.h>
#include <itkNiftiImageIO.h>
#include <itkNrrdImageIO.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <vector>

namespace radmark::imaging::itkio {
namespace {

namespace fs = std::filesystem;

std::string lowerName(const fs::path& file) {
    std::string name = file.filename().string();
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    return name;
}

bool endsWith(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

itk::ImageIOBase::Pointer ioFor(const fs::path& file) {
    const std::string format = formatOf(file);
    if (format == "NIfTI")
        return itk::NiftiImageIO::New().GetPointer();
    if (format == "NRRD")
        return itk::NrrdImageIO::New().GetPointer();
    return itk::MetaImageIO::New().GetPointer();
}

// ITK's messages carry source paths and line numbers; keep the part a user can act on.
std::string shortReason(const itk::ExceptionObject& e) {
    std::string text = e.GetDescription();
    if (const auto cut = text.find('\n'); cut != std::string::npos)
        text.resize(cut);
    return text.empty() ? "unknown error" : text;
}

struct Header {
    itk::ImageIOBase::Pointer io;
    Geometry geometry;
    int volumes = 1;    // 4th dimension (time, diffusion directions)
    int components = 1; // per voxel
};

Header readHeader(const fs::path& file) {
    std::error_code ec;
    if (!fs::is_regular_file(file, ec))
        throw ReadError(file, "does not exist or is not a file");
    Header h;
    h.io = ioFor(file);
    const std::string format = formatOf(file);
    if (!h.io->CanReadFile(file.c_str()))
        throw ReadError(file, "is not a readable " + format + " file");
    h.io->SetFileName(file.string());
    try {
        h.io->ReadImageInformation();
    } catch (const itk::ExceptionObject& e) {
        throw ReadError(file, "cannot be read as " + format + ": " + shortReason(e));
    }
    const unsigned dims = h.io->GetNumberOfDimensions();
    if (dims < 2 || dims > 4)
        throw ReadError(file, "has " + std::to_string(dims) +
                                  " dimensions; only 2D, 3D and 4D images are supported");
    Geometry& g = h.geometry;
    for (unsigned axis = 0; axis < 3; ++axis) {
        if (axis < dims) {
            g.dims[axis] = int(h.io->GetDimensions(axis));
            g.spacing[axis] = h.io->GetSpacing(axis);
            g.origin[axis] = h.io->GetOrigin(axis);
            const auto column = h.io->GetDirection(axis);
            for (unsigned r = 0; r < 3; ++r)
                g.direction[r * 3 + axis] = r < column.size() ? column[r] : (r == axis ? 1 : 0);
        } else {
            g.dims[axis] = 1;
        }
    }
    if (dims == 2) { // a single slice: z is the normal of the first two axes
        const double* d = g.direction.data();
        const double x[3] = {d[0], d[3], d[6]}, y[3] = {d[1], d[4], d[7]};
        g.direction[2] = x[1] * y[2] - x[2] * y[1];
        g.direction[5] = x[2] * y[0] - x[0] * y[2];
        g.direction[8] = x[0] * y[1] - x[1] * y[0];
    }
    if (dims == 4)
        h.volumes = int(h.io->GetDimensions(3));
    h.components = int(h.io->GetNumberOfComponents());
    for (int d : g.dims)
        if (d <= 0)
            throw ReadError(file, "has an empty image size in its header");
    for (double s : g.spacing)
        if (!(s > 0))
            throw ReadError(file, "has a zero or negative voxel spacing in its header");
    return h;
}

// ITK 5.2 reads a short uncompressed NIfTI without complaint (the missing voxels are left as
// they were), so the size is checked here: a truncated copy must not open as an image. The
// size on disk comes from the header's own dims and bitpix: ITK's in-memory size differs when
// it scales (dcm2niix writes scl_slope NaN, which ITK turns into float voxels).
void checkNiftiSize(const fs::path& file) {
    const std::string name = lowerName(file);
    const bool single = endsWith(name, ".nii");
    if (!single && !endsWith(name, ".hdr"))
        return;
    std::ifstream in(file, std::ios::binary);
    unsigned char header[112] = {};
    in.read(reinterpret_cast<char*>(header), sizeof header);
    if (!in)
        throw ReadError(file, "is truncated: its header is incomplete");
    std::int32_t headerSize = 0;
    std::memcpy(&headerSize, header, 4);
    const bool swapped = headerSize != 348; // written on a machine of the other byte order
    const auto field = [&](std::size_t at, std::size_t bytes) {
        unsigned char value[4] = {};
        std::memcpy(value, header + at, bytes);
        if (swapped)
            std::reverse(value, value + bytes);
        return std::vector<unsigned char>(value, value + bytes);
    };
    const auto int16At = [&](std::size_t at) {
        std::int16_t v = 0;
        std::memcpy(&v, field(at, 2).data(), 2);
        return v;
    };
    float offset = 0;
    std::memcpy(&offset, field(108, 4).data(), 4);
    const int rank = std::clamp<int>(int16At(40), 0, 7);
    double imageBytes = int16At(72) / 8.0; // bitpix
    for (int axis = 1; axis <= rank; ++axis)
        imageBytes *= std::max<int>(int16At(40 + 2 * axis), 1);
    std::error_code ec;
    fs::path voxels = file;
    if (!single)
        voxels.replace_extension(".img");
    const auto size = fs::file_size(voxels, ec);
    if (ec && !single)
        throw ReadError(file, "has no matching .img file with its voxels");
    const double start = single && offset >= 0 ? offset : 0;
    if (!ec && double(size) < start + imageBytes)
        throw ReadError(voxels, "is truncated: it holds fewer voxels than its header declares");
}

PixelType pixelTypeOf(itk::IOComponentEnum component) {
    using C = itk::IOComponentEnum;
    switch (component) {
    case C::UCHAR:
        return PixelType::UInt8;
    case C::CHAR:
    case C::SHORT:
        return PixelType::Int16;
    case C::USHORT:
        return PixelType::UInt16;
    case C::INT:
        return PixelType::Int32;
    default:
        return PixelType::Float32;
    }
}

template <class In, class Out>
void copyFirstComponent(const In* in, Out* out, std::size_t n, std::size_t stride) {
    for (std::size_t i = 0; i < n; ++i)
        out[i] = Out(in[i * stride]);
}

template <class Out>
void convertBuffer(itk::IOComponentEnum component, const char* in, Out* out, std::size_t n,
                   std::size_t stride) {
    using C = itk::IOComponentEnum;
    switch (component) {
    case C::UCHAR:
        copyFirstComponent(reinterpret_cast<const std::uint8_t*>(in), out, n, stride);
        break;
    case C::CHAR:
        copyFirstComponent(reinterpret_cast<const std::int8_t*>(in), out, n, stride);
        break;
    case C::SHORT:
        copyFirstComponent(reinterpret_cast<const std::int16_t*>(in), out, n, stride);
        break;
    case C::USHORT:
        copyFirstComponent(reinterpret_cast<const std::uint16_t*>(in), out, n, stride);
        break;
    case C::INT:
        copyFirstComponent(reinterpret_cast<const std::int32_t*>(in), out, n, stride);
        break;
    case C::UINT:
        copyFirstComponent(reinterpret_cast<const std::uint32_t*>(in), out, n, stride);
        break;
    case C::LONG:
        copyFirstComponent(reinterpret_cast<const long*>(in), out, n, stride);
        break;
    case C::ULONG:
        copyFirstComponent(reinterpret_cast<const unsigned long*>(in), out, n, stride);
        break;
    case C::LONGLONG:
        copyFirstComponent(reinterpret_cast<const long long*>(in), out, n, stride);
        break;
    case C::ULONGLONG:
        copyFirstComponent(reinterpret_cast<const unsigned long long*>(in), out, n, stride);
        break;
    case C::FLOAT:
        copyFirstComponent(reinterpret_cast<const float*>(in), out, n, stride);
        break;
    case C::DOUBLE:
        copyFirstComponent(reinterpret_cast<const double*>(in), out, n, stride);
        break;
    default:
        break;
    }
}

} // namespace

std::string formatOf(const fs::path& file) {
    const std::string name = lowerName(file);
    if (endsWith(name, ".nii") || endsWith(name, ".nii.gz") || endsWith(name, ".hdr"))
        return "NIfTI";
    if (endsWith(name, ".nrrd") || endsWith(name, ".nhdr"))
        return "NRRD";
    if (endsWith(name, ".mha") || endsWith(name, ".mhd"))
        return "MetaImage";
    return {};
}

SeriesSummary describe(const fs::path& file) {
    const Header h = readHeader(file);
    SeriesSummary s;
    s.key = file.string();
    s.format = formatOf(file);
    s.imageCount = h.geometry.dims[2];
    s.files = {file};
    if (h.volumes > 1)
        s.warnings.push_back("4D image with " + std::to_string(h.volumes) +
                             " volumes: only the first is opened");
    if (h.components > 1)
        s.warnings.push_back(std::to_string(h.components) +
                             " components per voxel: only the first is opened");
    return s;
}

Volume read(const fs::path& file, const Progress& progress, ReadReport* report) {
    if (progress && !progress(0.0))
        throw ReadError(file, "cancelled");
    const Header h = readHeader(file);
    const auto component = h.io->GetComponentType();
    if (component == itk::IOComponentEnum::UNKNOWNCOMPONENTTYPE)
        throw ReadError(file, "has a voxel type that cannot be read");
    if (formatOf(file) == "NIfTI")
        checkNiftiSize(file);
    Volume volume = Volume::uninitialized(h.geometry, pixelTypeOf(component));
    volume.sourceFormat = formatOf(file);
    const std::size_t n = volume.voxelCount();
    const bool direct = h.volumes == 1 && h.components == 1 &&
                        h.io->GetComponentSize() == bytesPerVoxel(volume.pixelType()) &&
                        component != itk::IOComponentEnum::CHAR;
    try {
        // ITK reads only the region it is told: the whole file.
        const unsigned dims = h.io->GetNumberOfDimensions();
        itk::ImageIORegion region(dims);
        for (unsigned axis = 0; axis < dims; ++axis) {
            region.SetIndex(axis, 0);
            region.SetSize(axis, h.io->GetDimensions(axis));
        }
        h.io->SetIORegion(region);
        if (direct) {
            h.io->Read(volume.data());
        } else {
            std::vector<char> all(h.io->GetImageSizeInBytes());
            h.io->Read(all.data());
            dispatchPixel(volume.pixelType(), volume.data(), [&](auto* out) {
                convertBuffer(component, all.data(), out, n, std::size_t(h.components));
            });
        }
    } catch (const itk::ExceptionObject& e) {
        throw ReadError(file, "cannot be read as " + volume.sourceFormat + ": " + shortReason(e));
    }
    if (report) {
        if (h.volumes > 1)
            report->warnings.push_back("4D image with " + std::to_string(h.volumes) +
                                       " volumes: only the first is opened");
        if (h.components > 1)
            report->warnings.push_back(std::to_string(h.components) +
                                       " components per voxel: only the first is opened");
    }
    if (progress && !progress(1.0))
        throw ReadError(file, "cancelled");
    return volume;
}

} // namespace radmark::imaging::itkio
