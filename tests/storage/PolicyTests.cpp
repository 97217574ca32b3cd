// Issue 13, items 1 and 2, at the library: the policy is the site's (a person's file only
// tightens, field by field; the store's recorded policy is changed by an admin only, logged);
// password length and Argon2id cost are enforced at login (a weaker wrapping is re-wrapped); the
// failed-login record survives deletion, truncation, a blocked temporary name and a full disk.
// The same attacks through radmark-cli: PolicyAttacks.sh.

#include "StoreTestSupport.h"

#include "storage/AuditTrail.h"
#include "storage/Keyring.h"
#include "storage/Session.h"
#include "storage/StorePolicy.h"
#include "storage/Users.h"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

using namespace radmark::storage;
using namespace radmark::storage::testing;

namespace {

std::size_t count(Session& s, const std::string& action, const std::string& detailsPart = {}) {
    std::size_t n = 0;
    for (const auto& e : AuditTrail(s).entries(filterBy({}, action)))
        if (e.details.find(detailsPart) != std::string::npos)
            ++n;
    return n;
}

// A store with an annotator; lockout after 3 failures.
struct LockoutWorld {
    static Policy site() {
        Policy p = lowCostPolicy();
        p.maxFailedLogins = 3;
        return p;
    }
    LockoutWorld() : t(site()) {
        auto admin = t.admin();
        Users(admin).add("anna", Role::Annotator, userPassword);
    }
    void failThrice() {
        for (int i = 0; i < 3; ++i)
            EXPECT_THROW(t.store.login("anna", "not anna's password"), AuthenticationError);
    }
    Session breakGlass() const { return t.store.breakGlass(t.secrets.recoveryKey, "test"); }
    TestStore t;
};

} // namespace

TEST(PolicyTightening, EachFieldTakesTheStricterValueAndLooserOnesAreNamed) {
    const Policy site = lowCostPolicy();
    const Policy file =
        Policy::fromJson(R"({"max_failed_logins": 1000000, "idle_timeout_seconds": 60,
        "argon2_memory_bytes": 8192, "min_password_length": 20, "lockout_seconds": 1})");
    std::vector<std::string> ignored;
    const Policy p = site.tightenedBy(file, &ignored);
    EXPECT_EQ(p.maxFailedLogins, site.maxFailedLogins);
    EXPECT_EQ(p.idleTimeout, std::chrono::seconds(60));
    EXPECT_EQ(p.argon2MemoryBytes, site.argon2MemoryBytes);
    EXPECT_EQ(p.minPasswordLength, 20u);
    EXPECT_EQ(p.lockoutWindow, site.lockoutWindow);
    ASSERT_EQ(ignored.size(), 3u);
    EXPECT_EQ(ignored[0], "max_failed_logins 1000000 ignored: looser than the site's 5");
    // Settings the file does not name are left alone (its defaults are not imposed).
    const Policy partial = Policy::fromJson(R"({"min_password_length": 16})");
    EXPECT_EQ(site.tightenedBy(partial).argon2MemoryBytes, site.argon2MemoryBytes);
}

TEST(PolicyTightening, DestinationsOnlyShrink) {
    const Policy site = Policy::fromJson(R"({"export_destinations": [
        {"name": "nfs", "folder": "/mnt/research"}, {"name": "usb", "folder": "/media/usb"}]})");
    std::vector<std::string> ignored;
    const Policy p = site.tightenedBy(Policy::fromJson(R"({"export_destinations": [
        {"name": "nfs", "folder": "/mnt/research"}, {"name": "mine", "folder": "/home/anna"}]})"),
                                      &ignored);
    ASSERT_EQ(p.destinations().size(), 1u);
    EXPECT_EQ(p.destinations()[0].name, "nfs");
    ASSERT_EQ(ignored.size(), 1u);
    EXPECT_NE(ignored[0].find("'mine' ignored"), std::string::npos);
    // A site listing none allows none, whatever a person's file lists.
    EXPECT_TRUE(Policy{}
                    .tightenedBy(Policy::fromJson(R"({"export_allow_list": ["/home/anna"]})"))
                    .destinations()
                    .empty());
    // The two site sources: the system's list when it has one, else the store's.
    EXPECT_EQ(Policy{}.combinedWith(site).destinations().size(), 2u);
    EXPECT_EQ(site.combinedWith(p).destinations().size(), 2u);
    EXPECT_EQ(p.combinedWith(site).destinations().size(), 1u);
}

TEST(PolicySchema, IsVersionedAndRoundTrips) {
    EXPECT_THROW(Policy::fromJson(R"({"schema": 2})"), PolicyError);
    EXPECT_THROW(Policy::fromJson(R"({"schema": "1"})"), PolicyError);
    EXPECT_NO_THROW(Policy::fromJson(R"({"schema": 1})"));
    const Policy p = Policy::fromJson(Policy{}.toJson());
    EXPECT_NE(Policy{}.toJson().find(R"("schema":1)"), std::string::npos);
    EXPECT_EQ(p.argon2MemoryBytes, Policy{}.argon2MemoryBytes);
}

TEST(PolicyAtLogin, ALooserUserFileDoesNotClearTheLockout) {
    LockoutWorld w;
    w.failThrice();
    Policy loose = Policy::fromJson(R"({"max_failed_logins": 1000000, "lockout_seconds": 1})");
    const Store attacker(w.t.storeDir, LockoutWorld::site(), loose);
    EXPECT_EQ(attacker.ignoredPolicyValues().size(), 2u);
    EXPECT_THROW(attacker.login("anna", userPassword), AccountLockedError);
    auto bg = w.breakGlass();
    EXPECT_EQ(count(bg, "failed login", "looser values: ignored"), 1u);
    EXPECT_EQ(count(bg, "failed login"), 4u);
}

TEST(PolicyAtLogin, TheStoresRecordedPolicyIsChangedByAnAdminOnlyAndApplies) {
    LockoutWorld w;
    {
        auto anna = w.t.store.login("anna", userPassword);
        EXPECT_THROW(StorePolicy(anna).set(Policy::fromJson(R"({"max_failed_logins": 99})")),
                     PermissionDeniedError);
    }
    {
        auto admin = w.t.admin();
        EXPECT_EQ(count(admin, "refused policy change"), 1u);
        StorePolicy(admin).set(Policy::fromJson(R"({"min_password_length": 21})"));
        EXPECT_EQ(count(admin, "policy change", "min_password_length\":21"), 1u);
    }
    // anna's 20-character password is now below the store's minimum: refused, and logged.
    try {
        w.t.store.login("anna", userPassword);
        ADD_FAILURE() << "a password below the store's minimum opened it";
    } catch (const AuthenticationError& e) {
        EXPECT_NE(std::string(e.what()).find("at least 21 characters"), std::string::npos);
    }
    auto admin = w.t.admin(); // 21 characters: enough
    EXPECT_EQ(admin.store().policy().minPasswordLength, 21u);
    EXPECT_EQ(count(admin, "failed login", "does not meet the site's policy"), 1u);
    // A new password for anna must meet it too.
    EXPECT_THROW(Users(admin).changePassword("anna", "twenty characters!!!"), InvalidRequestError);
}

TEST(PolicyAtLogin, AWeakUserFileCannotWeakenHerOwnKey) {
    LockoutWorld w;
    const Policy weak = Policy::fromJson(
        R"({"argon2_memory_bytes": 8192, "argon2_operations": 1, "min_password_length": 2})");
    const Store attacker(w.t.storeDir, LockoutWorld::site(), weak);
    auto anna = attacker.login("anna", userPassword);
    EXPECT_THROW(Users(anna).changePassword("anna", "ab"), InvalidRequestError);
    Users(anna).changePassword("anna", "a new password of anna's");
    const Keyring k = Keyring::load(w.t.store.keyringPath());
    EXPECT_FALSE(k.wrappedBelow(k.userIdFor("anna"), LockoutWorld::site()));
    EXPECT_EQ(k.wrappingCost(k.userIdFor("anna")), "ops 1, 64 KiB");
}

TEST(PolicyAtLogin, AKeyWrappedBelowThePolicysCostIsRewrappedAndLogged) {
    LockoutWorld w;
    {
        // The entry wrapped at 8 KiB (by an older site policy, or by hand).
        Keyring k = Keyring::load(w.t.store.keyringPath());
        const auto id = k.userIdFor("anna");
        const SecureBytes key = k.unwrapWithPassword(id, userPassword);
        Policy weak = lowCostPolicy();
        weak.argon2MemoryBytes = 8192;
        k.addPassword(id, userPassword, key, weak);
        k.save(w.t.store.keyringPath());
        EXPECT_TRUE(k.wrappedBelow(id, LockoutWorld::site()));
    }
    { auto anna = w.t.store.login("anna", userPassword); }
    const Keyring k = Keyring::load(w.t.store.keyringPath());
    EXPECT_EQ(k.wrappingCost(k.userIdFor("anna")), "ops 1, 64 KiB");
    auto admin = w.t.admin();
    EXPECT_EQ(count(admin, "key rewrap", "Argon2id ops 1, 8 KiB -> ops 1, 64 KiB"), 1u);
}

TEST(FailedLoginRecord, DeletedOrTruncatedLocksEveryAccountAndIsLogged) {
    for (const bool truncate : {false, true}) {
        LockoutWorld w;
        w.failThrice();
        if (truncate)
            writeFile(w.t.store.failedLoginsPath(), "");
        else
            std::filesystem::remove(w.t.store.failedLoginsPath());
        EXPECT_THROW(w.t.store.login("anna", userPassword), AccountLockedError);
        EXPECT_THROW(w.t.admin(), AccountLockedError); // every account, not only anna's
        auto bg = w.breakGlass();
        EXPECT_EQ(count(bg, "failed logins tampered",
                        truncate ? "record is empty (truncated)" : "record is missing (deleted)"),
                  1u);
        // The 3 failures went with the file (in a store whose files are the user's, that cannot
        // be helped: docs/security.md); the refusals since then are all logged.
        EXPECT_EQ(count(bg, "failed login", "locked out"), 2u);
    }
}

TEST(FailedLoginRecord, ARemovedLineBreaksTheChain) {
    LockoutWorld w;
    w.failThrice();
    std::string text = readFile(w.t.store.failedLoginsPath());
    const auto second = text.find('\n', text.find('\n') + 1) + 1; // keep the header, the first
    const auto third = text.find('\n', second) + 1;
    writeFile(w.t.store.failedLoginsPath(), text.erase(second, third - second));
    EXPECT_THROW(w.t.admin(), AccountLockedError);
    auto bg = w.breakGlass();
    EXPECT_EQ(count(bg, "failed logins tampered", "removed or altered"), 1u);
}

TEST(FailedLoginRecord, ABlockedTemporaryNameHidesNoFailure) {
    LockoutWorld w;
    std::filesystem::create_directory(w.t.storeDir / "failed-logins.new");
    w.failThrice();
    EXPECT_THROW(w.t.store.login("anna", userPassword), AccountLockedError);
    auto admin = w.t.admin();
    EXPECT_EQ(count(admin, "failed login"), 4u);
}

TEST(FailedLoginRecord, AFullDiskRefusesTheLoginUncheckedAndTheNextLoginLogsIt) {
    LockoutWorld w;
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        // No file may grow (RLIMIT_FSIZE 0, as `ulimit -f 0`): a full disk for this process.
        std::signal(SIGXFSZ, SIG_IGN);
        const rlimit none{0, 0};
        ::setrlimit(RLIMIT_FSIZE, &none);
        int refused = 0;
        for (const std::string& password : {std::string("guess 1 guess 1"), userPassword}) {
            try {
                auto s = w.t.store.login("anna", password);
                ::_exit(1); // logged in unrecorded
            } catch (const AuthenticationError&) {
                ::_exit(2); // the password was checked unrecorded
            } catch (const StoreError& e) {
                refused += std::string(e.what()).find("the login cannot be recorded") == 0;
            }
        }
        ::_exit(refused == 2 ? 0 : 3);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "1: logged in, 2: checked unrecorded, 3: message";
    auto admin = w.t.admin();
    EXPECT_EQ(count(admin, "failed login", "refused before the password was checked"), 2u);
}

TEST(FailedLoginRecord, AnOlderCopyPutBackIsNoticedAtTheNextLogin) {
    LockoutWorld w;
    const std::string older = readFile(w.t.store.failedLoginsPath());
    w.failThrice();
    { auto admin = w.t.admin(); } // logs and drains them
    writeFile(w.t.store.failedLoginsPath(), older);
    auto admin = w.t.admin();
    EXPECT_EQ(count(admin, "failed logins tampered", "replaced by an older copy"), 1u);
}
