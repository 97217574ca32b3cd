// radmark-cli bench pacs --policy FILE --node NAME [--node NAME...] --study UID --source DIR
//     [--patient-id ID] [--accession N] [--runs N] [--dir SCRATCH]
// Import from a PACS against import from disk (issue 14, "Speed"), for each node given (DICOMweb
// and DIMSE alike), in one run: the query by patient ID and by accession (the fetcher's start
// apart: the first query of each node is reported on its own), then retrieve, de-identify and
// store of the study from each node against `import` of the same files from disk (SOURCE), each
// into a fresh scratch store (low Argon2 cost), interleaved, medians and the ratio; and the peak
// memory of each against the decoded size of the series (ImportMemory below: this process's RSS,
// the retrieved instances' memfds while any process still holds them, the volume while a decoder
// child fills it; the children's heaps apart). The nodes come from FILE (a test policy: this command is
// built with the tests only). The scratch stores are deleted afterwards.

#include "app/cli/BenchSupport.h"
#include "app/cli/Command.h"
#include "imaging/decoder/DecoderProcess.h"
#include "imaging/deid/BurnedInText.h"
#include "pacs/PacsImport.h"
#include "storage/Policy.h"
#include "storage/Session.h"
#include "storage/Store.h"
#include "storage/StoredStudy.h"
#include "storage/StudyImport.h"
#include "storage/Users.h"

#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <sstream>
#include <thread>

namespace radmark::cli {
namespace {
namespace fs = std::filesystem;
using Clock = BenchClock;

struct Scratch {
    std::unique_ptr<storage::Store> store;
    std::optional<storage::Session> admin;
};

// A "Key:   N kB" line of a /proc status file, in bytes (0 when missing).
double statusBytes(const std::string& status, const std::string& key) {
    const auto at = status.find("\n" + key + ":");
    if (at == std::string::npos)
        return 0;
    return std::atof(status.c_str() + at + key.size() + 2) * 1024.0;
}

std::string readWhole(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return "\n" + text.str();
}

// This process's descendants (decoder zygote and children, the PACS fetcher), from /proc/*/stat.
std::vector<pid_t> descendants() {
    std::map<pid_t, std::vector<pid_t>> children;
    std::error_code error;
    for (fs::directory_iterator it("/proc", error), end; !error && it != end; it.increment(error)) {
        const auto& entry = *it;
        const std::string name = entry.path().filename().string();
        if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0])))
            continue;
        std::ifstream in(entry.path() / "stat");
        std::string line;
        std::getline(in, line);
        const auto close = line.rfind(')'); // the name may hold spaces
        if (close == std::string::npos)
            continue;
        std::istringstream rest(line.substr(close + 1));
        std::string state;
        pid_t parent = 0;
        rest >> state >> parent;
        children[parent].push_back(pid_t(std::atoi(name.c_str())));
    }
    std::vector<pid_t> found, todo = {::getpid()};
    while (!todo.empty()) {
        const pid_t pid = todo.back();
        todo.pop_back();
        for (pid_t child : children[pid]) {
            found.push_back(child);
            todo.push_back(child);
        }
    }
    return found;
}

// The memory one import takes, sampled every 5 ms on its own thread until stop():
//   this process's resident memory (VmRSS: heap, libraries, the volume once mapped here)
// + the retrieved instances still held by anyone: each memfd's pages (st_blocks) from the moment
//   it arrives until the kernel reports its last reference gone (inotify IN_DELETE_SELF, which
//   comes only when this process and every decoder child have closed it)
// + shared memory mapped by the descendants (RssShmem of the decoder children and the fetcher:
//   the volume while a child fills it; a child unmaps it before this process maps it).
// The descendants' heaps (RssAnon of the zygote, the children, the fetcher) are kept apart; they
// overstate, as a forked child's pages shared with the zygote count in both.
// With $RADMARK_BENCH_MEMORY_TRACE, every sample is appended to that file (ms, then MiB of the
// three parts and of the heaps), a line "# label" before each import's.
class ImportMemory {
  public:
    explicit ImportMemory(std::string label)
        : label_(std::move(label)), inotify_(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {}
    ~ImportMemory() { stop(); }
    void start() {
        running_ = true;
        sampler_ = std::thread([this] { sample(); });
    }
    void stop() {
        running_ = false;
        if (!sampler_.joinable())
            return;
        sampler_.join();
        if (const char* trace = std::getenv("RADMARK_BENCH_MEMORY_TRACE"); trace && *trace) {
            std::ofstream out(trace, std::ios::app);
            out << "# " << label_ << ": ms, this process's RSS, instances held, children's shared "
                << "memory, children's heaps (MiB)\n";
            for (const auto& line : trace_)
                out << line << "\n";
        }
    }
    // A retrieved instance, as it arrives.
    void track(int memfd) {
        struct stat st {};
        if (!inotify_ || ::fstat(memfd, &st) != 0)
            return;
        const std::string path = "/proc/self/fd/" + std::to_string(memfd);
        std::lock_guard lock(mutex_);
        const int wd = ::inotify_add_watch(inotify_.get(), path.c_str(), IN_DELETE_SELF);
        if (wd >= 0) {
            held_[wd] = double(st.st_blocks) * 512.0;
            heldBytes_ += held_[wd];
        }
    }
    double peakMiB() const { return peak_ / (1024.0 * 1024.0); }
    double peakHeldMiB() const { return peakHeld_ / (1024.0 * 1024.0); }
    double peakWithChildHeapsMiB() const { return peakWithHeaps_ / (1024.0 * 1024.0); }

  private:
    void drain() {
        alignas(inotify_event) char buffer[4096];
        for (;;) {
            const ssize_t got = ::read(inotify_.get(), buffer, sizeof buffer);
            if (got <= 0)
                return;
            for (ssize_t at = 0; at < got;) {
                const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
                const auto it = held_.find(event->wd);
                if ((event->mask & IN_DELETE_SELF) && it != held_.end()) {
                    heldBytes_ -= it->second;
                    held_.erase(it);
                }
                at += ssize_t(sizeof(inotify_event) + event->len);
            }
        }
    }
    void sample() {
        std::vector<pid_t> family;
        const auto begin = Clock::now();
        auto lastScan = begin - std::chrono::seconds(1);
        while (running_) {
            if (Clock::now() - lastScan > std::chrono::milliseconds(50)) {
                family = descendants();
                lastScan = Clock::now();
            }
            double shared = 0, heaps = 0;
            for (pid_t pid : family) {
                const std::string status = readWhole("/proc/" + std::to_string(pid) + "/status");
                shared += statusBytes(status, "RssShmem");
                heaps += statusBytes(status, "RssAnon");
            }
            const double own = statusBytes(readWhole("/proc/self/status"), "VmRSS");
            double held = 0;
            {
                std::lock_guard lock(mutex_);
                if (inotify_)
                    drain();
                held = heldBytes_;
            }
            const double total = own + held + shared;
            peak_ = std::max(peak_, total);
            peakHeld_ = std::max(peakHeld_, held);
            peakWithHeaps_ = std::max(peakWithHeaps_, total + heaps);
            constexpr double mib = 1024.0 * 1024.0;
            std::ostringstream line;
            line << std::fixed << std::setprecision(1) << secondsSince(begin) * 1000 << " "
                 << own / mib << " " << held / mib << " " << shared / mib << " " << heaps / mib;
            trace_.push_back(line.str());
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    }

    std::string label_;
    std::vector<std::string> trace_;
    decoder::UniqueFd inotify_;
    std::mutex mutex_;
    std::map<int, double> held_; // watch -> bytes
    double heldBytes_ = 0;
    std::atomic<bool> running_{false};
    std::thread sampler_;
    double peak_ = 0, peakHeld_ = 0, peakWithHeaps_ = 0;
};

// The node's client, with each retrieved instance shown to the memory watch as it arrives.
class WatchedClient : public pacs::PacsClient {
  public:
    WatchedClient(pacs::PacsClient& client, ImportMemory& memory)
        : client_(client), memory_(memory) {}
    void echo() override { client_.echo(); }
    std::vector<pacs::StudyMatch> queryStudies(const pacs::StudyQuery& query) override {
        return client_.queryStudies(query);
    }
    std::vector<pacs::SeriesMatch> querySeries(const std::string& studyUid) override {
        return client_.querySeries(studyUid);
    }
    void retrieveSeries(const std::string& studyUid, const std::string& seriesUid,
                        const pacs::InstanceSink& sink) override {
        client_.retrieveSeries(studyUid, seriesUid,
                               [&](decoder::UniqueFd instance, std::size_t bytes) {
                                   memory_.track(instance.get());
                                   return sink(std::move(instance), bytes);
                               });
    }

  private:
    pacs::PacsClient& client_;
    ImportMemory& memory_;
};

int runBenchPacs(Arguments& args, CommandIo& io) {
    decoder::prestartDecoder(decoder::DecoderUse::Deidentify); // with the OCR module
    args.allowOnly({"policy", "node", "study", "source", "patient-id", "accession", "runs", "dir"});
    const fs::path policyFile = args.required("policy");
    const std::vector<std::string> nodeNames = args.all("node");
    if (nodeNames.empty())
        throw CommandError("give at least one --node (DICOMweb or DIMSE) of the policy", 2);
    const std::string studyUid = args.required("study");
    const fs::path source = args.required("source");
    int runs = 3;
    if (auto r = args.option("runs"))
        runs = std::max(1, std::atoi(r->c_str()));
    const fs::path base =
        args.option("dir") ? fs::path(*args.option("dir")) : fs::temp_directory_path();
    const ScratchFolder scratchFolder(base, "pacs");

    storage::Policy policy = storage::Policy::load(policyFile);
    policy.argon2MemoryBytes = 64 * 1024;
    policy.argon2Operations = 1;
    const std::string password = "bench pacs password";
    int storeCount = 0;
    const auto freshStore = [&]() {
        const fs::path path = scratchFolder.path() / ("store-" + std::to_string(++storeCount));
        storage::Store::initialise(path, "bench-admin", password, policy);
        Scratch s;
        s.store = std::make_unique<storage::Store>(path, policy);
        s.admin.emplace(s.store->login("bench-admin", password));
        storage::storeDeidentificationSecret(*s.admin); // made before timing starts
        return s;
    };
    std::unique_ptr<deid::TextDetector> ocr;
    storage::ImportOptions options;
    try {
        ocr = deid::makeTesseractDetector();
        options.textDetector = ocr.get();
    } catch (const std::exception& error) {
        io.err << "note: " << error.what() << " (no OCR, for both imports)\n";
    }

    io.out << std::fixed << std::setprecision(3);
    // -- queries --------------------------------------------------------------------------------
    {
        Scratch s = freshStore();
        for (const auto& name : nodeNames) {
            const storage::PacsNode node = pacs::pacsNode(s.store->policy(), name);
            const pacs::Credentials credentials = pacs::credentialsFor(
                node, [&](const std::string&) -> std::string {
                    throw CommandError("bench pacs needs nodes with a credentials file or none");
                });
            auto client = pacs::clientFor(node, credentials);
            const std::string protocol = node.dimse ? "DIMSE" : "DICOMweb";
            for (const auto& [label, value] :
                 {std::pair<std::string, std::string>{"patient ID",
                                                      args.option("patient-id").value_or("")},
                  {"accession", args.option("accession").value_or("")}}) {
                if (value.empty())
                    continue;
                pacs::StudyQuery query;
                (label == "patient ID" ? query.patientId : query.accessionNumber) = value;
                std::vector<double> times;
                std::size_t found = 0;
                for (int i = 0; i < 6; ++i) {
                    const auto start = Clock::now();
                    found = pacs::queryStudies(*s.admin, *client, node.name, query).size();
                    times.push_back(secondsSince(start));
                }
                const double firstQuery = times.front();
                times.erase(times.begin());
                io.out << "query by " << label << " (" << protocol << ", node " << node.name
                       << "): median " << median(times) << " s over 5 (" << found
                       << " found); the first, with the fetcher's start, " << firstQuery
                       << " s\n";
            }
        }
    }

    // -- retrieve, de-identify, store against import from disk ----------------------------------
    std::map<std::string, std::vector<double>> seconds, peaks, transfers, heldPeaks, heapPeaks;
    // When each stage was first reported in the last run, per node and for the disk ("disk").
    std::map<std::string, std::vector<std::pair<std::string, double>>> stages;
    const auto stageClock = [&stages](const std::string& key, Clock::time_point start) {
        stages[key].clear();
        return [&stages, key, start](const std::string& stage) {
            auto& seen = stages[key];
            if (seen.empty() || seen.back().first != stage)
                seen.emplace_back(stage, secondsSince(start));
        };
    };
    std::map<std::string, double> heldMiB;
    std::vector<double> diskSeconds, diskPeaks, diskHeapPeaks;
    double seriesMiB = 0;
    int files = 0;
    for (int run = 0; run < runs; ++run) {
        for (const auto& name : nodeNames) {
            Scratch s = freshStore();
            const storage::PacsNode node = pacs::pacsNode(s.store->policy(), name);
            const pacs::Credentials credentials = pacs::credentialsFor(node, {});
            auto nodeClient = pacs::clientFor(node, credentials);
            ImportMemory memory("node " + name + ", run " + std::to_string(run + 1));
            WatchedClient client(*nodeClient, memory);
            memory.start();
            const auto start = Clock::now();
            // The transfer ends with the last "retrieving" progress; the import follows.
            double transferred = 0;
            const auto seen = stageClock(name, start);
            const auto result = pacs::retrieveStudy(*s.admin, client, node.name, studyUid, {},
                                                    options, [&](double, const std::string& stage) {
                                                        if (stage == "retrieving")
                                                            transferred = secondsSince(start);
                                                        seen(stage);
                                                        return true;
                                                    });
            seconds[name].push_back(secondsSince(start));
            memory.stop();
            transfers[name].push_back(transferred);
            peaks[name].push_back(memory.peakMiB());
            heldPeaks[name].push_back(memory.peakHeldMiB());
            heapPeaks[name].push_back(memory.peakWithChildHeapsMiB());
            if (result.status != storage::ImportStatus::Imported)
                throw CommandError("node " + name + ": the study was not imported: " +
                                   result.reason);
            files = result.fileCount;
        }
        Scratch s = freshStore();
        ImportMemory memory("disk, run " + std::to_string(run + 1));
        memory.start();
        const auto start = Clock::now();
        const auto seen = stageClock("disk", start);
        const auto results = storage::importStudies(*s.admin, {source}, options,
                                                    [&](double, const std::string& stage) {
                                                        seen(stage);
                                                        return true;
                                                    });
        diskSeconds.push_back(secondsSince(start));
        memory.stop();
        diskPeaks.push_back(memory.peakMiB());
        diskHeapPeaks.push_back(memory.peakWithChildHeapsMiB());
        if (results.size() != 1 || results.front().status != storage::ImportStatus::Imported)
            throw CommandError("the source was not imported from disk: " +
                               (results.empty() ? std::string("no study") : results.front().reason));
        if (seriesMiB == 0) {
            storage::Users(*s.admin).add("bench-reviewer", storage::Role::Reviewer, password);
            auto reviewer = s.store->login("bench-reviewer", password);
            const auto volume = storage::loadStoredVolume(reviewer, results.front().studyId);
            seriesMiB = double(volume.byteCount()) / (1024.0 * 1024.0);
        }
    }
    std::uintmax_t sourceBytes = 0;
    for (const auto& entry : fs::recursive_directory_iterator(source))
        if (entry.is_regular_file())
            sourceBytes += entry.file_size();
    const double diskMedian = median(diskSeconds);
    io.out << std::setprecision(2) << "study: " << files << " files, " << seriesMiB
           << " MiB decoded, " << double(sourceBytes) / (1024.0 * 1024.0)
           << " MiB as files (held in memfds during a retrieve)\n";
    const auto highest = [](const std::vector<double>& v) {
        return v.empty() ? 0.0 : *std::max_element(v.begin(), v.end());
    };
    io.out << "import from disk: median " << diskMedian << " s over " << runs
           << "; peak memory " << highest(diskPeaks) << " MiB (" << highest(diskPeaks) / seriesMiB
           << "x the decoded series; the files are in the page cache, not counted), with the "
              "decoder's heaps "
           << highest(diskHeapPeaks) << " MiB\n";
    for (const auto& name : nodeNames) {
        const double m = median(seconds[name]);
        const double peak = highest(peaks[name]);
        io.out << "retrieve + import, node " << name << ": median " << m << " s over " << runs
               << ", ratio " << m / diskMedian << " to disk; peak memory " << peak << " MiB ("
               << peak / seriesMiB << "x the decoded series: this process's RSS + the instances' "
               << "memfds still held + a child's volume; the memfds alone peaked at "
               << highest(heldPeaks[name]) << " MiB), with the decoder's and fetcher's heaps "
               << highest(heapPeaks[name]) << " MiB (" << highest(heapPeaks[name]) / seriesMiB
               << "x)\n"
               << "  of which the transfer into memfds (query of the series included): median "
               << median(transfers[name]) << " s, then the import of the held instances "
               << m - median(transfers[name]) << " s\n";
    }
    for (const auto& [key, seen] : stages) {
        io.out << "stages of the last run (" << (key == "disk" ? "import from disk" : "node " + key)
               << "), each from its first report on:";
        for (const auto& [stage, at] : seen)
            io.out << " " << stage << " " << at << " s;";
        io.out << "\n";
    }
    rusage children{};
    getrusage(RUSAGE_CHILDREN, &children);
    io.out << "peak RSS over the whole run: this process " << double(peakRssKb()) / 1024.0
           << " MiB, its largest ended child (decoder, fetcher) "
           << double(children.ru_maxrss) / 1024.0 << " MiB\n";
    std::ifstream load("/proc/loadavg");
    std::string loadavg;
    std::getline(load, loadavg);
    io.out << "load average " << loadavg << "\n";
    return 0;
}

} // namespace
RADMARK_COMMAND("bench pacs",
                "--policy FILE --node NAME [--node NAME...] --study UID --source DIR "
                "[--patient-id ID] [--accession N] [--runs N] [--dir SCRATCH]  time query and "
                "retrieve + import from PACS nodes against import of SOURCE from disk",
                runBenchPacs);
} // namespace radmark::cli
