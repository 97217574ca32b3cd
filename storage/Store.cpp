#include "storage/Store.h"

#include "storage/AuditAnchor.h"
#include "storage/FailedLogins.h"
#include "storage/SessionAccess.h"

#include <nlohmann/json.hpp>
#include <sodium.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

namespace radmark::storage {

using internal::readMeta;
using internal::readSecretMeta;
using internal::readUser;
using internal::writeMeta;

namespace {

// Schema migrations, in order: migrations[i] brings user_version i to i + 1. Every table of the
// store is made here and nowhere else; a migration, once released, is never edited.
const char* const migrations[] = {
    R"sql(
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
)sql",
    // 2: autosaved drafts, one per study and user.
    R"sql(
CREATE TABLE drafts(
  study_id INTEGER NOT NULL REFERENCES studies(id),
  user_id INTEGER NOT NULL REFERENCES users(id),
  chunk BLOB NOT NULL,
  saved TEXT NOT NULL,
  PRIMARY KEY (study_id, user_id));
)sql",
    // 3: what import keeps beside the study rows. Until schema 3 a first import made these
    // tables on its own, so a schema-2 store may hold them already: IF NOT EXISTS keeps them.
    R"sql(
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
)sql",
    // 4: review states and decisions take only the names storage::reviewStates knows. SQLite
    // cannot add a CHECK to an existing table without rebuilding it (with foreign keys off,
    // outside this transaction); these triggers are that CHECK. A new state replaces them.
    R"sql(
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
)sql",
    // 5: a study is shared (0: annotators assigned to it see each other's versions) or blind
    // (1: an annotator sees only her own versions and reviewers' consensus versions).
    R"sql(
ALTER TABLE studies ADD COLUMN blind INTEGER NOT NULL DEFAULT 0 CHECK (blind IN (0, 1));
)sql",
    // 6: the review records of docs/review.md: submissions (withdrawn by a newer save),
    // immutable decisions bound to a version's content hash (one per version: the first is
    // final), comments pinned to a voxel with replies, the version a save follows up, and
    // consensus versions with their sources. The first decision and the comments of schema 1-5's
    // reviews table are carried over; that table and annotations.review_state are no longer
    // written.
    R"sql(
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
)sql",
    // 7: datasets for export (docs/datasets.md): cases with the version each exports, splits by
    // patient, the labelling protocol's versions, segment names mapped to codes, immutable
    // revisions and export records; and the credentials the admin enters on a user record. A
    // NULL user column is a break-glass session (it has no user row; the log names it).
    R"sql(
ALTER TABLE users ADD COLUMN credential_title TEXT;
ALTER TABLE users ADD COLUMN credential_qualification TEXT;
ALTER TABLE users ADD COLUMN credential_years INTEGER;
ALTER TABLE users ADD COLUMN credential_trained TEXT;
ALTER TABLE users ADD COLUMN credential_updated TEXT;
ALTER TABLE users ADD COLUMN credential_updated_by INTEGER REFERENCES users(id);
CREATE TABLE datasets(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  number INTEGER NOT NULL UNIQUE CHECK (number BETWEEN 1 AND 999),
  purpose TEXT NOT NULL DEFAULT '',
  protocol_id INTEGER REFERENCES dataset_protocols(id),
  split_seed INTEGER,
  split_train INTEGER,
  split_validation INTEGER,
  split_test INTEGER,
  split_keep_exported_test INTEGER NOT NULL DEFAULT 0 CHECK (split_keep_exported_test IN (0, 1)),
  created_by INTEGER REFERENCES users(id),
  created TEXT NOT NULL);
CREATE TRIGGER datasets_name_and_number_fixed BEFORE UPDATE OF name, number ON datasets
  WHEN NEW.name IS NOT OLD.name OR NEW.number IS NOT OLD.number
  BEGIN SELECT RAISE(ABORT, 'a dataset keeps its name and number'); END;
CREATE TRIGGER datasets_no_delete BEFORE DELETE ON datasets
  BEGIN SELECT RAISE(ABORT, 'a dataset is never deleted: its revisions name it'); END;
CREATE TABLE dataset_cases(
  dataset_id INTEGER NOT NULL REFERENCES datasets(id),
  study_id INTEGER NOT NULL REFERENCES studies(id),
  patient_pseudonym TEXT NOT NULL,
  annotation_id INTEGER REFERENCES annotations(id),
  split TEXT CHECK (split IN ('train', 'validation', 'test')),
  added TEXT NOT NULL,
  PRIMARY KEY (dataset_id, study_id));
CREATE TABLE dataset_protocols(
  id INTEGER PRIMARY KEY,
  dataset_id INTEGER NOT NULL REFERENCES datasets(id),
  version INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  media_type TEXT NOT NULL CHECK (media_type IN ('text/markdown', 'application/pdf')),
  file_name TEXT NOT NULL,
  size INTEGER NOT NULL,
  chunk BLOB NOT NULL,
  created_by INTEGER REFERENCES users(id),
  created TEXT NOT NULL,
  UNIQUE (dataset_id, version),
  UNIQUE (dataset_id, sha256));
CREATE TRIGGER dataset_protocols_no_update BEFORE UPDATE ON dataset_protocols
  BEGIN SELECT RAISE(ABORT, 'a protocol version is immutable'); END;
CREATE TRIGGER dataset_protocols_no_delete BEFORE DELETE ON dataset_protocols
  BEGIN SELECT RAISE(ABORT, 'a protocol version is immutable'); END;
CREATE TABLE dataset_segment_names(
  dataset_id INTEGER NOT NULL REFERENCES datasets(id),
  segment_name TEXT NOT NULL,
  scheme TEXT NOT NULL,
  code TEXT NOT NULL,
  meaning TEXT NOT NULL,
  category_scheme TEXT,
  category_code TEXT,
  category_meaning TEXT,
  PRIMARY KEY (dataset_id, segment_name));
CREATE TABLE dataset_revisions(
  id INTEGER PRIMARY KEY,
  dataset_id INTEGER NOT NULL REFERENCES datasets(id),
  revision INTEGER NOT NULL,
  parent_id INTEGER REFERENCES dataset_revisions(id),
  content_hash TEXT NOT NULL,
  content TEXT NOT NULL,
  provenance_hash TEXT NOT NULL,
  provenance TEXT NOT NULL,
  protocol_id INTEGER NOT NULL REFERENCES dataset_protocols(id),
  frozen_by INTEGER REFERENCES users(id),
  frozen TEXT NOT NULL,
  UNIQUE (dataset_id, revision),
  UNIQUE (dataset_id, content_hash));
CREATE TRIGGER dataset_revisions_no_update BEFORE UPDATE ON dataset_revisions
  BEGIN SELECT RAISE(ABORT, 'a dataset revision is immutable'); END;
CREATE TRIGGER dataset_revisions_no_delete BEFORE DELETE ON dataset_revisions
  BEGIN SELECT RAISE(ABORT, 'a dataset revision is immutable'); END;
CREATE TABLE dataset_exports(
  id INTEGER PRIMARY KEY,
  revision_id INTEGER NOT NULL REFERENCES dataset_revisions(id),
  destination TEXT NOT NULL,
  bundle_id TEXT NOT NULL,
  started INTEGER NOT NULL CHECK (started IN (0, 1)),
  user_id INTEGER REFERENCES users(id),
  requested TEXT NOT NULL);
CREATE INDEX dataset_exports_revision ON dataset_exports(revision_id);
CREATE TRIGGER dataset_exports_no_update BEFORE UPDATE ON dataset_exports
  BEGIN SELECT RAISE(ABORT, 'an export record is immutable'); END;
CREATE TRIGGER dataset_exports_no_delete BEFORE DELETE ON dataset_exports
  BEGIN SELECT RAISE(ABORT, 'an export record is immutable'); END;
CREATE TABLE dataset_export_outcomes(
  export_id INTEGER PRIMARY KEY REFERENCES dataset_exports(id),
  outcome TEXT NOT NULL CHECK (outcome IN ('completed', 'refused')),
  reason TEXT NOT NULL,
  manifest_hash TEXT NOT NULL,
  versions TEXT NOT NULL,
  user_id INTEGER REFERENCES users(id),
  time TEXT NOT NULL);
CREATE TRIGGER dataset_export_outcomes_no_update BEFORE UPDATE ON dataset_export_outcomes
  BEGIN SELECT RAISE(ABORT, 'an export record is immutable'); END;
CREATE TRIGGER dataset_export_outcomes_no_delete BEFORE DELETE ON dataset_export_outcomes
  BEGIN SELECT RAISE(ABORT, 'an export record is immutable'); END;
)sql",
    // 8: every access-log entry says from where (host, workstation, OS user, process, program,
    // version: storage/CallerContext.h), inside its hash; '' in the entries written before.
    R"sql(
ALTER TABLE audit_log ADD COLUMN origin TEXT NOT NULL DEFAULT '';
)sql",
};
constexpr int latestSchema = int(sizeof migrations / sizeof migrations[0]);
static_assert(latestSchema == Store::schemaVersion);

void migrate(Database& db) {
    const int version = std::stoi(db.queryText("PRAGMA user_version"));
    if (version > latestSchema)
        throw StoreVersionError("this store was written by a newer version of Radmark (schema " +
                                std::to_string(version) + "; this version reads up to " +
                                std::to_string(latestSchema) + "): update Radmark to open it");
    for (int v = version; v < latestSchema; ++v) {
        Transaction t(db);
        db.exec(migrations[v]);
        db.exec("PRAGMA user_version = " + std::to_string(v + 1));
        t.commit();
    }
}

std::int64_t unixNow() {
    return std::int64_t(std::time(nullptr));
}

} // namespace

std::filesystem::path resolveStoreDir(const std::optional<std::filesystem::path>& given) {
    if (given)
        return *given;
    if (const char* env = std::getenv("RADMARK_STORE"); env && *env)
        return env;
    if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg)
        return std::filesystem::path(xdg) / "radmark";
    if (const char* home = std::getenv("HOME"); home && *home)
        return std::filesystem::path(home) / ".local/share/radmark";
    throw StoreError("no store folder: give --store DIR or set RADMARK_STORE");
}

namespace {

// The store folder is its owner's alone (0700), whatever mode it was made with or given since
// (a folder made 0777 by hand stays 0777 otherwise, and its files could be swapped by others).
void restrictStoreFolder(const std::filesystem::path& dir) {
    std::error_code ec;
    struct stat info {};
    if (::stat(dir.c_str(), &info) != 0 || !S_ISDIR(info.st_mode) || info.st_uid != ::geteuid())
        return; // missing, or someone else's: opening it says what is wrong
    const auto perms = std::filesystem::status(dir, ec).permissions();
    if (ec || (perms & (std::filesystem::perms::group_all | std::filesystem::perms::others_all)) ==
                  std::filesystem::perms::none)
        return;
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, ec);
    if (ec)
        throw StoreError(
            "the store folder " + dir.string() +
            " is open to other users and its mode cannot be set to 0700: " + ec.message());
}

} // namespace

Store::Store(std::filesystem::path dir, Policy site, std::optional<Policy> userPolicy)
    : dir_(std::move(dir)), site_(std::move(site)), userPolicy_(std::move(userPolicy)) {
    initialiseCrypto();
    policy_ = userPolicy_ ? site_.tightenedBy(*userPolicy_, &ignoredPolicy_) : site_;
}

InitialSecrets Store::initialise(const std::filesystem::path& dir, const std::string& adminName,
                                 const std::string& adminPassword, const Policy& policy,
                                 const std::optional<Policy>& storePolicy) {
    initialiseCrypto();
    internal::checkUserName(adminName);
    policy.checkPassword(adminPassword);
    Store store(dir, policy);
    std::error_code ec;
    if (std::filesystem::exists(store.databasePath(), ec) ||
        std::filesystem::exists(store.keyringPath(), ec))
        throw InvalidRequestError("a store already exists in " + dir.string());
    const bool createdDir = !std::filesystem::exists(dir, ec);
    std::filesystem::create_directories(dir, ec);
    if (ec)
        throw StoreError("cannot create the store folder " + dir.string() + ": " + ec.message());
    restrictStoreFolder(dir);

    Bytes storeId(16);
    randombytes_buf(storeId.data(), storeId.size());
    SecureBytes dbKey = SecureBytes::random(Keyring::keySize);
    InitialSecrets secrets{SecureBytes::random(32), SecureBytes::random(Keyring::keySize)};
    Bytes signingPublic(crypto_sign_PUBLICKEYBYTES);
    SecureBytes signingSecret(crypto_sign_SECRETKEYBYTES);
    crypto_sign_keypair(signingPublic.data(), signingSecret.data());
    Bytes failurePublic(crypto_box_PUBLICKEYBYTES);
    SecureBytes failureSecret(crypto_box_SECRETKEYBYTES);
    crypto_box_keypair(failurePublic.data(), failureSecret.data());

    auto removeAll = [&] {
        for (const char* suffix : {"", "-wal", "-shm"})
            std::filesystem::remove(store.databasePath().string() + suffix, ec);
        std::filesystem::remove(store.keyringPath(), ec);
        std::filesystem::remove(store.failedLoginsPath(), ec);
        if (createdDir)
            std::filesystem::remove(dir, ec);
    };
    try {
        Keyring keyring = Keyring::create(storeId, failurePublic);
        keyring.setKeepsFailureRecord();
        const Bytes adminId = keyring.userIdFor(adminName);
        keyring.addPassword(adminId, adminPassword, dbKey, policy);
        keyring.addRecovery(secrets.recoveryKey, dbKey);

        Database db = Database::open(store.databasePath(), &dbKey, true);
        migrate(db);
        Transaction t(db);
        writeMeta(db, "store_id", storeId.data(), storeId.size());
        writeMeta(db, "signing_public", signingPublic.data(), signingPublic.size());
        writeMeta(db, "signing_secret", signingSecret.data(), signingSecret.size());
        writeMeta(db, "failure_public", failurePublic.data(), failurePublic.size());
        writeMeta(db, "failure_secret", failureSecret.data(), failureSecret.size());
        const std::string policyJson = (storePolicy ? *storePolicy : policy).toJson();
        writeMeta(db, "policy", policyJson.data(), policyJson.size());
        AuditLog log(db, storeId, AnchorSettings::of(policy));
        log.initialise(secrets.auditKey);
        db.prepare("INSERT INTO users(lookup, name, role, created) VALUES (?, ?, 'admin', ?)")
            .bindBlob(1, adminId)
            .bind(2, adminName)
            .bind(3, utcNow())
            .run();
        log.append(adminName, "init", "store", "schema " + std::to_string(latestSchema));
        log.append(adminName, "user add", adminName, "role admin");
        log.append(adminName, "policy change", "policy", policyJson);
        t.commit();
        // The record exists from the start: a store without one was tampered with.
        internal::writeFailedLoginFile(store.failedLoginsPath(), {});
        keyring.save(store.keyringPath());
    } catch (...) {
        removeAll();
        throw;
    }
    return secrets;
}

namespace {

constexpr const char* unwritableMarkerPrefix = "failed-logins.unwritable.";

std::string sealFailure(const Keyring& keyring, const std::string& userName,
                        const std::string& reason) {
    const nlohmann::json record{{"user", userName}, {"time", utcNow()}, {"reason", reason}};
    const std::string plain = record.dump();
    Bytes sealed(plain.size() + crypto_box_SEALBYTES);
    crypto_box_seal(sealed.data(), reinterpret_cast<const unsigned char*>(plain.data()),
                    plain.size(), keyring.failurePublicKey().data());
    return toBase64(sealed);
}

// A full disk or an unwritable folder can still take an empty file (no data block): its name
// says when, and the next successful login logs that an attempt was refused unrecorded.
void leaveUnwritableMarker(const std::filesystem::path& dir, const std::string& idHex) {
    Bytes nonce(4);
    randombytes_buf(nonce.data(), nonce.size());
    const std::filesystem::path marker =
        dir / (std::string(unwritableMarkerPrefix) + std::to_string(unixNow()) + "." +
               idHex.substr(0, 8) + "." + toHex(nonce));
    const int fd = ::open(marker.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0)
        ::close(fd);
}

std::string minutes(std::chrono::seconds window) {
    return std::to_string(window.count() / 60 + 1) + " minutes";
}

} // namespace

// Reads the record; a missing (where the keyring says it must exist), truncated or altered one
// becomes a tamper record that locks every account for the lockout window. Call with the store
// folder locked.
static internal::FailedLoginFile loadFailedLogins(const Store& store, const Keyring& keyring,
                                                  const std::string& lockoutNote) {
    auto file = internal::readFailedLoginFile(store.failedLoginsPath());
    std::string tamper = file.problem;
    if (tamper.empty() && !file.present && !file.legacy && keyring.keepsFailureRecord())
        tamper = "the failed-login record is missing (deleted)";
    if (file.legacy || !file.present)
        file.present = true; // written in the current format from now on
    file.legacy = false;
    if (!tamper.empty()) {
        // Whatever records are left still count; renumbered so that the chain holds again.
        for (std::size_t i = 0; i < file.records.size(); ++i)
            file.records[i].number = file.drained + 1 + i;
        file.problem.clear();
        file.append({0,
                     internal::everyAccount,
                     unixNow(),
                     sealFailure(keyring, "?", "tamper: " + tamper + "; " + lockoutNote),
                     {}});
    }
    return file;
}

std::string Store::beginAttempt(const Keyring& keyring, const std::string& userName) const {
    const std::string id = toHex(keyring.userIdFor(userName));
    const bool breakGlassAttempt = userName == "break-glass";
    const std::string notes = ignoredPolicy_.empty()
                                  ? std::string()
                                  : " (its --policy file asked for looser values: ignored)";
    const std::int64_t since = unixNow() - policy_.lockoutWindow.count();
    internal::StoreFolderLock lock(dir_);
    auto file = loadFailedLogins(*this, keyring,
                                 "every account locked for " + minutes(policy_.lockoutWindow));
    const bool lockedForEveryone = !breakGlassAttempt && file.lockedForEveryone(since);
    if (lockedForEveryone || file.recent(id, since, false) >= policy_.maxFailedLogins) {
        file.append({0,
                     id,
                     unixNow(),
                     sealFailure(keyring, userName, "refused: account locked out" + notes),
                     {}});
        try {
            internal::writeFailedLoginFile(failedLoginsPath(), file);
        } catch (const StoreError&) {
            leaveUnwritableMarker(dir_, id); // refused all the same
        }
        if (lockedForEveryone)
            throw AccountLockedError("the failed-login record of this store was missing or "
                                     "altered: every account is locked out for " +
                                     minutes(policy_.lockoutWindow) + " (logged)");
        throw AccountLockedError("too many failed logins for " + userName + ": try again in " +
                                 minutes(policy_.lockoutWindow) + ", or ask an admin");
    }
    Bytes nonce(16);
    randombytes_buf(nonce.data(), nonce.size());
    const std::string attempt = toHex(nonce);
    // Counted as failed until the password has opened the store: a process killed after the
    // check, or whose outcome cannot be written, has still used up one try.
    file.append({0, id, unixNow(),
                 sealFailure(keyring, userName,
                             "login attempt with no outcome recorded (counted as failed)" + notes),
                 attempt});
    try {
        internal::writeFailedLoginFile(failedLoginsPath(), file);
    } catch (const StoreError& e) {
        leaveUnwritableMarker(dir_, id);
        throw StoreError(std::string("the login cannot be recorded (") + e.what() +
                         "): refused before the password was checked; free disk space or "
                         "make the store folder writable");
    }
    return attempt;
}

void Store::recordFailedLogin(const Keyring& keyring, const std::string& userName,
                              const std::string& reason, const std::string& attempt) const {
    const std::string notes = ignoredPolicy_.empty()
                                  ? std::string()
                                  : " (its --policy file asked for looser values: ignored)";
    try {
        internal::StoreFolderLock lock(dir_);
        auto file = loadFailedLogins(*this, keyring,
                                     "every account locked for " + minutes(policy_.lockoutWindow));
        const std::string sealed = sealFailure(keyring, userName, reason + notes);
        bool found = false;
        for (auto& r : file.records)
            if (!attempt.empty() && r.attempt == attempt) {
                r.sealed = sealed;
                r.attempt.clear();
                found = true;
            }
        if (!found)
            file.append({0, toHex(keyring.userIdFor(userName)), unixNow(), sealed, {}});
        internal::writeFailedLoginFile(failedLoginsPath(), file);
    } catch (const StoreError&) {
        // The attempt's own record, written before the password was tried, counts already.
    }
}

Session Store::login(const std::string& userName, const std::string& password) const {
    restrictStoreFolder(dir_);
    Keyring keyring = Keyring::load(keyringPath());
    const std::string attempt = beginAttempt(keyring, userName);
    Keyring::Keys keys;
    try {
        keys = keyring.unwrapAllWithPassword(keyring.userIdFor(userName), password);
    } catch (const AuthenticationError&) {
        recordFailedLogin(keyring, userName, "wrong password, unknown or disabled account",
                          attempt);
        throw;
    }
    return openSession(std::move(keys), keyring, userName, password, attempt, false, {}, nullptr);
}

Session Store::breakGlass(const SecureBytes& recoveryKey, const std::string& reason) const {
    Keyring keyring = Keyring::load(keyringPath());
    if (reason.empty())
        throw InvalidRequestError("break-glass access needs a reason; it is logged");
    const std::string attempt = beginAttempt(keyring, "break-glass");
    Keyring::Keys keys;
    try {
        keys = keyring.unwrapAllWithRecovery(recoveryKey);
    } catch (const AuthenticationError&) {
        recordFailedLogin(keyring, "break-glass", "wrong recovery key", attempt);
        throw;
    }
    return openSession(std::move(keys), keyring, "break-glass", {}, attempt, true, reason,
                       &recoveryKey);
}

std::unique_ptr<internal::FailedLoginDrain>
Store::appendFailedLogins(Database& db, AuditLog& log, const std::string& userName,
                          const Keyring& keyring, const std::string& attempt) const {
    auto drain = std::make_unique<internal::FailedLoginDrain>();
    drain->lock = std::make_unique<internal::StoreFolderLock>(dir_);
    const auto file = loadFailedLogins(*this, keyring, "logged at this login");
    const SecureBytes failureSecret = readSecretMeta(db, "failure_secret");
    const Bytes failurePublic = readMeta(db, "failure_public");
    const std::string ownId = toHex(keyring.userIdFor(userName));
    const std::int64_t since = unixNow() - policy_.lockoutWindow.count();

    // The database remembers how far the record had been logged: a record that starts before
    // that (deleted and begun anew, or an older copy put back) lost failures.
    std::uint64_t loggedUpTo = 0;
    {
        auto s = db.prepare("SELECT value FROM meta WHERE key = 'failed_logins_drained'");
        if (s.step()) {
            const Bytes b = s.blob(0);
            loggedUpTo = std::stoull(std::string(b.begin(), b.end()));
        }
    }
    if (file.lastNumber() < loggedUpTo)
        log.append("?", "failed logins tampered", "failed-logins",
                   "the failed-login record was deleted or replaced by an older copy: it ends at " +
                       std::to_string(file.lastNumber()) + ", " + std::to_string(loggedUpTo) +
                       " had been logged");

    auto& next = drain->next;
    next.present = true;
    for (const auto& [id, time] : file.counting)
        if (id != ownId && time >= since)
            next.counting.emplace_back(id, time);
    for (const auto& r : file.records) {
        if (!attempt.empty() && r.attempt == attempt)
            continue; // this login's own attempt: it succeeds
        std::string details = "(sealed record could not be opened: altered)";
        std::string who = "?";
        try {
            const Bytes sealed = fromBase64(r.sealed);
            if (sealed.size() > crypto_box_SEALBYTES) {
                std::string plain(sealed.size() - crypto_box_SEALBYTES, '\0');
                if (crypto_box_seal_open(reinterpret_cast<unsigned char*>(plain.data()),
                                         sealed.data(), sealed.size(), failurePublic.data(),
                                         failureSecret.data()) == 0) {
                    const auto j = nlohmann::json::parse(plain);
                    who = j.at("user").get<std::string>();
                    details = j.at("reason").get<std::string>() + " at " +
                              j.at("time").get<std::string>();
                }
            }
        } catch (const std::exception&) {
        }
        if (r.id == internal::everyAccount)
            log.append(who, "failed logins tampered", "failed-logins", details);
        else
            log.append(who, "failed login", who, details);
        if (r.id != ownId && r.time >= since)
            next.counting.emplace_back(r.id, r.time); // logged, but still counts
    }
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind(unwritableMarkerPrefix, 0) != 0)
            continue;
        const std::string rest = name.substr(std::strlen(unwritableMarkerPrefix));
        std::time_t when = std::time_t(std::strtoll(rest.c_str(), nullptr, 10));
        std::tm tm{};
        gmtime_r(&when, &tm);
        char at[32];
        std::strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
        log.append("?", "failed login", "?",
                   std::string("refused before the password was checked: the failure record "
                               "could not be written at ") +
                       at);
        drain->markers.push_back(entry.path());
    }
    next.drained = std::max(loggedUpTo, file.lastNumber());
    const std::string drained = std::to_string(next.drained);
    writeMeta(db, "failed_logins_drained", drained.data(), drained.size());
    return drain;
}

void Store::forgetFailedLogins(std::unique_ptr<internal::FailedLoginDrain> drain) const {
    if (!drain)
        return;
    try {
        internal::writeFailedLoginFile(failedLoginsPath(), drain->next);
        for (const auto& marker : drain->markers)
            std::filesystem::remove(marker);
    } catch (const std::exception&) {
        // Logged already; at worst a failure is logged twice.
    }
}

namespace {

// The policy an admin recorded in the store. A record without "schema" was written by Radmark
// before policies were the site's (each login recorded its process's policy): its numbers still
// count (they can only tighten), its destinations do not.
Policy recordedPolicy(Database& db) {
    auto s = db.prepare("SELECT value FROM meta WHERE key = 'policy'");
    if (!s.step())
        return Policy{};
    const Bytes b = s.blob(0);
    const std::string text(b.begin(), b.end());
    Policy recorded = Policy::fromJson(text);
    const auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_object() || !j.contains("schema")) {
        recorded.exportDestinations.clear();
        recorded.exportAllowList.clear();
        recorded.destinationsListed = false;
    }
    return recorded;
}

std::string joined(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines)
        out += (out.empty() ? "" : "; ") + l;
    return out;
}

} // namespace

Session Store::openSession(Keyring::Keys keys, const Keyring& keyring, const std::string& userName,
                           const std::string& password, const std::string& attempt, bool breakGlass,
                           const std::string& reason, const SecureBytes* recoveryKey) const {
    // A key rotation killed midway leaves the keyring with two key versions and the database
    // under one of them (storage/KeyRotation.h): the current one is tried first.
    SecureBytes dbKey;
    Database db;
    bool openedWithPending = false;
    if (!keys.current.empty()) {
        try {
            db = Database::open(databasePath(), &keys.current, false);
            dbKey = std::move(keys.current);
        } catch (const StoreError&) {
            if (keys.pending.empty())
                keys.pending = std::move(keys.current); // tried once more below, then refused
        }
    }
    if (!db.isOpen()) {
        try {
            db = Database::open(databasePath(), &keys.pending, false);
        } catch (const StoreError& e) {
            // The keyring's keys open nothing: most likely a keyring put back from a copy taken
            // before a key rotation. A refusal like any other, recorded and logged.
            recordFailedLogin(keyring, userName,
                              std::string("refused: the keyring's key does not open the store (") +
                                  e.what() + ")",
                              attempt);
            if (std::string(e.what()).find("cannot be decrypted") == std::string::npos)
                throw;
            throw StoreError("the store cannot be decrypted with this keyring: its key is not the "
                             "store's (a keyring from before a key rotation, or store.db altered)");
        }
        dbKey = std::move(keys.pending);
        openedWithPending = true;
    }
    keys.current.wipe();
    keys.pending.wipe();
    migrate(db);
    const Bytes storeId = readMeta(db, "store_id");
    if (storeId != keyring.storeId())
        throw KeyringError("the keyring belongs to another store");
    UserInfo user;
    if (breakGlass) {
        user.name = "break-glass";
        user.role = Role::Admin;
    } else {
        auto s = db.prepare("SELECT id, name, role, disabled, created FROM users WHERE lookup = ?");
        s.bindBlob(1, keyring.userIdFor(userName));
        if (!s.step()) {
            recordFailedLogin(keyring, userName, "refused: no such account", attempt);
            throw AuthenticationError("the user name or password is not correct");
        }
        user = readUser(s);
        if (user.disabled) {
            recordFailedLogin(keyring, userName, "refused: account disabled", attempt);
            throw AuthenticationError("the account " + user.name + " is disabled");
        }
    }

    // The effective policy: the site's (system) and the store's recorded one, tightened by the
    // user's own file.
    Store effective(*this);
    effective.ignoredPolicy_.clear();
    try {
        effective.policy_ = site_.combinedWith(recordedPolicy(db));
    } catch (const PolicyError&) {
        effective.policy_ = site_; // an unreadable record cannot loosen anything
    }
    if (userPolicy_)
        effective.policy_ = effective.policy_.tightenedBy(*userPolicy_, &effective.ignoredPolicy_);
    const Policy& policy = effective.policy_;

    if (!breakGlass) {
        // The store's policy may be stricter than what was checked before the password.
        const std::int64_t since = unixNow() - policy.lockoutWindow.count();
        int recent = 0;
        bool everyone = false;
        {
            internal::StoreFolderLock lock(dir_);
            const auto file = internal::readFailedLoginFile(failedLoginsPath());
            recent = file.recent(toHex(keyring.userIdFor(userName)), since, false) - 1;
            everyone = file.lockedForEveryone(since);
        }
        if (everyone || recent >= policy.maxFailedLogins) {
            recordFailedLogin(keyring, userName, "refused: account locked out (store policy)",
                              attempt);
            throw AccountLockedError("too many failed logins for " + userName + ": try again in " +
                                     minutes(policy.lockoutWindow) + ", or ask an admin");
        }
        try {
            policy.checkPassword(password);
        } catch (const InvalidRequestError& e) {
            recordFailedLogin(keyring, userName,
                              "refused: the password does not meet the site's policy", attempt);
            throw AuthenticationError("the password of " + userName +
                                      " does not meet the site's policy (" + e.what() +
                                      "): ask an admin to set a new one");
        }
    }

    // A key wrapped at a lower Argon2id cost than the policy's is wrapped anew at that cost, a
    // format-1 entry gets its key pair, an interrupted key rotation is finished or undone, and
    // a keyring of a store from before the chained failure record starts requiring it.
    std::string rewrapped, keyPairMade, rotation;
    int keyVersion = 0;
    const Bytes userId = keyring.userIdFor(userName);
    const bool needsPair = breakGlass ? recoveryKey && keyring.recoveryNeedsKeyPair()
                                      : keyring.needsKeyPair(userId);
    if ((!breakGlass && keyring.wrappedBelow(userId, policy)) || !keyring.keepsFailureRecord() ||
        needsPair || keyring.pendingKeyVersion() != 0) {
        // Serialised with a rotation, which holds this lock from its first keyring write to its
        // last.
        internal::StoreFolderLock lock(dir_);
        Keyring fresh = Keyring::load(keyringPath());
        if (fresh.pendingKeyVersion() != 0) {
            // No rotation runs now (it would hold the lock): this one was interrupted. Which key
            // opens the database says whether its rekey committed; checked again under the lock.
            try {
                Database::open(databasePath(), &dbKey, false);
            } catch (const StoreError&) {
                throw StoreError("the store's key was changed while logging in: log in again");
            }
            const int before = fresh.keyVersion();
            if (openedWithPending) {
                fresh.completeRotation();
                rotation = "completed after an interruption: key version " +
                           std::to_string(before) + " -> " + std::to_string(fresh.keyVersion());
                keyVersion = fresh.keyVersion();
            } else {
                fresh.abandonRotation();
                rotation = "interrupted before the database was rekeyed: key version " +
                           std::to_string(before) +
                           " stays; rotate again (radmark-cli store rotate-key)";
            }
        } else if (openedWithPending) {
            keyVersion = fresh.keyVersion(); // completed by another process meanwhile
        }
        if (!breakGlass && fresh.needsKeyPair(userId)) {
            fresh.addPassword(userId, password, dbKey, policy);
            keyPairMade = "key pair made (keyring format 2): the database key is sealed to it";
        } else if (!breakGlass && fresh.wrappedBelow(userId, policy)) {
            const std::string before = fresh.wrappingCost(userId);
            fresh.addPassword(userId, password, dbKey, policy);
            rewrapped =
                "Argon2id " + before + " -> " + fresh.wrappingCost(userId) + " (the policy's cost)";
        }
        if (breakGlass && recoveryKey && fresh.recoveryNeedsKeyPair()) {
            fresh.addRecovery(*recoveryKey, dbKey);
            keyPairMade = "recovery key pair made (keyring format 2)";
        }
        fresh.setKeepsFailureRecord();
        fresh.save(keyringPath());
    }

    {
        Transaction t(db);
        AuditLog log(db, storeId, AnchorSettings::of(policy));
        auto drained = appendFailedLogins(db, log, userName, keyring, attempt);
        if (breakGlass)
            log.append(user.name, "break-glass login", "store", reason);
        else
            log.append(user.name, "login", user.name, "role " + roleName(user.role));
        if (!effective.ignoredPolicy_.empty())
            log.append(user.name, "policy ignored", "policy",
                       "--policy asked for looser values, not applied: " +
                           joined(effective.ignoredPolicy_));
        if (!rewrapped.empty())
            log.append(user.name, "key rewrap", user.name, rewrapped);
        if (!keyPairMade.empty())
            log.append(user.name, "key rewrap", user.name, keyPairMade);
        if (!rotation.empty())
            log.append(user.name, "key rotation", "store", rotation);
        if (keyVersion != 0) {
            const std::string v = std::to_string(keyVersion);
            writeMeta(db, "key_version", v.data(), v.size());
        }
        t.commit();
        forgetFailedLogins(std::move(drained));
    }
    return Session(effective, std::move(db), std::move(dbKey), user, breakGlass);
}

} // namespace radmark::storage
