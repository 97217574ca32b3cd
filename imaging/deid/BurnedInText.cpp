#include "imaging/deid/BurnedInText.h"

#include "imaging/Volume.h"
#include "imaging/deid/DicomElements.h"

#include <gdcmDataSet.h>
#include <gdcmFile.h>
#include <gdcmFileMetaInformation.h>
#include <gdcmImage.h>
#include <gdcmImageChangeTransferSyntax.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

namespace radmark::deid {

extern const char* const burnedInTextRulesTable; // generated from resources/deid

namespace {

std::vector<std::string> splitOn(std::string_view text, char separator) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (true) {
        const std::size_t end = text.find(separator, start);
        parts.emplace_back(text.substr(start, end == text.npos ? text.npos : end - start));
        if (end == std::string_view::npos)
            return parts;
        start = end + 1;
    }
}

bool matchesPattern(const std::string& pattern, std::string_view value) {
    if (pattern == "*")
        return true;
    if (pattern == "-")
        return value.empty();
    return std::regex_match(std::string(value),
                            std::regex(pattern, std::regex::icase | std::regex::ECMAScript));
}

} // namespace

const BurnedInTextRules& BurnedInTextRules::standard() {
    static const BurnedInTextRules rules = parse(burnedInTextRulesTable);
    return rules;
}

BurnedInTextRules BurnedInTextRules::parse(std::string_view tsv) {
    BurnedInTextRules out;
    int lineNumber = 0;
    bool header = false;
    for (const auto& rawLine : splitOn(tsv, '\n')) {
        ++lineNumber;
        std::string line = rawLine;
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        if (line.empty() || line.front() == '#')
            continue;
        const auto fields = splitOn(line, '\t');
        const std::string where = "burned-in text rules line " + std::to_string(lineNumber) + ": ";
        if (!header) {
            header = true;
            if (fields.empty() || fields[0] != "modality")
                throw std::runtime_error(where + "expected the header line");
            continue;
        }
        if (fields.size() != 7)
            throw std::runtime_error(where + "expected 7 columns");
        BlackoutRule rule;
        rule.modality = fields[0];
        rule.manufacturer = fields[1];
        rule.model = fields[2];
        try {
            rule.rows = std::stoi(fields[3]);
            rule.columns = std::stoi(fields[4]);
            for (const auto& region : splitOn(fields[5] == "-" ? "" : fields[5], ';')) {
                if (region.empty())
                    continue;
                const auto numbers = splitOn(region, ',');
                if (numbers.size() != 4)
                    throw std::runtime_error("region needs x,y,width,height");
                auto length = [](const std::string& text) {
                    const bool percent = !text.empty() && text.back() == '%';
                    const int value = std::stoi(percent ? text.substr(0, text.size() - 1) : text);
                    if (percent && (value < 0 || value > 100))
                        throw std::runtime_error("a percentage must be 0 to 100");
                    return RegionLength{value, percent};
                };
                rule.regions.push_back({length(numbers[0]), length(numbers[1]), length(numbers[2]),
                                        length(numbers[3])});
            }
            for (const auto* pattern : {&rule.manufacturer, &rule.model})
                if (*pattern != "*" && *pattern != "-")
                    (void)std::regex(*pattern);
        } catch (const std::exception& error) {
            throw std::runtime_error(where + error.what());
        }
        rule.description = fields[6];
        out.rules_.push_back(std::move(rule));
    }
    return out;
}

const BlackoutRule* BurnedInTextRules::find(std::string_view modality,
                                            std::string_view manufacturer, std::string_view model,
                                            int rows, int columns) const {
    for (const auto& rule : rules_) {
        if (rule.modality != "*" && !(rule.modality == "-" && modality.empty()) &&
            rule.modality != modality)
            continue;
        if ((rule.rows && rule.rows != rows) || (rule.columns && rule.columns != columns))
            continue;
        if (matchesPattern(rule.manufacturer, manufacturer) && matchesPattern(rule.model, model))
            return &rule;
    }
    return nullptr;
}

PixelRegion RuleRegion::in(int rows, int columns) const {
    const int x0 = std::clamp(x.in(columns), 0, columns);
    const int y0 = std::clamp(y.in(rows), 0, rows);
    const int x1 = width.value < 0 ? columns : std::clamp(x0 + width.in(columns), 0, columns);
    const int y1 = height.value < 0 ? rows : std::clamp(y0 + height.in(rows), 0, rows);
    return {x0, y0, std::max(0, x1 - x0), std::max(0, y1 - y0)};
}

namespace {

const gdcm::Tag pixelTag(0x7FE0, 0x0010);

// An image pixel attribute (0028,eeee): binary US, or text (IS) for Number of Frames.
int imageNumber(const gdcm::DataSet& ds, std::uint16_t element, int fallback) {
    const gdcm::Tag tag(0x0028, element);
    if (!ds.FindDataElement(tag))
        return fallback;
    const std::string_view raw = dicom::rawValue(ds.GetDataElement(tag));
    if (raw.size() == 2 && element != 0x0008) {
        std::uint16_t value = 0;
        std::memcpy(&value, raw.data(), 2);
        return int(value);
    }
    return raw.empty() ? fallback : std::atoi(std::string(raw).c_str());
}

// PS3.3 C.7.6.1.1.5: the compression method of a lossy transfer syntax.
std::string lossyMethodOf(const gdcm::TransferSyntax& syntax) {
    switch (gdcm::TransferSyntax::TSType(syntax)) {
    case gdcm::TransferSyntax::JPEGBaselineProcess1:
    case gdcm::TransferSyntax::JPEGExtendedProcess2_4:
        return "ISO_10918_1";
    case gdcm::TransferSyntax::JPEGLSNearLossless:
        return "ISO_14495_1";
    case gdcm::TransferSyntax::JPEG2000:
        return "ISO_15444_1";
    case gdcm::TransferSyntax::JPEG2000Part2:
        return "ISO_15444_2";
    default:
        return {};
    }
}

// Decodes the compressed pixel data of file into explicit VR little endian, in place. Returns
// why it could not, or "".
std::string decodePixelData(gdcm::File& file, int rows, int columns, int frames,
                            const std::string& why) {
    gdcm::DataSet& ds = file.GetDataSet();
    const gdcm::TransferSyntax source = file.GetHeader().GetDataSetTransferSyntax();
    const int samples = imageNumber(ds, 0x0002, 1);
    const int bitsAllocated = imageNumber(ds, 0x0100, 8);
    const int bitsStored = imageNumber(ds, 0x0101, bitsAllocated);
    const int highBit = imageNumber(ds, 0x0102, bitsStored - 1);
    // The filter keeps a reference-counted pointer to its input: it must live on the heap.
    gdcm::SmartPointer<gdcm::Image> image = new gdcm::Image;
    image->SetNumberOfDimensions(frames > 1 ? 3 : 2);
    image->SetDimension(0, unsigned(columns));
    image->SetDimension(1, unsigned(rows));
    if (frames > 1)
        image->SetDimension(2, unsigned(frames));
    image->SetPixelFormat(gdcm::PixelFormat(std::uint16_t(samples), std::uint16_t(bitsAllocated),
                                            std::uint16_t(bitsStored), std::uint16_t(highBit),
                                            std::uint16_t(imageNumber(ds, 0x0103, 0))));
    image->SetPhotometricInterpretation(
        gdcm::PhotometricInterpretation::GetPIType(dicom::textOf(ds, 0x0028, 0x0004).c_str()));
    image->SetPlanarConfiguration(unsigned(imageNumber(ds, 0x0006, 0)));
    image->SetTransferSyntax(source);
    image->SetDataElement(ds.GetDataElement(pixelTag));
    gdcm::ImageChangeTransferSyntax change;
    change.SetTransferSyntax(gdcm::TransferSyntax::ExplicitVRLittleEndian);
    change.SetInput(*image);
    const char* syntaxName = source.GetString() ? source.GetString() : "unknown";
    const std::string cannot = "the image may hold burned-in text (" + why +
                               ") and its compressed pixel data (transfer syntax " + syntaxName +
                               ") cannot be decoded to clean it";
    if (!change.Change())
        return cannot;
    const gdcm::Image& decoded = change.GetOutput();
    const gdcm::ByteValue* bytes = decoded.GetDataElement().GetByteValue();
    if (!bytes || bytes->GetLength() == 0)
        return cannot;
    // The codec knows whether the stream it decoded was lossy (a JPEG 2000 stream may be either).
    const bool lossy = decoded.IsLossy() || (source.IsLossy() && !source.IsLossless());

    gdcm::DataElement pixels(pixelTag);
    pixels.SetVR(bitsAllocated > 8 ? gdcm::VR::OW : gdcm::VR::OB);
    pixels.SetByteValue(bytes->GetPointer(), bytes->GetLength());
    ds.Replace(pixels);
    if (const char* photometric = decoded.GetPhotometricInterpretation().GetString())
        ds.Replace(dicom::textElement(0x0028, 0x0004, gdcm::VR::CS, photometric));
    if (samples > 1) {
        gdcm::DataElement planar(gdcm::Tag(0x0028, 0x0006));
        planar.SetVR(gdcm::VR::US);
        const std::uint16_t value = std::uint16_t(decoded.GetPlanarConfiguration());
        planar.SetByteValue(reinterpret_cast<const char*>(&value), 2);
        ds.Replace(planar);
    }
    // A decompressed lossy image stays marked lossy (PS3.3 C.7.6.1.1.5); attributes already
    // there are kept as they were.
    if (lossy && dicom::textOf(ds, 0x0028, 0x2110) != "01") {
        ds.Replace(dicom::textElement(0x0028, 0x2110, gdcm::VR::CS, "01"));
        const std::string method = lossyMethodOf(source);
        if (!method.empty() && dicom::textOf(ds, 0x0028, 0x2114).empty())
            ds.Replace(dicom::textElement(0x0028, 0x2114, gdcm::VR::CS, method));
    }
    file.GetHeader().SetDataSetTransferSyntax(gdcm::TransferSyntax::ExplicitVRLittleEndian);
    file.GetHeader().Replace(dicom::textElement(
        0x0002, 0x0010, gdcm::VR::UI,
        gdcm::TransferSyntax::GetTSString(gdcm::TransferSyntax::ExplicitVRLittleEndian)));
    return {};
}

} // namespace

void blackOutRegions(imaging::Volume& volume, const std::vector<PixelRegion>& regions) {
    if (regions.empty() || volume.empty())
        return;
    const auto& dims = volume.geometry().dims;
    imaging::dispatchPixel(volume.pixelType(), volume.data(), [&](auto* voxels) {
        const auto black = *std::min_element(voxels, voxels + volume.voxelCount());
        for (int z = 0; z < dims[2]; ++z)
            for (const auto& region : regions)
                for (int y = std::max(0, region.y); y < std::min(dims[1], region.y + region.height);
                     ++y) {
                    auto* row = voxels + volume.offset(0, y, z);
                    std::fill(row + std::max(0, region.x),
                              row + std::min(dims[0], region.x + region.width), black);
                }
    });
    volume.invalidateScalarRange();
}

PixelCleaning cleanBurnedInText(gdcm::File& file, std::string_view modality,
                                std::string_view manufacturer, std::string_view model,
                                const BurnedInTextRules* rules, const TextDetector* detector,
                                const std::string& why) {
    PixelCleaning out;
    gdcm::DataSet& ds = file.GetDataSet();
    const std::string prefix = "the image may hold burned-in text (" + why + ")";
    const int rows = imageNumber(ds, 0x0010, 0);
    const int columns = imageNumber(ds, 0x0011, 0);
    const int frames = std::max(1, imageNumber(ds, 0x0008, 1));
    out.rule = rules ? rules->find(modality, manufacturer, model, rows, columns) : nullptr;
    if (!out.rule) {
        out.problem = prefix + " and no blackout rule matches its manufacturer and model";
        return out;
    }
    const gdcm::TransferSyntax syntax = file.GetHeader().GetDataSetTransferSyntax();
    // GDCM 3.0 puts the byte segments of 16- and 32-bit RLE colour pixels in the wrong order
    // (checked against pydicom on its SC_rgb_rle_16bit/32bit samples): cleaning would store
    // wrong pixels.
    if (syntax == gdcm::TransferSyntax::RLELossless && imageNumber(ds, 0x0100, 8) > 8 &&
        imageNumber(ds, 0x0002, 1) > 1) {
        out.problem = prefix + " in a pixel layout Radmark cannot clean (RLE colour with " +
                      std::to_string(imageNumber(ds, 0x0100, 8)) + "-bit samples)";
        return out;
    }
    if (syntax.IsEncapsulated()) {
        out.problem = decodePixelData(file, rows, columns, frames, why);
        if (!out.problem.empty())
            return out;
        out.decoded = true;
    }
    const int bitsAllocated = imageNumber(ds, 0x0100, 16);
    const int samples = imageNumber(ds, 0x0002, 1);
    const int planar = imageNumber(ds, 0x0006, 0);
    const std::string photometric = dicom::textOf(ds, 0x0028, 0x0004);
    const bool bigEndian = syntax == gdcm::TransferSyntax::ExplicitVRBigEndian;
    if ((bitsAllocated != 8 && bitsAllocated != 16 && bitsAllocated != 32) ||
        (samples != 1 && samples != 3) || rows <= 0 || columns <= 0 ||
        (bigEndian && bitsAllocated > 8) || photometric.find("422") != std::string::npos ||
        photometric.find("420") != std::string::npos) {
        out.problem = prefix + " in a pixel layout Radmark cannot clean";
        return out;
    }
    const std::size_t bytesPerSample = std::size_t(bitsAllocated / 8);
    const std::size_t frameSamples =
        std::size_t(rows) * std::size_t(columns) * std::size_t(samples);
    const std::string_view raw = dicom::rawValue(ds.GetDataElement(pixelTag));
    if (raw.size() < frameSamples * bytesPerSample * std::size_t(frames)) {
        out.problem = prefix + " and its pixel data is truncated";
        return out;
    }
    std::vector<char> pixels(raw.begin(), raw.end());
    auto sampleAt = [&](int frame, int x, int y, int s) {
        const std::size_t inFrame =
            planar == 1 ? std::size_t(s) * rows * columns + std::size_t(y) * columns + x
                        : (std::size_t(y) * columns + x) * samples + s;
        return (std::size_t(frame) * frameSamples + inFrame) * bytesPerSample;
    };
    for (const auto& rule : out.rule->regions) {
        const PixelRegion region = rule.in(rows, columns);
        if (region.width > 0 && region.height > 0)
            out.regions.push_back(region);
    }
    // Black: zero, except the two chroma samples of YBR, whose neutral value is the middle.
    const bool ybr = photometric.rfind("YBR", 0) == 0;
    const int bitsStored = imageNumber(ds, 0x0101, bitsAllocated);
    const std::uint32_t chromaMiddle = std::uint32_t(1) << std::clamp(bitsStored - 1, 0, 31);
    for (int frame = 0; frame < frames; ++frame)
        for (const auto& region : out.regions)
            for (int y = region.y; y < region.y + region.height; ++y)
                for (int x = region.x; x < region.x + region.width; ++x)
                    for (int s = 0; s < samples; ++s) {
                        const std::uint32_t black = ybr && s > 0 ? chromaMiddle : 0;
                        const std::size_t at = sampleAt(frame, x, y, s);
                        for (std::size_t b = 0; b < bytesPerSample; ++b)
                            pixels[at + b] = char((black >> (8 * b)) & 0xFF);
                    }
    if (!detector) {
        out.problem = prefix + " and no OCR engine is available to verify it";
        return out;
    }
    // Colour text shows in its brightest channel (RGB); YBR's first channel is the luminance.
    const int readSamples = photometric == "RGB" ? samples : 1;
    const bool signedPixels = imageNumber(ds, 0x0103, 0) == 1;
    auto valueAt = [&](std::size_t at) {
        std::uint32_t value = 0;
        for (std::size_t b = 0; b < bytesPerSample; ++b)
            value |= std::uint32_t(std::uint8_t(pixels[at + b])) << (8 * b);
        if (!signedPixels)
            return double(value);
        const unsigned unused = unsigned(32 - 8 * bytesPerSample);
        return double(std::int32_t(value << unused) >> unused);
    };
    // Every frame is read: text may show in any frame of a clip. A frame byte-identical to one
    // already read (after blackout) is skipped; the hash only finds candidates, the bytes decide.
    const std::size_t frameBytes = frameSamples * bytesPerSample;
    auto frameBytesOf = [&](int frame) {
        return std::string_view(pixels.data() + std::size_t(frame) * frameBytes, frameBytes);
    };
    std::unordered_multimap<std::size_t, int> readFrames; // hash of the bytes -> frame
    std::vector<std::uint8_t> grey(std::size_t(rows) * columns);
    std::vector<double> values(grey.size());
    for (int frame = 0; frame < frames; ++frame) {
        const std::string_view bytes = frameBytesOf(frame);
        const std::size_t hash = std::hash<std::string_view>{}(bytes);
        const auto [first, last] = readFrames.equal_range(hash);
        if (std::any_of(first, last,
                        [&](const auto& read) { return frameBytesOf(read.second) == bytes; }))
            continue;
        readFrames.emplace(hash, frame);
        double low = 1e300, high = -1e300;
        for (int y = 0; y < rows; ++y)
            for (int x = 0; x < columns; ++x) {
                double v = valueAt(sampleAt(frame, x, y, 0));
                for (int s = 1; s < readSamples; ++s)
                    v = std::max(v, valueAt(sampleAt(frame, x, y, s)));
                values[std::size_t(y) * columns + x] = v;
                low = std::min(low, v);
                high = std::max(high, v);
            }
        const double scale = high > low ? 255.0 / (high - low) : 0.0;
        for (std::size_t i = 0; i < grey.size(); ++i)
            grey[i] = std::uint8_t((values[i] - low) * scale);
        const int words = detector->countWords(grey.data(), columns, rows);
        if (words > 0) {
            out.problem = "text is still readable in the pixels after blackout (frame " +
                          std::to_string(frame + 1) + ", " + std::to_string(words) + " word(s))";
            return out;
        }
    }
    gdcm::DataElement cleaned = ds.GetDataElement(pixelTag);
    cleaned.SetByteValue(pixels.data(), gdcm::VL(std::uint32_t(pixels.size())));
    ds.Replace(cleaned);
    ds.Replace(dicom::textElement(0x0028, 0x0301, gdcm::VR::CS, "NO"));
    return out;
}

} // namespace radmark::deid
