// Key rotation (issue 13, item 3): per-user key pairs, the database key rotated at a disable or
// on an admin's request and re-sealed without passwords, a keyring copied before opening nothing
// afterwards (also to an attacker opening store.db with libsqlcipher herself), format-1 keyrings
// migrating at login, and a rotation SIGKILLed at every step (and at random moments) leaving a
// store that opens with the old or the new key.

#include "StoreTestSupport.h"
#include "storage/AuditTrail.h"
#include "storage/KeyRotation.h"
#include "storage/SessionAccess.h"
#include "storage/Studies.h"
#include "storage/Users.h"

#include <nlohmann/json.hpp>
#include <sodium.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <thread>

using namespace radmark::storage;
using namespace radmark::storage::testing;
namespace fs = std::filesystem;

namespace {

const std::string bobPassword = "bob password 1234";

// What an attacker holding a keyring file and a password gets: the database key it opens
// (either version), then whether that key opens store.db.
bool keyringOpensDatabase(const std::string& keyringBytes, const fs::path& storeDir,
                          const std::string& user, const std::string& password) {
    const fs::path copy = storeDir.parent_path() / "attacker-keyring";
    writeFile(copy, keyringBytes);
    Keyring::Keys keys;
    try {
        const Keyring k = Keyring::load(copy);
        keys = k.unwrapAllWithPassword(k.userIdFor(user), password);
    } catch (const StoreError&) {
        return false;
    }
    for (const SecureBytes* key : {&keys.current, &keys.pending}) {
        if (key->empty())
            continue;
        try {
            Database db = Database::open(storeDir / "store.db", key, false);
            db.queryText("SELECT count(*) FROM users");
            return true;
        } catch (const StoreError&) {
        }
    }
    return false;
}

std::string lastDetails(TestStore& t, const std::string& action) {
    Database db = t.attackerDatabase();
    auto s = db.prepare("SELECT details FROM audit_log WHERE action = ? ORDER BY seq DESC LIMIT 1");
    s.bind(1, action);
    return s.step() ? s.text(0) : std::string();
}

nlohmann::json keyringJson(const TestStore& t) {
    return nlohmann::json::parse(readFile(t.store.keyringPath()));
}

// A format-1 entry, written the way Radmark did before key pairs (Argon2id key-encryption key,
// XChaCha20-Poly1305 over the database key, associated data = store id || user id || version).
nlohmann::json formatOneEntry(const Bytes& storeId, const Bytes& userId, bool recovery,
                              const std::string& password, const SecureBytes& recoveryKey,
                              const SecureBytes& dbKey, const Policy& policy, int version = 1) {
    Bytes salt(crypto_pwhash_SALTBYTES);
    randombytes_buf(salt.data(), salt.size());
    SecureBytes kek(32);
    if (recovery)
        std::memcpy(kek.data(), recoveryKey.data(), 32);
    else
        EXPECT_EQ(crypto_pwhash(kek.data(), 32, password.data(), password.size(), salt.data(),
                                policy.argon2Operations, policy.argon2MemoryBytes,
                                crypto_pwhash_ALG_ARGON2ID13),
                  0);
    Bytes ad = storeId;
    ad.insert(ad.end(), userId.begin(), userId.end());
    for (int shift = 24; shift >= 0; shift -= 8)
        ad.push_back(std::uint8_t(std::uint32_t(version) >> shift));
    Bytes nonce(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    randombytes_buf(nonce.data(), nonce.size());
    Bytes sealed(32 + crypto_aead_xchacha20poly1305_ietf_ABYTES);
    unsigned long long written = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(sealed.data(), &written, dbKey.data(), 32,
                                               ad.data(), ad.size(), nullptr, nonce.data(),
                                               kek.data());
    return {{"user", toHex(userId)}, {"kind", recovery ? "recovery" : "password"},
            {"salt", toBase64(salt)}, {"ops", policy.argon2Operations},
            {"mem", policy.argon2MemoryBytes}, {"nonce", toBase64(nonce)},
            {"sealed", toBase64(sealed)}};
}

// A store with anna and bob, and some megabytes of chunks so that the rekey takes a while.
struct RotationWorld {
    explicit RotationWorld(std::size_t megabytes = 0) {
        auto admin = t.admin();
        Users(admin).add("anna", Role::Annotator, userPassword);
        Users(admin).add("bob", Role::Reviewer, bobPassword);
        Studies(admin).add("study-1", "kept through every rotation");
        std::mt19937 random(7);
        for (std::size_t i = 0; i < megabytes * 4; ++i) {
            Bytes data(256 * 1024);
            for (auto& b : data)
                b = std::uint8_t(random());
            internal::putChunk(admin, data);
        }
    }
    TestStore t;
};

std::int64_t count(TestStore& t, const std::string& table) {
    return std::stoll(t.attackerDatabase().queryText("SELECT count(*) FROM " + table));
}

} // namespace

TEST(StorageKeyRotation, NewKeyringsHoldOneKeyPairPerUserAndTheKeySealedToEach) {
    RotationWorld w;
    const auto j = keyringJson(w.t);
    EXPECT_EQ(j.at("version"), 2);
    EXPECT_TRUE(j.at("entries").empty()); // no format-1 entry
    ASSERT_EQ(j.at("recipients").size(), 4u); // ada, anna, bob, recovery
    for (const auto& r : j.at("recipients")) {
        EXPECT_EQ(fromBase64(r.at("public").get<std::string>()).size(), 32u);
        EXPECT_EQ(r.at("keys").size(), 1u);
        EXPECT_TRUE(r.at("keys").contains("1"));
    }
    // The key pair's secret half opens only with the password.
    const Keyring k = Keyring::load(w.t.store.keyringPath());
    EXPECT_THROW(k.unwrapAllWithPassword(k.userIdFor("anna"), bobPassword), AuthenticationError);
    EXPECT_TRUE(k.unwrapWithPassword(k.userIdFor("anna"), userPassword)
                    .equals(k.unwrapWithPassword(k.userIdFor("bob"), bobPassword)));
}

TEST(StorageKeyRotation, DisableRotatesTheKeyAndAKeyringCopiedBeforeOpensNothing) {
    RotationWorld w(2);
    const std::string copied = readFile(w.t.store.keyringPath()); // anna's copy, before
    const std::int64_t chunks = count(w.t, "chunks");
    ASSERT_TRUE(keyringOpensDatabase(copied, w.t.storeDir, "anna", userPassword))
        << "the attack must work before the disable, or this test proves nothing";
    std::vector<double> seen;
    {
        auto admin = w.t.admin();
        const auto result = Users(admin).disable(
            "anna", [&](const std::string&, double fraction) { seen.push_back(fraction); });
        EXPECT_EQ(result.keyVersion, 2);
        EXPECT_EQ(result.sealedForUsers, 2); // ada and bob
        EXPECT_TRUE(result.usersLeftOut.empty());
        EXPECT_TRUE(result.newRecoveryKey.empty());
        EXPECT_GT(result.databaseBytes, 2u << 20);
        // The session goes on under the new key.
        EXPECT_NO_THROW(Studies(admin).list());
    }
    ASSERT_FALSE(seen.empty());
    EXPECT_DOUBLE_EQ(seen.back(), 1.0);
    EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));

    // anna, with her old keyring and password, opens nothing; nor does anyone with that copy.
    EXPECT_FALSE(keyringOpensDatabase(copied, w.t.storeDir, "anna", userPassword));
    EXPECT_FALSE(keyringOpensDatabase(copied, w.t.storeDir, "bob", bobPassword));
    EXPECT_FALSE(keyringOpensDatabase(copied, w.t.storeDir, adminName, adminPassword));
    EXPECT_THROW(w.t.store.login("anna", userPassword), AuthenticationError);
    // The others and the recovery key still open it, without anyone having typed a password.
    EXPECT_NO_THROW(w.t.store.login("bob", bobPassword));
    EXPECT_NO_THROW(w.t.store.breakGlass(w.t.secrets.recoveryKey, "rotation test"));
    EXPECT_EQ(count(w.t, "chunks"), chunks);
    EXPECT_EQ(w.t.attackerDatabase().queryText("PRAGMA integrity_check"), "ok");
    EXPECT_EQ(w.t.attackerDatabase().queryText("SELECT value FROM meta WHERE key = 'key_version'"),
              "2");
    const auto j = keyringJson(w.t);
    EXPECT_EQ(j.at("key_version"), 2);
    EXPECT_FALSE(j.contains("pending_key_version"));
    for (const auto& r : j.at("recipients"))
        EXPECT_EQ(r.at("keys").size(), 1u) << "the old key version is dropped";

    // Logged: requested (with the reason), completed (with the version), and the log verifies.
    EXPECT_NE(lastDetails(w.t, "key rotation requested").find("user anna disabled"),
              std::string::npos);
    EXPECT_NE(lastDetails(w.t, "key rotation completed").find("key version 2"), std::string::npos);
    auto admin = w.t.admin();
    EXPECT_TRUE(AuditTrail(admin).verify(&w.t.secrets.auditKey, nullptr).ok);

    // A keyring put back from a copy opens nothing, and says so.
    writeFile(w.t.store.keyringPath(), copied);
    try {
        w.t.store.login("bob", bobPassword);
        ADD_FAILURE() << "the old keyring opened the store";
    } catch (const StoreError& e) {
        EXPECT_NE(std::string(e.what()).find("cannot be decrypted"), std::string::npos) << e.what();
    }
}

TEST(StorageKeyRotation, AnAdminRotatesOnRequestAndOnlyAnAdmin) {
    RotationWorld w;
    {
        auto bob = w.t.store.login("bob", bobPassword);
        EXPECT_THROW(rotateDatabaseKey(bob, "not mine"), PermissionDeniedError);
    }
    const std::string copied = readFile(w.t.store.keyringPath());
    for (int round = 0; round < 3; ++round) {
        auto admin = w.t.admin();
        EXPECT_EQ(rotateDatabaseKey(admin, "compromise suspected").keyVersion, 2 + round);
    }
    EXPECT_FALSE(keyringOpensDatabase(copied, w.t.storeDir, "bob", bobPassword));
    EXPECT_NO_THROW(w.t.store.login("anna", userPassword));
    EXPECT_NO_THROW(w.t.store.login("bob", bobPassword));
    EXPECT_EQ(lastDetails(w.t, "refused rotate key").empty(), false);
    EXPECT_NE(lastDetails(w.t, "key rotation requested").find("compromise suspected"),
              std::string::npos);
}

TEST(StorageKeyRotation, FormatOneKeyringsMigrateAtLoginAndRotationSaysWhoIsLeftOut) {
    RotationWorld w;
    {
        auto admin = w.t.admin();
        Users(admin).add("carl", Role::Annotator, userPassword);
    }
    // The keyring as an earlier Radmark wrote it: format 1, every entry wraps the key directly.
    const Keyring now = Keyring::load(w.t.store.keyringPath());
    const SecureBytes dbKey = now.unwrapWithPassword(now.userIdFor(adminName), adminPassword);
    const Policy policy = lowCostPolicy();
    nlohmann::json old = keyringJson(w.t);
    old["version"] = 1;
    old.erase("recipients");
    old["entries"] = nlohmann::json::array();
    for (const auto& [name, password] :
         std::vector<std::pair<std::string, std::string>>{{adminName, adminPassword},
                                                           {"anna", userPassword},
                                                           {"bob", bobPassword},
                                                           {"carl", userPassword}})
        old["entries"].push_back(formatOneEntry(now.storeId(), now.userIdFor(name), false,
                                                password, {}, dbKey, policy));
    old["entries"].push_back(formatOneEntry(now.storeId(), Bytes{'r', 'e', 'c', 'o', 'v', 'e', 'r', 'y'},
                                            true, {}, w.t.secrets.recoveryKey, dbKey, policy));
    writeFile(w.t.store.keyringPath(), old.dump());

    // anna's login gives her a key pair (logged); bob and carl have not logged in yet.
    { auto anna = w.t.store.login("anna", userPassword); }
    EXPECT_NE(lastDetails(w.t, "key rewrap").find("key pair made"), std::string::npos);
    const Keyring migrated = Keyring::load(w.t.store.keyringPath());
    EXPECT_FALSE(migrated.needsKeyPair(migrated.userIdFor("anna")));
    EXPECT_TRUE(migrated.needsKeyPair(migrated.userIdFor("bob")));
    EXPECT_TRUE(migrated.recoveryNeedsKeyPair());
    // Break-glass with the recovery key migrates the recovery entry.
    { auto glass = w.t.store.breakGlass(w.t.secrets.recoveryKey, "migration test"); }
    EXPECT_FALSE(Keyring::load(w.t.store.keyringPath()).recoveryNeedsKeyPair());

    KeyRotationResult result;
    {
        auto admin = w.t.admin(); // migrates the admin too
        result = rotateDatabaseKey(admin, "after the upgrade");
    }
    std::sort(result.usersLeftOut.begin(), result.usersLeftOut.end());
    EXPECT_EQ(result.usersLeftOut, (std::vector<std::string>{"bob", "carl"}));
    EXPECT_EQ(result.sealedForUsers, 2); // ada and anna
    EXPECT_TRUE(result.newRecoveryKey.empty()); // migrated above: the same recovery key holds
    EXPECT_NO_THROW(w.t.store.login("anna", userPassword));
    EXPECT_NO_THROW(w.t.store.breakGlass(w.t.secrets.recoveryKey, "after rotation"));
    EXPECT_THROW(w.t.store.login("bob", bobPassword), AuthenticationError);
    {
        auto admin = w.t.admin();
        Users(admin).changePassword("bob", "bob's new password 1");
    }
    EXPECT_NO_THROW(w.t.store.login("bob", "bob's new password 1"));

    // A format-1 recovery entry not migrated before a rotation: it cannot be given the new key,
    // so the rotation issues a new recovery key and the old one opens nothing afterwards.
    nlohmann::json again = keyringJson(w.t);
    const Keyring k2 = Keyring::load(w.t.store.keyringPath());
    const SecureBytes key2 = k2.unwrapWithPassword(k2.userIdFor(adminName), adminPassword);
    auto& recipients = again["recipients"];
    for (auto it = recipients.begin(); it != recipients.end();)
        it = it->at("kind") == "recovery" ? recipients.erase(it) : it + 1;
    again["entries"] = nlohmann::json::array(
        {formatOneEntry(now.storeId(), Bytes{'r', 'e', 'c', 'o', 'v', 'e', 'r', 'y'}, true, {},
                        w.t.secrets.recoveryKey, key2, policy, k2.keyVersion())});
    writeFile(w.t.store.keyringPath(), again.dump());
    ASSERT_TRUE(Keyring::load(w.t.store.keyringPath()).recoveryNeedsKeyPair());
    {
        auto admin = w.t.admin();
        result = rotateDatabaseKey(admin, "new recovery key");
    }
    ASSERT_EQ(result.newRecoveryKey.size(), 32u);
    EXPECT_NE(lastDetails(w.t, "key rotation requested").find("new recovery key is issued"),
              std::string::npos);
    EXPECT_THROW(w.t.store.breakGlass(w.t.secrets.recoveryKey, "old recovery key"),
                 AuthenticationError);
    EXPECT_NO_THROW(w.t.store.breakGlass(result.newRecoveryKey, "new recovery key"));
}

// -- crash safety --------------------------------------------------------------------------

namespace {

// Runs a rotation in a child process, with the test hook set to kill it at `point` (empty: none);
// returns the child's wait status.
int rotateInChild(const TestStore& t, const std::string& point) {
    const pid_t child = ::fork();
    if (child == 0) {
        if (!point.empty())
            ::setenv("RADMARK_TEST_ROTATION_KILL", point.c_str(), 1);
        try {
            auto admin = t.admin();
            rotateDatabaseKey(admin, "crash test");
        } catch (...) {
            ::_exit(3);
        }
        ::_exit(0);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    return status;
}

// After a kill: bob's login opens the store with the old or the new key, every page reads, the
// data is whole, the log verifies, the recovery key opens it, and no keyring is left pending.
int checkOpens(TestStore& t, std::int64_t chunks) {
    {
        auto bob = t.store.login("bob", bobPassword);
    }
    EXPECT_EQ(t.attackerDatabase().queryText("PRAGMA integrity_check"), "ok");
    EXPECT_EQ(count(t, "chunks"), chunks);
    EXPECT_NO_THROW(t.store.breakGlass(t.secrets.recoveryKey, "crash test"));
    auto admin = t.admin();
    EXPECT_TRUE(AuditTrail(admin).verify(&t.secrets.auditKey, nullptr).ok);
    const Keyring k = Keyring::load(t.store.keyringPath());
    EXPECT_EQ(k.pendingKeyVersion(), 0);
    return k.keyVersion();
}

} // namespace

TEST(StorageKeyRotationCrash, SigkillAtEveryStepOpensWithTheOldOrTheNewKey) {
    // point -> the key version the store must open with afterwards
    const std::vector<std::pair<std::string, int>> points = {
        {"sealed", 1},       {"pages:1", 1},      {"pages:600", 1}, {"pages:2000", 1},
        {"rekeyed", 2},      {"checkpointed", 2}, {"completed", 2}};
    for (const auto& [point, expected] : points) {
        SCOPED_TRACE(point);
        RotationWorld w(12); // about 3000 pages
        const std::int64_t chunks = count(w.t, "chunks");
        const std::string before = readFile(w.t.store.keyringPath());
        const int status = rotateInChild(w.t, point);
        ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
            << "the rotation was not killed at " << point << " (status " << status << ")";
        if (point == "sealed" || point.rfind("pages:", 0) == 0) {
            EXPECT_TRUE(nlohmann::json::parse(readFile(w.t.store.keyringPath()))
                            .contains("pending_key_version"));
        }
        EXPECT_EQ(checkOpens(w.t, chunks), expected);
        const std::string interrupted = lastDetails(w.t, "key rotation");
        if (point != "completed") {
            EXPECT_NE(interrupted.find(expected == 1 ? "interrupted before" : "completed after"),
                      std::string::npos)
                << interrupted;
        }
        // Once the new key holds, the keyring from before opens nothing.
        EXPECT_EQ(keyringOpensDatabase(before, w.t.storeDir, "bob", bobPassword), expected == 1);
        // And a rotation after the interruption works.
        auto admin = w.t.admin();
        EXPECT_EQ(rotateDatabaseKey(admin, "again").keyVersion, expected + 1);
    }
}

TEST(StorageKeyRotationCrash, SigkillAtRandomMomentsOpensWithTheOldOrTheNewKey) {
    // How long one rotation of this store takes here, to spread the kills over it.
    RotationWorld timing(24);
    const auto start = std::chrono::steady_clock::now();
    ASSERT_EQ(rotateInChild(timing.t, ""), 0);
    const auto took = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - start);
    std::mt19937 random(13);
    std::set<int> versions;
    for (int round = 0; round < 8; ++round) {
        RotationWorld w(24);
        const std::int64_t chunks = count(w.t, "chunks");
        const auto delay = std::chrono::microseconds(
            std::uniform_int_distribution<long>(0, took.count())(random));
        SCOPED_TRACE("killed after " + std::to_string(delay.count()) + " us of " +
                     std::to_string(took.count()));
        const pid_t child = ::fork();
        if (child == 0) {
            try {
                auto admin = w.t.admin();
                rotateDatabaseKey(admin, "random kill");
            } catch (...) {
                ::_exit(3);
            }
            ::_exit(0);
        }
        std::this_thread::sleep_for(delay);
        ::kill(child, SIGKILL);
        int status = 0;
        ::waitpid(child, &status, 0);
        ASSERT_TRUE(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0));
        versions.insert(checkOpens(w.t, chunks));
    }
    std::cout << "random kills left key versions:";
    for (int v : versions)
        std::cout << " " << v;
    std::cout << "\n";
}

// radmarkd's session worker logs in once and asks checkStillValid() before each request of its
// client: a disable, or a rotation of the key under her session, ends it with the words of her
// next login; an unchanged store lets it go on.
TEST(StorageKeyRotation, ServiceSessionRecheckSeesADisableAndARotation) {
    RotationWorld w;
    auto anna = w.t.store.login("anna", userPassword);
    auto bob = w.t.store.login("bob", bobPassword);
    EXPECT_NO_THROW(anna.checkStillValid());
    EXPECT_NO_THROW(bob.checkStillValid());
    {
        auto admin = w.t.admin();
        rotateDatabaseKey(admin, "compromise suspected");
        EXPECT_NO_THROW(admin.checkStillValid()); // the rotating session goes on under the new key
    }
    try {
        bob.checkStillValid();
        ADD_FAILURE() << "a session on the old key went on";
    } catch (const StoreError& e) {
        EXPECT_NE(std::string(e.what()).find("log in again"), std::string::npos) << e.what();
    }
    auto bobAgain = w.t.store.login("bob", bobPassword);
    EXPECT_NO_THROW(bobAgain.checkStillValid());
    auto annaAgain = w.t.store.login("anna", userPassword);
    EXPECT_NO_THROW(annaAgain.checkStillValid());
    EXPECT_NO_THROW(annaAgain.checkStillValid()); // the keyring as checked: her connection asks
    {
        auto admin = w.t.admin();
        Users(admin).disable("anna");
    }
    std::string next;
    try {
        w.t.store.login("anna", userPassword);
    } catch (const AuthenticationError& e) {
        next = e.what();
    }
    ASSERT_FALSE(next.empty()) << "a disabled account logged in";
    try {
        annaAgain.checkStillValid();
        ADD_FAILURE() << "a disabled account's session went on";
    } catch (const AuthenticationError& e) {
        EXPECT_EQ(std::string(e.what()), next);
    }
    EXPECT_THROW(anna.checkStillValid(), AuthenticationError);
}

// With the keyring as the last check read it, the check asks her own connection whether she is
// marked disabled: a mark the keyring does not show (written by hand here) still ends her session.
TEST(StorageKeyRotation, ServiceSessionRecheckSeesADisabledMarkWithTheKeyringUnchanged) {
    RotationWorld w;
    auto bob = w.t.store.login("bob", bobPassword);
    EXPECT_NO_THROW(bob.checkStillValid());
    {
        auto admin = w.t.admin();
        SessionAccess::database(admin)
            .prepare("UPDATE users SET disabled = 1 WHERE name = 'bob'")
            .run();
    }
    EXPECT_THROW(bob.checkStillValid(), AuthenticationError);
}
