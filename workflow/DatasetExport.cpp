#include "workflow/DatasetExport.h"

#include "annotation/BoxExport.h"
#include "annotation/Version.h"
#include "bundle/AgeEncryption.h"
#include "bundle/BagLayout.h"
#include "bundle/Errors.h"
#include "bundle/Minisign.h"
#include "bundle/Seal.h"
#include "delivery/BundleTree.h"
#include "delivery/DestinationWriter.h"
#include "delivery/Errors.h"
#include "delivery/LocalStaging.h"
#include "imaging/DicomSeg.h"
#include "imaging/NiftiWriter.h"
#include "imaging/deid/ConfidentialityProfile.h"
#include "report/TextWriters.h"
#include "storage/Annotations.h"
#include "storage/AuditTrail.h"
#include "storage/Datasets.h"
#include "storage/Permissions.h"
#include "storage/StoredStudy.h"
#include "workflow/AgreementReport.h"
#include "workflow/Datasets.h"

#include <nlohmann/json.hpp>

#include <sodium.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#ifndef RADMARK_VERSION_TEXT
#define RADMARK_VERSION_TEXT "0"
#endif

namespace radmark::workflow {

namespace fs = std::filesystem;
using nlohmann::json;
using storage::Split;

namespace {

const std::string softwareName = std::string("Radmark ") + RADMARK_VERSION_TEXT;

// The person cancelled (progress returned false).
struct ExportCancelled {};

// A rule of the export itself (not of the dataset): refused before anything is written.
struct ExportRuleError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

using Clock = std::chrono::steady_clock;
double secondsSince(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// "2026-03-01T12:00:00.123Z" (storage's UTC times) as whole seconds.
std::chrono::sys_seconds parseUtc(const std::string& text) {
    std::tm tm{};
    if (text.size() < 19 ||
        std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                    &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
        throw std::runtime_error("not a UTC time: " + text);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return std::chrono::sys_seconds(std::chrono::seconds(::timegm(&tm)));
}

std::string formatUtc(std::chrono::sys_seconds t, const char* format) {
    const std::time_t seconds = t.time_since_epoch().count();
    std::tm tm{};
    ::gmtime_r(&seconds, &tm);
    char text[64];
    std::strftime(text, sizeof text, format, &tm);
    return text;
}

std::string splitFolderSuffix(Split split) {
    return split == Split::Test ? "Ts" : "Tr";
}

std::string shortHash(const std::string& hex) {
    return hex.substr(0, 12);
}

// A file name every share accepts (delivery/BundleTree.h): letters, digits, '.', '_', '-'.
std::string safeFileName(const std::string& name) {
    std::string out;
    for (char c : name)
        out += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')
                   ? c
                   : '_';
    while (!out.empty() && out.front() == '.')
        out.erase(out.begin());
    return out.empty() ? std::string("protocol") : out;
}

std::string termText(const std::optional<storage::CodedTerm>& t) {
    return t ? storage::codeText(*t) : std::string();
}

// Writes a small file of the bundle; throws BundleError naming the file and the cause (a full
// disk included).
void writeFile(const fs::path& file, const std::string& text) {
    fs::create_directories(file.parent_path());
    bundle::writeTextFile(file, text);
}

std::string jsonText(const json& j) {
    return j.dump(2) + "\n";
}

// The stored label chunks of versions, through storage::Annotations (roles apply).
class StoredLabelChunks final : public imaging::ChunkStore {
  public:
    explicit StoredLabelChunks(storage::Session& session) : session_(session) {}
    bool has(const imaging::ChunkHash& hash) const override {
        return storage::Annotations(session_).hasChunk(hash);
    }
    std::size_t put(const imaging::ChunkHash&, std::vector<std::uint8_t>) override {
        throw std::logic_error("an export never writes label chunks");
    }
    std::vector<std::uint8_t> get(const imaging::ChunkHash& hash) const override {
        return storage::Annotations(session_).getChunk(hash);
    }

  private:
    storage::Session& session_;
};

// One case of the revision with what the export needs of it before writing anything.
struct PlannedCase {
    const storage::RevisionCase* revisionCase = nullptr;
    std::string id; // NAME_001
    annotation::Version version;
};

// What the datasheet reports of one case's de-identification report.
struct CaseDeidentification {
    std::string caseId;
    std::string engine;
    std::string profile;
    std::vector<std::string> options;
    std::string dateShift;
    std::string verdict;
    int files = 0;
    int pixelsCleaned = 0;
};

CaseDeidentification readDeidentification(const std::string& caseId, const std::string& text) {
    CaseDeidentification d;
    d.caseId = caseId;
    try {
        const json j = json::parse(text);
        if (j.contains("engine"))
            d.engine = j["engine"].value("name", "") + " " + j["engine"].value("version", "");
        if (j.contains("profile"))
            d.profile =
                j["profile"].value("table", "") + ", edition " + j["profile"].value("edition", "");
        if (j.contains("options"))
            d.options = j["options"].get<std::vector<std::string>>();
        d.dateShift = j.value("dateShift", "");
        d.verdict = j.value("verdict", "");
        if (j.contains("files")) {
            d.files = j["files"].value("total", 0);
            d.pixelsCleaned = j["files"].value("pixelsCleaned", 0);
        }
    } catch (const json::exception&) {
        d.verdict = "(the stored report could not be read)";
    }
    return d;
}

// DICOM PS3.16 CID 7050 codes of the options a de-identification report names.
std::pair<std::string, std::string> deidentificationCode(const std::string& option) {
    if (option == "basic")
        return {"113100", "Basic Application Confidentiality Profile"};
    if (option == "clean-pixel-data")
        return {"113101", "Clean Pixel Data Option"};
    if (option == "deface")
        return {"113102", "Clean Recognizable Visual Features Option"};
    for (std::size_t i = 0; i < deid::tableOptionCount; ++i) {
        const auto o = static_cast<deid::ProfileOption>(i);
        if (option == deid::optionName(o))
            return {deid::optionCodeValue(o), deid::optionCodeMeaning(o)};
    }
    return {"", option};
}

std::string personCredentials(const storage::RevisionPerson& p) {
    if (!p.credentials)
        return "(none entered)";
    const storage::Credentials& c = *p.credentials;
    return c.title + "; " + c.qualification + "; " + std::to_string(c.yearsOfExperience) +
           " years of experience; trained on the protocol " + c.trainingDate;
}

json personJson(const storage::RevisionPerson& p) {
    json j = {{"name", p.name}, {"role", storage::roleName(p.role)}};
    if (p.credentials)
        j["credentials"] = {{"title", p.credentials->title},
                            {"qualification", p.credentials->qualification},
                            {"years_of_experience", p.credentials->yearsOfExperience},
                            {"protocol_training_date", p.credentials->trainingDate}};
    else
        j["credentials"] = nullptr;
    return j;
}

class ExportJob {
  public:
    ExportJob(storage::Session& session, const ExportRequest& request,
              const delivery::DeliveryEnvironment& environment,
              const delivery::PasswordPrompt& askPassword, const ExportProgress& progress)
        : session_(session), request_(request), environment_(environment),
          askPassword_(askPassword), progress_(progress) {}

    ExportResult run();

  private:
    void report(double fraction, const std::string& stage) {
        lastFraction_ = fraction;
        if (progress_ && !progress_(std::clamp(fraction, 0.0, 1.0), stage))
            throw ExportCancelled{};
    }
    bool cancelledMeanwhile() { return progress_ && !progress_(lastFraction_, "stopping"); }
    void planCases();
    void writeCase(std::size_t index, const fs::path& bag);
    // Agreement where several annotators worked on the case's study (measured now, for the
    // datasheet), after the case's image and labels are freed.
    void measureCaseAgreement(std::size_t index);
    void writeDatasetFiles(const fs::path& bag);
    report::Report datasheet(const storage::Checkpoint& checkpoint);
    bundle::BagInfo bagInfo() const;
    void refuse(const std::string& reason, std::optional<std::int64_t> started);
    void closeInterruptedExports(const std::vector<std::string>& deliveryNotes);

    std::string nnunetFolder() const {
        char number[8];
        std::snprintf(number, sizeof number, "%03d", revision_.number);
        return std::string("Dataset") + number + "_" + revision_.datasetName;
    }
    double caseFraction(std::size_t index, double within) const {
        return 0.03 +
               0.82 * (double(index) + within) / double(std::max<std::size_t>(1, cases_.size()));
    }
    std::vector<const PlannedCase*> casesOf(std::initializer_list<Split> splits) const {
        std::vector<const PlannedCase*> out;
        for (const PlannedCase& c : cases_)
            if (std::find(splits.begin(), splits.end(), c.revisionCase->split) != splits.end())
                out.push_back(&c);
        return out;
    }

    storage::Session& session_;
    const ExportRequest& request_;
    const delivery::DeliveryEnvironment& environment_;
    const delivery::PasswordPrompt& askPassword_;
    const ExportProgress& progress_;
    double lastFraction_ = 0;

    std::chrono::sys_seconds exportTime_{};
    std::chrono::sys_seconds frozenTime_{};
    storage::DatasetRevision revision_;
    bool newRevision_ = false;
    delivery::Destination destination_;
    std::string bundleId_;
    std::vector<PlannedCase> cases_;
    std::string modality_;
    bool anyBoxes_ = false;
    ExportTimings timings_;
    std::vector<std::string> notes_;
    std::vector<CaseDeidentification> deidentification_;
    AgreementSummary agreement_;
};

void ExportJob::refuse(const std::string& reason, std::optional<std::int64_t> started) {
    try {
        storage::Datasets(session_).recordExportRefused(revision_.id, request_.destination, reason,
                                                        started);
    } catch (const std::exception&) {
        // The refusal stands; a store that cannot record it (locked meanwhile) must not hide it.
    }
}

// Exports of this dataset that were killed leave a record without an outcome and a partial
// folder; once a later delivery removed the folder (its note names it), the record gets its
// outcome, so that `dataset show` does not list them as still running.
void ExportJob::closeInterruptedExports(const std::vector<std::string>& deliveryNotes) {
    const std::string prefix = std::string("removed ") + delivery::partialPrefix;
    std::set<std::string> removed;
    for (const std::string& note : deliveryNotes) {
        if (note.rfind(prefix, 0) != 0)
            continue;
        const auto end = note.find('~', prefix.size());
        if (end != std::string::npos)
            removed.insert(note.substr(prefix.size(), end - prefix.size()));
    }
    if (removed.empty())
        return;
    storage::Datasets datasets(session_);
    for (const storage::DatasetExport& x : datasets.history(revision_.datasetName))
        if (x.started && x.outcome == storage::ExportOutcome::Started &&
            removed.contains(x.bundleId))
            datasets.recordExportRefused(x.revisionId, x.destination,
                                         "interrupted: the export stopped before it finished "
                                         "(killed); a later export removed its partial bundle",
                                         x.id);
}

void ExportJob::planCases() {
    const std::size_t n = revision_.cases.size();
    const int width = std::max<int>(3, int(std::to_string(n).size()));
    std::map<int, const storage::LabelEntry*> entryOf;
    for (const storage::LabelEntry& e : revision_.labels)
        entryOf[e.value] = &e;
    imaging::InMemoryChunkStore records;
    for (std::size_t i = 0; i < n; ++i) {
        const storage::RevisionCase& rc = revision_.cases[i];
        PlannedCase planned;
        planned.revisionCase = &rc;
        std::string number = std::to_string(i + 1);
        number.insert(0, std::size_t(std::max(0, width - int(number.size()))), '0');
        planned.id = revision_.datasetName + "_" + number;
        const storage::Bytes record = storage::Annotations(session_).load(rc.annotationId);
        const imaging::ChunkHash hash = imaging::hashContent(record);
        if (hash.hex() != rc.versionHash)
            throw ExportRuleError("the stored version of " + rc.pseudonym +
                                  " is not the one revision " + std::to_string(revision_.revision) +
                                  " names (" + shortHash(rc.versionHash) + ")");
        records.put(hash, record);
        planned.version = annotation::VersionHistory::load(records, {hash}).versions().front();
        for (const annotation::Segment& s : planned.version.segments.all()) {
            const auto value = rc.labelValues.find(s.label);
            if (value == rc.labelValues.end())
                throw ExportRuleError("segment '" + s.name + "' of " + rc.pseudonym +
                                      " has no value in the dataset's label table");
            const storage::LabelEntry* entry = entryOf.at(value->second);
            if (request_.formats.dicomSeg && !entry->category && !s.category)
                throw ExportRuleError(
                    "label " + std::to_string(entry->value) + " '" + entry->name +
                    "' has no category, which DICOM SEG needs (case " + rc.pseudonym +
                    "): map the name with a category, or export without DICOM SEG");
        }
        for (const annotation::Box& b : planned.version.boxes) {
            if (!rc.labelValues.contains(b.segment))
                throw ExportRuleError("a box of " + rc.pseudonym + " belongs to segment " +
                                      std::to_string(b.segment) +
                                      ", which the version does not have");
        }
        anyBoxes_ = anyBoxes_ || !planned.version.boxes.empty();
        cases_.push_back(std::move(planned));
    }
}

void ExportJob::writeCase(std::size_t index, const fs::path& bag) {
    const PlannedCase& pc = cases_[index];
    const storage::RevisionCase& rc = *pc.revisionCase;
    const std::string what = "case " + std::to_string(index + 1) + " of " +
                             std::to_string(cases_.size()) + " (" + pc.id + ")";
    const fs::path data = bag / bundle::layout::payloadFolder;
    report(caseFraction(index, 0), what + ": reading");

    auto start = Clock::now();
    storage::StoredStudy study = storage::StoredStudy::openForExport(session_, rc.studyId);
    if (study.series().empty())
        throw ExportRuleError(rc.pseudonym + " has no stored images");
    const imaging::Volume volume = study.loadVolume(0);
    std::string modality = study.series().front().modality;
    if (modality.empty())
        modality = volume.modality;
    if (modality.empty())
        modality = "image";
    if (modality_.empty())
        modality_ = modality;
    else if (modality != modality_)
        throw ExportRuleError("the cases are not of one modality (" + modality_ + " and " +
                              modality + " in " + pc.id +
                              "): nnU-Net's channel_names are one per dataset");
    const imaging::Geometry& grid = volume.geometry();
    if (!pc.version.geometry.sameGridAs(grid))
        throw ExportRuleError("the version of " + rc.pseudonym +
                              " was not made on the stored image's grid");
    StoredLabelChunks chunks(session_);
    const annotation::LabelMap labels =
        annotation::readLabelMap(grid, pc.version.width, pc.version.chunks, chunks);
    timings_.readSeconds += secondsSince(start);
    const imaging::LabelVoxels voxels{grid, labels.data(), int(pc.version.width)};

    // Progress within the NIfTI stage, and a cancel noticed while writing: the writer hands over
    // one gzip member (memberBytes of input) at a time.
    imaging::NiftiOptions nifti;
    const double niftiTotal = double(volume.byteCount() + labels.voxelCount());
    double niftiDone = 0;
    nifti.onBytes = [&](const std::uint8_t*, std::size_t) {
        niftiDone += double(nifti.gzip.memberBytes);
        report(caseFraction(index, 0.2 + 0.4 * std::min(1.0, niftiDone / niftiTotal)),
               what + ": NIfTI");
    };
    if (request_.formats.nnunet) {
        report(caseFraction(index, 0.2), what + ": NIfTI");
        start = Clock::now();
        const std::string suffix = splitFolderSuffix(rc.split);
        const fs::path root = data / nnunetFolder();
        fs::create_directories(root / ("images" + suffix));
        fs::create_directories(root / ("labels" + suffix));
        const imaging::NiftiWritten image = imaging::writeNiftiImage(
            volume, root / ("images" + suffix) / (pc.id + "_0000.nii.gz"), nifti);
        std::map<std::uint16_t, std::uint16_t> datasetValue;
        for (const auto& [label, value] : rc.labelValues)
            datasetValue[std::uint16_t(label)] = std::uint16_t(value);
        const imaging::NiftiWritten label = imaging::writeNiftiLabels(
            voxels, datasetValue, root / ("labels" + suffix) / (pc.id + ".nii.gz"), nifti);
        timings_.niftiSeconds += secondsSince(start);
        timings_.niftiVoxelBytes +=
            volume.byteCount() + labels.voxelCount() * std::size_t(pc.version.width);
        timings_.niftiFileBytes += image.fileBytes + label.fileBytes;
    }

    report(caseFraction(index, 0.6), what + ": DICOM");
    std::vector<storage::Bytes> headers;
    if (request_.formats.dicomSeg) {
        headers = study.loadHeaders(0);
        if (headers.empty())
            notes_.push_back(pc.id + " was not imported from DICOM: no DICOM SEG for it");
    }
    if (!headers.empty()) {
        start = Clock::now();
        std::map<int, const storage::LabelEntry*> entryOf;
        for (const storage::LabelEntry& e : revision_.labels)
            entryOf[e.value] = &e;
        std::vector<std::pair<int, imaging::SegmentDescription>> ordered;
        const bool consensus = !rc.chain.empty() && rc.chain.front().consensus;
        for (const annotation::Segment& s : pc.version.segments.all()) {
            const storage::LabelEntry& entry = *entryOf.at(rc.labelValues.at(s.label));
            imaging::SegmentDescription d;
            d.labelValue = s.label;
            d.name = entry.name;
            d.rgb = {s.colour.r, s.colour.g, s.colour.b};
            const std::optional<storage::CodedTerm> category =
                entry.category ? entry.category
                : s.category   ? std::optional<storage::CodedTerm>(storage::CodedTerm{
                                   s.category->scheme, s.category->code, s.category->meaning})
                               : std::nullopt;
            d.category = {category->scheme, category->code, category->meaning};
            d.type = {entry.type.scheme, entry.type.code, entry.type.meaning};
            if (consensus) {
                d.algorithmType = "SEMIAUTOMATIC";
                d.algorithmName = "Radmark consensus";
            }
            ordered.emplace_back(entry.value, d);
        }
        std::sort(ordered.begin(), ordered.end(),
                  [](const auto& a, const auto& b) { return a.first < b.first; });
        std::vector<imaging::SegmentDescription> segments;
        for (auto& [value, d] : ordered)
            segments.push_back(std::move(d));
        imaging::SegOptions seg;
        seg.contentDate = formatUtc(frozenTime_, "%Y%m%d");
        seg.contentTime = formatUtc(frozenTime_, "%H%M%S");
        seg.uidSeed = "radmark dataset " + revision_.datasetName + " revision " +
                      revision_.contentHash + " case " + pc.id;
        seg.seriesDescription = revision_.datasetName + " segmentation";
        seg.contentLabel = "SEGMENTATION";
        seg.contentDescription = "Dataset " + revision_.datasetName + " revision " +
                                 std::to_string(revision_.revision) + ", case " + pc.id +
                                 (rc.unapproved ? ", UNAPPROVED version" : "");
        seg.softwareVersions = softwareName;
        const fs::path folder = data / "dicom" / pc.id;
        fs::create_directories(folder / "images");
        imaging::writeDicomSeg(voxels, segments, headers, seg, folder / "seg.dcm");
        report(caseFraction(index, 0.75), what + ": DICOM source images");
        imaging::writeDicomSourceImages(volume, headers, folder / "images");
        timings_.dicomSeconds += secondsSince(start);
    }

    report(caseFraction(index, 0.9), what + ": reports");
    start = Clock::now();
    if (request_.formats.boxes && anyBoxes_) {
        annotation::BoxClasses classes;
        std::vector<annotation::Box> boxes = pc.version.boxes;
        for (annotation::Box& b : boxes)
            b.segment = annotation::Label(rc.labelValues.at(b.segment));
        for (const storage::LabelEntry& e : revision_.labels)
            classes[annotation::Label(e.value)] = {
                e.value, e.value - 1, e.name,
                annotation::CodedConcept{e.type.scheme, e.type.code, e.type.meaning}};
        writeFile(data / "boxes" / (pc.id + ".json"),
                  annotation::caseBoxesJson(pc.id, boxes, grid, classes) + "\n");
    }
    const std::string deidReport = study.loadReportJson();
    writeFile(data / "cases" / pc.id / "deidentification-report.json", deidReport);
    deidentification_.push_back(readDeidentification(pc.id, deidReport));

    // Provenance as frozen with the revision, so a second export of it is the same bytes.
    std::map<std::string, const storage::RevisionPerson*> personOf;
    for (const storage::RevisionPerson& p : revision_.people)
        personOf[p.name] = &p;
    const auto people = [&](const std::vector<std::string>& names) {
        json out = json::array();
        for (const std::string& n : names)
            out.push_back(personOf.contains(n) ? personJson(*personOf.at(n))
                                               : json{{"name", n}, {"credentials", nullptr}});
        return out;
    };
    json chain = json::array();
    for (const storage::ChainVersion& v : rc.chain)
        chain.push_back({{"version", v.hash},
                         {"author", v.author},
                         {"created", v.created},
                         {"message", v.message},
                         {"consensus", v.consensus},
                         {"consensus_sources_store_ids", v.consensusSources}});
    json decisions = json::array();
    for (const storage::RevisionDecision& d : rc.decisions)
        decisions.push_back({{"version", d.versionHash},
                             {"reviewer", d.reviewer},
                             {"decision", d.decision},
                             {"message", d.message},
                             {"time", d.time}});
    json comments = json::array();
    for (const storage::RevisionComment& c : rc.openComments) {
        json comment = {
            {"author", c.author}, {"text", c.text}, {"created", c.created}, {"replies", c.replies}};
        comment["voxel"] = c.voxel ? json(*c.voxel) : json(nullptr);
        comments.push_back(comment);
    }
    json labelsJson = json::array();
    for (const auto& [label, value] : rc.labelValues)
        labelsJson.push_back({{"version_label", label}, {"dataset_value", value}});
    const json provenance = {{"format", "radmark-case-provenance-1"},
                             {"case", pc.id},
                             {"study", rc.pseudonym},
                             {"patient", rc.patientPseudonym},
                             {"split", storage::splitName(rc.split)},
                             {"dataset",
                              {{"name", revision_.datasetName},
                               {"number", revision_.number},
                               {"revision", revision_.revision},
                               {"revision_sha256", revision_.contentHash},
                               {"parent_revision", revision_.parentRevision},
                               {"parent_sha256", revision_.parentHash}}},
                             {"version", rc.versionHash},
                             {"version_hash", "BLAKE2b-256 of the version record"},
                             {"review_state", storage::reviewStateName(rc.state)},
                             {"unapproved", rc.unapproved},
                             {"labels", labelsJson},
                             {"parent_chain", chain},
                             {"annotators", people(rc.annotators)},
                             {"reviewers", people(rc.reviewers)},
                             {"decisions", decisions},
                             {"open_comments_at_freeze", comments},
                             {"frozen", revision_.frozen}};
    writeFile(data / "cases" / pc.id / "provenance.json", jsonText(provenance));

    timings_.otherSeconds += secondsSince(start);
}

void ExportJob::measureCaseAgreement(std::size_t index) {
    const auto start = Clock::now();
    report(caseFraction(index, 0.95), "case " + std::to_string(index + 1) + " of " +
                                          std::to_string(cases_.size()) + ": agreement");
    AgreementSummary s = measureAgreement(session_, cases_[index].revisionCase->studyId);
    for (AgreementRow& row : s.rows)
        agreement_.rows.push_back(std::move(row));
    timings_.otherSeconds += secondsSince(start);
}

void ExportJob::writeDatasetFiles(const fs::path& bag) {
    const fs::path data = bag / bundle::layout::payloadFolder;
    const auto start = Clock::now();
    std::vector<std::string> unapproved;
    for (const PlannedCase& c : cases_)
        if (c.revisionCase->unapproved)
            unapproved.push_back(c.id);

    if (request_.formats.nnunet) {
        const fs::path root = data / nnunetFolder();
        json labels = json::object();
        labels["background"] = 0;
        for (const storage::LabelEntry& e : revision_.labels)
            labels[e.name] = e.value;
        const auto training = casesOf({Split::Train, Split::Validation});
        json dataset = {
            {"name", revision_.datasetName},
            {"description", revision_.purpose},
            {"channel_names", {{"0", modality_.empty() ? std::string("image") : modality_}}},
            {"labels", labels},
            {"numTraining", training.size()},
            {"file_ending", ".nii.gz"},
            {"radmark",
             {{"revision", revision_.revision},
              {"revision_sha256", revision_.contentHash},
              {"parent_revision", revision_.parentRevision},
              {"parent_sha256", revision_.parentHash},
              {"protocol_sha256", revision_.protocol.sha256},
              {"frozen", revision_.frozen},
              {"unapproved_cases", unapproved}}}};
        writeFile(root / "dataset.json", jsonText(dataset));
        const auto validation = casesOf({Split::Validation});
        if (!validation.empty()) {
            json train = json::array(), val = json::array();
            for (const PlannedCase* c : casesOf({Split::Train}))
                train.push_back(c->id);
            for (const PlannedCase* c : validation)
                val.push_back(c->id);
            writeFile(root / "splits_final.json",
                      jsonText(json::array({{{"train", train}, {"val", val}}})));
        }
    }
    if (request_.formats.boxes && anyBoxes_) {
        if (request_.formats.nnunet) {
            annotation::BoxClasses classes;
            for (const storage::LabelEntry& e : revision_.labels)
                classes[annotation::Label(e.value)] = {
                    e.value, e.value - 1, e.name,
                    annotation::CodedConcept{e.type.scheme, e.type.code, e.type.meaning}};
            std::vector<std::pair<std::string, std::vector<annotation::DetectionCase>>> splits;
            for (const auto& [name, split] :
                 {std::pair{"training", Split::Train}, std::pair{"validation", Split::Validation},
                  std::pair{"test", Split::Test}}) {
                std::vector<annotation::DetectionCase> list;
                for (const PlannedCase* c : casesOf({split})) {
                    annotation::DetectionCase d;
                    d.image = nnunetFolder() + "/images" + splitFolderSuffix(split) + "/" + c->id +
                              "_0000.nii.gz";
                    d.geometry = &c->version.geometry;
                    d.boxes = c->version.boxes;
                    for (annotation::Box& b : d.boxes)
                        b.segment = annotation::Label(c->revisionCase->labelValues.at(b.segment));
                    list.push_back(std::move(d));
                }
                if (!list.empty())
                    splits.emplace_back(name, std::move(list));
            }
            writeFile(data / "boxes" / "monai_detection.json",
                      annotation::monaiDetectionJson(splits, classes) + "\n");
        } else {
            notes_.push_back("MONAI's detection list needs the NIfTI images: not written "
                             "without the nnU-Net format");
        }
    } else if (request_.formats.boxes) {
        notes_.push_back("no case has boxes: no boxes files");
    }

    // The protocol as stored (checked against its hash), and the revision's content, whose
    // SHA-256 is the revision hash every file names.
    const storage::Bytes protocol =
        storage::Datasets(session_).protocolBytes(revision_.protocol.id);
    writeFile(data / "protocol" / safeFileName(revision_.protocol.fileName),
              std::string(protocol.begin(), protocol.end()));
    writeFile(data / "revision.json", revision_.contentJson);
    timings_.otherSeconds += secondsSince(start);
}

report::Report ExportJob::datasheet(const storage::Checkpoint& checkpoint) {
    using report::Cell;
    using report::Table;
    report::Report r;
    r.title = "Datasheet: " + nnunetFolder() + ", revision " + std::to_string(revision_.revision);
    std::vector<std::string> unapproved;
    for (const PlannedCase& c : cases_)
        if (c.revisionCase->unapproved)
            unapproved.push_back(c.id);
    r.metadata = {
        {"Dataset", revision_.datasetName + " (nnU-Net " + nnunetFolder() + ")"},
        {"Revision", std::to_string(revision_.revision) + ", sha256 " + revision_.contentHash},
        {"Parent revision", revision_.parentRevision ? std::to_string(revision_.parentRevision) +
                                                           ", sha256 " + revision_.parentHash
                                                     : std::string("none")},
        {"Frozen", revision_.frozen + " by " + revision_.frozenBy},
        {"Exported", formatUtc(exportTime_, "%Y-%m-%dT%H:%M:%SZ") + " by " + session_.userName()},
        {"Bundle", bundleId_},
        {"Software", softwareName},
        {"Approval",
         unapproved.empty()
             ? std::string("every case exports an approved version")
             : "UNAPPROVED versions in " + std::to_string(unapproved.size()) + " case(s): " + [&] {
                   std::string s;
                   for (const auto& u : unapproved)
                       s += (s.empty() ? "" : ", ") + u;
                   return s;
               }()}};

    r.sections.push_back({"Purpose",
                          {report::Paragraph{revision_.purpose.empty() ? std::string("(none given)")
                                                                       : revision_.purpose}}});
    r.sections.push_back(
        {"Annotation protocol",
         {report::Paragraph{"Version " + std::to_string(revision_.protocol.version) + ", " +
                            revision_.protocol.fileName + " (" + revision_.protocol.mediaType +
                            ", " + std::to_string(revision_.protocol.size) + " bytes), sha256 " +
                            revision_.protocol.sha256 +
                            ".\nIn the bundle: "
                            "data/protocol/" +
                            safeFileName(revision_.protocol.fileName) + "."}}});

    // Cases and splits.
    Table casesTable;
    casesTable.columns = {{"Case"},
                          {"Split"},
                          {"Version"},
                          {"State"},
                          {"Annotators"},
                          {"Reviewers"},
                          {"Open comments", report::Align::Right}};
    std::map<std::string, std::set<std::string>> patientsOf;
    std::map<std::string, int> casesIn;
    for (const PlannedCase& c : cases_) {
        const storage::RevisionCase& rc = *c.revisionCase;
        std::string annotators, reviewers;
        for (const auto& a : rc.annotators)
            annotators += (annotators.empty() ? "" : ", ") + a;
        for (const auto& a : rc.reviewers)
            reviewers += (reviewers.empty() ? "" : ", ") + a;
        casesTable.rows.push_back(
            {Cell(c.id), Cell(storage::splitName(rc.split)), Cell(shortHash(rc.versionHash)),
             Cell(std::string(storage::reviewStateName(rc.state)) +
                  (rc.unapproved ? " (UNAPPROVED)" : "")),
             Cell(annotators), Cell(reviewers), Cell::number(double(rc.openComments.size()), 0)});
        patientsOf[storage::splitName(rc.split)].insert(rc.patientPseudonym);
        ++casesIn[storage::splitName(rc.split)];
    }
    casesTable.caption = "Case ids are numbered in the order of the studies' pseudonyms; the "
                         "version is the first 12 hex digits of its BLAKE2b-256 hash "
                         "(data/cases/CASE/provenance.json has it whole).";
    std::string splitText =
        "Split by patient pseudonym with seed " + std::to_string(revision_.split.seed) +
        ": train " + std::to_string(revision_.split.trainPermille) + "‰, validation " +
        std::to_string(revision_.split.validationPermille) + "‰, test " +
        std::to_string(revision_.split.testPermille) + "‰" +
        (revision_.split.keepExportedTest ? ", patients with an exported test case kept in test"
                                          : "") +
        ". No patient is in two splits.";
    for (const char* s : {"train", "validation", "test"})
        splitText += std::string("\n") + s + ": " + std::to_string(casesIn[s]) + " case(s) of " +
                     std::to_string(patientsOf[s].size()) + " patient(s)";
    splitText += "\nnnU-Net: train and validation cases are in imagesTr (splits_final.json, "
                 "fold 0), test cases in imagesTs.";
    r.sections.push_back({"Cases and splits", {report::Paragraph{splitText}, casesTable}});

    Table labelTable;
    labelTable.columns = {
        {"Value", report::Align::Right}, {"Name"}, {"Code"}, {"Category"}, {"Mapped by name"}};
    labelTable.rows.push_back(
        {Cell::number(0, 0), Cell("background"), Cell(""), Cell(""), Cell("")});
    for (const storage::LabelEntry& e : revision_.labels)
        labelTable.rows.push_back({Cell::number(e.value, 0), Cell(e.name),
                                   Cell(storage::codeText(e.type)), Cell(termText(e.category)),
                                   Cell(e.mappedByName ? "yes" : "no")});
    r.sections.push_back({"Label table", {labelTable}});

    Table peopleTable;
    peopleTable.columns = {{"Name"}, {"Role"}, {"Credentials"}};
    for (const storage::RevisionPerson& p : revision_.people)
        peopleTable.rows.push_back(
            {Cell(p.name), Cell(storage::roleName(p.role)), Cell(personCredentials(p))});
    peopleTable.caption = "Credentials as the admin entered them, at the freeze.";
    r.sections.push_back({"Annotators and reviewers", {peopleTable}});

    Table decisionsTable;
    decisionsTable.columns = {{"Case"},     {"Version"}, {"Reviewer"},
                              {"Decision"}, {"Time"},    {"Message"}};
    for (const PlannedCase& c : cases_)
        for (const storage::RevisionDecision& d : c.revisionCase->decisions)
            decisionsTable.rows.push_back({Cell(c.id), Cell(shortHash(d.versionHash)),
                                           Cell(d.reviewer), Cell(d.decision), Cell(d.time),
                                           Cell(d.message)});
    decisionsTable.caption = "Every decision on each exported version and its parents.";
    std::vector<report::Block> review = {
        report::Paragraph{"Annotators save immutable versions and submit them; a reviewer who did "
                          "not author a version approves it, asks for changes or rejects it, and "
                          "each decision is bound to the version's content hash. By default a "
                          "case exports its latest approved version; an unapproved version is "
                          "exported only when the admin chose it, and is marked UNAPPROVED."},
        decisionsTable};
    if (!agreement_.rows.empty()) {
        std::map<std::string, std::string> caseOf; // study pseudonym -> case id
        for (const PlannedCase& c : cases_)
            caseOf[c.revisionCase->pseudonym] = c.id;
        Table agreement;
        agreement.columns = {{"Case"},
                             {"Segment"},
                             {"Comparison"},
                             {"First"},
                             {"Second"},
                             {"Dice", report::Align::Right},
                             {"HD95 (mm)", report::Align::Right},
                             {"Surface Dice", report::Align::Right}};
        for (const AgreementRow& row : agreement_.rows)
            agreement.rows.push_back(
                {Cell(caseOf.contains(row.study) ? caseOf.at(row.study) : row.study),
                 Cell(row.segment), Cell(row.kind), Cell(row.first), Cell(row.second),
                 Cell::number(row.metrics.overlap.dice, 3),
                 Cell::number(row.metrics.distances.hd95Mm, 2),
                 Cell::number(row.metrics.distances.surfaceDice, 3)});
        agreement.caption =
            "Agreement where several annotators (or a consensus) worked on a case's study, "
            "measured at export on each annotator's newest version: Dice of the voxels, HD95 the "
            "larger of the two directed 95th percentiles of boundary-voxel distances (mm, from "
            "the spacing), surface Dice at a tolerance of " +
            report::formatNumber(agreement_.toleranceMm, 1) + " mm.";
        review.push_back(agreement);
    } else {
        review.push_back(report::Paragraph{"No case had several annotators: no agreement "
                                           "figures."});
    }
    r.sections.push_back({"Review and quality assurance", review});

    // De-identification, from the stored reports.
    std::set<std::string> options;
    for (const CaseDeidentification& d : deidentification_)
        options.insert(d.options.begin(), d.options.end());
    std::string method = "Every study was de-identified on import, before anything was stored, "
                         "with the DICOM PS3.15 Annex E confidentiality profile and these "
                         "options (DICOM PS3.16 CID 7050 codes):";
    for (const std::string& o : options) {
        const auto [code, meaning] = deidentificationCode(o);
        method += "\n" + (code.empty() ? std::string("") : "DCM " + code + " ") + meaning + " (" +
                  o + ")";
    }
    method += "\nExported images come from the stored, de-identified volume (CT in HU, rescale "
              "slope 1, intercept 0), never from the originals. Each case's report is "
              "data/cases/CASE/deidentification-report.json.";
    Table deidTable;
    deidTable.columns = {{"Case"},
                         {"Engine"},
                         {"Profile"},
                         {"Files", report::Align::Right},
                         {"Pixels cleaned", report::Align::Right},
                         {"Dates"},
                         {"Verdict"}};
    for (const CaseDeidentification& d : deidentification_)
        deidTable.rows.push_back({Cell(d.caseId), Cell(d.engine), Cell(d.profile),
                                  Cell::number(d.files, 0), Cell::number(d.pixelsCleaned, 0),
                                  Cell(d.dateShift), Cell(d.verdict)});
    r.sections.push_back({"De-identification", {report::Paragraph{method}, deidTable}});

    std::string formats;
    if (request_.formats.nnunet)
        formats += "nnU-Net v2 raw dataset (data/" + nnunetFolder() +
                   "): NIfTI-1 .nii.gz, RAS affine, sform = qform, images CASE_0000, labels "
                   "CASE with the label table's integers.\n";
    if (request_.formats.dicomSeg)
        formats += "DICOM SEG (binary) with the de-identified source images it references, for "
                   "cases whose source was DICOM (data/dicom/CASE).\n";
    if (request_.formats.boxes)
        formats += anyBoxes_ ? "Boxes per case in voxel, LPS and RAS coordinates "
                               "(data/boxes/CASE.json) and MONAI's detection list "
                               "(data/boxes/monai_detection.json, cccwhd RAS mm).\n"
                             : "Boxes: no case has boxes.\n";
    formats += "Per case: data/cases/CASE/deidentification-report.json and provenance.json. The "
               "revision's content: data/revision.json (its SHA-256 is the revision hash).";
    r.sections.push_back({"Formats", {report::Paragraph{formats}}});

    r.sections.push_back(
        {"Audit checkpoint",
         {report::Paragraph{
             "The access log's signed checkpoint taken for this export (audit-checkpoint.json): " +
             std::to_string(checkpoint.treeSize) + " entries, Merkle root " +
             storage::toHex(checkpoint.root) + ", " + checkpoint.time + ", store " +
             storage::toHex(checkpoint.storeId) +
             ". The tag manifest is signed by the same "
             "workstation key (signing-key.pub, minisign's format)."}}});
    return r;
}

bundle::BagInfo ExportJob::bagInfo() const {
    bundle::BagInfo info;
    info.baggingDate = formatUtc(exportTime_, "%Y-%m-%d");
    info.softwareAgent = softwareName;
    std::vector<std::string> formats;
    if (request_.formats.nnunet)
        formats.push_back("nnU-Net v2 (NIfTI)");
    if (request_.formats.dicomSeg)
        formats.push_back("DICOM SEG");
    if (request_.formats.boxes && anyBoxes_)
        formats.push_back("boxes JSON, MONAI detection");
    std::string formatText;
    for (const auto& f : formats)
        formatText += (formatText.empty() ? "" : ", ") + f;
    info.fields = {
        {bundle::layout::datasetField, revision_.datasetName + " (" + nnunetFolder() + ")"},
        {bundle::layout::revisionField,
         std::to_string(revision_.revision) + " sha256:" + revision_.contentHash},
        {bundle::layout::parentRevisionField,
         revision_.parentRevision
             ? std::to_string(revision_.parentRevision) + " sha256:" + revision_.parentHash
             : std::string("none")},
        {bundle::layout::formatsField, formatText},
        {"Radmark-Protocol", revision_.protocol.fileName + " version " +
                                 std::to_string(revision_.protocol.version) +
                                 " sha256:" + revision_.protocol.sha256},
        {"Radmark-Cases", std::to_string(cases_.size())},
        {"Radmark-Bundle-Id", bundleId_},
        {"Radmark-Exported", formatUtc(exportTime_, "%Y-%m-%dT%H:%M:%SZ")}};
    std::string unapproved;
    for (const PlannedCase& c : cases_)
        if (c.revisionCase->unapproved)
            unapproved += (unapproved.empty() ? "" : ", ") + c.id;
    if (!unapproved.empty())
        info.fields.push_back({"Radmark-Unapproved", "UNAPPROVED versions in " + unapproved});
    if (!revision_.purpose.empty()) {
        std::string purpose = revision_.purpose;
        std::replace(purpose.begin(), purpose.end(), '\n', ' ');
        std::replace(purpose.begin(), purpose.end(), '\r', ' ');
        info.fields.push_back({"External-Description", purpose});
    }
    return info;
}

// A local staging folder (0700) for a bag that is encrypted before it leaves: the clear bag
// never reaches the destination. Removed when the encrypted file is whole, or on any failure.
class EncryptionStaging {
  public:
    explicit EncryptionStaging(const fs::path& root) {
        try {
            path_ = delivery::makeStagingFolder(root);
        } catch (const delivery::DeliveryFailed& failed) {
            throw ExportRuleError(failed.what());
        }
    }
    ~EncryptionStaging() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    EncryptionStaging(const EncryptionStaging&) = delete;
    EncryptionStaging& operator=(const EncryptionStaging&) = delete;
    const fs::path& path() const { return path_; }

  private:
    fs::path path_;
};

ExportResult ExportJob::run() {
    const auto started = Clock::now();
    exportTime_ = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    if (!request_.formats.nnunet && !request_.formats.dicomSeg && !request_.formats.boxes)
        throw ExportRefused("choose at least one format to export");
    report(0, "freezing the dataset");

    storage::FrozenRevision frozen;
    try {
        frozen = workflow::freezeRevision(session_, request_.dataset);
    } catch (const storage::PermissionDeniedError&) {
        throw;
    } catch (const storage::InvalidRequestError& e) {
        throw ExportRefused(e.what()); // the freeze logged its refusal
    }
    revision_ = revisionContents(session_, frozen.revision.id);
    newRevision_ = !frozen.existing;
    frozenTime_ = parseUtc(revision_.frozen);

    // Before anything is written: the destination is the policy's, the cases can be exported.
    std::unique_ptr<delivery::BundleDelivery> delivery;
    try {
        destination_ = delivery::findDestination(session_.store().policy(), request_.destination);
        report(0.01, "checking the cases");
        planCases();
        bundleId_ = nnunetFolder() + "-rev" + std::to_string(revision_.revision) + "-" +
                    formatUtc(exportTime_, "%Y%m%dT%H%M%SZ") + "-" + [] {
                        char hex[9];
                        std::snprintf(hex, sizeof hex, "%08x", randombytes_random());
                        return std::string(hex);
                    }();
        report(0.02, "opening the destination");
        delivery = std::make_unique<delivery::BundleDelivery>(destination_, bundleId_, environment_,
                                                              askPassword_);
    } catch (const ExportCancelled&) {
        refuse("cancelled", std::nullopt);
        throw ExportRefused("the export was cancelled; nothing was written");
    } catch (const storage::PermissionDeniedError&) {
        throw;
    } catch (const delivery::DeliveryError& e) {
        refuse(e.what(), std::nullopt);
        throw ExportRefused(e.what());
    } catch (const std::exception& e) {
        refuse(e.what(), std::nullopt);
        throw ExportRefused(e.what());
    }
    for (const std::string& note : delivery->notes())
        notes_.push_back(note);
    closeInterruptedExports(delivery->notes());

    const std::int64_t exportId = storage::Datasets(session_).recordExportStarted(
        revision_.id, request_.destination, bundleId_);
    ExportResult result;
    try {
        const bool encrypt = !request_.ageRecipients.empty() || !request_.ageRecipientFiles.empty();
        const fs::path stagingRoot = delivery::stagingRootOr(environment_.stagingRoot);
        for (const std::string& note : delivery::removeLeftOverStaging(stagingRoot))
            if (std::find(notes_.begin(), notes_.end(), note) == notes_.end())
                notes_.push_back(note);
        std::optional<EncryptionStaging> staging;
        if (encrypt)
            staging.emplace(stagingRoot);
        const fs::path bag = encrypt ? staging->path() / bundleId_ : delivery->workFolder();
        fs::create_directories(bag / bundle::layout::payloadFolder);

        for (std::size_t i = 0; i < cases_.size(); ++i) {
            writeCase(i, bag);
            measureCaseAgreement(i);
            // A share copies this case while the next one is written (a clear bag only: an
            // encrypted one goes up whole at the end).
            if (!encrypt)
                delivery->filesFinished();
        }
        report(0.85, "dataset files");
        writeDatasetFiles(bag);

        report(0.86, "datasheet, signature and manifests");
        bundle::SealedBag sealed;
        auto start = Clock::now();
        storage::AuditTrail(session_).signWithWorkstationKey(
            [&](const storage::Checkpoint& checkpoint, std::span<const std::uint8_t> key) {
                const auto datasheetStart = Clock::now();
                const report::Report sheet = datasheet(checkpoint);
                writeFile(bag / "datasheet.md", report::writeMarkdown(sheet));
                if (request_.renderPdf) {
                    report::PdfOptions pdf;
                    pdf.creationDate = exportTime_;
                    pdf.creator = softwareName;
                    writeFile(bag / "datasheet.pdf", request_.renderPdf(sheet, pdf));
                }
                timings_.otherSeconds += secondsSince(datasheetStart);
                report(0.87, "hashing and signing");
                start = Clock::now();
                bundle::BagSeal seal;
                seal.info = bagInfo();
                seal.auditCheckpointJson = checkpoint.toJson();
                std::string comment = "Radmark bundle " + bundleId_ + "; dataset " +
                                      revision_.datasetName + " revision " +
                                      std::to_string(revision_.revision) +
                                      " sha256:" + revision_.contentHash.substr(0, 16);
                for (const auto& f : seal.info.fields)
                    if (f.label == "Radmark-Unapproved")
                        comment += "; " + f.value;
                if (comment.size() > 900)
                    comment.resize(900);
                seal.trustedComment = comment;
                sealed = bundle::sealBag(bag, seal, key);
            });
        timings_.sealSeconds = secondsSince(start);
        if (!request_.renderPdf)
            notes_.push_back("the datasheet is in Markdown only (no PDF writer was given)");
        report(0.92, encrypt ? "encrypting" : "delivering");

        if (encrypt) {
            start = Clock::now();
            bundle::AgeRecipients recipients;
            recipients.recipients = request_.ageRecipients;
            for (const std::string& f : request_.ageRecipientFiles)
                recipients.recipientFiles.push_back(f);
            bundle::AgeOptions age;
            age.tarMtime = frozenTime_.time_since_epoch().count();
            bundle::encryptBagWithAge(bag, delivery->workFolder() / (bundleId_ + ".tar.age"),
                                      recipients, age);
            timings_.encryptSeconds = secondsSince(start);
            staging.reset(); // the clear bag goes as soon as the encrypted one is whole
            report(0.95, "delivering");
        }

        start = Clock::now();
        const double deliverFrom = encrypt ? 0.95 : 0.92;
        const delivery::DeliveryReceipt receipt =
            delivery->commit([&](std::uint64_t done, std::uint64_t total) {
                const double f =
                    deliverFrom + (1 - deliverFrom) * (total ? double(done) / double(total) : 1);
                lastFraction_ = f;
                return !progress_ || progress_(std::min(f, 0.999), "delivering");
            });
        timings_.deliverSeconds = secondsSince(start);

        result.bundleId = bundleId_;
        result.location = receipt.location;
        result.files = receipt.files;
        result.bytes = receipt.bytes;
        for (const std::string& note : receipt.notes)
            if (std::find(notes_.begin(), notes_.end(), note) == notes_.end())
                notes_.push_back(note);
        result.manifestSha256 = sealed.totals.manifestSha256;
        result.tagManifestSha256 = sealed.totals.tagManifestSha256;
        result.signerKeyId = sealed.signerKeyId;
        result.encrypted = encrypt;
    } catch (...) {
        delivery->abandon();
        std::string reason;
        bool cancelled = false;
        try {
            throw;
        } catch (const ExportCancelled&) {
            cancelled = true;
        } catch (const delivery::DeliveryFailed& e) {
            cancelled = e.problem == delivery::DeliveryProblem::Cancelled;
            reason = e.what();
        } catch (const std::exception& e) {
            reason = e.what();
            cancelled = cancelledMeanwhile();
        }
        if (cancelled) {
            refuse("cancelled", exportId);
            throw ExportRefused("the export was cancelled; the partial bundle was removed");
        }
        refuse(reason, exportId);
        throw ExportRefused("the export failed and the partial bundle was removed: " + reason);
    }

    std::vector<storage::ExportedVersion> versions;
    for (const storage::RevisionCase& c : revision_.cases) {
        versions.push_back({c.pseudonym, c.versionHash, c.unapproved, c.split});
        if (c.unapproved)
            notes_.push_back(c.pseudonym + " exports an UNAPPROVED version (" +
                             shortHash(c.versionHash) + ")");
    }
    storage::Datasets(session_).recordExportCompleted(exportId, result.manifestSha256, versions);
    if (progress_)
        progress_(1.0, "done");

    result.revisionId = revision_.id;
    result.revisionNumber = revision_.revision;
    result.revisionHash = revision_.contentHash;
    result.newRevision = newRevision_;
    result.cases = int(cases_.size());
    result.notes = notes_;
    timings_.totalSeconds = secondsSince(started);
    result.timings = timings_;
    return result;
}

} // namespace

ExportResult exportDataset(storage::Session& session, const ExportRequest& request,
                           const delivery::DeliveryEnvironment& environment,
                           const delivery::PasswordPrompt& askPassword,
                           const ExportProgress& progress) {
    ExportJob job(session, request, environment, askPassword, progress);
    return job.run();
}

std::vector<ExportDestination>
exportDestinations(storage::Session& session, const delivery::DeliveryEnvironment& environment) {
    storage::require(session, storage::Action::RecordDatasetExport, "export destinations");
    return exportDestinations(session.store().policy(), environment);
}

std::vector<ExportDestination>
exportDestinations(const storage::Policy& policy,
                   const delivery::DeliveryEnvironment& environment) {
    std::vector<ExportDestination> out;
    for (const delivery::Destination& d : delivery::destinations(policy))
        out.push_back({d, delivery::checkDestination(d, environment)});
    return out;
}

std::string workstationPublicKey(storage::Session& session) {
    const storage::Bytes key = storage::AuditTrail(session).workstationPublicKey();
    if (key.size() != 32)
        throw storage::StoreError("the store's workstation key is not an Ed25519 public key");
    bundle::Ed25519PublicKey publicKey{};
    std::copy(key.begin(), key.end(), publicKey.begin());
    return bundle::formatMinisignPublicKey(publicKey);
}

} // namespace radmark::workflow
