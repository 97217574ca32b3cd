#include "storage/KeyRotation.h"

#include "storage/FailedLogins.h"
#include "storage/Keyring.h"
#include "storage/Permissions.h"
#include "storage/SessionAccess.h"

#include <signal.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
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

// Test builds only: $RADMARK_TEST_ROTATION_SKIP_SPACE_CHECK=1 lets a rotation start on a disk
// too full for it, so that tests reach the check of the rekey itself (proveRekeyed).
bool skipSpaceCheck() {
#ifdef RADMARK_TEST_ROTATION_HOOK
    const char* skip = std::getenv("RADMARK_TEST_ROTATION_SKIP_SPACE_CHECK");
    return skip && std::string(skip) == "1";
#else
    return false;
#endif
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

// The rekey writes every page into the WAL before its commit: as many bytes as store.db holds.
// Refused (and logged) before anything changes when the store's file system has less free.
void requireSpaceForRekey(Session& session, Database& db, const Store& store, int from) {
    db.checkpoint(); // an empty WAL: its space is free again, and the count below is the truth
    const std::uint64_t pages = std::stoull(db.queryText("PRAGMA page_count"));
    const std::uint64_t needed = pages * walFrameSize + (8u << 20); // + the log entries, keyring
    struct statvfs fs{};
    if (::statvfs(store.dir().c_str(), &fs) != 0)
        return; // no figure: the rekey itself is checked (proveRekeyed)
    const std::uint64_t available = std::uint64_t(fs.f_bavail) * fs.f_frsize;
    if (available >= needed || skipSpaceCheck())
        return;
    char sentence[200];
    std::snprintf(sentence, sizeof sentence,
                  "not enough free disk space to rotate the key: the store needs %.1f MB free "
                  "beside it while every page is rewritten, %.1f MB are free",
                  double(needed) / 1e6, double(available) / 1e6);
    try {
        SessionAccess::recorded(session, "key rotation refused", "store",
                                std::string(sentence) + "; still key version " +
                                    std::to_string(from),
                                [](Database&) {});
    } catch (const StoreError&) {
        // Not even the entry fits: the refusal below still stands.
    }
    throw StoreError(std::string(sentence) + "; the old key still opens the store");
}

// SQLCipher 3.4's sqlite3_rekey returns SQLITE_OK even when a page write or the commit failed
// (a full disk): the transaction rolled back, store.db is still under the old key, and the
// connection would write new pages under the new one. So its word is not taken: a second
// connection must read the schema with the new key. When it cannot, the rotation's connection
// is opened again with the old key (nothing was written through it since) and the failure is
// thrown, so that the caller abandons the pending key.
void proveRekeyed(const Store& store, Database& db, const SecureBytes& newKey,
                  const SecureBytes& oldKey) {
    try {
        Database check = Database::open(store.databasePath(), &newKey, false);
        return;
    } catch (const StoreError&) {
    }
    db = Database::open(store.databasePath(), &oldKey, false);
    throw StoreError("the database was not rewritten under the new key: the disk may be full");
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
    requireSpaceForRekey(session, db, store, from);
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
        {
            RekeyMonitor monitor(store.databasePath().string() + "-wal", pages, progress);
            db.rekey(newKey);
        }
        proveRekeyed(store, db, newKey, SessionAccess::databaseKey(session));
    } catch (const StoreError& e) {
        // The rekey's transaction rolled back: the old key still opens every page. On a full
        // disk the keyring or the entry may not be written either: a keyring still naming the
        // pending key is undone at the next login (logged there), so the sentence stands.
        keyring.abandonRotation();
        try {
            keyring.save(store.keyringPath());
            SessionAccess::recorded(session, "key rotation failed", "store",
                                    std::string("still key version ") + std::to_string(from) +
                                        ": " + e.what(),
                                    [](Database&) {});
        } catch (const StoreError&) {
        }
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
