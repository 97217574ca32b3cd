#include "storage/StudyImport.h"

#include "imaging/StudyReader.h"
#include "imaging/decoder/IsolatedDecoder.h"
#include "imaging/deid/BurnedInText.h"
#include "imaging/deid/Defacing.h"
#include "imaging/deid/DeidentificationReport.h"
#include "imaging/deid/Deidentifier.h"
#include "imaging/deid/HeaderText.h"
#include "imaging/deid/KeyedIdentity.h"
#include "storage/Permissions.h"
#include "storage/SessionAccess.h"
#include "storage/StoredStudy.h"

#include <nlohmann/json.hpp>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>

namespace radmark::storage {
namespace fs = std::filesystem;
using nlohmann::json;

const char* importStatusName(ImportStatus status) {
    switch (status) {
    case ImportStatus::Imported:
        return "imported";
    case ImportStatus::AlreadyInStore:
        return "already in store";
    case ImportStatus::Quarantined:
        return "quarantined";
    case ImportStatus::Failed:
        return "failed";
    case ImportStatus::Cancelled:
        return "cancelled";
    }
    return "failed";
}

namespace {

struct ImportCancelled {};

std::string utcTimestamp() {
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&now, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

// One series after de-identification: its de-identified headers, in the order of its files.
struct PreparedSeries {
    imaging::SeriesSummary summary; // at the source: its files are read again for the pixels
    std::string seriesUid;
    std::string modality;
    std::string description;          // de-identified
    std::vector<std::string> headers; // serialized de-identified datasets without pixel data
    // The same headers with the defacing recorded (deface option), made by the decoder: this
    // process never parses DICOM, not even its own de-identified headers.
    std::vector<std::string> headersWithDefacing;
    // Read and defaced before storing (deface option).
    std::optional<imaging::Volume> defaced;
    // Burned-in text the engine blacked out in every image: the volume read from the source
    // gets the same regions (a series cleaned only in part, or differently, is quarantined).
    int cleanedFiles = 0;
    std::vector<deid::PixelRegion> blackedOut;
};

struct PreparedStudy {
    fs::path source;
    std::string format;
    std::string studyUid; // de-identified
    std::string pseudonym;
    std::string description;                              // de-identified
    std::unique_ptr<deid::DeidentificationReport> report; // DICOM
    json plainReport;                                     // NIfTI / NRRD / MetaImage
    json defacing;                                        // per series, with the deface option
    std::vector<PreparedSeries> series;
    std::vector<std::string> reasons; // quarantine
    std::vector<std::string> failures;
    std::vector<std::string> warnings; // of its series at the source
    int files = 0;
};

// The label shown for a study: the patient pseudonym and the end of the de-identified study UID
// (a keyed hash, so it says nothing about the source).
std::string studyLabel(const std::string& pseudonym, const std::string& studyUid) {
    std::string digits;
    for (char c : studyUid)
        if (c >= '0' && c <= '9')
            digits += c;
    if (digits.size() > 8)
        digits = digits.substr(digits.size() - 8);
    return (pseudonym.empty() ? std::string("RM-UNKNOWN") : pseudonym) + "-" +
           (digits.empty() ? std::string("0") : digits);
}

// The whole file through BLAKE2b: identifies a NIfTI/NRRD/MetaImage source by content.
std::string contentDigest(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw imaging::ReadError(path, "cannot be read");
    crypto_generichash_state state;
    crypto_generichash_init(&state, nullptr, 0, 32);
    std::vector<char> buffer(1 << 20);
    while (in) {
        in.read(buffer.data(), std::streamsize(buffer.size()));
        const auto got = in.gcount();
        if (got > 0)
            crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(buffer.data()),
                                      std::size_t(got));
    }
    std::array<unsigned char, 32> digest{};
    crypto_generichash_final(&state, digest.data(), digest.size());
    return toHex(digest.data(), digest.size());
}

std::string lowerExtension(const fs::path& path) {
    std::string name = path.filename().string();
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    return name;
}

bool endsWith(const std::string& text, const std::string& tail) {
    return text.size() >= tail.size() &&
           text.compare(text.size() - tail.size(), tail.size(), tail) == 0;
}

// What the header of a NIfTI/NRRD/MetaImage file held in free text. Only the voxels and the
// geometry are ever stored, so every such field is left behind; the report lists them.
json headerTextReport(const imaging::SeriesSummary& series) {
    json cleared = json::array();
    const fs::path file = series.files.empty() ? fs::path() : series.files.front();
    const std::string name = lowerExtension(file);
    if (series.format == "NIfTI") {
        if (endsWith(name, ".nii") || endsWith(name, ".hdr")) {
            std::ifstream in(file, std::ios::binary);
            std::vector<std::uint8_t> header(540);
            in.read(reinterpret_cast<char*>(header.data()), std::streamsize(header.size()));
            try {
                for (const auto& field :
                     deid::clearNiftiHeaderText(header.data(), std::size_t(in.gcount())))
                    cleared.push_back(field);
            } catch (const std::exception&) {
            }
        }
        return {{"fields", {"descrip", "aux_file", "intent_name"}},
                {"heldText", cleared},
                {"action", "cleared: the header text fields are not stored; only voxels and "
                           "geometry are"}};
    }
    if (series.format == "NRRD") {
        int removed = 0;
        if (endsWith(name, ".nrrd") || endsWith(name, ".nhdr")) {
            std::ifstream in(file, std::ios::binary);
            std::string header, line;
            while (std::getline(in, line) && !line.empty() && line != "\r" && header.size() < 65536)
                header += line + "\n";
            deid::cleanNrrdHeader(header, &removed);
        }
        return {{"fields", {"comments", "key/value pairs", "content"}},
                {"removedLines", removed},
                {"action", "cleared: the header text is not stored; only voxels and geometry are"}};
    }
    return {{"fields", {"all header keys"}},
            {"action", "cleared: the header is not stored; only voxels and geometry are"}};
}

class StudyImporter {
  public:
    StudyImporter(Session& session, const ImportOptions& options, const ImportProgress& progress)
        : session_(session), options_(options), progress_(progress),
          secret_(storeDeidentificationSecret(session)), hash_(secret_), uids_(hash_),
          pseudonyms_(hash_), deidentification_{secret_, options.profile,
                                                options.textDetector != nullptr} {}

    std::vector<StudyImportResult> run(const std::vector<fs::path>& sources);
    std::vector<StudyImportResult> runHeld(std::vector<decoder::UniqueFd> fds,
                                           const std::string& name);

  private:
    using Found = std::vector<std::pair<fs::path, std::vector<imaging::SeriesSummary>>>;
    std::vector<StudyImportResult> runFound(std::vector<StudyImportResult> results, Found& found);
    void report(const std::string& stage) {
        if (progress_ &&
            !progress_(totalUnits_ ? std::min(1.0, doneUnits_ / totalUnits_) : 0.0, stage))
            throw ImportCancelled{};
    }
    void prepareDicomSeries(const fs::path& source, imaging::SeriesSummary summary);
    void prepareOtherSeries(const fs::path& source, imaging::SeriesSummary summary);
    StudyImportResult store(PreparedStudy& study);
    imaging::Volume readPixels(PreparedStudy& study, const PreparedSeries& series);
    void defaceSeries(PreparedStudy& study);
    json storeSeries(Database& db, PreparedStudy& study, PreparedSeries& series);
    // Every series of study, stored and listed under studyId from series_index firstIndex on.
    void insertSeries(Database& db, PreparedStudy& study, std::int64_t studyId,
                      std::int64_t firstIndex);
    // The study's de-identification report (with its defacing), as JSON.
    json reportOf(const PreparedStudy& study) const;
    std::string putJsonChunk(const std::string& text); // its chunk's hash, hex
    // How a message names a file: its file name, or "instance K" for a held one (its path is a
    // descriptor of the decoder child's); empty for the folder of the held files.
    std::string fileName(const fs::path& file) const;

    Session& session_;
    const ImportOptions& options_;
    const ImportProgress& progress_;
    deid::StoreSecret secret_;
    deid::KeyedHash hash_;
    deid::UidRemapper uids_;
    deid::Pseudonymizer pseudonyms_;
    // Every source file is read, decoded and de-identified in the isolated decoder (one child
    // per series); it gets the de-identification secret, never the store's key.
    decoder::IsolatedDecoder decoder_;
    decoder::DeidentificationSettings deidentification_;
    bool held_ = false; // the files are held memfds (importHeldInstances)
    std::map<std::string, PreparedStudy> studies_; // by de-identified study UID
    std::vector<std::string> order_;
    double totalUnits_ = 0;
    double doneUnits_ = 0;
};

PreparedStudy& studyFor(std::map<std::string, PreparedStudy>& studies,
                        std::vector<std::string>& order, const std::string& key) {
    auto [it, inserted] = studies.try_emplace(key);
    if (inserted)
        order.push_back(key);
    return it->second;
}

// What reading a source noticed (files skipped, links refused, gaps between slices): each said
// once per study, whichever of its series found it.
void addWarnings(PreparedStudy& study, const std::vector<std::string>& warnings) {
    for (const auto& warning : warnings)
        if (std::find(study.warnings.begin(), study.warnings.end(), warning) ==
            study.warnings.end())
            study.warnings.push_back(warning);
}

void StudyImporter::prepareDicomSeries(const fs::path& source, imaging::SeriesSummary summary) {
    decoder_.restart(); // one child per series: what one series' files do stays with them
    PreparedSeries series;
    series.modality = summary.modality;
    PreparedStudy* study = nullptr;
    std::vector<std::string> failures;
    std::vector<deid::FileResult> results;
    // The series' files go to the decoder in one request; progress comes back as it works.
    const double unitsBefore = doneUnits_;
    const double fileCount = double(summary.files.size());
    std::vector<decoder::DeidentifiedFile> batch;
    try {
        batch = decoder_.deidentifyFiles(summary.files, deidentification_, [&](double fraction) {
            doneUnits_ = unitsBefore + fraction * fileCount;
            report("de-identifying"); // throws ImportCancelled: the decoder child is ended
            return true;
        });
    } catch (const imaging::ReadError& error) {
        batch.assign(summary.files.size(), decoder::DeidentifiedFile{});
        for (auto& file : batch) {
            file.readable = true;
            file.failure = error.reason();
        }
    }
    for (std::size_t index = 0; index < summary.files.size(); ++index) {
        const fs::path& path = summary.files[index];
        doneUnits_ = unitsBefore + double(index + 1);
        decoder::DeidentifiedFile& deidentified = batch[index];
        if (!deidentified.failure.empty()) {
            // The decoder died on this file or the engine refused it: named by file name only
            // (a folder path may hold a patient's name); the other files went on.
            failures.push_back(fileName(path) + ": " + deidentified.failure);
            continue;
        }
        if (!deidentified.readable) {
            failures.push_back("a file of the series could not be read as DICOM");
            continue;
        }
        deid::FileResult& result = deidentified.result;
        if (!result.leaks.empty() && !result.quarantined) {
            result.quarantined = true;
            result.reason = "verification found identifying values in the output";
        }
        if (!study) {
            study = &studyFor(studies_, order_, "dicom:" + result.studyUid);
            if (study->format.empty()) {
                study->source = source;
                study->format = "DICOM";
                study->studyUid = result.studyUid;
                study->pseudonym = result.patientPseudonym;
                study->description = deidentified.studyDescription;
                study->report = std::make_unique<deid::DeidentificationReport>(
                    deid::ConfidentialityProfile::standard(), options_.profile);
            }
            series.seriesUid = result.seriesUid;
            series.description = deidentified.seriesDescription;
            if (series.modality.empty())
                series.modality = result.modality;
        }
        study->report->add(result);
        ++study->files;
        if (result.quarantined) {
            // Named by file name, as failures are: the admin can find the file that stopped it.
            study->reasons.push_back(
                fileName(path) + ": " +
                (result.reason.empty() ? "the file failed verification" : result.reason));
            continue;
        }
        // The header goes to the store without pixel data: pixels are stored as volume chunks.
        if (!deidentified.header) {
            failures.push_back("a de-identified header could not be serialized");
            continue;
        }
        series.headers.push_back(std::move(*deidentified.header));
        if (deidentified.headerWithDefacing)
            series.headersWithDefacing.push_back(std::move(*deidentified.headerWithDefacing));
        if (result.pixelsCleaned) {
            const bool sameRegions =
                series.cleanedFiles == 0 ||
                std::equal(result.blackedOut.begin(), result.blackedOut.end(),
                           series.blackedOut.begin(), series.blackedOut.end(),
                           [](const deid::PixelRegion& a, const deid::PixelRegion& b) {
                               return a.x == b.x && a.y == b.y && a.width == b.width &&
                                      a.height == b.height;
                           });
            if (!sameRegions)
                study->reasons.push_back("the images of one series had burned-in text blacked "
                                         "out in different places");
            series.blackedOut = result.blackedOut;
            ++series.cleanedFiles;
        }
    }
    if (study && series.cleanedFiles > 0 && series.cleanedFiles != int(series.headers.size()))
        study->reasons.push_back("only some images of a series could be cleaned of burned-in "
                                 "text");
    if (!study) {
        PreparedStudy& unreadable = studyFor(studies_, order_, "unreadable:" + summary.key);
        unreadable.source = source;
        unreadable.format = "DICOM";
        unreadable.failures =
            failures.empty() ? std::vector<std::string>{"no readable file"} : failures;
        unreadable.files = int(summary.files.size());
        addWarnings(unreadable, summary.warnings);
        return;
    }
    for (const auto& failure : failures) {
        study->failures.push_back(failure);
        study->report->addFailure(failure);
    }
    addWarnings(*study, summary.warnings);
    series.summary = std::move(summary);
    study->series.push_back(std::move(series));
}

void StudyImporter::prepareOtherSeries(const fs::path& source, imaging::SeriesSummary summary) {
    doneUnits_ += double(std::max(1, summary.imageCount));
    report("de-identifying");
    std::string identity;
    for (const auto& file : summary.files)
        identity += contentDigest(file);
    // No patient attributes in these formats: the study is identified by its content.
    const std::string studyUid = uids_.remap("2.25.radmark.file." + identity);
    PreparedStudy& study = studyFor(studies_, order_, "file:" + studyUid);
    if (study.format.empty()) {
        study.source = source;
        study.format = summary.format;
        study.studyUid = studyUid;
        study.pseudonym = pseudonyms_.pseudonymFor("file-content:" + identity);
        study.description = "";
        study.plainReport = {
            {"engine", {{"name", deid::engineName}, {"version", deid::engineVersion}}},
            {"format", summary.format},
            {"study", {{"studyInstanceUid", studyUid}, {"patientPseudonym", study.pseudonym}}},
            {"headerText", headerTextReport(summary)},
        };
    }
    study.files += int(summary.files.size());
    addWarnings(study, summary.warnings);
    PreparedSeries series;
    series.seriesUid = uids_.remap("2.25.radmark.series." + identity);
    series.modality = summary.modality;
    series.summary = std::move(summary);
    study.series.push_back(std::move(series));
}

imaging::Volume StudyImporter::readPixels(PreparedStudy& study, const PreparedSeries& series) {
    const double unitsBefore = doneUnits_;
    const double readUnits = double(std::max(1, series.summary.imageCount));
    decoder_.restart();
    imaging::ReadReport read;
    const imaging::Progress progress = [&](double fraction) {
        doneUnits_ = unitsBefore + fraction * readUnits;
        try {
            report("reading pixels");
        } catch (const ImportCancelled&) {
            return false;
        }
        return true;
    };
    // Held instances are released as their pixels come in: the study's bytes are never held
    // twice, as instances and as the volume.
    imaging::Volume volume = held_ ? decoder_.readSeriesReleasing(series.summary, progress, &read)
                                   : decoder_.readSeries(series.summary, progress, &read);
    addWarnings(study, read.warnings);
    doneUnits_ = unitsBefore + readUnits;
    return volume;
}

// The deface option: CT and MR series and volume files lose their face before anything is
// stored. Any of them that is not a head, or whose face cannot be found, quarantines the study;
// other DICOM modalities are listed as not defaced.
void StudyImporter::defaceSeries(PreparedStudy& study) {
    study.defacing = json::array();
    for (auto& series : study.series) {
        const bool dicom = series.summary.format == "DICOM";
        if (dicom && series.modality != "CT" && series.modality != "MR") {
            study.defacing.push_back(
                {{"seriesInstanceUid", series.seriesUid},
                 {"action", "not defaced: modality " + series.modality + " is not CT or MR"}});
            continue;
        }
        imaging::Volume volume = readPixels(study, series);
        try {
            const deid::DefacingResult defaced = deid::deface(volume);
            if (series.headersWithDefacing.size() != series.headers.size())
                throw deid::DefacingError(
                    "cannot deface: a de-identified header could not be written");
            series.headers = std::move(series.headersWithDefacing);
            study.defacing.push_back({{"seriesInstanceUid", series.seriesUid},
                                      {"action", "defaced"},
                                      {"method", defaced.method()},
                                      {"removedVoxels", defaced.removedVoxels},
                                      {"headVoxelsRemoved", defaced.headVoxelsRemoved},
                                      {"faceRegionVoxels", defaced.regionVoxels}});
            series.defaced = std::move(volume);
        } catch (const deid::DefacingError& refused) {
            study.reasons.push_back(refused.what());
            study.defacing.push_back({{"seriesInstanceUid", series.seriesUid},
                                      {"action", std::string("quarantined: ") + refused.what()}});
        }
    }
}

json StudyImporter::storeSeries(Database& db, PreparedStudy& study, PreparedSeries& series) {
    (void)db;
    imaging::Volume volume =
        series.defaced ? std::move(*series.defaced) : readPixels(study, series);
    series.defaced.reset();
    deid::blackOutRegions(volume, series.blackedOut);
    const imaging::Geometry& g = volume.geometry();
    const std::size_t sliceBytes = std::size_t(g.dims[0]) * std::size_t(g.dims[1]) *
                                   imaging::bytesPerVoxel(volume.pixelType());
    json slices = json::array();
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(volume.data());
    const double storeUnit =
        double(std::max(1, series.summary.imageCount)) / std::max(1, g.dims[2]);
    for (int z = 0; z < g.dims[2]; ++z) {
        slices.push_back(
            internal::putChunk(session_, {bytes + std::size_t(z) * sliceBytes, sliceBytes}).hex());
        doneUnits_ += storeUnit;
        report("storing");
    }
    json headers = json::array();
    for (const auto& header : series.headers)
        headers.push_back(
            internal::putChunk(
                session_, {reinterpret_cast<const std::uint8_t*>(header.data()), header.size()})
                .hex());
    return {{"seriesInstanceUid", series.seriesUid},
            {"modality", series.modality.empty() ? volume.modality : series.modality},
            {"description", series.description},
            {"format", series.summary.format},
            {"pixelType", imaging::pixelTypeName(volume.pixelType())},
            {"dims", g.dims},
            {"spacing", g.spacing},
            {"origin", g.origin},
            {"direction", g.direction},
            {"slices", slices},
            {"headers", headers}};
}

void StudyImporter::insertSeries(Database& db, PreparedStudy& study, std::int64_t studyId,
                                 std::int64_t firstIndex) {
    std::int64_t index = firstIndex;
    for (auto& series : study.series) {
        const json manifest = storeSeries(db, study, series);
        const std::string manifestChunk = putJsonChunk(manifest.dump());
        db.prepare("INSERT INTO imported_series(study_id, series_index, series_uid, modality, "
                   "description, manifest) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(1, studyId)
            .bind(2, index++)
            .bind(3, series.seriesUid)
            .bind(4, manifest.value("modality", ""))
            .bind(5, series.description)
            .bind(6, manifestChunk)
            .run();
    }
}

json StudyImporter::reportOf(const PreparedStudy& study) const {
    json report = study.report ? study.report->toJson() : study.plainReport;
    if (options_.profile.deface)
        report["defacing"] = study.defacing;
    return report;
}

std::string StudyImporter::putJsonChunk(const std::string& text) {
    return internal::putChunk(session_,
                              {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()})
        .hex();
}

StudyImportResult StudyImporter::store(PreparedStudy& study) {
    StudyImportResult result;
    result.source = study.source;
    result.format = study.format;
    result.seriesCount = int(study.series.size());
    result.fileCount = study.files;
    if (study.series.empty() && !study.failures.empty()) {
        result.status = ImportStatus::Failed;
        result.reason = study.failures.front();
        session_.recordAccess("import", "source", "failed: " + result.reason);
        return result;
    }
    result.label = studyLabel(study.pseudonym, study.studyUid);
    // A quarantine or failure reason stops the study: nothing of it is stored, and only this
    // entry says it was tried.
    const auto refused = [&] {
        if (study.reasons.empty() && study.failures.empty())
            return false;
        result.status = study.reasons.empty() ? ImportStatus::Failed : ImportStatus::Quarantined;
        result.reason = study.reasons.empty() ? study.failures.front() : study.reasons.front();
        const std::size_t more = study.reasons.size() + study.failures.size() - 1;
        if (more)
            result.reason += " (and " + std::to_string(more) + " more)";
        session_.recordAccess("import", result.label,
                              std::string(importStatusName(result.status)) + ": " + result.reason);
        return true;
    };
    if (refused())
        return result;
    std::int64_t addingTo = 0; // the stored study that gets new series
    {
        auto s = SessionAccess::database(session_).prepare(
            "SELECT study_id FROM imported_studies WHERE study_uid = ?");
        s.bind(1, study.studyUid);
        if (s.step()) {
            result.studyId = s.integer(0);
            auto stored = SessionAccess::database(session_).prepare(
                "SELECT 1 FROM imported_series WHERE study_id = ? AND series_uid = ?");
            bool allStored = true;
            for (const auto& series : study.series) {
                stored.reset();
                stored.bind(1, result.studyId).bind(2, series.seriesUid);
                allStored = allStored && stored.step();
            }
            if (allStored) {
                result.status = ImportStatus::AlreadyInStore;
                session_.recordAccess("import", result.label, "already in store: not stored again");
                return result;
            }
            // A later series of a stored study (a PACS holds a study's series as they are made):
            // the new series are added to it, de-identified with the same keys (same pseudonym,
            // same date shift); the stored series stay as annotators saw them.
            std::vector<PreparedSeries> fresh;
            for (auto& series : study.series) {
                stored.reset();
                stored.bind(1, result.studyId).bind(2, series.seriesUid);
                if (!stored.step())
                    fresh.push_back(std::move(series));
            }
            study.series = std::move(fresh);
            addingTo = result.studyId;
        }
    }
    // Defacing comes after the "already in store" check: a study imported again is not decoded
    // and defaced for nothing.
    if (options_.profile.deface) {
        defaceSeries(study);
        if (refused())
            return result;
    }
    std::string description = study.format;
    for (const auto& series : study.series)
        if (!series.modality.empty() && description.find(series.modality) == std::string::npos)
            description += " " + series.modality;
    description += ", " + std::to_string(study.series.size()) + " series, " +
                   std::to_string(study.files) + " file(s)";
    if (!study.description.empty())
        description += ": " + study.description;

    std::string details = study.format + ", " + std::to_string(study.series.size()) +
                          " series, " + std::to_string(study.files) + " file(s)";
    if (addingTo) {
        details = "added to the stored study: " + details;
        result.seriesCount = int(study.series.size());
        result.warnings.push_back("the study was already in the store: " +
                                  std::to_string(study.series.size()) +
                                  " new series added to it");
        SessionAccess::recorded(session_, "import", result.label, details, [&](Database& db) {
            std::string oldReport;
            {
                auto s = db.prepare("SELECT report FROM imported_studies WHERE study_id = ?");
                s.bind(1, addingTo);
                if (s.step())
                    oldReport = s.text(0);
            }
            const Bytes bytes =
                internal::readChunk(session_, imaging::ChunkHash::fromHex(oldReport));
            json merged = json::parse(bytes.begin(), bytes.end());
            json added = reportOf(study);
            added["added"] = utcTimestamp();
            merged["addedSeries"].push_back(added);
            const std::string reportChunk = putJsonChunk(merged.dump(2));
            db.prepare("UPDATE imported_studies SET report = ? WHERE study_id = ?")
                .bind(1, reportChunk)
                .bind(2, addingTo)
                .run();
            std::int64_t index = 0;
            {
                auto s = db.prepare("SELECT COALESCE(MAX(series_index) + 1, 0) FROM "
                                    "imported_series WHERE study_id = ?");
                s.bind(1, addingTo);
                if (s.step())
                    index = s.integer(0);
            }
            insertSeries(db, study, addingTo, index);
            return addingTo;
        });
        result.studyId = addingTo;
        result.status = ImportStatus::Imported;
        return result;
    }
    result.studyId =
        SessionAccess::recorded(session_, "import", result.label, details, [&](Database& db) {
            db.prepare("INSERT INTO studies(label, description, created) VALUES (?, ?, ?)")
                .bind(1, result.label)
                .bind(2, description)
                .bind(3, utcTimestamp())
                .run();
            const std::int64_t studyId = db.lastInsertId();
            const std::string reportChunk = putJsonChunk(reportOf(study).dump(2));
            db.prepare(
                  "INSERT INTO imported_studies(study_id, study_uid, format, report, imported) "
                  "VALUES (?, ?, ?, ?, ?)")
                .bind(1, studyId)
                .bind(2, study.studyUid)
                .bind(3, study.format)
                .bind(4, reportChunk)
                .bind(5, utcTimestamp())
                .run();
            insertSeries(db, study, studyId, 0);
            return studyId;
        });
    result.status = ImportStatus::Imported;
    return result;
}

std::string StudyImporter::fileName(const fs::path& file) const {
    const std::string heldFolder = "/proc/self/fd";
    if (!held_ || file.parent_path() != heldFolder)
        return held_ && file == heldFolder ? std::string() : file.filename().string();
    try {
        return "instance " + std::to_string(std::stoi(file.filename().string()) - 999);
    } catch (const std::exception&) {
        return file.filename().string();
    }
}

std::vector<StudyImportResult> StudyImporter::runHeld(std::vector<decoder::UniqueFd> fds,
                                                      const std::string& name) {
    held_ = true;
    std::vector<StudyImportResult> results;
    Found found;
    const fs::path source = name;
    try {
        const std::vector<fs::path> files = decoder_.holdFiles(std::move(fds));
        std::vector<imaging::ReadError> crashed;
        found.emplace_back(source, decoder_.findSeriesOfFiles(files, {}, &crashed));
        // A file that crashed the decoder is named on its own line; the rest go on.
        for (const auto& error : crashed) {
            StudyImportResult failed;
            failed.source = source;
            failed.reason = fileName(error.file()) + ": " + error.reason();
            session_.recordAccess("import", "source",
                                  "failed: a file crashed the decoder: " + failed.reason);
            results.push_back(failed);
        }
        // What no series holds (not an image, unreadable) is not read again.
        std::set<fs::path> inSeries;
        for (const auto& series : found.back().second) {
            totalUnits_ += 3.0 * std::max(1, series.imageCount);
            inSeries.insert(series.files.begin(), series.files.end());
        }
        std::vector<fs::path> unused;
        for (const auto& file : files)
            if (!inSeries.count(file))
                unused.push_back(file);
        decoder_.releaseHeldFiles(unused);
    } catch (const std::exception& error) {
        StudyImportResult failed;
        failed.source = source;
        const auto* readError = dynamic_cast<const imaging::ReadError*>(&error);
        failed.reason = readError ? readError->reason() : std::string(error.what());
        session_.recordAccess("import", "source", "failed: " + failed.reason);
        results.push_back(failed);
        return results;
    }
    return runFound(std::move(results), found);
}

std::vector<StudyImportResult> StudyImporter::run(const std::vector<fs::path>& sources) {
    std::vector<StudyImportResult> results;
    Found found;
    for (const auto& source : sources) {
        try {
            std::vector<imaging::ReadError> crashed;
            found.emplace_back(source, decoder_.findSeries(source, {}, &crashed));
            // A file that crashed the decoder is named on its own line; the rest go on.
            for (const auto& error : crashed) {
                StudyImportResult failed;
                failed.source = error.file();
                failed.reason = error.reason();
                session_.recordAccess("import", "source",
                                      "failed: a file crashed the decoder: " + error.reason());
                results.push_back(failed);
            }
            for (const auto& series : found.back().second)
                totalUnits_ += 3.0 * std::max(1, series.imageCount); // de-identify, read, store
        } catch (const std::exception& error) {
            StudyImportResult failed;
            failed.source = source;
            const auto* readError = dynamic_cast<const imaging::ReadError*>(&error);
            failed.reason = readError ? readError->reason() : std::string(error.what());
            session_.recordAccess("import", "source", "failed: " + failed.reason);
            results.push_back(failed);
        }
    }
    return runFound(std::move(results), found);
}

std::vector<StudyImportResult> StudyImporter::runFound(std::vector<StudyImportResult> results,
                                                       Found& found) {
    std::size_t stored = 0;
    try {
        for (auto& [source, seriesList] : found)
            for (auto& series : seriesList) {
                if (series.format == "DICOM")
                    prepareDicomSeries(source, std::move(series));
                else
                    prepareOtherSeries(source, std::move(series));
            }
        for (; stored < order_.size(); ++stored) {
            PreparedStudy& study = studies_.at(order_[stored]);
            std::vector<fs::path> studyFiles; // held: released once the study is done
            for (const auto& series : study.series)
                studyFiles.insert(studyFiles.end(), series.summary.files.begin(),
                                  series.summary.files.end());
            struct Release {
                decoder::IsolatedDecoder& from;
                const std::vector<fs::path>& files;
                ~Release() { from.releaseHeldFiles(files); }
            } release{decoder_, studyFiles};
            try {
                results.push_back(store(study));
                // Reading the pixels may have noticed more. A refused study's refusal stays
                // one line: what it noticed matters only for what is stored.
                const ImportStatus status = results.back().status;
                if (status == ImportStatus::Imported || status == ImportStatus::AlreadyInStore)
                    results.back().warnings.insert(results.back().warnings.end(),
                                                   study.warnings.begin(), study.warnings.end());
            } catch (const imaging::ReadError& error) {
                if (error.reason() == "cancelled")
                    throw ImportCancelled{};
                StudyImportResult failed;
                failed.source = study.source;
                failed.format = study.format;
                failed.label = studyLabel(study.pseudonym, study.studyUid);
                const std::string file =
                    error.file().empty() || (!held_ && fs::is_directory(error.file()))
                        ? std::string()
                        : fileName(error.file());
                failed.reason = "the pixels could not be read: " +
                                (file.empty() ? error.reason() : file + ": " + error.reason());
                session_.recordAccess("import", failed.label, "failed: " + failed.reason);
                results.push_back(failed);
            }
            study.series.clear();
        }
        report("done");
    } catch (const ImportCancelled&) {
        for (; stored < order_.size(); ++stored) {
            StudyImportResult cancelled;
            const PreparedStudy& study = studies_.at(order_[stored]);
            cancelled.status = ImportStatus::Cancelled;
            cancelled.source = study.source;
            cancelled.format = study.format;
            cancelled.reason = "the import was cancelled before this study was stored";
            results.push_back(cancelled);
        }
        if (order_.empty()) {
            StudyImportResult cancelled;
            cancelled.status = ImportStatus::Cancelled;
            cancelled.reason = "the import was cancelled";
            results.push_back(cancelled);
        }
        session_.recordAccess("import", "import", "cancelled by the user");
    }
    return results;
}

} // namespace

deid::StoreSecret storeDeidentificationSecret(Session& session) {
    require(session, Action::ImportStudy, "de-identification secret");
    Database& db = SessionAccess::database(session);
    {
        auto s = db.prepare("SELECT secret FROM deidentification_secret WHERE id = 1");
        if (s.step() && s.blobSize(0) == 32) {
            std::array<std::uint8_t, 32> bytes{};
            std::memcpy(bytes.data(), s.blobData(0), bytes.size());
            deid::StoreSecret secret(bytes);
            sodium_memzero(bytes.data(), bytes.size());
            return secret;
        }
    }
    deid::StoreSecret secret = deid::StoreSecret::random();
    SessionAccess::recorded(
        session, "deid secret", "store", "per-store de-identification secret created",
        [&](Database& database) {
            database.prepare("INSERT INTO deidentification_secret(id, secret) VALUES (1, ?)")
                .bindBlob(1, secret.bytes().data(), secret.bytes().size())
                .run();
        });
    return secret;
}

std::vector<StudyImportResult> importStudies(Session& session, const std::vector<fs::path>& sources,
                                             const ImportOptions& options,
                                             const ImportProgress& progress) {
    require(session, Action::ImportStudy, "import");
    session.touch();
    StudyImporter importer(session, options, progress);
    return importer.run(sources);
}

std::vector<StudyImportResult> importHeldInstances(Session& session,
                                                   std::vector<decoder::UniqueFd> sealedMemfds,
                                                   const std::string& sourceName,
                                                   const ImportOptions& options,
                                                   const ImportProgress& progress) {
    require(session, Action::ImportStudy, "import");
    session.touch();
    StudyImporter importer(session, options, progress);
    return importer.runHeld(std::move(sealedMemfds), sourceName);
}

std::optional<StoredSourceStudy> findStoredStudy(Session& session,
                                                 const std::string& sourceStudyUid) {
    const deid::StoreSecret secret = storeDeidentificationSecret(session);
    const deid::KeyedHash hash(secret);
    const deid::UidRemapper uids(hash);
    Database& db = SessionAccess::database(session);
    auto s = db.prepare("SELECT i.study_id, s.label FROM imported_studies i JOIN studies s "
                        "ON s.id = i.study_id WHERE i.study_uid = ?");
    s.bind(1, uids.remap(sourceStudyUid));
    if (!s.step())
        return std::nullopt;
    StoredSourceStudy found;
    found.studyId = s.integer(0);
    found.label = s.text(1);
    auto series = db.prepare("SELECT series_uid FROM imported_series WHERE study_id = ?");
    series.bind(1, found.studyId);
    while (series.step())
        found.storedSeriesUids.push_back(series.text(0));
    return found;
}

bool StoredSourceStudy::holdsSeries(Session& session, const std::string& sourceSeriesUid) const {
    const deid::StoreSecret secret = storeDeidentificationSecret(session);
    const deid::KeyedHash hash(secret);
    const std::string uid = deid::UidRemapper(hash).remap(sourceSeriesUid);
    return std::find(storedSeriesUids.begin(), storedSeriesUids.end(), uid) !=
           storedSeriesUids.end();
}

} // namespace radmark::storage
