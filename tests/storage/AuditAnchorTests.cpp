// Issue 13, items 4 and 5: every entry says from where, refusals are logged like grants, and the
// log is anchored outside the store (system log + anchor file) so that a rollback, truncation or
// rewrite by someone who holds the store key fails `audit verify` against the anchors. The system
// log here is the test's own receiver (tests/storage/syslog_receiver.py: CI machines may have no
// /dev/log), which writes what it receives to a file read back independently of Radmark's parser.

#include "StoreHistory.h"
#include "StoreTestSupport.h"
#include "storage/Annotations.h"
#include "storage/AuditAnchor.h"
#include "storage/AuditTrail.h"
#include "storage/Exports.h"
#include "storage/SessionAccess.h"
#include "storage/Studies.h"
#include "storage/Users.h"

#include <signal.h>
#include <sodium.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <thread>

using namespace radmark::storage;
using namespace radmark::storage::testing;
namespace fs = std::filesystem;

namespace {

// The receiver, started by the test on loopback (or a unix socket in the test's folder).
class SyslogReceiver {
  public:
    SyslogReceiver(const fs::path& dir, const std::string& kind)
        : out_(dir / ("syslog-" + kind + ".log")) {
        const fs::path ready = dir / ("ready-" + kind);
        const std::string socketPath = (dir / ("log-" + kind + ".sock")).string();
        pid_ = ::fork();
        if (pid_ == 0) {
            ::execlp("python3", "python3", RADMARK_SYSLOG_RECEIVER, kind.c_str(), out_.c_str(),
                     ready.c_str(), socketPath.c_str(), static_cast<char*>(nullptr));
            ::_exit(127);
        }
        for (int i = 0; i < 400 && !fs::exists(ready); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        sink_ = readFile(ready);
        while (!sink_.empty() && sink_.back() == '\n')
            sink_.pop_back();
        if (sink_.empty())
            throw std::runtime_error("the syslog receiver did not start (python3?)");
    }
    ~SyslogReceiver() {
        ::kill(pid_, SIGTERM);
        ::waitpid(pid_, nullptr, 0);
    }
    const std::string& sink() const { return sink_; }
    const fs::path& file() const { return out_; }
    // Waits (no time asserted) until a received line holds text.
    bool waitFor(const std::string& text) const {
        for (int i = 0; i < 400; ++i) {
            if (readFile(out_).find(text) != std::string::npos)
                return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(25));
        }
        return false;
    }
    std::vector<std::string> lines() const {
        std::vector<std::string> all;
        std::istringstream in(readFile(out_));
        for (std::string line; std::getline(in, line);)
            all.push_back(line);
        return all;
    }

  private:
    fs::path out_;
    pid_t pid_ = -1;
    std::string sink_;
};

Policy anchoredPolicy(const std::string& sink, const fs::path& anchorFile, int every) {
    Policy p = lowCostPolicy();
    p.logSink = sink;
    p.anchorFile = anchorFile;
    p.checkpointEvery = every;
    return p;
}

Bytes meta(Database& db, const std::string& key) {
    auto s = db.prepare("SELECT value FROM meta WHERE key = ?");
    s.bind(1, key);
    EXPECT_TRUE(s.step());
    return s.blob(0);
}

// A store whose anchors go to a receiver and an anchor file "outside the store": a folder the
// store's user cannot write in the shared setup (here: another temporary folder).
struct AnchoredStore {
    explicit AnchoredStore(const std::string& kind = "udp", int every = 10)
        : outside(), receiver(outside.path(), kind),
          t(anchoredPolicy(receiver.sink(), outside.path() / "anchors", every)) {}

    fs::path anchorFile() const { return outside.path() / "anchors"; }
    std::int64_t logSize() const {
        return std::stoll(t.attackerDatabase().queryText("SELECT count(*) FROM audit_log"));
    }
    // Every anchor so far (after the receiver got entry `upTo`): the file and the system log.
    Anchors anchors(std::int64_t upTo) const {
        EXPECT_TRUE(receiver.waitFor("seq=\"" + std::to_string(upTo) + "\""))
            << "the receiver never got entry " << upTo;
        Anchors a = Anchors::read(receiver.file());
        if (fs::exists(anchorFile()))
            a.add(Anchors::read(anchorFile()));
        return a;
    }
    Anchors systemLogOnly(std::int64_t upTo) const {
        EXPECT_TRUE(receiver.waitFor("seq=\"" + std::to_string(upTo) + "\""));
        return Anchors::read(receiver.file());
    }
    AuditVerification verify(const SecureBytes* key, const Anchors* anchors) const {
        Database db = t.attackerDatabase();
        AuditLog log(db, meta(db, "store_id"));
        return log.verify(key, nullptr, meta(db, "signing_public"), anchors);
    }

    TempDir outside;
    SyslogReceiver receiver;
    TestStore t;
};

void dropTriggers(Database& db) {
    db.exec("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;");
}

void restoreTriggers(Database& db) {
    db.exec("CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT "
            "RAISE(ABORT, 'the access log is append-only'); END; CREATE TRIGGER "
            "audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'the "
            "access log is append-only'); END;");
}

std::string ownHost() {
    char name[256] = {};
    ::gethostname(name, sizeof name - 1);
    return name;
}

} // namespace

TEST(StorageAuditOrigin, EveryEntrySaysFromWhere) {
    TestStore t;
    addHistory(t);
    auto admin = t.admin();
    const auto entries = AuditTrail(admin).entries();
    ASSERT_GT(entries.size(), 15u);
    for (const auto& e : entries) {
        const CallerContext from = CallerContext::fromText(e.origin);
        EXPECT_EQ(from.uid, std::int64_t(::getuid())) << e.seq;
        EXPECT_EQ(from.pid, std::int64_t(::getpid())) << e.seq;
        EXPECT_EQ(from.host, ownHost()) << e.seq;
        EXPECT_EQ(from.program, "storage_anchor_tests") << e.seq;
        EXPECT_FALSE(from.version.empty()) << e.seq;
        EXPECT_EQ(from.workstationId.size(), 32u) << e.seq;
        EXPECT_FALSE(from.osUser.empty()) << e.seq;
    }
    // The same machine gives the same workstation id in every entry.
    EXPECT_EQ(CallerContext::fromText(entries.front().origin).workstationId,
              CallerContext::thisProcess().workstationId);
}

TEST(StorageAuditOrigin, AnAlteredOrStrippedOriginFailsVerification) {
    for (const char* altered :
         {"'{\"host\":\"elsewhere\"}'", "''", "replace(origin, '\"uid\":', '\"uid\":1')"}) {
        TestStore t;
        addHistory(t);
        {
            Database db = t.attackerDatabase();
            dropTriggers(db);
            db.exec(std::string("UPDATE audit_log SET origin = ") + altered + " WHERE seq = 4");
        }
        Database db = t.attackerDatabase();
        AuditLog log(db, meta(db, "store_id"));
        const auto chainOnly = log.verify(nullptr, nullptr, meta(db, "signing_public"));
        EXPECT_FALSE(chainOnly.ok) << altered;
        const auto withKey = log.verify(&t.secrets.auditKey, nullptr, meta(db, "signing_public"));
        EXPECT_FALSE(withKey.ok) << altered;
        EXPECT_EQ(withKey.firstBadSeq, 4) << altered << ": " << withKey.reason;
    }
}

TEST(StorageAuditOrigin, TheServiceRecordsItsClientNotItself) {
    TestStore t;
    {
        auto admin = t.admin();
        Users(admin).add("anna", Role::Annotator, userPassword);
    }
    const CallerContext client = CallerContext::peer(4242, 1, "radmark");
    {
        // radmarkd: the login under the client's credentials, then the session keeps them.
        std::optional<Session> anna;
        {
            CallerScope scope(client);
            anna.emplace(t.store.login("anna", userPassword));
        }
        anna->recordAccess("open study", "study 1");
        // A pid beyond any pid_max: no /proc entry to read, so the program is the one given.
        anna->setCaller(CallerContext::peer(4343, 99999999, "radmark-cli"));
        anna->recordAccess("open study", "study 2");
    }
    auto admin = t.admin();
    const auto logins = AuditTrail(admin).entries(filterBy("anna", "login"));
    ASSERT_EQ(logins.size(), 1u);
    EXPECT_EQ(CallerContext::fromText(logins[0].origin).uid, 4242);
    const auto opened = AuditTrail(admin).entries(filterBy("anna", "open study"));
    ASSERT_EQ(opened.size(), 2u);
    EXPECT_EQ(CallerContext::fromText(opened[0].origin).uid, 4242);
    EXPECT_EQ(CallerContext::fromText(opened[0].origin).pid, 1);
    EXPECT_EQ(CallerContext::fromText(opened[1].origin).uid, 4343);
    EXPECT_EQ(CallerContext::fromText(opened[1].origin).program, "radmark-cli");
    // Without a scope: this process again.
    const auto adminLogin = AuditTrail(admin).entries(filterBy(adminName, "login"));
    EXPECT_EQ(CallerContext::fromText(adminLogin.back().origin).pid, std::int64_t(::getpid()));
    EXPECT_TRUE(AuditTrail(admin).verify(&t.secrets.auditKey, nullptr).ok);
}

TEST(StorageAuditAnchors, EntriesAndCheckpointsReachTheSystemLogAsRfc5424) {
    AnchoredStore a("udp", 5);
    addHistory(a.t);
    const std::int64_t n = a.logSize();
    const Anchors anchors = a.anchors(n);
    // Read back without Radmark's parser: the RFC 5424 header, then one SD element per message.
    const std::regex entry(
        R"re(^<85>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \S+ storage_anchor_tests \d+ audit )re"
        R"re(\[radmark-audit@32473 store="([0-9a-f]{32})" seq="(\d+)" hash="([0-9a-f]{64})" )re"
        R"re(action="([^"]*)" user="([^"]*)" uid="(\d+)"\] )re");
    const std::regex checkpoint(
        R"re(^<85>1 \S+ \S+ \S+ \d+ checkpoint \[radmark-checkpoint@32473 store="[0-9a-f]{32}" )re"
        R"re(size="(\d+)" root="[0-9a-f]{64}" time="[^"]+" key="[0-9a-f]{64}" )re"
        R"re(sig="[0-9a-f]{128}"\] )re");
    std::map<std::int64_t, std::string> hashes;
    std::set<std::int64_t> checkpointSizes;
    for (const auto& line : a.receiver.lines()) {
        std::smatch m;
        if (std::regex_search(line, m, entry)) {
            hashes[std::stoll(m[2])] = m[3];
            EXPECT_EQ(std::stoll(m[6]), std::int64_t(::getuid()));
        } else if (std::regex_search(line, m, checkpoint)) {
            checkpointSizes.insert(std::stoll(m[1]));
        } else {
            ADD_FAILURE() << "not an RFC 5424 anchor: " << line;
        }
        // Only what the entry's anchor holds: no object, no details.
        EXPECT_EQ(line.find("study-"), std::string::npos) << line;
        EXPECT_EQ(line.find("draft"), std::string::npos) << line;
    }
    ASSERT_EQ(std::int64_t(hashes.size()), n) << "one message per committed entry";
    {
        Database db = a.t.attackerDatabase();
        const Bytes storeId = meta(db, "store_id");
        for (const auto& e : AuditLog(db, storeId).entries())
            EXPECT_EQ(hashes[e.seq], toHex(auditEntryHash(storeId, e))) << e.seq;
    }
    for (std::int64_t size = 5; size <= n; size += 5)
        EXPECT_TRUE(checkpointSizes.count(size)) << "no checkpoint at " << size;
    // The anchor file: one signed checkpoint per line, every N entries and at every logout.
    const Anchors file = Anchors::read(a.anchorFile());
    EXPECT_EQ(file.damaged, 0);
    EXPECT_GE(std::int64_t(file.checkpoints.size()), n / 5 + 2);
    for (const auto& c : file.checkpoints)
        EXPECT_TRUE(c.signatureValid());
    EXPECT_EQ(file.checkpoints.back().treeSize, n) << "the last logout's checkpoint";
    EXPECT_EQ(fs::status(a.anchorFile()).permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write);

    const auto v = a.verify(&a.t.secrets.auditKey, &anchors);
    EXPECT_TRUE(v.ok) << v.reason;
    EXPECT_TRUE(v.anchorsChecked);
    EXPECT_EQ(v.anchorEntries, n);
    EXPECT_EQ(v.anchoredSize, n);
    EXPECT_GT(v.anchorCheckpoints, n / 5);
    EXPECT_EQ(v.anchorLinesDamaged, 0);

    // Two damaged lines in a copy of the anchor file (a cut-off checkpoint, a garbled one):
    // the rest still anchors the log, and the verification says how many lines it could not read.
    const fs::path copy = a.t.dir.path() / "anchors-damaged.jsonl";
    std::string text = readFile(a.anchorFile());
    const std::string first = text.substr(0, text.find('\n'));
    text += first.substr(0, first.size() / 2) + "\n{\"tree_size\": \"many\"}\n";
    std::ofstream(copy) << text;
    Anchors damaged = Anchors::read(copy);
    EXPECT_EQ(damaged.damaged, 2);
    damaged.add(a.systemLogOnly(n));
    const auto withDamage = a.verify(&a.t.secrets.auditKey, &damaged);
    EXPECT_TRUE(withDamage.ok) << withDamage.reason;
    EXPECT_EQ(withDamage.anchorLinesDamaged, 2);
}

TEST(StorageAuditAnchors, UnixDatagramAndTcpSinksReceiveToo) {
    for (const char* kind : {"unix", "tcp"}) {
        AnchoredStore a(kind, 3);
        addHistory(a.t);
        const std::int64_t n = a.logSize();
        const Anchors anchors = a.systemLogOnly(n);
        EXPECT_EQ(std::int64_t(anchors.entries.size()), n) << kind;
        EXPECT_GE(std::int64_t(anchors.checkpoints.size()), n / 3) << kind;
        const auto v = a.verify(nullptr, &anchors);
        EXPECT_TRUE(v.ok) << kind << ": " << v.reason;
    }
}

TEST(StorageAuditAnchors, OnlyCommittedEntriesAreAnchored) {
    AnchoredStore a;
    auto admin = a.t.admin();
    EXPECT_THROW(SessionAccess::recorded(
                     admin, "study add", "study x", "",
                     [](Database&) -> int { throw InvalidRequestError("changed my mind"); }),
                 InvalidRequestError);
    Studies(admin).add("after", "");
    const std::int64_t n = a.logSize();
    const Anchors anchors = a.systemLogOnly(n);
    EXPECT_EQ(std::int64_t(anchors.entries.size()), n);
    const auto v = a.verify(&a.t.secrets.auditKey, &anchors);
    EXPECT_TRUE(v.ok) << v.reason;
    // The admin's own `audit checkpoint` goes to the anchor file as well.
    const Checkpoint taken = AuditTrail(admin).checkpoint();
    const Anchors file = Anchors::read(a.anchorFile());
    ASSERT_FALSE(file.checkpoints.empty());
    EXPECT_EQ(file.checkpoints.back().root, taken.root);
    EXPECT_EQ(file.checkpoints.back().treeSize, taken.treeSize);
}

// Item 4, first attack: store.db and keyring restored from an older copy.
TEST(StorageAuditAnchors, StoreAndKeyringRestoredFromACopyFailAgainstTheAnchors) {
    AnchoredStore a;
    addHistory(a.t);
    const std::string oldDb = readFile(a.t.store.databasePath());
    const std::string oldKeyring = readFile(a.t.store.keyringPath());
    {
        auto admin = a.t.admin();
        Users(admin).add("zed", Role::Reviewer, userPassword);
        Users(admin).disable("anna");
    }
    const std::int64_t n = a.logSize();
    const Anchors anchors = a.anchors(n);
    writeFile(a.t.store.databasePath(), oldDb);
    writeFile(a.t.store.keyringPath(), oldKeyring);
    fs::remove(a.t.storeDir / "store.db-wal");
    fs::remove(a.t.storeDir / "store.db-shm");
    // What the issue found: the copy is consistent in itself, even with the offline key...
    EXPECT_TRUE(a.verify(&a.t.secrets.auditKey, nullptr).ok);
    // ...but not with what already left the store.
    const auto v = a.verify(&a.t.secrets.auditKey, &anchors);
    EXPECT_FALSE(v.ok);
    EXPECT_NE(v.reason.find("rolled back"), std::string::npos) << v.reason;
    // The anchor file alone catches it too (the last logout's checkpoint).
    const Anchors file = Anchors::read(a.anchorFile());
    EXPECT_FALSE(a.verify(nullptr, &file).ok);
    // And once the rolled-back store has grown past the anchored size again.
    {
        auto admin = a.t.admin(); // anna is enabled again in the copy
        for (int i = 0; i < 12; ++i)
            Studies(admin).add("after-rollback-" + std::to_string(i), "");
    }
    ASSERT_GT(a.logSize(), n);
    const auto grown = a.verify(&a.t.secrets.auditKey, &file);
    EXPECT_FALSE(grown.ok);
    EXPECT_NE(grown.reason.find("rewritten, or rolled back and written again"), std::string::npos)
        << grown.reason;
    const auto grownSyslog = a.verify(&a.t.secrets.auditKey, &anchors);
    EXPECT_FALSE(grownSyslog.ok);
}

// Item 4, second attack, rerun as written there: an annotator who holds the store key saves the
// audit head and key state, makes a "hidden" save, drops the triggers, deletes the tail and
// restores the saved state. She kills her process before it logs out, so the only anchors of
// the hidden save are its entries in the system log.
TEST(StorageAuditAnchors, AnnotatorRestoringTheSavedAuditStateFailsAgainstTheAnchors) {
    AnchoredStore a("udp", 1000); // no periodic checkpoint falls on the hidden save
    std::int64_t studyId = 0;
    {
        auto admin = a.t.admin();
        Users(admin).add("anna", Role::Annotator, userPassword);
        studyId = Studies(admin).add("study-hidden", "");
        Studies(admin).assign("anna", studyId);
    }
    // Anna's own key: the keyring wraps the database key for her password.
    const auto annaDatabase = [&] {
        const Keyring keyring = Keyring::load(a.t.store.keyringPath());
        const SecureBytes key = keyring.unwrapWithPassword(keyring.userIdFor("anna"), userPassword);
        return Database::open(a.t.store.databasePath(), &key, false);
    };
    Bytes savedHead, savedKey;
    std::int64_t savedSize = 0;
    {
        Database db = annaDatabase();
        savedHead = meta(db, "audit_head");
        savedKey = meta(db, "audit_key");
        savedSize = std::stoll(db.queryText("SELECT count(*) FROM audit_log"));
    }
    // The hidden save, in a process that dies without logging out.
    const pid_t child = ::fork();
    if (child == 0) {
        try {
            auto anna = a.t.store.login("anna", userPassword);
            const std::uint8_t labels[] = {7, 7, 7};
            Annotations(anna).save(studyId, labels, "hidden");
            ::kill(::getpid(), SIGKILL);
        } catch (...) {
        }
        ::_exit(3);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the hidden save failed";
    const std::int64_t afterSave = a.logSize();
    ASSERT_GE(afterSave, savedSize + 2); // her login and the save
    const Anchors anchors = a.anchors(afterSave);
    {
        Database db = annaDatabase();
        dropTriggers(db);
        db.prepare("DELETE FROM audit_log WHERE seq > ?").bind(1, savedSize).run();
        db.prepare("UPDATE meta SET value = ? WHERE key = 'audit_head'")
            .bindBlob(1, savedHead)
            .run();
        db.prepare("UPDATE meta SET value = ? WHERE key = 'audit_key'").bindBlob(1, savedKey).run();
        restoreTriggers(db);
        EXPECT_EQ(db.queryText("SELECT count(*) FROM annotations"), "1")
            << "the hidden version stays in the store";
    }
    // What the issue found: verify passes, even with the offline key.
    EXPECT_TRUE(a.verify(&a.t.secrets.auditKey, nullptr).ok);
    // Against the anchors it fails, saying what happened.
    const auto v = a.verify(&a.t.secrets.auditKey, &anchors);
    EXPECT_FALSE(v.ok);
    EXPECT_EQ(v.firstBadSeq, savedSize + 1) << v.reason;
    EXPECT_NE(v.reason.find("rolled back to an older copy or its log truncated"), std::string::npos)
        << v.reason;
    EXPECT_NE(v.reason.find("save by anna"), std::string::npos) << v.reason;
    // Through the admin's session as `audit verify` runs it (which logs the failed run).
    auto admin = a.t.admin();
    EXPECT_FALSE(AuditTrail(admin).verify(&a.t.secrets.auditKey, nullptr, &anchors).ok);
    const auto runs = AuditTrail(admin).entries(filterBy(adminName, "audit verify"));
    ASSERT_FALSE(runs.empty());
    EXPECT_NE(runs.back().details.find("FAILED"), std::string::npos);
}

TEST(StorageAuditAnchors, AnEntryRewrittenWithTheCurrentKeyFailsAgainstTheAnchors) {
    AnchoredStore a;
    addHistory(a.t);
    const std::int64_t n = a.logSize();
    const Anchors anchors = a.anchors(n);
    {
        Database db = a.t.attackerDatabase();
        dropTriggers(db);
        db.exec("UPDATE audit_log SET details = 'nothing' WHERE seq = " + std::to_string(n));
        // The head re-pointed, so that the chain alone looks whole.
        AuditLog log(db, meta(db, "store_id"));
        const auto last = log.entries().back();
        db.prepare("UPDATE meta SET value = ? WHERE key = 'audit_head'")
            .bindBlob(1, auditEntryHash(meta(db, "store_id"), last))
            .run();
    }
    EXPECT_TRUE(a.verify(nullptr, nullptr).ok);
    const auto v = a.verify(nullptr, &anchors);
    EXPECT_FALSE(v.ok);
    EXPECT_NE(v.reason.find("rewritten"), std::string::npos) << v.reason;
}

TEST(StorageAuditAnchors, ForgedOrForeignAnchorsAreNotTrusted) {
    AnchoredStore a;
    addHistory(a.t);
    const std::int64_t n = a.logSize();
    Anchors anchors = a.anchors(n);
    // A checkpoint of this store signed by some other key (anyone can write to /dev/log).
    Checkpoint forged = anchors.checkpoints.back();
    Bytes publicKey(crypto_sign_PUBLICKEYBYTES);
    SecureBytes secretKey(crypto_sign_SECRETKEYBYTES);
    crypto_sign_keypair(publicKey.data(), secretKey.data());
    forged.publicKey = publicKey;
    const std::string m = forged.signedMessage();
    crypto_sign_detached(forged.signature.data(), nullptr,
                         reinterpret_cast<const unsigned char*>(m.data()), m.size(),
                         secretKey.data());
    Anchors withForged = anchors;
    withForged.checkpoints.push_back(forged);
    const auto v = a.verify(nullptr, &withForged);
    EXPECT_FALSE(v.ok);
    EXPECT_NE(v.reason.find("not signed by this workstation"), std::string::npos) << v.reason;
    // Anchors of another store prove nothing about this one.
    AnchoredStore other;
    addHistory(other.t);
    const Anchors foreign = other.anchors(other.logSize());
    const auto none = a.verify(nullptr, &foreign);
    EXPECT_FALSE(none.ok);
    EXPECT_NE(none.reason.find("nothing of this store"), std::string::npos) << none.reason;
}

// Item 5: refusals are logged like grants, by who and from where, and anchored.
TEST(StorageAuditRefusals, RefusalsAreLoggedAnchoredAndVerified) {
    AnchoredStore a;
    std::int64_t unassigned = 0;
    {
        auto admin = a.t.admin();
        Users(admin).add("anna", Role::Annotator, userPassword);
        Users(admin).add("rita", Role::Reviewer, userPassword);
        unassigned = Studies(admin).add("study-not-hers", "");
    }
    {
        auto anna = a.t.store.login("anna", userPassword);
        EXPECT_THROW(Studies(anna).open(unassigned), PermissionDeniedError);
        auto rita = a.t.store.login("rita", userPassword);
        EXPECT_THROW(Users(rita).add("mallory", Role::Admin, userPassword), PermissionDeniedError);
        auto admin = a.t.admin();
        EXPECT_THROW(Exports(admin).record("/tmp/not-an-allowed-destination", "study 1"),
                     PermissionDeniedError);
        EXPECT_THROW(Exports(admin).request("home-share", "dataset x"), PermissionDeniedError);
    }
    const std::int64_t n = a.logSize();
    const Anchors anchors = a.anchors(n);
    auto admin = a.t.admin();
    const auto only = [&](const std::string& user, const std::string& action) {
        const auto found = AuditTrail(admin).entries(filterBy(user, action));
        EXPECT_EQ(found.size(), 1u) << user << " " << action;
        return found.empty() ? AuditEntry{} : found[0];
    };
    const AuditEntry open = only("anna", "refused open study");
    EXPECT_EQ(open.object, "study " + std::to_string(unassigned));
    EXPECT_NE(open.details.find("not assigned to you"), std::string::npos);
    EXPECT_EQ(CallerContext::fromText(open.origin).uid, std::int64_t(::getuid()));
    const AuditEntry add = only("rita", "refused add user");
    EXPECT_NE(add.details.find("only the admin role"), std::string::npos);
    EXPECT_EQ(CallerContext::fromText(add.origin).pid, std::int64_t(::getpid()));
    EXPECT_EQ(AuditTrail(admin).entries(filterBy(adminName, "export refused")).size(), 2u);
    EXPECT_TRUE(AuditTrail(admin).entries(filterBy("", "user add")).size() == 3u)
        << "mallory was not added";
    // In the system log as well, by action and user (and nothing of the study).
    const std::string syslog = readFile(a.receiver.file());
    EXPECT_NE(syslog.find("action=\"refused open study\" user=\"anna\""), std::string::npos);
    EXPECT_NE(syslog.find("action=\"refused add user\" user=\"rita\""), std::string::npos);
    EXPECT_NE(syslog.find("action=\"export refused\" user=\"" + adminName + "\""),
              std::string::npos);
    EXPECT_EQ(syslog.find("study-not-hers"), std::string::npos);
    const auto v = AuditTrail(admin).verify(&a.t.secrets.auditKey, nullptr, &anchors);
    EXPECT_TRUE(v.ok) << v.reason;
    EXPECT_TRUE(v.anchorsChecked);
}

TEST(StorageAuditRefusals, ARefusalInsideARolledBackChangeIsStillLogged) {
    AnchoredStore a;
    auto admin = a.t.admin();
    EXPECT_THROW(SessionAccess::recorded(admin, "study add", "study x", "",
                                         [&](Database&) -> int {
                                             admin.recordAccess("refused assign", "study x",
                                                                "a rule said no");
                                             throw PermissionDeniedError("a rule said no");
                                         }),
                 PermissionDeniedError);
    // And a refusal inside a change that commits is written once, with it.
    SessionAccess::recorded(admin, "study note", "study y", "", [&](Database&) {
        admin.recordAccess("refused set study blind", "study y", "kept with its change");
    });
    EXPECT_EQ(AuditTrail(admin).entries(filterBy(adminName, "refused assign")).size(), 1u);
    EXPECT_EQ(AuditTrail(admin).entries(filterBy(adminName, "study add")).size(), 0u);
    EXPECT_EQ(AuditTrail(admin).entries(filterBy(adminName, "refused set study blind")).size(), 1u);
    const std::int64_t n = a.logSize();
    const Anchors anchors = a.systemLogOnly(n);
    EXPECT_EQ(std::int64_t(anchors.entries.size()), n) << "only committed entries are anchored";
    const auto v = AuditTrail(admin).verify(&a.t.secrets.auditKey, nullptr, &anchors);
    EXPECT_TRUE(v.ok) << v.reason;
}

TEST(StorageAuditAnchors, PolicySettingsAreCheckedAndRoundTrip) {
    const Policy p = Policy::fromJson(R"({"log_sink": "udp:siem.example.org:514",
        "anchor_file": "/var/log/radmark/anchors", "checkpoint_every": 50})");
    EXPECT_EQ(p.logSink, "udp:siem.example.org:514");
    EXPECT_EQ(p.anchorFile, "/var/log/radmark/anchors");
    EXPECT_EQ(p.checkpointEvery, 50);
    const Policy again = Policy::fromJson(p.toJson());
    EXPECT_EQ(again.logSink, p.logSink);
    EXPECT_EQ(again.anchorFile, p.anchorFile);
    EXPECT_EQ(again.checkpointEvery, 50);
    EXPECT_EQ(LogSink::parse("/dev/log").kind, LogSink::Kind::UnixDatagram);
    EXPECT_EQ(LogSink::parse("tcp:[::1]:6514").host, "::1");
    EXPECT_EQ(LogSink::parse("tcp:[::1]:6514").port, 6514);
    for (const char* bad :
         {R"({"log_sink": "udp:host"})", R"({"log_sink": "tcp:h:0"})", R"({"log_sink": "syslog"})",
          R"({"anchor_file": "anchors"})", R"({"checkpoint_every": 0})"})
        EXPECT_THROW(Policy::fromJson(bad), PolicyError) << bad;
    // A policy without them records as before: no spurious "policy change" after an upgrade.
    EXPECT_EQ(Policy{}.toJson().find("log_sink"), std::string::npos);
}

// Checkpoints grow the process's Merkle tree by the new entries only; at every size the root
// is the one RFC 6962's definition (merkleRoot, as verify checks a checkpoint) gives.
TEST(StorageAuditAnchors, GrownCheckpointsMatchTheFullTreeAtEverySize) {
    TestStore t;
    Database db = t.attackerDatabase();
    const Bytes storeId = meta(db, "store_id");
    Bytes secret = meta(db, "signing_secret");
    const SecureBytes key(secret.data(), secret.size());
    AuditLog log(db, storeId);
    for (int i = 0; i < 40; ++i) {
        Transaction tx(db);
        for (int k = 0; k <= i % 3; ++k)
            log.append(adminName, "open study", "study " + std::to_string(i));
        tx.commit();
        const Checkpoint cp = log.checkpoint(key, meta(db, "signing_public"));
        EXPECT_EQ(cp.treeSize, log.size());
        const auto v = log.verify(nullptr, &cp, meta(db, "signing_public"));
        EXPECT_TRUE(v.ok) << cp.treeSize << ": " << v.reason;
    }
}
