// radmark-cli deid SOURCE... --out DIR [--secret-file F] [--options LIST]: writes de-identified
// DICOM files with the same engine the import uses, one report per study; one line per failure
// or quarantined study, and a non-zero exit when there was any.
// With the deface option, the studies are written into a private staging folder inside DIR
// first, their CT and MR series defaced there, and only then moved into DIR; a study that
// cannot be defaced is removed and reported as quarantined.

#include "app/cli/Command.h"
#include "imaging/deid/BurnedInText.h"
#include "imaging/deid/Defacing.h"
#include "imaging/deid/FolderDeidentification.h"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ostream>

namespace radmark::cli {
namespace {

namespace fs = std::filesystem;

// Defaces the CT and MR series of one de-identified study folder in place and records it in the
// study's report. Throws DefacingError when the study must be quarantined.
void defaceStudyFolder(const fs::path& folder, const fs::path& report) {
    nlohmann::json entries = nlohmann::json::array();
    for (const auto& series : imaging::findSeries(folder)) {
        if (series.modality != "CT" && series.modality != "MR") {
            entries.push_back(
                {{"action", "not defaced: modality " + series.modality + " is not CT or MR"}});
            continue;
        }
        const auto defaced = deid::defaceDicomSeries(series);
        entries.push_back({{"action", "defaced"},
                           {"method", defaced.volume.method()},
                           {"files", defaced.files},
                           {"removedVoxels", defaced.changedPixels}});
    }
    nlohmann::json json;
    std::ifstream(report) >> json;
    json["defacing"] = entries;
    std::ofstream(report) << json.dump(2) << "\n";
}

// Moves every file under `from` to the same place under `to`.
void moveTree(const fs::path& from, const fs::path& to) {
    for (const auto& entry : fs::recursive_directory_iterator(from)) {
        if (!entry.is_regular_file())
            continue;
        const fs::path target = to / fs::relative(entry.path(), from);
        fs::create_directories(target.parent_path());
        fs::rename(entry.path(), target);
    }
}

// The deface option: outcome's studies were written under `staging`; each is defaced and moved
// into `out`, or removed and marked quarantined.
void defaceStagedStudies(deid::FolderOutcome& outcome, const fs::path& staging,
                         const fs::path& out) {
    for (auto& study : outcome.studies) {
        if (study.quarantined)
            continue;
        const fs::path folder = study.report.parent_path();
        try {
            defaceStudyFolder(folder, study.report);
        } catch (const std::exception& refused) {
            const auto* defacing = dynamic_cast<const deid::DefacingError*>(&refused);
            study.quarantined = true;
            study.reasons = {defacing ? refused.what()
                                      : std::string("cannot deface: ") + refused.what()};
            outcome.filesWritten -= study.files;
            fs::remove_all(folder);
            continue;
        }
        const fs::path relative = fs::relative(folder, staging);
        moveTree(folder, out / relative);
        study.report = out / relative / study.report.filename();
    }
}

// Removes the staging folder of this run, if any; never throws.
void removeStaging(const fs::path& staging) {
    std::error_code ignored;
    if (!staging.empty())
        fs::remove_all(staging, ignored);
}

// A run that was killed while defacing leaves its staging folder (studies not yet defaced) and
// perhaps ".defacing-*" temporary files in the output folder: remove them before anything else,
// and say so on stderr with counts only (file names are those of de-identified instances, but
// nothing of them is needed). Another deface run writing into the same folder at the same time
// would lose its staging folder: that is not supported.
void sweepInterruptedDefacing(const fs::path& out, CommandIo& io) {
    std::error_code error;
    if (!fs::is_directory(out, error))
        return;
    int folders = 0;
    for (const auto& entry : fs::directory_iterator(out, error)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind(".radmark-defacing-", 0) == 0 && entry.is_directory(error)) {
            fs::remove_all(entry.path(), error);
            if (error)
                throw CommandError("cannot remove the staging folder " + entry.path().string() +
                                   " left by an interrupted deface run: " + error.message());
            ++folders;
        }
    }
    int files = 0;
    for (auto it = fs::recursive_directory_iterator(out, error);
         !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
        if (it->path().filename().string().rfind(".defacing-", 0) == 0 &&
            it->is_regular_file(error)) {
            std::error_code removed;
            if (fs::remove(it->path(), removed))
                ++files;
        }
    }
    if (folders > 0 || files > 0)
        io.err << "note: removed " << folders << " staging folder(s) and " << files
               << " temporary file(s) left in " << out.string()
               << " by an interrupted deface run\n";
}

int runDeid(Arguments& args, CommandIo& io) {
    args.allowOnly({"out", "secret-file", "options"});
    if (args.positionals().empty())
        throw CommandError("give at least one SOURCE (file or folder) to de-identify");
    const fs::path out = args.required("out");
    std::vector<fs::path> sources(args.positionals().begin(), args.positionals().end());
    for (const auto& source : sources) {
        std::error_code error;
        if (fs::exists(out) && fs::exists(source) && fs::equivalent(source, out, error))
            throw CommandError("the output folder must not be a source folder");
    }

    deid::ProfileOptions options;
    try {
        options = deid::ProfileOptions::parse(args.option("options").value_or("default"));
    } catch (const deid::ProfileError& error) {
        throw CommandError(error.what());
    }
    std::optional<deid::StoreSecret> secret;
    try {
        if (const auto file = args.option("secret-file"))
            secret.emplace(deid::StoreSecret::fromFile(*file));
        else
            secret.emplace(deid::StoreSecret::random());
    } catch (const deid::SecretError& error) {
        throw CommandError(error.what());
    }
    if (!args.option("secret-file"))
        io.err << "note: no --secret-file: UIDs and pseudonyms are random for this run only\n";

    std::unique_ptr<deid::TextDetector> ocr;
    try {
        ocr = deid::makeTesseractDetector();
    } catch (const std::exception& error) {
        io.err << "note: " << error.what() << ": images that may hold burned-in text will be "
               << "quarantined\n";
    }
    const deid::Deidentifier engine(deid::ConfidentialityProfile::standard(), options, *secret,
                                    &deid::BurnedInTextRules::standard(), ocr.get());
    sweepInterruptedDefacing(out, io);
    deid::FolderOutcome outcome;
    fs::path staging;
    try {
        if (options.deface) {
            fs::create_directories(out);
            std::string pattern = (out / ".radmark-defacing-XXXXXX").string();
            if (!::mkdtemp(pattern.data()))
                throw CommandError("cannot create a staging folder in " + out.string());
            staging = pattern;
        }
        outcome = deid::deidentifyIntoFolder(sources, staging.empty() ? out : staging, engine);
        if (!staging.empty())
            defaceStagedStudies(outcome, staging, out);
    } catch (const std::runtime_error& error) {
        removeStaging(staging);
        throw CommandError(error.what());
    } catch (...) {
        // Whatever went wrong, undefaced studies must not stay behind in the output folder.
        removeStaging(staging);
        throw;
    }
    removeStaging(staging);
    int quarantined = 0;
    for (const auto& study : outcome.studies) {
        if (!study.quarantined) {
            io.out << "study " << study.studyUid << ": " << study.files
                   << " file(s) de-identified, report " << study.report.string() << "\n";
            continue;
        }
        ++quarantined;
        io.err << "quarantined study " << study.studyUid << " (" << study.files
               << " file(s)): " << (study.reasons.empty() ? "" : study.reasons.front());
        if (study.reasons.size() > 1)
            io.err << " (and " << study.reasons.size() - 1 << " more)";
        io.err << "\n";
    }
    for (const auto& failure : outcome.failures)
        io.err << "failed: " << failure << "\n";
    io.out << outcome.filesWritten << " file(s) written to " << out.string() << ", " << quarantined
           << " stud" << (quarantined == 1 ? "y" : "ies") << " quarantined, "
           << outcome.failures.size() << " failure(s)";
    if (outcome.filesSkipped)
        io.out << ", " << outcome.filesSkipped << " non-DICOM file(s) skipped";
    io.out << "\n";
    return outcome.clean() ? 0 : 3;
}

} // namespace
RADMARK_COMMAND("deid",
                "SOURCE... --out DIR [--secret-file F] [--options default,retain-...]  write "
                "de-identified DICOM files and a report per study",
                runDeid);
} // namespace radmark::cli
