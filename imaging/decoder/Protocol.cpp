#include "imaging/decoder/Protocol.h"

#include "imaging/DicomSeriesReader.h"
#include "imaging/decoder/Channel.h"

#include <sodium.h>

namespace radmark::decoder {
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// A DICOM series' layout, compact: a row per file and per frame (a 500-slice CT is about 60 KB).
// The files' paths are the summary's own.
json layoutToJson(const imaging::DicomSeriesLayout& l) {
    json files = json::array(), frames = json::array();
    for (const auto& f : l.files)
        files.push_back({f.transferSyntax, f.rawLittleEndian, f.pixelValueOffset, f.frames});
    for (const auto& f : l.frames)
        frames.push_back({f.file, f.frame, f.position[0], f.position[1], f.position[2], f.slope,
                          f.intercept, f.instanceNumber});
    return {{"files", files},
            {"frames", frames},
            {"geometry", toJson(l.geometry)},
            {"pixelType", imaging::pixelTypeName(l.pixelType)},
            {"integralRescale", l.integralRescale},
            {"image",
             {l.rows, l.columns, l.samplesPerPixel, l.bitsAllocated, l.bitsStored, l.signedPixels,
              l.planarByPlane}},
            {"photometric", l.photometric},
            {"modality", l.modality},
            {"description", l.description},
            {"warnings", l.warnings}};
}

// The layout a scanning child sent; what the pixel read relies on is checked (a child that
// did not scan reads by it, and a forged one must be refused, not followed).
std::shared_ptr<const imaging::DicomSeriesLayout>
layoutFromJson(const json& j, const std::vector<fs::path>& paths) {
    auto l = std::make_shared<imaging::DicomSeriesLayout>();
    const json& files = j.at("files");
    if (files.size() != paths.size())
        throw ChannelError("the decoder sent a series layout for other files");
    for (std::size_t i = 0; i < files.size(); ++i) {
        const json& f = files.at(i);
        imaging::DicomSeriesLayout::File file;
        file.path = paths[i];
        file.transferSyntax = f.at(0).get<std::string>();
        file.rawLittleEndian = f.at(1).get<bool>();
        file.pixelValueOffset = f.at(2).get<std::uint64_t>();
        file.frames = f.at(3).get<int>();
        if (file.frames < 1)
            throw ChannelError("the decoder sent a file without frames");
        l->files.push_back(std::move(file));
    }
    for (const auto& f : j.at("frames")) {
        imaging::DicomSeriesLayout::Frame frame;
        frame.file = f.at(0).get<int>();
        frame.frame = f.at(1).get<int>();
        frame.position = {f.at(2).get<double>(), f.at(3).get<double>(), f.at(4).get<double>()};
        frame.slope = f.at(5).get<double>();
        frame.intercept = f.at(6).get<double>();
        frame.instanceNumber = f.at(7).get<int>();
        if (frame.file < 0 || std::size_t(frame.file) >= l->files.size() || frame.frame < 0 ||
            frame.frame >= l->files[std::size_t(frame.file)].frames)
            throw ChannelError("the decoder sent a frame of no file");
        l->frames.push_back(frame);
    }
    l->geometry = geometryFromJson(j.at("geometry"));
    l->pixelType = pixelTypeFromName(j.at("pixelType").get<std::string>());
    l->integralRescale = j.at("integralRescale").get<bool>();
    const json& image = j.at("image");
    l->rows = image.at(0).get<int>();
    l->columns = image.at(1).get<int>();
    l->samplesPerPixel = image.at(2).get<int>();
    l->bitsAllocated = image.at(3).get<int>();
    l->bitsStored = image.at(4).get<int>();
    l->signedPixels = image.at(5).get<bool>();
    l->planarByPlane = image.at(6).get<bool>();
    l->photometric = j.at("photometric").get<std::string>();
    l->modality = j.at("modality").get<std::string>();
    l->description = j.at("description").get<std::string>();
    l->warnings = j.at("warnings").get<std::vector<std::string>>();
    const auto& dims = l->geometry.dims;
    const bool bits = l->bitsAllocated == 8 || l->bitsAllocated == 16 || l->bitsAllocated == 32;
    if (dims[0] != l->columns || dims[1] != l->rows || std::size_t(dims[2]) != l->frames.size() ||
        !bits || l->bitsStored < 1 || l->bitsStored > l->bitsAllocated ||
        (l->samplesPerPixel != 1 && l->samplesPerPixel != 3))
        throw ChannelError("the decoder sent a series layout that does not fit together");
    return l;
}

} // namespace

json toJson(const imaging::SeriesSummary& series) {
    json files = json::array();
    for (const auto& file : series.files)
        files.push_back(file.string());
    json j = {{"key", series.key},
              {"format", series.format},
              {"modality", series.modality},
              {"description", series.description},
              {"imageCount", series.imageCount},
              {"files", files},
              {"warnings", series.warnings}};
    if (series.dicomLayout && series.dicomLayout->files.size() == series.files.size())
        j["layout"] = layoutToJson(*series.dicomLayout);
    return j;
}

imaging::SeriesSummary seriesFromJson(const json& j) {
    imaging::SeriesSummary series;
    series.key = j.at("key").get<std::string>();
    series.format = j.at("format").get<std::string>();
    series.modality = j.at("modality").get<std::string>();
    series.description = j.at("description").get<std::string>();
    series.imageCount = j.at("imageCount").get<int>();
    for (const auto& file : j.at("files"))
        series.files.emplace_back(file.get<std::string>());
    series.warnings = j.at("warnings").get<std::vector<std::string>>();
    if (j.contains("layout"))
        series.dicomLayout = layoutFromJson(j.at("layout"), series.files);
    return series;
}

json toJson(const imaging::Geometry& g) {
    return {
        {"dims", g.dims}, {"spacing", g.spacing}, {"origin", g.origin}, {"direction", g.direction}};
}

imaging::Geometry geometryFromJson(const json& j) {
    imaging::Geometry g;
    g.dims = j.at("dims").get<imaging::Index3>();
    g.spacing = j.at("spacing").get<imaging::Vec3>();
    g.origin = j.at("origin").get<imaging::Vec3>();
    g.direction = j.at("direction").get<std::array<double, 9>>();
    for (int d : g.dims)
        if (d <= 0 || d > 65536)
            throw ChannelError("the decoder sent impossible volume dimensions");
    return g;
}

imaging::PixelType pixelTypeFromName(const std::string& name) {
    for (auto type :
         {imaging::PixelType::UInt8, imaging::PixelType::Int16, imaging::PixelType::UInt16,
          imaging::PixelType::Int32, imaging::PixelType::Float32})
        if (name == imaging::pixelTypeName(type))
            return type;
    throw ChannelError("the decoder sent an unknown voxel type");
}

namespace {
json termToJson(const imaging::CodedTerm& term) { return {term.scheme, term.code, term.meaning}; }

imaging::CodedTerm termFromJson(const json& j) {
    return {j.at(0).get<std::string>(), j.at(1).get<std::string>(), j.at(2).get<std::string>()};
}
} // namespace

json toJson(const imaging::DicomSegmentation& seg) {
    json segments = json::array(), frames = json::array();
    for (const auto& s : seg.segments)
        segments.push_back({{"number", s.labelValue},
                            {"name", s.name},
                            {"rgb", s.rgb},
                            {"category", termToJson(s.category)},
                            {"type", termToJson(s.type)},
                            {"algorithmType", s.algorithmType},
                            {"algorithmName", s.algorithmName}});
    for (const auto& f : seg.frames)
        frames.push_back({f.segmentNumber, f.position, f.rowDirection, f.columnDirection,
                          f.rowSpacing, f.columnSpacing});
    return {{"rows", seg.rows}, {"columns", seg.columns}, {"segments", segments}, {"frames", frames}};
}

imaging::DicomSegmentation segmentationFromJson(const json& j) {
    imaging::DicomSegmentation seg;
    try {
        seg.rows = j.at("rows").get<int>();
        seg.columns = j.at("columns").get<int>();
        for (const auto& s : j.at("segments")) {
            imaging::SegmentDescription d;
            d.labelValue = s.at("number").get<std::uint16_t>();
            d.name = s.at("name").get<std::string>();
            d.rgb = s.at("rgb").get<std::array<std::uint8_t, 3>>();
            d.category = termFromJson(s.at("category"));
            d.type = termFromJson(s.at("type"));
            d.algorithmType = s.at("algorithmType").get<std::string>();
            d.algorithmName = s.at("algorithmName").get<std::string>();
            seg.segments.push_back(std::move(d));
        }
        for (const auto& f : j.at("frames"))
            seg.frames.push_back({f.at(0).get<std::uint16_t>(), f.at(1).get<imaging::Vec3>(),
                                  f.at(2).get<imaging::Vec3>(), f.at(3).get<imaging::Vec3>(),
                                  f.at(4).get<double>(), f.at(5).get<double>()});
    } catch (const json::exception&) {
        throw ChannelError("the decoder sent a segmentation in the wrong shape");
    }
    // Frames of at most 65536 x 65536 pixels, and no more frames than a 64-bit count of their
    // bits can hold: packedBitsBytes cannot overflow, and pixel() stays inside the bits.
    if (seg.rows < 1 || seg.columns < 1 || seg.rows > 65536 || seg.columns > 65536 ||
        seg.frames.empty() || seg.frames.size() > (std::size_t(1) << 24) || seg.segments.empty())
        throw ChannelError("the decoder sent a segmentation of impossible size");
    return seg;
}

std::size_t packedBitsBytes(const imaging::DicomSegmentation& seg) {
    return (seg.frames.size() * std::size_t(seg.rows) * std::size_t(seg.columns) + 7) / 8;
}

json toJson(const deid::ProfileOptions& options) {
    return {{"selected", options.selected},
            {"cleanPixelData", options.cleanPixelData},
            {"deface", options.deface}};
}

deid::ProfileOptions optionsFromJson(const json& j) {
    deid::ProfileOptions options;
    options.selected = j.at("selected").get<decltype(options.selected)>();
    options.cleanPixelData = j.at("cleanPixelData").get<bool>();
    options.deface = j.at("deface").get<bool>();
    return options;
}

json toJson(const deid::StoreSecret& secret) {
    char hex[65];
    sodium_bin2hex(hex, sizeof hex, secret.bytes().data(), secret.bytes().size());
    json j = std::string(hex);
    sodium_memzero(hex, sizeof hex);
    return j;
}

deid::StoreSecret secretFromJson(const json& j) {
    const std::string hex = j.get<std::string>();
    std::array<std::uint8_t, 32> bytes{};
    std::size_t length = 0;
    if (hex.size() != 64 ||
        sodium_hex2bin(bytes.data(), bytes.size(), hex.data(), hex.size(), nullptr, &length,
                       nullptr) != 0 ||
        length != bytes.size())
        throw ChannelError("the de-identification secret on the channel is malformed");
    deid::StoreSecret secret(bytes);
    sodium_memzero(bytes.data(), bytes.size());
    return secret;
}

json toJson(const deid::PixelRegion& r) {
    return {r.x, r.y, r.width, r.height};
}

deid::PixelRegion regionFromJson(const json& j) {
    return {j.at(0).get<int>(), j.at(1).get<int>(), j.at(2).get<int>(), j.at(3).get<int>()};
}

json toJson(const deid::FileResult& r) {
    json regions = json::array();
    for (const auto& region : r.blackedOut)
        regions.push_back(toJson(region));
    json actions = json::array();
    for (const auto& [action, count] : r.actions)
        actions.push_back({action.tag, action.action, action.why, count});
    return {{"quarantined", r.quarantined},
            {"reason", r.reason},
            {"patientPseudonym", r.patientPseudonym},
            {"studyUid", r.studyUid},
            {"seriesUid", r.seriesUid},
            {"sopInstanceUid", r.sopInstanceUid},
            {"modality", r.modality},
            {"pixelsCleaned", r.pixelsCleaned},
            {"blackedOut", regions},
            {"actions", actions},
            {"leaks", r.leaks}};
}

deid::FileResult fileResultFromJson(const json& j) {
    deid::FileResult r;
    r.quarantined = j.at("quarantined").get<bool>();
    r.reason = j.at("reason").get<std::string>();
    r.patientPseudonym = j.at("patientPseudonym").get<std::string>();
    r.studyUid = j.at("studyUid").get<std::string>();
    r.seriesUid = j.at("seriesUid").get<std::string>();
    r.sopInstanceUid = j.at("sopInstanceUid").get<std::string>();
    r.modality = j.at("modality").get<std::string>();
    r.pixelsCleaned = j.at("pixelsCleaned").get<bool>();
    for (const auto& region : j.at("blackedOut"))
        r.blackedOut.push_back(regionFromJson(region));
    for (const auto& a : j.at("actions"))
        r.actions[{a.at(0).get<std::uint32_t>(), a.at(1).get<std::string>(),
                   a.at(2).get<std::string>()}] = a.at(3).get<int>();
    r.leaks = j.at("leaks").get<std::vector<std::string>>();
    return r;
}

json toJson(const deid::FolderOutcome& outcome) {
    json studies = json::array();
    for (const auto& s : outcome.studies)
        studies.push_back({{"studyUid", s.studyUid},
                           {"files", s.files},
                           {"quarantined", s.quarantined},
                           {"reasons", s.reasons},
                           {"quarantinedBy", s.quarantinedBy.string()},
                           {"report", s.report.string()}});
    return {{"studies", studies},
            {"filesWritten", outcome.filesWritten},
            {"filesSkipped", outcome.filesSkipped},
            {"failures", outcome.failures}};
}

deid::FolderOutcome folderOutcomeFromJson(const json& j) {
    deid::FolderOutcome outcome;
    for (const auto& s : j.at("studies")) {
        deid::StudyOutcome study;
        study.studyUid = s.at("studyUid").get<std::string>();
        study.files = s.at("files").get<int>();
        study.quarantined = s.at("quarantined").get<bool>();
        study.reasons = s.at("reasons").get<std::vector<std::string>>();
        study.quarantinedBy = s.at("quarantinedBy").get<std::string>();
        study.report = s.at("report").get<std::string>();
        outcome.studies.push_back(std::move(study));
    }
    outcome.filesWritten = j.at("filesWritten").get<int>();
    outcome.filesSkipped = j.at("filesSkipped").get<int>();
    outcome.failures = j.at("failures").get<std::vector<std::string>>();
    return outcome;
}

} // namespace radmark::decoder
