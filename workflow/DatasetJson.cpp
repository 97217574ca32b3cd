#include "workflow/DatasetJson.h"

#include <cmath>
#include <limits>

namespace radmark::workflow {

using nlohmann::json;

namespace {

// The readers below check each field's type themselves (nlohmann's get<int> would take 1.5 as
// 1 and 2^40 as garbage), so that a damaged value names what was damaged.

[[noreturn]] void unreadable(const std::string& what) {
    throw UnreadableDataset(what + " is not readable");
}

const json& field(const json& j, const char* key, const std::string& what) {
    if (!j.is_object())
        unreadable(what);
    const auto it = j.find(key);
    if (it == j.end())
        unreadable(what + "'s \"" + key + "\"");
    return *it;
}

std::string text(const json& j, const char* key, const std::string& what) {
    const json& v = field(j, key, what);
    if (!v.is_string())
        unreadable(what + "'s \"" + key + "\"");
    return v.get<std::string>();
}

bool flag(const json& j, const char* key, const std::string& what) {
    const json& v = field(j, key, what);
    if (!v.is_boolean())
        unreadable(what + "'s \"" + key + "\"");
    return v.get<bool>();
}

template <class Integer> Integer integerValue(const json& v, const std::string& what) {
    if (v.is_number_unsigned()) {
        const auto n = v.get<std::uint64_t>();
        if (n > std::uint64_t(std::numeric_limits<Integer>::max()))
            unreadable(what);
        return Integer(n);
    }
    if (!v.is_number_integer())
        unreadable(what);
    const auto n = v.get<std::int64_t>();
    if (n < std::int64_t(std::numeric_limits<Integer>::min()) ||
        (n > 0 && std::uint64_t(n) > std::uint64_t(std::numeric_limits<Integer>::max())))
        unreadable(what);
    return Integer(n);
}

template <class Integer = int>
Integer integer(const json& j, const char* key, const std::string& what) {
    return integerValue<Integer>(field(j, key, what), what + "'s \"" + key + "\"");
}

const json::array_t& array(const json& v, const std::string& what) {
    if (!v.is_array())
        unreadable(what);
    return v.get_ref<const json::array_t&>();
}

const json::array_t& array(const json& j, const char* key, const std::string& what) {
    return array(field(j, key, what), what + "'s \"" + key + "\"");
}

std::vector<std::string> texts(const json& j, const char* key, const std::string& what) {
    std::vector<std::string> out;
    for (const json& v : array(j, key, what)) {
        if (!v.is_string())
            unreadable(what + "'s \"" + key + "\"");
        out.push_back(v.get<std::string>());
    }
    return out;
}

storage::ReviewState reviewState(const json& j, const char* key, const std::string& what) {
    const std::string name = text(j, key, what);
    const auto state = storage::parseReviewState(name);
    if (!state)
        throw UnreadableDataset(what + " has a review state Radmark does not know ('" + name +
                                "')");
    return *state;
}

storage::Split split(const std::string& name, const std::string& what) {
    const auto s = storage::parseSplit(name);
    if (!s)
        throw UnreadableDataset(what + " has a split Radmark does not know ('" + name + "')");
    return *s;
}

// The inverse of storage::exportOutcomeName (storage has none: it reads its own column).
storage::ExportOutcome exportOutcome(const std::string& name, const std::string& what) {
    for (const storage::ExportOutcome o :
         {storage::ExportOutcome::Started, storage::ExportOutcome::Completed,
          storage::ExportOutcome::Refused})
        if (name == storage::exportOutcomeName(o))
            return o;
    throw UnreadableDataset(what + " has an outcome Radmark does not know ('" + name + "')");
}

json termJson(const storage::CodedTerm& t) {
    return {{"scheme", t.scheme}, {"code", t.code}, {"meaning", t.meaning}};
}

storage::CodedTerm termFromJson(const json& j, const std::string& what) {
    return {text(j, "scheme", what), text(j, "code", what), text(j, "meaning", what)};
}

json optionalTermJson(const std::optional<storage::CodedTerm>& t) {
    return t ? termJson(*t) : json(nullptr);
}

std::optional<storage::CodedTerm> optionalTermFromJson(const json& j, const char* key,
                                                       const std::string& what) {
    const json& v = field(j, key, what);
    if (v.is_null())
        return std::nullopt;
    return termFromJson(v, what + "'s \"" + key + "\"");
}

json conflictsJson(const std::vector<storage::LabelConflict>& conflicts) {
    json out = json::array();
    for (const auto& c : conflicts)
        out.push_back({{"problem", c.problem}, {"cases", c.cases}});
    return out;
}

std::vector<storage::LabelConflict> conflictsFromJson(const json& list) {
    std::vector<storage::LabelConflict> out;
    for (const json& c : array(list, "the label conflicts"))
        out.push_back(
            {text(c, "problem", "a label conflict"), texts(c, "cases", "a label conflict")});
    return out;
}

// The summary's own fields, in an object of the list or of the overview. Its counts are
// "case_count", ... because the overview's "cases", "revisions" and "exports" are the lists.
void putSummary(json& out, const storage::DatasetSummary& s) {
    out["id"] = s.id;
    out["name"] = s.name;
    out["number"] = s.number;
    out["purpose"] = s.purpose;
    out["created"] = s.created;
    out["created_by"] = s.createdBy;
    out["case_count"] = s.cases;
    out["revision_count"] = s.revisions;
    out["export_count"] = s.exports;
}

storage::DatasetSummary summaryFromJson(const json& j, const std::string& what) {
    storage::DatasetSummary s;
    s.id = integer<std::int64_t>(j, "id", what);
    s.name = text(j, "name", what);
    s.number = integer(j, "number", what);
    s.purpose = text(j, "purpose", what);
    s.created = text(j, "created", what);
    s.createdBy = text(j, "created_by", what);
    s.cases = integer(j, "case_count", what);
    s.revisions = integer(j, "revision_count", what);
    s.exports = integer(j, "export_count", what);
    return s;
}

json caseJson(const storage::DatasetCase& c) {
    return {{"study", c.pseudonym},
            {"study_id", c.studyId},
            {"patient", c.patientPseudonym},
            {"chosen", c.chosenVersion ? json(*c.chosenVersion) : json("latest approved")},
            {"version", c.version ? json(*c.version) : json(nullptr)},
            {"version_hash", c.versionHash},
            {"state", storage::reviewStateName(c.state)},
            {"unapproved", c.unapproved},
            {"split", c.split ? json(storage::splitName(*c.split)) : json(nullptr)},
            {"added", c.added}};
}

storage::DatasetCase caseFromJson(const json& j) {
    const std::string what = "a dataset case";
    storage::DatasetCase c;
    c.pseudonym = text(j, "study", what);
    c.studyId = integer<std::int64_t>(j, "study_id", what);
    c.patientPseudonym = text(j, "patient", what);
    if (const json& chosen = field(j, "chosen", what); chosen.is_string()) {
        if (chosen.get<std::string>() != "latest approved")
            unreadable(what + "'s \"chosen\"");
    } else {
        c.chosenVersion = integerValue<std::int64_t>(chosen, what + "'s \"chosen\"");
    }
    if (const json& version = field(j, "version", what); !version.is_null())
        c.version = integerValue<std::int64_t>(version, what + "'s \"version\"");
    c.versionHash = text(j, "version_hash", what);
    c.state = reviewState(j, "state", what);
    c.unapproved = flag(j, "unapproved", what);
    if (const json& s = field(j, "split", what); !s.is_null()) {
        if (!s.is_string())
            unreadable(what + "'s \"split\"");
        c.split = split(s.get<std::string>(), what);
    }
    c.added = text(j, "added", what);
    return c;
}

json labelEntryJson(const storage::LabelEntry& e) {
    return {{"value", e.value},
            {"name", e.name},
            {"code", termJson(e.type)},
            {"category", optionalTermJson(e.category)},
            {"mapped_by_name", e.mappedByName}};
}

storage::LabelEntry labelEntryFromJson(const json& j) {
    const std::string what = "a label";
    storage::LabelEntry e;
    e.value = integer(j, "value", what);
    e.name = text(j, "name", what);
    e.type = termFromJson(field(j, "code", what), what + "'s \"code\"");
    e.category = optionalTermFromJson(j, "category", what);
    e.mappedByName = flag(j, "mapped_by_name", what);
    return e;
}

// Each case's segment labels as the dataset's integers, written as a revision's content writes
// them (docs/datasets.md): "segments": [{"label": 1, "value": 1}, ...].
json caseLabelsJson(const storage::CaseLabels& c) {
    json segments = json::array();
    for (const auto& [label, value] : c.valueOf)
        segments.push_back({{"label", label}, {"value", value}});
    return {{"study", c.pseudonym}, {"study_id", c.studyId}, {"segments", segments}};
}

storage::CaseLabels caseLabelsFromJson(const json& j) {
    const std::string what = "a case's labels";
    storage::CaseLabels c;
    c.pseudonym = text(j, "study", what);
    c.studyId = integer<std::int64_t>(j, "study_id", what);
    for (const json& s : array(j, "segments", what)) {
        const auto label = integer<std::uint32_t>(s, "label", what);
        if (!c.valueOf.emplace(label, integer(s, "value", what)).second)
            unreadable(what + "'s segment " + std::to_string(label) + " (twice)");
    }
    return c;
}

json exportJson(const storage::DatasetExport& x) {
    json versions = json::array();
    for (const storage::ExportedVersion& v : x.versions)
        versions.push_back({{"study", v.pseudonym},
                            {"version", v.versionHash},
                            {"unapproved", v.unapproved},
                            {"split", storage::splitName(v.split)}});
    return {{"id", x.id},
            {"revision_id", x.revisionId},
            {"revision", x.revision},
            {"revision_sha256", x.revisionHash},
            {"destination", x.destination},
            {"bundle", x.bundleId},
            {"by", x.user},
            {"requested", x.requested},
            {"started", x.started},
            {"outcome", storage::exportOutcomeName(x.outcome)},
            {"finished", x.finished},
            {"reason", x.reason},
            {"manifest_sha256", x.manifestHash},
            {"versions", versions}};
}

storage::DatasetExport exportFromJson(const json& j) {
    const std::string what = "an export";
    storage::DatasetExport x;
    x.id = integer<std::int64_t>(j, "id", what);
    x.revisionId = integer<std::int64_t>(j, "revision_id", what);
    x.revision = integer(j, "revision", what);
    x.revisionHash = text(j, "revision_sha256", what);
    x.destination = text(j, "destination", what);
    x.bundleId = text(j, "bundle", what);
    x.user = text(j, "by", what);
    x.requested = text(j, "requested", what);
    x.started = flag(j, "started", what);
    x.outcome = exportOutcome(text(j, "outcome", what), what);
    x.finished = text(j, "finished", what);
    x.reason = text(j, "reason", what);
    x.manifestHash = text(j, "manifest_sha256", what);
    for (const json& v : array(j, "versions", what)) {
        const std::string version = "an exported version";
        x.versions.push_back({text(v, "study", version), text(v, "version", version),
                              flag(v, "unapproved", version),
                              split(text(v, "split", version), version)});
    }
    return x;
}

// A fraction as the writer wrote it (permille / 1000.0), back to its thousandths.
int permille(const json& j, const char* key, const std::string& what) {
    const json& v = field(j, key, what);
    const double fraction = v.is_number() ? v.get<double>() : std::nan("");
    if (!std::isfinite(fraction) || std::abs(fraction) > 1e6)
        unreadable(what + "'s \"" + key + "\"");
    return int(std::lround(fraction * 1000));
}

} // namespace

std::string overviewJson(const DatasetOverview& o) {
    const storage::Dataset& d = o.dataset;
    json cases = json::array();
    for (const storage::DatasetCase& c : d.cases)
        cases.push_back(caseJson(c));
    json labels = json::array();
    for (const storage::LabelEntry& e : o.labels.entries)
        labels.push_back(labelEntryJson(e));
    json labelCases = json::array();
    for (const storage::CaseLabels& c : o.labels.cases)
        labelCases.push_back(caseLabelsJson(c));
    json mappings = json::array();
    for (const storage::SegmentNameMapping& m : d.mappings)
        mappings.push_back(segmentNameMappingJson(m));
    json protocols = json::array();
    for (const storage::ProtocolVersion& p : d.protocolVersions)
        protocols.push_back(protocolVersionJson(p));
    json revisions = json::array();
    for (const storage::RevisionSummary& r : o.revisions)
        revisions.push_back(revisionSummaryJson(r));
    json exports = json::array();
    for (const storage::DatasetExport& x : o.exports)
        exports.push_back(exportJson(x));
    json out = {
        {"protocol", d.protocol ? protocolVersionJson(*d.protocol) : json(nullptr)},
        {"protocol_versions", protocols},
        {"split", d.split ? splitSettingsJson(*d.split) : json(nullptr)},
        {"cases", cases},
        {"labels", labels},
        {"label_cases", labelCases},
        {"label_conflicts", conflictsJson(o.labels.conflicts)},
        {"segment_name_mappings", mappings},
        {"revisions", revisions},
        {"exports", exports},
    };
    putSummary(out, d.summary);
    return out.dump(2);
}

DatasetOverview overviewFromJson(const std::string& text) {
    json j;
    try {
        j = json::parse(text);
    } catch (const json::exception&) {
        throw UnreadableDataset("the dataset overview is not JSON");
    }
    const std::string what = "the dataset overview";
    if (!j.is_object())
        unreadable(what);
    DatasetOverview o;
    storage::Dataset& d = o.dataset;
    d.summary = summaryFromJson(j, what);
    if (const json& p = field(j, "protocol", what); !p.is_null())
        d.protocol = protocolVersionFromJson(p);
    for (const json& p : array(j, "protocol_versions", what))
        d.protocolVersions.push_back(protocolVersionFromJson(p));
    if (const json& s = field(j, "split", what); !s.is_null())
        d.split = splitSettingsFromJson(s);
    for (const json& c : array(j, "cases", what))
        d.cases.push_back(caseFromJson(c));
    for (const json& m : array(j, "segment_name_mappings", what))
        d.mappings.push_back(segmentNameMappingFromJson(m));
    for (const json& e : array(j, "labels", what))
        o.labels.entries.push_back(labelEntryFromJson(e));
    for (const json& c : array(j, "label_cases", what))
        o.labels.cases.push_back(caseLabelsFromJson(c));
    o.labels.conflicts = conflictsFromJson(field(j, "label_conflicts", what));
    for (const json& r : array(j, "revisions", what))
        o.revisions.push_back(revisionSummaryFromJson(r));
    for (const json& x : array(j, "exports", what))
        o.exports.push_back(exportFromJson(x));
    return o;
}

json datasetSummariesJson(const std::vector<storage::DatasetSummary>& list) {
    json out = json::array();
    for (const storage::DatasetSummary& s : list) {
        json one = json::object();
        putSummary(one, s);
        out.push_back(std::move(one));
    }
    return out;
}

std::vector<storage::DatasetSummary> datasetSummariesFromJson(const json& list) {
    std::vector<storage::DatasetSummary> out;
    for (const json& s : array(list, "the datasets list"))
        out.push_back(summaryFromJson(s, "a dataset of the list"));
    return out;
}

json candidateStudiesJson(const std::vector<CandidateStudy>& studies) {
    json out = json::array();
    for (const CandidateStudy& s : studies) {
        json versions = json::array();
        for (const CandidateVersion& v : s.versions)
            versions.push_back({{"version", v.annotationId},
                                {"version_hash", v.contentHash},
                                {"author", v.author},
                                {"created", v.created},
                                {"state", storage::reviewStateName(v.state)}});
        out.push_back({{"study", s.pseudonym},
                       {"study_id", s.studyId},
                       {"modality", s.modality},
                       {"description", s.description},
                       {"versions", versions}});
    }
    return out;
}

std::vector<CandidateStudy> candidateStudiesFromJson(const json& studies) {
    std::vector<CandidateStudy> out;
    for (const json& j : array(studies, "the studies list")) {
        const std::string what = "a study of the list";
        CandidateStudy s;
        s.pseudonym = text(j, "study", what);
        s.studyId = integer<std::int64_t>(j, "study_id", what);
        s.modality = text(j, "modality", what);
        s.description = text(j, "description", what);
        for (const json& v : array(j, "versions", what)) {
            const std::string version = "a version of study " + s.pseudonym;
            s.versions.push_back({integer<std::int64_t>(v, "version", version),
                                  text(v, "version_hash", version), text(v, "author", version),
                                  text(v, "created", version), reviewState(v, "state", version)});
        }
        out.push_back(std::move(s));
    }
    return out;
}

// The fractions as decimals (0.7, 0.1, 0.2), as `dataset split` takes them.
json splitSettingsJson(const storage::SplitSettings& s) {
    return {{"seed", s.seed},
            {"train", s.trainPermille / 1000.0},
            {"validation", s.validationPermille / 1000.0},
            {"test", s.testPermille / 1000.0},
            {"keep_exported_test", s.keepExportedTest}};
}

storage::SplitSettings splitSettingsFromJson(const json& j) {
    const std::string what = "the split settings";
    storage::SplitSettings s;
    s.seed = integer<std::int64_t>(j, "seed", what);
    s.trainPermille = permille(j, "train", what);
    s.validationPermille = permille(j, "validation", what);
    s.testPermille = permille(j, "test", what);
    s.keepExportedTest = flag(j, "keep_exported_test", what);
    return s;
}

json segmentNameMappingJson(const storage::SegmentNameMapping& m) {
    return {{"segment_name", m.segmentName},
            {"code", termJson(m.type)},
            {"category", optionalTermJson(m.category)}};
}

storage::SegmentNameMapping segmentNameMappingFromJson(const json& j) {
    const std::string what = "a segment name mapping";
    return {text(j, "segment_name", what), termFromJson(field(j, "code", what), what + "'s code"),
            optionalTermFromJson(j, "category", what)};
}

json protocolVersionJson(const storage::ProtocolVersion& p) {
    return {{"id", p.id},
            {"version", p.version},
            {"sha256", p.sha256},
            {"media_type", p.mediaType},
            {"file_name", p.fileName},
            {"size", p.size},
            {"created", p.created},
            {"created_by", p.createdBy}};
}

storage::ProtocolVersion protocolVersionFromJson(const json& j) {
    const std::string what = "a protocol version";
    storage::ProtocolVersion p;
    p.id = integer<std::int64_t>(j, "id", what);
    p.version = integer(j, "version", what);
    p.sha256 = text(j, "sha256", what);
    p.mediaType = text(j, "media_type", what);
    p.fileName = text(j, "file_name", what);
    p.size = integer<std::int64_t>(j, "size", what);
    p.created = text(j, "created", what);
    p.createdBy = text(j, "created_by", what);
    return p;
}

// "parent" is null for a first revision (parentRevision 0).
json revisionSummaryJson(const storage::RevisionSummary& r) {
    return {{"id", r.id},
            {"revision", r.revision},
            {"sha256", r.contentHash},
            {"parent", r.parentRevision ? json(r.parentRevision) : json(nullptr)},
            {"frozen", r.frozen},
            {"frozen_by", r.frozenBy},
            {"cases", r.cases}};
}

storage::RevisionSummary revisionSummaryFromJson(const json& j) {
    const std::string what = "a revision";
    storage::RevisionSummary r;
    r.id = integer<std::int64_t>(j, "id", what);
    r.revision = integer(j, "revision", what);
    r.contentHash = text(j, "sha256", what);
    if (const json& parent = field(j, "parent", what); !parent.is_null())
        r.parentRevision = integerValue<int>(parent, what + "'s \"parent\"");
    r.frozen = text(j, "frozen", what);
    r.frozenBy = text(j, "frozen_by", what);
    r.cases = integer(j, "cases", what);
    return r;
}

} // namespace radmark::workflow
