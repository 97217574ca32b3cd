// radmark-cli deid SOURCE... --out DIR [--secret-file F] [--options LIST]: writes de-identified
// DICOM files with the same engine the import uses, one report per study; one line per failure
// or quarantined study, and a non-zero exit when there was any.

#include "app/cli/Command.h"
#include "imaging/deid/BurnedInText.h"
#include "imaging/deid/FolderDeidentification.h"

#include <filesystem>
#include <ostream>

namespace radmark::cli {
namespace {

namespace fs = std::filesystem;

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
    if (options.deface)
        throw CommandError("defacing is applied on import into the store only; radmark-cli deid "
                           "does not deface the DICOM files it writes yet");
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
    try {
        outcome = deid::deidentifyIntoFolder(sources, out, engine);
    } catch (const std::runtime_error& error) {
        throw CommandError(error.what());
    }
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
