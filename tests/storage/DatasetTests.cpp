// Datasets for export on real stores (storage/Datasets, docs/datasets.md): a schema-6 store,
// written here from the SQL of the release before datasets, migrates and takes datasets; the
// records that must not change (revisions, protocol versions, export records) refuse UPDATE and
// DELETE; label-table conflicts name their cases and a mapping by name resolves a missing code;
// splits are deterministic from the seed and never put one patient in two splits; an exported
// test case never moves to train; revision hashes are equal for an unchanged dataset and differ,
// naming the parent, for a changed one; credentials, export records and their history; and the
// refusals of annotators and reviewers, each logged.

#include "StoreTestSupport.h"

#include "storage/Annotations.h"
#include "storage/AuditTrail.h"
#include "storage/ChunkStore.h"
#include "storage/Datasets.h"
#include "storage/Reviews.h"
#include "storage/SessionAccess.h"
#include "storage/Studies.h"
#include "storage/Users.h"

#include <nlohmann/json.hpp>
#include <sodium.h>
#include <zstd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>

namespace radmark::storage {
namespace {

using namespace radmark::storage::testing;
using nlohmann::json;

// Schema 6 as the release before datasets made it: its six migrations, copied from that
// release's storage/Store.cpp (a migration, once released, is never edited).
const char* const schema6 = R"sql(
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

CREATE TRIGGER annotations_review_state_insert BEFORE INSERT ON annotations
  WHEN NEW.review_state NOT IN ('pending', 'approved', 'rejected')
  BEGIN SELECT RAISE(ABORT, 'unknown review state'); END;
CREATE TRIGGER annotations_review_state_update BEFORE UPDATE OF review_state ON annotations
  WHEN NEW.review_state NOT IN ('pending', 'approved', 'rejected')
  BEGIN SELECT RAISE(ABORT, 'unknown review state'); END;
CREATE TRIGGER reviews_decision_insert BEFORE INSERT ON reviews
  WHEN NEW.decision NOT IN ('approved', 'rejected', 'comment')
  BEGIN SELECT RAISE(ABORT, 'unknown review decision'); END;
CREATE INDEX reviews_annotation ON reviews(annotation_id);

ALTER TABLE studies ADD COLUMN blind INTEGER NOT NULL DEFAULT 0 CHECK (blind IN (0, 1));

CREATE TABLE submissions(
  annotation_id INTEGER PRIMARY KEY REFERENCES annotations(id),
  submitted TEXT NOT NULL,
  withdrawn TEXT,
  withdrawn_by INTEGER REFERENCES annotations(id));
CREATE TABLE decisions(
  id INTEGER PRIMARY KEY,
  annotation_id INTEGER NOT NULL UNIQUE REFERENCES annotations(id),
  reviewer_id INTEGER NOT NULL REFERENCES users(id),
  decision TEXT NOT NULL CHECK (decision IN ('approve', 'changes', 'reject')),
  content_hash TEXT NOT NULL,
  message TEXT NOT NULL,
  metrics TEXT NOT NULL,
  created TEXT NOT NULL);
CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions
  BEGIN SELECT RAISE(ABORT, 'a review decision is immutable'); END;
CREATE TRIGGER decisions_no_delete BEFORE DELETE ON decisions
  BEGIN SELECT RAISE(ABORT, 'a review decision is immutable'); END;
CREATE TABLE comments(
  id INTEGER PRIMARY KEY,
  annotation_id INTEGER NOT NULL REFERENCES annotations(id),
  reply_to INTEGER REFERENCES comments(id),
  author_id INTEGER NOT NULL REFERENCES users(id),
  text TEXT NOT NULL,
  created TEXT NOT NULL,
  x INTEGER, y INTEGER, z INTEGER,
  segment INTEGER,
  resolved TEXT,
  resolved_by INTEGER REFERENCES users(id));
CREATE INDEX comments_annotation ON comments(annotation_id);
ALTER TABLE annotations ADD COLUMN revises INTEGER REFERENCES annotations(id);
ALTER TABLE annotations ADD COLUMN kind TEXT NOT NULL DEFAULT 'manual'
  CHECK (kind IN ('manual', 'consensus'));
ALTER TABLE annotations ADD COLUMN method TEXT NOT NULL DEFAULT '';
CREATE TABLE consensus_sources(
  annotation_id INTEGER NOT NULL REFERENCES annotations(id),
  source_id INTEGER NOT NULL REFERENCES annotations(id),
  PRIMARY KEY (annotation_id, source_id));
INSERT INTO decisions(annotation_id, reviewer_id, decision, content_hash, message, metrics,
                      created)
  SELECT r.annotation_id, r.reviewer_id,
         CASE r.decision WHEN 'approved' THEN 'approve' ELSE 'reject' END,
         lower(hex(a.chunk)), r.comment, '{}', r.created
  FROM reviews r JOIN annotations a ON a.id = r.annotation_id
  WHERE r.decision IN ('approved', 'rejected') AND r.id IN
    (SELECT min(id) FROM reviews WHERE decision IN ('approved', 'rejected')
     GROUP BY annotation_id);
INSERT INTO comments(annotation_id, author_id, text, created)
  SELECT annotation_id, reviewer_id, comment, created FROM reviews WHERE decision = 'comment';
PRAGMA user_version = 6;
)sql";

Bytes bytesOf(const std::string& text) {
    return Bytes(text.begin(), text.end());
}

std::string sha256Hex(const std::string& text) {
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(text.data()), text.size());
    return toHex(Bytes(digest, digest + sizeof digest));
}

CodedTerm sct(const std::string& code, const std::string& meaning) {
    return {"SCT", code, meaning};
}
const CodedTerm liver = sct("10200004", "Liver");
const CodedTerm spleen = sct("78961009", "Spleen");
const CodedTerm tumour = sct("108369006", "Neoplasm");
const CodedTerm organ = sct("123037004", "Anatomical Structure");

SurveyedSegment segment(std::uint32_t label, const std::string& name, std::optional<CodedTerm> type,
                        std::optional<CodedTerm> category = organ) {
    return {label, name, type ? category : std::nullopt, type};
}

const std::string anna = "anna", bea = "bea", rick = "rick";

// A store with two annotators and a reviewer, and studies made as import makes them: a study row
// and an import record whose de-identification report names the patient pseudonym.
struct DatasetWorld {
    TestStore t;
    std::map<std::string, std::int64_t> studies; // by pseudonym
    int saves = 0;

    DatasetWorld() {
        Session admin = t.admin();
        Users(admin).add(anna, Role::Annotator, userPassword);
        Users(admin).add(bea, Role::Annotator, userPassword);
        Users(admin).add(rick, Role::Reviewer, userPassword);
    }
    Session login(const std::string& name) const {
        return name == adminName ? t.admin() : t.store.login(name, userPassword);
    }

    std::int64_t addStudy(const std::string& label, const std::string& patient) {
        Session admin = t.admin();
        const std::int64_t id = Studies(admin).add(label, "");
        const std::string report = json{{"study",
                                         {{"studyInstanceUid", "2.25." + std::to_string(id)},
                                          {"patientPseudonym", patient}}}}
                                       .dump();
        Database& db = SessionAccess::database(admin);
        const ChunkHash chunk = ChunkStore(db).put(
            std::span(reinterpret_cast<const std::uint8_t*>(report.data()), report.size()));
        db.prepare("INSERT INTO imported_studies(study_id, study_uid, format, report, imported) "
                   "VALUES (?, ?, 'DICOM', ?, ?)")
            .bind(1, id)
            .bind(2, "2.25." + std::to_string(id))
            .bind(3, chunk.hex())
            .bind(4, utcNow())
            .run();
        Studies(admin).assign(anna, id);
        Studies(admin).assign(bea, id);
        studies[label] = id;
        return id;
    }
    // A version record: storage keeps it as bytes (the annotation library's format is not
    // storage's business), so any distinct bytes do.
    std::int64_t save(std::int64_t study, const std::string& who = anna) {
        Session s = login(who);
        const std::string bytes = who + " version " + std::to_string(++saves);
        return Annotations(s).save(
            study, std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()),
            "version " + std::to_string(saves));
    }
    std::string hashOf(std::int64_t annotation) {
        Database db = t.attackerDatabase();
        auto s = db.prepare("SELECT chunk FROM annotations WHERE id = ?");
        s.bind(1, annotation);
        s.step();
        return toHex(s.blob(0));
    }
    void submit(std::int64_t annotation, const std::string& who = anna) {
        Session s = login(who);
        Reviews(s).submit(annotation);
    }
    void decide(std::int64_t annotation, Decision decision) {
        Session r = login(rick);
        Reviews(r).decide(annotation, decision, decision == Decision::Approve ? "" : "redo",
                          hashOf(annotation), "{}", false);
    }
    std::int64_t approved(std::int64_t study, const std::string& who = anna) {
        const std::int64_t v = save(study, who);
        submit(v, who);
        decide(v, Decision::Approve);
        return v;
    }

    // The survey the workflow layer would hand over: each case's current version with the
    // segments `segmentsOf` gives its study.
    using Segments = std::function<std::vector<SurveyedSegment>(const std::string& pseudonym)>;
    LabelSurvey survey(Session& admin, const std::string& dataset, const Segments& segmentsOf,
                       const std::map<std::string, std::vector<std::string>>& chains = {}) {
        LabelSurvey out;
        for (const DatasetCase& c : Datasets(admin).get(dataset).cases) {
            if (!c.version)
                continue;
            SurveyedVersion v{c.studyId, *c.version, c.versionHash, segmentsOf(c.pseudonym), {}};
            if (const auto it = chains.find(c.pseudonym); it != chains.end())
                v.parentChain = it->second;
            out.push_back(std::move(v));
        }
        return out;
    }
    static std::vector<SurveyedSegment> liverOnly(const std::string&) {
        return {segment(1, "Liver", liver)};
    }

    std::size_t logged(const std::string& user, const std::string& action) {
        Session admin = t.admin();
        return AuditTrail(admin).entries(filterBy(user, action)).size();
    }
    std::string lastDetails(const std::string& action) {
        Session admin = t.admin();
        const auto entries = AuditTrail(admin).entries(filterBy("", action));
        return entries.empty() ? std::string() : entries.back().details;
    }

    // A ready dataset: `n` studies of their own patients, each with an approved version, a
    // protocol and a split.
    void ready(Session& admin, const std::string& name, int n, std::int64_t seed = 1) {
        Datasets(admin).create(name, std::nullopt, "liver segmentation for a CT model");
        std::vector<std::int64_t> ids;
        for (int i = 0; i < n; ++i) {
            const std::string label = name + "-S" + std::to_string(i);
            ids.push_back(addStudy(label, name + "-P" + std::to_string(i)));
            approved(ids.back());
        }
        Datasets(admin).addStudies(name, ids);
        Datasets(admin).setProtocol(name, "guideline.md", bytesOf("# Liver\nOutline the liver.\n"));
        Datasets(admin).split(name, splitSettings(seed, 0.6, 0.2, 0.2));
    }
};

// ---------------------------------------------------------------------------------------------

TEST(StorageDatasets, ASchema6StoreMigratesAndTakesDatasets) {
    TempDir dir;
    const auto storeDir = dir.path() / "store";
    {
        initialiseCrypto();
        std::filesystem::create_directories(storeDir);
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
        for (const std::string& name : {adminName, anna, rick})
            keyring.addPassword(keyring.userIdFor(name),
                                name == adminName ? adminPassword : userPassword, dbKey, policy);
        keyring.save(storeDir / "keyring");

        Database db = Database::open(storeDir / "store.db", &dbKey, true);
        db.exec(schema6);
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
        auto user = db.prepare("INSERT INTO users(id, lookup, name, role, created) VALUES "
                               "(?, ?, ?, ?, '2026-11-01T09:00:00.000Z')");
        const std::vector<std::pair<std::string, std::string>> users = {
            {adminName, "admin"}, {anna, "annotator"}, {rick, "reviewer"}};
        for (std::size_t i = 0; i < users.size(); ++i) {
            user.bind(1, std::int64_t(i + 1)).bindBlob(2, keyring.userIdFor(users[i].first));
            user.bind(3, users[i].first).bind(4, users[i].second).run();
            user.reset();
        }
        const Bytes record = bytesOf("a version record of schema 6");
        Bytes hash(32);
        crypto_generichash(hash.data(), hash.size(), record.data(), record.size(), nullptr, 0);
        Bytes packed(ZSTD_compressBound(record.size()));
        packed.resize(ZSTD_compress(packed.data(), packed.size(), record.data(), record.size(), 1));
        db.prepare("INSERT INTO chunks(hash, raw_size, data) VALUES (?, ?, ?)")
            .bindBlob(1, hash)
            .bind(2, std::int64_t(record.size()))
            .bindBlob(3, packed)
            .run();
        db.exec("INSERT INTO studies(id, label, description, created) VALUES (1, 'RMOLD-1', "
                "'from schema 6', '2026-11-01T09:01:00.000Z');"
                "INSERT INTO assignments(user_id, study_id) VALUES (2, 1);");
        db.prepare("INSERT INTO annotations(study_id, author_id, chunk, message, created) VALUES "
                   "(1, 2, ?, 'liver', '2026-11-01T09:02:00.000Z')")
            .bindBlob(1, hash)
            .run();
        db.exec("INSERT INTO submissions(annotation_id, submitted) VALUES (1, "
                "'2026-11-01T09:03:00.000Z')");
        db.prepare("INSERT INTO decisions(annotation_id, reviewer_id, decision, content_hash, "
                   "message, metrics, created) VALUES (1, 3, 'approve', ?, '', '{}', "
                   "'2026-11-01T09:04:00.000Z')")
            .bind(1, toHex(hash))
            .run();
    }
    const Store store(storeDir, lowCostPolicy());
    Session admin = store.login(adminName, adminPassword); // migrates
    {
        const Keyring keyring = Keyring::load(store.keyringPath());
        const SecureBytes key =
            keyring.unwrapWithPassword(keyring.userIdFor(adminName), adminPassword);
        Database db = Database::open(store.databasePath(), &key, false);
        EXPECT_EQ(db.queryText("PRAGMA user_version"), std::to_string(Store::schemaVersion));
        for (const char* table :
             {"datasets", "dataset_cases", "dataset_protocols", "dataset_segment_names",
              "dataset_revisions", "dataset_exports", "dataset_export_outcomes"})
            EXPECT_EQ(db.queryText(std::string("SELECT count(*) FROM sqlite_master WHERE type = "
                                               "'table' AND name = '") +
                                   table + "'"),
                      "1")
                << table;
    }
    // The old records read back, and the old approved version is what a dataset takes.
    EXPECT_EQ(Users(admin).list().size(), 3u);
    EXPECT_FALSE(Users(admin).credentials(anna));
    Datasets(admin).create("Old", std::nullopt, "");
    Datasets(admin).addStudies("Old", {1});
    const Dataset d = Datasets(admin).get("Old");
    ASSERT_EQ(d.cases.size(), 1u);
    EXPECT_EQ(d.cases[0].version, 1);
    EXPECT_EQ(d.cases[0].state, ReviewState::Approved);
    EXPECT_FALSE(d.cases[0].unapproved);
    EXPECT_EQ(d.cases[0].patientPseudonym, "RMOLD-1")
        << "no import record: the study is the patient";
    Users(admin).setCredentials(anna, {"Radiologist", "FRCR", 7, "2026-10-01", {}, {}});
    EXPECT_EQ(Users(admin).credentials(anna)->yearsOfExperience, 7);
}

TEST(StorageDatasets, RevisionsProtocolsAndExportRecordsAreImmutable) {
    DatasetWorld w;
    Session admin = w.t.admin();
    w.ready(admin, "Liver", 3);
    const FrozenRevision f =
        Datasets(admin).freezeRevision("Liver", w.survey(admin, "Liver", DatasetWorld::liverOnly));
    const std::int64_t started = Datasets(admin).recordExportStarted(f.revision.id, "share", "b1");
    Datasets(admin).recordExportRefused(f.revision.id, "share", "share unreachable", started);
    Database db = w.t.attackerDatabase();
    for (const char* sql : {
             "UPDATE dataset_revisions SET content_hash = 'x'",
             "UPDATE dataset_revisions SET content = '{}'",
             "DELETE FROM dataset_revisions",
             "UPDATE dataset_protocols SET sha256 = 'x'",
             "DELETE FROM dataset_protocols",
             "UPDATE dataset_exports SET bundle_id = 'other'",
             "DELETE FROM dataset_exports",
             "UPDATE dataset_export_outcomes SET outcome = 'completed'",
             "DELETE FROM dataset_export_outcomes",
             "UPDATE datasets SET number = 7",
             "UPDATE datasets SET name = 'Other'",
             "DELETE FROM datasets",
         })
        EXPECT_ANY_THROW(db.exec(sql)) << sql;
    EXPECT_NO_THROW(db.exec("UPDATE datasets SET purpose = 'edited'")); // not frozen: editable
    EXPECT_EQ(db.queryText("SELECT content_hash FROM dataset_revisions"), f.revision.contentHash);
    EXPECT_EQ(db.queryText("SELECT count(*) FROM dataset_export_outcomes"), "1");
}

TEST(StorageDatasets, LabelTableConflictsAreRefusedWithTheirCases) {
    DatasetWorld w;
    Session admin = w.t.admin();
    w.ready(admin, "Abdomen", 4);
    const std::string a = "Abdomen-S0", b = "Abdomen-S1", c = "Abdomen-S2", d = "Abdomen-S3";

    // One table across cases: each code one integer, ordered by code, whatever the labels.
    const auto good = [&](const std::string& study) -> std::vector<SurveyedSegment> {
        if (study == a)
            return {segment(1, "Liver", liver), segment(2, "Spleen", spleen)};
        if (study == b)
            return {segment(5, "Spleen", spleen)};
        return {segment(3, "Liver", liver), segment(1, "Neoplasm", tumour, std::nullopt)};
    };
    const LabelTable table =
        Datasets(admin).labelTable("Abdomen", w.survey(admin, "Abdomen", good));
    EXPECT_TRUE(table.conflicts.empty()) << table.conflicts.front().problem;
    ASSERT_EQ(table.entries.size(), 3u);
    EXPECT_EQ(table.entries[0].type, liver); // 10200004 < 78961009 < 108369006 as numbers
    EXPECT_EQ(table.entries[1].type, spleen);
    EXPECT_EQ(table.entries[2].type, tumour);
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ(table.entries[std::size_t(i)].value, i + 1);
    ASSERT_EQ(table.cases.size(), 4u);
    EXPECT_EQ(table.cases[0].valueOf.at(1), 1); // a: Liver
    EXPECT_EQ(table.cases[0].valueOf.at(2), 2); // a: Spleen
    EXPECT_EQ(table.cases[1].valueOf.at(5), 2); // b: Spleen under another label
    EXPECT_EQ(table.cases[2].valueOf.at(3), 1); // c: Liver under another label
    EXPECT_EQ(table.cases[2].valueOf.at(1), 3); // c: Neoplasm

    const auto conflicting = [&](const std::string& study) -> std::vector<SurveyedSegment> {
        if (study == a)
            return {segment(1, "Liver", liver)};
        if (study == b)
            return {segment(1, "liver", liver)}; // same code, another name
        if (study == c)
            return {segment(1, "Spleen", spleen),
                    segment(2, "Spleen", tumour)};   // one name, two codes
        return {segment(1, "Lesion", std::nullopt)}; // no code
    };
    const auto before = w.t.attackerDatabase().queryText("SELECT count(*) FROM dataset_revisions");
    try {
        Datasets(admin).freezeRevision("Abdomen", w.survey(admin, "Abdomen", conflicting));
        FAIL() << "a conflicting label table was frozen";
    } catch (const DatasetRuleError& e) {
        std::map<std::string, std::vector<std::string>> byProblem;
        for (const LabelConflict& k : e.conflicts)
            byProblem[k.problem] = k.cases;
        ASSERT_EQ(e.conflicts.size(), 3u) << e.what();
        EXPECT_EQ(byProblem.at("SCT:10200004 (Liver) has different names: 'Liver', 'liver'"),
                  (std::vector<std::string>{a, b}));
        EXPECT_EQ(byProblem.at("the name 'Spleen' is given to different codes: SCT:78961009 "
                               "(Spleen), SCT:108369006 (Neoplasm)"),
                  (std::vector<std::string>{c}));
        EXPECT_EQ(byProblem.at("segment 'Lesion' has no terminology code: give it one, or map "
                               "the name to a code (dataset map)"),
                  (std::vector<std::string>{d}));
        EXPECT_EQ(e.cases, (std::vector<std::string>{a, b, c, d}));
        for (const std::string& study : {a, b, c, d})
            EXPECT_NE(std::string(e.what()).find(study), std::string::npos) << e.what();
    }
    EXPECT_EQ(w.t.attackerDatabase().queryText("SELECT count(*) FROM dataset_revisions"), before);
    EXPECT_EQ(w.logged(adminName, "refused freeze dataset revision"), 1u);

    // A segment without a code, mapped by its name; two segments of one case with one code; a
    // segment named background; categories that disagree.
    const auto uncoded = [&](const std::string& study) -> std::vector<SurveyedSegment> {
        if (study == a)
            return {segment(1, "Lesion", std::nullopt), segment(2, "Liver", liver)};
        return {segment(1, "Liver", liver)};
    };
    EXPECT_EQ(
        Datasets(admin).labelTable("Abdomen", w.survey(admin, "Abdomen", uncoded)).conflicts.size(),
        1u);
    Datasets(admin).mapSegmentName("Abdomen", {"Lesion", tumour, std::nullopt});
    const LabelTable mapped =
        Datasets(admin).labelTable("Abdomen", w.survey(admin, "Abdomen", uncoded));
    ASSERT_TRUE(mapped.conflicts.empty()) << mapped.conflicts.front().problem;
    ASSERT_EQ(mapped.entries.size(), 2u);
    EXPECT_EQ(mapped.entries[1].name, "Lesion");
    EXPECT_TRUE(mapped.entries[1].mappedByName);
    EXPECT_NE(w.lastDetails("dataset map").find("'Lesion' -> SCT:108369006 (Neoplasm)"),
              std::string::npos);
    Datasets(admin).unmapSegmentName("Abdomen", "Lesion");
    EXPECT_EQ(
        Datasets(admin).labelTable("Abdomen", w.survey(admin, "Abdomen", uncoded)).conflicts.size(),
        1u);

    const auto odd = [&](const std::string& study) -> std::vector<SurveyedSegment> {
        if (study == a)
            return {segment(1, "Liver", liver), segment(2, "Liver left lobe", liver)};
        if (study == b)
            return {segment(1, "Background", spleen)};
        if (study == c)
            return {segment(1, "Liver", liver, sct("91723000", "Anatomical structure"))};
        return {segment(1, "Liver", liver)};
    };
    const LabelTable bad = Datasets(admin).labelTable("Abdomen", w.survey(admin, "Abdomen", odd));
    std::set<std::string> problems;
    for (const LabelConflict& k : bad.conflicts)
        problems.insert(k.problem.substr(0, 24));
    EXPECT_TRUE(problems.count("two segments of one case")) << bad.conflicts.size();
    EXPECT_TRUE(problems.count("a segment is named 'Back"));
    EXPECT_TRUE(problems.count("SCT:10200004 (Liver) has"));

    // The survey must be of the versions the dataset exports now.
    LabelSurvey stale = w.survey(admin, "Abdomen", good);
    stale[0].versionHash = std::string(64, '0');
    EXPECT_THROW(Datasets(admin).labelTable("Abdomen", stale), InvalidRequestError);
}

// The split of a dataset, by study pseudonym.
std::map<std::string, Split> splitsOf(Session& admin, const std::string& name) {
    std::map<std::string, Split> out;
    for (const DatasetCase& c : Datasets(admin).get(name).cases) {
        EXPECT_TRUE(c.split) << c.pseudonym;
        if (c.split)
            out[c.pseudonym] = *c.split;
    }
    return out;
}

TEST(StorageDatasets, SplitsAreDeterministicFromTheSeedAndKeepPatientsTogether) {
    // 20 studies of 12 patients (some with two or three studies), in two stores that add them in
    // opposite orders.
    std::vector<std::pair<std::string, std::string>> studies; // pseudonym, patient
    for (int i = 0; i < 20; ++i)
        studies.emplace_back("RMSTUDY-" + std::to_string(100 + i),
                             "RMPATIENT-" + std::to_string(i < 12 ? i : (i * 7) % 12));
    const auto build = [&](DatasetWorld& w, bool reversed, std::int64_t seed) {
        Session admin = w.t.admin();
        Datasets(admin).create("Split", 42, "");
        auto order = studies;
        if (reversed)
            std::reverse(order.begin(), order.end());
        std::vector<std::int64_t> ids;
        for (const auto& [label, patient] : order) {
            ids.push_back(w.addStudy(label, patient));
            w.approved(ids.back());
        }
        Datasets(admin).addStudies("Split", ids);
        Datasets(admin).split("Split", splitSettings(seed, 0.7, 0.1, 0.2));
        return splitsOf(admin, "Split");
    };
    DatasetWorld one, two;
    const auto first = build(one, false, 2026);
    const auto second = build(two, true, 2026);
    EXPECT_EQ(first, second) << "the same seed gives the same split whatever the order";

    std::map<std::string, std::set<Split>> splitsOfPatient;
    std::set<std::string> patientsIn[3];
    for (const auto& [label, patient] : studies) {
        splitsOfPatient[patient].insert(first.at(label));
        patientsIn[int(first.at(label))].insert(patient);
    }
    for (const auto& [patient, splits] : splitsOfPatient)
        EXPECT_EQ(splits.size(), 1u) << patient << " is in two splits";
    // 12 patients: test round(2.4) = 2, validation round(1.2) = 1, train the other 9.
    EXPECT_EQ(patientsIn[int(Split::Test)].size(), 2u);
    EXPECT_EQ(patientsIn[int(Split::Validation)].size(), 1u);
    EXPECT_EQ(patientsIn[int(Split::Train)].size(), 9u);
    EXPECT_NE(one.lastDetails("dataset split").find("seed 2026, fractions 700/100/200"),
              std::string::npos)
        << one.lastDetails("dataset split");

    // Another seed gives another split (for these 12 patients, seeds 1..20 are not all equal).
    Session admin = one.t.admin();
    bool differs = false;
    for (std::int64_t seed = 1; seed <= 20 && !differs; ++seed) {
        Datasets(admin).split("Split", splitSettings(seed, 0.7, 0.1, 0.2));
        differs = splitsOf(admin, "Split") != first;
    }
    EXPECT_TRUE(differs);
    Datasets(admin).split("Split", splitSettings(2026, 0.7, 0.1, 0.2));
    EXPECT_EQ(splitsOf(admin, "Split"), first);

    // A study added later joins its patient's split; one of a new patient waits for a split.
    const std::string knownPatient = studies.front().second;
    const std::int64_t sibling = one.addStudy("RMSTUDY-900", knownPatient);
    one.approved(sibling);
    const std::int64_t stranger = one.addStudy("RMSTUDY-901", "RMPATIENT-NEW");
    one.approved(stranger);
    Datasets(admin).addStudies("Split", {sibling, stranger});
    for (const DatasetCase& c : Datasets(admin).get("Split").cases) {
        if (c.pseudonym == "RMSTUDY-900") {
            EXPECT_EQ(c.split, first.at(studies.front().first));
        }
        if (c.pseudonym == "RMSTUDY-901") {
            EXPECT_FALSE(c.split);
        }
    }
    Datasets(admin).setProtocol("Split", "g.md", bytesOf("# guide\n"));
    try {
        Datasets(admin).freezeRevision("Split",
                                       one.survey(admin, "Split", DatasetWorld::liverOnly));
        FAIL() << "froze a case without a split";
    } catch (const DatasetRuleError& e) {
        EXPECT_EQ(e.cases, (std::vector<std::string>{"RMSTUDY-901"}));
    }

    EXPECT_THROW(splitSettings(1, 0.7, 0.1, 0.1), InvalidRequestError); // sums to 0.9
    EXPECT_NO_THROW(splitSettings(1, 0.7, 0.15, 0.15));
    EXPECT_THROW(splitSettings(1, 0.0, 0.5, 0.5), InvalidRequestError);       // nothing to train
    EXPECT_THROW(splitSettings(1, 0.7001, 0.1, 0.1999), InvalidRequestError); // 4 decimals
}

TEST(StorageDatasets, AnExportedTestCaseNeverMovesToTrain) {
    DatasetWorld w;
    Session admin = w.t.admin();
    w.ready(admin, "Held", 10, 3);
    const auto frozen =
        Datasets(admin).freezeRevision("Held", w.survey(admin, "Held", DatasetWorld::liverOnly));
    std::set<std::string> exportedTest;
    for (const RevisionCase& c : frozen.revision.cases)
        if (c.split == Split::Test)
            exportedTest.insert(c.pseudonym);
    ASSERT_EQ(exportedTest.size(), 2u);

    // Before any export, any split goes.
    for (std::int64_t seed = 4; seed < 8; ++seed)
        EXPECT_NO_THROW(Datasets(admin).split("Held", splitSettings(seed, 0.6, 0.2, 0.2)));
    Datasets(admin).split("Held", splitSettings(3, 0.6, 0.2, 0.2));
    // A refusal before anything was written is not an export.
    Datasets(admin).recordExportRefused(frozen.revision.id, "/media/usb", "removable medium");
    for (std::int64_t seed = 4; seed < 8; ++seed)
        EXPECT_NO_THROW(Datasets(admin).split("Held", splitSettings(seed, 0.6, 0.2, 0.2)));
    Datasets(admin).split("Held", splitSettings(3, 0.6, 0.2, 0.2));

    Datasets(admin).recordExportStarted(frozen.revision.id, "smb://nas/share", "bundle-1");
    int refused = 0;
    for (std::int64_t seed = 4; seed < 40; ++seed) {
        const auto before = w.logged(adminName, "refused edit dataset");
        try {
            Datasets(admin).split("Held", splitSettings(seed, 0.6, 0.2, 0.2));
            for (const auto& [study, split] : splitsOf(admin, "Held"))
                if (exportedTest.count(study)) {
                    EXPECT_EQ(split, Split::Test) << study << " with seed " << seed;
                }
        } catch (const DatasetRuleError& e) {
            ++refused;
            ASSERT_FALSE(e.cases.empty());
            for (const std::string& study : e.cases)
                EXPECT_TRUE(exportedTest.count(study)) << study;
            EXPECT_NE(std::string(e.what()).find("never moves to train"), std::string::npos);
            EXPECT_NE(std::string(e.what()).find("revision 1"), std::string::npos) << e.what();
            EXPECT_EQ(w.logged(adminName, "refused edit dataset"), before + 1);
        }
    }
    EXPECT_GT(refused, 0) << "no seed moved an exported test case";
    // Nothing moved: the split is still seed 3's.
    for (const auto& [study, split] : splitsOf(admin, "Held"))
        if (exportedTest.count(study)) {
            EXPECT_EQ(split, Split::Test);
        }

    // Keeping exported test patients in test, any seed goes.
    for (std::int64_t seed = 4; seed < 40; ++seed) {
        ASSERT_NO_THROW(Datasets(admin).split("Held", splitSettings(seed, 0.6, 0.2, 0.2, true)));
        for (const auto& [study, split] : splitsOf(admin, "Held"))
            if (exportedTest.count(study)) {
                EXPECT_EQ(split, Split::Test) << study << " with seed " << seed;
            }
    }
    // Moving the whole test fraction away is refused too: a test share of 0.
    EXPECT_THROW(Datasets(admin).split("Held", splitSettings(3, 0.8, 0.2, 0.0)), DatasetRuleError);
}

TEST(StorageDatasets, RevisionHashesFollowTheContentAndNameTheirParent) {
    DatasetWorld w;
    Session admin = w.t.admin();
    w.ready(admin, "Rev", 4);
    const auto survey = [&] { return w.survey(admin, "Rev", DatasetWorld::liverOnly); };
    const FrozenRevision r1 = Datasets(admin).freezeRevision("Rev", survey());
    EXPECT_FALSE(r1.existing);
    EXPECT_EQ(r1.revision.revision, 1);
    EXPECT_FALSE(r1.revision.parentId);
    EXPECT_EQ(r1.revision.contentHash, sha256Hex(r1.revision.contentJson));
    EXPECT_EQ(r1.revision.provenanceHash, sha256Hex(r1.revision.provenanceJson));
    EXPECT_EQ(r1.revision.number, 500) << "the first free number from 500";
    const json content = json::parse(r1.revision.contentJson);
    EXPECT_EQ(content.dump(), r1.revision.contentJson) << "canonical: keys sorted, no spaces";
    EXPECT_EQ(content.at("format"), "radmark-dataset-revision-1");
    EXPECT_EQ(content.at("dataset").at("number"), 500);
    EXPECT_EQ(content.at("protocol").at("sha256"), sha256Hex("# Liver\nOutline the liver.\n"));
    EXPECT_EQ(content.at("cases").size(), 4u);
    EXPECT_EQ(content.at("cases")[0].at("version").get<std::string>().size(), 64u);
    EXPECT_EQ(content.at("labels")[0].at("value"), 1);
    EXPECT_EQ(content.at("split").at("seed"), 1);

    // Unchanged: the same revision, the same hash (logged as a freeze that found it).
    const FrozenRevision again = Datasets(admin).freezeRevision("Rev", survey());
    EXPECT_TRUE(again.existing);
    EXPECT_EQ(again.revision.id, r1.revision.id);
    EXPECT_EQ(again.revision.contentHash, r1.revision.contentHash);
    EXPECT_EQ(again.revision.provenanceJson, r1.revision.provenanceJson);
    EXPECT_NE(w.lastDetails("dataset freeze").find("unchanged: revision 1"), std::string::npos);

    // A newer approved version of one study: the case follows it, a new revision, parent 1.
    const std::int64_t study = w.studies.at("Rev-S2");
    const std::int64_t newer = w.approved(study);
    const FrozenRevision r2 = Datasets(admin).freezeRevision("Rev", survey());
    EXPECT_FALSE(r2.existing);
    EXPECT_EQ(r2.revision.revision, 2);
    EXPECT_EQ(r2.revision.parentId, r1.revision.id);
    EXPECT_EQ(r2.revision.parentRevision, 1);
    EXPECT_EQ(r2.revision.parentHash, r1.revision.contentHash);
    EXPECT_NE(r2.revision.contentHash, r1.revision.contentHash);
    EXPECT_NE(w.lastDetails("dataset freeze").find("parent revision 1"), std::string::npos);
    for (const RevisionCase& c : r2.revision.cases)
        if (c.studyId == study) {
            EXPECT_EQ(c.annotationId, newer);
        }

    // Purpose, protocol, label table, split and cases each change the hash.
    std::set<std::string> hashes{r1.revision.contentHash, r2.revision.contentHash};
    Datasets(admin).setPurpose("Rev", "a new purpose");
    hashes.insert(Datasets(admin).freezeRevision("Rev", survey()).revision.contentHash);
    Datasets(admin).setProtocol("Rev", "guideline.md", bytesOf("# Liver v2\n"));
    hashes.insert(Datasets(admin).freezeRevision("Rev", survey()).revision.contentHash);
    Datasets(admin).split("Rev", splitSettings(1, 0.5, 0.25, 0.25));
    hashes.insert(Datasets(admin).freezeRevision("Rev", survey()).revision.contentHash);
    hashes.insert(Datasets(admin)
                      .freezeRevision("Rev", w.survey(admin, "Rev",
                                                      [](const std::string&) {
                                                          return std::vector<SurveyedSegment>{
                                                              segment(3, "Liver", liver)};
                                                      }))
                      .revision.contentHash);
    Datasets(admin).removeStudy("Rev", w.studies.at("Rev-S0"));
    const FrozenRevision last = Datasets(admin).freezeRevision("Rev", survey());
    hashes.insert(last.revision.contentHash);
    EXPECT_EQ(hashes.size(), 7u);
    EXPECT_EQ(last.revision.revision, 7);
    EXPECT_EQ(last.revision.parentRevision, 6);
    const auto all = Datasets(admin).revisions("Rev");
    ASSERT_EQ(all.size(), 7u);
    EXPECT_EQ(all.back().cases, 3);

    // Back to an earlier content: that revision again, not a copy of it.
    Datasets(admin).addStudies("Rev", {w.studies.at("Rev-S0")});
    Datasets(admin).split("Rev", splitSettings(1, 0.5, 0.25, 0.25));
    const FrozenRevision back = Datasets(admin).freezeRevision("Rev", survey());
    EXPECT_TRUE(back.existing) << "same content as revision 5";
    EXPECT_EQ(back.revision.revision, 5);
    EXPECT_EQ(Datasets(admin).revisions("Rev").size(), 7u);

    // Freezing needs cases, a protocol, splits and a training case.
    Datasets(admin).create("Empty", std::nullopt, "");
    EXPECT_THROW(Datasets(admin).freezeRevision("Empty", {}), DatasetRuleError);
    const std::int64_t lone = w.addStudy("Lone-1", "Lone");
    w.approved(lone);
    Datasets(admin).addStudies("Empty", {lone});
    try {
        Datasets(admin).freezeRevision("Empty", w.survey(admin, "Empty", DatasetWorld::liverOnly));
        FAIL();
    } catch (const DatasetRuleError& e) {
        EXPECT_NE(std::string(e.what()).find("no annotation protocol"), std::string::npos);
    }
    EXPECT_EQ(w.logged(adminName, "refused freeze dataset revision"), 2u);
}

TEST(StorageDatasets, UnapprovedVersionsOnlyWhenChosenAndThenMarked) {
    DatasetWorld w;
    Session admin = w.t.admin();
    Datasets(admin).create("Draft", 7, "");
    const std::int64_t plain = w.addStudy("Draft-S0", "Draft-P0");
    const std::int64_t submitted = w.save(plain);
    w.submit(submitted);
    // No approved version: refused, naming the study, and logged.
    try {
        Datasets(admin).addStudies("Draft", {plain});
        FAIL();
    } catch (const DatasetRuleError& e) {
        EXPECT_EQ(e.cases, (std::vector<std::string>{"Draft-S0"}));
    }
    EXPECT_EQ(w.logged(adminName, "refused edit dataset"), 1u);
    EXPECT_THROW(Datasets(admin).addStudies("Draft", {plain, plain}, submitted),
                 InvalidRequestError);
    // Chosen explicitly: taken, and marked in the case and in the revision.
    Datasets(admin).addStudies("Draft", {plain}, submitted);
    EXPECT_NE(w.lastDetails("dataset add").find("unapproved: submitted"), std::string::npos);
    const std::int64_t good = w.addStudy("Draft-S1", "Draft-P1");
    const std::int64_t approved = w.approved(good);
    const std::int64_t other = w.addStudy("Draft-S2", "Draft-P2");
    EXPECT_THROW(Datasets(admin).addStudies("Draft", {other}, approved), InvalidRequestError)
        << "a version of another study";
    Datasets(admin).addStudies("Draft", {good});
    Datasets(admin).setProtocol("Draft", "g.md", bytesOf("# g\n"));
    Datasets(admin).split("Draft", splitSettings(5, 1, 0, 0));
    auto cases = Datasets(admin).get("Draft").cases;
    ASSERT_EQ(cases.size(), 2u);
    EXPECT_TRUE(cases[0].unapproved);
    EXPECT_EQ(cases[0].state, ReviewState::Submitted);
    EXPECT_EQ(cases[0].chosenVersion, submitted);
    EXPECT_FALSE(cases[1].unapproved);
    EXPECT_FALSE(cases[1].chosenVersion);
    const FrozenRevision r =
        Datasets(admin).freezeRevision("Draft", w.survey(admin, "Draft", DatasetWorld::liverOnly));
    EXPECT_TRUE(r.revision.cases[0].unapproved);
    EXPECT_FALSE(r.revision.cases[1].unapproved);
    EXPECT_EQ(json::parse(r.revision.contentJson).at("cases")[0].at("unapproved"), true);

    // Once the chosen version is approved it is no longer marked: a new revision.
    w.decide(submitted, Decision::Approve);
    const FrozenRevision r2 =
        Datasets(admin).freezeRevision("Draft", w.survey(admin, "Draft", DatasetWorld::liverOnly));
    EXPECT_FALSE(r2.existing);
    EXPECT_FALSE(r2.revision.cases[0].unapproved);
    // Back to "latest approved" for a study: refused when it has none.
    const std::int64_t changes = w.save(other);
    w.submit(changes);
    w.decide(changes, Decision::RequestChanges);
    Datasets(admin).addStudies("Draft", {other}, changes);
    EXPECT_THROW(Datasets(admin).chooseVersion("Draft", other, std::nullopt), DatasetRuleError);
    Datasets(admin).chooseVersion("Draft", plain, std::nullopt);
    EXPECT_FALSE(Datasets(admin).get("Draft").cases[0].chosenVersion);
}

TEST(StorageDatasets, CredentialsAreEnteredByTheAdminAndLogged) {
    DatasetWorld w;
    Session admin = w.t.admin();
    Users(admin).setCredentials(anna, {"Consultant radiologist", "FRCR", 12, "2026-09-14", {}, {}});
    const auto c = Users(admin).credentials(anna);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->title, "Consultant radiologist");
    EXPECT_EQ(c->qualification, "FRCR");
    EXPECT_EQ(c->yearsOfExperience, 12);
    EXPECT_EQ(c->trainingDate, "2026-09-14");
    EXPECT_EQ(c->updatedBy, adminName);
    EXPECT_EQ(w.lastDetails("user credentials"),
              "Consultant radiologist; FRCR; 12 years; trained 2026-09-14");
    EXPECT_FALSE(Users(admin).credentials(bea));
    for (const Credentials& bad : {
             Credentials{"", "FRCR", 1, "2026-01-01", {}, {}},
             Credentials{"T", " ", 1, "2026-01-01", {}, {}},
             Credentials{"T", "Q", -1, "2026-01-01", {}, {}},
             Credentials{"T", "Q", 81, "2026-01-01", {}, {}},
             Credentials{"T", "Q", 1, "2026-02-30", {}, {}},
             Credentials{"T", "Q", 1, "14.09.2026", {}, {}},
             Credentials{"T", "Q", 1, "2999-01-01", {}, {}},
             Credentials{"T\nx", "Q", 1, "2026-01-01", {}, {}},
         })
        EXPECT_THROW(Users(admin).setCredentials(bea, bad), InvalidRequestError) << bad.title;
    EXPECT_FALSE(Users(admin).credentials(bea));
    EXPECT_THROW(Users(admin).setCredentials("nobody", *c), InvalidRequestError);
    for (const std::string& who : {anna, rick}) {
        Session s = w.login(who);
        EXPECT_THROW(Users(s).setCredentials(bea, *c), PermissionDeniedError);
        EXPECT_EQ(w.logged(who, "refused user credentials"), 1u);
    }

    // A revision lists the people who worked on its versions, with their credentials as at the
    // freeze.
    w.ready(admin, "People", 3);
    const FrozenRevision r = Datasets(admin).freezeRevision(
        "People", w.survey(admin, "People", DatasetWorld::liverOnly));
    ASSERT_EQ(r.revision.people.size(), 2u);
    EXPECT_EQ(r.revision.people[0].name, anna);
    EXPECT_EQ(r.revision.people[0].role, Role::Annotator);
    ASSERT_TRUE(r.revision.people[0].credentials);
    EXPECT_EQ(r.revision.people[0].credentials->qualification, "FRCR");
    EXPECT_EQ(r.revision.people[1].name, rick);
    EXPECT_FALSE(r.revision.people[1].credentials);
    Users(admin).setCredentials(anna, {"Radiologist", "MD", 13, "2026-09-15", {}, {}});
    EXPECT_EQ(Datasets(admin).revision(r.revision.id).people[0].credentials->qualification, "FRCR");
}

TEST(StorageDatasets, ProvenanceOfEachCaseIsFrozenWithTheRevision) {
    DatasetWorld w;
    Session admin = w.t.admin();
    Datasets(admin).create("Prov", std::nullopt, "");
    const std::int64_t study = w.addStudy("Prov-S0", "Prov-P0");
    const std::int64_t first = w.save(study, anna); // the parent, by anna
    w.submit(first);
    w.decide(first, Decision::RequestChanges);
    const std::int64_t second = w.save(study, bea); // bea continues anna's version
    w.submit(second, bea);
    w.decide(second, Decision::Approve);
    {
        Session r = w.login(rick);
        Reviews(r).comment(second, {4, 5, 6}, "check the dome", std::nullopt);
        const auto resolved = Reviews(r).comment(second, {1, 1, 1}, "fine now", std::nullopt);
        Session b = w.login(bea);
        Reviews(b).reply(Reviews(b).comments(second).front().id, "looked again");
        Reviews(b).resolve(resolved.id);
    }
    Datasets(admin).addStudies("Prov", {study});
    Datasets(admin).setProtocol("Prov", "p.pdf", bytesOf("%PDF-1.4\n%fake but magic\n"));
    Datasets(admin).split("Prov", splitSettings(1, 1, 0, 0));
    // A chain naming a version the store does not hold is refused.
    EXPECT_THROW(
        Datasets(admin).freezeRevision("Prov", w.survey(admin, "Prov", DatasetWorld::liverOnly,
                                                        {{"Prov-S0", {std::string(64, 'a')}}})),
        InvalidRequestError);
    const FrozenRevision f = Datasets(admin).freezeRevision(
        "Prov", w.survey(admin, "Prov", DatasetWorld::liverOnly, {{"Prov-S0", {w.hashOf(first)}}}));
    ASSERT_EQ(f.revision.cases.size(), 1u);
    const RevisionCase& c = f.revision.cases[0];
    EXPECT_EQ(c.annotationId, second);
    EXPECT_EQ(c.patientPseudonym, "Prov-P0");
    ASSERT_EQ(c.chain.size(), 2u);
    EXPECT_EQ(c.chain[0].annotationId, second);
    EXPECT_EQ(c.chain[0].author, bea);
    EXPECT_EQ(c.chain[1].annotationId, first);
    EXPECT_EQ(c.chain[1].hash, w.hashOf(first));
    EXPECT_EQ(c.annotators, (std::vector<std::string>{anna, bea}));
    EXPECT_EQ(c.reviewers, (std::vector<std::string>{rick}));
    ASSERT_EQ(c.decisions.size(), 2u);
    EXPECT_EQ(c.decisions[0].decision, "changes");
    EXPECT_EQ(c.decisions[1].decision, "approve");
    EXPECT_EQ(c.decisions[1].versionHash, w.hashOf(second));
    EXPECT_FALSE(c.decisions[1].time.empty());
    ASSERT_EQ(c.openComments.size(), 1u) << "the resolved comment is not open";
    EXPECT_EQ(c.openComments[0].text, "check the dome");
    EXPECT_EQ(c.openComments[0].voxel, (std::array<std::int64_t, 3>{4, 5, 6}));
    ASSERT_EQ(c.openComments[0].replies.size(), 1u);
    EXPECT_NE(c.openComments[0].replies[0].find("looked again"), std::string::npos);
    EXPECT_EQ(f.revision.protocol.mediaType, "application/pdf");
    EXPECT_EQ(f.revision.protocol.fileName, "p.pdf");

    // Read back from the store, the revision is the same.
    const DatasetRevision read = Datasets(admin).revision(f.revision.id);
    EXPECT_EQ(read.contentJson, f.revision.contentJson);
    EXPECT_EQ(read.provenanceJson, f.revision.provenanceJson);
    EXPECT_EQ(read.cases[0].chain.size(), 2u);
    EXPECT_EQ(read.cases[0].openComments[0].voxel, c.openComments[0].voxel);
    EXPECT_EQ(w.logged(adminName, "read dataset revision"), 1u);
}

TEST(StorageDatasets, ProtocolsAreVersionedByTheirSha256) {
    DatasetWorld w;
    Session admin = w.t.admin();
    Datasets(admin).create("Proto", std::nullopt, "");
    const Bytes v1 = bytesOf("# Guideline\n\nOutline every lesion > 5 mm.\n");
    const ProtocolVersion p1 = Datasets(admin).setProtocol("Proto", "/home/ada/guide.md", v1);
    EXPECT_EQ(p1.version, 1);
    EXPECT_EQ(p1.fileName, "guide.md");
    EXPECT_EQ(p1.mediaType, "text/markdown");
    EXPECT_EQ(p1.sha256, sha256Hex(std::string(v1.begin(), v1.end())));
    EXPECT_EQ(Datasets(admin).protocolBytes(p1.id), v1);
    EXPECT_EQ(Datasets(admin).setProtocol("Proto", "guide.md", v1).id, p1.id) << "same bytes";
    const ProtocolVersion p2 =
        Datasets(admin).setProtocol("Proto", "guide.pdf", bytesOf("%PDF-1.7\n..."));
    EXPECT_EQ(p2.version, 2);
    EXPECT_EQ(Datasets(admin).get("Proto").protocol->id, p2.id);
    EXPECT_EQ(Datasets(admin).setProtocol("Proto", "guide.md", v1).id, p1.id);
    EXPECT_EQ(Datasets(admin).get("Proto").protocol->id, p1.id) << "named again";
    EXPECT_EQ(Datasets(admin).get("Proto").protocolVersions.size(), 2u);
    EXPECT_THROW(Datasets(admin).setProtocol("Proto", "guide.txt", bytesOf("text")),
                 InvalidRequestError);
    EXPECT_THROW(Datasets(admin).setProtocol("Proto", "guide.md", {}), InvalidRequestError);
    EXPECT_THROW(Datasets(admin).setProtocol("Proto", "guide.md", Bytes{'a', 0, 'b'}),
                 InvalidRequestError);
    EXPECT_THROW(Datasets(admin).setProtocol("Proto", "guide.md", Bytes{0xff, 0xfe, 'x'}),
                 InvalidRequestError);
    EXPECT_EQ(w.logged(adminName, "dataset protocol"), 3u);
}

TEST(StorageDatasets, NamesAndNumbersAreUniqueAndStable) {
    DatasetWorld w;
    Session admin = w.t.admin();
    EXPECT_EQ(Datasets(admin).create("First", std::nullopt, "").number, 500);
    EXPECT_EQ(Datasets(admin).create("Second", 501, "").number, 501);
    EXPECT_EQ(Datasets(admin).create("Third", std::nullopt, "").number, 502);
    EXPECT_EQ(Datasets(admin).create("Low", 3, "").number, 3);
    EXPECT_THROW(Datasets(admin).create("first", std::nullopt, ""), InvalidRequestError);
    EXPECT_THROW(Datasets(admin).create("Fourth", 501, ""), InvalidRequestError);
    EXPECT_THROW(Datasets(admin).create("Fifth", 1000, ""), InvalidRequestError);
    EXPECT_THROW(Datasets(admin).create("Sixth", 0, ""), InvalidRequestError);
    for (const char* bad : {"", "1abc", "has space", "dots.no", "slash/no"})
        EXPECT_THROW(Datasets(admin).create(bad, std::nullopt, ""), InvalidRequestError) << bad;
    EXPECT_EQ(Datasets(admin).list().size(), 4u);
    EXPECT_EQ(w.lastDetails("dataset create"), "number 003");
    EXPECT_THROW(Datasets(admin).get("Nope"), InvalidRequestError);
}

TEST(StorageDatasets, ExportRecordsAnswerWhichVersionWeTrainedOn) {
    DatasetWorld w;
    Session admin = w.t.admin();
    w.ready(admin, "Ship", 3);
    const FrozenRevision r1 =
        Datasets(admin).freezeRevision("Ship", w.survey(admin, "Ship", DatasetWorld::liverOnly));
    std::vector<ExportedVersion> written;
    for (const RevisionCase& c : r1.revision.cases)
        written.push_back({c.pseudonym, c.versionHash, c.unapproved, c.split});
    const std::string manifest = sha256Hex("tagmanifest");

    // Refused before writing anything (no export id to give), started and completed, started
    // and refused on the way.
    Datasets(admin).recordExportRefused(r1.revision.id, "/media/usb0", "removable medium");
    const std::int64_t ok =
        Datasets(admin).recordExportStarted(r1.revision.id, "smb://nas/radmark", "bundle-a");
    std::reverse(written.begin(), written.end()); // any order
    Datasets(admin).recordExportCompleted(ok, manifest, written);
    EXPECT_THROW(Datasets(admin).recordExportCompleted(ok, manifest, written), InvalidRequestError);
    const std::int64_t dropped =
        Datasets(admin).recordExportStarted(r1.revision.id, "smb://nas/radmark", "b-2");
    Datasets(admin).recordExportRefused(r1.revision.id, "smb://nas/radmark", "the share dropped",
                                        dropped);
    EXPECT_THROW(Datasets(admin).recordExportCompleted(dropped, manifest, written),
                 InvalidRequestError);

    // A completed export must name the revision's versions.
    w.approved(w.studies.at("Ship-S1"));
    const FrozenRevision r2 =
        Datasets(admin).freezeRevision("Ship", w.survey(admin, "Ship", DatasetWorld::liverOnly));
    const std::int64_t wrong =
        Datasets(admin).recordExportStarted(r2.revision.id, "smb://nas/x", "bundle-c");
    EXPECT_THROW(Datasets(admin).recordExportCompleted(wrong, manifest, written),
                 InvalidRequestError);
    EXPECT_EQ(w.logged(adminName, "refused record dataset export"), 1u);

    const std::vector<DatasetExport> history = Datasets(admin).history("Ship");
    ASSERT_EQ(history.size(), 4u);
    EXPECT_EQ(history[0].outcome, ExportOutcome::Refused);
    EXPECT_FALSE(history[0].started);
    EXPECT_EQ(history[0].reason, "removable medium");
    EXPECT_EQ(history[1].outcome, ExportOutcome::Completed);
    EXPECT_EQ(history[1].bundleId, "bundle-a");
    EXPECT_EQ(history[1].manifestHash, manifest);
    EXPECT_EQ(history[1].revision, 1);
    EXPECT_EQ(history[1].revisionHash, r1.revision.contentHash);
    ASSERT_EQ(history[1].versions.size(), 3u);
    for (const ExportedVersion& v : history[1].versions)
        EXPECT_EQ(v.versionHash.size(), 64u);
    EXPECT_EQ(history[2].outcome, ExportOutcome::Refused);
    EXPECT_TRUE(history[2].started);
    EXPECT_EQ(history[3].outcome, ExportOutcome::Started);
    EXPECT_EQ(history[3].revision, 2);
    // The versions of revision 2 differ in the case with the newer approved version.
    EXPECT_NE(history[3].versions, history[1].versions);
    EXPECT_EQ(Datasets(admin).list()[0].exports, 4);

    // Every record has its access-log entry, the completed one naming each version.
    EXPECT_EQ(w.logged(adminName, "dataset export started"), 3u);
    EXPECT_EQ(w.logged(adminName, "dataset export refused"), 2u);
    ASSERT_EQ(w.logged(adminName, "dataset export completed"), 1u);
    const std::string details = w.lastDetails("dataset export completed");
    EXPECT_NE(details.find("bundle bundle-a"), std::string::npos);
    EXPECT_NE(details.find("manifest " + manifest), std::string::npos);
    for (const ExportedVersion& v : written)
        EXPECT_NE(details.find(v.pseudonym + " " + v.versionHash.substr(0, 12)), std::string::npos)
            << details;
    EXPECT_NE(w.lastDetails("dataset export refused").find("the share dropped"), std::string::npos);
}

TEST(StorageDatasets, AnnotatorsAndReviewersAreRefusedAndLogged) {
    DatasetWorld w;
    Session admin = w.t.admin();
    w.ready(admin, "Mine", 3);
    const LabelSurvey survey = w.survey(admin, "Mine", DatasetWorld::liverOnly);
    const FrozenRevision r = Datasets(admin).freezeRevision("Mine", survey);
    const std::int64_t study = w.studies.at("Mine-S0");
    const std::vector<std::pair<std::string, std::function<void(Datasets&)>>> operations = {
        {"create dataset", [](Datasets& d) { d.create("Theirs", std::nullopt, ""); }},
        {"edit dataset", [](Datasets& d) { d.setPurpose("Mine", "theirs"); }},
        {"edit dataset", [&](Datasets& d) { d.addStudies("Mine", {study}); }},
        {"edit dataset", [&](Datasets& d) { d.removeStudy("Mine", study); }},
        {"edit dataset", [&](Datasets& d) { d.chooseVersion("Mine", study, std::nullopt); }},
        {"edit dataset", [](Datasets& d) { d.split("Mine", splitSettings(9, 0.6, 0.2, 0.2)); }},
        {"edit dataset", [](Datasets& d) { d.setProtocol("Mine", "x.md", bytesOf("x")); }},
        {"edit dataset",
         [](Datasets& d) {
             d.mapSegmentName("Mine", {"Lesion", tumour, std::nullopt});
         }},
        {"edit dataset", [](Datasets& d) { d.unmapSegmentName("Mine", "Lesion"); }},
        {"read datasets", [](Datasets& d) { d.list(); }},
        {"read datasets", [](Datasets& d) { d.get("Mine"); }},
        {"read datasets", [&](Datasets& d) { d.labelTable("Mine", survey); }},
        {"read datasets", [&](Datasets& d) { d.revision(r.revision.id); }},
        {"read datasets", [](Datasets& d) { d.history("Mine"); }},
        {"read datasets", [&](Datasets& d) { d.protocolBytes(r.revision.protocol.id); }},
        {"freeze dataset revision", [&](Datasets& d) { d.freezeRevision("Mine", survey); }},
        {"record dataset export",
         [&](Datasets& d) { d.recordExportStarted(r.revision.id, "smb://x/y", "b"); }},
    };
    const std::string contents = [&] {
        Database db = w.t.attackerDatabase();
        return db.queryText("SELECT group_concat(purpose) FROM datasets") +
               db.queryText("SELECT count(*) FROM dataset_cases") +
               db.queryText("SELECT count(*) FROM dataset_exports");
    }();
    for (const std::string& who : {anna, rick}) {
        Session s = w.login(who);
        Datasets datasets(s);
        std::map<std::string, std::size_t> expected;
        for (const auto& [action, run] : operations) {
            SCOPED_TRACE(who + ": " + action);
            EXPECT_THROW(run(datasets), PermissionDeniedError);
            ++expected[action];
        }
        for (const auto& [action, count] : expected)
            EXPECT_EQ(w.logged(who, "refused " + action), count) << who << " " << action;
    }
    Database db = w.t.attackerDatabase();
    EXPECT_EQ(db.queryText("SELECT group_concat(purpose) FROM datasets") +
                  db.queryText("SELECT count(*) FROM dataset_cases") +
                  db.queryText("SELECT count(*) FROM dataset_exports"),
              contents);
}

} // namespace
} // namespace radmark::storage
