// Crash safety: a child process commits numbered changes and reports each one only after its
// commit; the parent SIGKILLs it at random moments, hundreds of times. After every kill the store
// opens with its key (a full login every fifth time),
// passes integrity_check, holds every acknowledged change, nothing half-applied, and the
// access log verifies with the offline key.

#include "StoreTestSupport.h"
#include "storage/AuditTrail.h"
#include "storage/Studies.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <set>

using namespace radmark::storage;
using namespace radmark::storage::testing;

namespace {

// Child: log in and import studies "crash-<round>-<n>" until killed; report n after each commit.
[[noreturn]] void commitUntilKilled(const Store& store, int round, int writeFd) {
    try {
        auto admin = store.login(adminName, adminPassword);
        if (::write(writeFd, "0\n", 2) != 2) // logged in: not a change, just "ready"
            ::_exit(2);
        for (int n = 1;; ++n) {
            Studies(admin).add("crash-" + std::to_string(round) + "-" + std::to_string(n),
                               "numbered change");
            const std::string line = std::to_string(n) + "\n";
            if (::write(writeFd, line.data(), line.size()) != ssize_t(line.size()))
                ::_exit(2);
        }
    } catch (...) {
        ::_exit(3);
    }
}

std::vector<int> readAcknowledged(int readFd) {
    std::string text;
    char buffer[4096];
    ssize_t n;
    while ((n = ::read(readFd, buffer, sizeof buffer)) > 0)
        text.append(buffer, std::size_t(n));
    std::vector<int> out;
    std::size_t start = 0;
    for (std::size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1)
        if (const int n = std::stoi(text.substr(start, end - start)); n > 0)
            out.push_back(n);
    return out; // a partial last line (no newline) was never acknowledged
}

} // namespace

TEST(StorageCrashSafety, SigkillAtRandomMomentsLosesNothingAcknowledged) {
    // SIGKILL kills the process, not the kernel: page cache survives, so what is tested is SQLite's
    // atomic commit under process death. A RAM-backed folder keeps 200 rounds of fsyncs short.
    if (::access("/dev/shm", W_OK) == 0)
        ::setenv("TMPDIR", "/dev/shm", 1);
    TestStore t;
    ::unsetenv("TMPDIR");
    const int rounds = 200;
    std::mt19937 random(20261125);
    std::uniform_int_distribution<int> delayMicros(0, 40000);
    int killedWhileWriting = 0;
    const auto started = std::chrono::steady_clock::now();
    for (int round = 0; round < rounds; ++round) {
        int fds[2];
        ASSERT_EQ(::pipe(fds), 0);
        const pid_t child = ::fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            ::close(fds[0]);
            commitUntilKilled(t.store, round, fds[1]);
        }
        ::close(fds[1]);
        // Most rounds kill while changes are being committed; every fourth one may also land
        // during start-up and login (which write the log too).
        if (round % 4 != 0) {
            pollfd ready{fds[0], POLLIN, 0};
            ASSERT_EQ(::poll(&ready, 1, 10000), 1) << "the child did not log in";
        }
        ::usleep(useconds_t(delayMicros(random)));
        ::kill(child, SIGKILL);
        int status = 0;
        ::waitpid(child, &status, 0);
        ASSERT_TRUE(WIFSIGNALED(status)) << "the child stopped on its own, status " << status;
        const auto acknowledged = readAcknowledged(fds[0]);
        ::close(fds[0]);
        killedWhileWriting += acknowledged.empty() ? 0 : 1;

        SCOPED_TRACE("round " + std::to_string(round));
        // Every round the store opens with its key (as a login does); every fifth round a full
        // login, whose verification run is itself logged.
        Database db = t.attackerDatabase();
        ASSERT_EQ(db.queryText("PRAGMA integrity_check"), "ok");
        std::set<int> present;
        {
            auto s = db.prepare("SELECT label FROM studies WHERE label LIKE ?");
            s.bind(1, "crash-" + std::to_string(round) + "-%");
            const std::size_t prefix = ("crash-" + std::to_string(round) + "-").size();
            while (s.step())
                present.insert(std::stoi(s.text(0).substr(prefix)));
        }
        for (int n : acknowledged)
            ASSERT_TRUE(present.count(n)) << "acknowledged change " << n << " is missing";
        // At most the one change in flight when the kill came may be there unacknowledged.
        ASSERT_LE(present.size(), acknowledged.size() + 1);
        // Nothing half-applied: every study has exactly its import entry, and the reverse.
        ASSERT_EQ(db.queryText("SELECT count(*) FROM studies"),
                  db.queryText("SELECT count(*) FROM audit_log WHERE action = 'import'"));
        ASSERT_EQ(db.queryText("SELECT count(*) FROM (SELECT label FROM studies EXCEPT SELECT "
                               "object FROM audit_log WHERE action = 'import')"),
                  "0");
        {
            auto meta = db.prepare("SELECT value FROM meta WHERE key = ?");
            meta.bind(1, "store_id");
            ASSERT_TRUE(meta.step());
            const Bytes id = meta.blob(0);
            meta.reset();
            meta.bind(1, "signing_public");
            ASSERT_TRUE(meta.step());
            const auto v = AuditLog(db, id).verify(&t.secrets.auditKey, nullptr, meta.blob(0));
            ASSERT_TRUE(v.ok) << v.reason;
        }
        db.close();
        if (round % 5 == 0) {
            auto admin = t.admin();
            const auto v = AuditTrail(admin).verify(&t.secrets.auditKey, nullptr);
            ASSERT_TRUE(v.ok) << v.reason;
        }
    }
    // The kills must land while changes were being written, not only before the first.
    EXPECT_GT(killedWhileWriting, rounds / 2);
    const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started);
    std::printf("%d kills in %.1f s, %d after at least one acknowledged change\n", rounds,
                seconds.count(), killedWhileWriting);
}
