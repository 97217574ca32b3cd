#pragma once
// What the bench commands share: scratch folders that remove themselves, wall and CPU time,
// medians, this process's peak memory, and running a reference tool (dcm2niix, gdcmanon) in the
// same run.

#include <sys/resource.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace radmark::cli {

class ScratchFolder {
  public:
    // A new folder "radmark-bench-<what>-XXXXXX" under root; throws CommandError when it cannot.
    ScratchFolder(const std::filesystem::path& root, const std::string& what);
    ~ScratchFolder();
    ScratchFolder(const ScratchFolder&) = delete;
    ScratchFolder& operator=(const ScratchFolder&) = delete;
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

using BenchClock = std::chrono::steady_clock;
double secondsSince(BenchClock::time_point start);
double median(std::vector<double> values); // 0 for none

double cpuSeconds(int who = RUSAGE_SELF); // user + system
long peakRssKb();                         // of this process so far
// The peak resident memory from a reset on (the kernel's high-water mark, VmHWM, is reset by
// clear_refs 5), in MiB.
void resetPeakMemory();
double peakMemoryMiB();

struct ExternalRun {
    double seconds = 0;
    double cpuSeconds = 0;
    long peakKb = 0;
    int status = -1; // exit status, -1 when killed
};

// Runs words[0] from PATH with stdout and stderr discarded; throws CommandError naming
// installHint when it cannot be started.
ExternalRun runExternal(const std::vector<std::string>& words, const std::string& installHint);

} // namespace radmark::cli
