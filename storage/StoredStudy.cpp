#include "storage/StoredStudy.h"

#include "storage/ChunkStore.h"
#include "storage/SessionAccess.h"

#include <nlohmann/json.hpp>


namespace radmark::storage {
using nlohmann::json;

namespace {

imaging::PixelType pixelTypeNamed(const std::string& name) {
    for (auto type :
         {imaging::PixelType::UInt8, imaging::PixelType::Int16, imaging::PixelType::UInt16,
          imaging::PixelType::Int32, imaging::PixelType::Float32})
        if (name == imaging::pixelTypeName(type))
            return type;
    throw StoreError("a stored study has an unknown pixel type; the store may be damaged");
}

} // namespace

StoredStudy StoredStudy::open(Session& session, std::int64_t studyId) {
    return read(session, Studies(session).open(studyId));
}

StoredStudy StoredStudy::openForExport(Session& session, std::int64_t studyId) {
    return read(session, Studies(session).openForExport(studyId));
}

StoredStudy StoredStudy::read(Session& session, Study study) {
    const std::int64_t studyId = study.id;
    StoredStudy stored(session, std::move(study));
    Database& db = SessionAccess::database(session);
    {
        auto s = db.prepare("SELECT report FROM imported_studies WHERE study_id = ?");
        s.bind(1, studyId);
        if (!s.step())
            throw InvalidRequestError("study " + stored.study_.label + " has no stored images");
        stored.reportChunk_ = s.text(0);
    }
    auto s = db.prepare("SELECT series_uid, modality, description, manifest FROM imported_series "
                        "WHERE study_id = ? ORDER BY series_index");
    s.bind(1, studyId);
    while (s.step())
        stored.series_.push_back({s.text(0), s.text(1), s.text(2), s.text(3)});
    if (stored.series_.empty())
        throw InvalidRequestError("study " + stored.study_.label + " has no stored images");
    return stored;
}

namespace {

// Import wrote these references; one that does not parse means a damaged store.
Bytes chunkNamed(Session& session, const std::string& hexHash) {
    try {
        return internal::readChunk(session, imaging::ChunkHash::fromHex(hexHash));
    } catch (const imaging::CorruptChunk&) {
        throw StoreError("a stored study refers to damaged data; the store may be damaged");
    }
}

json loadManifest(Session& session, const StoredSeries& series) {
    const Bytes bytes = chunkNamed(session, series.manifest);
    try {
        return json::parse(bytes.begin(), bytes.end());
    } catch (const json::exception&) {
        throw StoreError("a stored series description is damaged");
    }
}

} // namespace

namespace {
imaging::Geometry geometryOf(const json& manifest) {
    imaging::Geometry geometry;
    try {
        geometry.dims = manifest.at("dims").get<imaging::Index3>();
        geometry.spacing = manifest.at("spacing").get<imaging::Vec3>();
        geometry.origin = manifest.at("origin").get<imaging::Vec3>();
        geometry.direction = manifest.at("direction").get<std::array<double, 9>>();
    } catch (const json::exception&) {
        throw StoreError("a stored series description is damaged");
    }
    return geometry;
}
} // namespace

imaging::Geometry StoredStudy::geometry(std::size_t seriesIndex) {
    if (seriesIndex >= series_.size())
        throw InvalidRequestError("study " + study_.label + " has no series " +
                                  std::to_string(seriesIndex + 1));
    return geometryOf(loadManifest(*session_, series_[seriesIndex]));
}

imaging::Volume StoredStudy::loadVolume(std::size_t seriesIndex) {
    if (seriesIndex >= series_.size())
        throw InvalidRequestError("study " + study_.label + " has no series " +
                                  std::to_string(seriesIndex + 1));
    const json manifest = loadManifest(*session_, series_[seriesIndex]);
    const imaging::Geometry geometry = geometryOf(manifest);
    const auto type = pixelTypeNamed(manifest.value("pixelType", ""));
    const auto& slices = manifest.at("slices");
    if (geometry.dims[0] <= 0 || geometry.dims[1] <= 0 || geometry.dims[2] <= 0 ||
        slices.size() != std::size_t(geometry.dims[2]))
        throw StoreError("a stored series description is damaged");
    imaging::Volume volume = imaging::Volume::uninitialized(geometry, type);
    const std::size_t sliceBytes = std::size_t(geometry.dims[0]) * std::size_t(geometry.dims[1]) *
                                   imaging::bytesPerVoxel(type);
    std::vector<imaging::ChunkHash> hashes;
    hashes.reserve(slices.size());
    try {
        for (const auto& slice : slices)
            hashes.push_back(imaging::ChunkHash::fromHex(slice.get<std::string>()));
    } catch (const std::exception&) {
        throw StoreError("a stored study refers to damaged data; the store may be damaged");
    }
    // The slices straight into the volume, decompressed and checked on all cores.
    try {
        ChunkStore(SessionAccess::database(*session_))
            .getManyInto(hashes, {reinterpret_cast<std::uint8_t*>(volume.data()),
                                  sliceBytes * slices.size()});
    } catch (const imaging::CorruptChunk& e) {
        throw StoreError(std::string(e.what()) + "; the store may be damaged");
    }
    volume.modality = manifest.value("modality", "");
    volume.seriesDescription = manifest.value("description", "");
    volume.sourceFormat = manifest.value("format", "");
    return volume;
}

std::vector<Bytes> StoredStudy::loadHeaders(std::size_t seriesIndex) {
    if (seriesIndex >= series_.size())
        throw InvalidRequestError("study " + study_.label + " has no series " +
                                  std::to_string(seriesIndex + 1));
    const json manifest = loadManifest(*session_, series_[seriesIndex]);
    std::vector<Bytes> headers;
    for (const auto& hash : manifest.value("headers", json::array()))
        headers.push_back(chunkNamed(*session_, hash.get<std::string>()));
    return headers;
}

std::string StoredStudy::loadReportJson() {
    const Bytes bytes = chunkNamed(*session_, reportChunk_);
    return std::string(bytes.begin(), bytes.end());
}

imaging::Volume loadStoredVolume(Session& session, std::int64_t studyId) {
    return StoredStudy::open(session, studyId).loadVolume(0);
}

} // namespace radmark::storage
