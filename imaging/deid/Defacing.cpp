#include "imaging/deid/Defacing.h"

#include "imaging/deid/DicomElements.h"

#include <gdcmReader.h>
#include <gdcmWriter.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <tuple>
#include <type_traits>

namespace radmark::deid {

using imaging::Geometry;
using imaging::Vec3;
using imaging::Volume;

namespace {

// Head proportions of the face region (fractions of the head length L, below the vertex).
constexpr double upperDepth = 0.59;   // U: about the nasion's height
constexpr double lowerDepth = 0.84;   // B: below the skull base
constexpr double lowerSetBack = 0.36; // B: behind the forehead, in front of the brain stem
// The cranial vault rows that give the head's length, width and forehead (mm below the vertex).
constexpr double vaultTop = 30;
constexpr double vaultBottom = 95;
constexpr double ctHeadThreshold = -500; // HU between air and skin
constexpr double protrusionMargin = 5;   // mm in front of the forehead
constexpr double minimumFaceMillilitres = 20;

// Calls f(offset, lps) for every voxel, in buffer order.
template <class F> void forEachVoxel(const Geometry& g, F&& f) {
    const auto& d = g.direction;
    std::array<Vec3, 3> step{}; // LPS displacement of one voxel along each index axis
    for (int c = 0; c < 3; ++c)
        for (int r = 0; r < 3; ++r)
            step[c][r] = d[r * 3 + c] * g.spacing[c];
    std::size_t offset = 0;
    for (int z = 0; z < g.dims[2]; ++z)
        for (int y = 0; y < g.dims[1]; ++y) {
            Vec3 p;
            for (int r = 0; r < 3; ++r)
                p[r] = g.origin[r] + step[1][r] * y + step[2][r] * z;
            for (int x = 0; x < g.dims[0]; ++x, ++offset) {
                f(offset, p);
                for (int r = 0; r < 3; ++r)
                    p[r] += step[0][r];
            }
        }
}

// Calls f(const T* values) with the buffer in its own type.
template <class F> void readValues(const Volume& volume, F&& f) {
    // dispatchPixel hands out a mutable pointer; this path only reads through it.
    imaging::dispatchPixel(volume.pixelType(), const_cast<std::byte*>(volume.data()),
                           [&](auto* values) {
                               using Value = std::remove_pointer_t<decltype(values)>;
                               f(static_cast<const Value*>(values));
                           });
}

double otsuThreshold(const Volume& volume) {
    // Not a structured binding: clang 14 (the fuzz build) cannot capture one in the lambda below.
    const auto range = volume.scalarRange();
    const double low = range.first, high = range.second;
    if (!(high > low))
        return high;
    constexpr int bins = 256;
    const double width = (high - low) / bins;
    std::array<double, bins> histogram{};
    readValues(volume, [&](const auto* values) {
        for (std::size_t i = 0, n = volume.voxelCount(); i < n; ++i) {
            const int bin = std::min(bins - 1, int((double(values[i]) - low) / width));
            histogram[std::size_t(bin)] += 1;
        }
    });
    double total = 0, totalSum = 0;
    for (int b = 0; b < bins; ++b) {
        total += histogram[std::size_t(b)];
        totalSum += histogram[std::size_t(b)] * b;
    }
    double below = 0, belowSum = 0, bestSpread = -1;
    int bestBin = 0;
    for (int b = 0; b < bins - 1; ++b) {
        below += histogram[std::size_t(b)];
        belowSum += histogram[std::size_t(b)] * b;
        const double above = total - below;
        if (below == 0 || above == 0)
            continue;
        const double meanGap = belowSum / below - (totalSum - belowSum) / above;
        const double spread = below * above * meanGap * meanGap;
        if (spread > bestSpread) {
            bestSpread = spread;
            bestBin = b;
        }
    }
    return low + (bestBin + 1) * width;
}

// 1 for voxels of the largest 6-connected component above the threshold, 0 elsewhere.
std::vector<std::uint8_t> largestComponentAbove(const Volume& volume, double threshold) {
    const std::size_t count = volume.voxelCount();
    std::vector<std::uint8_t> mask(count, 0);
    readValues(volume, [&](const auto* values) {
        for (std::size_t i = 0; i < count; ++i)
            mask[i] = double(values[i]) > threshold ? 1 : 0;
    });
    const auto& dims = volume.geometry().dims;
    const std::size_t nx = std::size_t(dims[0]), nxy = nx * std::size_t(dims[1]);
    std::vector<std::size_t> queue;
    // Floods the component of seed from value `from` to `to`; returns its size.
    auto flood = [&](std::size_t seed, std::uint8_t from, std::uint8_t to) {
        queue.clear();
        queue.push_back(seed);
        mask[seed] = to;
        for (std::size_t head = 0; head < queue.size(); ++head) {
            const std::size_t i = queue[head];
            const std::size_t x = i % nx, y = (i / nx) % std::size_t(dims[1]), z = i / nxy;
            const auto visit = [&](bool inside, std::size_t j) {
                if (inside && mask[j] == from) {
                    mask[j] = to;
                    queue.push_back(j);
                }
            };
            visit(x > 0, i - 1);
            visit(x + 1 < nx, i + 1);
            visit(y > 0, i - nx);
            visit(y + 1 < std::size_t(dims[1]), i + nx);
            visit(z > 0, i - nxy);
            visit(z + 1 < std::size_t(dims[2]), i + nxy);
        }
        return queue.size();
    };
    std::size_t bestSeed = count, bestSize = 0;
    for (std::size_t i = 0; i < count; ++i)
        if (mask[i] == 1) {
            const std::size_t size = flood(i, 1, 2);
            if (size > bestSize) {
                bestSize = size;
                bestSeed = i;
            }
        }
    if (bestSeed < count)
        flood(bestSeed, 2, 3);
    for (auto& m : mask)
        m = m == 3 ? 1 : 0;
    return mask;
}

// True when the head mask touches the image face at the superior end of the index axis that
// runs closest to head-foot: the top of the head is not in the image.
bool touchesSuperiorEnd(const Geometry& g, const std::vector<std::uint8_t>& head) {
    int axis = 0;
    for (int c = 1; c < 3; ++c)
        if (std::abs(g.direction[6 + c]) > std::abs(g.direction[6 + axis]))
            axis = c;
    const int topIndex = g.direction[6 + axis] > 0 ? g.dims[axis] - 1 : 0;
    std::size_t offset = 0;
    for (int z = 0; z < g.dims[2]; ++z)
        for (int y = 0; y < g.dims[1]; ++y)
            for (int x = 0; x < g.dims[0]; ++x, ++offset) {
                const std::array<int, 3> index{x, y, z};
                if (index[std::size_t(axis)] == topIndex && head[offset])
                    return true;
            }
    return false;
}

struct LocatedFace {
    FacePlane plane;
    std::vector<std::uint8_t> head;
};

std::string millimetres(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.0f", value);
    return text;
}

LocatedFace locate(const Volume& volume) {
    if (volume.empty())
        throw DefacingError("cannot deface: the image is empty");
    const Geometry& g = volume.geometry();
    LocatedFace located;
    FacePlane& plane = located.plane;
    plane.headThreshold = volume.modality == "CT" ? ctHeadThreshold : otsuThreshold(volume);
    located.head = largestComponentAbove(volume, plane.headThreshold);
    const auto& head = located.head;

    // Sagittal silhouette in 1 mm rows of the superior coordinate.
    double lowest = std::numeric_limits<double>::max(), highest = -lowest;
    for (int corner = 0; corner < 8; ++corner) {
        const Vec3 p =
            g.indexToLps({corner & 1 ? g.dims[0] - 1.0 : 0.0, corner & 2 ? g.dims[1] - 1.0 : 0.0,
                          corner & 4 ? g.dims[2] - 1.0 : 0.0});
        lowest = std::min(lowest, p[2]);
        highest = std::max(highest, p[2]);
    }
    const std::size_t rows = std::size_t(highest - lowest) + 1;
    constexpr double none = std::numeric_limits<double>::quiet_NaN();
    std::vector<std::array<double, 4>> extent(rows,
                                              {none, none, none, none}); // a min/max, x min/max
    double vertex = -std::numeric_limits<double>::max();
    std::size_t headVoxels = 0;
    forEachVoxel(g, [&](std::size_t offset, const Vec3& p) {
        if (!head[offset])
            return;
        ++headVoxels;
        vertex = std::max(vertex, p[2]);
        auto& row = extent[std::min(rows - 1, std::size_t(p[2] - lowest))];
        const double anterior = -p[1];
        if (std::isnan(row[0])) {
            row = {anterior, anterior, p[0], p[0]};
            return;
        }
        row = {std::min(row[0], anterior), std::max(row[1], anterior), std::min(row[2], p[0]),
               std::max(row[3], p[0])};
    });
    if (headVoxels == 0)
        throw DefacingError("cannot deface: no body found in the image");
    if (touchesSuperiorEnd(g, head))
        throw DefacingError(
            "cannot deface: the body reaches the top of the image, so this is not a "
            "head or the top of the head is cut off, and the face cannot be "
            "located safely");
    plane.vertexHeight = vertex;
    double forehead = -std::numeric_limits<double>::max();
    for (std::size_t r = 0; r < rows; ++r) {
        const double height = lowest + double(r) + 0.5;
        if (std::isnan(extent[r][0]) || height > vertex - vaultTop || height < vertex - vaultBottom)
            continue;
        plane.headLength = std::max(plane.headLength, extent[r][1] - extent[r][0]);
        plane.headWidth = std::max(plane.headWidth, extent[r][3] - extent[r][2]);
        forehead = std::max(forehead, extent[r][1]);
    }
    if (plane.headLength < 100 || plane.headLength > 260 || plane.headWidth < 80 ||
        plane.headWidth > 220)
        throw DefacingError("cannot deface: this is not a head (below its top the body is " +
                            millimetres(plane.headWidth) + " mm wide and " +
                            millimetres(plane.headLength) +
                            " mm long; a head is about 150 by 190 mm)");
    plane.upperAnterior = forehead;
    plane.upperHeight = vertex - upperDepth * plane.headLength;
    plane.lowerAnterior = forehead - lowerSetBack * plane.headLength;
    plane.lowerHeight = vertex - lowerDepth * plane.headLength;

    std::size_t faceVoxels = 0;
    forEachVoxel(g, [&](std::size_t offset, const Vec3& p) {
        if (head[offset] && plane.removes(p))
            ++faceVoxels;
    });
    const double voxelMillilitres = g.spacing[0] * g.spacing[1] * g.spacing[2] / 1000.0;
    if (double(faceVoxels) * voxelMillilitres < minimumFaceMillilitres)
        throw DefacingError(
            "cannot deface: no face found in the image (the head is there but the "
            "region in front of and below the brain is empty or outside the image)");
    return located;
}

} // namespace

bool FacePlane::removes(const Vec3& lps) const {
    const double anterior = -lps[1], height = lps[2];
    if (height < vertexHeight - vaultBottom && anterior > upperAnterior + protrusionMargin)
        return true; // sticks out beyond the forehead below the vault: a raised nose or chin
    if (height > upperHeight)
        return false;
    if (height < lowerHeight)
        return anterior >= lowerAnterior;
    const double along = (height - lowerHeight) / (upperHeight - lowerHeight);
    return anterior > lowerAnterior + along * (upperAnterior - lowerAnterior);
}

std::string DefacingResult::method() const {
    return "face plane by head proportions (Radmark defacing 1): head length " +
           millimetres(plane.headLength) + " mm, face region in front of the line from " +
           millimetres(upperDepth * plane.headLength) +
           " mm below the top of the head at the "
           "forehead to " +
           millimetres(lowerDepth * plane.headLength) + " mm below it, " +
           millimetres(lowerSetBack * plane.headLength) + " mm further back; set to " +
           millimetres(background);
}

FacePlane locateFace(const Volume& volume) {
    return locate(volume).plane;
}

std::vector<std::uint8_t> faceRegionMask(const Geometry& geometry, const FacePlane& plane) {
    std::vector<std::uint8_t> mask(geometry.voxelCount(), 0);
    forEachVoxel(geometry, [&](std::size_t offset, const Vec3& p) {
        mask[offset] = plane.removes(p) ? 1 : 0;
    });
    return mask;
}

double airValue(const Volume& volume) {
    if (volume.modality != "CT")
        return volume.scalarRange().first;
    const bool unsignedVoxels = volume.pixelType() == imaging::PixelType::UInt8 ||
                                volume.pixelType() == imaging::PixelType::UInt16;
    return unsignedVoxels ? 0.0 : -1024.0;
}

DefacingResult deface(Volume& volume) {
    const LocatedFace located = locate(volume);
    DefacingResult result;
    result.plane = located.plane;
    result.background = airValue(volume);
    imaging::dispatchPixel(volume.pixelType(), volume.data(), [&](auto* values) {
        using Value = std::remove_pointer_t<decltype(values)>;
        const Value air = Value(result.background);
        forEachVoxel(volume.geometry(), [&](std::size_t offset, const Vec3& p) {
            if (!result.plane.removes(p))
                return;
            ++result.regionVoxels;
            if (located.head[offset])
                ++result.headVoxelsRemoved;
            if (values[offset] != air) {
                values[offset] = air;
                ++result.removedVoxels;
            }
        });
    });
    volume.invalidateScalarRange();
    return result;
}

namespace {

namespace fs = std::filesystem;

// Decimal values of a DS/IS element ("" or missing: none).
std::vector<double> numbersOf(const gdcm::DataSet& ds, std::uint16_t group, std::uint16_t element) {
    std::vector<double> values;
    if (!ds.FindDataElement(gdcm::Tag(group, element)))
        return values;
    const std::string text(dicom::rawValue(ds.GetDataElement(gdcm::Tag(group, element))));
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t end = std::min(text.find('\\', start), text.size());
        const std::string part = dicom::trimmed(std::string_view(text).substr(start, end - start));
        char* last = nullptr;
        const double value = std::strtod(part.c_str(), &last);
        if (part.empty() || *last != '\0' || !std::isfinite(value))
            throw DefacingError("cannot deface: a file of the series has an invalid " +
                                dicom::tagText(gdcm::Tag(group, element)));
        values.push_back(value);
        start = end + 1;
    }
    return values;
}

int unsignedShortOf(const gdcm::DataSet& ds, std::uint16_t group, std::uint16_t element) {
    const std::string_view raw = ds.FindDataElement(gdcm::Tag(group, element))
                                     ? dicom::rawValue(ds.GetDataElement(gdcm::Tag(group, element)))
                                     : std::string_view();
    if (raw.size() != 2)
        throw DefacingError("cannot deface: a file of the series lacks " +
                            dicom::tagText(gdcm::Tag(group, element)));
    std::uint16_t value = 0;
    std::memcpy(&value, raw.data(), 2);
    return value;
}

// Sets the face region of one slice file to `storedAir`, in a copy of its pixel bytes.
template <class Stored>
std::size_t cleanSlice(std::vector<char>& bytes, const std::vector<std::uint8_t>& mask,
                       std::size_t sliceOffset, double storedAir) {
    const auto air =
        Stored(std::clamp(std::round(storedAir), double(std::numeric_limits<Stored>::min()),
                          double(std::numeric_limits<Stored>::max())));
    std::size_t changed = 0;
    for (std::size_t i = 0; i < bytes.size() / sizeof(Stored); ++i) {
        if (!mask[sliceOffset + i])
            continue;
        Stored value;
        std::memcpy(&value, bytes.data() + i * sizeof(Stored), sizeof(Stored));
        if (value != air) {
            std::memcpy(bytes.data() + i * sizeof(Stored), &air, sizeof(Stored));
            ++changed;
        }
    }
    return changed;
}

// Cleans one file of the series into `temporary`; returns the pixels changed.
std::size_t cleanFile(const fs::path& file, const fs::path& temporary, const Geometry& g,
                      const std::vector<std::uint8_t>& mask, double air) {
    gdcm::Reader reader;
    reader.SetFileName(file.c_str());
    if (!reader.Read())
        throw DefacingError("cannot deface: a file of the series cannot be read again");
    gdcm::File& dicomFile = reader.GetFile();
    const gdcm::TransferSyntax& syntax = dicomFile.GetHeader().GetDataSetTransferSyntax();
    if (syntax != gdcm::TransferSyntax::ExplicitVRLittleEndian &&
        syntax != gdcm::TransferSyntax::ImplicitVRLittleEndian)
        throw DefacingError("cannot deface: the series has compressed (or big endian) pixel data, "
                            "which Radmark cannot rewrite yet");
    gdcm::DataSet& ds = dicomFile.GetDataSet();
    const auto frames = numbersOf(ds, 0x0028, 0x0008);
    if (!frames.empty() && frames.front() > 1)
        throw DefacingError("cannot deface: the series has multi-frame files, which Radmark "
                            "cannot rewrite yet");
    const int rows = unsignedShortOf(ds, 0x0028, 0x0010),
              columns = unsignedShortOf(ds, 0x0028, 0x0011);
    const int bits = unsignedShortOf(ds, 0x0028, 0x0100);
    const bool signedPixels = unsignedShortOf(ds, 0x0028, 0x0103) == 1;
    if (unsignedShortOf(ds, 0x0028, 0x0002) != 1 || (bits != 8 && bits != 16))
        throw DefacingError("cannot deface: the series is not single-channel 8 or 16 bit images");
    // The file's first pixel and its rows and columns must be those of one slice of the volume.
    const auto position = numbersOf(ds, 0x0020, 0x0032);
    const auto orientation = numbersOf(ds, 0x0020, 0x0037);
    if (position.size() != 3 || orientation.size() != 6)
        throw DefacingError("cannot deface: a file of the series has no position or orientation");
    const Vec3 index = g.lpsToIndex({position[0], position[1], position[2]});
    const long slice = std::lround(index[2]);
    bool matches = rows == g.dims[1] && columns == g.dims[0] && std::abs(index[0]) < 0.05 &&
                   std::abs(index[1]) < 0.05 && std::abs(index[2] - double(slice)) < 0.05 &&
                   slice >= 0 && slice < g.dims[2];
    for (int i = 0; i < 3; ++i)
        matches =
            matches &&
            std::abs(orientation[std::size_t(i)] - g.direction[std::size_t(i) * 3]) < 1e-3 &&
            std::abs(orientation[std::size_t(i) + 3] - g.direction[std::size_t(i) * 3 + 1]) < 1e-3;
    if (!matches)
        throw DefacingError("cannot deface: a file of the series does not line up with its volume");
    const auto intercept = numbersOf(ds, 0x0028, 0x1052);
    const auto slope = numbersOf(ds, 0x0028, 0x1053);
    const double storedAir = (air - (intercept.empty() ? 0.0 : intercept.front())) /
                             (slope.empty() || slope.front() == 0 ? 1.0 : slope.front());

    const gdcm::Tag pixelTag(0x7FE0, 0x0010);
    const gdcm::ByteValue* pixels =
        ds.FindDataElement(pixelTag) ? ds.GetDataElement(pixelTag).GetByteValue() : nullptr;
    const std::size_t sliceVoxels = std::size_t(rows) * std::size_t(columns);
    if (!pixels || pixels->GetLength() < sliceVoxels * std::size_t(bits / 8))
        throw DefacingError("cannot deface: a file of the series has no readable pixel data");
    std::vector<char> bytes(pixels->GetPointer(),
                            pixels->GetPointer() + sliceVoxels * std::size_t(bits / 8));
    const std::size_t sliceOffset = std::size_t(slice) * sliceVoxels;
    std::size_t changed = 0;
    if (bits == 8)
        changed = signedPixels ? cleanSlice<std::int8_t>(bytes, mask, sliceOffset, storedAir)
                               : cleanSlice<std::uint8_t>(bytes, mask, sliceOffset, storedAir);
    else
        changed = signedPixels ? cleanSlice<std::int16_t>(bytes, mask, sliceOffset, storedAir)
                               : cleanSlice<std::uint16_t>(bytes, mask, sliceOffset, storedAir);
    bytes.resize(pixels->GetLength(), 0); // keeps the padding byte of odd lengths
    gdcm::DataElement cleaned = ds.GetDataElement(pixelTag);
    cleaned.SetByteValue(bytes.data(), gdcm::VL(std::uint32_t(bytes.size())));
    ds.Replace(cleaned);
    recordDefacing(ds);

    gdcm::Writer writer;
    writer.SetFile(dicomFile);
    writer.SetFileName(temporary.c_str());
    if (!writer.Write())
        throw DefacingError("cannot deface: a cleaned file could not be written");
    return changed;
}

} // namespace

void recordDefacing(gdcm::DataSet& header) {
    gdcm::DataElement features(gdcm::Tag(0x0028, 0x0302));
    dicom::setText(features, gdcm::VR::CS, "NO");
    header.Replace(features);

    gdcm::Item item;
    item.SetVLToUndefined();
    gdcm::DataSet& code = item.GetNestedDataSet();
    for (const auto& [element, vr, value] :
         {std::tuple{std::uint16_t(0x0100), gdcm::VR::SH, "113102"},
          std::tuple{std::uint16_t(0x0102), gdcm::VR::SH, "DCM"},
          std::tuple{std::uint16_t(0x0104), gdcm::VR::LO,
                     "Clean Recognizable Visual Features Option"}}) {
        gdcm::DataElement text(gdcm::Tag(0x0008, element));
        dicom::setText(text, vr, value);
        code.Insert(text);
    }
    const gdcm::Tag methods(0x0012, 0x0064);
    gdcm::SmartPointer<gdcm::SequenceOfItems> codes;
    if (header.FindDataElement(methods))
        codes = dicom::sequenceOf(header.GetDataElement(methods), gdcm::VR::SQ);
    if (!codes) {
        codes = new gdcm::SequenceOfItems;
        codes->SetLengthToUndefined();
    }
    codes->AddItem(item);
    gdcm::DataElement sequence(methods);
    sequence.SetVR(gdcm::VR::SQ);
    sequence.SetValue(*codes);
    sequence.SetVLToUndefined();
    header.Replace(sequence);
}

DicomSeriesDefacing defaceDicomSeries(const imaging::SeriesSummary& series) {
    imaging::Volume volume = imaging::readSeries(series);
    DicomSeriesDefacing done;
    done.volume = deface(volume);
    const auto mask = faceRegionMask(volume.geometry(), done.volume.plane);
    std::vector<std::pair<fs::path, fs::path>> cleaned; // temporary, original
    try {
        for (const auto& file : series.files) {
            const fs::path temporary =
                file.parent_path() / (".defacing-" + file.filename().string());
            cleaned.emplace_back(temporary, file);
            done.changedPixels +=
                cleanFile(file, temporary, volume.geometry(), mask, done.volume.background);
        }
    } catch (...) {
        std::error_code ignored;
        for (const auto& [temporary, original] : cleaned)
            fs::remove(temporary, ignored);
        throw;
    }
    // Renames are not atomic as a group: when one fails, the files before it are already
    // defaced and the others are not. Remove the temporaries left and say so.
    for (std::size_t i = 0; i < cleaned.size(); ++i) {
        std::error_code error;
        fs::rename(cleaned[i].first, cleaned[i].second, error);
        if (!error)
            continue;
        std::error_code ignored;
        for (std::size_t j = i; j < cleaned.size(); ++j)
            fs::remove(cleaned[j].first, ignored);
        throw DefacingError("cannot replace a file with its defaced version (" + error.message() +
                            "): the series is only partly defaced and must be discarded");
    }
    done.files = int(cleaned.size());
    return done;
}

} // namespace radmark::deid
