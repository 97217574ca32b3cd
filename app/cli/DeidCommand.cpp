// radmark-cli deid SOURCE... --out DIR [--secret-file F] [--options LIST]: writes de-identified
// DICOM files with the same engine the import uses, one report per study; one line per failure
// or quarantined study, and a non-zero exit when there was any.
// Every file is read, de-identified, written and (with the deface option) defaced by the
// isolated decoder, which may write only into a private staging folder inside DIR; this process
// then moves what it wrote into DIR. A study that cannot be defaced is removed and reported as
// quarantined; a file that crashes the decoder is one failure line, and the rest goes on.

#include "app/cli/Command.h"
#include "imaging/decoder/IsolatedDecoder.h"
#include "imaging/deid/FolderDeidentification.h"

#include <filesystem>
#include <ostream>

namespace radmark::cli {
namespace {

namespace fs = std::filesystem;

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
    // its zygote starts (with the OCR module) while this command gets ready
    decoder::prestartDecoder(decoder::DecoderUse::Deidentify);
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

    sweepInterruptedDefacing(out, io);
    if (const int swept = decoder::sweepDecoderStaging(out))
        io.err << "note: removed " << swept << " staging folder(s) left in " << out.string()
               << " by an interrupted run\n";
    decoder::DeidentificationSettings settings{*secret, options, true};
    deid::FolderOutcome outcome;
    try {
        const auto isolated = decoder::deidentifyIntoFolder(sources, out, settings);
        if (!isolated.writesConfined)
            io.err << "note: the decoder's writes could not be confined to its staging folder "
                      "on this system (no private mount namespace)\n";
        outcome = isolated.outcome;
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
        io.err << "quarantined study " << study.studyUid << " (" << study.files << " file(s)";
        if (!study.quarantinedBy.empty())
            io.err << ", first by " << study.quarantinedBy.string();
        io.err << "): " << (study.reasons.empty() ? "" : study.reasons.front());
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
