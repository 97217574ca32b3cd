// radmark-cli bench store: the store's speed figures. Login at the default Argon2id cost, audit
// appends/s, verification entries/s, and MB/s writing 250 MB of volume chunks into the
// encrypted store against the same writes into a plain SQLite file. Synthetic data only.

#include "app/cli/Command.h"
#include "storage/AuditTrail.h"
#include "storage/ChunkStore.h"
#include "storage/Store.h"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <iomanip>
#include <iostream>
#include <random>
#include <span>
#include <unistd.h>

namespace radmark::cli {
namespace {

using Clock = std::chrono::steady_clock;
double secondsSince(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// CPU time of this process: what a login costs when the machine is not shared.
double cpuSeconds() {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
}

// A CT-like 512x512 int16 slice: body ellipse with organs and noise, air outside.
std::vector<std::uint8_t> syntheticSlice(int z, std::mt19937& random) {
    const int n = 512;
    std::vector<std::uint8_t> bytes(std::size_t(n) * n * 2);
    auto* hu = reinterpret_cast<std::int16_t*>(bytes.data());
    std::normal_distribution<float> noise(0.0f, 12.0f);
    for (int y = 0; y < n; ++y)
        for (int x = 0; x < n; ++x) {
            const float dx = (x - 256) / 200.0f, dy = (y - 256) / 150.0f;
            float v = -1000;
            if (dx * dx + dy * dy < 1) {
                v = 40 + noise(random);
                const float ox = (x - 200 - z % 20) / 50.0f, oy = (y - 240) / 40.0f;
                if (ox * ox + oy * oy < 1)
                    v = 60 + noise(random);
                if (std::abs(x - 256) < 12 && std::abs(y - 330) < 14)
                    v = 700 + noise(random) * 4; // spine
            }
            hu[y * n + x] = std::int16_t(v);
        }
    return bytes;
}

double writeChunks(storage::Database& db, const std::vector<std::vector<std::uint8_t>>& slices,
                   std::size_t totalBytes, int perTransaction, int firstIndex) {
    storage::ChunkStore chunks(db);
    std::size_t written = 0;
    int index = firstIndex;
    std::vector<std::vector<std::uint8_t>> batch;
    std::vector<std::span<const std::uint8_t>> views;
    const auto start = Clock::now();
    while (written < totalBytes) {
        batch.clear();
        views.clear();
        for (int i = 0; i < perTransaction && written < totalBytes; ++i, ++index) {
            // Distinct chunks (no de-duplication): the slice with its index stamped in.
            batch.push_back(slices[std::size_t(index) % slices.size()]);
            std::memcpy(batch.back().data(), &index, sizeof index);
            written += batch.back().size();
        }
        for (const auto& slice : batch)
            views.emplace_back(slice);
        storage::Transaction t(db);
        chunks.putMany(views);
        t.commit();
    }
    return secondsSince(start);
}

// The disk's floor for durable commits: a WAL-sized append of three 4 KiB pages rewritten in
// place and flushed with fdatasync, as SQLite does for each commit with synchronous=FULL.
double durableWritesPerSecond(const std::filesystem::path& folder, int count) {
    const std::string path = (folder / "fsync-probe").string();
    const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
    if (fd < 0)
        throw CommandError("cannot create a scratch file in " + folder.string());
    std::vector<char> frames(3 * (4096 + 24), 'x');
    const auto start = Clock::now();
    bool ok = true;
    for (int i = 0; i < count && ok; ++i)
        ok = ::pwrite(fd, frames.data(), frames.size(), 0) == ssize_t(frames.size()) &&
             ::fdatasync(fd) == 0;
    const double seconds = secondsSince(start);
    ::close(fd);
    std::filesystem::remove(path);
    if (!ok)
        throw CommandError("cannot write the scratch file in " + folder.string());
    return count / seconds;
}

int runBenchStore(Arguments& args, CommandIo& io) {
    args.allowOnly({"dir", "megabytes", "entries", "logins"});
    namespace fs = std::filesystem;
    const fs::path base =
        args.option("dir") ? fs::path(*args.option("dir")) : fs::temp_directory_path();
    const std::size_t megabytes = std::stoul(args.option("megabytes").value_or("250"));
    const int entries = std::stoi(args.option("entries").value_or("20000"));
    const int logins = std::stoi(args.option("logins").value_or("3"));
    std::string pattern = (base / "radmark-bench-store-XXXXXX").string();
    if (!::mkdtemp(pattern.data()))
        throw CommandError("cannot create a scratch folder in " + base.string());
    const fs::path scratch = pattern;
    struct Cleanup {
        fs::path dir;
        ~Cleanup() {
            std::error_code ec;
            fs::remove_all(dir, ec);
        }
    } cleanup{scratch};
    const std::string password = "benchmark passphrase";
    io.out << std::fixed << std::setprecision(2);

    // 1. Login at the default Argon2id cost.
    const storage::Policy defaults;
    const auto secrets =
        storage::Store::initialise(scratch / "store", "bench-admin", password, defaults);
    const storage::Store store(scratch / "store", defaults);
    double best = 1e9, total = 0, cpu = 0;
    for (int i = 0; i < logins; ++i) {
        const auto start = Clock::now();
        const double cpuStart = cpuSeconds();
        auto s = store.login("bench-admin", password);
        cpu += cpuSeconds() - cpuStart;
        const double t = secondsSince(start);
        best = std::min(best, t);
        total += t;
    }
    io.out << "login (Argon2id " << (defaults.argon2MemoryBytes >> 20) << " MiB, ops "
           << defaults.argon2Operations << "): " << total / logins << " s mean, " << best
           << " s best of " << logins << " (wall clock); " << cpu / logins << " s CPU per login\n";

    auto session = store.login("bench-admin", password);
    // The raw tables, opened as their owner can (password -> keyring -> database key): these
    // figures are of the log and the chunk table themselves, beneath any session.
    const storage::Keyring keyring = storage::Keyring::load(store.keyringPath());
    const storage::SecureBytes key =
        keyring.unwrapWithPassword(keyring.userIdFor("bench-admin"), password);
    storage::Database db = storage::Database::open(store.databasePath(), &key, false);
    storage::AuditLog log(db, keyring.storeId());

    // 2. Audit appends: each in its own committed transaction (synchronous=FULL), and batched.
    {
        const int single = std::min(entries, 2000);
        auto start = Clock::now();
        for (int i = 0; i < single; ++i) {
            storage::Transaction t(db);
            log.append("bench-admin", "open study", "bench-" + std::to_string(i));
            t.commit();
        }
        const double oneEach = single / secondsSince(start);
        start = Clock::now();
        for (int done = 0; done < entries;) {
            storage::Transaction t(db);
            for (int i = 0; i < 1000 && done < entries; ++i, ++done)
                log.append("bench-admin", "open study", "bench-" + std::to_string(done));
            t.commit();
        }
        const double batched = entries / secondsSince(start);
        const double floor = durableWritesPerSecond(scratch, single);
        // The same row writes (one log row with its user index, two meta rows) committed one by
        // one into a plain SQLite file with the same settings: what SQLite itself allows here.
        double plainCommits = 0;
        {
            storage::Database plainLog =
                storage::Database::open(scratch / "plain-log.db", nullptr, true);
            plainLog.exec("CREATE TABLE log(seq INTEGER PRIMARY KEY, time TEXT, user TEXT, "
                          "action TEXT, object TEXT, mac BLOB); CREATE INDEX log_user ON "
                          "log(user); CREATE TABLE meta(key TEXT PRIMARY KEY, value BLOB); "
                          "INSERT INTO meta VALUES ('key', zeroblob(32)), ('head', "
                          "zeroblob(32))");
            auto row = plainLog.prepare("INSERT INTO log(time, user, action, object, mac) "
                                        "VALUES ('2026-01-01T00:00:00.000Z', 'bench-admin', "
                                        "'open study', ?, randomblob(32))");
            auto meta = plainLog.prepare("UPDATE meta SET value = randomblob(32)");
            const auto plainStart = Clock::now();
            for (int i = 0; i < single; ++i) {
                storage::Transaction t(plainLog);
                row.bind(1, "bench-" + std::to_string(i)).run();
                row.reset();
                meta.run();
                meta.reset();
                t.commit();
            }
            plainCommits = single / secondsSince(plainStart);
        }
        io.out << "audit appends: " << std::setprecision(0) << oneEach
               << " entries/s committed one by one, " << batched
               << " entries/s in transactions of 1000; the same rows in plain SQLite: "
               << plainCommits << " commits/s; this disk's floor: " << floor
               << " durable writes/s (3 pages + fdatasync, the cost of one synchronous=FULL "
                  "commit without SQLite)"
               << std::setprecision(2) << "\n";
    }

    // 3. Verification with the offline key.
    {
        const auto start = Clock::now();
        const auto v = storage::AuditTrail(session).verify(&secrets.auditKey, nullptr);
        const double seconds = secondsSince(start);
        if (!v.ok)
            throw CommandError("verification failed in the benchmark: " + v.reason);
        io.out << "audit verify: " << std::setprecision(0) << v.entriesChecked / seconds
               << " entries/s (" << v.entriesChecked << " entries, MACs + chain)"
               << std::setprecision(2) << "\n";
    }

    // 4. Volume chunks, encrypted store vs plain SQLite, same code path and settings. The two
    //    alternate in quarters so that load from other processes falls on both alike.
    std::mt19937 random(7);
    std::vector<std::vector<std::uint8_t>> slices;
    for (int z = 0; z < 16; ++z)
        slices.push_back(syntheticSlice(z, random));
    const std::size_t totalBytes = megabytes << 20;
    storage::Database plain = storage::Database::open(scratch / "plain.db", nullptr, true);
    storage::ChunkStore::createTable(plain);
    double encrypted = 0, baseline = 0, encryptedCpu = 0, baselineCpu = 0;
    for (int quarter = 0; quarter < 4; ++quarter) {
        double cpuStart = cpuSeconds();
        encrypted += writeChunks(db, slices, totalBytes / 4, 16, quarter * 1000000);
        encryptedCpu += cpuSeconds() - cpuStart;
        cpuStart = cpuSeconds();
        baseline += writeChunks(plain, slices, totalBytes / 4, 16, quarter * 1000000);
        baselineCpu += cpuSeconds() - cpuStart;
    }
    session.logout();
    db.close();
    plain.close();
    const std::size_t encryptedSize = fs::file_size(store.databasePath());
    const double mb = double(totalBytes) / (1 << 20);
    io.out << "volume chunks (" << megabytes
           << " MB of 512x512 int16 slices, zstd 1, hashing and compression pipelined on a second "
              "thread): "
           << mb / encrypted << " MB/s encrypted store, " << mb / baseline
           << " MB/s plain SQLite, ratio " << encrypted / baseline << "x (on disk "
           << encryptedSize / (1 << 20) << " MB vs "
           << fs::file_size(scratch / "plain.db") / (1 << 20) << " MB); CPU (both threads) "
           << encryptedCpu << " s encrypted, " << baselineCpu << " s plain, wall " << encrypted
           << " s encrypted, " << baseline << " s plain\n";
    return 0;
}

} // namespace
RADMARK_COMMAND("bench store",
                "[--dir DIR] [--megabytes 250] [--entries 20000] [--logins 3]  store speed figures",
                runBenchStore);
} // namespace radmark::cli
