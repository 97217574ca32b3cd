#include "annotation/Version.h"
#include "annotation/ChunkRunsJson.h"
#include "annotation/SegmentJson.h"
#include "annotation/VersionJson.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <unordered_map>

namespace radmark::annotation {

using nlohmann::json;

namespace {

std::optional<CodedConcept> conceptFromJson(const json& j) {
    if (j.is_null())
        return std::nullopt;
    return CodedConcept{j.at("scheme"), j.at("code"), j.at("meaning")};
}

SegmentList segmentsFromJson(const json& list) {
    SegmentList segments;
    for (const json& j : list) {
        Segment s;
        s.label = j.at("label");
        s.name = j.at("name");
        s.colour = {j.at("colour").at(0), j.at("colour").at(1), j.at("colour").at(2)};
        s.visible = j.at("visible");
        s.locked = j.at("locked");
        s.opacity = j.at("opacity");
        s.display = j.at("display") == "outline" ? SegmentDisplay::Outline : SegmentDisplay::Fill;
        s.category = conceptFromJson(j.at("category"));
        s.type = conceptFromJson(j.at("type"));
        segments.add(std::move(s));
    }
    return segments;
}

} // namespace

json boxesToJson(const std::vector<Box>& boxes) {
    json list = json::array();
    for (const Box& b : boxes) {
        list.push_back({{"id", b.id},
                        {"segment", b.segment},
                        {"author", b.author},
                        {"three_d", b.threeD},
                        {"plane", int(b.plane)},
                        {"min", b.min},
                        {"max", b.max}});
    }
    return list;
}

std::vector<Box> boxesFromJson(const json& list) {
    std::vector<Box> boxes;
    for (const json& j : list) {
        Box b;
        b.id = j.at("id");
        b.segment = j.at("segment");
        b.author = j.at("author");
        b.threeD = j.at("three_d");
        b.plane = SliceAxis(int(j.at("plane")));
        b.min = j.at("min");
        b.max = j.at("max");
        boxes.push_back(std::move(b));
    }
    return boxes;
}

namespace {

json geometryToJson(const imaging::Geometry& g) {
    return {
        {"dims", g.dims}, {"spacing", g.spacing}, {"origin", g.origin}, {"direction", g.direction}};
}

imaging::Geometry geometryFromJson(const json& j) {
    imaging::Geometry g;
    g.dims = j.at("dims");
    g.spacing = j.at("spacing");
    g.origin = j.at("origin");
    g.direction = j.at("direction");
    return g;
}

std::vector<imaging::ChunkHash> chunksFromJson(const json& runs) {
    std::vector<imaging::ChunkHash> chunks;
    for (const json& run : runs) {
        const imaging::ChunkHash hash = imaging::ChunkHash::fromHex(run.at(0).get<std::string>());
        const std::size_t count = run.at(1);
        chunks.insert(chunks.end(), count, hash);
    }
    return chunks;
}

json countsToJson(const std::map<Label, std::uint64_t>& counts) {
    json j = json::object();
    for (auto [label, count] : counts)
        j[std::to_string(label)] = count;
    return j;
}

std::map<Label, std::uint64_t> countsFromJson(const json& j) {
    std::map<Label, std::uint64_t> counts;
    for (auto it = j.begin(); it != j.end(); ++it)
        counts[Label(std::stoi(it.key()))] = it.value();
    return counts;
}

Bytes toBytes(const json& j) {
    const std::string text = j.dump();
    return Bytes(text.begin(), text.end());
}

json parseRecord(std::span<const std::uint8_t> bytes, const char* what) {
    try {
        return json::parse(bytes.begin(), bytes.end());
    } catch (const json::exception&) {
        throw CorruptAnnotation(std::string("A stored ") + what + " is damaged (unreadable).");
    }
}

} // namespace

json versionJson(const Version& v) {
    return {{"format", 1},
            {"parent", v.parent ? json(v.parent->hex()) : json(nullptr)},
            {"author", v.author},
            {"created", v.createdUtc},
            {"message", v.message},
            {"geometry", geometryToJson(v.geometry)},
            {"width", int(v.width)},
            {"chunks", chunkRunsJson(v.chunks)},
            {"segments", segmentsJson(v.segments)},
            {"boxes", boxesToJson(v.boxes)},
            {"voxel_counts", countsToJson(v.voxelCounts)}};
}

namespace {

Version versionFromRecordFields(const json& j, const VersionId& id) {
    Version v;
    v.id = id;
    if (!j.at("parent").is_null())
        v.parent = imaging::ChunkHash::fromHex(j.at("parent").get<std::string>());
    v.author = j.at("author");
    v.createdUtc = j.at("created");
    v.message = j.at("message");
    v.geometry = geometryFromJson(j.at("geometry"));
    v.width = LabelWidth(int(j.at("width")));
    v.chunks = chunksFromJson(j.at("chunks"));
    v.segments = segmentsFromJson(j.at("segments"));
    v.boxes = boxesFromJson(j.at("boxes"));
    v.voxelCounts = countsFromJson(j.at("voxel_counts"));
    if (int(v.chunks.size()) != v.geometry.dims[2]) {
        throw CorruptAnnotation("A stored version is damaged (slice count does not match).");
    }
    return v;
}

} // namespace

Version versionFromJson(const json& j, const VersionId& id) {
    try {
        return versionFromRecordFields(j, id);
    } catch (const json::exception&) {
        throw CorruptAnnotation("A stored version is damaged (fields missing).");
    } catch (const imaging::CorruptChunk&) {
        throw CorruptAnnotation("A stored version is damaged (a hash is unreadable).");
    }
}

json chunkRunsJson(const std::vector<imaging::ChunkHash>& chunks) {
    json runs = json::array();
    for (std::size_t i = 0; i < chunks.size();) {
        std::size_t j = i + 1;
        while (j < chunks.size() && chunks[j] == chunks[i])
            ++j;
        runs.push_back({chunks[i].hex(), j - i});
        i = j;
    }
    return runs;
}

std::string currentUtcTimestamp() {
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm utc{};
    gmtime_r(&now, &utc);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return text;
}

std::string describeVersion(const Version& version, const std::string& reviewState) {
    std::string line = version.id.hex().substr(0, 12) + "  " + version.createdUtc + "  " +
                       version.author + "  " + reviewState + "  " + json(version.message).dump();
    for (const auto& [label, count] : version.voxelCounts) {
        const Segment* s = version.segments.find(label);
        line +=
            "  " + (s ? s->name : "label " + std::to_string(label)) + "=" + std::to_string(count);
    }
    return line;
}

std::vector<imaging::ChunkHash> writeChunks(LabelMap& labels, imaging::ChunkStore& store,
                                            SaveReport& report) {
    std::vector<imaging::ChunkHash> hashes(std::size_t(labels.chunkCount()));
    std::optional<imaging::ChunkHash> emptyHash;
    for (int z = 0; z < labels.chunkCount(); ++z) {
        const auto content = labels.chunkBytes(z);
        const std::optional<imaging::ChunkHash> known = labels.knownHash(z);
        imaging::ChunkHash hash;
        if (known) {
            hash = *known;
        } else if (labels.chunkIsEmpty(z)) {
            // Most slices of a segmentation are empty: hash one of them, not each.
            if (!emptyHash)
                emptyHash = imaging::hashContent(content);
            hash = *emptyHash;
        } else {
            hash = imaging::hashContent(content);
        }
        if (store.has(hash)) {
            ++report.chunksReused;
        } else {
            report.bytesWritten += store.put(hash, Bytes(content.begin(), content.end()));
            ++report.chunksWritten;
        }
        labels.markClean(z, hash);
        hashes[std::size_t(z)] = hash;
    }
    return hashes;
}

LabelMap readLabelMap(const imaging::Geometry& geometry, LabelWidth width,
                      const std::vector<imaging::ChunkHash>& chunks,
                      const imaging::ChunkStore& store) {
    LabelMap labels(geometry, width);
    if (int(chunks.size()) != labels.chunkCount()) {
        throw CorruptAnnotation("A stored annotation is damaged (slice count does not match).");
    }
    // Identical chunks are decoded and verified once; all-zero ones are left as allocated.
    std::unordered_map<std::string, std::optional<Bytes>> decoded;
    for (int z = 0; z < labels.chunkCount(); ++z) {
        const imaging::ChunkHash& hash = chunks[std::size_t(z)];
        auto it = decoded.find(hash.hex());
        if (it == decoded.end()) {
            Bytes raw = store.get(hash);
            if (raw.size() != labels.chunkByteCount()) { // get() checked the hash
                throw CorruptAnnotation(
                    "A stored label chunk is damaged (content does not match).");
            }
            const bool empty = std::all_of(raw.begin(), raw.end(), [](auto b) { return b == 0; });
            it = decoded.emplace(hash.hex(), empty ? std::nullopt : std::optional(std::move(raw)))
                     .first;
        }
        if (it->second) {
            auto target = labels.chunkBytesForWriting(z);
            std::memcpy(target.data(), it->second->data(), target.size());
        }
        labels.markClean(z, hash);
    }
    return labels;
}

Bytes Draft::serialize() const {
    return toBytes({{"format", 1},
                    {"parent", parent ? json(parent->hex()) : json(nullptr)},
                    {"author", author},
                    {"saved", savedUtc},
                    {"geometry", geometryToJson(geometry)},
                    {"width", int(width)},
                    {"chunks", chunkRunsJson(chunks)},
                    {"segments", segmentsJson(segments)},
                    {"boxes", boxesToJson(boxes)}});
}

Draft Draft::parse(std::span<const std::uint8_t> bytes) {
    const json j = parseRecord(bytes, "draft");
    try {
        Draft d;
        if (!j.at("parent").is_null())
            d.parent = imaging::ChunkHash::fromHex(j.at("parent").get<std::string>());
        d.author = j.at("author");
        d.savedUtc = j.at("saved");
        d.geometry = geometryFromJson(j.at("geometry"));
        d.width = LabelWidth(int(j.at("width")));
        d.chunks = chunksFromJson(j.at("chunks"));
        d.segments = segmentsFromJson(j.at("segments"));
        d.boxes = boxesFromJson(j.at("boxes"));
        return d;
    } catch (const json::exception&) {
        throw CorruptAnnotation("A saved draft is damaged (fields missing).");
    } catch (const SegmentError&) {
        throw CorruptAnnotation("A saved draft is damaged (segments inconsistent).");
    }
}

VersionHistory VersionHistory::load(imaging::ChunkStore& store, const std::vector<VersionId>& ids) {
    VersionHistory history(store);
    for (const VersionId& id : ids) {
        const Bytes bytes = store.get(id);
        if (imaging::hashContent(bytes) != id) {
            throw CorruptAnnotation("A stored version is damaged (record does not match its id).");
        }
        history.versions_.push_back(versionFromJson(parseRecord(bytes, "version"), id));
    }
    return history;
}

const Version& VersionHistory::commit(LabelMap& labels, const SegmentList& segments,
                                      const std::vector<Box>& boxes, const Commit& commit,
                                      SaveReport* report) {
    if (labels.readOnly()) {
        throw ReadOnlyAnnotation(
            "This version is open read-only; start a new draft to save changes.");
    }
    if (commit.parent)
        get(*commit.parent); // must exist
    SaveReport local;
    SaveReport& r = report ? *report : local;
    Version v;
    v.parent = commit.parent;
    v.author = commit.author;
    v.createdUtc = commit.createdUtc.empty() ? currentUtcTimestamp() : commit.createdUtc;
    v.message = commit.message;
    v.geometry = labels.geometry();
    v.width = labels.width();
    v.chunks = writeChunks(labels, *store_, r);
    v.segments = segments;
    v.boxes = boxes;
    v.voxelCounts = labels.voxelCounts();
    const Bytes record = toBytes(versionJson(v));
    v.id = imaging::hashContent(record);
    if (!store_->has(v.id)) {
        r.bytesWritten += store_->put(v.id, record);
    }
    versions_.push_back(std::move(v));
    return versions_.back();
}

namespace {
// The labelled voxels of one chunk's bytes.
std::map<Label, std::uint64_t> countsOf(std::span<const std::uint8_t> bytes, LabelWidth width) {
    std::vector<std::uint32_t> histogram(width == LabelWidth::UInt8 ? 256 : 65536, 0);
    if (width == LabelWidth::UInt8) {
        for (std::uint8_t b : bytes)
            ++histogram[b];
    } else {
        for (std::size_t i = 0; i + 1 < bytes.size(); i += 2)
            ++histogram[std::size_t(bytes[i]) | (std::size_t(bytes[i + 1]) << 8)];
    }
    std::map<Label, std::uint64_t> counts;
    for (std::size_t l = 1; l < histogram.size(); ++l)
        if (histogram[l])
            counts[Label(l)] = histogram[l];
    return counts;
}

void addCounts(std::map<Label, std::int64_t>& total, const std::map<Label, std::uint64_t>& counts,
               int sign) {
    for (const auto& [label, count] : counts)
        total[label] += sign * std::int64_t(count);
}

bool allZero(std::span<const std::uint8_t> bytes) {
    return bytes.empty() ||
           (bytes[0] == 0 && std::memcmp(bytes.data(), bytes.data() + 1, bytes.size() - 1) == 0);
}
} // namespace

const Version& VersionHistory::commitChanges(const VersionId& parentId,
                                             const ChangedChunks& changed,
                                             const SegmentList& segments,
                                             const std::vector<Box>& boxes, const Commit& commit,
                                             SaveReport* report, ChunkCounts* known) {
    const Version& parent = get(parentId);
    const std::size_t chunkBytes = std::size_t(parent.geometry.dims[0]) *
                                   std::size_t(parent.geometry.dims[1]) * std::size_t(parent.width);
    for (const auto& [z, bytes] : changed) {
        if (z < 0 || z >= int(parent.chunks.size()))
            throw std::invalid_argument("slice " + std::to_string(z) + " is not in the label map");
        if (bytes.size() != chunkBytes)
            throw std::invalid_argument("slice " + std::to_string(z) + " has " +
                                        std::to_string(bytes.size()) + " bytes, a slice " +
                                        std::to_string(chunkBytes));
    }
    SaveReport local;
    SaveReport& r = report ? *report : local;
    Version v;
    v.parent = parentId;
    v.author = commit.author;
    v.createdUtc = commit.createdUtc.empty() ? currentUtcTimestamp() : commit.createdUtc;
    v.message = commit.message;
    v.geometry = parent.geometry;
    v.width = parent.width;
    v.chunks = parent.chunks;
    std::map<Label, std::int64_t> counts(parent.voxelCounts.begin(), parent.voxelCounts.end());
    std::optional<imaging::ChunkHash> emptyHash;
    auto hashOf = [&](std::span<const std::uint8_t> bytes) {
        if (!allZero(bytes))
            return imaging::hashContent(bytes);
        if (!emptyHash)
            emptyHash = imaging::hashContent(bytes);
        return *emptyHash;
    };
    for (const auto& [z, bytes] : changed) {
        imaging::ChunkHash& slot = v.chunks[std::size_t(z)];
        const imaging::ChunkHash hash = hashOf(bytes);
        if (hash == slot)
            continue; // the same content as the parent's: nothing changes
        const auto knownBefore = known ? known->find(slot) : ChunkCounts::iterator();
        if (known && knownBefore != known->end()) {
            addCounts(counts, knownBefore->second, -1);
        } else if (!emptyHash || slot != *emptyHash) {
            const Bytes before = store_->get(slot); // get() checks its hash
            if (before.size() != chunkBytes)
                throw CorruptAnnotation(
                    "A stored label chunk is damaged (content does not match).");
            if (!allZero(before))
                addCounts(counts, countsOf(before, parent.width), -1);
        }
        const std::map<Label, std::uint64_t> after = countsOf(bytes, parent.width);
        addCounts(counts, after, +1);
        if (known)
            (*known)[hash] = after;
        if (store_->has(hash)) {
            ++r.chunksReused;
        } else {
            r.bytesWritten += store_->put(hash, Bytes(bytes.begin(), bytes.end()));
            ++r.chunksWritten;
        }
        slot = hash;
    }
    for (const auto& [z, bytes] : changed)
        if (v.chunks[std::size_t(z)] == parent.chunks[std::size_t(z)])
            ++r.chunksReused;
    r.chunksReused += v.chunks.size() - changed.size();
    for (const auto& [label, count] : counts) {
        if (count < 0)
            throw CorruptAnnotation("A stored version is damaged (its voxel counts do not match "
                                    "its chunks).");
        if (count > 0)
            v.voxelCounts[label] = std::uint64_t(count);
    }
    v.segments = segments;
    v.boxes = boxes;
    const Bytes record = toBytes(versionJson(v));
    v.id = imaging::hashContent(record);
    if (!store_->has(v.id))
        r.bytesWritten += store_->put(v.id, record);
    versions_.push_back(std::move(v));
    return versions_.back();
}

std::vector<VersionId> VersionHistory::ids() const {
    std::vector<VersionId> result;
    for (const auto& v : versions_)
        result.push_back(v.id);
    return result;
}

const Version& VersionHistory::get(const VersionId& id) const {
    for (const auto& v : versions_) {
        if (v.id == id)
            return v;
    }
    throw CorruptAnnotation("There is no version " + id.hex().substr(0, 12) +
                            " of this annotation.");
}

OpenedAnnotation VersionHistory::open(const VersionId& id, bool readOnly) const {
    const Version& v = get(id);
    OpenedAnnotation opened{readLabelMap(v.geometry, v.width, v.chunks, *store_), v.segments,
                            BoxList(v.geometry.dims), id};
    opened.boxes.replaceAll(v.boxes);
    opened.labels.setReadOnly(readOnly);
    return opened;
}

OpenedAnnotation VersionHistory::openReadOnly(const VersionId& id) const {
    return open(id, true);
}
OpenedAnnotation VersionHistory::startDraft(const VersionId& id) const {
    return open(id, false);
}

Draft VersionHistory::autosave(LabelMap& labels, const SegmentList& segments,
                               const std::vector<Box>& boxes, const std::string& author,
                               const std::optional<VersionId>& parent, SaveReport* report) {
    SaveReport local;
    Draft draft;
    draft.parent = parent;
    draft.author = author;
    draft.savedUtc = currentUtcTimestamp();
    draft.geometry = labels.geometry();
    draft.width = labels.width();
    draft.chunks = writeChunks(labels, *store_, report ? *report : local);
    draft.segments = segments;
    draft.boxes = boxes;
    return draft;
}

Draft VersionHistory::autosaveChanges(std::vector<imaging::ChunkHash> chunks,
                                      const imaging::Geometry& geometry, LabelWidth width,
                                      const ChangedChunks& changed, const SegmentList& segments,
                                      const std::vector<Box>& boxes, const std::string& author,
                                      const std::optional<VersionId>& parent, SaveReport* report) {
    const std::size_t chunkBytes =
        std::size_t(geometry.dims[0]) * std::size_t(geometry.dims[1]) * std::size_t(width);
    if (int(chunks.size()) != geometry.dims[2])
        throw std::invalid_argument("a draft has one chunk per slice");
    SaveReport local;
    SaveReport& r = report ? *report : local;
    std::optional<imaging::ChunkHash> emptyHash;
    for (const auto& [z, bytes] : changed) {
        if (z < 0 || z >= int(chunks.size()) || bytes.size() != chunkBytes)
            throw std::invalid_argument("slice " + std::to_string(z) +
                                        " is not a slice of the label map");
        imaging::ChunkHash hash;
        if (allZero(bytes)) {
            if (!emptyHash)
                emptyHash = imaging::hashContent(bytes);
            hash = *emptyHash;
        } else {
            hash = imaging::hashContent(bytes);
        }
        if (store_->has(hash)) {
            ++r.chunksReused;
        } else {
            r.bytesWritten += store_->put(hash, Bytes(bytes.begin(), bytes.end()));
            ++r.chunksWritten;
        }
        chunks[std::size_t(z)] = hash;
    }
    r.chunksReused += chunks.size() - changed.size();
    Draft draft;
    draft.parent = parent;
    draft.author = author;
    draft.savedUtc = currentUtcTimestamp();
    draft.geometry = geometry;
    draft.width = width;
    draft.chunks = std::move(chunks);
    draft.segments = segments;
    draft.boxes = boxes;
    return draft;
}

OpenedAnnotation VersionHistory::recover(const Draft& draft) const {
    OpenedAnnotation opened{readLabelMap(draft.geometry, draft.width, draft.chunks, *store_),
                            draft.segments, BoxList(draft.geometry.dims), draft.parent};
    opened.boxes.replaceAll(draft.boxes);
    return opened;
}

} // namespace radmark::annotation
