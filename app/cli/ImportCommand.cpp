// radmark-cli import --store DIR --user ADMIN [--password-stdin] [--options LIST] [--timing]
// SOURCE...: de-identifies and stores studies (folders, files, DICOMDIR, NIfTI, NRRD, MetaImage)
// with the same function the import dialog calls. One line per study; a non-zero exit when any
// study was not imported. Nothing is written outside the store.

#include "app/cli/Command.h"
#include "app/cli/StoreSession.h"
#include "imaging/decoder/DecoderProcess.h"
#include "imaging/deid/BurnedInText.h"
#include "storage/StudyImport.h"

#include <sys/resource.h>

#include <chrono>
#include <iomanip>
#include <ostream>

namespace radmark::cli {
namespace {

namespace fs = std::filesystem;

int runImport(Arguments& args, CommandIo& io) {
    // its zygote starts (with the OCR module) while this command gets ready
    decoder::prestartDecoder(decoder::DecoderUse::Deidentify);
    declareStoreFlags(args, {"timing", "progress"});
    args.allowOnly(storeOptions({"options", "timing", "progress"}));
    if (args.positionals().empty())
        throw CommandError("give at least one SOURCE (folder, file or DICOMDIR) to import", 2);
    storage::ImportOptions options;
    try {
        options.profile = deid::ProfileOptions::parse(args.option("options").value_or("default"));
    } catch (const deid::ProfileError& error) {
        throw CommandError(error.what());
    }
    std::vector<fs::path> sources(args.positionals().begin(), args.positionals().end());
    for (const auto& source : sources)
        if (!fs::exists(source))
            throw CommandError("no such file or folder: " + source.string());

    auto session = loginFromArguments(args, io);
    std::unique_ptr<deid::TextDetector> ocr;
    try {
        ocr = deid::makeTesseractDetector();
        options.textDetector = ocr.get();
    } catch (const std::exception& error) {
        io.err << "note: " << error.what() << ": images that may hold burned-in text will be "
               << "quarantined\n";
    }

    const bool showProgress = args.flag("progress");
    int lastPercent = -1;
    const auto start = std::chrono::steady_clock::now();
    const auto results = storage::importStudies(
        session, sources, options, [&](double fraction, const std::string& stage) {
            const int percent = int(fraction * 100);
            if (showProgress && percent != lastPercent) {
                lastPercent = percent;
                io.err << "\r" << std::setw(3) << percent << "% " << stage << "        "
                       << std::flush;
            }
            return true;
        });
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (showProgress)
        io.err << "\n";

    int notImported = 0;
    for (const auto& r : results)
        if (!reportImportResult(r.source.string(), r, io))
            ++notImported;
    if (args.flag("timing")) {
        rusage usage{};
        getrusage(RUSAGE_SELF, &usage);
        io.out << "import took " << std::fixed << std::setprecision(2) << seconds << " s, peak RSS "
               << std::setprecision(0) << double(usage.ru_maxrss) / 1024.0 << " MiB\n";
    }
    return notImported ? 3 : 0;
}

} // namespace
RADMARK_COMMAND("import",
                "--store DIR --user ADMIN [--password-stdin] [--options default,...] [--progress] "
                "[--timing] SOURCE...  de-identify and store studies (admin)",
                runImport);
} // namespace radmark::cli
