// radmark-cli bench anchor: what an anchor to the system log adds to an audited transaction
// (goal: at most 1 ms). The same audited access is committed without anchoring and with a
// loopback UDP sink and a unix datagram sink (each drained by a thread of this process, as a
// syslog daemon would), in alternating rounds so that load from other processes falls on all
// alike; plus the anchor alone (message + send) and one signed checkpoint of the whole log.

#include "app/cli/BenchSupport.h"
#include "app/cli/Command.h"
#include "storage/AuditAnchor.h"
#include "storage/Keyring.h"
#include "storage/Store.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iomanip>
#include <thread>

namespace radmark::cli {
namespace {

using Clock = std::chrono::steady_clock;
double secondsSince(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// A datagram socket this process reads and discards, as a syslog daemon would keep up.
class DrainedSocket {
  public:
    DrainedSocket(int fd, std::string sink) : fd_(fd), sink_(std::move(sink)) {
        reader_ = std::thread([this] {
            char buffer[65536];
            while (::recv(fd_, buffer, sizeof buffer, 0) > 0)
                received_.fetch_add(1);
        });
    }
    ~DrainedSocket() {
        ::shutdown(fd_, SHUT_RDWR);
        ::close(fd_);
        reader_.join();
    }
    const std::string& sink() const { return sink_; }
    long received() const { return received_.load(); }

  private:
    int fd_;
    std::string sink_;
    std::atomic<long> received_{0};
    std::thread reader_;
};

std::unique_ptr<DrainedSocket> udpReceiver() {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
        throw CommandError("cannot open a loopback UDP socket for the benchmark");
    return std::make_unique<DrainedSocket>(fd, "udp:127.0.0.1:" +
                                                   std::to_string(ntohs(address.sin_port)));
}

std::unique_ptr<DrainedSocket> unixReceiver(const std::filesystem::path& path) {
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const std::string p = path.string();
    if (fd < 0 || p.size() >= sizeof address.sun_path)
        throw CommandError("cannot open a unix socket for the benchmark");
    p.copy(address.sun_path, p.size());
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
        throw CommandError("cannot bind a unix socket at " + p);
    return std::make_unique<DrainedSocket>(fd, "unix:" + p);
}

int runBenchAnchor(Arguments& args, CommandIo& io) {
    args.allowOnly({"dir", "transactions", "rounds"});
    namespace fs = std::filesystem;
    const fs::path base =
        args.option("dir") ? fs::path(*args.option("dir")) : fs::temp_directory_path();
    const int perRound = std::stoi(args.option("transactions").value_or("200"));
    const int rounds = std::stoi(args.option("rounds").value_or("5"));
    ScratchFolder scratch(base, "anchor");
    const std::string password = "benchmark passphrase";

    storage::Policy plain;
    plain.argon2MemoryBytes = 64 * 1024; // logins are not what is measured here
    plain.argon2Operations = 1;
    plain.checkpointEvery = 1000000; // checkpoints measured on their own below
    const fs::path dir = scratch.path() / "store";
    storage::Store::initialise(dir, "bench-admin", password, plain);

    auto udp = udpReceiver();
    auto unixSocket = unixReceiver(scratch.path() / "log.sock");
    struct Variant {
        std::string name;
        storage::Policy policy;
        double seconds = 0;
        double cpu = 0;
        long count = 0;
    };
    std::vector<Variant> variants{
        {"no anchor", plain}, {"udp loopback", plain}, {"unix datagram", plain}};
    variants[1].policy.logSink = udp->sink();
    variants[2].policy.logSink = unixSocket->sink();
    variants[2].policy.anchorFile = scratch.path() / "anchors";

    for (int round = 0; round < rounds; ++round)
        for (auto& v : variants) {
            const storage::Store store(dir, v.policy);
            auto session = store.login("bench-admin", password);
            const auto start = Clock::now();
            const double cpuStart = cpuSeconds();
            for (int i = 0; i < perRound; ++i)
                session.recordAccess("open study", "bench " + std::to_string(i));
            v.seconds += secondsSince(start);
            v.cpu += cpuSeconds() - cpuStart;
            v.count += perRound;
        }

    io.out << std::fixed << std::setprecision(3);
    const double baseMs = variants[0].seconds / double(variants[0].count) * 1e3;
    const double baseCpuMs = variants[0].cpu / double(variants[0].count) * 1e3;
    io.out << "audited transaction (one access entry, committed with synchronous=FULL), mean of "
           << variants[0].count << " per variant in " << rounds << " alternating rounds:\n";
    for (const auto& v : variants) {
        const double ms = v.seconds / double(v.count) * 1e3;
        const double cpuMs = v.cpu / double(v.count) * 1e3;
        io.out << "  " << std::left << std::setw(14) << v.name << std::right << " " << ms
               << " ms wall, " << cpuMs << " ms CPU";
        if (&v != &variants[0])
            io.out << "  (anchor adds " << ms - baseMs << " ms wall, " << cpuMs - baseCpuMs
                   << " ms CPU)";
        io.out << "\n";
    }

    // The anchor alone: the RFC 5424 message made and sent, without the commit around it.
    const auto publisher =
        storage::AnchorPublisher::forSettings(storage::AnchorSettings::of(variants[2].policy));
    storage::EntryAnchor anchor{storage::Bytes(16, 1), 1, storage::Bytes(32, 2), "open study",
                                "bench-admin",         0};
    const int sends = 20000;
    auto start = Clock::now();
    for (int i = 0; i < sends; ++i) {
        anchor.seq = i + 1;
        publisher->publishEntry(anchor);
    }
    const double sendUs = secondsSince(start) / sends * 1e6;

    // A logout: its entry and a signed checkpoint of the whole log, grown by the 100 entries
    // since the last one (as every checkpoint_every = 100 entries).
    const storage::Store store(dir, variants[2].policy);
    auto session = store.login("bench-admin", password);
    for (int i = 0; i < 100; ++i)
        session.recordAccess("bench", "checkpoint");
    start = Clock::now();
    session.logout();
    const double logoutMs = secondsSince(start) * 1e3;
    // Its parts: the logout entry's commit alone, the checkpoint (100 new entries read, hashed,
    // signed), and the checkpoint's publication (send + append to the anchor file + fdatasync).
    double commitMs = 0, checkpointMs = 0, publishMs = 0;
    {
        auto again = store.login("bench-admin", password);
        for (int i = 0; i < 100; ++i)
            again.recordAccess("bench", "checkpoint");
        start = Clock::now();
        again.recordAccess("bench", "one commit");
        commitMs = secondsSince(start) * 1e3;
        const auto keyring = storage::Keyring::load(store.keyringPath());
        const auto key = keyring.unwrapWithPassword(keyring.userIdFor("bench-admin"), password);
        storage::Database db = storage::Database::open(store.databasePath(), &key, false);
        auto secretRow = db.prepare("SELECT value FROM meta WHERE key = 'signing_secret'");
        secretRow.step();
        const storage::Bytes secretBytes = secretRow.blob(0);
        secretRow.reset();
        const storage::SecureBytes secret(secretBytes.data(), secretBytes.size());
        auto publicRow = db.prepare("SELECT value FROM meta WHERE key = 'signing_public'");
        publicRow.step();
        const storage::Bytes publicKey = publicRow.blob(0);
        publicRow.reset();
        storage::AuditLog log(db, keyring.storeId());
        start = Clock::now();
        const storage::Checkpoint cp = log.checkpoint(secret, publicKey);
        checkpointMs = secondsSince(start) * 1e3;
        start = Clock::now();
        publisher->publishCheckpoint(cp);
        publishMs = secondsSince(start) * 1e3;
    }
    io.out << "anchor alone (message + send, unix datagram): " << std::setprecision(1) << sendUs
           << " us\n"
           << std::setprecision(3) << "logout with its signed checkpoint of the whole log (about "
           << rounds * perRound * 3 + 100 << " entries, 100 new since the last): " << logoutMs
           << " ms (every checkpoint_every entries: " << logoutMs / 100
           << " ms per entry); of which: a commit " << commitMs << " ms, the checkpoint "
           << checkpointMs << " ms, its publication (send, anchor file append + fdatasync) "
           << publishMs << " ms\n"
           << "received by the drained sockets: " << udp->received() << " udp, "
           << unixSocket->received() << " unix; send failures: " << publisher->failures() << "\n";
    return 0;
}

} // namespace
RADMARK_COMMAND(
    "bench anchor",
    "[--dir DIR] [--transactions 200] [--rounds 5]  what a system-log anchor adds to an "
    "audited transaction",
    runBenchAnchor);
} // namespace radmark::cli
