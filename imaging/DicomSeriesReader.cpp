#include "imaging/DicomSeriesReader.h"

#include "imaging/DicomStructure.h"

#include <gdcmDataSet.h>
#include <gdcmFileMetaInformation.h>
#include <gdcmImage.h>
#include <gdcmReader.h>
#include <gdcmSequenceOfItems.h>
#include <gdcmTrace.h>
#include <gdcmTransferSyntax.h>
#include <gdcmUIDs.h>

#include <fcntl.h>
#include <unistd.h>

#include <csetjmp>
#include <csignal>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <cstring>
#include <exception>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

namespace radmark::imaging {

namespace dicom {
namespace {

namespace fs = std::filesystem;

const gdcm::Tag kPixelData(0x7fe0, 0x0010);

// GDCM prints warnings with file names to stderr; our errors say what matters, once.
const bool kGdcmQuiet = [] {
    gdcm::Trace::SetWarning(false);
    gdcm::Trace::SetDebug(false);
    gdcm::Trace::SetError(false);
    return true;
}();

// Debian's GDCM is built with assertions on, and a few malformed files (a DICOMDIR with a wrong
// meta group length, RT dose without Number of Frames) make it abort() instead of failing.
// A user's bad file must never take the workstation down, so GDCM calls run under a guard that
// turns SIGABRT raised on this thread into a ReadError. Jumping out of GDCM leaks what it had
// allocated for that file; that is the price of not crashing.
// In radmark-decoder the guard is off (abortsEndTheProcess): there an abort ends the child at
// once, which is sound where the jump is not. glibc's abort() keeps its lock when jumped out of
// (a second abort in another thread then waits forever) and an abort from malloc's own checks
// holds an arena lock (every later allocation waits forever): the child hung until its parent's
// 60 s watchdog, where dying costs a fresh child and names the file.
thread_local sigjmp_buf* activeAbortGuard = nullptr;
std::atomic<bool> abortGuardOff{false};

void onAbort(int signal) {
    if (activeAbortGuard)
        siglongjmp(*activeAbortGuard, 1);
    std::signal(signal, SIG_DFL);
    std::raise(signal);
}

template <class F> auto guardedGdcmCall(const fs::path& file, F&& f) -> decltype(f()) {
    if (abortGuardOff.load(std::memory_order_relaxed))
        return f();
    static std::once_flag installed;
    std::call_once(installed, [] {
        struct sigaction action {};
        action.sa_handler = onAbort;
        sigemptyset(&action.sa_mask);
        action.sa_flags = SA_NODEFER;
        sigaction(SIGABRT, &action, nullptr);
    });
    sigjmp_buf jump;
    sigjmp_buf* const previous = activeAbortGuard;
    if (sigsetjmp(jump, 1) != 0) {
        activeAbortGuard = previous;
        throw ReadError(file, "is malformed: the DICOM library could not parse it");
    }
    activeAbortGuard = &jump;
    struct Restore {
        sigjmp_buf* previous;
        ~Restore() { activeAbortGuard = previous; }
    } restore{previous};
    return f();
}

std::string trimmed(std::string s) {
    const auto notPad = [](char c) { return c != ' ' && c != '\0'; };
    s.erase(s.begin(), std::find_if(s.begin(), s.end(), notPad));
    s.erase(std::find_if(s.rbegin(), s.rend(), notPad).base(), s.end());
    return s;
}

std::string stringOf(const gdcm::DataSet& ds, gdcm::Tag tag) {
    if (!ds.FindDataElement(tag))
        return {};
    const gdcm::ByteValue* bv = ds.GetDataElement(tag).GetByteValue();
    if (!bv || bv->GetLength() == 0)
        return {};
    return trimmed(std::string(bv->GetPointer(), bv->GetLength()));
}

std::string tagName(gdcm::Tag tag) {
    char text[16];
    std::snprintf(text, sizeof text, "(%04X,%04X)", tag.GetGroup(), tag.GetElement());
    return text;
}

// Decimal strings (DS/IS, backslash separated), parsed strictly: a bad value is a ReadError.
std::vector<double> numbersOf(const gdcm::DataSet& ds, gdcm::Tag tag, const char* name,
                              const fs::path& file) {
    const std::string text = stringOf(ds, tag);
    std::vector<double> values;
    if (text.empty())
        return values;
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t end = text.find('\\', start);
        if (end == std::string::npos)
            end = text.size();
        const std::string part = trimmed(text.substr(start, end - start));
        double value = 0;
        const char* first = part.data();
        const char* last = part.data() + part.size();
        if (!part.empty() && *first == '+')
            ++first;
        auto [ptr, ec] = std::from_chars(first, last, value);
        if (part.empty() || ec != std::errc() || ptr != last || !std::isfinite(value))
            throw ReadError(file, std::string("invalid value in ") + name + " " + tagName(tag) +
                                      ": the file is damaged or not standard DICOM");
        values.push_back(value);
        start = end + 1;
    }
    return values;
}

// US values, read from the bytes (GDCM has swapped big endian data to native order). Parsed
// here rather than with gdcm::Attribute, which asserts (aborts) on malformed lengths.
std::optional<int> unsignedShortOf(const gdcm::DataSet& ds, gdcm::Tag tag, const char* name,
                                   const fs::path& file) {
    if (!ds.FindDataElement(tag))
        return std::nullopt;
    const gdcm::ByteValue* bv = ds.GetDataElement(tag).GetByteValue();
    if (!bv || bv->GetLength() == 0)
        return std::nullopt;
    if (bv->GetLength() != 2)
        throw ReadError(file, std::string("invalid value in ") + name + " " + tagName(tag) +
                                  ": the file is damaged or not standard DICOM");
    std::uint16_t value = 0;
    std::memcpy(&value, bv->GetPointer(), 2);
    return int(value);
}

// Keeps a sequence alive while its items are read (GetValueAsSQ may build it on the fly).
struct Sequence {
    gdcm::SmartPointer<gdcm::SequenceOfItems> items;
    std::size_t size() const { return items ? items->GetNumberOfItems() : 0; }
    const gdcm::DataSet* item(std::size_t index) const { // 0-based
        if (index >= size())
            return nullptr;
        return &items->GetItem(index + 1).GetNestedDataSet();
    }
};

Sequence sequenceOf(const gdcm::DataSet& ds, gdcm::Tag tag) {
    if (!ds.FindDataElement(tag) || ds.GetDataElement(tag).IsEmpty())
        return {};
    return {ds.GetDataElement(tag).GetValueAsSQ()};
}

// Looks a functional-group attribute up: per-frame item first, then shared, then top level.
struct FunctionalGroups {
    Sequence shared, perFrame;
    const gdcm::DataSet* macro(std::size_t frame, gdcm::Tag macroTag, gdcm::Tag attribute,
                               std::vector<Sequence>& keepAlive) const {
        for (const gdcm::DataSet* group : {perFrame.item(frame), shared.item(0)}) {
            if (!group)
                continue;
            Sequence seq = sequenceOf(*group, macroTag);
            if (const gdcm::DataSet* item = seq.item(0); item && item->FindDataElement(attribute)) {
                keepAlive.push_back(seq);
                return item;
            }
        }
        return nullptr;
    }
};

std::string readFailureReason(const fs::path& file) {
    std::error_code ec;
    const auto size = fs::file_size(file, ec);
    if (ec)
        return "cannot be read (missing or no permission)";
    if (size == 0)
        return "is empty";
    std::ifstream in(file, std::ios::binary);
    char preamble[132] = {};
    in.read(preamble, sizeof preamble);
    if (in.gcount() == 132 && std::memcmp(preamble + 128, "DICM", 4) == 0)
        return "is a damaged or truncated DICOM file (its header cannot be parsed)";
    return "is not a DICOM file";
}

bool integral(double v) {
    return std::abs(v - std::round(v)) < 1e-9;
}

struct ScannedFile {
    DicomSeriesLayout::File file;
    std::vector<DicomSeriesLayout::Frame> frames; // file index left 0
    std::string seriesUid, modality, description, photometric;
    int rows = 0, columns = 0, samples = 1, bitsAllocated = 0, bitsStored = 0;
    bool signedPixels = false, planarByPlane = false, hasOrientation = false, hasPosition = false;
    std::array<double, 6> orientation{1, 0, 0, 0, 1, 0};
    double rowSpacing = 1, columnSpacing = 1;
    bool hasPixelSpacing = false;
    double sliceSpacingTag = 0; // SpacingBetweenSlices or SliceThickness, 0 when absent
};

class FileDescriptor {
  public:
    explicit FileDescriptor(const fs::path& path) : fd_(::open(path.c_str(), O_RDONLY)) {}
    ~FileDescriptor() {
        if (fd_ >= 0)
            ::close(fd_);
    }
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    int get() const { return fd_; }

  private:
    int fd_;
};

// Header-only parse of one file. Returns nullopt for readable DICOM that holds no image.
std::optional<ScannedFile> scanFile(const fs::path& path, std::string* notImageReason) {
    // Lengths beyond the file, explicit VR declared but implicit written, absurd nesting: GDCM
    // would allocate gigabytes or fail a check on them.
    checkDicomStructure(path, VrDisagreement::Refuse);
    gdcm::Reader reader;
    reader.SetFileName(path.c_str());
    // Stops at the pixel data element, leaving the stream at its value: nothing is decoded.
    if (!reader.ReadUpToTag(kPixelData, {kPixelData}))
        throw ReadError(path, readFailureReason(path));
    const gdcm::File& file = reader.GetFile();
    const gdcm::DataSet& ds = file.GetDataSet();
    const gdcm::TransferSyntax ts = file.GetHeader().GetDataSetTransferSyntax();

    ScannedFile out;
    out.file.path = path;
    out.file.transferSyntax = ts.GetString() ? ts.GetString() : "unknown";
    auto us = [&](std::uint16_t element, const char* name) {
        return unsignedShortOf(ds, gdcm::Tag(0x0028, element), name, path);
    };
    const auto rows = us(0x0010, "Rows");
    const auto columns = us(0x0011, "Columns");
    if (!rows || !columns || *rows == 0 || *columns == 0) {
        // Named by its modality and SOP class (an SR, a presentation state, ...): what was
        // skipped is said, whatever the file's name (a PACS's instance has none).
        const std::string modality = stringOf(ds, gdcm::Tag(0x0008, 0x0060));
        gdcm::UIDs sopClass;
        const std::string sopClassUid = stringOf(ds, gdcm::Tag(0x0008, 0x0016));
        const std::string className =
            !sopClassUid.empty() && sopClass.SetFromUID(sopClassUid.c_str()) && sopClass.GetName()
                ? sopClass.GetName()
                : "";
        std::string what = modality.empty() ? "" : "a " + modality + " object";
        if (!className.empty())
            what += (what.empty() ? "" : ", ") + className;
        if (notImageReason)
            *notImageReason = what.empty() ? "holds no image" : "holds no image (" + what + ")";
        return std::nullopt;
    }
    if (!ts.IsValid())
        throw ReadError(path, "uses an unknown transfer syntax that cannot be decoded");
    out.rows = *rows;
    out.columns = *columns;
    out.samples = us(0x0002, "Samples per Pixel").value_or(1);
    out.bitsAllocated = us(0x0100, "Bits Allocated").value_or(0);
    out.bitsStored = us(0x0101, "Bits Stored").value_or(out.bitsAllocated);
    out.signedPixels = us(0x0103, "Pixel Representation").value_or(0) == 1;
    out.planarByPlane = us(0x0006, "Planar Configuration").value_or(0) == 1;
    out.photometric = stringOf(ds, gdcm::Tag(0x0028, 0x0004));
    if (out.photometric == "PALETTE COLOR")
        throw ReadError(path, "is a palette colour image, which cannot be annotated here");
    if (out.bitsAllocated != 1 && out.bitsAllocated != 8 && out.bitsAllocated != 16 &&
        out.bitsAllocated != 32)
        throw ReadError(path, "has " + std::to_string(out.bitsAllocated) +
                                  " bits per pixel, which is not supported");
    if (out.samples != 1 && out.samples != 3)
        throw ReadError(path, "has " + std::to_string(out.samples) +
                                  " samples per pixel, which is not supported");
    if (out.bitsStored <= 0 || out.bitsStored > out.bitsAllocated)
        out.bitsStored = out.bitsAllocated;
    out.seriesUid = stringOf(ds, gdcm::Tag(0x0020, 0x000e));
    out.modality = stringOf(ds, gdcm::Tag(0x0008, 0x0060));
    out.description = stringOf(ds, gdcm::Tag(0x0008, 0x103e));

    int frames = 1;
    if (const auto nf = numbersOf(ds, gdcm::Tag(0x0028, 0x0008), "Number of Frames", path);
        !nf.empty()) {
        if (nf[0] < 1 || !integral(nf[0]))
            throw ReadError(path, "invalid value in Number of Frames (0028,0008)");
        frames = int(nf[0]);
    }
    out.file.frames = frames;

    const gdcm::Tag positionTag(0x0020, 0x0032), orientationTag(0x0020, 0x0037),
        spacingTag(0x0028, 0x0030), slopeTag(0x0028, 0x1053), interceptTag(0x0028, 0x1052);
    FunctionalGroups groups{sequenceOf(ds, gdcm::Tag(0x5200, 0x9229)),
                            sequenceOf(ds, gdcm::Tag(0x5200, 0x9230))};
    const gdcm::Tag planePosition(0x0020, 0x9113), planeOrientation(0x0020, 0x9116),
        pixelMeasures(0x0028, 0x9110), valueTransformation(0x0028, 0x9145);
    std::vector<Sequence> keepAlive;
    auto numbersFor = [&](std::size_t frame, gdcm::Tag macroTag, gdcm::Tag tag, const char* name) {
        if (const gdcm::DataSet* item = groups.macro(frame, macroTag, tag, keepAlive))
            return numbersOf(*item, tag, name, path);
        return numbersOf(ds, tag, name, path);
    };

    const auto orientation =
        numbersFor(0, planeOrientation, orientationTag, "Image Orientation (Patient)");
    if (orientation.size() == 6) {
        std::copy(orientation.begin(), orientation.end(), out.orientation.begin());
        out.hasOrientation = true;
    }
    const auto spacing = numbersFor(0, pixelMeasures, spacingTag, "Pixel Spacing");
    if (spacing.size() == 2 && spacing[0] > 0 && spacing[1] > 0) {
        out.rowSpacing = spacing[0];
        out.columnSpacing = spacing[1];
        out.hasPixelSpacing = true;
    }
    for (gdcm::Tag tag : {gdcm::Tag(0x0018, 0x0088), gdcm::Tag(0x0018, 0x0050)}) {
        const auto v = numbersFor(0, pixelMeasures, tag, "slice spacing");
        if (!v.empty() && v[0] > 0) {
            out.sliceSpacingTag = v[0];
            break;
        }
    }
    const auto instance = numbersOf(ds, gdcm::Tag(0x0020, 0x0013), "Instance Number", path);
    const int instanceNumber = instance.empty() ? 0 : int(instance[0]);

    // Plain multi-frame files (RT dose, NM) space their frames by a vector of offsets.
    const auto frameOffsets =
        numbersOf(ds, gdcm::Tag(0x3004, 0x000c), "Grid Frame Offset Vector", path);
    const double rowCos[3] = {out.orientation[0], out.orientation[1], out.orientation[2]};
    const double colCos[3] = {out.orientation[3], out.orientation[4], out.orientation[5]};
    const Vec3 normal{rowCos[1] * colCos[2] - rowCos[2] * colCos[1],
                      rowCos[2] * colCos[0] - rowCos[0] * colCos[2],
                      rowCos[0] * colCos[1] - rowCos[1] * colCos[0]};
    Vec3 firstPosition{0, 0, 0};
    for (int f = 0; f < frames; ++f) {
        DicomSeriesLayout::Frame frame;
        frame.frame = f;
        frame.instanceNumber = instanceNumber;
        const auto position =
            numbersFor(std::size_t(f), planePosition, positionTag, "Image Position (Patient)");
        if (position.size() == 3) {
            frame.position = {position[0], position[1], position[2]};
            if (f == 0) {
                firstPosition = frame.position;
                out.hasPosition = true;
            }
            // Plain multi-frame: one position for the file, frames stacked along the normal.
            if (f > 0 && !groups.perFrame.item(std::size_t(f))) {
                const double step = f < int(frameOffsets.size())
                                        ? frameOffsets[std::size_t(f)] - frameOffsets[0]
                                        : f * (out.sliceSpacingTag > 0 ? out.sliceSpacingTag : 1);
                for (int i = 0; i < 3; ++i)
                    frame.position[i] = firstPosition[i] + step * normal[i];
            }
        } else {
            const double step = f * (out.sliceSpacingTag > 0 ? out.sliceSpacingTag : 1);
            for (int i = 0; i < 3; ++i)
                frame.position[i] = step * normal[i];
        }
        const auto slope =
            numbersFor(std::size_t(f), valueTransformation, slopeTag, "Rescale Slope");
        const auto intercept =
            numbersFor(std::size_t(f), valueTransformation, interceptTag, "Rescale Intercept");
        if (!slope.empty() && slope[0] != 0)
            frame.slope = slope[0];
        if (!intercept.empty())
            frame.intercept = intercept[0];
        out.frames.push_back(frame);
    }

    const bool littleEndianRaw = ts == gdcm::TransferSyntax::ImplicitVRLittleEndian ||
                                 ts == gdcm::TransferSyntax::ExplicitVRLittleEndian;
    if (littleEndianRaw && frames == 1 && out.samples == 1 && out.bitsAllocated >= 8) {
        out.file.rawLittleEndian = true;
        out.file.pixelValueOffset = reader.GetStreamCurrentPosition();
    }
    return out;
}

std::string layoutKey(const ScannedFile& f) {
    std::ostringstream key;
    key << f.rows << 'x' << f.columns << '/' << f.samples << '/' << f.bitsAllocated << '/';
    for (double v : f.orientation)
        key << std::lround(v * 1000) << ',';
    key << std::lround(f.rowSpacing * 1000) << ',' << std::lround(f.columnSpacing * 1000);
    return key.str();
}

std::string formatMm(double v) {
    std::ostringstream s;
    s.precision(4);
    s << v << " mm";
    return s.str();
}

// Sorts frames along the normal, derives the geometry and notes what is irregular.
void buildGeometry(DicomSeriesLayout& layout, const ScannedFile& first, bool anyPosition,
                   bool allPositions) {
    Geometry& g = layout.geometry;
    const auto& o = first.orientation;
    const Vec3 row{o[0], o[1], o[2]}, col{o[3], o[4], o[5]};
    const Vec3 normal{row[1] * col[2] - row[2] * col[1], row[2] * col[0] - row[0] * col[2],
                      row[0] * col[1] - row[1] * col[0]};
    for (int r = 0; r < 3; ++r) {
        g.direction[r * 3 + 0] = row[r];
        g.direction[r * 3 + 1] = col[r];
        g.direction[r * 3 + 2] = normal[r];
    }
    if (!first.hasOrientation)
        layout.warnings.push_back("no patient orientation: shown in image coordinates");
    if (!first.hasPixelSpacing)
        layout.warnings.push_back("no pixel spacing: 1 mm assumed");
    if (anyPosition && !allPositions)
        layout.warnings.push_back("some images have no patient position");

    auto along = [&](const DicomSeriesLayout::Frame& f) {
        return f.position[0] * normal[0] + f.position[1] * normal[1] + f.position[2] * normal[2];
    };
    auto& frames = layout.frames;
    if (allPositions) {
        std::stable_sort(frames.begin(), frames.end(), [&](const auto& a, const auto& b) {
            const double da = along(a), db = along(b);
            if (std::abs(da - db) > 1e-4)
                return da < db;
            if (a.instanceNumber != b.instanceNumber)
                return a.instanceNumber < b.instanceNumber;
            return a.frame < b.frame;
        });
        // Several images at one position (echoes, phases, b-values): keep the first of each.
        std::vector<DicomSeriesLayout::Frame> unique;
        for (const auto& f : frames)
            if (unique.empty() || std::abs(along(f) - along(unique.back())) > 1e-4)
                unique.push_back(f);
        if (unique.size() != frames.size()) {
            layout.warnings.push_back(
                std::to_string(frames.size()) + " images at " + std::to_string(unique.size()) +
                " positions (several echoes, phases or b-values?): only the first image at "
                "each position is shown");
            frames = std::move(unique);
        }
    } else {
        std::stable_sort(frames.begin(), frames.end(), [](const auto& a, const auto& b) {
            return a.instanceNumber != b.instanceNumber ? a.instanceNumber < b.instanceNumber
                                                        : a.frame < b.frame;
        });
        if (frames.size() > 1)
            layout.warnings.push_back("no slice positions: slices ordered by instance number");
    }

    double dz = first.sliceSpacingTag > 0 ? first.sliceSpacingTag : 1;
    if (allPositions && frames.size() > 1) {
        std::vector<double> gaps;
        for (std::size_t i = 1; i < frames.size(); ++i)
            gaps.push_back(along(frames[i]) - along(frames[i - 1]));
        std::vector<double> sorted = gaps;
        std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
        dz = sorted[sorted.size() / 2];
        const double tolerance = std::max(0.01 * dz, 1e-3);
        int missing = 0;
        double smallest = dz, largest = dz;
        for (std::size_t i = 0; i < gaps.size(); ++i) {
            smallest = std::min(smallest, gaps[i]);
            largest = std::max(largest, gaps[i]);
            if (gaps[i] > 1.5 * dz) {
                const int gapSlices = int(std::lround(gaps[i] / dz)) - 1;
                missing += gapSlices;
                layout.warnings.push_back("about " + std::to_string(gapSlices) +
                                          " slice(s) missing after slice " + std::to_string(i) +
                                          " (gap of " + formatMm(gaps[i]) + ", usual spacing " +
                                          formatMm(dz) + ")");
            }
        }
        if (missing == 0 && largest - smallest > tolerance)
            layout.warnings.push_back("slice spacing is not uniform (from " + formatMm(smallest) +
                                      " to " + formatMm(largest) + "); the volume uses " +
                                      formatMm(dz) + " and is not resampled");
        // Gantry tilt: the stack runs askew to the slice normal.
        const Vec3& a = frames.front().position;
        const Vec3& b = frames.back().position;
        const Vec3 d{b[0] - a[0], b[1] - a[1], b[2] - a[2]};
        const double length = std::sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
        if (length > 0) {
            const double cosine =
                std::abs(d[0] * normal[0] + d[1] * normal[1] + d[2] * normal[2]) / length;
            if (cosine < 0.9999)
                layout.warnings.push_back(
                    "slices are not stacked along the slice normal (gantry tilt?); positions "
                    "off the normal are not corrected");
        }
    }
    if (!(dz > 0))
        dz = 1;
    g.dims = {first.columns, first.rows, int(frames.size())};
    g.spacing = {first.columnSpacing, first.rowSpacing, dz};
    g.origin = allPositions ? frames.front().position : Vec3{0, 0, 0};
}

void choosePixelType(DicomSeriesLayout& layout) {
    if (layout.bitsAllocated == 1) {
        layout.pixelType = PixelType::UInt8;
        return;
    }
    if (layout.samplesPerPixel == 3) {
        layout.pixelType = layout.bitsAllocated == 8    ? PixelType::UInt8
                           : layout.bitsAllocated == 16 ? PixelType::UInt16
                                                        : PixelType::Float32;
        layout.warnings.push_back("colour image (" + layout.photometric +
                                  ") converted to grey levels (luminance)");
        return;
    }
    const int bits = layout.bitsStored;
    const double storedLow = layout.signedPixels ? -std::ldexp(1.0, bits - 1) : 0.0;
    const double storedHigh =
        layout.signedPixels ? std::ldexp(1.0, bits - 1) - 1 : std::ldexp(1.0, bits) - 1;
    double low = std::numeric_limits<double>::max(), high = std::numeric_limits<double>::lowest();
    layout.integralRescale = true;
    for (const auto& f : layout.frames) {
        layout.integralRescale =
            layout.integralRescale && integral(f.slope) && integral(f.intercept);
        for (double v : {storedLow * f.slope + f.intercept, storedHigh * f.slope + f.intercept}) {
            low = std::min(low, v);
            high = std::max(high, v);
        }
    }
    auto fits = [&](double lo, double hi) { return low >= lo && high <= hi; };
    if (!layout.integralRescale)
        layout.pixelType = PixelType::Float32;
    else if (layout.bitsAllocated == 8 && fits(0, 255))
        layout.pixelType = PixelType::UInt8;
    else if (fits(-32768, 32767) || layout.modality == "CT")
        layout.pixelType = PixelType::Int16; // CT: HU as int16, out-of-range values clamped
    else if (fits(0, 65535))
        layout.pixelType = PixelType::UInt16;
    else if (fits(-2147483648.0, 2147483647.0))
        layout.pixelType = PixelType::Int32;
    else
        layout.pixelType = PixelType::Float32;
}

// ---- pixel conversion ----------------------------------------------------------------------

struct FrameConversion {
    const DicomSeriesLayout* layout;
    double slope, intercept;
    std::size_t* clamped;
};

template <class Out> Out saturate(double v, std::size_t& clamped) {
    if constexpr (std::is_floating_point_v<Out>) {
        return Out(v);
    } else {
        constexpr double lo = double(std::numeric_limits<Out>::lowest());
        constexpr double hi = double(std::numeric_limits<Out>::max());
        if (v < lo) {
            ++clamped;
            return Out(lo);
        }
        if (v > hi) {
            ++clamped;
            return Out(hi);
        }
        return Out(std::lround(v));
    }
}

// The hot loop for 8/16-bit stored values with an integral rescale (every CT): 32-bit
// arithmetic and no branches, so the compiler vectorises it.
template <bool Signed, class In, class Out>
std::size_t rescaleNarrow(const In* src, Out* dst, std::size_t n, std::int32_t mask,
                          std::int32_t signBit, std::int32_t slope, std::int32_t intercept) {
    constexpr std::int32_t lo = std::numeric_limits<Out>::lowest();
    constexpr std::int32_t hi = std::numeric_limits<Out>::max();
    std::size_t clamped = 0;
    for (std::size_t i = 0; i < n; ++i) {
        std::int32_t v = std::int32_t(src[i]) & mask;
        if constexpr (Signed)
            v = (v ^ signBit) - signBit;
        v = v * slope + intercept;
        clamped += std::size_t((v < lo) | (v > hi));
        dst[i] = Out(v < lo ? lo : (v > hi ? hi : v));
    }
    return clamped;
}

// Grey pixels of one frame: mask to BitsStored, sign-extend, rescale, saturate.
template <class In, class Out>
void convertGrey(const In* src, Out* dst, std::size_t n, const FrameConversion& c) {
    if constexpr (sizeof(In) <= 2 && std::is_integral_v<Out> && sizeof(Out) <= 2) {
        const double slope = std::round(c.slope), intercept = std::round(c.intercept);
        if (c.layout->integralRescale && std::abs(slope) <= 16384 &&
            std::abs(intercept) < double(1 << 30)) {
            const int bits = c.layout->bitsStored;
            const auto mask = std::int32_t((std::uint32_t(1) << bits) - 1);
            const auto signBit = std::int32_t(std::uint32_t(1) << (bits - 1));
            *c.clamped += c.layout->signedPixels
                              ? rescaleNarrow<true>(src, dst, n, mask, signBit, std::int32_t(slope),
                                                    std::int32_t(intercept))
                              : rescaleNarrow<false>(src, dst, n, mask, signBit,
                                                     std::int32_t(slope), std::int32_t(intercept));
            return;
        }
    }
    const int bits = c.layout->bitsStored;
    const bool isSigned = c.layout->signedPixels;
    using Wide = std::int64_t;
    const Wide mask = bits >= 64 ? -1 : (Wide(1) << bits) - 1;
    const Wide signBit = Wide(1) << (bits - 1);
    if constexpr (!std::is_floating_point_v<Out>) {
        if (c.layout->integralRescale) {
            const Wide slope = std::llround(c.slope), intercept = std::llround(c.intercept);
            constexpr Wide lo = Wide(std::numeric_limits<Out>::lowest());
            constexpr Wide hi = Wide(std::numeric_limits<Out>::max());
            std::size_t clamped = 0;
            for (std::size_t i = 0; i < n; ++i) {
                Wide v = Wide(src[i]) & mask;
                if (isSigned)
                    v = (v ^ signBit) - signBit;
                v = v * slope + intercept;
                clamped += (v < lo) | (v > hi);
                dst[i] = Out(std::clamp(v, lo, hi));
            }
            *c.clamped += clamped;
            return;
        }
    }
    for (std::size_t i = 0; i < n; ++i) {
        Wide v = Wide(src[i]) & mask;
        if (isSigned)
            v = (v ^ signBit) - signBit;
        dst[i] = saturate<Out>(double(v) * c.slope + c.intercept, *c.clamped);
    }
}

template <class In, class Out>
void convertColour(const In* src, Out* dst, std::size_t n, bool byPlane, std::size_t& clamped) {
    for (std::size_t i = 0; i < n; ++i) {
        double r, g, b;
        if (byPlane) {
            r = src[i], g = src[n + i], b = src[2 * n + i];
        } else {
            r = src[3 * i], g = src[3 * i + 1], b = src[3 * i + 2];
        }
        dst[i] = saturate<Out>(0.299 * r + 0.587 * g + 0.114 * b, clamped);
    }
}

// Converts one decoded frame (native byte order, as GDCM or the disk gives it) into its slice.
void convertFrame(const char* src, std::byte* dst, const FrameConversion& c,
                  const std::string& photometric) {
    const DicomSeriesLayout& l = *c.layout;
    const std::size_t n = std::size_t(l.rows) * std::size_t(l.columns);
    if (l.bitsAllocated == 1) { // packed bits, least significant first
        auto* out = reinterpret_cast<std::uint8_t*>(dst);
        for (std::size_t i = 0; i < n; ++i)
            out[i] = (std::uint8_t(src[i / 8]) >> (i % 8)) & 1u;
        return;
    }
    dispatchPixel(l.pixelType, dst, [&](auto* out) {
        using Out = std::remove_pointer_t<decltype(out)>;
        auto run = [&](auto* in) {
            if (l.samplesPerPixel == 3) {
                // GDCM hands YBR_FULL pixels over unconverted: their first channel is luminance.
                const bool ybr = photometric.rfind("YBR", 0) == 0;
                if (ybr) {
                    for (std::size_t i = 0; i < n; ++i)
                        out[i] =
                            saturate<Out>(double(l.planarByPlane ? in[i] : in[3 * i]), *c.clamped);
                } else {
                    convertColour(in, out, n, l.planarByPlane, *c.clamped);
                }
            } else {
                convertGrey(in, out, n, c);
            }
        };
        switch (l.bitsAllocated) {
        case 8:
            run(reinterpret_cast<const std::uint8_t*>(src));
            break;
        case 16:
            run(reinterpret_cast<const std::uint16_t*>(src));
            break;
        default:
            run(reinterpret_cast<const std::uint32_t*>(src));
            break;
        }
    });
}

std::size_t frameBytes(const DicomSeriesLayout& l) {
    const std::size_t pixels = std::size_t(l.rows) * std::size_t(l.columns) * l.samplesPerPixel;
    return l.bitsAllocated == 1 ? (pixels + 7) / 8 : pixels * std::size_t(l.bitsAllocated / 8);
}

struct FileTarget {
    int frame;
    int z;
};

bool readFully(int fd, char* out, std::size_t length, std::uint64_t offset) {
    while (length > 0) {
        const ssize_t n = ::pread(fd, out, length, off_t(offset));
        if (n <= 0)
            return false;
        out += n;
        length -= std::size_t(n);
        offset += std::uint64_t(n);
    }
    return true;
}

// Uncompressed little endian single frame: the pixel bytes go from disk straight into the slice
// when the sizes agree, and are converted in place.
bool readRawFrame(const DicomSeriesLayout::File& file, const DicomSeriesLayout& l,
                  const FrameConversion& conversion, std::byte* slice, std::vector<char>& scratch) {
    FileDescriptor fd(file.path);
    if (fd.get() < 0)
        throw ReadError(file.path, "cannot be opened");
    // The element header just before the value: tag, (VR, reserved,) 32-bit length.
    const bool explicitVr = file.transferSyntax == std::string("1.2.840.10008.1.2.1");
    const std::uint64_t headerBytes = explicitVr ? 12 : 8;
    const std::uint64_t valueOffset = file.pixelValueOffset;
    unsigned char header[12];
    if (valueOffset < headerBytes || !readFully(fd.get(), reinterpret_cast<char*>(header),
                                                headerBytes, valueOffset - headerBytes))
        return false;
    const auto u16 = [&](std::uint64_t at) {
        return unsigned(header[at]) | unsigned(header[at + 1]) << 8;
    };
    if (u16(0) != 0x7fe0 || u16(2) != 0x0010)
        throw ReadError(file.path, "has no pixel data");
    const std::uint32_t length =
        std::uint32_t(u16(headerBytes - 4)) | std::uint32_t(u16(headerBytes - 2)) << 16;
    const std::size_t needed = frameBytes(l);
    if (length == 0xffffffffu)
        return false;
    if (length < needed)
        throw ReadError(file.path, "is truncated: its pixel data is shorter than the image size");
    const std::size_t outBytes = std::size_t(l.rows) * l.columns * bytesPerVoxel(l.pixelType);
    char* target = reinterpret_cast<char*>(slice);
    if (outBytes != needed) {
        scratch.resize(needed);
        target = scratch.data();
    }
    if (!readFully(fd.get(), target, needed, valueOffset))
        throw ReadError(file.path, "is truncated: its pixel data ends early");
    convertFrame(target, slice, conversion, l.photometric);
    return true;
}

void decodeFile(const DicomSeriesLayout& l, int fileIndex, const std::vector<FileTarget>& targets,
                Volume& volume, std::vector<char>& scratch, std::size_t& clamped) {
    const auto& file = l.files[std::size_t(fileIndex)];
    const std::size_t sliceBytes =
        std::size_t(l.rows) * std::size_t(l.columns) * bytesPerVoxel(l.pixelType);
    auto conversionFor = [&](int z) {
        const auto& f = l.frames[std::size_t(z)];
        return FrameConversion{&l, f.slope, f.intercept, &clamped};
    };
    if (file.rawLittleEndian && targets.size() == 1) {
        const int z = targets.front().z;
        if (readRawFrame(file, l, conversionFor(z), volume.data() + std::size_t(z) * sliceBytes,
                         scratch))
            return;
    }
    // GDCM decodes the pixel data; the image description comes from our own header scan.
    // (gdcm::ImageReader would re-derive geometry and aborts on some valid RT files.)
    checkDicomStructure(file.path); // the file may have changed since the scan
    gdcm::Reader reader;
    reader.SetFileName(file.path.c_str());
    if (!reader.Read())
        throw ReadError(file.path, readFailureReason(file.path));
    const gdcm::DataSet& ds = reader.GetFile().GetDataSet();
    if (!ds.FindDataElement(kPixelData) || ds.GetDataElement(kPixelData).IsEmpty())
        throw ReadError(file.path, "has no pixel data");
    gdcm::Image image;
    image.SetNumberOfDimensions(file.frames > 1 ? 3 : 2);
    image.SetDimension(0, unsigned(l.columns));
    image.SetDimension(1, unsigned(l.rows));
    if (file.frames > 1)
        image.SetDimension(2, unsigned(file.frames));
    image.SetPixelFormat(gdcm::PixelFormat(
        std::uint16_t(l.samplesPerPixel), std::uint16_t(l.bitsAllocated),
        std::uint16_t(l.bitsStored), std::uint16_t(l.bitsStored - 1), l.signedPixels ? 1 : 0));
    image.SetPhotometricInterpretation(
        gdcm::PhotometricInterpretation::GetPIType(l.photometric.c_str()));
    image.SetPlanarConfiguration(l.planarByPlane ? 1 : 0);
    image.SetTransferSyntax(reader.GetFile().GetHeader().GetDataSetTransferSyntax());
    image.SetDataElement(ds.GetDataElement(kPixelData));
    const std::size_t length = image.GetBufferLength();
    const std::size_t perFrame = frameBytes(l);
    if (length < perFrame * std::size_t(file.frames))
        throw ReadError(file.path, "pixel data is shorter than its image size (truncated?)");
    scratch.resize(length);
    if (!image.GetBuffer(scratch.data()))
        throw ReadError(file.path, "pixel data could not be decoded (transfer syntax " +
                                       file.transferSyntax + "; truncated or unsupported)");
    // GDCM swaps big endian OW pixel data as 16-bit words: 32-bit values come back with their
    // halves exchanged (checked against pydicom on rtdose_expb.dcm).
    if (image.GetTransferSyntax() == gdcm::TransferSyntax::ExplicitVRBigEndian &&
        l.bitsAllocated == 32) {
        auto* words = reinterpret_cast<std::uint32_t*>(scratch.data());
        for (std::size_t i = 0; i < length / 4; ++i)
            words[i] = (words[i] >> 16) | (words[i] << 16);
    }
    std::string photometric = image.GetPhotometricInterpretation().GetString()
                                  ? image.GetPhotometricInterpretation().GetString()
                                  : l.photometric;
    DicomSeriesLayout adjusted = l; // GDCM may return planes interleaved after decoding
    adjusted.planarByPlane = image.GetPlanarConfiguration() == 1;
    for (const auto& t : targets) {
        FrameConversion c = conversionFor(t.z);
        c.layout = &adjusted;
        convertFrame(scratch.data() + perFrame * std::size_t(t.frame),
                     volume.data() + std::size_t(t.z) * sliceBytes, c, trimmed(photometric));
    }
}

SeriesSummary summaryOf(std::shared_ptr<DicomSeriesLayout> layout, std::string key) {
    SeriesSummary s;
    s.key = std::move(key);
    s.format = "DICOM";
    s.modality = layout->modality;
    s.description = layout->description;
    s.imageCount = int(layout->frames.size());
    for (const auto& f : layout->files)
        s.files.push_back(f.path);
    s.warnings = layout->warnings;
    s.dicomLayout = std::move(layout);
    return s;
}

} // namespace

void abortsEndTheProcess() {
    abortGuardOff.store(true);
}

void runAsLibraryCall(const fs::path& file, const std::function<void()>& call) {
    guardedGdcmCall(file, call);
}

bool isDicomDir(const fs::path& file) {
    // Refused as image reading refuses (explicit VR declared over implicit: GDCM's partial read
    // takes a value for a length, gigabytes zero-filled for 10 s under load, before it fails).
    if (dicomStructureProblem(file, VrDisagreement::Refuse))
        return false; // scanned as an image file, and refused there with the reason
    return guardedGdcmCall(file, [&] {
        gdcm::Reader reader;
        reader.SetFileName(file.c_str());
        if (!reader.ReadUpToTag(gdcm::Tag(0x0002, 0x0003)))
            return false;
        const gdcm::FileMetaInformation& meta = reader.GetFile().GetHeader();
        return stringOf(meta, gdcm::Tag(0x0002, 0x0002)) == "1.2.840.10008.1.3.10";
    });
}

std::vector<fs::path> filesOfDicomDir(const fs::path& dicomdir) {
    checkDicomStructure(dicomdir);
    return guardedGdcmCall(dicomdir, [&] {
        gdcm::Reader reader;
        reader.SetFileName(dicomdir.c_str());
        if (!reader.Read())
            throw ReadError(dicomdir, "is a damaged DICOMDIR");
        const Sequence records =
            sequenceOf(reader.GetFile().GetDataSet(), gdcm::Tag(0x0004, 0x1220));
        std::vector<fs::path> files;
        for (std::size_t i = 0; i < records.size(); ++i) {
            const std::string id = stringOf(*records.item(i), gdcm::Tag(0x0004, 0x1500));
            if (id.empty())
                continue;
            fs::path path = dicomdir.parent_path();
            std::size_t start = 0;
            while (start <= id.size()) {
                std::size_t end = id.find('\\', start);
                if (end == std::string::npos)
                    end = id.size();
                path /= trimmed(id.substr(start, end - start));
                start = end + 1;
            }
            files.push_back(path);
        }
        if (files.empty())
            throw ReadError(dicomdir, "is a DICOMDIR that lists no images");
        return files;
    });
}

std::vector<SeriesSummary> scanSeries(const std::vector<fs::path>& files, bool singleFileGiven,
                                      const Progress& progress) {
    std::vector<std::optional<ScannedFile>> scanned(files.size());
    std::vector<std::string> failures(files.size());
    std::atomic<std::size_t> next{0}, done{0};
    std::atomic<bool> cancelled{false};
    // Two threads parse headers; the calling thread also reports progress between files.
    auto work = [&](bool reportProgress) {
        for (std::size_t i = next++; i < files.size() && !cancelled; i = next++) {
            try {
                scanned[i] =
                    guardedGdcmCall(files[i], [&] { return scanFile(files[i], &failures[i]); });
            } catch (const ReadError& e) {
                failures[i] = e.reason();
            } catch (const std::exception& e) {
                failures[i] = std::string("could not be read: ") + e.what();
            }
            ++done;
            if (reportProgress && progress && !progress(0.2 * double(done) / double(files.size())))
                cancelled = true;
        }
    };
    std::thread helper;
    if (files.size() > 8)
        helper = std::thread(work, false);
    work(true);
    if (helper.joinable())
        helper.join();
    if (cancelled)
        throw ReadError(files.empty() ? fs::path() : files.front().parent_path(), "cancelled");

    if (singleFileGiven && files.size() == 1 && !scanned[0])
        throw ReadError(files[0], failures[0]);

    // Group by series UID, then split by image layout.
    std::map<std::string, std::map<std::string, std::vector<std::size_t>>> groups;
    std::size_t skipped = 0;
    std::string firstFailure;
    for (std::size_t i = 0; i < files.size(); ++i) {
        if (!scanned[i]) {
            // A PACS's instance, held in memory, has no name: /proc/self/fd/N says nothing.
            if (firstFailure.empty())
                firstFailure =
                    (files[i].parent_path() == "/proc/self/fd" ? std::string("an instance")
                                                               : files[i].filename().string()) +
                    " " + failures[i];
            ++skipped;
            continue;
        }
        const std::string uid =
            scanned[i]->seriesUid.empty() ? "file:" + files[i].string() : scanned[i]->seriesUid;
        groups[uid][layoutKey(*scanned[i])].push_back(i);
    }
    if (groups.empty()) {
        if (files.size() == 1)
            throw ReadError(files[0], failures[0]);
        throw ReadError(files.empty() ? fs::path() : files.front().parent_path(),
                        "holds no readable DICOM images (" + std::to_string(files.size()) +
                            " files; e.g. " + firstFailure + ")");
    }

    std::vector<SeriesSummary> result;
    for (auto& [uid, layouts] : groups) {
        int part = 0;
        for (auto& [layoutName, members] : layouts) {
            auto layout = std::make_shared<DicomSeriesLayout>();
            const ScannedFile& first = *scanned[members.front()];
            bool anyPosition = false, allPositions = true;
            for (std::size_t m : members) {
                ScannedFile& s = *scanned[m];
                const int fileIndex = int(layout->files.size());
                layout->files.push_back(s.file);
                for (auto frame : s.frames) {
                    frame.file = fileIndex;
                    layout->frames.push_back(frame);
                }
                anyPosition = anyPosition || s.hasPosition;
                allPositions = allPositions && s.hasPosition;
            }
            layout->rows = first.rows;
            layout->columns = first.columns;
            layout->samplesPerPixel = first.samples;
            layout->bitsAllocated = first.bitsAllocated;
            layout->bitsStored = first.bitsStored;
            layout->signedPixels = first.signedPixels;
            layout->planarByPlane = first.planarByPlane;
            layout->photometric = first.photometric;
            layout->modality = first.modality;
            layout->description = first.description;
            if (layouts.size() > 1)
                layout->warnings.push_back(
                    "the files of this series disagree in image size, orientation or pixel "
                    "spacing: split into " +
                    std::to_string(layouts.size()) + " series");
            if (skipped > 0)
                layout->warnings.push_back(std::to_string(skipped) +
                                           " file(s) of the source are not DICOM images and "
                                           "were skipped (e.g. " +
                                           firstFailure + ")");
            buildGeometry(*layout, first, anyPosition, allPositions);
            choosePixelType(*layout);
            std::string key = uid;
            if (layouts.size() > 1)
                key += "#" + std::to_string(++part);
            result.push_back(summaryOf(std::move(layout), std::move(key)));
        }
    }
    return result;
}

Volume readSeries(const SeriesSummary& series, const Progress& progress, ReadReport* report,
                  const FileDecoding& fileDecoding) {
    std::shared_ptr<const DicomSeriesLayout> layout = series.dicomLayout;
    if (!layout) { // built by hand from a file list: scan it now
        auto found = scanSeries(series.files, series.files.size() == 1, {});
        auto match = std::find_if(found.begin(), found.end(),
                                  [&](const auto& s) { return s.key == series.key; });
        layout = (match != found.end() ? *match : found.front()).dicomLayout;
    }
    const DicomSeriesLayout& l = *layout;
    Volume volume = Volume::uninitialized(l.geometry, l.pixelType);
    volume.modality = l.modality;
    volume.seriesDescription = l.description;
    volume.sourceFormat = "DICOM";

    std::vector<std::vector<FileTarget>> targets(l.files.size());
    for (std::size_t z = 0; z < l.frames.size(); ++z)
        targets[std::size_t(l.frames[z].file)].push_back({l.frames[z].frame, int(z)});
    std::vector<int> order;
    for (std::size_t i = 0; i < targets.size(); ++i)
        if (!targets[i].empty())
            order.push_back(int(i));
    // Along the slices, whatever order the files came in: the volume's pages are then touched
    // from one end to the other as the files are done (a PACS import frees each file then).
    const auto firstSlice = [&](int file) {
        int z = std::numeric_limits<int>::max();
        for (const auto& target : targets[std::size_t(file)])
            z = std::min(z, target.z);
        return z;
    };
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int b) { return firstSlice(a) < firstSlice(b); });

    // The two threads take runs of files that fill 2 MiB of the volume each: on huge pages
    // (the decoder's voxel memory) a thread then never waits for the other to zero the page
    // it writes into.
    const std::size_t sliceBytes =
        std::max<std::size_t>(1, volume.byteCount() / std::max<std::size_t>(1, l.frames.size()));
    const std::size_t run = std::clamp<std::size_t>((std::size_t(2) << 20) / sliceBytes, 1, 64);
    std::atomic<std::size_t> next{0}, done{0};
    std::atomic<bool> stop{false};
    std::mutex failureMutex;
    std::exception_ptr failure;
    std::size_t clampedTotal = 0;
    auto work = [&](bool reportProgress) {
        std::vector<char> scratch;
        std::size_t clamped = 0;
        try {
            for (std::size_t first = next.fetch_add(run); first < order.size() && !stop;
                 first = next.fetch_add(run))
                for (std::size_t i = first; i < std::min(order.size(), first + run) && !stop; ++i) {
                    const auto& file = l.files[std::size_t(order[i])];
                    if (fileDecoding)
                        fileDecoding(file.path, false);
                    guardedGdcmCall(file.path, [&] {
                        decodeFile(l, order[i], targets[std::size_t(order[i])], volume, scratch,
                                   clamped);
                    });
                    if (fileDecoding)
                        fileDecoding(file.path, true);
                    ++done;
                    if (reportProgress && progress &&
                        !progress(std::min(0.999, 0.2 + 0.8 * double(done) / double(order.size()))))
                        throw ReadError(series.files.empty() ? fs::path(series.key)
                                                             : series.files.front().parent_path(),
                                        "cancelled");
                }
        } catch (...) {
            std::lock_guard lock(failureMutex);
            if (!failure)
                failure = std::current_exception();
            stop = true;
        }
        std::lock_guard lock(failureMutex);
        clampedTotal += clamped;
    };
    std::thread helper;
    if (order.size() > 4)
        helper = std::thread(work, false);
    work(true);
    if (helper.joinable())
        helper.join();
    if (failure)
        std::rethrow_exception(failure);
    if (progress && !progress(1.0))
        throw ReadError(fs::path(series.key), "cancelled");

    if (report) {
        report->warnings.insert(report->warnings.end(), l.warnings.begin(), l.warnings.end());
        if (clampedTotal > 0)
            report->warnings.push_back(std::to_string(clampedTotal) +
                                       " voxel value(s) were outside the " +
                                       pixelTypeName(l.pixelType) + " range and were clamped");
    }
    return volume;
}

} // namespace dicom
} // namespace radmark::imaging
