// radmark-cli bench service --ct DIR [--repeat N] [--edited N] [--dir DIR]: what the store
// service costs a front end (issue 13's figure): opening a stored CT (its voxels in hand and
// touched once, as the viewer's scalar range touches them) and saving a version with N edited
// slices, in-process on a personal store vs through a radmarkd this command starts on the same
// store under the current uid (StoreAccess, both implementations; medians of --repeat runs).

#include "app/cli/BenchSupport.h"
#include "app/cli/Command.h"
#include "app/cli/StoreAccess.h"
#include "imaging/decoder/IsolatedDecoder.h"
#include "storage/StudyImport.h"
#include "storage/Studies.h"
#include "storage/Users.h"
#include "workflow/StoredAnnotations.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <ostream>
#include <thread>

namespace radmark::cli {
namespace {

// The kernel's choice in brackets ("always within_size advise [never] deny force"): a volume
// crosses the socket in 2 MiB pages with "advise" or "always", else in 4 KiB ones.
std::string shmemHugePages() {
    std::ifstream in("/sys/kernel/mm/transparent_hugepage/shmem_enabled");
    std::string line;
    std::getline(in, line);
    const auto open = line.find('['), close = line.find(']');
    return open != std::string::npos && close > open ? line.substr(open + 1, close - open - 1)
                                                     : "unknown";
}

std::string loadAverage() {
    std::ifstream in("/proc/loadavg");
    std::string a, b, c;
    in >> a >> b >> c;
    return a + " " + b + " " + c;
}

// radmarkd on the store: this program in its service mode, stopped (SIGTERM) at the end.
class BenchDaemon {
  public:
    BenchDaemon(const std::filesystem::path& store, const std::filesystem::path& socket,
                const std::filesystem::path& log) {
        pid_ = ::fork();
        if (pid_ < 0)
            throw CommandError("cannot start radmarkd");
        if (pid_ == 0) {
            const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
            if (out >= 0)
                ::dup2(out, 2);
            ::execl("/proc/self/exe", "radmarkd", "--service-daemon", "--store", store.c_str(),
                    "--socket", socket.c_str(), static_cast<char*>(nullptr));
            ::_exit(127);
        }
        for (int i = 0; i < 600; ++i) {
            struct stat st {};
            if (::stat(socket.c_str(), &st) == 0 && S_ISSOCK(st.st_mode))
                return;
            if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
                pid_ = -1;
                throw CommandError("radmarkd did not start (see " + log.string() + ")");
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        throw CommandError("radmarkd did not open its socket in 30 s");
    }
    ~BenchDaemon() {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    BenchDaemon(const BenchDaemon&) = delete;
    BenchDaemon& operator=(const BenchDaemon&) = delete;

  private:
    pid_t pid_ = -1;
};

struct Figures {
    std::vector<double> open, save, draft, compare;
    std::size_t chunksWritten = 0;
    annotation::LabelMap labels; // as last saved
    std::string versionId;
};

// A base version (a liver-sized blob over 100 slices), saved outside the timing; then each run
// edits `edited` slices (a brush stroke's square each) and saves; then runs of autosaved drafts.
// shift moves the edits, so that the service's saves write chunks the in-process ones did not.
Figures measure(StoreAccess& access, const std::string& study, int repeat, int edited, int shift,
                imaging::Volume* firstVolume) {
    Figures f;
    imaging::Volume volume;
    for (int r = 0; r < repeat; ++r) {
        const auto start = BenchClock::now();
        volume = access.openVolume(study);
        (void)volume.scalarRange();
        f.open.push_back(secondsSince(start));
        if (r == 0 && firstVolume)
            *firstVolume = volume;
    }
    const imaging::Geometry grid = volume.geometry();
    volume = imaging::Volume();
    annotation::LabelMap labels(grid);
    annotation::SegmentList segments;
    segments.add("Liver", annotation::Rgb{200, 120, 60});
    const int slices = grid.dims[2];
    const int first = std::max(0, slices / 2 - 50);
    const int cx = grid.dims[0] / 2, cy = grid.dims[1] / 2, rx = grid.dims[0] / 7,
              ry = grid.dims[1] / 6;
    for (int z = first; z < std::min(slices, first + 100); ++z)
        for (int y = cy - ry; y <= cy + ry; ++y)
            for (int x = cx - rx; x <= cx + rx; ++x)
                if (double((x - cx) * (x - cx)) / (rx * rx) +
                        double((y - cy) * (y - cy)) / (ry * ry) <=
                    1)
                    labels.set(annotation::Index3{x, y, z}, 1);
    const std::string base =
        access.saveVersion(study, labels, segments, {}, "bench base").versionId;
    for (int r = 0; r < repeat; ++r) {
        for (int k = 0; k < edited; ++k) {
            const int z = first + (r * edited + k) % std::max(1, std::min(slices, 100));
            for (int y = 0; y < 10; ++y)
                for (int x = 0; x < 10; ++x)
                    labels.set(annotation::Index3{std::min(grid.dims[0] - 1, cx + rx + 2 + x + r),
                                                  std::min(grid.dims[1] - 1, cy - ry + shift + 12 * k + y),
                                                  std::min(slices - 1, z)},
                               1);
        }
        const auto start = BenchClock::now();
        const SavedVersion saved = access.saveVersion(study, labels, segments, {}, "bench edit");
        f.save.push_back(secondsSince(start));
        f.chunksWritten = saved.chunksWritten;
        f.versionId = saved.versionId;
    }
    f.labels = labels;
    // Then autosaves, as the workstation writes them while she paints: each after `edited` more
    // edited slices (other voxels than the saves').
    for (int r = 0; r < repeat; ++r) {
        for (int k = 0; k < edited; ++k) {
            const int z = first + (r * edited + k) % std::max(1, std::min(slices, 100));
            for (int x = 0; x < 10; ++x)
                labels.set(annotation::Index3{std::min(grid.dims[0] - 1, cx - rx - 12 - x - r),
                                              std::min(grid.dims[1] - 1, cy + shift + k),
                                              std::min(slices - 1, z)},
                           1);
        }
        const auto start = BenchClock::now();
        access.saveDraft(study, labels, segments, {});
        f.draft.push_back(secondsSince(start));
    }
    // The reviewer's compare view: the last version beside the base, both label maps read
    // (readVersion) and their agreement measured, as ServiceWorkspace's compare view does.
    for (int r = 0; r < repeat; ++r) {
        const auto start = BenchClock::now();
        annotation::OpenedAnnotation reviewed = access.readVersion(study, f.versionId);
        annotation::OpenedAnnotation previous = access.readVersion(study, base);
        const workflow::Comparison c =
            workflow::compareOpened({}, std::move(reviewed), {}, std::move(previous));
        f.compare.push_back(secondsSince(start));
        if (c.metrics.segments.empty())
            throw CommandError("bench service: the comparison measured no segment");
    }
    return f;
}

int runBenchService(Arguments& args, CommandIo& io) {
    args.allowOnly({"ct", "repeat", "edited", "dir"});
    const std::string ct = args.required("ct");
    const int repeat = std::stoi(args.option("repeat").value_or("5"));
    const int edited = std::stoi(args.option("edited").value_or("5"));
    if (repeat < 1 || edited < 1)
        throw CommandError("bench service: --repeat >= 1, --edited >= 1", 2);
    if (::geteuid() == 0)
        throw CommandError("bench service: radmarkd refuses to run as root; run the bench as an "
                           "ordinary account, e.g. setpriv --reuid=61340 --regid=61340 "
                           "--clear-groups radmark-cli bench service ...");
    const ScratchFolder scratch(
        args.option("dir").value_or(std::filesystem::temp_directory_path().string()), "service");
    // Logins are not what is measured: a cheap Argon2id, for both sides alike, through the
    // test build's system policy (which radmarkd, a child, reads too).
    const auto policyFile = scratch.path() / "policy.json";
    std::ofstream(policyFile) << R"({"argon2_memory_bytes": 8388608, "argon2_operations": 1})";
    ::setenv("RADMARK_TEST_SYSTEM_POLICY", policyFile.c_str(), 1);
    const auto storeDir = scratch.path() / "store";
    const std::string password = "bench password not secret";
    storage::Store::initialise(storeDir, "bench-admin", password, storage::Policy::system());
    const storage::Store store(storeDir, storage::Policy::system());
    std::string study;
    {
        auto admin = store.login("bench-admin", password);
        storage::Users(admin).add("bench-annotator", storage::Role::Annotator, password);
        const auto results = storage::importStudies(admin, {std::filesystem::path(ct)});
        if (results.empty() || results.front().studyId == 0)
            throw CommandError("bench service: " + ct + " was not imported" +
                               (results.empty() ? "" : ": " + results.front().reason));
        study = results.front().label;
        storage::Studies(admin).assign("bench-annotator", results.front().studyId);
    }
    const auto socket = scratch.path() / "radmarkd.sock";
    const BenchDaemon daemon(storeDir, socket, scratch.path() / "radmarkd.log");

    io.out << "load before: " << loadAverage() << "\n"
           << "huge pages for shared memory (transparent_hugepage/shmem_enabled): "
           << shmemHugePages() << "\n";
    imaging::Volume here, there;
    Figures local, served;
    {
        auto access = inProcessStoreAccess(store.login("bench-annotator", password));
        local = measure(*access, study, repeat, edited, 0, &here);
    }
    {
        auto access = serviceStoreAccess(socket, "bench-annotator", password);
        served = measure(*access, study, repeat, edited, 20, &there);
    }
    // The admin's key rotation (Disable and Rotate key in the admin panel), alternately
    // in-process and through the service, whose progress crosses as Progress messages. Each
    // rotation ends every other session, so each side logs in afresh first (not timed).
    std::vector<double> rotateHere, rotateThere;
    std::size_t progressNotes = 0;
    std::uint64_t databaseBytes = 0;
    for (int r = 0; r < repeat; ++r) {
        {
            auto admin = inProcessStoreAccess(store.login("bench-admin", password));
            const auto start = BenchClock::now();
            databaseBytes = admin->administration().rotateKey("bench service", {}).databaseBytes;
            rotateHere.push_back(secondsSince(start));
        }
        auto admin = serviceStoreAccess(socket, "bench-admin", password);
        admin->role(); // logged in
        const auto start = BenchClock::now();
        admin->administration().rotateKey("bench service",
                                          [&](const std::string&, double) { ++progressNotes; });
        rotateThere.push_back(secondsSince(start));
    }
    // The service's last version, read back in-process: voxel for voxel the client's map, its
    // voxel counts those of its labels (the worker took the unsent slices from the parent).
    bool savedSame = false;
    {
        auto annotator = store.login("bench-annotator", password);
        const std::int64_t studyId = storage::Studies(annotator).idFor(study);
        workflow::StoredAnnotationHistory stored(annotator, studyId);
        const auto id = imaging::ChunkHash::fromHex(served.versionId);
        const annotation::OpenedAnnotation opened = stored.openVersion(id, true);
        savedSame = opened.labels == served.labels &&
                    stored.history().get(id).voxelCounts == served.labels.voxelCounts();
    }
    const bool same = here.geometry().dims == there.geometry().dims &&
                      here.pixelType() == there.pixelType() &&
                      std::memcmp(here.data(), there.data(), here.byteCount()) == 0;
    const auto& d = here.geometry().dims;
    io.out << std::fixed << std::setprecision(1) << "CT " << d[0] << "x" << d[1] << "x" << d[2]
           << " (" << imaging::pixelTypeName(here.pixelType()) << "), " << repeat
           << " runs each; service volume voxel for voxel "
           << (same ? "identical" : "DIFFERENT") << " to the in-process read\n";
    auto row = [&](const char* what, const std::vector<double>& a, const std::vector<double>& b) {
        const double ma = median(a) * 1000, mb = median(b) * 1000;
        io.out << std::setw(44) << std::left << what << std::right << " in-process "
               << std::setw(7) << ma << " ms   service " << std::setw(7) << mb << " ms   "
               << std::setprecision(2) << mb / ma << "x\n"
               << std::setprecision(1);
    };
    row("open the study (voxels in hand, touched once)", local.open, served.open);
    const std::string saveLabel = "save a version, " + std::to_string(edited) + " edited slices";
    row(saveLabel.c_str(), local.save, served.save);
    const std::string draftLabel = "autosave a draft, " + std::to_string(edited) + " edited slices";
    row(draftLabel.c_str(), local.draft, served.draft);
    row("compare two versions (both read, measured)", local.compare, served.compare);
    row("rotate the store key (admin)", rotateHere, rotateThere);
    io.out << "key rotation: store " << double(databaseBytes) / 1e6 << " MB, "
           << median(rotateHere) / (double(databaseBytes) / 1e9) << " s/GB in-process; "
           << progressNotes / std::size_t(repeat) << " progress messages per rotation through "
           << "the service\n";
    io.out << "chunks written by the last save: in-process " << local.chunksWritten
           << ", service " << served.chunksWritten << "; the service's last version read back "
           << (savedSame ? "identical" : "DIFFERENT") << " to the client's label map\n"
           << "load after: " << loadAverage() << "\n";
    return same && savedSame ? 0 : 1;
}

} // namespace
RADMARK_COMMAND(
    "bench service",
    "--ct DIR [--repeat N] [--edited N] [--dir DIR]  open a stored CT, save a version with N "
    "edited slices, autosave a draft, compare two versions and rotate the store key, in-process "
    "vs through radmarkd (started here)",
    runBenchService);
} // namespace radmark::cli
