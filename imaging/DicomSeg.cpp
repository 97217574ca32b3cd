#include "imaging/DicomSeg.h"

#include "imaging/DescriptorStreamBuffer.h"
#include "imaging/DicomStructure.h"

#include <gdcmDataSet.h>
#include <gdcmDict.h>
#include <gdcmDicts.h>
#include <gdcmFile.h>
#include <gdcmFileExplicitFilter.h>
#include <gdcmGlobal.h>
#include <gdcmItem.h>
#include <gdcmReader.h>
#include <gdcmSequenceOfItems.h>
#include <gdcmTransferSyntax.h>
#include <gdcmWriter.h>

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <streambuf>
#include <utility>

namespace radmark::imaging {

namespace fs = std::filesystem;

namespace {

constexpr const char* segmentationStorage = "1.2.840.10008.5.1.4.1.1.66.4";
constexpr const char* ctImageStorage = "1.2.840.10008.5.1.4.1.1.2";

// ---- values --------------------------------------------------------------------------------

std::string trimmed(std::string_view v) {
    while (!v.empty() && (v.back() == ' ' || v.back() == '\0'))
        v.remove_suffix(1);
    while (!v.empty() && v.front() == ' ')
        v.remove_prefix(1);
    return std::string(v);
}

std::string textOf(const gdcm::DataSet& ds, std::uint16_t group, std::uint16_t element) {
    const gdcm::Tag tag(group, element);
    if (!ds.FindDataElement(tag))
        return "";
    const gdcm::ByteValue* value = ds.GetDataElement(tag).GetByteValue();
    if (!value || !value->GetPointer())
        return "";
    return trimmed(std::string_view(value->GetPointer(), value->GetLength()));
}

std::vector<double> numbersOf(const gdcm::DataSet& ds, std::uint16_t group, std::uint16_t element) {
    std::vector<double> numbers;
    std::stringstream in(textOf(ds, group, element));
    std::string part;
    while (std::getline(in, part, '\\')) {
        char* end = nullptr;
        const std::string t = trimmed(part);
        const double v = std::strtod(t.c_str(), &end);
        if (t.empty() || end != t.c_str() + t.size() || !std::isfinite(v))
            return {};
        numbers.push_back(v);
    }
    return numbers;
}

// An unsigned 16-bit value (US, little endian); nullopt when absent.
std::optional<std::uint16_t> unsignedOf(const gdcm::DataSet& ds, std::uint16_t group,
                                        std::uint16_t element, std::size_t index = 0) {
    const gdcm::Tag tag(group, element);
    if (!ds.FindDataElement(tag))
        return std::nullopt;
    const gdcm::ByteValue* value = ds.GetDataElement(tag).GetByteValue();
    if (!value || value->GetLength() < 2 * (index + 1))
        return std::nullopt;
    const auto* p = reinterpret_cast<const std::uint8_t*>(value->GetPointer()) + 2 * index;
    return std::uint16_t(p[0] | (p[1] << 8));
}

// The first item of a sequence element of ds (null when absent or empty).
const gdcm::DataSet* firstItem(const gdcm::DataSet& ds, std::uint16_t group, std::uint16_t element,
                               std::vector<gdcm::SmartPointer<gdcm::SequenceOfItems>>& keep) {
    const gdcm::Tag tag(group, element);
    if (!ds.FindDataElement(tag))
        return nullptr;
    gdcm::SmartPointer<gdcm::SequenceOfItems> items = ds.GetDataElement(tag).GetValueAsSQ();
    if (!items || items->GetNumberOfItems() == 0)
        return nullptr;
    keep.push_back(items);
    return &items->GetItem(1).GetNestedDataSet();
}

// A decimal string (DS) of at most 16 characters.
std::string decimalString(double v) {
    char text[32];
    for (int precision = 15; precision > 1; --precision) {
        std::snprintf(text, sizeof text, "%.*g", precision, std::abs(v) < 1e-12 ? 0.0 : v);
        if (std::strlen(text) <= 16)
            break;
    }
    return text;
}

// ---- building datasets ---------------------------------------------------------------------

gdcm::DataElement textElement(std::uint16_t group, std::uint16_t element, gdcm::VR::VRType vr,
                              std::string value) {
    gdcm::DataElement de(gdcm::Tag(group, element));
    de.SetVR(vr);
    if (value.size() % 2)
        value.push_back(vr == gdcm::VR::UI ? '\0' : ' ');
    if (!value.empty())
        de.SetByteValue(value.data(), std::uint32_t(value.size()));
    return de;
}

gdcm::DataElement binaryElement(std::uint16_t group, std::uint16_t element, gdcm::VR::VRType vr,
                                const std::vector<std::uint8_t>& bytes) {
    gdcm::DataElement de(gdcm::Tag(group, element));
    de.SetVR(vr);
    de.SetByteValue(reinterpret_cast<const char*>(bytes.data()), std::uint32_t(bytes.size()));
    return de;
}

gdcm::DataElement unsignedElement(std::uint16_t group, std::uint16_t element,
                                  std::initializer_list<std::uint32_t> values,
                                  gdcm::VR::VRType vr = gdcm::VR::US) {
    std::vector<std::uint8_t> bytes;
    const int width = vr == gdcm::VR::UL ? 4 : 2;
    for (std::uint32_t v : values)
        for (int b = 0; b < width; ++b)
            bytes.push_back(std::uint8_t(v >> (8 * b)));
    return binaryElement(group, element, vr, bytes);
}

gdcm::DataElement signedShortElement(std::uint16_t group, std::uint16_t element, int value) {
    const auto v = std::uint16_t(std::int16_t(value));
    return binaryElement(group, element, gdcm::VR::SS,
                         {std::uint8_t(v & 0xff), std::uint8_t(v >> 8)});
}

// Attribute Tag values: group then element, each little endian.
gdcm::DataElement tagElement(std::uint16_t group, std::uint16_t element, gdcm::Tag value) {
    const std::uint16_t g = value.GetGroup(), e = value.GetElement();
    return binaryElement(group, element, gdcm::VR::AT,
                         {std::uint8_t(g & 0xff), std::uint8_t(g >> 8), std::uint8_t(e & 0xff),
                          std::uint8_t(e >> 8)});
}

gdcm::Item item(std::initializer_list<gdcm::DataElement> elements) {
    gdcm::Item it;
    it.SetVLToUndefined();
    for (const auto& e : elements)
        it.GetNestedDataSet().Insert(e);
    return it;
}

gdcm::DataElement sequenceElement(std::uint16_t group, std::uint16_t element,
                                  const std::vector<gdcm::Item>& items) {
    gdcm::SmartPointer<gdcm::SequenceOfItems> sequence = new gdcm::SequenceOfItems;
    sequence->SetLengthToUndefined();
    for (const auto& it : items)
        sequence->AddItem(it);
    gdcm::DataElement de(gdcm::Tag(group, element));
    de.SetVR(gdcm::VR::SQ);
    de.SetValue(*sequence);
    de.SetVLToUndefined();
    return de;
}

gdcm::Item codeItem(const CodedTerm& term) {
    return item({textElement(0x0008, 0x0100, gdcm::VR::SH, term.code),
                 textElement(0x0008, 0x0102, gdcm::VR::SH, term.scheme),
                 textElement(0x0008, 0x0104, gdcm::VR::LO, term.meaning)});
}

// ---- colour ---------------------------------------------------------------------------------

// sRGB (D65) to DICOM's scaled CIELab (PS3.3 C.10.7.1.1): L* 0..100 and a*, b* -128..127 onto
// 0..65535.
std::array<std::uint16_t, 3> dicomLab(const std::array<std::uint8_t, 3>& rgb) {
    double lin[3];
    for (int i = 0; i < 3; ++i) {
        const double c = rgb[std::size_t(i)] / 255.0;
        lin[i] = c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4);
    }
    const double x = (0.4124564 * lin[0] + 0.3575761 * lin[1] + 0.1804375 * lin[2]) / 0.95047;
    const double y = 0.2126729 * lin[0] + 0.7151522 * lin[1] + 0.0721750 * lin[2];
    const double z = (0.0193339 * lin[0] + 0.1191920 * lin[1] + 0.9503041 * lin[2]) / 1.08883;
    auto f = [](double t) {
        const double d = 6.0 / 29.0;
        return t > d * d * d ? std::cbrt(t) : t / (3 * d * d) + 4.0 / 29.0;
    };
    const double l = 116 * f(y) - 16, a = 500 * (f(x) - f(y)), b = 200 * (f(y) - f(z));
    auto scaled = [](double v, double low, double high) {
        return std::uint16_t(
            std::clamp(std::lround((v - low) / (high - low) * 65535.0), 0L, 65535L));
    };
    return {scaled(l, 0, 100), scaled(a, -128, 127), scaled(b, -128, 127)};
}

std::array<std::uint8_t, 3> rgbOfDicomLab(const std::array<std::uint16_t, 3>& lab) {
    const double l = lab[0] / 65535.0 * 100, a = lab[1] / 65535.0 * 255 - 128,
                 b = lab[2] / 65535.0 * 255 - 128;
    const double fy = (l + 16) / 116, fx = fy + a / 500, fz = fy - b / 200;
    auto finv = [](double t) {
        const double d = 6.0 / 29.0;
        return t > d ? t * t * t : 3 * d * d * (t - 4.0 / 29.0);
    };
    const double x = 0.95047 * finv(fx), y = finv(fy), z = 1.08883 * finv(fz);
    const double lin[3] = {3.2404542 * x - 1.5371385 * y - 0.4985314 * z,
                           -0.9692660 * x + 1.8760108 * y + 0.0415560 * z,
                           0.0556434 * x - 0.2040259 * y + 1.0572252 * z};
    std::array<std::uint8_t, 3> rgb{};
    for (int i = 0; i < 3; ++i) {
        const double c = std::clamp(lin[i], 0.0, 1.0);
        const double s = c <= 0.0031308 ? 12.92 * c : 1.055 * std::pow(c, 1 / 2.4) - 0.055;
        rgb[std::size_t(i)] = std::uint8_t(std::lround(s * 255));
    }
    return rgb;
}

// ---- UIDs -----------------------------------------------------------------------------------

// "2.25." and the decimal value of 16 hash bytes (PS3.5 B.2: a UUID as one integer).
std::string uidFromHash(const std::array<std::uint8_t, 16>& hash) {
    std::array<std::uint8_t, 16> n = hash;
    std::string digits;
    bool zero = false;
    while (!zero) {
        unsigned remainder = 0;
        zero = true;
        for (auto& byte : n) {
            const unsigned value = (remainder << 8) | byte;
            byte = std::uint8_t(value / 10);
            remainder = value % 10;
            zero = zero && byte == 0;
        }
        digits.push_back(char('0' + remainder));
    }
    std::reverse(digits.begin(), digits.end());
    return "2.25." + digits;
}

class UidHash {
  public:
    UidHash() {
        static const bool ready = sodium_init() >= 0;
        (void)ready;
        crypto_generichash_init(&state_, nullptr, 0, 32);
    }
    void add(std::string_view text) {
        const std::uint64_t size = text.size(); // length-prefixed: no two inputs run together
        crypto_generichash_update(&state_, reinterpret_cast<const unsigned char*>(&size),
                                  sizeof size);
        crypto_generichash_update(&state_, reinterpret_cast<const unsigned char*>(text.data()),
                                  text.size());
    }
    void add(const std::vector<std::uint8_t>& bytes) {
        add(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    }
    // The UID for one role ("series", "instance", ...) of what was hashed.
    std::string uid(std::string_view role) const {
        crypto_generichash_state copy = state_;
        std::array<std::uint8_t, 32> digest{};
        crypto_generichash_update(&copy, reinterpret_cast<const unsigned char*>(role.data()),
                                  role.size());
        crypto_generichash_final(&copy, digest.data(), digest.size());
        std::array<std::uint8_t, 16> first{};
        std::copy_n(digest.begin(), 16, first.begin());
        return uidFromHash(first);
    }

  private:
    crypto_generichash_state state_{};
};

// ---- source headers -------------------------------------------------------------------------

struct SourceImage {
    gdcm::SmartPointer<gdcm::File> file;
    std::string sopClassUid, sopInstanceUid, studyUid, seriesUid, frameUid;
    std::string positionText, orientationText;
    Vec3 position{0, 0, 0};
    int rows = 0, columns = 0, instanceNumber = 0;
    double along = 0;
};

gdcm::SmartPointer<gdcm::File> parseHeader(const DicomBytes& bytes, std::size_t index) {
    std::istringstream in(std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    gdcm::SmartPointer<gdcm::File> file = new gdcm::File;
    gdcm::Reader reader;
    reader.SetFile(*file);
    reader.SetStream(in);
    if (!reader.Read())
        throw DicomExportError("Source header " + std::to_string(index + 1) +
                               " is not readable DICOM.");
    const gdcm::TransferSyntax& ts = file->GetHeader().GetDataSetTransferSyntax();
    if (ts.GetSwapCode() == gdcm::SwapCode::BigEndian)
        throw DicomExportError("Source header " + std::to_string(index + 1) +
                               " is big endian, which the export does not write.");
    // Everything is written explicit VR: give implicit datasets their VRs from the dictionary.
    if (ts.IsImplicit()) {
        gdcm::FileExplicitFilter explicitFilter;
        explicitFilter.SetFile(*file);
        if (!explicitFilter.Change())
            throw DicomExportError("Source header " + std::to_string(index + 1) +
                                   " cannot be converted to explicit VR.");
    }
    return file;
}

double dot(const Vec3& a, const Vec3& b) {
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

// The headers in the volume's slice order, checked against its geometry: the same image size
// and orientation, one image a slice, the first at the volume's origin. Several images at one
// position keep the first by instance number, as the series reader does.
std::vector<SourceImage> sourceSlices(const Geometry& g, const std::vector<DicomBytes>& headers) {
    if (headers.empty())
        throw DicomExportError("The series has no stored DICOM headers (it was not imported "
                               "from DICOM).");
    const Vec3 rowAxis{g.direction[0], g.direction[3], g.direction[6]};
    const Vec3 columnAxis{g.direction[1], g.direction[4], g.direction[7]};
    const Vec3 normal{g.direction[2], g.direction[5], g.direction[8]};
    std::vector<SourceImage> images;
    for (std::size_t i = 0; i < headers.size(); ++i) {
        SourceImage s;
        s.file = parseHeader(headers[i], i);
        const gdcm::DataSet& ds = s.file->GetDataSet();
        const std::string which = "Source header " + std::to_string(i + 1);
        s.sopClassUid = textOf(ds, 0x0008, 0x0016);
        s.sopInstanceUid = textOf(ds, 0x0008, 0x0018);
        s.studyUid = textOf(ds, 0x0020, 0x000D);
        s.seriesUid = textOf(ds, 0x0020, 0x000E);
        s.frameUid = textOf(ds, 0x0020, 0x0052);
        s.positionText = textOf(ds, 0x0020, 0x0032);
        s.orientationText = textOf(ds, 0x0020, 0x0037);
        s.rows = unsignedOf(ds, 0x0028, 0x0010).value_or(0);
        s.columns = unsignedOf(ds, 0x0028, 0x0011).value_or(0);
        const auto instance = numbersOf(ds, 0x0020, 0x0013);
        s.instanceNumber = instance.empty() ? 0 : int(instance[0]);
        const auto frames = numbersOf(ds, 0x0028, 0x0008);
        if (!frames.empty() && frames[0] > 1)
            throw DicomExportError(which + " is a multi-frame image, which the export does not "
                                           "write yet.");
        if (s.sopClassUid.empty() || s.sopInstanceUid.empty() || s.seriesUid.empty() ||
            s.studyUid.empty())
            throw DicomExportError(which + " lacks its SOP, series or study UID.");
        const auto position = numbersOf(ds, 0x0020, 0x0032);
        const auto orientation = numbersOf(ds, 0x0020, 0x0037);
        if (position.size() != 3 || orientation.size() != 6)
            throw DicomExportError(which + " has no image position or orientation.");
        s.position = {position[0], position[1], position[2]};
        if (s.rows != g.dims[1] || s.columns != g.dims[0])
            throw DicomExportError(which + " is " + std::to_string(s.columns) + "x" +
                                   std::to_string(s.rows) + " pixels but the volume's slices are " +
                                   std::to_string(g.dims[0]) + "x" + std::to_string(g.dims[1]) +
                                   ".");
        const Vec3 row{orientation[0], orientation[1], orientation[2]};
        const Vec3 column{orientation[3], orientation[4], orientation[5]};
        for (int k = 0; k < 3; ++k)
            if (std::abs(row[std::size_t(k)] - rowAxis[std::size_t(k)]) > 1e-3 ||
                std::abs(column[std::size_t(k)] - columnAxis[std::size_t(k)]) > 1e-3)
                throw DicomExportError(which + " is not in the orientation of the volume.");
        s.along = dot(s.position, normal);
        images.push_back(std::move(s));
    }
    std::stable_sort(images.begin(), images.end(), [](const SourceImage& a, const SourceImage& b) {
        if (std::abs(a.along - b.along) > 1e-4)
            return a.along < b.along;
        return a.instanceNumber < b.instanceNumber;
    });
    std::vector<SourceImage> unique;
    for (auto& s : images)
        if (unique.empty() || std::abs(s.along - unique.back().along) > 1e-4)
            unique.push_back(std::move(s));
    if (int(unique.size()) != g.dims[2])
        throw DicomExportError("The series has images at " + std::to_string(unique.size()) +
                               " positions but the volume has " + std::to_string(g.dims[2]) +
                               " slices.");
    const SourceImage& first = unique.front();
    for (const auto& s : unique)
        if (s.seriesUid != first.seriesUid || s.studyUid != first.studyUid ||
            s.frameUid != first.frameUid)
            throw DicomExportError("The source headers belong to more than one series.");
    const Vec3 offset{first.position[0] - g.origin[0], first.position[1] - g.origin[1],
                      first.position[2] - g.origin[2]};
    const Vec3 axes[3] = {rowAxis, columnAxis, normal};
    for (int k = 0; k < 3; ++k)
        if (std::abs(dot(offset, axes[k])) > 0.1 * g.spacing[std::size_t(k)])
            throw DicomExportError("The first source image does not lie at the volume's origin: "
                                   "the headers are not this volume's.");
    return unique;
}

// ---- bit packing ----------------------------------------------------------------------------

// One frame's bits (pixel i at bit i % 8 of byte i / 8) for the voxels equal to value.
void packFrame(const std::uint8_t* slice, int bytesPerLabel, std::size_t pixels,
               std::uint16_t value, std::uint8_t* out) {
    const std::size_t whole = pixels / 8;
    if (bytesPerLabel == 1) {
        const auto v = std::uint8_t(value);
        for (std::size_t b = 0; b < whole; ++b) {
            std::uint8_t byte = 0;
            for (int j = 0; j < 8; ++j)
                byte |= std::uint8_t((slice[8 * b + std::size_t(j)] == v) << j);
            out[b] = byte;
        }
    } else {
        for (std::size_t b = 0; b < whole; ++b) {
            std::uint8_t byte = 0;
            for (int j = 0; j < 8; ++j) {
                const std::size_t i = 8 * b + std::size_t(j);
                const auto label = std::uint16_t(slice[2 * i] | (slice[2 * i + 1] << 8));
                byte |= std::uint8_t((label == value) << j);
            }
            out[b] = byte;
        }
    }
    if (pixels % 8) {
        std::uint8_t byte = 0;
        for (std::size_t i = 8 * whole; i < pixels; ++i) {
            const auto label = bytesPerLabel == 1
                                   ? std::uint16_t(slice[i])
                                   : std::uint16_t(slice[2 * i] | (slice[2 * i + 1] << 8));
            byte |= std::uint8_t((label == value) << (i - 8 * whole));
        }
        out[whole] = byte;
    }
}

// ORs `bits` bits of src (starting at its bit 0) into dst from bit `offset` on. dst has a spare
// byte past the last one touched.
void placeBits(std::uint8_t* dst, std::size_t offset, const std::uint8_t* src, std::size_t bits) {
    const std::size_t first = offset / 8, bytes = (bits + 7) / 8;
    const unsigned shift = unsigned(offset % 8);
    if (shift == 0) {
        for (std::size_t i = 0; i < bytes; ++i)
            dst[first + i] |= src[i];
        return;
    }
    for (std::size_t i = 0; i < bytes; ++i) {
        dst[first + i] |= std::uint8_t(src[i] << shift);
        dst[first + i + 1] |= std::uint8_t(src[i] >> (8 - shift));
    }
}

void checkSegments(const std::vector<SegmentDescription>& segments) {
    if (segments.empty())
        throw DicomExportError("A DICOM SEG needs at least one segment.");
    std::set<std::uint16_t> seen;
    for (const auto& s : segments) {
        const std::string name = "Segment \"" + s.name + "\"";
        if (s.labelValue == 0 || !seen.insert(s.labelValue).second)
            throw DicomExportError(name + " has label 0 or a label another segment has.");
        if (s.category.code.empty() || s.type.code.empty() || s.category.scheme.empty() ||
            s.type.scheme.empty())
            throw DicomExportError(name + " has no terminology code: a DICOM SEG needs its "
                                          "category and type.");
        if (s.algorithmType != "MANUAL" && s.algorithmType != "SEMIAUTOMATIC" &&
            s.algorithmType != "AUTOMATIC")
            throw DicomExportError(name + ": the algorithm type must be MANUAL, SEMIAUTOMATIC "
                                          "or AUTOMATIC.");
        if (s.algorithmType != "MANUAL" && s.algorithmName.empty())
            throw DicomExportError(name + " needs the name of its algorithm.");
    }
}

void copyElements(const gdcm::DataSet& from, gdcm::DataSet& to,
                  std::initializer_list<std::pair<std::uint16_t, std::uint16_t>> tags) {
    for (const auto& [group, element] : tags) {
        const gdcm::Tag tag(group, element);
        if (from.FindDataElement(tag))
            to.Replace(from.GetDataElement(tag));
    }
}

// Type 2 attributes: present, empty when the source has no value.
void ensurePresent(gdcm::DataSet& ds, std::uint16_t group, std::uint16_t element,
                   gdcm::VR::VRType vr) {
    if (!ds.FindDataElement(gdcm::Tag(group, element)))
        ds.Insert(textElement(group, element, vr, ""));
}

// file must be owned by a gdcm::SmartPointer (the writer takes a counted reference to it).
std::vector<std::uint8_t> serialize(gdcm::File& file, const std::string& what) {
    std::ostringstream out;
    gdcm::Writer writer;
    writer.SetFile(file);
    writer.SetStream(out);
    if (!writer.Write())
        throw DicomExportError("GDCM could not encode the " + what + ".");
    const std::string bytes = std::move(out).str();
    return {bytes.begin(), bytes.end()};
}

// Straight to the file (no copy of a large SEG in memory); returns its size. A full disk or a
// missing folder is a DicomExportError naming the file, and nothing is left at the path.
std::uint64_t writeFile(gdcm::File& file, const fs::path& path) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        throw DicomExportError("Cannot write " + path.string() + ": " + std::strerror(errno) + ".");
    bool encoded = false;
    int error = 0;
    {
        DescriptorStreamBuffer buffer(fd, std::size_t(1) << 20);
        std::ostream out(&buffer);
        gdcm::Writer writer;
        writer.SetFile(file);
        writer.SetStream(out);
        encoded = writer.Write();
        out.flush();
        error = buffer.finish();
    }
    if (::close(fd) != 0 && error == 0)
        error = errno;
    std::error_code ignored;
    if (error != 0) {
        fs::remove(path, ignored);
        throw DicomExportError("Cannot write " + path.string() + ": " + std::strerror(error) + ".");
    }
    if (!encoded) {
        fs::remove(path, ignored);
        throw DicomExportError("GDCM could not encode " + path.string() + ".");
    }
    std::error_code sizeError;
    const auto size = fs::file_size(path, sizeError);
    if (sizeError)
        throw DicomExportError("Cannot write " + path.string() + ": " + sizeError.message());
    return size;
}

} // namespace

// ---- SEG ------------------------------------------------------------------------------------

namespace {

// The SEG as a GDCM file (owned by a SmartPointer, as gdcm::Writer wants); fills `written`
// except its byte count.
gdcm::SmartPointer<gdcm::File> segmentationFile(const LabelVoxels& labels,
                                                const std::vector<SegmentDescription>& segments,
                                                const std::vector<DicomBytes>& sourceHeaders,
                                                const SegOptions& options, DicomWritten& written) {
    const Geometry& g = labels.geometry;
    if (labels.bytesPerLabel != 1 && labels.bytesPerLabel != 2)
        throw DicomExportError("Labels are 1 or 2 bytes a voxel.");
    if (options.contentDate.size() != 8 || options.contentTime.empty())
        throw DicomExportError("A DICOM SEG needs its content date (YYYYMMDD) and time.");
    checkSegments(segments);
    const std::vector<SourceImage> slices = sourceSlices(g, sourceHeaders);
    // Every labelled voxel belongs to a segment: none is dropped without a word.
    std::vector<std::uint8_t> described(65536, 0), present(65536, 0);
    for (const auto& s : segments)
        described[s.labelValue] = 1;
    for (std::size_t i = 0; i < g.voxelCount(); ++i)
        present[labels.bytesPerLabel == 1
                    ? labels.data[i]
                    : std::size_t(labels.data[2 * i] | (labels.data[2 * i + 1] << 8))] = 1;
    for (std::size_t label = 1; label < present.size(); ++label)
        if (present[label] && !described[label])
            throw DicomExportError("Label " + std::to_string(label) +
                                   " is in the label map but no segment describes it.");

    // Pixel Data: segment after segment, slice after slice, frames packed without padding.
    const std::size_t pixels = std::size_t(g.dims[0]) * std::size_t(g.dims[1]);
    const std::size_t frameCount = segments.size() * std::size_t(g.dims[2]);
    const std::size_t totalBits = frameCount * pixels;
    std::vector<std::uint8_t> pixelData((totalBits + 7) / 8 + 2, 0);
    std::vector<std::uint8_t> frame((pixels + 7) / 8);
    for (std::size_t s = 0; s < segments.size(); ++s) {
        for (int z = 0; z < g.dims[2]; ++z) {
            const std::uint8_t* slice =
                labels.data + std::size_t(z) * pixels * std::size_t(labels.bytesPerLabel);
            packFrame(slice, labels.bytesPerLabel, pixels, segments[s].labelValue, frame.data());
            placeBits(pixelData.data(), (s * std::size_t(g.dims[2]) + std::size_t(z)) * pixels,
                      frame.data(), pixels);
        }
    }
    pixelData.resize((totalBits + 7) / 8);
    if (pixelData.size() % 2)
        pixelData.push_back(0);

    // UIDs from everything that makes this SEG what it is.
    UidHash hash;
    hash.add(options.uidSeed);
    hash.add(slices.front().seriesUid);
    for (const auto& s : slices)
        hash.add(s.sopInstanceUid);
    for (const auto& s : segments) {
        for (const std::string& text :
             {s.name, s.category.scheme, s.category.code, s.category.meaning, s.type.scheme,
              s.type.code, s.type.meaning, s.algorithmType, s.algorithmName})
            hash.add(text);
        hash.add(std::string_view(reinterpret_cast<const char*>(s.rgb.data()), 3));
    }
    for (const std::string& text :
         {options.contentDate, options.contentTime, options.seriesDescription, options.contentLabel,
          options.contentDescription, options.contentCreator, std::to_string(options.seriesNumber)})
        hash.add(text);
    hash.add(pixelData);
    const std::string sopUid = hash.uid("sop instance"), seriesUid = hash.uid("series"),
                      dimensionUid = hash.uid("dimension organization");

    // On the heap: gdcm::Writer holds the file through a reference-counting pointer.
    const gdcm::SmartPointer<gdcm::File> file = new gdcm::File;
    file->GetHeader().SetDataSetTransferSyntax(gdcm::TransferSyntax::ExplicitVRLittleEndian);
    gdcm::DataSet& ds = file->GetDataSet();
    const gdcm::DataSet& source = slices.front().file->GetDataSet();
    // Patient, study and frame of reference as the de-identified source has them.
    copyElements(source, ds,
                 {{0x0008, 0x0005},   // Specific Character Set
                  {0x0008, 0x0020},   // Study Date
                  {0x0008, 0x0030},   // Study Time
                  {0x0008, 0x0050},   // Accession Number
                  {0x0008, 0x0090},   // Referring Physician's Name
                  {0x0008, 0x1030},   // Study Description
                  {0x0010, 0x0010},   // Patient's Name
                  {0x0010, 0x0020},   // Patient ID
                  {0x0010, 0x0030},   // Patient's Birth Date
                  {0x0010, 0x0040},   // Patient's Sex
                  {0x0010, 0x1010},   // Patient's Age
                  {0x0010, 0x1020},   // Patient's Size
                  {0x0010, 0x1030},   // Patient's Weight
                  {0x0012, 0x0062},   // Patient Identity Removed
                  {0x0012, 0x0063},   // De-identification Method
                  {0x0012, 0x0064},   // De-identification Method Code Sequence
                  {0x0020, 0x000D},   // Study Instance UID
                  {0x0020, 0x0010},   // Study ID
                  {0x0020, 0x0052},   // Frame of Reference UID
                  {0x0020, 0x1040},   // Position Reference Indicator
                  {0x0028, 0x0303}}); // Longitudinal Temporal Information Modified
    for (const auto& [group, element, vr] :
         {std::tuple{std::uint16_t(0x0010), std::uint16_t(0x0010), gdcm::VR::PN},
          std::tuple{std::uint16_t(0x0010), std::uint16_t(0x0020), gdcm::VR::LO},
          std::tuple{std::uint16_t(0x0010), std::uint16_t(0x0030), gdcm::VR::DA},
          std::tuple{std::uint16_t(0x0010), std::uint16_t(0x0040), gdcm::VR::CS},
          std::tuple{std::uint16_t(0x0008), std::uint16_t(0x0020), gdcm::VR::DA},
          std::tuple{std::uint16_t(0x0008), std::uint16_t(0x0030), gdcm::VR::TM},
          std::tuple{std::uint16_t(0x0008), std::uint16_t(0x0050), gdcm::VR::SH},
          std::tuple{std::uint16_t(0x0008), std::uint16_t(0x0090), gdcm::VR::PN},
          std::tuple{std::uint16_t(0x0020), std::uint16_t(0x0010), gdcm::VR::SH},
          std::tuple{std::uint16_t(0x0020), std::uint16_t(0x1040), gdcm::VR::LO}})
        ensurePresent(ds, group, element, vr);
    if (slices.front().frameUid.empty())
        throw DicomExportError("The source images have no Frame of Reference UID.");

    // SOP Common, General Series, Segmentation Series, equipment.
    ds.Replace(textElement(0x0008, 0x0016, gdcm::VR::UI, segmentationStorage));
    ds.Replace(textElement(0x0008, 0x0018, gdcm::VR::UI, sopUid));
    ds.Replace(textElement(0x0008, 0x0060, gdcm::VR::CS, "SEG"));
    ds.Replace(textElement(0x0020, 0x000E, gdcm::VR::UI, seriesUid));
    ds.Replace(textElement(0x0020, 0x0011, gdcm::VR::IS, std::to_string(options.seriesNumber)));
    ds.Replace(textElement(0x0008, 0x103E, gdcm::VR::LO, options.seriesDescription));
    ds.Replace(textElement(0x0008, 0x0070, gdcm::VR::LO, options.manufacturer));
    ds.Replace(textElement(0x0008, 0x1090, gdcm::VR::LO, options.modelName));
    ds.Replace(textElement(0x0018, 0x1000, gdcm::VR::LO, options.deviceSerialNumber));
    ds.Replace(textElement(0x0018, 0x1020, gdcm::VR::LO, options.softwareVersions));

    // General Image, Image Pixel, Segmentation Image, Multi-frame Functional Groups.
    ds.Replace(textElement(0x0020, 0x0013, gdcm::VR::IS, "1"));
    ds.Replace(textElement(0x0008, 0x0008, gdcm::VR::CS, "DERIVED\\PRIMARY"));
    ds.Replace(textElement(0x0008, 0x0023, gdcm::VR::DA, options.contentDate));
    ds.Replace(textElement(0x0008, 0x0033, gdcm::VR::TM, options.contentTime));
    ds.Replace(textElement(0x0070, 0x0080, gdcm::VR::CS, options.contentLabel));
    ds.Replace(textElement(0x0070, 0x0081, gdcm::VR::LO, options.contentDescription));
    ds.Replace(textElement(0x0070, 0x0084, gdcm::VR::PN, options.contentCreator));
    ds.Replace(textElement(0x0062, 0x0001, gdcm::VR::CS, "BINARY"));
    ds.Replace(textElement(0x0062, 0x0013, gdcm::VR::CS, "NO")); // Segments Overlap: a label map
    ds.Replace(unsignedElement(0x0028, 0x0002, {1}));
    ds.Replace(textElement(0x0028, 0x0004, gdcm::VR::CS, "MONOCHROME2"));
    ds.Replace(unsignedElement(0x0028, 0x0010, {std::uint32_t(g.dims[1])}));
    ds.Replace(unsignedElement(0x0028, 0x0011, {std::uint32_t(g.dims[0])}));
    ds.Replace(unsignedElement(0x0028, 0x0100, {1}));
    ds.Replace(unsignedElement(0x0028, 0x0101, {1}));
    ds.Replace(unsignedElement(0x0028, 0x0102, {0}));
    ds.Replace(unsignedElement(0x0028, 0x0103, {0}));
    ds.Replace(textElement(0x0028, 0x2110, gdcm::VR::CS, "00")); // Lossy Image Compression
    ds.Replace(textElement(0x0028, 0x0008, gdcm::VR::IS, std::to_string(frameCount)));

    // Segment Sequence.
    std::vector<gdcm::Item> segmentItems;
    for (std::size_t s = 0; s < segments.size(); ++s) {
        const SegmentDescription& d = segments[s];
        gdcm::Item it = item({unsignedElement(0x0062, 0x0004, {std::uint32_t(s + 1)}),
                              textElement(0x0062, 0x0005, gdcm::VR::LO, d.name),
                              textElement(0x0062, 0x0008, gdcm::VR::CS, d.algorithmType),
                              sequenceElement(0x0062, 0x0003, {codeItem(d.category)}),
                              sequenceElement(0x0062, 0x000F, {codeItem(d.type)})});
        const auto lab = dicomLab(d.rgb);
        it.GetNestedDataSet().Insert(unsignedElement(0x0062, 0x000D, {lab[0], lab[1], lab[2]}));
        if (d.algorithmType != "MANUAL")
            it.GetNestedDataSet().Insert(
                textElement(0x0062, 0x0009, gdcm::VR::LO, d.algorithmName));
        segmentItems.push_back(std::move(it));
    }
    ds.Replace(sequenceElement(0x0062, 0x0002, segmentItems));

    // Multi-frame Dimension: segment number, then position.
    ds.Replace(sequenceElement(0x0020, 0x9221,
                               {item({textElement(0x0020, 0x9164, gdcm::VR::UI, dimensionUid)})}));
    ds.Replace(sequenceElement(
        0x0020, 0x9222,
        {item({textElement(0x0020, 0x9164, gdcm::VR::UI, dimensionUid),
               tagElement(0x0020, 0x9165, gdcm::Tag(0x0062, 0x000B)),
               tagElement(0x0020, 0x9167, gdcm::Tag(0x0062, 0x000A)),
               textElement(0x0020, 0x9421, gdcm::VR::LO, "ReferencedSegmentNumber")}),
         item({textElement(0x0020, 0x9164, gdcm::VR::UI, dimensionUid),
               tagElement(0x0020, 0x9165, gdcm::Tag(0x0020, 0x0032)),
               tagElement(0x0020, 0x9167, gdcm::Tag(0x0020, 0x9113)),
               textElement(0x0020, 0x9421, gdcm::VR::LO, "ImagePositionPatient")})}));

    // Shared Functional Groups: Pixel Measures and Plane Orientation.
    std::string pixelSpacing = textOf(source, 0x0028, 0x0030);
    if (numbersOf(source, 0x0028, 0x0030).size() != 2)
        pixelSpacing = decimalString(g.spacing[1]) + "\\" + decimalString(g.spacing[0]);
    std::string thickness = textOf(source, 0x0018, 0x0050);
    if (numbersOf(source, 0x0018, 0x0050).size() != 1)
        thickness = decimalString(g.spacing[2]);
    ds.Replace(sequenceElement(
        0x5200, 0x9229,
        {item({sequenceElement(0x0028, 0x9110,
                               {item({textElement(0x0028, 0x0030, gdcm::VR::DS, pixelSpacing),
                                      textElement(0x0018, 0x0050, gdcm::VR::DS, thickness),
                                      textElement(0x0018, 0x0088, gdcm::VR::DS,
                                                  decimalString(g.spacing[2]))})}),
               sequenceElement(0x0020, 0x9116,
                               {item({textElement(0x0020, 0x0037, gdcm::VR::DS,
                                                  slices.front().orientationText)})})})}));

    // Per-frame Functional Groups: every frame, empty ones included.
    const gdcm::Item purpose = item(
        {textElement(0x0008, 0x0100, gdcm::VR::SH, "121322"),
         textElement(0x0008, 0x0102, gdcm::VR::SH, "DCM"),
         textElement(0x0008, 0x0104, gdcm::VR::LO, "Source image for image processing operation")});
    const gdcm::Item derivation = item({textElement(0x0008, 0x0100, gdcm::VR::SH, "113076"),
                                        textElement(0x0008, 0x0102, gdcm::VR::SH, "DCM"),
                                        textElement(0x0008, 0x0104, gdcm::VR::LO, "Segmentation")});
    std::vector<gdcm::Item> frames;
    frames.reserve(frameCount);
    for (std::size_t s = 0; s < segments.size(); ++s) {
        for (std::size_t z = 0; z < slices.size(); ++z) {
            const SourceImage& image = slices[z];
            frames.push_back(item(
                {sequenceElement(
                     0x0008, 0x9124,
                     {item({sequenceElement(
                                0x0008, 0x2112,
                                {item({textElement(0x0008, 0x1150, gdcm::VR::UI, image.sopClassUid),
                                       textElement(0x0008, 0x1155, gdcm::VR::UI,
                                                   image.sopInstanceUid),
                                       sequenceElement(0x0040, 0xA170, {purpose})})}),
                            sequenceElement(0x0008, 0x9215, {derivation})})}),
                 sequenceElement(0x0020, 0x9111,
                                 {item({unsignedElement(
                                     0x0020, 0x9157, {std::uint32_t(s + 1), std::uint32_t(z + 1)},
                                     gdcm::VR::UL)})}),
                 sequenceElement(
                     0x0020, 0x9113,
                     {item({textElement(0x0020, 0x0032, gdcm::VR::DS, image.positionText)})}),
                 sequenceElement(
                     0x0062, 0x000A,
                     {item({unsignedElement(0x0062, 0x000B, {std::uint32_t(s + 1)})})})}));
        }
    }
    ds.Replace(sequenceElement(0x5200, 0x9230, frames));

    // Common Instance Reference: the series and every image the frames derive from.
    std::vector<gdcm::Item> instances;
    for (const auto& image : slices)
        instances.push_back(
            item({textElement(0x0008, 0x1150, gdcm::VR::UI, image.sopClassUid),
                  textElement(0x0008, 0x1155, gdcm::VR::UI, image.sopInstanceUid)}));
    ds.Replace(
        sequenceElement(0x0008, 0x1115,
                        {item({textElement(0x0020, 0x000E, gdcm::VR::UI, slices.front().seriesUid),
                               sequenceElement(0x0008, 0x114A, instances)})}));

    ds.Replace(binaryElement(0x7FE0, 0x0010, gdcm::VR::OB, pixelData));
    std::vector<std::uint8_t>().swap(pixelData); // GDCM holds its own copy

    written.sopInstanceUid = sopUid;
    written.seriesInstanceUid = seriesUid;
    written.frames = int(frameCount);
    return file;
}

} // namespace

DicomBytes dicomSegBytes(const LabelVoxels& labels, const std::vector<SegmentDescription>& segments,
                         const std::vector<DicomBytes>& sourceHeaders, const SegOptions& options,
                         DicomWritten* written) {
    DicomWritten done;
    const auto file = segmentationFile(labels, segments, sourceHeaders, options, done);
    DicomBytes bytes = serialize(*file, "segmentation");
    done.bytes = bytes.size();
    if (written)
        *written = done;
    return bytes;
}

DicomWritten writeDicomSeg(const LabelVoxels& labels,
                           const std::vector<SegmentDescription>& segments,
                           const std::vector<DicomBytes>& sourceHeaders, const SegOptions& options,
                           const fs::path& path) {
    DicomWritten written;
    const auto file = segmentationFile(labels, segments, sourceHeaders, options, written);
    written.bytes = writeFile(*file, path);
    return written;
}

// ---- source images --------------------------------------------------------------------------

namespace {

struct PixelEncoding {
    int bitsAllocated = 16;
    bool isSigned = true;
};

PixelEncoding encodingFor(const Volume& volume) {
    switch (volume.pixelType()) {
    case PixelType::UInt8:
        return {8, false};
    case PixelType::Int16:
        return {16, true};
    case PixelType::UInt16:
        return {16, false};
    case PixelType::Int32: {
        const auto [low, high] = volume.scalarRange();
        if (low >= -32768 && high <= 32767)
            return {16, true};
        if (low >= 0 && high <= 65535)
            return {16, false};
        throw DicomExportError("The stored image holds values beyond 16 bits, which DICOM images "
                               "of this series cannot hold.");
    }
    case PixelType::Float32:
        break;
    }
    throw DicomExportError("The stored image holds fractional values (a non-integer rescale): it "
                           "cannot be written back as DICOM images of its series.");
}

std::vector<std::uint8_t> slicePixels(const Volume& volume, int z, const PixelEncoding& encoding) {
    const Geometry& g = volume.geometry();
    const std::size_t pixels = std::size_t(g.dims[0]) * std::size_t(g.dims[1]);
    std::vector<std::uint8_t> bytes(pixels * std::size_t(encoding.bitsAllocated / 8));
    const std::size_t first = std::size_t(z) * pixels;
    if (volume.pixelType() == PixelType::Int32) {
        const auto* v = volume.as<std::int32_t>() + first;
        for (std::size_t i = 0; i < pixels; ++i) {
            const auto u = std::uint16_t(v[i]);
            bytes[2 * i] = std::uint8_t(u & 0xff);
            bytes[2 * i + 1] = std::uint8_t(u >> 8);
        }
    } else {
        std::memcpy(bytes.data(),
                    reinterpret_cast<const std::uint8_t*>(volume.data()) +
                        first * bytesPerVoxel(volume.pixelType()),
                    bytes.size());
    }
    if (bytes.size() % 2)
        bytes.push_back(0);
    return bytes;
}

// A pixel padding value (US or SS per the old Pixel Representation) in the new units, or nullopt
// when it does not fit the new encoding.
std::optional<int> convertedPadding(const gdcm::DataSet& ds, std::uint16_t element, bool wasSigned,
                                    double slope, double intercept, const PixelEncoding& encoding) {
    const auto raw = unsignedOf(ds, 0x0028, element);
    if (!raw)
        return std::nullopt;
    const double stored = wasSigned ? double(std::int16_t(*raw)) : double(*raw);
    const long value = std::lround(stored * slope + intercept);
    const long low = encoding.isSigned ? -(1L << (encoding.bitsAllocated - 1)) : 0;
    const long high = encoding.isSigned ? (1L << (encoding.bitsAllocated - 1)) - 1
                                        : (1L << encoding.bitsAllocated) - 1;
    if (value < low || value > high)
        return std::nullopt;
    return int(value);
}

} // namespace

SourceImagesWritten writeDicomSourceImages(const Volume& volume,
                                           const std::vector<DicomBytes>& sourceHeaders,
                                           const fs::path& folder) {
    if (volume.empty())
        throw DicomExportError("The stored image has no voxels.");
    const PixelEncoding encoding = encodingFor(volume);
    std::vector<SourceImage> slices = sourceSlices(volume.geometry(), sourceHeaders);
    SourceImagesWritten written;
    for (std::size_t z = 0; z < slices.size(); ++z) {
        gdcm::File& file = *slices[z].file;
        gdcm::DataSet& ds = file.GetDataSet();
        const bool wasSigned = unsignedOf(ds, 0x0028, 0x0103).value_or(0) == 1;
        const auto slope = numbersOf(ds, 0x0028, 0x1053);
        const auto intercept = numbersOf(ds, 0x0028, 0x1052);
        const double oldSlope = slope.empty() ? 1.0 : slope[0];
        const double oldIntercept = intercept.empty() ? 0.0 : intercept[0];
        const bool hasRescale =
            !slope.empty() || !intercept.empty() || slices[z].sopClassUid == ctImageStorage;
        std::optional<int> padding[2];
        for (int p = 0; p < 2; ++p)
            padding[p] = convertedPadding(ds, std::uint16_t(0x0120 + p), wasSigned, oldSlope,
                                          oldIntercept, encoding);

        // Image Pixel module: one grey sample as the volume holds it.
        const std::string photometric = textOf(ds, 0x0028, 0x0004);
        ds.Replace(textElement(0x0028, 0x0004, gdcm::VR::CS,
                               photometric == "MONOCHROME1" ? "MONOCHROME1" : "MONOCHROME2"));
        for (std::uint16_t e : {0x0006, 0x0106, 0x0107, 0x0120, 0x0121, 0x1101, 0x1102, 0x1103,
                                0x1199, 0x1201, 0x1202, 0x1203})
            ds.Remove(gdcm::Tag(0x0028, e)); // planar configuration, min/max, padding, palette
        ds.Replace(unsignedElement(0x0028, 0x0002, {1}));
        ds.Replace(unsignedElement(0x0028, 0x0100, {std::uint32_t(encoding.bitsAllocated)}));
        ds.Replace(unsignedElement(0x0028, 0x0101, {std::uint32_t(encoding.bitsAllocated)}));
        ds.Replace(unsignedElement(0x0028, 0x0102, {std::uint32_t(encoding.bitsAllocated - 1)}));
        ds.Replace(unsignedElement(0x0028, 0x0103, {encoding.isSigned ? 1u : 0u}));
        for (int p = 0; p < 2; ++p) {
            if (!padding[p])
                continue;
            const auto e = std::uint16_t(0x0120 + p);
            ds.Replace(encoding.isSigned
                           ? signedShortElement(0x0028, e, *padding[p])
                           : unsignedElement(0x0028, e, {std::uint32_t(*padding[p])}));
        }
        if (!padding[0])
            ds.Remove(gdcm::Tag(0x0028, 0x0121)); // a range limit needs its padding value
        if (hasRescale) {
            ds.Replace(textElement(0x0028, 0x1053, gdcm::VR::DS, "1"));
            ds.Replace(textElement(0x0028, 0x1052, gdcm::VR::DS, "0"));
        }
        if (file.GetHeader().GetDataSetTransferSyntax().IsLossy())
            ds.Replace(textElement(0x0028, 0x2110, gdcm::VR::CS, "01"));
        ds.Replace(binaryElement(0x7FE0, 0x0010,
                                 encoding.bitsAllocated == 8 ? gdcm::VR::OB : gdcm::VR::OW,
                                 slicePixels(volume, int(z), encoding)));

        // Uncompressed, explicit VR little endian; the file meta follows the dataset.
        file.GetHeader().Remove(gdcm::Tag(0x0002, 0x0010));
        file.GetHeader().SetDataSetTransferSyntax(gdcm::TransferSyntax::ExplicitVRLittleEndian);
        char name[32];
        std::snprintf(name, sizeof name, "slice-%04zu.dcm", z + 1);
        const fs::path path = folder / name;
        written.bytes += writeFile(file, path);
        written.files.push_back(path);
        slices[z].file = nullptr; // its pixels are on disk: free them
    }
    return written;
}

// ---- reading --------------------------------------------------------------------------------

bool isDicomSegmentation(const fs::path& file) {
    // A DICOM file (Part 10) says "DICM" after its 128-byte preamble: anything else (a NIfTI
    // mask) is not handed to GDCM at all.
    char magic[132] = {};
    std::ifstream in(file, std::ios::binary);
    if (!in.read(magic, sizeof magic) || std::memcmp(magic + 128, "DICM", 4) != 0)
        return false;
    // A file GDCM would trip over is no segmentation: the volume reader then refuses it with
    // the structure check's sentence.
    if (dicomStructureProblem(file))
        return false;
    gdcm::Reader reader;
    reader.SetFileName(file.c_str());
    if (!reader.ReadUpToTag(gdcm::Tag(0x0008, 0x0017)))
        return false;
    return textOf(reader.GetFile().GetDataSet(), 0x0008, 0x0016) == segmentationStorage;
}

DicomSegmentation readDicomSegmentation(const fs::path& path) {
    checkDicomStructure(path);
    gdcm::Reader reader;
    reader.SetFileName(path.c_str());
    if (!reader.Read())
        throw ReadError(path, "not a readable DICOM file");
    const gdcm::DataSet& ds = reader.GetFile().GetDataSet();
    if (textOf(ds, 0x0008, 0x0016) != segmentationStorage)
        throw ReadError(path, "not a DICOM Segmentation");
    const std::string type = textOf(ds, 0x0062, 0x0001);
    if (type != "BINARY")
        throw ReadError(path, "only binary segmentations can be imported (this one is " +
                                  (type.empty() ? std::string("untyped") : type) + ")");
    if (reader.GetFile().GetHeader().GetDataSetTransferSyntax().IsEncapsulated())
        throw ReadError(path, "compressed segmentation pixel data is not supported");
    DicomSegmentation seg;
    seg.rows = unsignedOf(ds, 0x0028, 0x0010).value_or(0);
    seg.columns = unsignedOf(ds, 0x0028, 0x0011).value_or(0);
    const auto frameCount = numbersOf(ds, 0x0028, 0x0008);
    const std::size_t frames = frameCount.empty() ? 1 : std::size_t(frameCount[0]);
    if (seg.rows < 1 || seg.columns < 1 || frames < 1 || unsignedOf(ds, 0x0028, 0x0100) != 1)
        throw ReadError(path, "no 1-bit frames (rows, columns, frames or bits allocated missing)");

    const gdcm::Tag pixelTag(0x7FE0, 0x0010);
    const gdcm::ByteValue* pixelData =
        ds.FindDataElement(pixelTag) ? ds.GetDataElement(pixelTag).GetByteValue() : nullptr;
    const std::size_t bits = frames * std::size_t(seg.rows) * std::size_t(seg.columns);
    if (!pixelData || pixelData->GetLength() < (bits + 7) / 8)
        throw ReadError(path, "the pixel data is shorter than its frames");
    const auto* p = reinterpret_cast<const std::uint8_t*>(pixelData->GetPointer());
    seg.packedBits.assign(p, p + (bits + 7) / 8);

    std::vector<gdcm::SmartPointer<gdcm::SequenceOfItems>> keep;
    // Segments.
    const gdcm::Tag segmentTag(0x0062, 0x0002);
    if (!ds.FindDataElement(segmentTag))
        throw ReadError(path, "no Segment Sequence");
    const auto segmentItems = ds.GetDataElement(segmentTag).GetValueAsSQ();
    for (std::size_t i = 1; segmentItems && i <= segmentItems->GetNumberOfItems(); ++i) {
        const gdcm::DataSet& s = segmentItems->GetItem(i).GetNestedDataSet();
        SegmentDescription d;
        d.labelValue = unsignedOf(s, 0x0062, 0x0004).value_or(0);
        d.name = textOf(s, 0x0062, 0x0005);
        d.algorithmType = textOf(s, 0x0062, 0x0008);
        d.algorithmName = textOf(s, 0x0062, 0x0009);
        for (auto [element, term] : {std::pair{std::uint16_t(0x0003), &d.category},
                                     std::pair{std::uint16_t(0x000F), &d.type}}) {
            if (const gdcm::DataSet* code = firstItem(s, 0x0062, element, keep))
                *term = {textOf(*code, 0x0008, 0x0102), textOf(*code, 0x0008, 0x0100),
                         textOf(*code, 0x0008, 0x0104)};
        }
        const auto l = unsignedOf(s, 0x0062, 0x000D, 0), a = unsignedOf(s, 0x0062, 0x000D, 1),
                   b = unsignedOf(s, 0x0062, 0x000D, 2);
        if (l && a && b)
            d.rgb = rgbOfDicomLab({*l, *a, *b});
        if (d.labelValue == 0)
            throw ReadError(path, "a segment without a segment number");
        seg.segments.push_back(std::move(d));
    }
    if (seg.segments.empty())
        throw ReadError(path, "no segments");

    // Frame geometry: shared, then per frame (a per-frame group overrides the shared one).
    SegmentationFrame shared;
    bool sharedOrientation = false, sharedSpacing = false;
    auto readGroups = [&](const gdcm::DataSet& group, SegmentationFrame& f, bool& orientation,
                          bool& spacing) {
        if (const gdcm::DataSet* measures = firstItem(group, 0x0028, 0x9110, keep)) {
            const auto s = numbersOf(*measures, 0x0028, 0x0030);
            if (s.size() == 2) {
                f.rowSpacing = s[0];
                f.columnSpacing = s[1];
                spacing = true;
            }
        }
        if (const gdcm::DataSet* plane = firstItem(group, 0x0020, 0x9116, keep)) {
            const auto o = numbersOf(*plane, 0x0020, 0x0037);
            if (o.size() == 6) {
                f.rowDirection = {o[0], o[1], o[2]};
                f.columnDirection = {o[3], o[4], o[5]};
                orientation = true;
            }
        }
    };
    if (const gdcm::DataSet* group = firstItem(ds, 0x5200, 0x9229, keep))
        readGroups(*group, shared, sharedOrientation, sharedSpacing);
    const gdcm::Tag perFrameTag(0x5200, 0x9230);
    const auto perFrame =
        ds.FindDataElement(perFrameTag) ? ds.GetDataElement(perFrameTag).GetValueAsSQ() : nullptr;
    if (!perFrame || perFrame->GetNumberOfItems() != frames)
        throw ReadError(path, "the per-frame functional groups do not match the frame count");
    for (std::size_t i = 1; i <= frames; ++i) {
        const gdcm::DataSet& group = perFrame->GetItem(i).GetNestedDataSet();
        SegmentationFrame f = shared;
        bool orientation = sharedOrientation, spacing = sharedSpacing;
        readGroups(group, f, orientation, spacing);
        const gdcm::DataSet* position = firstItem(group, 0x0020, 0x9113, keep);
        const auto ipp = position ? numbersOf(*position, 0x0020, 0x0032) : std::vector<double>{};
        const gdcm::DataSet* segment = firstItem(group, 0x0062, 0x000A, keep);
        const auto number = segment ? unsignedOf(*segment, 0x0062, 0x000B) : std::nullopt;
        if (ipp.size() != 3 || !orientation || !spacing || !number)
            throw ReadError(path, "frame " + std::to_string(i) +
                                      " lacks its position, orientation, spacing or segment");
        f.position = {ipp[0], ipp[1], ipp[2]};
        f.segmentNumber = *number;
        seg.frames.push_back(f);
    }
    return seg;
}

std::optional<FramePlacement> placeFrame(const DicomSegmentation& seg, std::size_t frame,
                                         const Geometry& grid, std::string* why) {
    auto refuse = [&](std::string reason) -> std::optional<FramePlacement> {
        if (why)
            *why = std::move(reason);
        return std::nullopt;
    };
    const SegmentationFrame& f = seg.frames[frame];
    const Vec3 start = grid.lpsToIndex(f.position);
    auto stepOf = [&](const Vec3& direction, double spacing, Index3& step) {
        const Vec3 next{f.position[0] + direction[0] * spacing,
                        f.position[1] + direction[1] * spacing,
                        f.position[2] + direction[2] * spacing};
        const Vec3 index = grid.lpsToIndex(next);
        int axis = -1;
        for (int k = 0; k < 3; ++k) {
            const double d = index[std::size_t(k)] - start[std::size_t(k)];
            if (std::abs(std::abs(d) - 1) < 0.01 && axis < 0) {
                axis = k;
                step[std::size_t(k)] = d > 0 ? 1 : -1;
            } else if (std::abs(d) < 0.01) {
                step[std::size_t(k)] = 0;
            } else {
                return false;
            }
        }
        return axis >= 0;
    };
    FramePlacement placement;
    if (!stepOf(f.rowDirection, f.columnSpacing, placement.columnStep) ||
        !stepOf(f.columnDirection, f.rowSpacing, placement.rowStep) ||
        placement.columnStep == placement.rowStep)
        return refuse("The segmentation's frames are not in the study's orientation and pixel "
                      "spacing: it was made on another grid.");
    for (int k = 0; k < 3; ++k) {
        const double rounded = std::round(start[std::size_t(k)]);
        if (std::abs(start[std::size_t(k)] - rounded) > 0.01)
            return refuse("The segmentation's frames lie between the study's voxels: it was made "
                          "on a different grid.");
        placement.first[std::size_t(k)] = int(rounded);
    }
    Index3 last{};
    for (int k = 0; k < 3; ++k)
        last[std::size_t(k)] = placement.first[std::size_t(k)] +
                               (seg.columns - 1) * placement.columnStep[std::size_t(k)] +
                               (seg.rows - 1) * placement.rowStep[std::size_t(k)];
    if (!grid.contains(placement.first) || !grid.contains(last))
        return refuse("Frame " + std::to_string(frame + 1) +
                      " of the segmentation lies outside the study.");
    return placement;
}

} // namespace radmark::imaging
