#include "storage/Datasets.h"

#include "storage/DatasetRules.h"
#include "storage/Permissions.h"
#include "storage/SessionAccess.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <set>

namespace radmark::storage {

using internal::assignPatients;
using internal::checkSplitSettings;
using internal::computeLabelTable;
using internal::conflictText;
using internal::joined;
using internal::lowerCase;
using internal::matchSurvey;
using internal::pseudonymsOf;
using internal::sha256Hex;
using internal::sorted;
using nlohmann::json;

namespace {

constexpr int firstOwnDatasetNumber = 500; // nnU-Net: own datasets from 500 on, to 999
constexpr std::size_t maxProtocolBytes = 64u << 20;
constexpr const char* contentFormat = "radmark-dataset-revision-1";
constexpr const char* provenanceFormat = "radmark-dataset-provenance-1";

// JSON as nlohmann writes it without indentation: object keys in byte order, no whitespace,
// strings in UTF-8. Every number in these documents is an integer, so the text is canonical.
std::string canonical(const json& j) {
    try {
        return j.dump();
    } catch (const json::type_error&) {
        throw InvalidRequestError("a name or text in this dataset is not valid UTF-8");
    }
}

std::string objectOf(const std::string& name) {
    return "dataset " + name;
}

// Binds the session's user id, or NULL for break-glass (no user row).
void bindUser(Statement& s, int index, std::int64_t userId) {
    if (userId != 0)
        s.bind(index, userId);
    else
        s.bindNull(index);
}
std::string userOf(const Statement& s, int column) {
    return s.isNull(column) ? std::string("break-glass") : s.text(column);
}

void checkDatasetName(const std::string& name) {
    if (name.empty() || name.size() > 64 || !std::isalpha(static_cast<unsigned char>(name[0])))
        throw InvalidRequestError("a dataset name has 1 to 64 characters and starts with a letter");
    for (unsigned char c : name)
        if (!(std::isalnum(c) || c == '_' || c == '-'))
            throw InvalidRequestError("a dataset name may contain only letters, digits, '_' and "
                                      "'-' (it names the nnU-Net folder DatasetNNN_NAME)");
}

void checkText(const std::string& text, const char* what, std::size_t limit) {
    if (text.size() > limit)
        throw InvalidRequestError(std::string("the ") + what + " is longer than " +
                                  std::to_string(limit) + " characters");
    for (unsigned char c : text)
        if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
            throw InvalidRequestError(std::string("the ") + what +
                                      " must not hold control characters");
}

void checkTerm(const CodedTerm& term, const char* what) {
    if (term.scheme.empty() || term.code.empty() || term.meaning.empty())
        throw InvalidRequestError(std::string("a ") + what +
                                  " needs a scheme, a code and a meaning (SCT:10200004:Liver)");
    checkText(term.scheme + term.code + term.meaning, what, 300);
}

// ---------------------------------------------------------------------------------------------
// Rows

struct DatasetRow {
    std::int64_t id = 0;
    std::string name;
    int number = 0;
    std::string purpose;
    std::optional<std::int64_t> protocolId;
    std::optional<SplitSettings> split;
    std::string createdBy, created;
};

constexpr const char* datasetColumns =
    "SELECT d.id, d.name, d.number, d.purpose, d.protocol_id, d.split_seed, d.split_train, "
    "d.split_validation, d.split_test, d.split_keep_exported_test, u.name, d.created "
    "FROM datasets d LEFT JOIN users u ON u.id = d.created_by ";

DatasetRow readDatasetRow(Statement& s) {
    DatasetRow d;
    d.id = s.integer(0);
    d.name = s.text(1);
    d.number = int(s.integer(2));
    d.purpose = s.text(3);
    if (!s.isNull(4))
        d.protocolId = s.integer(4);
    if (!s.isNull(5))
        d.split = SplitSettings{s.integer(5), int(s.integer(6)), int(s.integer(7)),
                                int(s.integer(8)), s.integer(9) != 0};
    d.createdBy = userOf(s, 10);
    d.created = s.text(11);
    return d;
}

DatasetRow findDataset(Database& db, const std::string& name) {
    auto s = db.prepare(std::string(datasetColumns) + "WHERE d.name = ?");
    s.bind(1, name);
    if (!s.step())
        throw InvalidRequestError("there is no dataset named " + name);
    return readDatasetRow(s);
}

struct VersionInfo {
    std::int64_t id = 0;
    std::int64_t studyId = 0;
    std::string hash;
    ReviewState state = ReviewState::Draft;
};

VersionInfo versionInfo(Database& db, std::int64_t annotationId) {
    auto s = db.prepare("SELECT a.id, a.study_id, a.chunk, d.decision, "
                        "s.annotation_id IS NOT NULL AND s.withdrawn IS NULL FROM annotations a "
                        "LEFT JOIN decisions d ON d.annotation_id = a.id "
                        "LEFT JOIN submissions s ON s.annotation_id = a.id WHERE a.id = ?");
    s.bind(1, annotationId);
    if (!s.step())
        throw InvalidRequestError("there is no version " + std::to_string(annotationId));
    return {s.integer(0), s.integer(1), toHex(s.blob(2)),
            reviewStateOf(s.isNull(3) ? std::string() : s.text(3), s.integer(4) != 0)};
}

// The newest approved version of a study (by save order); decisions are final, so once a study
// has one it always has one.
std::optional<VersionInfo> latestApproved(Database& db, std::int64_t studyId) {
    auto s = db.prepare("SELECT a.id, a.chunk FROM annotations a JOIN decisions d ON "
                        "d.annotation_id = a.id WHERE a.study_id = ? AND d.decision = 'approve' "
                        "ORDER BY a.id DESC LIMIT 1");
    s.bind(1, studyId);
    if (!s.step())
        return std::nullopt;
    return VersionInfo{s.integer(0), studyId, toHex(s.blob(1)), ReviewState::Approved};
}

std::vector<DatasetCase> readCases(Database& db, std::int64_t datasetId) {
    std::vector<DatasetCase> cases;
    {
        auto s = db.prepare("SELECT c.study_id, st.label, c.patient_pseudonym, c.annotation_id, "
                            "c.split, c.added FROM dataset_cases c JOIN studies st ON "
                            "st.id = c.study_id WHERE c.dataset_id = ? ORDER BY st.label");
        s.bind(1, datasetId);
        while (s.step()) {
            DatasetCase c;
            c.studyId = s.integer(0);
            c.pseudonym = s.text(1);
            c.patientPseudonym = s.text(2);
            if (!s.isNull(3))
                c.chosenVersion = s.integer(3);
            if (!s.isNull(4))
                c.split = parseSplit(s.text(4));
            c.added = s.text(5);
            cases.push_back(std::move(c));
        }
    }
    for (DatasetCase& c : cases) {
        const std::optional<VersionInfo> v = c.chosenVersion
                                                 ? std::optional(versionInfo(db, *c.chosenVersion))
                                                 : latestApproved(db, c.studyId);
        if (!v)
            continue;
        c.version = v->id;
        c.versionHash = v->hash;
        c.state = v->state;
        c.unapproved = v->state != ReviewState::Approved;
    }
    return cases;
}

ProtocolVersion readProtocol(Statement& s) {
    return {s.integer(0), int(s.integer(1)), s.text(2), s.text(3),
            s.text(4),    s.integer(5),      s.text(6), userOf(s, 7)};
}
constexpr const char* protocolColumns =
    "SELECT p.id, p.version, p.sha256, p.media_type, p.file_name, p.size, p.created, u.name "
    "FROM dataset_protocols p LEFT JOIN users u ON u.id = p.created_by ";

ProtocolVersion protocolById(Database& db, std::int64_t id) {
    auto s = db.prepare(std::string(protocolColumns) + "WHERE p.id = ?");
    s.bind(1, id);
    if (!s.step())
        throw InvalidRequestError("there is no protocol " + std::to_string(id));
    return readProtocol(s);
}

std::vector<SegmentNameMapping> readMappings(Database& db, std::int64_t datasetId) {
    auto s = db.prepare("SELECT segment_name, scheme, code, meaning, category_scheme, "
                        "category_code, category_meaning FROM dataset_segment_names "
                        "WHERE dataset_id = ? ORDER BY segment_name");
    s.bind(1, datasetId);
    std::vector<SegmentNameMapping> out;
    while (s.step()) {
        SegmentNameMapping m{s.text(0), {s.text(1), s.text(2), s.text(3)}, std::nullopt};
        if (!s.isNull(4))
            m.category = CodedTerm{s.text(4), s.text(5), s.text(6)};
        out.push_back(std::move(m));
    }
    return out;
}

// The patient behind a study: import keeps the de-identifier's patient pseudonym in the study's
// de-identification report (several studies of one patient share it). A study that import did
// not make (none here but tests) stands for its own patient.
std::string patientPseudonymOf(Session& session, std::int64_t studyId, const std::string& label) {
    std::string reportChunk;
    {
        auto s = SessionAccess::database(session).prepare(
            "SELECT report FROM imported_studies WHERE study_id = ?");
        s.bind(1, studyId);
        if (!s.step())
            return label;
        reportChunk = s.text(0);
    }
    try {
        const Bytes bytes = internal::readChunk(session, imaging::ChunkHash::fromHex(reportChunk));
        const json report = json::parse(bytes.begin(), bytes.end());
        const std::string pseudonym = report.at("study").value("patientPseudonym", std::string());
        return pseudonym.empty() ? label : pseudonym;
    } catch (const StoreError&) {
        throw;
    } catch (const std::exception&) {
        throw StoreError("the de-identification report of study " + label +
                         " cannot be read, so its patient is unknown; the store may be damaged");
    }
}

// ---------------------------------------------------------------------------------------------
// JSON of the records

json termJson(const CodedTerm& t) {
    return {{"scheme", t.scheme}, {"code", t.code}, {"meaning", t.meaning}};
}
CodedTerm termFrom(const json& j) {
    return {j.at("scheme").get<std::string>(), j.at("code").get<std::string>(),
            j.at("meaning").get<std::string>()};
}
json optionalTerm(const std::optional<CodedTerm>& t) {
    return t ? termJson(*t) : json(nullptr);
}
std::optional<CodedTerm> optionalTermFrom(const json& j) {
    if (j.is_null())
        return std::nullopt;
    return termFrom(j);
}

json labelsJson(const std::vector<LabelEntry>& labels) {
    json out = json::array();
    for (const LabelEntry& e : labels)
        out.push_back({{"value", e.value},
                       {"name", e.name},
                       {"type", termJson(e.type)},
                       {"category", optionalTerm(e.category)},
                       {"mapped_by_name", e.mappedByName}});
    return out;
}

json splitJson(const SplitSettings& s) {
    return {{"seed", s.seed},
            {"train_permille", s.trainPermille},
            {"validation_permille", s.validationPermille},
            {"test_permille", s.testPermille},
            {"keep_exported_test", s.keepExportedTest}};
}

json versionsJson(const std::vector<ExportedVersion>& versions) {
    json out = json::array();
    for (const ExportedVersion& v : versions)
        out.push_back({{"study", v.pseudonym},
                       {"version", v.versionHash},
                       {"unapproved", v.unapproved},
                       {"split", splitName(v.split)}});
    return out;
}
std::vector<ExportedVersion> versionsFrom(const json& list) {
    std::vector<ExportedVersion> out;
    for (const json& v : list)
        out.push_back({v.at("study").get<std::string>(), v.at("version").get<std::string>(),
                       v.at("unapproved").get<bool>(),
                       parseSplit(v.at("split").get<std::string>()).value_or(Split::Train)});
    return out;
}

// The hashed content of a revision (docs/datasets.md, "Revision hash").
json contentOf(const DatasetRevision& r) {
    json cases = json::array();
    for (const RevisionCase& c : r.cases) {
        json segments = json::array();
        for (const auto& [label, value] : c.labelValues)
            segments.push_back({{"label", label}, {"value", value}});
        cases.push_back({{"study", c.pseudonym},
                         {"patient", c.patientPseudonym},
                         {"version", c.versionHash},
                         {"unapproved", c.unapproved},
                         {"split", splitName(c.split)},
                         {"segments", segments}});
    }
    return {{"format", contentFormat},
            {"dataset", {{"name", r.datasetName}, {"number", r.number}, {"purpose", r.purpose}}},
            {"protocol", {{"sha256", r.protocol.sha256}, {"version", r.protocol.version}}},
            {"labels", labelsJson(r.labels)},
            {"split", splitJson(r.split)},
            {"cases", cases}};
}

json credentialsJson(const std::optional<Credentials>& c) {
    if (!c)
        return nullptr;
    return {{"title", c->title},
            {"qualification", c->qualification},
            {"years_of_experience", c->yearsOfExperience},
            {"training_date", c->trainingDate},
            {"entered", c->updated},
            {"entered_by", c->updatedBy}};
}

json provenanceOf(const DatasetRevision& r) {
    json cases = json::array();
    for (const RevisionCase& c : r.cases) {
        json chain = json::array();
        for (const ChainVersion& v : c.chain)
            chain.push_back({{"annotation_id", v.annotationId},
                             {"hash", v.hash},
                             {"author", v.author},
                             {"created", v.created},
                             {"message", v.message},
                             {"consensus", v.consensus},
                             {"consensus_sources", v.consensusSources}});
        json decisions = json::array();
        for (const RevisionDecision& d : c.decisions)
            decisions.push_back({{"annotation_id", d.annotationId},
                                 {"version", d.versionHash},
                                 {"reviewer", d.reviewer},
                                 {"decision", d.decision},
                                 {"message", d.message},
                                 {"time", d.time}});
        json comments = json::array();
        for (const RevisionComment& k : c.openComments)
            comments.push_back({{"id", k.id},
                                {"annotation_id", k.annotationId},
                                {"author", k.author},
                                {"text", k.text},
                                {"created", k.created},
                                {"voxel", k.voxel ? json(*k.voxel) : json(nullptr)},
                                {"replies", k.replies}});
        cases.push_back({{"study", c.pseudonym},
                         {"study_id", c.studyId},
                         {"annotation_id", c.annotationId},
                         {"state", reviewStateName(c.state)},
                         {"chain", chain},
                         {"annotators", c.annotators},
                         {"reviewers", c.reviewers},
                         {"decisions", decisions},
                         {"open_comments", comments}});
    }
    json people = json::array();
    for (const RevisionPerson& p : r.people)
        people.push_back({{"name", p.name},
                          {"role", roleName(p.role)},
                          {"credentials", credentialsJson(p.credentials)}});
    return {{"format", provenanceFormat},
            {"frozen", r.frozen},
            {"frozen_by", r.frozenBy},
            {"cases", cases},
            {"people", people}};
}

// Fills r's content and provenance from their stored JSON.
void readRevisionJson(DatasetRevision& r) {
    const json content = json::parse(r.contentJson);
    const json provenance = json::parse(r.provenanceJson);
    const json& dataset = content.at("dataset");
    r.datasetName = dataset.at("name").get<std::string>();
    r.number = dataset.at("number").get<int>();
    r.purpose = dataset.at("purpose").get<std::string>();
    const json& split = content.at("split");
    r.split = {split.at("seed").get<std::int64_t>(), split.at("train_permille").get<int>(),
               split.at("validation_permille").get<int>(), split.at("test_permille").get<int>(),
               split.at("keep_exported_test").get<bool>()};
    for (const json& e : content.at("labels"))
        r.labels.push_back({e.at("value").get<int>(), e.at("name").get<std::string>(),
                            termFrom(e.at("type")), optionalTermFrom(e.at("category")),
                            e.at("mapped_by_name").get<bool>()});
    const json& provenanceCases = provenance.at("cases");
    std::size_t index = 0;
    for (const json& c : content.at("cases")) {
        RevisionCase rc;
        rc.pseudonym = c.at("study").get<std::string>();
        rc.patientPseudonym = c.at("patient").get<std::string>();
        rc.versionHash = c.at("version").get<std::string>();
        rc.unapproved = c.at("unapproved").get<bool>();
        rc.split = parseSplit(c.at("split").get<std::string>()).value_or(Split::Train);
        for (const json& s : c.at("segments"))
            rc.labelValues[s.at("label").get<std::uint32_t>()] = s.at("value").get<int>();
        const json& p = provenanceCases.at(index++);
        rc.studyId = p.at("study_id").get<std::int64_t>();
        rc.annotationId = p.at("annotation_id").get<std::int64_t>();
        rc.state = parseReviewState(p.at("state").get<std::string>()).value_or(ReviewState::Draft);
        for (const json& v : p.at("chain"))
            rc.chain.push_back({v.at("annotation_id").get<std::int64_t>(),
                                v.at("hash").get<std::string>(), v.at("author").get<std::string>(),
                                v.at("created").get<std::string>(),
                                v.at("message").get<std::string>(), v.at("consensus").get<bool>(),
                                v.at("consensus_sources").get<std::vector<std::int64_t>>()});
        rc.annotators = p.at("annotators").get<std::vector<std::string>>();
        rc.reviewers = p.at("reviewers").get<std::vector<std::string>>();
        for (const json& d : p.at("decisions"))
            rc.decisions.push_back(
                {d.at("annotation_id").get<std::int64_t>(), d.at("version").get<std::string>(),
                 d.at("reviewer").get<std::string>(), d.at("decision").get<std::string>(),
                 d.at("message").get<std::string>(), d.at("time").get<std::string>()});
        for (const json& k : p.at("open_comments")) {
            RevisionComment comment{k.at("id").get<std::int64_t>(),
                                    k.at("annotation_id").get<std::int64_t>(),
                                    k.at("author").get<std::string>(),
                                    k.at("text").get<std::string>(),
                                    k.at("created").get<std::string>(),
                                    std::nullopt,
                                    k.at("replies").get<std::vector<std::string>>()};
            if (!k.at("voxel").is_null())
                comment.voxel = k.at("voxel").get<std::array<std::int64_t, 3>>();
            rc.openComments.push_back(std::move(comment));
        }
        r.cases.push_back(std::move(rc));
    }
    for (const json& p : provenance.at("people")) {
        RevisionPerson person{p.at("name").get<std::string>(),
                              parseRole(p.at("role").get<std::string>()), std::nullopt};
        if (const json& c = p.at("credentials"); !c.is_null())
            person.credentials = Credentials{
                c.at("title").get<std::string>(),       c.at("qualification").get<std::string>(),
                c.at("years_of_experience").get<int>(), c.at("training_date").get<std::string>(),
                c.at("entered").get<std::string>(),     c.at("entered_by").get<std::string>()};
        r.people.push_back(std::move(person));
    }
}

DatasetRevision readRevision(Database& db, std::int64_t revisionId) {
    auto s = db.prepare(
        "SELECT r.id, r.dataset_id, r.revision, r.content_hash, r.parent_id, p.revision, "
        "p.content_hash, r.frozen, u.name, r.protocol_id, r.content, r.provenance, "
        "r.provenance_hash FROM dataset_revisions r LEFT JOIN dataset_revisions p ON "
        "p.id = r.parent_id LEFT JOIN users u ON u.id = r.frozen_by WHERE r.id = ?");
    s.bind(1, revisionId);
    if (!s.step())
        throw InvalidRequestError("there is no dataset revision " + std::to_string(revisionId));
    DatasetRevision r;
    r.id = s.integer(0);
    r.datasetId = s.integer(1);
    r.revision = int(s.integer(2));
    r.contentHash = s.text(3);
    if (!s.isNull(4)) {
        r.parentId = s.integer(4);
        r.parentRevision = int(s.integer(5));
        r.parentHash = s.text(6);
    }
    r.frozen = s.text(7);
    r.frozenBy = userOf(s, 8);
    const std::int64_t protocolId = s.integer(9);
    r.contentJson = s.text(10);
    r.provenanceJson = s.text(11);
    r.provenanceHash = s.text(12);
    s.reset();
    if (sha256Hex(r.contentJson) != r.contentHash ||
        sha256Hex(r.provenanceJson) != r.provenanceHash)
        throw StoreError("dataset revision " + std::to_string(revisionId) +
                         " does not match its hash; the store may be damaged");
    r.protocol = protocolById(db, protocolId);
    try {
        readRevisionJson(r);
    } catch (const json::exception& e) {
        throw StoreError("dataset revision " + std::to_string(revisionId) + " cannot be read (" +
                         e.what() + "); the store may be damaged");
    }
    return r;
}

// What has been exported as a test case in this dataset: by study pseudonym, where and when.
struct ExportedTest {
    std::string patient;
    std::string where; // "revision 2, exported 2026-..."
};
std::map<std::string, ExportedTest> exportedTestCases(Database& db, std::int64_t datasetId) {
    std::map<std::string, ExportedTest> out;
    auto s = db.prepare("SELECT r.revision, r.content, min(e.requested) FROM dataset_revisions r "
                        "JOIN dataset_exports e ON e.revision_id = r.id WHERE r.dataset_id = ? "
                        "AND e.started = 1 GROUP BY r.id ORDER BY r.revision");
    s.bind(1, datasetId);
    while (s.step()) {
        const json content = json::parse(s.text(1));
        for (const json& c : content.at("cases"))
            if (c.at("split") == "test")
                out.try_emplace(c.at("study").get<std::string>(),
                                ExportedTest{c.at("patient").get<std::string>(),
                                             "revision " + std::to_string(s.integer(0)) +
                                                 ", exported " + s.text(2)});
    }
    return out;
}

} // namespace

const char* splitName(Split split) {
    switch (split) {
    case Split::Train:
        return "train";
    case Split::Validation:
        return "validation";
    case Split::Test:
        return "test";
    }
    return "train";
}

std::optional<Split> parseSplit(std::string_view name) {
    if (name == "train")
        return Split::Train;
    if (name == "validation")
        return Split::Validation;
    if (name == "test")
        return Split::Test;
    return std::nullopt;
}

std::string codeText(const CodedTerm& term) {
    return term.scheme + ":" + term.code + " (" + term.meaning + ")";
}

const char* exportOutcomeName(ExportOutcome outcome) {
    switch (outcome) {
    case ExportOutcome::Started:
        return "started";
    case ExportOutcome::Completed:
        return "completed";
    case ExportOutcome::Refused:
        return "refused";
    }
    return "started";
}

SplitSettings splitSettings(std::int64_t seed, double train, double validation, double test,
                            bool keepExportedTest) {
    const auto permille = [](double fraction, const char* what) {
        const double scaled = fraction * 1000.0;
        const double rounded = std::round(scaled);
        if (!std::isfinite(fraction) || std::fabs(scaled - rounded) > 1e-6)
            throw InvalidRequestError(std::string("the ") + what +
                                      " fraction may have at most three decimals");
        return int(rounded);
    };
    SplitSettings s{seed, permille(train, "train"), permille(validation, "validation"),
                    permille(test, "test"), keepExportedTest};
    checkSplitSettings(s);
    return s;
}

DatasetSummary Datasets::create(const std::string& name, std::optional<int> number,
                                const std::string& purpose) {
    require(session_, Action::CreateDataset, objectOf(name));
    session_.touch();
    checkDatasetName(name);
    checkText(purpose, "purpose", 4000);
    Database& db = SessionAccess::database(session_);
    {
        auto s = db.prepare("SELECT 1 FROM datasets WHERE name = ? COLLATE NOCASE");
        s.bind(1, name);
        if (s.step())
            throw InvalidRequestError("a dataset named " + name + " exists already");
    }
    std::set<int> taken;
    {
        auto s = db.prepare("SELECT number, name FROM datasets");
        while (s.step()) {
            taken.insert(int(s.integer(0)));
            if (number && *number == s.integer(0))
                throw InvalidRequestError("dataset number " + std::to_string(*number) +
                                          " is taken by " + s.text(1));
        }
    }
    if (number && (*number < 1 || *number > 999))
        throw InvalidRequestError("an nnU-Net dataset number is between 1 and 999");
    if (!number) {
        for (int n = firstOwnDatasetNumber; n <= 999 && !number; ++n)
            if (!taken.count(n))
                number = n;
        for (int n = 1; n < firstOwnDatasetNumber && !number; ++n)
            if (!taken.count(n))
                number = n;
        if (!number)
            throw InvalidRequestError("all 999 nnU-Net dataset numbers are taken");
    }
    const std::int64_t user = SessionAccess::userId(session_);
    const std::string now = utcNow();
    char padded[8];
    std::snprintf(padded, sizeof padded, "%03d", *number);
    SessionAccess::recorded(
        session_, "dataset create", objectOf(name), std::string("number ") + padded,
        [&](Database& d) {
            auto s = d.prepare("INSERT INTO datasets(name, number, purpose, created_by, created) "
                               "VALUES (?, ?, ?, ?, ?)");
            s.bind(1, name).bind(2, std::int64_t(*number)).bind(3, purpose);
            bindUser(s, 4, user);
            s.bind(5, now).run();
        });
    for (const DatasetSummary& d : list())
        if (d.name == name)
            return d;
    throw StoreError("the dataset " + name + " was not stored");
}

void Datasets::setPurpose(const std::string& name, const std::string& purpose) {
    require(session_, Action::EditDataset, objectOf(name));
    session_.touch();
    checkText(purpose, "purpose", 4000);
    const DatasetRow d = findDataset(SessionAccess::database(session_), name);
    SessionAccess::recorded(session_, "dataset purpose", objectOf(name), purpose,
                            [&](Database& db) {
                                db.prepare("UPDATE datasets SET purpose = ? WHERE id = ?")
                                    .bind(1, purpose)
                                    .bind(2, d.id)
                                    .run();
                            });
}

std::vector<DatasetSummary> Datasets::list() {
    require(session_, Action::ReadDatasets);
    session_.touch();
    Database& db = SessionAccess::database(session_);
    std::vector<DatasetSummary> out;
    {
        auto s = db.prepare(std::string(datasetColumns) + "ORDER BY d.name");
        while (s.step()) {
            const DatasetRow r = readDatasetRow(s);
            out.push_back({r.id, r.name, r.number, r.purpose, r.createdBy, r.created, 0, 0, 0});
        }
    }
    for (DatasetSummary& d : out) {
        auto s = db.prepare("SELECT (SELECT count(*) FROM dataset_cases WHERE dataset_id = ?1), "
                            "(SELECT count(*) FROM dataset_revisions WHERE dataset_id = ?1), "
                            "(SELECT count(*) FROM dataset_exports e JOIN dataset_revisions r ON "
                            "r.id = e.revision_id WHERE r.dataset_id = ?1)");
        s.bind(1, d.id);
        s.step();
        d.cases = int(s.integer(0));
        d.revisions = int(s.integer(1));
        d.exports = int(s.integer(2));
    }
    return out;
}

Dataset Datasets::get(const std::string& name) {
    require(session_, Action::ReadDatasets, objectOf(name));
    session_.touch();
    Database& db = SessionAccess::database(session_);
    const DatasetRow row = findDataset(db, name);
    Dataset d;
    for (const DatasetSummary& s : list())
        if (s.id == row.id)
            d.summary = s;
    d.cases = readCases(db, row.id);
    d.split = row.split;
    if (row.protocolId)
        d.protocol = protocolById(db, *row.protocolId);
    auto s = db.prepare(std::string(protocolColumns) + "WHERE p.dataset_id = ? ORDER BY p.version");
    s.bind(1, row.id);
    while (s.step())
        d.protocolVersions.push_back(readProtocol(s));
    d.mappings = readMappings(db, row.id);
    return d;
}

void Datasets::addStudies(const std::string& name, const std::vector<std::int64_t>& studyIds,
                          std::optional<std::int64_t> version) {
    const std::string object = objectOf(name);
    require(session_, Action::EditDataset, object);
    session_.touch();
    Database& db = SessionAccess::database(session_);
    const DatasetRow dataset = findDataset(db, name);
    if (studyIds.empty())
        throw InvalidRequestError("name at least one study to add");
    if (version && studyIds.size() != 1)
        throw InvalidRequestError("a version is chosen for one study at a time");
    const std::vector<DatasetCase> existing = readCases(db, dataset.id);
    std::map<std::string, Split> splitOfPatient;
    for (const DatasetCase& c : existing)
        if (c.split)
            splitOfPatient[c.patientPseudonym] = *c.split;

    struct Adding {
        std::int64_t studyId;
        std::string label, patient, what;
        std::optional<Split> split;
    };
    std::vector<Adding> adding;
    std::vector<std::string> unapprovedStudies;
    std::set<std::int64_t> seen;
    for (std::int64_t studyId : studyIds) {
        const Study study = internal::readStudy(session_, studyId);
        if (!seen.insert(studyId).second)
            throw InvalidRequestError("study " + study.label + " is named twice");
        for (const DatasetCase& c : existing)
            if (c.studyId == studyId)
                throw InvalidRequestError(
                    "study " + study.label + " is in dataset " + name +
                    " already (choose another version of it with dataset version)");
        std::string what;
        if (version) {
            const VersionInfo v = versionInfo(db, *version);
            if (v.studyId != studyId)
                throw InvalidRequestError("version " + std::to_string(*version) +
                                          " is not a version of study " + study.label);
            what = "version " + std::to_string(v.id) + " " + v.hash.substr(0, 12) +
                   (v.state == ReviewState::Approved
                        ? std::string(" (approved)")
                        : std::string(" (unapproved: ") + reviewStateName(v.state) + ")");
        } else if (const auto v = latestApproved(db, studyId)) {
            what = "latest approved, now version " + std::to_string(v->id) + " " +
                   v->hash.substr(0, 12);
        } else {
            unapprovedStudies.push_back(study.label);
            continue;
        }
        Adding a{studyId, study.label, patientPseudonymOf(session_, studyId, study.label), what,
                 std::nullopt};
        if (const auto it = splitOfPatient.find(a.patient); it != splitOfPatient.end())
            a.split = it->second;
        adding.push_back(std::move(a));
    }
    if (!unapprovedStudies.empty()) {
        const std::string reason =
            "no approved version of " + joined(unapprovedStudies) +
            ": a study is added with its latest approved version, or with a version chosen "
            "explicitly (--version), which is then marked unapproved";
        session_.recordAccess(std::string("refused ") + actionName(Action::EditDataset), object,
                              reason);
        throw DatasetRuleError(reason, unapprovedStudies);
    }
    std::vector<std::string> details;
    for (const Adding& a : adding)
        details.push_back(a.label + " (" + a.what +
                          (a.split ? std::string(", ") + splitName(*a.split) + " like its patient"
                                   : std::string()) +
                          ")");
    const std::string now = utcNow();
    SessionAccess::recorded(session_, "dataset add", object, joined(details), [&](Database& d) {
        for (const Adding& a : adding) {
            auto s = d.prepare("INSERT INTO dataset_cases(dataset_id, study_id, patient_pseudonym, "
                               "annotation_id, split, added) VALUES (?, ?, ?, ?, ?, ?)");
            s.bind(1, dataset.id).bind(2, a.studyId).bind(3, a.patient);
            if (version)
                s.bind(4, *version);
            else
                s.bindNull(4);
            if (a.split)
                s.bind(5, splitName(*a.split));
            else
                s.bindNull(5);
            s.bind(6, now).run();
        }
    });
}

void Datasets::removeStudy(const std::string& name, std::int64_t studyId) {
    const std::string object = objectOf(name);
    require(session_, Action::EditDataset, object);
    session_.touch();
    Database& db = SessionAccess::database(session_);
    const DatasetRow dataset = findDataset(db, name);
    const std::string label = internal::studyLabel(session_, studyId);
    {
        auto s = db.prepare("SELECT 1 FROM dataset_cases WHERE dataset_id = ? AND study_id = ?");
        s.bind(1, dataset.id).bind(2, studyId);
        if (!s.step())
            throw InvalidRequestError("study " + label + " is not in dataset " + name);
    }
    SessionAccess::recorded(session_, "dataset remove", object, label, [&](Database& d) {
        d.prepare("DELETE FROM dataset_cases WHERE dataset_id = ? AND study_id = ?")
            .bind(1, dataset.id)
            .bind(2, studyId)
            .run();
    });
}

void Datasets::chooseVersion(const std::string& name, std::int64_t studyId,
                             std::optional<std::int64_t> version) {
    const std::string object = objectOf(name);
    require(session_, Action::EditDataset, object);
    session_.touch();
    Database& db = SessionAccess::database(session_);
    const DatasetRow dataset = findDataset(db, name);
    const std::string label = internal::studyLabel(session_, studyId);
    {
        auto s = db.prepare("SELECT 1 FROM dataset_cases WHERE dataset_id = ? AND study_id = ?");
        s.bind(1, dataset.id).bind(2, studyId);
        if (!s.step())
            throw InvalidRequestError("study " + label + " is not in dataset " + name);
    }
    std::string details;
    if (version) {
        const VersionInfo v = versionInfo(db, *version);
        if (v.studyId != studyId)
            throw InvalidRequestError("version " + std::to_string(*version) +
                                      " is not a version of study " + label);
        details = label + ": version " + std::to_string(v.id) + " " + v.hash.substr(0, 12) +
                  (v.state == ReviewState::Approved
                       ? std::string(" (approved)")
                       : std::string(" (unapproved: ") + reviewStateName(v.state) + ")");
    } else {
        const auto v = latestApproved(db, studyId);
        if (!v) {
            const std::string reason = "no approved version of " + label +
                                       ": choose a version explicitly, or keep the one chosen";
            session_.recordAccess(std::string("refused ") + actionName(Action::EditDataset), object,
                                  reason);
            throw DatasetRuleError(reason, {label});
        }
        details = label + ": latest approved, now version " + std::to_string(v->id) + " " +
                  v->hash.substr(0, 12);
    }
    SessionAccess::recorded(session_, "dataset version", object, details, [&](Database& d) {
        auto s = d.prepare(
            "UPDATE dataset_cases SET annotation_id = ? WHERE dataset_id = ? AND study_id = ?");
        if (version)
            s.bind(1, *version);
        else
            s.bindNull(1);
        s.bind(2, dataset.id).bind(3, studyId).run();
    });
}

void Datasets::split(const std::string& name, const SplitSettings& settings) {
    const std::string object = objectOf(name);
    require(session_, Action::EditDataset, object);
    session_.touch();
    checkSplitSettings(settings);
    Database& db = SessionAccess::database(session_);
    const DatasetRow dataset = findDataset(db, name);
    const std::vector<DatasetCase> cases = readCases(db, dataset.id);
    if (cases.empty())
        throw InvalidRequestError("dataset " + name + " has no cases to split");

    const std::map<std::string, ExportedTest> exported = exportedTestCases(db, dataset.id);
    std::set<std::string> patients, testPatients;
    for (const DatasetCase& c : cases)
        patients.insert(c.patientPseudonym);
    for (const auto& [study, test] : exported)
        if (patients.count(test.patient))
            testPatients.insert(test.patient);
    const std::map<std::string, Split> assigned = assignPatients(
        patients, settings, settings.keepExportedTest ? testPatients : std::set<std::string>());

    // A patient once exported in test stays there: moving any of her cases would train on it.
    std::vector<std::string> moved, movedDetails;
    for (const DatasetCase& c : cases) {
        if (!testPatients.count(c.patientPseudonym) ||
            assigned.at(c.patientPseudonym) == Split::Test)
            continue;
        moved.push_back(c.pseudonym);
        std::string why;
        for (const auto& [study, test] : exported)
            if (test.patient == c.patientPseudonym) {
                why = study == c.pseudonym ? "exported as a test case in " + test.where
                                           : "its patient's " + study +
                                                 " was exported as a "
                                                 "test case in " +
                                                 test.where;
                break;
            }
        movedDetails.push_back(c.pseudonym + " (" + why + ") would move to " +
                               splitName(assigned.at(c.patientPseudonym)));
    }
    if (!moved.empty()) {
        const std::string reason =
            "a test case that has been exported never moves to train: " + joined(movedDetails) +
            "; split with another seed, or keep them in test (--keep-exported-test)";
        session_.recordAccess(std::string("refused ") + actionName(Action::EditDataset), object,
                              reason);
        throw DatasetRuleError(reason, moved);
    }

    int counts[3] = {0, 0, 0};
    for (const DatasetCase& c : cases)
        ++counts[int(assigned.at(c.patientPseudonym))];
    const std::string details =
        "seed " + std::to_string(settings.seed) + ", fractions " +
        std::to_string(settings.trainPermille) + "/" + std::to_string(settings.validationPermille) +
        "/" + std::to_string(settings.testPermille) + " per mille" +
        (settings.keepExportedTest ? ", exported test patients kept in test" : "") + ": " +
        std::to_string(counts[0]) + " train, " + std::to_string(counts[1]) + " validation, " +
        std::to_string(counts[2]) + " test cases of " + std::to_string(patients.size()) +
        " patients";
    SessionAccess::recorded(session_, "dataset split", object, details, [&](Database& d) {
        d.prepare("UPDATE datasets SET split_seed = ?, split_train = ?, split_validation = ?, "
                  "split_test = ?, split_keep_exported_test = ? WHERE id = ?")
            .bind(1, settings.seed)
            .bind(2, std::int64_t(settings.trainPermille))
            .bind(3, std::int64_t(settings.validationPermille))
            .bind(4, std::int64_t(settings.testPermille))
            .bind(5, std::int64_t(settings.keepExportedTest))
            .bind(6, dataset.id)
            .run();
        for (const DatasetCase& c : cases)
            d.prepare("UPDATE dataset_cases SET split = ? WHERE dataset_id = ? AND study_id = ?")
                .bind(1, splitName(assigned.at(c.patientPseudonym)))
                .bind(2, dataset.id)
                .bind(3, c.studyId)
                .run();
    });
}

ProtocolVersion Datasets::setProtocol(const std::string& name, const std::string& fileName,
                                      const Bytes& content) {
    const std::string object = objectOf(name);
    require(session_, Action::EditDataset, object);
    session_.touch();
    Database& db = SessionAccess::database(session_);
    const DatasetRow dataset = findDataset(db, name);
    const std::string base = fileName.substr(fileName.find_last_of('/') + 1);
    if (base.empty() || base.size() > 255)
        throw InvalidRequestError("the protocol needs a file name");
    checkText(base, "protocol's file name", 255);
    if (content.empty())
        throw InvalidRequestError("the protocol file " + base + " is empty");
    if (content.size() > maxProtocolBytes)
        throw InvalidRequestError("the protocol file " + base + " is larger than 64 MiB");
    const std::string ext = lowerCase(base.substr(std::min(base.size(), base.find_last_of('.'))));
    std::string mediaType;
    static const char pdfMagic[] = "%PDF-";
    if (content.size() >= 5 && std::equal(pdfMagic, pdfMagic + 5, content.begin())) {
        mediaType = "application/pdf";
    } else if (ext == ".md" || ext == ".markdown") {
        const std::string text(content.begin(), content.end());
        // The JSON writer checks UTF-8; a NUL byte says "not a text file".
        if (text.find('\0') != std::string::npos)
            throw InvalidRequestError("the protocol file " + base + " is not Markdown text");
        try {
            (void)json(text).dump();
        } catch (const json::type_error&) {
            throw InvalidRequestError("the protocol file " + base + " is not UTF-8 text");
        }
        mediaType = "text/markdown";
    } else {
        throw InvalidRequestError("the protocol must be a Markdown (.md) or PDF file, not " + base);
    }
    const std::string sha = sha256Hex(content.data(), content.size());
    std::optional<ProtocolVersion> same;
    int latest = 0;
    {
        auto s = db.prepare(std::string(protocolColumns) + "WHERE p.dataset_id = ?");
        s.bind(1, dataset.id);
        while (s.step()) {
            const ProtocolVersion p = readProtocol(s);
            latest = std::max(latest, p.version);
            if (p.sha256 == sha)
                same = p;
        }
    }
    if (same) {
        if (dataset.protocolId != same->id)
            SessionAccess::recorded(
                session_, "dataset protocol", object,
                "version " + std::to_string(same->version) + " again, sha256 " + sha,
                [&](Database& d) {
                    d.prepare("UPDATE datasets SET protocol_id = ? WHERE id = ?")
                        .bind(1, same->id)
                        .bind(2, dataset.id)
                        .run();
                });
        return *same;
    }
    const std::int64_t user = SessionAccess::userId(session_);
    const std::string now = utcNow();
    const std::int64_t id = SessionAccess::recorded(
        session_, "dataset protocol", object,
        "version " + std::to_string(latest + 1) + ", " + base + ", " + mediaType + ", sha256 " +
            sha,
        [&](Database& d) {
            const imaging::ChunkHash chunk = internal::putChunk(session_, content);
            auto s = d.prepare("INSERT INTO dataset_protocols(dataset_id, version, sha256, "
                               "media_type, file_name, size, chunk, created_by, created) VALUES "
                               "(?, ?, ?, ?, ?, ?, ?, ?, ?)");
            s.bind(1, dataset.id).bind(2, std::int64_t(latest + 1)).bind(3, sha);
            s.bind(4, mediaType).bind(5, base).bind(6, std::int64_t(content.size()));
            s.bindBlob(7, chunk.bytes.data(), chunk.bytes.size());
            bindUser(s, 8, user);
            s.bind(9, now).run();
            const std::int64_t protocol = d.lastInsertId();
            d.prepare("UPDATE datasets SET protocol_id = ? WHERE id = ?")
                .bind(1, protocol)
                .bind(2, dataset.id)
                .run();
            return protocol;
        });
    return protocolById(db, id);
}

Bytes Datasets::protocolBytes(std::int64_t protocolId) {
    require(session_, Action::ReadDatasets, "protocol " + std::to_string(protocolId));
    Database& db = SessionAccess::database(session_);
    const ProtocolVersion p = protocolById(db, protocolId);
    imaging::ChunkHash chunk;
    {
        auto s = db.prepare("SELECT chunk FROM dataset_protocols WHERE id = ?");
        s.bind(1, protocolId);
        s.step();
        chunk = imaging::ChunkHash::fromBytes(s.blob(0));
    }
    Bytes bytes = internal::readChunk(session_, chunk);
    if (sha256Hex(bytes.data(), bytes.size()) != p.sha256)
        throw StoreError("protocol " + p.fileName +
                         " does not match its SHA-256; the store may "
                         "be damaged");
    return bytes;
}

void Datasets::mapSegmentName(const std::string& name, const SegmentNameMapping& mapping) {
    const std::string object = objectOf(name);
    require(session_, Action::EditDataset, object);
    session_.touch();
    if (mapping.segmentName.empty())
        throw InvalidRequestError("name the segment to map");
    checkText(mapping.segmentName, "segment name", 200);
    checkTerm(mapping.type, "code");
    if (mapping.category)
        checkTerm(*mapping.category, "category");
    const DatasetRow dataset = findDataset(SessionAccess::database(session_), name);
    SessionAccess::recorded(
        session_, "dataset map", object,
        "'" + mapping.segmentName + "' -> " + codeText(mapping.type) +
            (mapping.category ? ", category " + codeText(*mapping.category) : std::string()),
        [&](Database& d) {
            auto s = d.prepare("INSERT OR REPLACE INTO dataset_segment_names(dataset_id, "
                               "segment_name, scheme, code, meaning, category_scheme, "
                               "category_code, category_meaning) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
            s.bind(1, dataset.id).bind(2, mapping.segmentName).bind(3, mapping.type.scheme);
            s.bind(4, mapping.type.code).bind(5, mapping.type.meaning);
            if (mapping.category)
                s.bind(6, mapping.category->scheme)
                    .bind(7, mapping.category->code)
                    .bind(8, mapping.category->meaning);
            else
                s.bindNull(6).bindNull(7).bindNull(8);
            s.run();
        });
}

void Datasets::unmapSegmentName(const std::string& name, const std::string& segmentName) {
    const std::string object = objectOf(name);
    require(session_, Action::EditDataset, object);
    session_.touch();
    Database& db = SessionAccess::database(session_);
    const DatasetRow dataset = findDataset(db, name);
    {
        auto s = db.prepare(
            "SELECT 1 FROM dataset_segment_names WHERE dataset_id = ? AND segment_name = ?");
        s.bind(1, dataset.id).bind(2, segmentName);
        if (!s.step())
            throw InvalidRequestError("the segment name '" + segmentName +
                                      "' is not mapped in dataset " + name);
    }
    SessionAccess::recorded(session_, "dataset unmap", object, "'" + segmentName + "'",
                            [&](Database& d) {
                                d.prepare("DELETE FROM dataset_segment_names WHERE dataset_id = ? "
                                          "AND segment_name = ?")
                                    .bind(1, dataset.id)
                                    .bind(2, segmentName)
                                    .run();
                            });
}

LabelTable Datasets::labelTable(const std::string& name, const LabelSurvey& survey) {
    require(session_, Action::ReadDatasets, objectOf(name));
    session_.touch();
    Database& db = SessionAccess::database(session_);
    const DatasetRow dataset = findDataset(db, name);
    return computeLabelTable(readCases(db, dataset.id), survey, readMappings(db, dataset.id));
}

FrozenRevision Datasets::freezeRevision(const std::string& name, const LabelSurvey& survey) {
    const std::string object = objectOf(name);
    require(session_, Action::FreezeDatasetRevision, object);
    session_.touch();
    Database& db = SessionAccess::database(session_);
    const DatasetRow dataset = findDataset(db, name);
    const std::vector<DatasetCase> cases = readCases(db, dataset.id);
    const auto refuse = [&](const std::string& reason, std::vector<std::string> named,
                            std::vector<LabelConflict> conflicts = {}) {
        session_.recordAccess(std::string("refused ") + actionName(Action::FreezeDatasetRevision),
                              object, reason);
        throw DatasetRuleError(reason, std::move(named), std::move(conflicts));
    };
    if (cases.empty())
        refuse("dataset " + name + " has no cases", {});
    if (!dataset.protocolId)
        refuse("dataset " + name +
                   " has no annotation protocol: store the labelling guideline "
                   "first (dataset protocol)",
               {});
    std::vector<std::string> unsplit, unversioned;
    bool anyTrain = false;
    for (const DatasetCase& c : cases) {
        if (!c.split || !dataset.split)
            unsplit.push_back(c.pseudonym);
        if (!c.version)
            unversioned.push_back(c.pseudonym);
        anyTrain = anyTrain || c.split == Split::Train;
    }
    if (!unsplit.empty())
        refuse("cases without a split: " + joined(unsplit) + "; split the dataset (again)",
               unsplit);
    if (!unversioned.empty())
        refuse("cases without a version to export (none approved, none chosen): " +
                   joined(unversioned),
               unversioned);
    if (!anyTrain)
        refuse("no case is in train: nnU-Net needs training cases", pseudonymsOf(cases));
    const LabelTable table = computeLabelTable(cases, survey, readMappings(db, dataset.id));
    if (!table.conflicts.empty()) {
        std::set<std::string> named;
        for (const LabelConflict& c : table.conflicts)
            named.insert(c.cases.begin(), c.cases.end());
        refuse("the label table cannot be made: " + conflictText(table.conflicts), sorted(named),
               table.conflicts);
    }

    DatasetRevision r;
    r.datasetId = dataset.id;
    r.datasetName = dataset.name;
    r.number = dataset.number;
    r.purpose = dataset.purpose;
    r.protocol = protocolById(db, *dataset.protocolId);
    r.split = *dataset.split;
    r.labels = table.entries;
    const std::vector<const SurveyedVersion*> surveyed = matchSurvey(cases, survey);
    for (std::size_t i = 0; i < cases.size(); ++i) {
        const DatasetCase& c = cases[i];
        RevisionCase rc;
        rc.studyId = c.studyId;
        rc.pseudonym = c.pseudonym;
        rc.patientPseudonym = c.patientPseudonym;
        rc.split = *c.split;
        rc.annotationId = *c.version;
        rc.versionHash = c.versionHash;
        rc.unapproved = c.unapproved;
        rc.state = c.state;
        rc.labelValues = table.cases[i].valueOf;
        r.cases.push_back(std::move(rc));
    }
    r.contentJson = canonical(contentOf(r));
    r.contentHash = sha256Hex(r.contentJson);
    {
        auto s = db.prepare(
            "SELECT id, revision FROM dataset_revisions WHERE dataset_id = ? AND content_hash = ?");
        s.bind(1, dataset.id).bind(2, r.contentHash);
        if (s.step()) {
            const std::int64_t id = s.integer(0);
            const std::string details =
                "unchanged: revision " + std::to_string(s.integer(1)) + ", sha256 " + r.contentHash;
            s.reset();
            session_.recordAccess("dataset freeze", object, details);
            return {readRevision(db, id), true};
        }
    }

    // Provenance, as the store holds it now.
    std::set<std::string> everyone;
    for (std::size_t i = 0; i < cases.size(); ++i) {
        RevisionCase& rc = r.cases[i];
        std::vector<std::string> hashes{rc.versionHash};
        hashes.insert(hashes.end(), surveyed[i]->parentChain.begin(),
                      surveyed[i]->parentChain.end());
        std::set<std::string> annotators, reviewers;
        for (const std::string& hash : hashes) {
            ChainVersion v;
            std::string authorRole;
            {
                auto s = db.prepare(
                    "SELECT a.id, a.chunk, u.name, u.role, a.created, a.message, a.kind FROM "
                    "annotations a JOIN users u ON u.id = a.author_id WHERE a.study_id = ? AND "
                    "a.chunk = ? ORDER BY a.id LIMIT 1");
                Bytes key;
                try {
                    const imaging::ChunkHash parsed = imaging::ChunkHash::fromHex(hash);
                    key.assign(parsed.bytes.begin(), parsed.bytes.end());
                } catch (const std::exception&) {
                    throw InvalidRequestError("the version chain of " + rc.pseudonym +
                                              " holds a malformed hash");
                }
                s.bind(1, rc.studyId).bindBlob(2, key);
                if (!s.step())
                    throw InvalidRequestError("the version chain of " + rc.pseudonym +
                                              " names a version the store does not hold (" +
                                              hash.substr(0, 12) + ")");
                v = {s.integer(0), toHex(s.blob(1)),         s.text(2), s.text(4),
                     s.text(5),    s.text(6) == "consensus", {}};
                authorRole = s.text(3);
            }
            (v.consensus ? reviewers : annotators).insert(v.author);
            {
                auto s = db.prepare("SELECT c.source_id, u.name FROM consensus_sources c JOIN "
                                    "annotations a ON a.id = c.source_id JOIN users u ON "
                                    "u.id = a.author_id WHERE c.annotation_id = ? ORDER BY "
                                    "c.source_id");
                s.bind(1, v.annotationId);
                while (s.step()) {
                    v.consensusSources.push_back(s.integer(0));
                    annotators.insert(s.text(1));
                }
            }
            {
                auto s = db.prepare("SELECT u.name, d.decision, d.content_hash, d.message, "
                                    "d.created FROM decisions d JOIN users u ON u.id = "
                                    "d.reviewer_id WHERE d.annotation_id = ?");
                s.bind(1, v.annotationId);
                while (s.step()) {
                    rc.decisions.push_back(
                        {v.annotationId, s.text(2), s.text(0), s.text(1), s.text(3), s.text(4)});
                    reviewers.insert(s.text(0));
                }
            }
            rc.chain.push_back(std::move(v));
        }
        std::stable_sort(
            rc.decisions.begin(), rc.decisions.end(),
            [](const RevisionDecision& a, const RevisionDecision& b) { return a.time < b.time; });
        {
            auto s = db.prepare(
                "SELECT c.id, u.name, c.text, c.created, c.x, c.y, c.z FROM comments c JOIN "
                "users u ON u.id = c.author_id WHERE c.annotation_id = ? AND c.reply_to IS NULL "
                "AND c.resolved IS NULL ORDER BY c.id");
            s.bind(1, rc.annotationId);
            while (s.step()) {
                RevisionComment k{s.integer(0), rc.annotationId, s.text(1), s.text(2),
                                  s.text(3),    std::nullopt,    {}};
                if (!s.isNull(4))
                    k.voxel = std::array<std::int64_t, 3>{s.integer(4), s.integer(5), s.integer(6)};
                rc.openComments.push_back(std::move(k));
            }
        }
        for (RevisionComment& k : rc.openComments) {
            auto s = db.prepare("SELECT u.name, c.created, c.text FROM comments c JOIN users u ON "
                                "u.id = c.author_id WHERE c.reply_to = ? ORDER BY c.id");
            s.bind(1, k.id);
            while (s.step())
                k.replies.push_back(s.text(0) + " (" + s.text(1) + "): " + s.text(2));
        }
        rc.annotators = sorted(annotators);
        rc.reviewers = sorted(reviewers);
        everyone.insert(annotators.begin(), annotators.end());
        everyone.insert(reviewers.begin(), reviewers.end());
    }
    for (const std::string& person : everyone) {
        const UserInfo user = internal::findUser(session_, person);
        r.people.push_back({person, user.role, internal::readCredentials(session_, user.id)});
    }
    {
        auto s = db.prepare("SELECT id, revision, content_hash FROM dataset_revisions WHERE "
                            "dataset_id = ? ORDER BY revision DESC LIMIT 1");
        s.bind(1, dataset.id);
        if (s.step()) {
            r.parentId = s.integer(0);
            r.parentRevision = int(s.integer(1));
            r.parentHash = s.text(2);
        }
    }
    r.revision = r.parentRevision + 1;
    r.frozen = utcNow();
    r.frozenBy = session_.userName();
    r.provenanceJson = canonical(provenanceOf(r));
    r.provenanceHash = sha256Hex(r.provenanceJson);
    const std::int64_t user = SessionAccess::userId(session_);
    std::string details = "revision " + std::to_string(r.revision) + ", sha256 " + r.contentHash +
                          (r.parentId ? ", parent revision " + std::to_string(r.parentRevision)
                                      : std::string(", no parent")) +
                          ", " + std::to_string(r.cases.size()) + " cases";
    r.id = SessionAccess::recorded(session_, "dataset freeze", object, details, [&](Database& d) {
        auto s = d.prepare("INSERT INTO dataset_revisions(dataset_id, revision, parent_id, "
                           "content_hash, content, provenance_hash, provenance, protocol_id, "
                           "frozen_by, frozen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        s.bind(1, dataset.id).bind(2, std::int64_t(r.revision));
        if (r.parentId)
            s.bind(3, *r.parentId);
        else
            s.bindNull(3);
        s.bind(4, r.contentHash).bind(5, r.contentJson).bind(6, r.provenanceHash);
        s.bind(7, r.provenanceJson).bind(8, r.protocol.id);
        bindUser(s, 9, user);
        s.bind(10, r.frozen).run();
        return d.lastInsertId();
    });
    return {r, false};
}

DatasetRevision Datasets::revision(std::int64_t revisionId) {
    require(session_, Action::ReadDatasets, "dataset revision " + std::to_string(revisionId));
    session_.touch();
    DatasetRevision r = readRevision(SessionAccess::database(session_), revisionId);
    session_.recordAccess("read dataset revision", objectOf(r.datasetName),
                          "revision " + std::to_string(r.revision) + ", sha256 " + r.contentHash);
    return r;
}

std::vector<RevisionSummary> Datasets::revisions(const std::string& name) {
    require(session_, Action::ReadDatasets, objectOf(name));
    session_.touch();
    Database& db = SessionAccess::database(session_);
    const DatasetRow dataset = findDataset(db, name);
    auto s = db.prepare("SELECT r.id, r.revision, r.content_hash, p.revision, r.frozen, u.name, "
                        "r.content FROM dataset_revisions r LEFT JOIN dataset_revisions p ON "
                        "p.id = r.parent_id LEFT JOIN users u ON u.id = r.frozen_by WHERE "
                        "r.dataset_id = ? ORDER BY r.revision");
    s.bind(1, dataset.id);
    std::vector<RevisionSummary> out;
    while (s.step())
        out.push_back({s.integer(0), int(s.integer(1)), s.text(2),
                       s.isNull(3) ? 0 : int(s.integer(3)), s.text(4), userOf(s, 5),
                       int(json::parse(s.text(6)).at("cases").size())});
    return out;
}

namespace {

struct ExportRow {
    std::int64_t id = 0;
    std::int64_t revisionId = 0;
    bool started = false;
    bool decided = false;
    std::string destination, bundleId;
};

ExportRow findExport(Database& db, std::int64_t exportId) {
    auto s = db.prepare("SELECT e.id, e.revision_id, e.started, o.export_id IS NOT NULL, "
                        "e.destination, e.bundle_id FROM dataset_exports e LEFT JOIN "
                        "dataset_export_outcomes o ON o.export_id = e.id WHERE e.id = ?");
    s.bind(1, exportId);
    if (!s.step())
        throw InvalidRequestError("there is no dataset export " + std::to_string(exportId));
    return {s.integer(0), s.integer(1), s.integer(2) != 0, s.integer(3) != 0, s.text(4), s.text(5)};
}

std::vector<ExportedVersion> versionsOf(const DatasetRevision& r) {
    std::vector<ExportedVersion> out;
    for (const RevisionCase& c : r.cases)
        out.push_back({c.pseudonym, c.versionHash, c.unapproved, c.split});
    return out;
}

std::string revisionObject(const DatasetRevision& r) {
    return "dataset " + r.datasetName + " revision " + std::to_string(r.revision);
}

} // namespace

std::int64_t Datasets::recordExportStarted(std::int64_t revisionId, const std::string& destination,
                                           const std::string& bundleId) {
    require(session_, Action::RecordDatasetExport,
            "dataset revision " + std::to_string(revisionId));
    session_.touch();
    Database& db = SessionAccess::database(session_);
    const DatasetRevision r = readRevision(db, revisionId);
    if (destination.empty() || bundleId.empty())
        throw InvalidRequestError("an export names its destination and its bundle id");
    checkText(destination + bundleId, "destination", 1000);
    const std::int64_t user = SessionAccess::userId(session_);
    const std::string now = utcNow();
    return SessionAccess::recorded(
        session_, "dataset export started", revisionObject(r),
        "to " + destination + ", bundle " + bundleId + ", revision sha256 " + r.contentHash,
        [&](Database& d) {
            auto s = d.prepare("INSERT INTO dataset_exports(revision_id, destination, bundle_id, "
                               "started, user_id, requested) VALUES (?, ?, ?, 1, ?, ?)");
            s.bind(1, revisionId).bind(2, destination).bind(3, bundleId);
            bindUser(s, 4, user);
            s.bind(5, now).run();
            return d.lastInsertId();
        });
}

void Datasets::recordExportRefused(std::int64_t revisionId, const std::string& destination,
                                   const std::string& reason,
                                   std::optional<std::int64_t> startedExport) {
    require(session_, Action::RecordDatasetExport,
            "dataset revision " + std::to_string(revisionId));
    session_.touch();
    Database& db = SessionAccess::database(session_);
    const DatasetRevision r = readRevision(db, revisionId);
    if (reason.empty())
        throw InvalidRequestError("a refused export says why");
    if (startedExport) {
        const ExportRow e = findExport(db, *startedExport);
        if (e.revisionId != revisionId)
            throw InvalidRequestError("export " + std::to_string(e.id) + " is of another revision");
        if (e.decided)
            throw InvalidRequestError("export " + std::to_string(e.id) + " has its outcome");
    }
    const std::int64_t user = SessionAccess::userId(session_);
    const std::string now = utcNow();
    SessionAccess::recorded(
        session_, "dataset export refused", revisionObject(r),
        "to " + (destination.empty() ? std::string("(no destination)") : destination) + ": " +
            reason,
        [&](Database& d) {
            std::int64_t exportId = startedExport.value_or(0);
            if (!startedExport) {
                auto s = d.prepare("INSERT INTO dataset_exports(revision_id, destination, "
                                   "bundle_id, started, user_id, requested) VALUES "
                                   "(?, ?, '', 0, ?, ?)");
                s.bind(1, revisionId).bind(2, destination);
                bindUser(s, 3, user);
                s.bind(4, now).run();
                exportId = d.lastInsertId();
            }
            auto s = d.prepare("INSERT INTO dataset_export_outcomes(export_id, outcome, reason, "
                               "manifest_hash, versions, user_id, time) VALUES "
                               "(?, 'refused', ?, '', '[]', ?, ?)");
            s.bind(1, exportId).bind(2, reason);
            bindUser(s, 3, user);
            s.bind(4, now).run();
        });
}

void Datasets::recordExportCompleted(std::int64_t exportId, const std::string& manifestHash,
                                     const std::vector<ExportedVersion>& versions) {
    require(session_, Action::RecordDatasetExport, "dataset export " + std::to_string(exportId));
    session_.touch();
    Database& db = SessionAccess::database(session_);
    const ExportRow e = findExport(db, exportId);
    const DatasetRevision r = readRevision(db, e.revisionId);
    if (!e.started || e.decided)
        throw InvalidRequestError("export " + std::to_string(exportId) +
                                  (e.decided ? " has its outcome already" : " never started"));
    if (manifestHash.size() < 32 ||
        manifestHash.find_first_not_of("0123456789abcdef") != std::string::npos)
        throw InvalidRequestError("the manifest hash is a lower-case hex digest");
    const auto byStudy = [](std::vector<ExportedVersion> list) {
        std::sort(list.begin(), list.end(),
                  [](const auto& a, const auto& b) { return a.pseudonym < b.pseudonym; });
        return list;
    };
    const std::vector<ExportedVersion> written = byStudy(versions);
    if (written != byStudy(versionsOf(r))) {
        const std::string reason = "the versions written are not those of revision " +
                                   std::to_string(r.revision) +
                                   ": the export is not recorded "
                                   "as completed";
        session_.recordAccess(std::string("refused ") + actionName(Action::RecordDatasetExport),
                              revisionObject(r), reason);
        throw InvalidRequestError(reason);
    }
    std::vector<std::string> each;
    for (const ExportedVersion& v : written)
        each.push_back(v.pseudonym + " " + v.versionHash.substr(0, 12) + " " + splitName(v.split) +
                       (v.unapproved ? " unapproved" : ""));
    const std::int64_t user = SessionAccess::userId(session_);
    const std::string now = utcNow();
    SessionAccess::recorded(
        session_, "dataset export completed", revisionObject(r),
        "to " + e.destination + ", bundle " + e.bundleId + ", manifest " + manifestHash +
            "; versions: " + joined(each),
        [&](Database& d) {
            auto s = d.prepare("INSERT INTO dataset_export_outcomes(export_id, outcome, reason, "
                               "manifest_hash, versions, user_id, time) VALUES "
                               "(?, 'completed', '', ?, ?, ?, ?)");
            s.bind(1, exportId).bind(2, manifestHash).bind(3, canonical(versionsJson(written)));
            bindUser(s, 4, user);
            s.bind(5, now).run();
        });
}

std::vector<DatasetExport> Datasets::history(const std::string& name) {
    require(session_, Action::ReadDatasets, objectOf(name));
    session_.touch();
    Database& db = SessionAccess::database(session_);
    const DatasetRow dataset = findDataset(db, name);
    std::vector<DatasetExport> out;
    std::vector<std::string> contents;
    std::vector<std::string> writtenLists;
    {
        auto s = db.prepare(
            "SELECT e.id, r.id, r.revision, r.content_hash, e.destination, e.bundle_id, u.name, "
            "e.requested, e.started, o.outcome, o.time, o.reason, o.manifest_hash, o.versions, "
            "r.content FROM dataset_exports e JOIN dataset_revisions r ON r.id = e.revision_id "
            "LEFT JOIN dataset_export_outcomes o ON o.export_id = e.id LEFT JOIN users u ON "
            "u.id = e.user_id WHERE r.dataset_id = ? ORDER BY e.id");
        s.bind(1, dataset.id);
        while (s.step()) {
            DatasetExport x;
            x.id = s.integer(0);
            x.revisionId = s.integer(1);
            x.revision = int(s.integer(2));
            x.revisionHash = s.text(3);
            x.destination = s.text(4);
            x.bundleId = s.text(5);
            x.user = userOf(s, 6);
            x.requested = s.text(7);
            x.started = s.integer(8) != 0;
            x.outcome = s.isNull(9)                ? ExportOutcome::Started
                        : s.text(9) == "completed" ? ExportOutcome::Completed
                                                   : ExportOutcome::Refused;
            x.finished = s.isNull(10) ? std::string() : s.text(10);
            x.reason = s.isNull(11) ? std::string() : s.text(11);
            x.manifestHash = s.isNull(12) ? std::string() : s.text(12);
            writtenLists.push_back(x.outcome == ExportOutcome::Completed ? s.text(13)
                                                                         : std::string());
            contents.push_back(s.text(14));
            out.push_back(std::move(x));
        }
    }
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (!writtenLists[i].empty()) {
            out[i].versions = versionsFrom(json::parse(writtenLists[i]));
            continue;
        }
        for (const json& c : json::parse(contents[i]).at("cases"))
            out[i].versions.push_back(
                {c.at("study").get<std::string>(), c.at("version").get<std::string>(),
                 c.at("unapproved").get<bool>(),
                 parseSplit(c.at("split").get<std::string>()).value_or(Split::Train)});
    }
    return out;
}

} // namespace radmark::storage
