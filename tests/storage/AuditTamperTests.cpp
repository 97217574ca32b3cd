// The tamper matrix: each way an attacker could alter the access log is caught by verification.
// Triggers block UPDATE/DELETE, so the attacker here holds the database key (a stolen password)
// and drops them, or edits the raw file bytes.

#include "StoreHistory.h"
#include "StoreTestSupport.h"
#include "storage/Annotations.h"
#include "storage/AuditTrail.h"
#include "storage/Studies.h"
#include "storage/Users.h"

#include <sodium.h>

using namespace radmark::storage;
using namespace radmark::storage::testing;

namespace {

Bytes meta(Database& db, const std::string& key) {
    auto s = db.prepare("SELECT value FROM meta WHERE key = ?");
    s.bind(1, key);
    EXPECT_TRUE(s.step());
    return s.blob(0);
}

// Verification as `audit verify` runs it, on the database as it is (no new entries added).
AuditVerification verify(TestStore& t, const SecureBytes* key, const Checkpoint* checkpoint) {
    Database db = t.attackerDatabase();
    AuditLog log(db, meta(db, "store_id"));
    return log.verify(key, checkpoint, meta(db, "signing_public"));
}

void dropTriggers(Database& db) {
    db.exec("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;");
}

std::int64_t logSize(TestStore& t) {
    return std::stoll(t.attackerDatabase().queryText("SELECT count(*) FROM audit_log"));
}

Checkpoint takeCheckpoint(TestStore& t) {
    auto admin = t.admin();
    return Checkpoint::fromJson(AuditTrail(admin).checkpoint().toJson()); // through the file format
}

} // namespace

TEST(StorageAuditLog, MerkleRootMatchesRfc6962TestVectors) {
    // The Certificate Transparency reference inputs and roots for trees of 1 to 8 leaves.
    const std::vector<Bytes> inputs = {{},
                                       {0x00},
                                       {0x10},
                                       {0x20, 0x21},
                                       {0x30, 0x31},
                                       {0x40, 0x41, 0x42, 0x43},
                                       {0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57},
                                       {0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
                                        0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f}};
    const char* roots[] = {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                           "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
                           "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
                           "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                           "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
                           "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
                           "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
                           "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};
    for (std::size_t n = 1; n <= inputs.size(); ++n) {
        const std::vector<Bytes> leaves(inputs.begin(), inputs.begin() + long(n));
        EXPECT_EQ(toHex(merkleRoot(leaves)), roots[n - 1]) << n << " leaves";
    }
    EXPECT_EQ(toHex(merkleRoot({})),
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(StorageAuditTamper, UntouchedLogVerifiesWithKeyAndCheckpoint) {
    TestStore t;
    addHistory(t);
    const Checkpoint cp = takeCheckpoint(t);
    const auto v = verify(t, &t.secrets.auditKey, &cp);
    EXPECT_TRUE(v.ok) << v.reason;
    EXPECT_TRUE(v.macsChecked);
    EXPECT_TRUE(v.checkpointChecked);
    EXPECT_EQ(v.entriesChecked, logSize(t));
    EXPECT_GT(v.entriesChecked, 15);
    // And through the session, as the CLI and the admin panel run it (which logs the run).
    auto admin = t.admin();
    const auto viaSession = AuditTrail(admin).verify(&t.secrets.auditKey, &cp);
    EXPECT_TRUE(viaSession.ok) << viaSession.reason;
    EXPECT_EQ(AuditTrail(admin).entries(filterBy({}, "audit verify")).size(), 1u);
}

TEST(StorageAuditTamper, FlippedByteInAnEntry) {
    TestStore t;
    addHistory(t);
    {
        Database db = t.attackerDatabase();
        dropTriggers(db);
        db.exec("UPDATE audit_log SET user = 'mallory' || substr(user, 8) WHERE seq = 5");
        db.exec("UPDATE audit_log SET details = 'role admiN' WHERE seq = 2");
    }
    const auto withKey = verify(t, &t.secrets.auditKey, nullptr);
    EXPECT_FALSE(withKey.ok);
    EXPECT_EQ(withKey.firstBadSeq, 2) << withKey.reason;
    EXPECT_FALSE(verify(t, nullptr, nullptr).ok); // the hash chain alone also sees it
}

TEST(StorageAuditTamper, FlippedByteInTheRawFile) {
    TestStore t;
    addHistory(t);
    std::string bytes = readFile(t.store.databasePath());
    ASSERT_FALSE(std::filesystem::exists(t.storeDir / "store.db-wal") &&
                 std::filesystem::file_size(t.storeDir / "store.db-wal") > 0);
    ASSERT_GT(bytes.size(), 4096u * 4);
    // Flip one bit in each page in turn; opening, checking and verifying must notice every one.
    int detected = 0, pages = 0;
    for (std::size_t page = 1; page * 4096 < bytes.size(); ++page, ++pages) {
        std::string altered = bytes;
        altered[page * 4096 + 2000] ^= 0x40;
        writeFile(t.store.databasePath(), altered);
        std::filesystem::remove(t.storeDir / "store.db-wal");
        std::filesystem::remove(t.storeDir / "store.db-shm");
        try {
            Database db = t.attackerDatabase();
            db.exec("PRAGMA integrity_check");
            AuditLog log(db, meta(db, "store_id"));
            if (!log.verify(&t.secrets.auditKey, nullptr, meta(db, "signing_public")).ok)
                ++detected;
        } catch (const StoreError&) {
            ++detected;
        }
    }
    EXPECT_EQ(detected, pages) << "a flipped byte went unnoticed";
}

TEST(StorageAuditTamper, DeletedEntry) {
    TestStore t;
    addHistory(t);
    {
        Database db = t.attackerDatabase();
        dropTriggers(db);
        db.exec("DELETE FROM audit_log WHERE seq = 7");
    }
    for (const SecureBytes* key : std::vector<const SecureBytes*>{&t.secrets.auditKey, nullptr}) {
        const auto v = verify(t, key, nullptr);
        EXPECT_FALSE(v.ok);
        EXPECT_EQ(v.firstBadSeq, 7) << v.reason;
        EXPECT_NE(v.reason.find("missing"), std::string::npos) << v.reason;
    }
}

TEST(StorageAuditTamper, SwappedEntries) {
    TestStore t;
    addHistory(t);
    {
        Database db = t.attackerDatabase();
        dropTriggers(db);
        db.exec("CREATE TEMP TABLE keep AS SELECT * FROM audit_log WHERE seq IN (8, 9)");
        db.exec("UPDATE audit_log SET (time, user, action, object, details, prev_hash, mac) = "
                "(SELECT time, user, action, object, details, prev_hash, mac FROM keep WHERE "
                "keep.seq = 17 - audit_log.seq) WHERE seq IN (8, 9)");
    }
    const auto v = verify(t, &t.secrets.auditKey, nullptr);
    EXPECT_FALSE(v.ok);
    EXPECT_EQ(v.firstBadSeq, 8) << v.reason;
}

TEST(StorageAuditTamper, EntrySplicedFromAnotherStore) {
    TestStore a;
    addHistory(a);
    TestStore b;
    addHistory(b);
    AuditEntry foreign;
    {
        Database db = b.attackerDatabase();
        foreign = AuditLog(db, meta(db, "store_id")).entries().at(9);
    }
    const std::int64_t n = logSize(a);
    {
        // Appended at the end, chained to a's head so the hash chain itself looks intact.
        Database db = a.attackerDatabase();
        const Bytes head = meta(db, "audit_head");
        db.prepare("INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
            .bind(1, n + 1)
            .bind(2, foreign.time)
            .bind(3, foreign.user)
            .bind(4, foreign.action)
            .bind(5, foreign.object)
            .bind(6, foreign.details)
            .bindBlob(7, head)
            .bindBlob(8, foreign.mac)
            .bind(9, foreign.origin)
            .run();
        AuditEntry spliced = foreign;
        spliced.seq = n + 1;
        spliced.prevHash = head;
        const Bytes hash = auditEntryHash(meta(db, "store_id"), spliced);
        db.prepare("UPDATE meta SET value = ? WHERE key = 'audit_head'").bindBlob(1, hash).run();
    }
    const auto v = verify(a, &a.secrets.auditKey, nullptr);
    EXPECT_FALSE(v.ok);
    EXPECT_EQ(v.firstBadSeq, n + 1) << v.reason;
    EXPECT_NE(v.reason.find("MAC"), std::string::npos) << v.reason;
    {
        // In place of an existing entry it breaks the chain as well.
        Database db = a.attackerDatabase();
        dropTriggers(db);
        db.prepare("UPDATE audit_log SET time = ?, user = ?, action = ?, object = ?, details = ?, "
                   "prev_hash = ?, mac = ? WHERE seq = 10")
            .bind(1, foreign.time)
            .bind(2, foreign.user)
            .bind(3, foreign.action)
            .bind(4, foreign.object)
            .bind(5, foreign.details)
            .bindBlob(6, foreign.prevHash)
            .bindBlob(7, foreign.mac)
            .run();
    }
    EXPECT_EQ(verify(a, nullptr, nullptr).firstBadSeq, 10);
}

TEST(StorageAuditTamper, TruncatedTailAgainstACheckpoint) {
    TestStore t;
    addHistory(t);
    const Checkpoint cp = takeCheckpoint(t);
    {
        // The attacker removes the last three entries and points the head at the new last one.
        Database db = t.attackerDatabase();
        dropTriggers(db);
        db.prepare("DELETE FROM audit_log WHERE seq > ?").bind(1, cp.treeSize - 3).run();
        AuditLog log(db, meta(db, "store_id"));
        const auto last = log.entries().back();
        db.prepare("UPDATE meta SET value = ? WHERE key = 'audit_head'")
            .bindBlob(1, auditEntryHash(meta(db, "store_id"), last))
            .run();
    }
    EXPECT_TRUE(verify(t, nullptr, nullptr).ok) << "chain-only cannot see a clean truncation";
    const auto v = verify(t, nullptr, &cp);
    EXPECT_FALSE(v.ok);
    EXPECT_NE(v.reason.find("checkpoint"), std::string::npos) << v.reason;
    // The offline key sees it too: the stored key has evolved past the last entry.
    EXPECT_FALSE(verify(t, &t.secrets.auditKey, nullptr).ok);
}

TEST(StorageAuditTamper, WholeStoreRolledBackToAnOlderCopy) {
    TestStore t;
    addHistory(t);
    const std::string oldDb = readFile(t.store.databasePath());
    const std::string oldKeyring = readFile(t.store.keyringPath());
    {
        auto admin = t.admin();
        Users(admin).add("zed", Role::Reviewer, userPassword);
    }
    const Checkpoint cp = takeCheckpoint(t);
    writeFile(t.store.databasePath(), oldDb);
    writeFile(t.store.keyringPath(), oldKeyring);
    std::filesystem::remove(t.storeDir / "store.db-wal");
    std::filesystem::remove(t.storeDir / "store.db-shm");
    // The old copy is consistent in itself, even with the offline key...
    EXPECT_TRUE(verify(t, &t.secrets.auditKey, nullptr).ok);
    // ...but not with the checkpoint exported after it.
    const auto v = verify(t, &t.secrets.auditKey, &cp);
    EXPECT_FALSE(v.ok);
    EXPECT_NE(v.reason.find("rolled back"), std::string::npos) << v.reason;
    // Also after new activity on the rolled-back store has grown the log past the checkpoint size.
    {
        auto admin = t.admin();
        for (int i = 0; i < 10; ++i)
            Studies(admin).add("after-rollback-" + std::to_string(i), "");
    }
    ASSERT_GT(logSize(t), cp.treeSize);
    EXPECT_FALSE(verify(t, &t.secrets.auditKey, &cp).ok);
    EXPECT_FALSE(verify(t, nullptr, &cp).ok);
}

TEST(StorageAuditTamper, ResealedWithALaterKey) {
    TestStore t;
    addHistory(t);
    {
        // The attacker has the store key and thus the CURRENT audit key, and rewrites entry 3
        // onwards, chaining and MACing every entry with the keys it can derive from there.
        Database db = t.attackerDatabase();
        dropTriggers(db);
        const Bytes storeId = meta(db, "store_id");
        Bytes stolen = meta(db, "audit_key");
        SecureBytes key(stolen.data(), stolen.size());
        AuditLog log(db, storeId);
        auto entries = log.entries();
        Bytes prev = entries.at(1).prevHash;
        prev = auditEntryHash(storeId, entries.at(1));
        for (std::size_t i = 2; i < entries.size(); ++i) {
            AuditEntry e = entries[i];
            if (e.seq == 3)
                e.details = "nothing happened here";
            e.prevHash = prev;
            const Bytes hash = auditEntryHash(storeId, e);
            e.mac.assign(crypto_auth_hmacsha256_BYTES, 0);
            crypto_auth_hmacsha256(e.mac.data(), hash.data(), hash.size(), key.data());
            key = nextAuditKey(key);
            db.prepare("UPDATE audit_log SET details = ?, prev_hash = ?, mac = ? WHERE seq = ?")
                .bind(1, e.details)
                .bindBlob(2, e.prevHash)
                .bindBlob(3, e.mac)
                .bind(4, e.seq)
                .run();
            prev = hash;
        }
        db.prepare("UPDATE meta SET value = ? WHERE key = 'audit_head'").bindBlob(1, prev).run();
        db.prepare("UPDATE meta SET value = ? WHERE key = 'audit_key'")
            .bindBlob(1, key.data(), key.size())
            .run();
    }
    EXPECT_TRUE(verify(t, nullptr, nullptr).ok) << "the chain alone was rebuilt consistently";
    const auto v = verify(t, &t.secrets.auditKey, nullptr);
    EXPECT_FALSE(v.ok);
    EXPECT_EQ(v.firstBadSeq, 3) << v.reason;
}

TEST(StorageAuditTamper, WrongVerificationKey) {
    TestStore t;
    addHistory(t);
    const SecureBytes wrong = SecureBytes::random(32);
    const auto v = verify(t, &wrong, nullptr);
    EXPECT_FALSE(v.ok);
    EXPECT_EQ(v.firstBadSeq, 1);
    TestStore other;
    EXPECT_FALSE(verify(t, &other.secrets.auditKey, nullptr).ok);
}

TEST(StorageAuditTamper, AlteredOrForeignCheckpoint) {
    TestStore t;
    addHistory(t);
    Checkpoint cp = takeCheckpoint(t);
    Checkpoint altered = cp;
    altered.treeSize -= 1;
    EXPECT_NE(verify(t, nullptr, &altered).reason.find("signature"), std::string::npos);
    TestStore other;
    const Checkpoint foreign = takeCheckpoint(other);
    EXPECT_FALSE(verify(t, nullptr, &foreign).ok);
    EXPECT_THROW(Checkpoint::fromJson("{\"format\": 1}"), InvalidRequestError);
}
