// radmark-cli bench deid SOURCE [--compare-gdcmanon] [--secret-file F] [--scratch DIR]: times the
// full de-identification (profile, UIDs, dates, records, verification, atomic writes) of every file
// under SOURCE and, in the same run, `gdcmanon --dumb` told to remove or empty the same table
// rows; prints both and their ratio. Outputs go to temporary folders that are deleted.

#include "app/cli/BenchSupport.h"
#include "app/cli/Command.h"
#include "imaging/decoder/IsolatedDecoder.h"
#include "imaging/deid/BurnedInText.h"
#include "imaging/deid/FolderDeidentification.h"

#include <gdcmDict.h>
#include <gdcmDicts.h>
#include <gdcmGlobal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <ostream>
#include <vector>

namespace radmark::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Outputs go to memory (/dev/shm) when there is one, so the disk of a busy machine does not
// decide the figures; --scratch DIR overrides.
fs::path scratchRoot(const std::optional<std::string>& chosen) {
    if (chosen)
        return *chosen;
    std::error_code error;
    if (fs::is_directory("/dev/shm", error))
        return "/dev/shm";
    return fs::temp_directory_path();
}

std::size_t warmPageCache(const std::vector<fs::path>& files) {
    std::size_t bytes = 0;
    std::vector<char> buffer(1 << 20);
    for (const auto& file : files) {
        std::ifstream in(file, std::ios::binary);
        while (in.read(buffer.data(), std::streamsize(buffer.size())) || in.gcount() > 0)
            bytes += std::size_t(in.gcount());
    }
    return bytes;
}

// gdcmanon --dumb removing every X row and emptying every Z row of the table it can address.
std::vector<std::string> gdcmanonArguments(const fs::path& source, const fs::path& out) {
    std::vector<std::string> args = {"gdcmanon", "--dumb",        "--continue", "-r",
                                     "-i",       source.string(), "-o",         out.string()};
    char tag[32];
    const auto& dictionary = gdcm::Global::GetInstance().GetDicts().GetPublicDict();
    for (const auto& row : deid::ConfidentialityProfile::standard().rows()) {
        if (row.match != deid::ProfileRow::Match::Exact || row.group < 0x0008)
            continue;
        std::snprintf(tag, sizeof tag, "%x,%x", row.group, row.element);
        // gdcmanon refuses --empty on sequences and on tags its dictionary does not know.
        const gdcm::VR vr = dictionary.GetDictEntry(gdcm::Tag(row.group, row.element)).GetVR();
        const bool emptiable = vr != gdcm::VR::INVALID && vr != gdcm::VR::SQ && vr != gdcm::VR::UN;
        if ((row.basic == "Z" || row.basic == "Z/D") && emptiable)
            args.insert(args.end(), {"--empty", tag});
        else if (row.basic.rfind("X", 0) == 0)
            args.insert(args.end(), {"--remove", tag});
    }
    return args;
}

std::size_t countFiles(const fs::path& folder) {
    std::size_t n = 0;
    for (const auto& entry : fs::recursive_directory_iterator(folder))
        n += entry.is_regular_file() && entry.path().extension() == ".dcm" ? 1 : 0;
    return n;
}

int runBenchDeid(Arguments& args, CommandIo& io) {
    // its zygote starts (with the OCR module) while this command gets ready
    decoder::prestartDecoder(decoder::DecoderUse::Deidentify);
    args.declareFlags({"compare-gdcmanon"});
    args.allowOnly({"compare-gdcmanon", "secret-file", "options", "scratch"});
    const fs::path scratch = scratchRoot(args.option("scratch"));
    const fs::path source = args.positional(0, "SOURCE");
    const auto files = deid::listSourceFiles({source});
    if (files.empty())
        throw CommandError("no files under " + source.string());
    const std::size_t bytes = warmPageCache(files);
    const auto secret = args.option("secret-file")
                            ? deid::StoreSecret::fromFile(*args.option("secret-file"))
                            : deid::StoreSecret::random();
    const auto options = deid::ProfileOptions::parse(args.option("options").value_or("default"));
    std::unique_ptr<deid::TextDetector> ocr;
    try {
        ocr = deid::makeTesseractDetector();
    } catch (const std::exception&) {
    }

    auto ourFolder = std::make_unique<ScratchFolder>(scratch, "deid");
    const fs::path& ours = ourFolder->path();
    const double cpuBefore = cpuSeconds(RUSAGE_SELF);
    const auto start = Clock::now();
    // Through the isolated decoder, as `radmark-cli deid` runs it (child start-up included).
    const auto outcome =
        decoder::deidentifyIntoFolder({source}, ours, {secret, options, ocr != nullptr}).outcome;
    const double oursSeconds = std::chrono::duration<double>(Clock::now() - start).count();
    const double oursCpu = cpuSeconds(RUSAGE_SELF) - cpuBefore;
    io.out << std::fixed << std::setprecision(3);
    io.out << "input: " << files.size() << " files, " << bytes / (1024 * 1024)
           << " MiB (page cache warm)\n";
    io.out << "radmark deid (full profile: "
           << deid::ConfidentialityProfile::standard().rows().size() << " table rows, options "
           << options.names().size() - 1
           << ", UIDs, dates, records, verification, atomic writes): " << oursSeconds << " s wall, "
           << oursCpu << " s CPU, " << outcome.filesWritten << " written, "
           << outcome.failures.size() << " failed (outputs in " << scratch.string() << ")\n";
    ourFolder.reset();

    if (args.flag("compare-gdcmanon")) {
        const ScratchFolder theirFolder(scratch, "gdcmanon");
        const fs::path& theirs = theirFolder.path();
        const auto command = gdcmanonArguments(source, theirs);
        const ExternalRun run = runExternal(command, "package libgdcm-tools");
        const int status = run.status;
        const double theirSeconds = run.seconds;
        const double theirCpu = run.cpuSeconds;
        const std::size_t written = countFiles(theirs) + (fs::is_regular_file(theirs) ? 1 : 0);
        io.out << "gdcmanon --dumb (" << (command.size() - 8) / 2
               << " --remove/--empty rules, exit " << status << "): " << theirSeconds << " s wall, "
               << theirCpu << " s CPU, " << written << " written\n";
        io.out << std::setprecision(2) << "ratio radmark/gdcmanon: wall "
               << oursSeconds / theirSeconds << ", CPU " << oursCpu / theirCpu
               << (oursSeconds <= theirSeconds ? " (radmark as fast or faster)\n"
                                               : " (radmark slower in wall time)\n");
    }
    return 0;
}

} // namespace
RADMARK_COMMAND(
    "bench deid",
    "SOURCE [--compare-gdcmanon] [--secret-file F] [--options LIST] [--scratch DIR]  time the full "
    "de-identification of every file under SOURCE (vs gdcmanon --dumb)",
    runBenchDeid);
} // namespace radmark::cli
