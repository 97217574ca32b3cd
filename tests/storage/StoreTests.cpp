// The store itself: settings at rest, login and refusals, lockout, lock/unlock, break-glass,
// schema versions, and that nothing readable is left in the store folder or the temp folder.

#include "StoreTestSupport.h"

#include "storage/Annotations.h"
#include "storage/AuditTrail.h"
#include "storage/ChunkStore.h"
#include "storage/Exports.h"
#include "storage/SessionAccess.h" // white-box: the chunk table and the audited door
#include "storage/Studies.h"
#include "storage/Users.h"

#include <sqlite3.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <map>

using namespace radmark::storage;
using namespace radmark::storage::testing;

namespace {

std::map<std::string, std::string> snapshot(const std::filesystem::path& dir) {
    std::map<std::string, std::string> files;
    for (const auto& name : {"store.db", "store.db-wal", "keyring"})
        if (std::filesystem::exists(dir / name))
            files[name] = readFile(dir / name);
    return files;
}

bool hasAction(Session& admin, const std::string& action, const std::string& user = {}) {
    AuditFilter f;
    f.action = action;
    if (!user.empty())
        f.user = user;
    return !AuditTrail(admin).entries(f).empty();
}

} // namespace

TEST(StorageSettings, EncryptedWithTheRequiredPragmas) {
    TestStore t;
    auto s = t.admin();
    Database& db = SessionAccess::database(s);
    EXPECT_EQ(db.queryText("PRAGMA cipher_page_size"), "4096");
    EXPECT_EQ(db.queryText("PRAGMA journal_mode"), "wal");
    EXPECT_EQ(db.queryText("PRAGMA synchronous"), "2");   // FULL
    EXPECT_EQ(db.queryText("PRAGMA secure_delete"), "1"); // ON
    EXPECT_EQ(db.queryText("PRAGMA temp_store"), "2");    // MEMORY
    EXPECT_EQ(db.queryText("PRAGMA user_version"), std::to_string(Store::schemaVersion));
    s.logout();

    // Not a plain SQLite file: no header, and no key opens nothing.
    EXPECT_EQ(readFile(t.store.databasePath()).rfind("SQLite format 3", 0), std::string::npos);
    EXPECT_THROW(Database::open(t.store.databasePath(), nullptr, false), StoreError);
    const SecureBytes wrongKey = SecureBytes::random(32);
    EXPECT_THROW(Database::open(t.store.databasePath(), &wrongKey, false), StoreError);
}

TEST(StorageSettings, ResolvesTheStoreFolder) {
    EXPECT_EQ(resolveStoreDir(std::filesystem::path("/given")), "/given");
    ::setenv("RADMARK_STORE", "/from-env", 1);
    EXPECT_EQ(resolveStoreDir(std::nullopt), "/from-env");
    ::unsetenv("RADMARK_STORE");
    ::setenv("XDG_DATA_HOME", "/xdg", 1);
    EXPECT_EQ(resolveStoreDir(std::nullopt), "/xdg/radmark");
    ::unsetenv("XDG_DATA_HOME");
    ::setenv("HOME", "/home/someone", 1);
    EXPECT_EQ(resolveStoreDir(std::nullopt), "/home/someone/.local/share/radmark");
}

TEST(StorageSettings, PolicyDefaultsAreSafeAndFilesAreChecked) {
    const Policy defaults;
    EXPECT_GE(defaults.argon2MemoryBytes, 256ull << 20);
    EXPECT_GE(defaults.argon2Operations, 3u);
    EXPECT_EQ(defaults.idleTimeout, std::chrono::minutes(10));
    EXPECT_GE(defaults.minPasswordLength, 12u);
    TempDir dir;
    EXPECT_THROW(Policy::load(dir.path() / "missing.json"), PolicyError);
    writeFile(dir.path() / "p.json", R"({"idle_timeout_seconds": 60, "argon2_operations": 1,
                                         "argon2_memory_bytes": 65536})");
    const Policy p = Policy::load(dir.path() / "p.json");
    EXPECT_EQ(p.idleTimeout, std::chrono::seconds(60));
    EXPECT_EQ(p.argon2Operations, 1u);
    EXPECT_THROW(Policy::fromJson(R"({"idle_timeout_seconds": 0})"), PolicyError);
    EXPECT_THROW(Policy::fromJson(R"({"idle_timeout": 5})"), PolicyError);
    EXPECT_THROW(Policy::fromJson("not json"), PolicyError);
    EXPECT_THROW(defaults.checkPassword("short"), InvalidRequestError);
    EXPECT_THROW(defaults.checkPassword("aaaaaaaaaaaaaaaa"), InvalidRequestError);
    EXPECT_NO_THROW(defaults.checkPassword("a long enough password"));
}

TEST(StorageInit, RefusesAnExistingStoreAndWeakPasswords) {
    TestStore t;
    EXPECT_THROW(Store::initialise(t.storeDir, "other", adminPassword, lowCostPolicy()),
                 InvalidRequestError);
    TempDir dir;
    EXPECT_THROW(Store::initialise(dir.path() / "s", "admin", "short", lowCostPolicy()),
                 InvalidRequestError);
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "s" / "store.db"));
}

TEST(StorageLogin, WrongPasswordIsRefusedAndChangesNothing) {
    TestStore t;
    const auto before = snapshot(t.storeDir);
    EXPECT_THROW(t.store.login(adminName, "not the password at all"), AuthenticationError);
    EXPECT_THROW(t.store.login("nobody-here", adminPassword), AuthenticationError);
    EXPECT_EQ(snapshot(t.storeDir), before);
    // The refusals are sealed (no names in the clear) and appear in the log at the next login.
    const std::string queued = readFile(t.store.failedLoginsPath());
    EXPECT_EQ(queued.find(adminName), std::string::npos);
    EXPECT_EQ(queued.find("nobody-here"), std::string::npos);
    auto s = t.admin();
    auto failed = AuditTrail(s).entries(filterBy({}, "failed login"));
    ASSERT_EQ(failed.size(), 2u);
    EXPECT_EQ(failed[0].user, adminName);
    EXPECT_EQ(failed[1].user, "nobody-here");
    // Only lockout counters of the other account remain, no sealed records.
    EXPECT_EQ(readFile(t.store.failedLoginsPath()).find("sealed"), std::string::npos);
}

TEST(StorageLogin, LockoutAfterRepeatedFailures) {
    Policy p = lowCostPolicy();
    p.maxFailedLogins = 3;
    TestStore t(p);
    {
        auto admin = t.admin();
        Users(admin).add("bob", Role::Annotator, userPassword);
    }
    for (int i = 0; i < 3; ++i)
        EXPECT_THROW(t.store.login("bob", "wrong password number"), AuthenticationError);
    EXPECT_THROW(t.store.login("bob", userPassword), AccountLockedError);
    // Other accounts are not affected, and their login brings the failures into the log.
    auto admin = t.admin();
    EXPECT_EQ(AuditTrail(admin).entries(filterBy("bob", "failed login")).size(), 4u);
    EXPECT_THROW(t.store.login("bob", userPassword), AccountLockedError);
}

TEST(StorageLogin, DisabledUserLosesAccess) {
    TestStore t;
    {
        auto admin = t.admin();
        Users(admin).add("carol", Role::Reviewer, userPassword);
    }
    { auto carol = t.store.login("carol", userPassword); }
    const Keyring before = Keyring::load(t.store.keyringPath());
    EXPECT_TRUE(before.has(before.userIdFor("carol")));
    {
        auto admin = t.admin();
        Users(admin).disable("carol");
        EXPECT_TRUE(hasAction(admin, "user disable", adminName));
        const auto users = Users(admin).list();
        EXPECT_TRUE(std::any_of(users.begin(), users.end(),
                                [](const UserInfo& u) { return u.name == "carol" && u.disabled; }));
    }
    const Keyring after = Keyring::load(t.store.keyringPath());
    EXPECT_FALSE(after.has(after.userIdFor("carol")));
    const auto snap = snapshot(t.storeDir);
    EXPECT_THROW(t.store.login("carol", userPassword), AuthenticationError);
    EXPECT_EQ(snapshot(t.storeDir), snap);
}

TEST(StorageLogin, DisabledUserWithARestoredKeyringEntryIsStillRefused) {
    TestStore t;
    {
        auto admin = t.admin();
        Users(admin).add("dave", Role::Annotator, userPassword);
    }
    const std::string oldKeyring = readFile(t.store.keyringPath());
    {
        auto admin = t.admin();
        Users(admin).disable("dave");
    }
    const std::string currentKeyring = readFile(t.store.keyringPath());
    writeFile(t.store.keyringPath(), oldKeyring); // an attacker restores the old keyring
    // The disable rotated the key: the restored keyring's key opens nothing, for anyone.
    for (const auto& [name, password] : {std::pair{std::string("dave"), userPassword},
                                         std::pair{adminName, adminPassword}}) {
        try {
            t.store.login(name, password);
            ADD_FAILURE() << "the restored keyring opened the store for " << name;
        } catch (const StoreError& e) {
            EXPECT_NE(std::string(e.what()).find("cannot be decrypted"), std::string::npos)
                << e.what();
        }
    }
    writeFile(t.store.keyringPath(), currentKeyring);
    EXPECT_THROW(t.store.login("dave", userPassword), AuthenticationError);
    auto admin = t.admin();
    EXPECT_FALSE(AuditTrail(admin).entries(filterBy("dave", "failed login")).empty());
}

TEST(StorageLogin, CorruptedKeyringIsRefusedClearly) {
    TestStore t;
    std::string keyring = readFile(t.store.keyringPath());
    const auto snap = snapshot(t.storeDir);
    // Garbage and truncation: a KeyringError that says so.
    writeFile(t.store.keyringPath(), keyring.substr(0, keyring.size() / 2));
    try {
        t.store.login(adminName, adminPassword);
        ADD_FAILURE() << "a truncated keyring opened the store";
    } catch (const KeyringError& e) {
        EXPECT_NE(std::string(e.what()).find("keyring"), std::string::npos);
    }
    // One flipped character inside the admin's sealed secret half (the AEAD tag refuses it) or
    // inside the database key sealed to her public half (the sealed box's tag refuses it).
    for (const std::string field : {"\"secret\": \"", "\"1\": \""}) {
        std::string altered = keyring;
        const auto at = altered.find(field);
        ASSERT_NE(at, std::string::npos) << field;
        const auto i = at + field.size() + 4;
        altered[i] = altered[i] == 'A' ? 'B' : 'A';
        writeFile(t.store.keyringPath(), altered);
        EXPECT_THROW(t.store.login(adminName, adminPassword), StoreError) << field;
    }
    std::filesystem::remove(t.store.keyringPath());
    EXPECT_THROW(t.store.login(adminName, adminPassword), KeyringError);
    auto now = snapshot(t.storeDir);
    EXPECT_EQ(now["store.db"], snap.at("store.db"));
}

TEST(StorageLogin, UnwritableStoreFolderIsRefusedAndNothingChanges) {
    TestStore t;
    { auto s = t.admin(); } // checkpointed and closed
    const auto before = snapshot(t.storeDir);
    namespace fs = std::filesystem;
    fs::permissions(t.dir.path(),
                    fs::perms::owner_all | fs::perms::others_exec | fs::perms::group_exec);
    fs::permissions(t.storeDir, fs::perms::owner_read | fs::perms::owner_exec |
                                    fs::perms::group_read | fs::perms::group_exec |
                                    fs::perms::others_read | fs::perms::others_exec);
    for (const auto& e : fs::directory_iterator(t.storeDir))
        fs::permissions(e.path(),
                        fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
    // root ignores permissions: try as an unprivileged account instead.
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0))
            ::_exit(3);
        try {
            auto s = t.store.login(adminName, adminPassword);
            Studies(s).add("should-not-exist", "");
            ::_exit(1); // it worked: wrong
        } catch (const StoreError& e) {
            const std::string m = e.what();
            ::_exit(m.find("writ") != std::string::npos ? 0 : 2);
        } catch (...) {
            ::_exit(4);
        }
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "1: allowed, 2: unclear message, 3: setuid, 4: crash";
    fs::permissions(t.storeDir, fs::perms::owner_all);
    EXPECT_EQ(snapshot(t.storeDir), before);
}

TEST(StorageVersions, NewerSchemaIsRefusedClearly) {
    TestStore t;
    {
        Database db = t.attackerDatabase();
        db.exec("PRAGMA user_version = 99");
    }
    try {
        t.store.login(adminName, adminPassword);
        ADD_FAILURE() << "a newer store was opened";
    } catch (const StoreVersionError& e) {
        EXPECT_NE(std::string(e.what()).find("newer version of Radmark"), std::string::npos);
    }
}

TEST(StorageSessions, LockUnlockAndLogoutWipeAccess) {
    TestStore t;
    auto s = t.admin();
    s.lock();
    EXPECT_TRUE(s.isLocked());
    EXPECT_THROW(Users(s).list(), SessionLockedError);
    EXPECT_THROW(s.unlock("the wrong password!"), AuthenticationError);
    EXPECT_TRUE(s.isLocked());
    s.unlock(adminPassword);
    EXPECT_FALSE(s.isLocked());
    EXPECT_TRUE(hasAction(s, "lock", adminName));
    EXPECT_TRUE(hasAction(s, "unlock", adminName));
    EXPECT_TRUE(hasAction(s, "failed login", adminName)); // the wrong unlock, sealed then logged
    s.logout();
    EXPECT_TRUE(s.isLoggedOut());
    EXPECT_THROW(Users(s).list(), SessionLockedError);
    auto again = t.admin();
    EXPECT_TRUE(hasAction(again, "logout", adminName));
}

TEST(StorageSessions, IdleTimeoutFollowsThePolicy) {
    Policy p = lowCostPolicy();
    p.idleTimeout = std::chrono::seconds(1);
    TestStore t(p);
    auto s = t.admin();
    EXPECT_FALSE(s.idleTimeoutReached());
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    EXPECT_TRUE(s.idleTimeoutReached());
    s.touch();
    EXPECT_FALSE(s.idleTimeoutReached());
}

TEST(StorageSessions, PasswordChangeTakesEffect) {
    TestStore t;
    {
        auto admin = t.admin();
        Users(admin).add("erin", Role::Annotator, userPassword);
    }
    {
        auto erin = t.store.login("erin", userPassword);
        EXPECT_THROW(Users(erin).changePassword("erin", "short"), InvalidRequestError);
        Users(erin).changePassword("erin", "a brand new passphrase");
        EXPECT_THROW(Users(erin).changePassword(adminName, "a brand new passphrase"),
                     PermissionDeniedError);
    }
    EXPECT_THROW(t.store.login("erin", userPassword), AuthenticationError);
    EXPECT_NO_THROW(t.store.login("erin", "a brand new passphrase"));
}

TEST(StorageBreakGlass, RecoveryKeyOpensAsAdminAndIsLogged) {
    TestStore t;
    EXPECT_THROW(t.store.breakGlass(SecureBytes::random(32), "forgot"), AuthenticationError);
    EXPECT_THROW(t.store.breakGlass(t.secrets.recoveryKey.copy(), ""), InvalidRequestError);
    {
        auto s = t.store.breakGlass(t.secrets.recoveryKey.copy(), "admin on leave, ticket 42");
        EXPECT_TRUE(s.isBreakGlass());
        EXPECT_EQ(s.role(), Role::Admin);
        Users(s).changePassword(adminName, "reset by break glass");
    }
    auto admin = t.store.login(adminName, "reset by break glass");
    const auto entries = AuditTrail(admin).entries(filterBy({}, "break-glass login"));
    ASSERT_EQ(entries.size(), 1u);
    EXPECT_EQ(entries[0].details, "admin on leave, ticket 42");
    EXPECT_EQ(AuditTrail(admin).entries(filterBy("break-glass", "failed login")).size(), 1u);
}

TEST(StorageChunks, StoredOnceCompressedAndReadBack) {
    TestStore t;
    auto admin = t.admin();
    std::vector<std::uint8_t> data(1 << 20);
    for (std::size_t i = 0; i < data.size(); ++i)
        data[i] = std::uint8_t((i / 512) % 7);
    const auto a = internal::putChunk(admin, data);
    const auto b = internal::putChunk(admin, data);
    EXPECT_EQ(a, b);
    EXPECT_EQ(SessionAccess::database(admin).queryText("SELECT count(*) FROM chunks"), "1");
    EXPECT_LT(
        std::stoll(SessionAccess::database(admin).queryText("SELECT length(data) FROM chunks")),
        std::int64_t(data.size() / 10));
    EXPECT_EQ(Annotations(admin).getChunk(a), data);
    EXPECT_THROW(Annotations(admin).getChunk(radmark::imaging::ChunkHash{}), StoreError);
}

TEST(StorageChunks, ManyAtOnceMatchOneByOneAndAreStoredOnce) {
    TestStore t;
    auto admin = t.admin();
    // Five distinct slices, one of them already in the store and one given twice in the batch.
    std::vector<std::vector<std::uint8_t>> slices;
    for (int k = 0; k < 5; ++k) {
        std::vector<std::uint8_t> slice(256 * 1024);
        for (std::size_t i = 0; i < slice.size(); ++i)
            slice[i] = std::uint8_t((i / (64 + 32 * k)) % 11 + k);
        slices.push_back(std::move(slice));
    }
    const auto storedBefore = internal::putChunk(admin, slices[2]);
    std::vector<std::span<const std::uint8_t>> batch;
    for (int k : {0, 1, 2, 3, 1, 4})
        batch.emplace_back(slices[std::size_t(k)]);
    std::vector<radmark::imaging::ChunkHash> hashes;
    {
        Transaction transaction(SessionAccess::database(admin));
        hashes = ChunkStore(SessionAccess::database(admin)).putMany(batch);
        transaction.commit();
    }
    ASSERT_EQ(hashes.size(), batch.size());
    EXPECT_EQ(hashes[2], storedBefore);
    EXPECT_EQ(hashes[1], hashes[4]);
    EXPECT_EQ(SessionAccess::database(admin).queryText("SELECT count(*) FROM chunks"), "5");
    for (std::size_t i = 0; i < batch.size(); ++i) {
        const std::vector<std::uint8_t> expected(batch[i].begin(), batch[i].end());
        EXPECT_EQ(Annotations(admin).getChunk(hashes[i]), expected) << "chunk " << i;
    }
    // Same hashes as one-by-one puts (nothing new is stored by them).
    for (std::size_t i = 0; i < batch.size(); ++i)
        EXPECT_EQ(internal::putChunk(admin, batch[i]), hashes[i]);
    EXPECT_EQ(SessionAccess::database(admin).queryText("SELECT count(*) FROM chunks"), "5");
    EXPECT_TRUE(ChunkStore(SessionAccess::database(admin)).putMany({}).empty());
}

TEST(StorageChunks, ManyReadIntoOneBufferMatchOneByOneAndADamagedOneIsRefused) {
    TestStore t;
    auto admin = t.admin();
    // More slices than worker threads and queue slots, one of them repeated.
    constexpr std::size_t sliceBytes = 64 * 1024;
    std::vector<std::vector<std::uint8_t>> slices;
    for (int k = 0; k < 40; ++k) {
        std::vector<std::uint8_t> slice(sliceBytes);
        for (std::size_t i = 0; i < slice.size(); ++i)
            slice[i] = std::uint8_t((i * std::size_t(k + 3) / 97) % 251);
        slices.push_back(std::move(slice));
    }
    std::vector<radmark::imaging::ChunkHash> hashes;
    for (const auto& slice : slices)
        hashes.push_back(internal::putChunk(admin, slice));
    hashes.push_back(hashes[7]);
    Database& db = SessionAccess::database(admin);
    std::vector<std::uint8_t> out(sliceBytes * hashes.size());
    ChunkStore(db).getManyInto(hashes, out);
    for (std::size_t i = 0; i < hashes.size(); ++i) {
        const auto& expected = slices[i < slices.size() ? i : 7];
        EXPECT_TRUE(std::equal(expected.begin(), expected.end(), out.begin() + i * sliceBytes))
            << "slice " << i;
    }
    // Asked for another size: refused, not cut or padded.
    std::vector<std::uint8_t> wrongSize(2 * sliceBytes * hashes.size());
    EXPECT_THROW(ChunkStore(db).getManyInto(hashes, wrongSize), radmark::imaging::CorruptChunk);
    // A chunk whose stored bytes decompress to other content, and one the store lacks.
    const auto other = radmark::imaging::compressChunk(slices[0]);
    db.prepare("UPDATE chunks SET data = ? WHERE hash = ?")
        .bindBlob(1, other.data(), other.size())
        .bindBlob(2, hashes[30].bytes.data(), hashes[30].bytes.size())
        .run();
    EXPECT_THROW(ChunkStore(db).getManyInto(hashes, out), radmark::imaging::CorruptChunk);
    std::vector<radmark::imaging::ChunkHash> missing(hashes.begin(), hashes.begin() + 5);
    missing[3].bytes[0] ^= 1;
    std::vector<std::uint8_t> five(sliceBytes * 5);
    EXPECT_THROW(ChunkStore(db).getManyInto(missing, five), radmark::imaging::CorruptChunk);
}

TEST(StorageTransactions, ChangeAndItsLogEntryCommitTogetherOrNotAtAll) {
    TestStore t;
    auto admin = t.admin();
    const auto before = SessionAccess::auditLog(admin).size();
    EXPECT_THROW(
        SessionAccess::recorded(
            admin, "import", "half", "",
            [](Database& db) {
                db.exec(
                    "INSERT INTO studies(label, description, created) VALUES ('half', '', 'now')");
                throw StoreError("disk full in the middle");
            }),
        StoreError);
    EXPECT_EQ(SessionAccess::auditLog(admin).size(), before);
    EXPECT_EQ(SessionAccess::database(admin).queryText("SELECT count(*) FROM studies"), "0");
    // The triggers refuse to change the log.
    EXPECT_THROW(
        SessionAccess::database(admin).exec("UPDATE audit_log SET details = 'x' WHERE seq = 1"),
        StoreError);
    EXPECT_THROW(SessionAccess::database(admin).exec("DELETE FROM audit_log WHERE seq = 1"),
                 StoreError);
}

namespace {
// Every regular file under dir that holds any marker, as "file: marker".
std::vector<std::string> filesHoldingMarkers(const std::filesystem::path& dir,
                                             const std::vector<std::string>& markers,
                                             std::filesystem::file_time_type newerThan = {}) {
    std::vector<std::string> hits;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(
             dir, std::filesystem::directory_options::skip_permission_denied, ec);
         it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (ec)
            break;
        if (!it->is_regular_file(ec) || it->file_size(ec) > (64u << 20))
            continue;
        if (it->last_write_time(ec) < newerThan)
            continue;
        const std::string bytes = readFile(it->path());
        for (const auto& m : markers)
            if (bytes.find(m) != std::string::npos)
                hits.push_back(it->path().string() + ": " + m);
    }
    return hits;
}
} // namespace

TEST(StorageNoPlaintextAtRest, MarkersAppearInNoStoreFileNorTheTempFolder) {
    const auto start = std::filesystem::file_time_type::clock::now();
    TempDir tmp;
    ::setenv("TMPDIR", tmp.path().c_str(), 1); // SQLite and libraries would put temp files here
    const std::vector<std::string> markers = {"MarkerAdminQ7", "MarkerAnnotatorQ7",
                                              "MarkerStudyDescriptionQ7", "DOE^JANE^MARKERQ7",
                                              "MarkerStudyLabelQ7"};
    {
        TempDir dir;
        const auto storeDir = dir.path() / "store";
        Store store(storeDir, lowCostPolicy());
        Store::initialise(storeDir, "MarkerAdminQ7", adminPassword, lowCostPolicy());
        {
            auto admin = store.login("MarkerAdminQ7", adminPassword);
            Users(admin).add("MarkerAnnotatorQ7", Role::Annotator, userPassword);
            const auto id = Studies(admin).add("MarkerStudyLabelQ7",
                                               "MarkerStudyDescriptionQ7 for DOE^JANE^MARKERQ7");
            Studies(admin).assign("MarkerAnnotatorQ7", id);
            auto annotator = store.login("MarkerAnnotatorQ7", userPassword);
            Studies(annotator).open(id);
            const std::string payload(200000, 'x');
            Annotations(annotator).save(
                id,
                std::span(reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()),
                "contour of DOE^JANE^MARKERQ7");
            EXPECT_THROW(store.login("MarkerAnnotatorQ7", "a wrong password!"),
                         AuthenticationError);
            // While both sessions are open the -wal and -shm files exist: check them too.
            ASSERT_TRUE(std::filesystem::exists(storeDir / "store.db-wal"));
            EXPECT_EQ(filesHoldingMarkers(storeDir, markers), std::vector<std::string>{});
            annotator.lock();
            EXPECT_EQ(filesHoldingMarkers(storeDir, markers), std::vector<std::string>{});
        }
        EXPECT_EQ(filesHoldingMarkers(storeDir, markers), std::vector<std::string>{});
    }
    EXPECT_EQ(filesHoldingMarkers(tmp.path(), markers), std::vector<std::string>{});
    EXPECT_EQ(filesHoldingMarkers("/tmp", markers, start), std::vector<std::string>{});
    ::unsetenv("TMPDIR");
}

TEST(StorageExportGate, OnlyAllowListedDestinations) {
    TestStore t;
    auto admin = t.admin();
    EXPECT_NO_THROW(Exports(admin).record("/srv/radmark-exports/set-1", "3 studies"));
    EXPECT_THROW(Exports(admin).record("/media/usb/set-1", "3 studies"), PermissionDeniedError);
    EXPECT_THROW(Exports(admin).record("/srv/radmark-exports-evil", "x"), PermissionDeniedError);
    EXPECT_EQ(AuditTrail(admin).entries(filterBy({}, "export")).size(), 1u);
    EXPECT_EQ(AuditTrail(admin).entries(filterBy({}, "export refused")).size(), 2u);
}
