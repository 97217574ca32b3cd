// Stores written by the release before schema 3 open and migrate: both kinds of schema-2 store
// (before and after a first import made the import tables on its own) are built here from the
// SQL of that release, written out below and not taken from the code under test, keyed as that
// release keyed them; a login then migrates to the latest schema and the data reads back.

#include "StoreTestSupport.h"
#include "storage/Annotations.h"
#include "storage/Studies.h"
#include "storage/Users.h"

#include <sodium.h>
#include <zstd.h>

using namespace radmark::storage;
using namespace radmark::storage::testing;

namespace {

// Schema 2 as the previous release made it: migration 1, then migration 2 (drafts).
const char* const schema2 = R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE users(
  id INTEGER PRIMARY KEY,
  lookup BLOB NOT NULL UNIQUE,
  name TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL CHECK (role IN ('annotator', 'reviewer', 'admin')),
  disabled INTEGER NOT NULL DEFAULT 0,
  created TEXT NOT NULL);
CREATE TABLE studies(
  id INTEGER PRIMARY KEY,
  label TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL DEFAULT '',
  created TEXT NOT NULL);
CREATE TABLE assignments(
  user_id INTEGER NOT NULL REFERENCES users(id),
  study_id INTEGER NOT NULL REFERENCES studies(id),
  PRIMARY KEY (user_id, study_id));
CREATE TABLE chunks(
  id INTEGER PRIMARY KEY,
  hash BLOB NOT NULL UNIQUE,
  raw_size INTEGER NOT NULL,
  data BLOB NOT NULL);
CREATE TABLE annotations(
  id INTEGER PRIMARY KEY,
  study_id INTEGER NOT NULL REFERENCES studies(id),
  author_id INTEGER NOT NULL REFERENCES users(id),
  chunk BLOB NOT NULL,
  message TEXT NOT NULL,
  created TEXT NOT NULL,
  review_state TEXT NOT NULL DEFAULT 'pending');
CREATE TABLE reviews(
  id INTEGER PRIMARY KEY,
  annotation_id INTEGER NOT NULL REFERENCES annotations(id),
  reviewer_id INTEGER NOT NULL REFERENCES users(id),
  decision TEXT NOT NULL,
  comment TEXT NOT NULL,
  created TEXT NOT NULL);
CREATE TABLE audit_log(
  seq INTEGER PRIMARY KEY,
  time TEXT NOT NULL,
  user TEXT NOT NULL,
  action TEXT NOT NULL,
  object TEXT NOT NULL,
  details TEXT NOT NULL,
  prev_hash BLOB NOT NULL,
  mac BLOB NOT NULL);
CREATE INDEX audit_log_user ON audit_log(user);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;
CREATE TABLE drafts(
  study_id INTEGER NOT NULL REFERENCES studies(id),
  user_id INTEGER NOT NULL REFERENCES users(id),
  chunk BLOB NOT NULL,
  saved TEXT NOT NULL,
  PRIMARY KEY (study_id, user_id));
PRAGMA user_version = 2;
)sql";

// What that release's first import added (CREATE TABLE IF NOT EXISTS, outside the migrations).
const char* const importTablesOfSchema2 = R"sql(
CREATE TABLE IF NOT EXISTS deidentification_secret(
  id INTEGER PRIMARY KEY CHECK (id = 1),
  secret BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS imported_studies(
  study_id INTEGER PRIMARY KEY REFERENCES studies(id),
  study_uid TEXT NOT NULL UNIQUE,
  format TEXT NOT NULL,
  report TEXT NOT NULL,
  imported TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS imported_series(
  study_id INTEGER NOT NULL REFERENCES studies(id),
  series_index INTEGER NOT NULL,
  series_uid TEXT NOT NULL,
  modality TEXT NOT NULL,
  description TEXT NOT NULL,
  manifest TEXT NOT NULL,
  PRIMARY KEY (study_id, series_index));
)sql";

const std::string annotatorName = "anna";
const std::string versionRecord = "a version record of the previous release";
const std::string draftRecord = "a draft record of the previous release";

Bytes bytesOf(const std::string& text) {
    return Bytes(text.begin(), text.end());
}

Bytes blake2b256(const Bytes& data) {
    Bytes hash(32);
    crypto_generichash(hash.data(), hash.size(), data.data(), data.size(), nullptr, 0);
    return hash;
}

Bytes zstd1(const Bytes& data) {
    Bytes packed(ZSTD_compressBound(data.size()));
    packed.resize(ZSTD_compress(packed.data(), packed.size(), data.data(), data.size(), 1));
    return packed;
}

// A schema-2 store in dir with an admin, an annotator, one assigned study, a saved version of
// it and the annotator's draft, keyed like a real store (a keyring entry per user).
void writeSchema2Store(const std::filesystem::path& dir, bool withImportTables) {
    initialiseCrypto();
    std::filesystem::create_directories(dir);
    const Policy policy = lowCostPolicy();
    Bytes storeId(16);
    randombytes_buf(storeId.data(), storeId.size());
    const SecureBytes dbKey = SecureBytes::random(Keyring::keySize);
    Bytes signingPublic(crypto_sign_PUBLICKEYBYTES);
    SecureBytes signingSecret(crypto_sign_SECRETKEYBYTES);
    crypto_sign_keypair(signingPublic.data(), signingSecret.data());
    Bytes failurePublic(crypto_box_PUBLICKEYBYTES);
    SecureBytes failureSecret(crypto_box_SECRETKEYBYTES);
    crypto_box_keypair(failurePublic.data(), failureSecret.data());

    Keyring keyring = Keyring::create(storeId, failurePublic);
    keyring.addPassword(keyring.userIdFor(adminName), adminPassword, dbKey, policy);
    keyring.addPassword(keyring.userIdFor(annotatorName), userPassword, dbKey, policy);
    keyring.save(dir / "keyring");

    Database db = Database::open(dir / "store.db", &dbKey, true);
    db.exec(schema2);
    if (withImportTables)
        db.exec(importTablesOfSchema2);
    auto meta = db.prepare("INSERT INTO meta(key, value) VALUES (?, ?)");
    const auto putMeta = [&](const char* key, const void* data, std::size_t size) {
        meta.bind(1, key).bindBlob(2, data, size).run();
        meta.reset();
    };
    const SecureBytes auditKey = SecureBytes::random(32);
    const Bytes auditHead(32, 0);
    const std::string policyJson = policy.toJson();
    putMeta("store_id", storeId.data(), storeId.size());
    putMeta("signing_public", signingPublic.data(), signingPublic.size());
    putMeta("signing_secret", signingSecret.data(), signingSecret.size());
    putMeta("failure_public", failurePublic.data(), failurePublic.size());
    putMeta("failure_secret", failureSecret.data(), failureSecret.size());
    putMeta("policy", policyJson.data(), policyJson.size());
    putMeta("audit_key", auditKey.data(), auditKey.size());
    putMeta("audit_head", auditHead.data(), auditHead.size());

    auto user = db.prepare("INSERT INTO users(id, lookup, name, role, created) VALUES (?, ?, ?, ?, "
                           "'2026-11-01T09:00:00.000Z')");
    user.bind(1, std::int64_t(1)).bindBlob(2, keyring.userIdFor(adminName)).bind(3, adminName);
    user.bind(4, "admin").run();
    user.reset();
    user.bind(1, std::int64_t(2)).bindBlob(2, keyring.userIdFor(annotatorName));
    user.bind(3, annotatorName).bind(4, "annotator").run();
    db.exec("INSERT INTO studies(id, label, description, created) VALUES (1, 'study-old', "
            "'from schema 2', '2026-11-01T09:01:00.000Z');"
            "INSERT INTO assignments(user_id, study_id) VALUES (2, 1);");
    auto chunk = db.prepare("INSERT INTO chunks(hash, raw_size, data) VALUES (?, ?, ?)");
    for (const std::string& text : {versionRecord, draftRecord}) {
        const Bytes raw = bytesOf(text);
        chunk.bindBlob(1, blake2b256(raw)).bind(2, std::int64_t(raw.size()));
        chunk.bindBlob(3, zstd1(raw)).run();
        chunk.reset();
    }
    db.prepare("INSERT INTO annotations(study_id, author_id, chunk, message, created) VALUES "
               "(1, 2, ?, 'first contour', '2026-11-01T09:02:00.000Z')")
        .bindBlob(1, blake2b256(bytesOf(versionRecord)))
        .run();
    db.prepare("INSERT INTO drafts(study_id, user_id, chunk, saved) VALUES (1, 2, ?, "
               "'2026-11-01T09:03:00.000Z')")
        .bindBlob(1, blake2b256(bytesOf(draftRecord)))
        .run();
    if (withImportTables)
        db.exec("INSERT INTO imported_studies(study_id, study_uid, format, report, imported) "
                "VALUES (1, '2.25.1', 'DICOM', 'report-chunk', '2026-11-01T09:01:00.000Z')");
}

void expectMigratedAndReadable(bool withImportTables) {
    TempDir dir;
    const auto storeDir = dir.path() / "store";
    writeSchema2Store(storeDir, withImportTables);
    const Store store(storeDir, lowCostPolicy());
    {
        auto admin = store.login(adminName, adminPassword); // migrates
        EXPECT_EQ(Users(admin).list().size(), 2u);
    }
    {
        const Keyring keyring = Keyring::load(store.keyringPath());
        const SecureBytes key =
            keyring.unwrapWithPassword(keyring.userIdFor(adminName), adminPassword);
        Database db = Database::open(store.databasePath(), &key, false);
        EXPECT_EQ(db.queryText("PRAGMA user_version"), std::to_string(Store::schemaVersion));
        for (const char* table : {"deidentification_secret", "imported_studies", "imported_series"})
            EXPECT_EQ(db.queryText(std::string("SELECT count(*) FROM sqlite_master WHERE type = "
                                               "'table' AND name = '") +
                                   table + "'"),
                      "1")
                << table;
        EXPECT_EQ(db.queryText("SELECT count(*) FROM imported_studies"),
                  withImportTables ? "1" : "0");
    }
    auto anna = store.login(annotatorName, userPassword);
    const auto studies = Studies(anna).list();
    ASSERT_EQ(studies.size(), 1u);
    EXPECT_EQ(studies[0].label, "study-old");
    const auto versions = Annotations(anna).list(studies[0].id);
    ASSERT_EQ(versions.size(), 1u);
    EXPECT_EQ(versions[0].author, annotatorName);
    EXPECT_EQ(versions[0].message, "first contour");
    EXPECT_EQ(Annotations(anna).load(versions[0].id), bytesOf(versionRecord));
    const auto draft = Annotations(anna).draftOf(studies[0].id);
    ASSERT_TRUE(draft);
    EXPECT_EQ(draft->saved, "2026-11-01T09:03:00.000Z");
    EXPECT_EQ(Annotations(anna).recoverDraft(studies[0].id), bytesOf(draftRecord));
    // The migrated store takes new work: a version saved now lands beside the old one.
    const std::uint8_t bytes[] = {7, 8, 9};
    Annotations(anna).save(studies[0].id, bytes, "after the migration");
    EXPECT_EQ(Annotations(anna).list(studies[0].id).size(), 2u);
}

} // namespace

TEST(StorageSchemaMigration, Schema2StoreWithoutImportTablesMigrates) {
    expectMigratedAndReadable(false);
}

TEST(StorageSchemaMigration, Schema2StoreWithImportTablesMadeByAFirstImportMigrates) {
    expectMigratedAndReadable(true);
}
