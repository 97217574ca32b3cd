#pragma once
// Datasets for export (admin only): a named set of studies with the version to export of each,
// one label table across them, train/validation/test splits by patient, the labelling protocol,
// immutable revisions, and the exports made of them. docs/datasets.md has the rules. Every change
// is written with its access-log entry in one transaction; every refusal is logged.
//
// Storage cannot read annotation records (they are the annotation library's): the workflow layer
// (workflow/Datasets.h) reads the segments and parent chain of each chosen version and hands
// them here as a LabelSurvey; the rules (label table, conflicts, name mappings, revision hash)
// are applied here, against what the store holds.

#include "storage/Errors.h"
#include "storage/Reviews.h"
#include "storage/Session.h"
#include "storage/Users.h"

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace radmark::storage {

enum class Split { Train, Validation, Test };
const char* splitName(Split split); // "train", "validation", "test"
std::optional<Split> parseSplit(std::string_view name);

// A coded concept as a segment carries it: scheme "SCT" is SNOMED CT.
struct CodedTerm {
    std::string scheme;
    std::string code;
    std::string meaning;
    bool operator==(const CodedTerm&) const = default;
};
std::string codeText(const CodedTerm& term); // "SCT:10200004 (Liver)"

// How the cases were split: the seed, the fractions in thousandths (summing to 1000), and
// whether patients with an exported test case were kept in test.
struct SplitSettings {
    std::int64_t seed = 0;
    int trainPermille = 700;
    int validationPermille = 100;
    int testPermille = 200;
    bool keepExportedTest = false;
    bool operator==(const SplitSettings&) const = default;
};
// Fractions (0.7, 0.1, 0.2) as thousandths; throws InvalidRequestError unless each has at most
// three decimals, none is negative, train is above 0 and they sum to 1.
SplitSettings splitSettings(std::int64_t seed, double train, double validation, double test,
                            bool keepExportedTest = false);

// One version of the labelling guideline of a dataset, kept in the store.
struct ProtocolVersion {
    std::int64_t id = 0;
    int version = 0;       // 1, 2, ... per dataset
    std::string sha256;    // hex, of the bytes
    std::string mediaType; // "text/markdown" or "application/pdf"
    std::string fileName;  // as given, without folders
    std::int64_t size = 0; // bytes
    std::string created;   // UTC
    std::string createdBy;
};

// A segment name mapped to a code by the admin, for segments that carry no code.
struct SegmentNameMapping {
    std::string segmentName;
    CodedTerm type;
    std::optional<CodedTerm> category;
};

struct DatasetCase {
    std::int64_t studyId = 0;
    std::string pseudonym;        // the study's label
    std::string patientPseudonym; // shared by the studies of one patient (see docs/datasets.md)
    std::optional<std::int64_t> chosenVersion; // chosen by the admin; none: the latest approved
    std::optional<std::int64_t> version;       // what an export takes now; none: nothing approved
    std::string versionHash;                   // hex, of `version`
    ReviewState state = ReviewState::Draft;    // of `version`
    bool unapproved = false;                   // `version` is not approved (chosen explicitly)
    std::optional<Split> split;
    std::string added; // UTC
};

struct DatasetSummary {
    std::int64_t id = 0;
    std::string name;
    int number = 0; // nnU-Net's dataset number NNN, 1..999, stable
    std::string purpose;
    std::string createdBy;
    std::string created;
    int cases = 0;
    int revisions = 0;
    int exports = 0;
};

struct Dataset {
    DatasetSummary summary;
    std::vector<DatasetCase> cases; // ordered by study pseudonym
    std::optional<SplitSettings> split;
    std::optional<ProtocolVersion> protocol;
    std::vector<ProtocolVersion> protocolVersions; // oldest first
    std::vector<SegmentNameMapping> mappings;      // by name
};

// What the workflow layer read from the chosen version of one case.
struct SurveyedSegment {
    std::uint32_t label = 0; // the value in the version's label map
    std::string name;
    std::optional<CodedTerm> category;
    std::optional<CodedTerm> type; // the segment's terminology code; none: no code
};
struct SurveyedVersion {
    std::int64_t studyId = 0;
    std::int64_t annotationId = 0;
    std::string versionHash; // hex; must be the store's hash of annotationId
    std::vector<SurveyedSegment> segments;
    std::vector<std::string> parentChain; // hashes (hex) of its ancestors, nearest first
};
using LabelSurvey = std::vector<SurveyedVersion>;

// One integer of the dataset's label table (0 is the background).
struct LabelEntry {
    int value = 0;
    std::string name;
    CodedTerm type;
    std::optional<CodedTerm> category;
    bool mappedByName = false; // some case's segment had no code and took it from a mapping
};
// How one case's segment labels become the dataset's integers.
struct CaseLabels {
    std::int64_t studyId = 0;
    std::string pseudonym;
    std::map<std::uint32_t, int> valueOf; // segment label -> dataset value
};
// A reason the label table cannot be made, with every case it concerns.
struct LabelConflict {
    std::string problem;            // "SCT:10200004 (Liver) is named 'Liver' and 'liver'"
    std::vector<std::string> cases; // study pseudonyms
};
struct LabelTable {
    std::vector<LabelEntry> entries; // values 1..n in order
    std::vector<CaseLabels> cases;
    std::vector<LabelConflict> conflicts; // empty when the table is usable
};

// A refusal of a dataset rule (label conflicts, a case without a split, an exported test case
// that would move to train, ...): logged, nothing written. `cases` names every case concerned.
struct DatasetRuleError : InvalidRequestError {
    DatasetRuleError(const std::string& message, std::vector<std::string> cases,
                     std::vector<LabelConflict> conflicts = {})
        : InvalidRequestError(message), cases(std::move(cases)), conflicts(std::move(conflicts)) {}
    std::vector<std::string> cases;
    std::vector<LabelConflict> conflicts;
};

// Who worked on a revision's versions, with their credentials when the admin entered them.
struct RevisionPerson {
    std::string name;
    Role role = Role::Annotator;
    std::optional<Credentials> credentials;
};
struct ChainVersion {
    std::int64_t annotationId = 0;
    std::string hash; // hex
    std::string author;
    std::string created;
    std::string message;
    bool consensus = false;
    std::vector<std::int64_t> consensusSources; // annotation ids
};
struct RevisionDecision {
    std::int64_t annotationId = 0;
    std::string versionHash;
    std::string reviewer;
    std::string decision; // "approve", "changes", "reject"
    std::string message;
    std::string time; // UTC
};
struct RevisionComment {
    std::int64_t id = 0;
    std::int64_t annotationId = 0;
    std::string author;
    std::string text;
    std::string created;
    std::optional<std::array<std::int64_t, 3>> voxel;
    std::vector<std::string> replies; // "author (time): text"
};
// One case of a frozen revision: what it exports and where it came from, as at the freeze.
struct RevisionCase {
    std::int64_t studyId = 0;
    std::string pseudonym;
    std::string patientPseudonym;
    Split split = Split::Train;
    std::int64_t annotationId = 0;
    std::string versionHash;
    bool unapproved = false;
    ReviewState state = ReviewState::Draft;
    std::map<std::uint32_t, int> labelValues;  // segment label -> dataset value
    std::vector<ChainVersion> chain;           // the version, then its parent, ...
    std::vector<std::string> annotators;       // authors of the chain and of consensus sources
    std::vector<std::string> reviewers;        // who decided on the chain or built a consensus
    std::vector<RevisionDecision> decisions;   // on the chain, oldest first
    std::vector<RevisionComment> openComments; // open on the version at the freeze
};
// An immutable revision of a dataset: content (hashed) and provenance as at the freeze.
struct DatasetRevision {
    std::int64_t id = 0;
    std::int64_t datasetId = 0;
    std::string datasetName;
    int number = 0; // NNN
    std::string purpose;
    int revision = 0;        // 1, 2, ... within the dataset
    std::string contentHash; // hex SHA-256 of contentJson
    std::optional<std::int64_t> parentId;
    int parentRevision = 0; // 0: none
    std::string parentHash; // empty: none
    std::string frozen;     // UTC
    std::string frozenBy;
    ProtocolVersion protocol;
    SplitSettings split;
    std::vector<LabelEntry> labels;
    std::vector<RevisionCase> cases; // ordered by study pseudonym
    std::vector<RevisionPerson> people;
    std::string contentJson;    // canonical JSON (docs/datasets.md); contentHash is its SHA-256
    std::string provenanceJson; // canonical JSON of the provenance; provenanceHash its SHA-256
    std::string provenanceHash;
};
struct FrozenRevision {
    DatasetRevision revision;
    bool existing = false; // the dataset was unchanged: the revision with this content
};
struct RevisionSummary {
    std::int64_t id = 0;
    int revision = 0;
    std::string contentHash;
    int parentRevision = 0;
    std::string frozen;
    std::string frozenBy;
    int cases = 0;
};

// A case's version as an export wrote it.
struct ExportedVersion {
    std::string pseudonym;
    std::string versionHash;
    bool unapproved = false;
    Split split = Split::Train;
    bool operator==(const ExportedVersion&) const = default;
};
enum class ExportOutcome { Started, Completed, Refused };
const char* exportOutcomeName(ExportOutcome outcome); // "started" (no outcome yet), ...
// One export of a revision, as history() answers "which version did we train on".
struct DatasetExport {
    std::int64_t id = 0;
    std::int64_t revisionId = 0;
    int revision = 0;
    std::string revisionHash;
    std::string destination;
    std::string bundleId;
    std::string user;
    std::string requested; // UTC
    bool started = false;  // false: refused before anything was written
    ExportOutcome outcome = ExportOutcome::Started;
    std::string finished; // UTC of the outcome
    std::string reason;   // of a refusal
    std::string manifestHash;
    std::vector<ExportedVersion> versions; // completed: as written; else the revision's
};

class Datasets {
  public:
    explicit Datasets(Session& session) : session_(session) {}

    // A name of 1 to 64 letters, digits, '_' or '-' starting with a letter; number 1..999 or
    // none: the lowest free from 500 (nnU-Net's advice for own datasets), then from 1.
    DatasetSummary create(const std::string& name, std::optional<int> number,
                          const std::string& purpose);
    void setPurpose(const std::string& name, const std::string& purpose);
    std::vector<DatasetSummary> list();
    Dataset get(const std::string& name);

    // Adds studies with their latest approved version (a study without one is refused), or the
    // one version given (one study only; a version that is not approved is then marked so).
    // A study whose patient is in a split already joins that split.
    void addStudies(const std::string& name, const std::vector<std::int64_t>& studyIds,
                    std::optional<std::int64_t> version = std::nullopt);
    void removeStudy(const std::string& name, std::int64_t studyId);
    // The version to export of a case; none: back to its latest approved version.
    void chooseVersion(const std::string& name, std::int64_t studyId,
                       std::optional<std::int64_t> version);

    // Splits the cases by patient, deterministically from the seed (docs/datasets.md). Refused,
    // naming the cases, when a patient with an exported test case would leave test, unless
    // settings.keepExportedTest keeps them there.
    void split(const std::string& name, const SplitSettings& settings);

    // The labelling guideline (Markdown or PDF), a new protocol version unless these bytes are
    // one already; the dataset then names it.
    ProtocolVersion setProtocol(const std::string& name, const std::string& fileName,
                                const Bytes& content);
    Bytes protocolBytes(std::int64_t protocolId); // checked against its SHA-256

    // Segments named `segmentName` without a code take this one.
    void mapSegmentName(const std::string& name, const SegmentNameMapping& mapping);
    void unmapSegmentName(const std::string& name, const std::string& segmentName);

    // The label table of the survey under the dataset's mappings, conflicts listed (not logged:
    // a check). The survey must hold exactly the cases' current versions.
    LabelTable labelTable(const std::string& name, const LabelSurvey& survey);

    // Freezes the dataset as it is: refused (logged) without cases, protocol, splits or a
    // usable label table; the existing revision when its content is unchanged.
    FrozenRevision freezeRevision(const std::string& name, const LabelSurvey& survey);
    DatasetRevision revision(std::int64_t revisionId); // logged "read dataset revision"
    std::vector<RevisionSummary> revisions(const std::string& name); // oldest first

    // Export records, each with its access-log entry in one transaction. Started returns the
    // export's id; a refusal before anything was written has none to give.
    std::int64_t recordExportStarted(std::int64_t revisionId, const std::string& destination,
                                     const std::string& bundleId);
    void recordExportRefused(std::int64_t revisionId, const std::string& destination,
                             const std::string& reason,
                             std::optional<std::int64_t> startedExport = std::nullopt);
    // The versions written must be the revision's.
    void recordExportCompleted(std::int64_t exportId, const std::string& manifestHash,
                               const std::vector<ExportedVersion>& versions);
    std::vector<DatasetExport> history(const std::string& name); // oldest first

  private:
    Session& session_;
};

} // namespace radmark::storage
