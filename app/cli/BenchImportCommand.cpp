// radmark-cli bench import SOURCE [--dir SCRATCH]: imports SOURCE (e.g. a series written by
// tests/data/generate_ct_series.py) into a fresh scratch store (low Argon2 cost: a benchmark,
// not a real store) and reports the import time, the progress calls seen, the peak RSS and its
// ratio to the size of the decoded series. The scratch store is deleted afterwards.

#include "app/cli/BenchSupport.h"
#include "app/cli/Command.h"
#include "imaging/decoder/DecoderProcess.h"
#include "storage/StoredStudy.h"
#include "storage/StudyImport.h"
#include "storage/Users.h"

#include <unistd.h>

#include <chrono>
#include <iomanip>
#include <ostream>
#include <utility>
#include <vector>

namespace radmark::cli {
namespace {

namespace fs = std::filesystem;

double peakRssMiB() {
    return double(peakRssKb()) / 1024.0;
}

int runBenchImport(Arguments& args, CommandIo& io) {
    decoder::prestartDecoder(); // its zygote starts while this command gets ready
    args.allowOnly({"dir"});
    const fs::path source = args.positional(0, "SOURCE (a generated CT series folder)");
    const fs::path base =
        args.option("dir") ? fs::path(*args.option("dir")) : fs::temp_directory_path();
    const ScratchFolder scratchFolder(base, "import");
    const fs::path& scratch = scratchFolder.path();

    storage::Policy policy;
    policy.argon2MemoryBytes = 64 * 1024;
    policy.argon2Operations = 1;
    const std::string password = "bench import password";
    storage::Store::initialise(scratch / "store", "bench-admin", password, policy);
    storage::Store store(scratch / "store", policy);
    auto admin = store.login("bench-admin", password);
    storage::storeDeidentificationSecret(admin); // created before timing starts

    const double rssBefore = peakRssMiB();
    int progressCalls = 0;
    double lastFraction = 0;
    // Wall time per stage (the machine may be shared: CPU time is reported too).
    std::vector<std::pair<std::string, double>> stages;
    auto stageStart = std::chrono::steady_clock::now();
    const double cpuBefore = cpuSeconds();
    const auto start = std::chrono::steady_clock::now();
    const auto results =
        storage::importStudies(admin, {source}, {}, [&](double fraction, const std::string& stage) {
            ++progressCalls;
            lastFraction = fraction;
            if (stages.empty() || stages.back().first != stage) {
                const auto now = std::chrono::steady_clock::now();
                if (!stages.empty())
                    stages.back().second = std::chrono::duration<double>(now - stageStart).count();
                stages.emplace_back(stage, 0.0);
                stageStart = now;
            }
            return true;
        });
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double cpu = cpuSeconds() - cpuBefore;
    const double rss = peakRssMiB();
    if (results.size() != 1 || results.front().status != storage::ImportStatus::Imported)
        throw CommandError("the benchmark source was not imported: " +
                           (results.empty() ? std::string("no study") : results.front().reason));

    // The size of one decoded series, from the stored study (read back by a reviewer).
    storage::Users(admin).add("bench-reviewer", storage::Role::Reviewer, password);
    auto reviewer = store.login("bench-reviewer", password);
    const auto volume = storage::loadStoredVolume(reviewer, results.front().studyId);
    const double seriesMiB = double(volume.byteCount()) / (1024.0 * 1024.0);
    const auto& d = volume.geometry().dims;

    io.out << std::fixed << std::setprecision(2);
    io.out << "series " << d[0] << "x" << d[1] << "x" << d[2] << " (" << results.front().fileCount
           << " files, " << seriesMiB << " MiB decoded)\n";
    io.out << "import " << seconds << " s (" << results.front().fileCount / seconds << " files/s), "
           << progressCalls << " progress calls, last at " << lastFraction << "\n";
    io.out << "CPU " << cpu << " s (user + system) during the import; stages (wall):";
    for (const auto& [stage, stageSeconds] : stages)
        if (stage != "done")
            io.out << " " << stage << " " << stageSeconds << " s;";
    io.out << "\n";
    io.out << "peak RSS " << rss << " MiB (" << rssBefore
           << " MiB before import) = " << rss / seriesMiB << " x one series\n";
    return 0;
}

} // namespace
RADMARK_COMMAND("bench import",
                "SOURCE [--dir SCRATCH]  time importing SOURCE into a scratch store; peak RSS",
                runBenchImport);
} // namespace radmark::cli
