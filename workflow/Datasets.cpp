#include "workflow/Datasets.h"

#include "annotation/Version.h"
#include "storage/Annotations.h"
#include "storage/Reviews.h"
#include "storage/Studies.h"

#include <fstream>
#include <iterator>
#include <set>

namespace radmark::workflow {

using storage::Bytes;
using storage::Datasets;

namespace {

std::int64_t studyId(storage::Session& session, const std::string& study) {
    return storage::Studies(session).idFor(study);
}

std::optional<storage::CodedTerm> termOf(const std::optional<annotation::CodedConcept>& c) {
    if (!c || c->code.empty())
        return std::nullopt;
    return storage::CodedTerm{c->scheme, c->code, c->meaning};
}

// The version `annotationId` of a study and its ancestors, parsed, nearest first. Each record is
// read through storage::Annotations::load (roles apply; an admin's read is logged "to export").
std::vector<annotation::Version> versionChain(storage::Session& session, std::int64_t studyId,
                                              std::int64_t annotationId) {
    storage::Annotations annotations(session);
    std::map<imaging::ChunkHash, std::int64_t> idOfHash;
    for (const storage::AnnotationRecord& r : annotations.list(studyId))
        idOfHash[r.chunk] = r.id;
    imaging::InMemoryChunkStore records;
    std::vector<annotation::Version> chain;
    std::set<imaging::ChunkHash> seen;
    std::optional<std::int64_t> next = annotationId;
    while (next) {
        const Bytes record = annotations.load(*next);
        const imaging::ChunkHash hash = imaging::hashContent(record);
        if (!seen.insert(hash).second)
            throw storage::StoreError("the parent chain of version " +
                                      std::to_string(annotationId) + " loops");
        records.put(hash, record);
        chain.push_back(annotation::VersionHistory::load(records, {hash}).versions().front());
        next.reset();
        if (const auto& parent = chain.back().parent) {
            const auto it = idOfHash.find(*parent);
            if (it == idOfHash.end())
                throw storage::StoreError("version " + hash.hex().substr(0, 12) +
                                          " names a parent the store does not hold (" +
                                          parent->hex().substr(0, 12) + ")");
            next = it->second;
        }
    }
    return chain;
}

} // namespace

storage::DatasetSummary createDataset(storage::Session& session, const std::string& name,
                                      std::optional<int> number, const std::string& purpose) {
    return Datasets(session).create(name, number, purpose);
}

void setDatasetPurpose(storage::Session& session, const std::string& name,
                       const std::string& purpose) {
    Datasets(session).setPurpose(name, purpose);
}

std::vector<storage::DatasetSummary> listDatasets(storage::Session& session) {
    return Datasets(session).list();
}

void addStudies(storage::Session& session, const std::string& name,
                const std::vector<std::string>& studies,
                const std::optional<std::string>& version) {
    std::vector<std::int64_t> ids;
    for (const std::string& study : studies)
        ids.push_back(studyId(session, study));
    std::optional<std::int64_t> chosen;
    if (version)
        chosen = storage::Reviews(session).findVersion(*version);
    Datasets(session).addStudies(name, ids, chosen);
}

void removeStudy(storage::Session& session, const std::string& name, const std::string& study) {
    Datasets(session).removeStudy(name, studyId(session, study));
}

void chooseVersion(storage::Session& session, const std::string& name, const std::string& study,
                   const std::optional<std::string>& version) {
    const std::int64_t id = studyId(session, study);
    std::optional<std::int64_t> chosen;
    if (version)
        chosen = storage::Reviews(session).findVersion(*version);
    Datasets(session).chooseVersion(name, id, chosen);
}

void splitDataset(storage::Session& session, const std::string& name,
                  const storage::SplitSettings& settings) {
    Datasets(session).split(name, settings);
}

storage::ProtocolVersion setProtocol(storage::Session& session, const std::string& name,
                                     const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw storage::InvalidRequestError("the protocol file " + file.string() +
                                           " cannot be read");
    const Bytes content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad())
        throw storage::InvalidRequestError("the protocol file " + file.string() +
                                           " cannot be read");
    return Datasets(session).setProtocol(name, file.filename().string(), content);
}

storage::ProtocolVersion setProtocol(storage::Session& session, const std::string& name,
                                     const std::string& fileName, const Bytes& content) {
    return Datasets(session).setProtocol(name, std::filesystem::path(fileName).filename().string(),
                                         content);
}

std::vector<CandidateStudy> candidateStudies(storage::Session& session) {
    std::vector<CandidateStudy> out;
    for (const storage::StudyReviewSummary& s : storage::Reviews(session).studies()) {
        CandidateStudy c{s.studyId, s.pseudonym, s.modality, s.description, {}};
        for (const storage::StudyReviewSummary::Version& v : s.versions)
            c.versions.push_back(
                {v.annotationId, v.contentHash, v.author, v.created, v.review.state});
        out.push_back(std::move(c));
    }
    return out;
}

void mapSegmentName(storage::Session& session, const std::string& name,
                    const storage::SegmentNameMapping& mapping) {
    Datasets(session).mapSegmentName(name, mapping);
}

void unmapSegmentName(storage::Session& session, const std::string& name,
                      const std::string& segmentName) {
    Datasets(session).unmapSegmentName(name, segmentName);
}

storage::LabelSurvey surveyLabels(storage::Session& session, const std::string& name) {
    storage::LabelSurvey survey;
    for (const storage::DatasetCase& c : Datasets(session).get(name).cases) {
        if (!c.version)
            continue;
        const std::vector<annotation::Version> chain = versionChain(session, c.studyId, *c.version);
        storage::SurveyedVersion v;
        v.studyId = c.studyId;
        v.annotationId = *c.version;
        v.versionHash = chain.front().id.hex();
        for (const annotation::Segment& s : chain.front().segments.all())
            v.segments.push_back({s.label, s.name, termOf(s.category), termOf(s.type)});
        for (std::size_t i = 1; i < chain.size(); ++i)
            v.parentChain.push_back(chain[i].id.hex());
        survey.push_back(std::move(v));
    }
    return survey;
}

storage::LabelTable checkLabelTable(storage::Session& session, const std::string& name) {
    return Datasets(session).labelTable(name, surveyLabels(session, name));
}

storage::FrozenRevision freezeRevision(storage::Session& session, const std::string& name) {
    return Datasets(session).freezeRevision(name, surveyLabels(session, name));
}

DatasetOverview showDataset(storage::Session& session, const std::string& name) {
    DatasetOverview o;
    Datasets datasets(session);
    o.dataset = datasets.get(name);
    o.labels = datasets.labelTable(name, surveyLabels(session, name));
    o.revisions = datasets.revisions(name);
    o.exports = datasets.history(name);
    return o;
}

DatasetRevisionContents revisionContents(storage::Session& session, std::int64_t revisionId) {
    return Datasets(session).revision(revisionId);
}

storage::CodedTerm parseCodedTerm(std::string_view text) {
    const auto first = text.find(':');
    const auto second = first == std::string_view::npos ? first : text.find(':', first + 1);
    if (second == std::string_view::npos || first == 0 || second == first + 1 ||
        second + 1 >= text.size())
        throw storage::InvalidRequestError("a code is SCHEME:CODE:MEANING, e.g. "
                                           "SCT:10200004:Liver (got '" +
                                           std::string(text) + "')");
    return {std::string(text.substr(0, first)),
            std::string(text.substr(first + 1, second - first - 1)),
            std::string(text.substr(second + 1))};
}

} // namespace radmark::workflow
