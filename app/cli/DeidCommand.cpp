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
        if (!staging.empty())
            fs::remove_all(staging);
        throw CommandError(error.what());
    }
    if (!staging.empty())
        fs::remove_all(staging);
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
