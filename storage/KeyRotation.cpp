#include "storage/KeyRotation.h"

#include "storage/FailedLogins.h"
#include "storage/Keyring.h"
#include "storage/Permissions.h"
#include "storage/SessionAccess.h"

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>

namespace radmark::storage {

namespace {

constexpr std::uint64_t pageSize = 4096;
constexpr std::uint64_t walFrameSize = pageSize + 24;
constexpr std::uint64_t walHeaderSize = 32;

// Test builds only (BUILD_TESTING): $RADMARK_TEST_ROTATION_KILL names a point at which this
// process SIGKILLs itself, so that tests can stop a rotation exactly there: "sealed" (keyring
// with the pending key saved), "pages:N" (N pages of the rekey written to the WAL), "rekeyed"
// (rekey committed), "checkpointed" (WAL copied into store.db), "completed" (keyring final).
// An installed build has no such hook.
bool killRequested(const std::string& point) {
#ifdef RADMARK_TEST_ROTATION_HOOK
    const char* wanted = std::getenv("RADMARK_TEST_ROTATION_KILL");
    return wanted && point == wanted;
#else
    (void)point;
    return false;
#endif
}

void killPoint(const std::string& point) {
    if (killRequested(point))
        ::raise(SIGKILL);
}

std::uint64_t killAfterPages() {
#ifdef RADMARK_TEST_ROTATION_HOOK
    const char* wanted = std::getenv("RADMARK_TEST_ROTATION_KILL");
    if (wanted && std::string(wanted).rfind("pages:", 0) == 0)
        return std::strtoull(wanted + 6, nullptr, 10);
#endif
    return 0;
}

std::uint64_t walFrames(const std::filesystem::path& wal) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(wal, ec);
    return ec || size < walHeaderSize ? 0 : (size - walHeaderSize) / walFrameSize;
}

// Watches the WAL grow while the rekey (one SQLite call, without a progress callback of its own)
// writes every page into it: its frames over the page count is the share done.
class RekeyMonitor {
  public:
    RekeyMonitor(std::filesystem::path wal, std::uint64_t pages, const KeyRotationProgress& progress)
        : wal_(std::move(wal)), pages_(std::max<std::uint64_t>(pages, 1)), progress_(progress),
          killAt_(killAfterPages()), baseline_(walFrames(wal_)),
          thread_([this] { watch(); }) {}
    ~RekeyMonitor() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stop_ = true;
        }
        wake_.notify_all();
        thread_.join();
        // The share written when the rekey returned (a small store's rekey beats the first poll).
        const std::uint64_t frames = walFrames(wal_);
        const double share =
            std::min(1.0, double(frames > baseline_ ? frames - baseline_ : 0) / double(pages_));
        if (progress_)
            progress_("rekeying", 0.05 + 0.85 * share);
    }

  private:
    void watch() {
        std::unique_lock<std::mutex> lock(mutex_);
        int reported = -1;
        while (!stop_) {
            const std::uint64_t frames = walFrames(wal_);
            const std::uint64_t written = frames > baseline_ ? frames - baseline_ : 0;
            if (killAt_ != 0 && written >= killAt_)
                ::raise(SIGKILL); // test builds only: see killRequested
            const double share = std::min(1.0, double(written) / double(pages_));
            const int percent = int(share * 100);
            if (progress_ && percent != reported) {
                reported = percent;
                progress_("rekeying", 0.05 + 0.85 * share);
            }
            if (killAt_ != 0) { // test builds only: watch every frame as it is written
                lock.unlock();
                std::this_thread::yield();
                lock.lock();
            } else {
                wake_.wait_for(lock, std::chrono::milliseconds(100));
            }
        }
    }

    std::filesystem::path wal_;
    std::uint64_t pages_;
    const KeyRotationProgress& progress_;
    std::uint64_t killAt_;
    std::uint64_t baseline_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stop_ = false;
    std::thread thread_;
};

std::string nameOf(Database& db, const Bytes& lookup) {
    auto s = db.prepare("SELECT name FROM users WHERE lookup = ?");
    s.bindBlob(1, lookup);
    return s.step() ? s.text(0) : std::string("(an account not in the store)");
}

} // namespace

KeyRotationResult rotateDatabaseKey(Session& session, const std::string& reason,
                                    const KeyRotationProgress& progress) {
    require(session, Action::RotateDatabaseKey, "store");
    session.touch();
    const auto started = std::chrono::steady_clock::now();
    auto report = [&](const char* stage, double share) {
        if (progress)
            progress(stage, share);
    };
    const Store& store = session.store();
    Database& db = SessionAccess::database(session);
    if (db.inTransaction())
        throw InvalidRequestError("the key cannot be rotated inside another change");

    // Held to the end: no login finishes or undoes "our" pending key, no other rotation starts.
    internal::StoreFolderLock folderLock(store.dir());
    Keyring keyring = Keyring::load(store.keyringPath());
    if (keyring.pendingKeyVersion() != 0)
        throw StoreError("an interrupted key rotation is still pending: log in again (that "
                         "finishes it), then rotate");
    const int from = keyring.keyVersion();
    const int to = from + 1;

    KeyRotationResult result;
    result.keyVersion = to;
    result.sealedForUsers = int(keyring.sealableUsers().size());
    for (const Bytes& id : keyring.unsealableUsers())
        result.usersLeftOut.push_back(nameOf(db, id));
    std::string leftOut;
    for (const auto& name : result.usersLeftOut)
        leftOut += (leftOut.empty() ? "" : ", ") + name;
    const bool newRecovery = keyring.recoveryNeedsKeyPair();
    SessionAccess::recorded(
        session, "key rotation requested", "store",
        (reason.empty() ? std::string("no reason given") : reason) + "; key version " +
            std::to_string(from) + " -> " + std::to_string(to) + "; sealed to " +
            std::to_string(result.sealedForUsers) + " user key pairs" +
            (leftOut.empty() ? "" : "; left out (format-1 keyring entries): " + leftOut) +
            (newRecovery ? "; a new recovery key is issued" : ""),
        [](Database&) {});

    report("sealing", 0.0);
    SecureBytes newKey = SecureBytes::random(Keyring::keySize);
    if (newRecovery)
        result.newRecoveryKey = SecureBytes::random(Keyring::keySize);
    keyring.beginRotation(newKey, newRecovery ? &result.newRecoveryKey : nullptr);
    keyring.save(store.keyringPath());
    killPoint("sealed");
    report("sealing", 0.05);

    // An empty WAL first, so that its growth is the rekey's progress.
    db.checkpoint();
    const std::uint64_t pages = std::stoull(db.queryText("PRAGMA page_count"));
    result.databaseBytes = pages * pageSize;
    try {
        RekeyMonitor monitor(store.databasePath().string() + "-wal", pages, progress);
        db.rekey(newKey);
    } catch (const StoreError& e) {
        // The rekey's transaction rolled back: the old key still opens every page.
        keyring.abandonRotation();
        keyring.save(store.keyringPath());
        SessionAccess::recorded(session, "key rotation failed", "store",
                                std::string("still key version ") + std::to_string(from) + ": " +
                                    e.what(),
                                [](Database&) {});
        throw StoreError(std::string("the key could not be rotated (") + e.what() +
                         "); the old key still opens the store");
    }
    killPoint("rekeyed");
    report("writing", 0.9);
    db.checkpoint(); // when a reader keeps it from completing, the WAL keeps the new pages
    killPoint("checkpointed");
    keyring.completeRotation();
    keyring.save(store.keyringPath());
    killPoint("completed");
    SessionAccess::replaceDatabaseKey(session, std::move(newKey));

    result.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const std::string version = std::to_string(to);
    char figures[96];
    std::snprintf(figures, sizeof figures, "%llu pages (%.1f MB) rekeyed in %.1f s",
                  static_cast<unsigned long long>(pages), double(result.databaseBytes) / 1e6,
                  result.seconds);
    SessionAccess::recorded(session, "key rotation completed", "store",
                            "key version " + version + "; " + figures, [&](Database& d) {
                                internal::writeMeta(d, "key_version", version.data(),
                                                    version.size());
                            });
    report("done", 1.0);
    return result;
}

} // namespace radmark::storage
