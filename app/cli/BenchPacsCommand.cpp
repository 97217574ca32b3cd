// radmark-cli bench pacs --policy FILE --node NAME [--node NAME...] --study UID --source DIR
//     [--patient-id ID] [--accession N] [--runs N] [--dir SCRATCH]
// Import from a PACS against import from disk (issue 14, "Speed"), for each node given (DICOMweb
// and DIMSE alike), in one run: the query by patient ID and by accession (the fetcher's start
// apart: the first query of each node is reported on its own), then retrieve, de-identify and
// store of the study from each node against `import` of the same files from disk (SOURCE), each
// into a fresh scratch store (low Argon2 cost), interleaved, medians and the ratio; and the peak
// RSS of each (reset before each import through /proc/self/clear_refs), the bytes held in memfds
// and the decoded size of the series. The nodes come from FILE (a test policy: this command is
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

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iomanip>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <sstream>

namespace radmark::cli {
namespace {
namespace fs = std::filesystem;
using Clock = BenchClock;

struct Scratch {
    std::unique_ptr<storage::Store> store;
    std::optional<storage::Session> admin;
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
    std::map<std::string, std::vector<double>> seconds, peaks, transfers;
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
    std::vector<double> diskSeconds, diskPeaks;
    double seriesMiB = 0;
    int files = 0;
    for (int run = 0; run < runs; ++run) {
        for (const auto& name : nodeNames) {
            Scratch s = freshStore();
            const storage::PacsNode node = pacs::pacsNode(s.store->policy(), name);
            const pacs::Credentials credentials = pacs::credentialsFor(node, {});
            auto client = pacs::clientFor(node, credentials);
            resetPeakMemory();
            const auto start = Clock::now();
            // The transfer ends with the last "retrieving" progress; the import follows.
            double transferred = 0;
            const auto seen = stageClock(name, start);
            const auto result = pacs::retrieveStudy(*s.admin, *client, node.name, studyUid, {},
                                                    options, [&](double, const std::string& stage) {
                                                        if (stage == "retrieving")
                                                            transferred = secondsSince(start);
                                                        seen(stage);
                                                        return true;
                                                    });
            seconds[name].push_back(secondsSince(start));
            transfers[name].push_back(transferred);
            peaks[name].push_back(peakMemoryMiB());
            if (result.status != storage::ImportStatus::Imported)
                throw CommandError("node " + name + ": the study was not imported: " +
                                   result.reason);
            files = result.fileCount;
        }
        Scratch s = freshStore();
        resetPeakMemory();
        const auto start = Clock::now();
        const auto seen = stageClock("disk", start);
        const auto results = storage::importStudies(*s.admin, {source}, options,
                                                    [&](double, const std::string& stage) {
                                                        seen(stage);
                                                        return true;
                                                    });
        diskSeconds.push_back(secondsSince(start));
        diskPeaks.push_back(peakMemoryMiB());
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
    io.out << "import from disk: median " << diskMedian << " s over " << runs << ", peak RSS "
           << *std::max_element(diskPeaks.begin(), diskPeaks.end()) << " MiB\n";
    for (const auto& name : nodeNames) {
        const double m = median(seconds[name]);
        const double peak = *std::max_element(peaks[name].begin(), peaks[name].end());
        io.out << "retrieve + import, node " << name << ": median " << m << " s over " << runs
               << ", ratio " << m / diskMedian << " to disk; peak RSS " << peak << " MiB ("
               << peak / seriesMiB << "x the decoded series; with the memfds "
               << (peak + double(sourceBytes) / (1024.0 * 1024.0)) / seriesMiB << "x)\n"
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
