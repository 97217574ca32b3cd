// radmark-cli bench open PATH [--repeat N] [--compare-dcm2niix]: how fast a study opens, and
// how much memory it takes, through the isolated decoder the workstation uses (a fresh child per
// run: its start counts; it is forked from the decoder's zygote, which the command starts first,
// as the workstation starts it at launch).

#include "app/cli/BenchSupport.h"
#include "app/cli/Command.h"
#include "imaging/StudyReader.h"
#include "imaging/decoder/IsolatedDecoder.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <ostream>
#include <vector>

namespace radmark::cli {
namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::duration d) {
    return std::chrono::duration<double>(d).count();
}

struct Stats {
    double min = 0, median = 0;
};

Stats statsOf(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return {v.front(),
            v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2};
}

// Loads once in a forked child, so its peak RSS is this load's alone (plus the program itself,
// reported separately as the baseline).
struct MemoryProbe {
    long baselineKb = 0, peakKb = 0;
    bool ok = false;
};

MemoryProbe probeMemory(const std::string& path) {
    MemoryProbe probe;
    int fds[2];
    if (pipe(fds) != 0)
        return probe;
    const pid_t child = fork();
    if (child == 0) {
        close(fds[0]);
        long result[2] = {peakRssKb(), -1};
        try {
            decoder::IsolatedDecoder decoder;
            const auto volume = decoder.readVolume(path);
            result[1] = peakRssKb();
        } catch (...) {
        }
        [[maybe_unused]] auto written = write(fds[1], result, sizeof result);
        _exit(0);
    }
    close(fds[1]);
    long result[2] = {0, -1};
    const bool got = child > 0 && read(fds[0], result, sizeof result) == sizeof result;
    close(fds[0]);
    if (child > 0)
        waitpid(child, nullptr, 0);
    if (got && result[1] > 0) {
        probe.baselineKb = result[0];
        probe.peakKb = result[1];
        probe.ok = true;
    }
    return probe;
}

// Runs dcm2niix into a private temporary folder, removed afterwards.
ExternalRun runDcm2niix(const std::string& path) {
    const ScratchFolder out(std::filesystem::temp_directory_path(), "dcm2niix");
    return runExternal({"dcm2niix", "-o", out.path().string(), path}, "package dcm2niix");
}

int runBenchOpen(Arguments& args, CommandIo& io) {
    decoder::prestartDecoder(); // its zygote starts while this command gets ready
    args.declareFlags({"compare-dcm2niix"});
    args.allowOnly({"repeat", "compare-dcm2niix"});
    const std::string path = args.positional(0, "PATH");
    int repeat = 3;
    if (auto r = args.option("repeat")) {
        try {
            repeat = std::stoi(*r);
        } catch (...) {
            repeat = 0;
        }
        if (repeat < 1)
            throw CommandError("--repeat needs a positive number", 2);
    }

    // Memory first, in a child, before this process has touched any voxels.
    const MemoryProbe memory = probeMemory(path);

    std::vector<double> scan, total;
    std::size_t voxelBytes = 0;
    std::string description;
    for (int i = 0; i < repeat; ++i) {
        // A fresh decoder child per run, as the workstation opens a study: its start counts.
        const auto start = Clock::now();
        decoder::IsolatedDecoder decoder;
        const auto series = decoder.findSeries(path);
        const auto scanned = Clock::now();
        if (series.size() != 1)
            throw CommandError(path + ": holds " + std::to_string(series.size()) +
                               " series; bench open needs exactly one");
        const imaging::Volume volume = decoder.readSeries(series.front());
        const auto end = Clock::now();
        scan.push_back(seconds(scanned - start));
        total.push_back(seconds(end - start));
        voxelBytes = volume.byteCount();
        const auto& d = volume.geometry().dims;
        description = std::to_string(d[0]) + "x" + std::to_string(d[1]) + "x" +
                      std::to_string(d[2]) + " " + imaging::pixelTypeName(volume.pixelType()) +
                      ", " + std::to_string(series.front().files.size()) + " files";
    }
    const Stats load = statsOf(total), header = statsOf(scan);
    const double mb = double(voxelBytes) / 1e6;
    io.out << std::fixed << std::setprecision(3);
    io.out << "series:        " << description << " (" << std::setprecision(1) << mb
           << " MB of voxels)\n"
           << std::setprecision(3);
    io.out << "load:          min " << load.min << " s, median " << load.median << " s over "
           << repeat << " run(s) (header scan: min " << header.min << " s)\n";
    io.out << "throughput:    " << std::setprecision(0) << mb / load.min << " MB/s (best run)\n"
           << std::setprecision(3);
    io.out << "decoder:       a fresh confined child per run, "
           << (std::getenv("RADMARK_DECODER_ZYGOTE") &&
                       std::string(std::getenv("RADMARK_DECODER_ZYGOTE")) == "0"
                   ? "exec'd (RADMARK_DECODER_ZYGOTE=0)"
                   : "forked from the decoder's zygote, started with the command as the "
                     "workstation starts it at launch")
           << "\n";
    if (memory.ok) {
        const double peak = double(memory.peakKb) * 1024;
        const double baseline = double(memory.baselineKb) * 1024;
        io.out << "peak memory:   " << std::setprecision(1) << peak / 1e6
               << " MB = " << std::setprecision(2) << peak / double(voxelBytes)
               << " x voxel bytes (program baseline " << std::setprecision(1) << baseline / 1e6
               << " MB; load alone " << std::setprecision(2)
               << (peak - baseline) / double(voxelBytes) << " x)\n"
               << std::setprecision(3);
    } else {
        io.out << "peak memory:   not measured (the probe process failed)\n";
    }
    if (args.flag("compare-dcm2niix")) {
        std::vector<double> times;
        ExternalRun last;
        for (int i = 0; i < repeat; ++i) {
            last = runDcm2niix(path);
            if (last.status != 0)
                throw CommandError("dcm2niix failed on " + path + " (exit " +
                                   std::to_string(last.status) + ")");
            times.push_back(last.seconds);
        }
        const Stats d = statsOf(times);
        io.out << "dcm2niix:      min " << d.min << " s, median " << d.median << " s, peak "
               << std::setprecision(1) << double(last.peakKb) * 1024 / 1e6 << " MB\n"
               << std::setprecision(2);
        io.out << "ratio:         radmark / dcm2niix = " << load.min / d.min << " (best runs), "
               << load.median / d.median << " (medians)\n";
    }
    return 0;
}

} // namespace
RADMARK_COMMAND("bench open",
                "PATH [--repeat N] [--compare-dcm2niix]  load time, MB/s and peak memory",
                runBenchOpen);
} // namespace radmark::cli
