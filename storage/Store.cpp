#include "storage/Store.h"

#include "storage/ChunkStore.h"

#include <nlohmann/json.hpp>
#include <sodium.h>

#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>

namespace radmark::storage {

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

Bytes readMeta(Database& db, const std::string& key) {
    auto s = db.prepare("SELECT value FROM meta WHERE key = ?");
    s.bind(1, key);
    if (!s.step())
        throw StoreError("the store is missing its " + key + " record");
    return s.blob(0);
}

SecureBytes readSecretMeta(Database& db, const std::string& key) {
    Bytes b = readMeta(db, key);
    SecureBytes out(b.data(), b.size());
    sodium_memzero(b.data(), b.size());
    return out;
}

void writeMeta(Database& db, const std::string& key, const void* data, std::size_t size) {
    db.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)")
        .bind(1, key)
        .bindBlob(2, data, size)
        .run();
}

UserInfo readUser(Statement& s) {
    return {s.integer(0), s.text(1), parseRole(s.text(2)), s.integer(3) != 0, s.text(4)};
}

std::string normaliseName(const std::string& name) {
    if (name.empty() || name.size() > 64)
        throw InvalidRequestError("a user name must have 1 to 64 characters");
    for (unsigned char c : name)
        if (!(std::isalnum(c) || c == '.' || c == '_' || c == '-'))
            throw InvalidRequestError("a user name may contain only letters, digits, '.', '_' "
                                      "and '-'");
    return name;
}

// Lines of <store>/failed-logins: {"id": hex user id, "t": unix time, "sealed": base64 or absent}.
struct FailedLogin {
    std::string id;
    std::int64_t time = 0;
    std::string sealed;
};

std::vector<FailedLogin> readFailedLogins(const std::filesystem::path& path) {
    std::vector<FailedLogin> out;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        try {
            const auto j = nlohmann::json::parse(line);
            out.push_back({j.at("id").get<std::string>(), j.at("t").get<std::int64_t>(),
                           j.value("sealed", std::string())});
        } catch (const std::exception&) {
            // A damaged line cannot be read back; skip it rather than refuse every login.
        }
    }
    return out;
}

std::string failedLoginsText(const std::vector<FailedLogin>& all) {
    std::string text;
    for (const auto& f : all) {
        nlohmann::json j{{"id", f.id}, {"t", f.time}};
        if (!f.sealed.empty())
            j["sealed"] = f.sealed;
        text += j.dump() + "\n";
    }
    return text;
}

std::int64_t unixNow() {
    return std::int64_t(std::time(nullptr));
}

} // namespace

std::string roleName(Role role) {
    switch (role) {
    case Role::Annotator:
        return "annotator";
    case Role::Reviewer:
        return "reviewer";
    case Role::Admin:
        return "admin";
    }
    return "?";
}

Role parseRole(const std::string& name) {
    if (name == "annotator")
        return Role::Annotator;
    if (name == "reviewer")
        return Role::Reviewer;
    if (name == "admin")
        return Role::Admin;
    throw InvalidRequestError("unknown role '" + name + "' (annotator, reviewer or admin)");
}

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

Store::Store(std::filesystem::path dir, Policy policy)
    : dir_(std::move(dir)), policy_(std::move(policy)) {
    initialiseCrypto();
}

InitialSecrets Store::initialise(const std::filesystem::path& dir, const std::string& adminName,
                                 const std::string& adminPassword, const Policy& policy) {
    initialiseCrypto();
    normaliseName(adminName);
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
    if (createdDir)
        std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);

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
        if (createdDir)
            std::filesystem::remove(dir, ec);
    };
    try {
        Keyring keyring = Keyring::create(storeId, failurePublic);
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
        const std::string policyJson = policy.toJson();
        writeMeta(db, "policy", policyJson.data(), policyJson.size());
        AuditLog log(db, storeId);
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
        keyring.save(store.keyringPath());
    } catch (...) {
        removeAll();
        throw;
    }
    return secrets;
}

void Store::refuseWhenLockedOut(const Keyring& keyring, const std::string& userName) const {
    const std::string id = toHex(keyring.userIdFor(userName));
    const std::int64_t since = unixNow() - policy_.lockoutWindow.count();
    int recent = 0;
    for (const auto& f : readFailedLogins(failedLoginsPath()))
        if (f.id == id && f.time >= since)
            ++recent;
    if (recent >= policy_.maxFailedLogins) {
        recordFailedLogin(keyring, userName, "refused: account locked out");
        throw AccountLockedError("too many failed logins for " + userName + ": try again in " +
                                 std::to_string(policy_.lockoutWindow.count() / 60 + 1) +
                                 " minutes, or ask an admin");
    }
}

void Store::recordFailedLogin(const Keyring& keyring, const std::string& userName,
                              const std::string& reason) const {
    const nlohmann::json record{{"user", userName}, {"time", utcNow()}, {"reason", reason}};
    const std::string plain = record.dump();
    Bytes sealed(plain.size() + crypto_box_SEALBYTES);
    crypto_box_seal(sealed.data(), reinterpret_cast<const unsigned char*>(plain.data()),
                    plain.size(), keyring.failurePublicKey().data());
    auto all = readFailedLogins(failedLoginsPath());
    all.push_back({toHex(keyring.userIdFor(userName)), unixNow(), toBase64(sealed)});
    try {
        writeFileAtomically(failedLoginsPath(), failedLoginsText(all));
    } catch (const StoreError&) {
        // An unwritable store folder must not hide the refusal itself.
    }
}

Session Store::login(const std::string& userName, const std::string& password) const {
    Keyring keyring = Keyring::load(keyringPath());
    refuseWhenLockedOut(keyring, userName);
    SecureBytes dbKey;
    try {
        dbKey = keyring.unwrapWithPassword(keyring.userIdFor(userName), password);
    } catch (const AuthenticationError&) {
        recordFailedLogin(keyring, userName, "wrong password, unknown or disabled account");
        throw;
    }
    return openSession(std::move(dbKey), keyring, userName, false, {});
}

Session Store::breakGlass(const SecureBytes& recoveryKey, const std::string& reason) const {
    Keyring keyring = Keyring::load(keyringPath());
    if (reason.empty())
        throw InvalidRequestError("break-glass access needs a reason; it is logged");
    refuseWhenLockedOut(keyring, "break-glass");
    SecureBytes dbKey;
    try {
        dbKey = keyring.unwrapWithRecovery(recoveryKey);
    } catch (const AuthenticationError&) {
        recordFailedLogin(keyring, "break-glass", "wrong recovery key");
        throw;
    }
    return openSession(std::move(dbKey), keyring, "break-glass", true, reason);
}

std::optional<std::string> Store::appendFailedLogins(Database& db, AuditLog& log,
                                                     const std::string& userName,
                                                     const Keyring& keyring) const {
    const auto failures = readFailedLogins(failedLoginsPath());
    if (failures.empty())
        return std::nullopt;
    const SecureBytes failureSecret = readSecretMeta(db, "failure_secret");
    const Bytes failurePublic = readMeta(db, "failure_public");
    const std::string ownId = userName.empty() ? std::string() : toHex(keyring.userIdFor(userName));
    const std::int64_t since = unixNow() - policy_.lockoutWindow.count();
    std::vector<FailedLogin> keep;
    for (const auto& f : failures) {
        if (!f.sealed.empty()) {
            std::string details = "(sealed record could not be opened: altered)";
            std::string who = "?";
            try {
                const Bytes sealed = fromBase64(f.sealed);
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
            log.append(who, "failed login", who, details);
        }
        if (f.id != ownId && f.time >= since)
            keep.push_back({f.id, f.time, {}}); // logged, but still counts towards a lockout
    }
    return failedLoginsText(keep);
}

void Store::forgetFailedLogins(const std::optional<std::string>& remaining) const {
    if (!remaining)
        return;
    try {
        if (remaining->empty())
            std::filesystem::remove(failedLoginsPath());
        else
            writeFileAtomically(failedLoginsPath(), *remaining);
    } catch (const std::exception&) {
        // Logged already; at worst a failure is logged twice.
    }
}

Session Store::openSession(SecureBytes dbKey, const Keyring& keyring, const std::string& userName,
                           bool breakGlass, const std::string& reason) const {
    Database db = Database::open(databasePath(), &dbKey, false);
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
        if (!s.step())
            throw AuthenticationError("the user name or password is not correct");
        user = readUser(s);
        if (user.disabled) {
            Transaction t(db);
            AuditLog(db, storeId)
                .append(user.name, "failed login", user.name, "refused: account disabled");
            t.commit();
            throw AuthenticationError("the account " + user.name + " is disabled");
        }
    }

    {
        Transaction t(db);
        AuditLog log(db, storeId);
        const auto drained =
            appendFailedLogins(db, log, breakGlass ? std::string() : userName, keyring);
        if (breakGlass)
            log.append(user.name, "break-glass login", "store", reason);
        else
            log.append(user.name, "login", user.name, "role " + roleName(user.role));
        const std::string policyJson = policy_.toJson();
        const Bytes recorded = readMeta(db, "policy");
        if (std::string(recorded.begin(), recorded.end()) != policyJson) {
            writeMeta(db, "policy", policyJson.data(), policyJson.size());
            log.append(user.name, "policy change", "policy", policyJson);
        }
        t.commit();
        forgetFailedLogins(drained);
    }
    return Session(*this, std::move(db), std::move(dbKey), user, breakGlass);
}

// ---------------------------------------------------------------------------------------------

Session::Session(Store store, Database db, SecureBytes dbKey, UserInfo user, bool breakGlass)
    : store_(std::move(store)), db_(std::move(db)), dbKey_(std::move(dbKey)), userId_(user.id),
      userName_(user.name), role_(user.role), breakGlass_(breakGlass),
      lastActivity_(std::chrono::steady_clock::now()) {
    storeId_ = readMeta(db_, "store_id");
}

Session::Session(Session&& other) noexcept
    : store_(std::move(other.store_)), db_(std::move(other.db_)), dbKey_(std::move(other.dbKey_)),
      storeId_(std::move(other.storeId_)), userId_(other.userId_),
      userName_(std::move(other.userName_)), role_(other.role_), breakGlass_(other.breakGlass_),
      loggedOut_(other.loggedOut_), lastActivity_(other.lastActivity_) {
    other.log_.reset(); // bound to other's connection object; re-made on demand here
    other.loggedOut_ = true;
}

Session& Session::operator=(Session&& other) noexcept {
    if (this != &other) {
        try {
            logout();
        } catch (...) {
        }
        log_.reset();
        other.log_.reset();
        store_ = std::move(other.store_);
        db_ = std::move(other.db_);
        dbKey_ = std::move(other.dbKey_);
        storeId_ = std::move(other.storeId_);
        userId_ = other.userId_;
        userName_ = std::move(other.userName_);
        role_ = other.role_;
        breakGlass_ = other.breakGlass_;
        loggedOut_ = other.loggedOut_;
        lastActivity_ = other.lastActivity_;
        other.loggedOut_ = true;
    }
    return *this;
}

Session::~Session() {
    try {
        logout();
    } catch (...) {
        log_.reset();
        db_.close();
        dbKey_.wipe();
    }
}

Database& Session::database() {
    if (loggedOut_)
        throw SessionLockedError("the session has ended: log in again");
    if (!db_.isOpen())
        throw SessionLockedError("the session is locked: unlock it first");
    return db_;
}

AuditLog& Session::auditLog() {
    Database& db = database();
    if (!log_)
        log_ = std::make_unique<AuditLog>(db, storeId_);
    return *log_;
}

void Session::requireRole(std::initializer_list<Role> roles) const {
    if (loggedOut_)
        throw SessionLockedError("the session has ended: log in again");
    if (!db_.isOpen())
        throw SessionLockedError("the session is locked: unlock it first");
    for (Role r : roles)
        if (r == role_)
            return;
    std::string allowed;
    for (Role r : roles)
        allowed += (allowed.empty() ? "" : " or ") + roleName(r);
    throw PermissionDeniedError("only the " + allowed + " role may do this (you are signed in as " +
                                roleName(role_) + ")");
}

void Session::recordAccess(const std::string& action, const std::string& object,
                           const std::string& details) {
    recorded(action, object, details, [](Database&) {});
}

bool Session::idleTimeoutReached() const {
    return std::chrono::steady_clock::now() - lastActivity_ >= store_.policy().idleTimeout;
}

Keyring Session::loadKeyring() const {
    return Keyring::load(store_.keyringPath());
}

UserInfo Session::findUser(const std::string& name) {
    auto s =
        database().prepare("SELECT id, name, role, disabled, created FROM users WHERE name = ?");
    s.bind(1, name);
    if (!s.step())
        throw InvalidRequestError("there is no user named " + name);
    return readUser(s);
}

void Session::addUser(const std::string& name, Role role, const std::string& password) {
    requireRole({Role::Admin});
    touch();
    normaliseName(name);
    store_.policy().checkPassword(password);
    Keyring keyring = loadKeyring();
    const Bytes id = keyring.userIdFor(name);
    {
        auto s = database().prepare("SELECT 1 FROM users WHERE name = ? OR lookup = ?");
        s.bind(1, name).bindBlob(2, id);
        if (s.step())
            throw InvalidRequestError("a user named " + name + " already exists");
    }
    keyring.addPassword(id, password, dbKey_, store_.policy());
    // Database first: should the keyring write fail, the account exists but cannot log in yet.
    recorded("user add", name, "role " + roleName(role), [&](Database& db) {
        db.prepare("INSERT INTO users(lookup, name, role, created) VALUES (?, ?, ?, ?)")
            .bindBlob(1, id)
            .bind(2, name)
            .bind(3, roleName(role))
            .bind(4, utcNow())
            .run();
    });
    keyring.save(store_.keyringPath());
}

std::vector<UserInfo> Session::listUsers() {
    requireRole({Role::Admin});
    touch();
    auto s =
        database().prepare("SELECT id, name, role, disabled, created FROM users ORDER BY name");
    std::vector<UserInfo> out;
    while (s.step())
        out.push_back(readUser(s));
    return out;
}

void Session::disableUser(const std::string& name) {
    requireRole({Role::Admin});
    touch();
    const UserInfo user = findUser(name);
    if (user.id == userId_)
        throw InvalidRequestError("you cannot disable your own account");
    Keyring keyring = loadKeyring();
    // Keyring first: once its wrapped key is gone the account cannot open the store again.
    keyring.remove(keyring.userIdFor(name));
    keyring.save(store_.keyringPath());
    recorded("user disable", name, "keyring entry deleted", [&](Database& db) {
        db.prepare("UPDATE users SET disabled = 1 WHERE id = ?").bind(1, user.id).run();
    });
}

void Session::changePassword(const std::string& name, const std::string& newPassword) {
    if (name != userName_ || breakGlass_)
        requireRole({Role::Admin});
    else
        requireRole({Role::Annotator, Role::Reviewer, Role::Admin});
    touch();
    const UserInfo user = findUser(name);
    if (user.disabled)
        throw InvalidRequestError("the account " + name + " is disabled");
    store_.policy().checkPassword(newPassword);
    Keyring keyring = loadKeyring();
    keyring.addPassword(keyring.userIdFor(name), newPassword, dbKey_, store_.policy());
    recorded("user passwd", name, name == userName_ ? "own password" : "set by admin",
             [&](Database&) { keyring.save(store_.keyringPath()); });
}

void Session::setRole(const std::string& name, Role role) {
    requireRole({Role::Admin});
    touch();
    const UserInfo user = findUser(name);
    if (user.id == userId_)
        throw InvalidRequestError("you cannot change your own role");
    recorded("role change", name, roleName(user.role) + " -> " + roleName(role), [&](Database& db) {
        db.prepare("UPDATE users SET role = ? WHERE id = ?")
            .bind(1, roleName(role))
            .bind(2, user.id)
            .run();
        if (role != Role::Annotator) // assignments are for annotators only
            db.prepare("DELETE FROM assignments WHERE user_id = ?").bind(1, user.id).run();
    });
}

std::int64_t Session::addStudy(const std::string& label, const std::string& description) {
    requireRole({Role::Admin});
    touch();
    if (label.empty())
        throw InvalidRequestError("a study needs a label");
    return recorded("import", label, {}, [&](Database& db) {
        db.prepare("INSERT INTO studies(label, description, created) VALUES (?, ?, ?)")
            .bind(1, label)
            .bind(2, description)
            .bind(3, utcNow())
            .run();
        return db.lastInsertId();
    });
}

std::int64_t Session::studyIdFor(const std::string& labelOrId) {
    auto s = database().prepare("SELECT id FROM studies WHERE label = ? OR CAST(id AS TEXT) = ? "
                                "ORDER BY label = ? DESC LIMIT 1");
    s.bind(1, labelOrId).bind(2, labelOrId).bind(3, labelOrId);
    if (!s.step())
        throw InvalidRequestError("there is no study " + labelOrId);
    return s.integer(0);
}

std::vector<Study> Session::listStudies() {
    requireRole({Role::Annotator, Role::Reviewer, Role::Admin});
    touch();
    std::string sql = "SELECT id, label, description FROM studies";
    if (role_ == Role::Annotator)
        sql += " WHERE id IN (SELECT study_id FROM assignments WHERE user_id = ?)";
    sql += " ORDER BY id";
    auto s = database().prepare(sql);
    if (role_ == Role::Annotator)
        s.bind(1, userId_);
    std::vector<Study> out;
    while (s.step())
        out.push_back({s.integer(0), s.text(1), s.text(2)});
    return out;
}

void Session::requireAssigned(std::int64_t studyId) {
    if (role_ != Role::Annotator)
        return;
    auto s = database().prepare("SELECT 1 FROM assignments WHERE user_id = ? AND study_id = ?");
    s.bind(1, userId_).bind(2, studyId);
    if (!s.step())
        throw PermissionDeniedError("this study is not assigned to you");
}

Study Session::openStudy(std::int64_t studyId) {
    requireRole({Role::Annotator, Role::Reviewer});
    touch();
    requireAssigned(studyId);
    auto s = database().prepare("SELECT id, label, description FROM studies WHERE id = ?");
    s.bind(1, studyId);
    if (!s.step())
        throw InvalidRequestError("there is no study " + std::to_string(studyId));
    Study study{s.integer(0), s.text(1), s.text(2)};
    recordAccess("open study", study.label);
    return study;
}

void Session::assign(const std::string& userName, std::int64_t studyId) {
    requireRole({Role::Admin});
    touch();
    const UserInfo user = findUser(userName);
    if (user.role != Role::Annotator)
        throw InvalidRequestError(userName + " is a " + roleName(user.role) +
                                  "; only annotators are assigned studies");
    const std::string label = studyLabel(studyId);
    recorded("assign", label, "to " + userName, [&](Database& db) {
        db.prepare("INSERT OR IGNORE INTO assignments(user_id, study_id) VALUES (?, ?)")
            .bind(1, user.id)
            .bind(2, studyId)
            .run();
    });
}

void Session::unassign(const std::string& userName, std::int64_t studyId) {
    requireRole({Role::Admin});
    touch();
    const UserInfo user = findUser(userName);
    recorded("unassign", std::to_string(studyId), "from " + userName, [&](Database& db) {
        db.prepare("DELETE FROM assignments WHERE user_id = ? AND study_id = ?")
            .bind(1, user.id)
            .bind(2, studyId)
            .run();
    });
}

ChunkHash Session::putChunk(std::span<const std::uint8_t> data) {
    requireRole({Role::Annotator, Role::Admin});
    return ChunkStore(database()).put(data);
}

Bytes Session::getChunk(const ChunkHash& hash) {
    requireRole({Role::Annotator, Role::Reviewer, Role::Admin});
    try {
        return ChunkStore(database()).get(hash);
    } catch (const imaging::CorruptChunk& e) {
        throw StoreError(std::string(e.what()) + "; the store may be damaged");
    }
}

std::string Session::studyLabel(std::int64_t studyId) {
    auto s = database().prepare("SELECT label FROM studies WHERE id = ?");
    s.bind(1, studyId);
    if (!s.step())
        throw InvalidRequestError("there is no study " + std::to_string(studyId));
    return s.text(0);
}

std::int64_t Session::saveAnnotation(std::int64_t studyId, std::span<const std::uint8_t> data,
                                     const std::string& message, ChunkSpans chunks) {
    requireRole({Role::Annotator});
    touch();
    requireAssigned(studyId);
    const std::string label = studyLabel(studyId);
    return recorded("save", label, message, [&](Database& db) {
        ChunkStore(db).putMany(chunks);
        db.prepare("DELETE FROM drafts WHERE study_id = ? AND user_id = ?")
            .bind(1, studyId)
            .bind(2, userId_)
            .run();
        const ChunkHash hash = putChunk(data);
        db.prepare("INSERT INTO annotations(study_id, author_id, chunk, message, created) "
                   "VALUES (?, ?, ?, ?, ?)")
            .bind(1, studyId)
            .bind(2, userId_)
            .bindBlob(3, hash.bytes.data(), hash.bytes.size())
            .bind(4, message)
            .bind(5, utcNow())
            .run();
        return db.lastInsertId();
    });
}

std::vector<AnnotationRecord> Session::listAnnotations(std::int64_t studyId) {
    requireRole({Role::Annotator, Role::Reviewer});
    touch();
    requireAssigned(studyId);
    auto s = database().prepare(
        "SELECT a.id, a.study_id, u.name, a.message, a.created, a.review_state, a.chunk "
        "FROM annotations a JOIN users u ON u.id = a.author_id WHERE a.study_id = ? ORDER BY a.id");
    s.bind(1, studyId);
    std::vector<AnnotationRecord> out;
    while (s.step())
        out.push_back({s.integer(0), s.integer(1), s.text(2), s.text(3), s.text(4), s.text(5),
                       ChunkHash::fromBytes(s.blob(6))});
    return out;
}

Bytes Session::loadAnnotation(std::int64_t annotationId) {
    requireRole({Role::Annotator, Role::Reviewer});
    touch();
    auto s = database().prepare("SELECT study_id, chunk FROM annotations WHERE id = ?");
    s.bind(1, annotationId);
    if (!s.step())
        throw InvalidRequestError("there is no annotation " + std::to_string(annotationId));
    requireAssigned(s.integer(0));
    return getChunk(ChunkHash::fromBytes(s.blob(1)));
}

void Session::saveDraft(std::int64_t studyId, std::span<const std::uint8_t> record,
                        ChunkSpans chunks) {
    // No touch(): an autosave is not user activity and must not postpone the idle lock.
    requireRole({Role::Annotator});
    requireAssigned(studyId);
    Database& db = database();
    Transaction transaction(db);
    ChunkStore store(db);
    store.putMany(chunks);
    const ChunkHash hash = store.put(record);
    db.prepare("INSERT OR REPLACE INTO drafts(study_id, user_id, chunk, saved) VALUES (?, ?, ?, ?)")
        .bind(1, studyId)
        .bind(2, userId_)
        .bindBlob(3, hash.bytes.data(), hash.bytes.size())
        .bind(4, utcNow())
        .run();
    transaction.commit();
}

std::optional<DraftRecord> Session::draftOf(std::int64_t studyId) {
    requireRole({Role::Annotator}); // no touch(): asked by autosave and tests, not only users
    requireAssigned(studyId);
    auto s =
        database().prepare("SELECT saved, chunk FROM drafts WHERE study_id = ? AND user_id = ?");
    s.bind(1, studyId).bind(2, userId_);
    if (!s.step())
        return std::nullopt;
    return DraftRecord{studyId, s.text(0), ChunkHash::fromBytes(s.blob(1))};
}

Bytes Session::recoverDraft(std::int64_t studyId) {
    requireRole({Role::Annotator});
    touch();
    const std::optional<DraftRecord> draft = draftOf(studyId);
    if (!draft)
        throw InvalidRequestError("there is no unsaved draft of this study to recover");
    Bytes record = getChunk(draft->chunk);
    recordAccess("recover draft", studyLabel(studyId), "autosaved " + draft->saved);
    return record;
}

void Session::discardDraft(std::int64_t studyId) {
    requireRole({Role::Annotator});
    touch();
    const std::optional<DraftRecord> draft = draftOf(studyId);
    if (!draft)
        return;
    recorded("discard draft", studyLabel(studyId), "autosaved " + draft->saved, [&](Database& db) {
        db.prepare("DELETE FROM drafts WHERE study_id = ? AND user_id = ?")
            .bind(1, studyId)
            .bind(2, userId_)
            .run();
    });
}

void Session::review(std::int64_t annotationId, ReviewDecision decision,
                     const std::string& comment) {
    requireRole({Role::Reviewer});
    touch();
    const std::string state = decision == ReviewDecision::Approve ? "approved" : "rejected";
    recorded(
        "review decision", "annotation " + std::to_string(annotationId), state, [&](Database& db) {
            db.prepare("UPDATE annotations SET review_state = ? WHERE id = ?")
                .bind(1, state)
                .bind(2, annotationId)
                .run();
            if (db.changes() != 1)
                throw InvalidRequestError("there is no annotation " + std::to_string(annotationId));
            db.prepare("INSERT INTO reviews(annotation_id, reviewer_id, decision, comment, "
                       "created) VALUES (?, ?, ?, ?, ?)")
                .bind(1, annotationId)
                .bind(2, userId_)
                .bind(3, state)
                .bind(4, comment)
                .bind(5, utcNow())
                .run();
        });
}

void Session::comment(std::int64_t annotationId, const std::string& text) {
    requireRole({Role::Reviewer});
    touch();
    recorded("comment", "annotation " + std::to_string(annotationId), {}, [&](Database& db) {
        auto s = db.prepare("SELECT 1 FROM annotations WHERE id = ?");
        s.bind(1, annotationId);
        if (!s.step())
            throw InvalidRequestError("there is no annotation " + std::to_string(annotationId));
        db.prepare("INSERT INTO reviews(annotation_id, reviewer_id, decision, comment, created) "
                   "VALUES (?, ?, 'comment', ?, ?)")
            .bind(1, annotationId)
            .bind(2, userId_)
            .bind(3, text)
            .bind(4, utcNow())
            .run();
    });
}

void Session::recordExport(const std::filesystem::path& destination, const std::string& what) {
    requireRole({Role::Admin});
    touch();
    const std::string target = std::filesystem::weakly_canonical(destination).string();
    bool allowed = false;
    for (const auto& prefix : store_.policy().exportAllowList) {
        const std::string p = std::filesystem::weakly_canonical(prefix).string();
        allowed = allowed || target == p || target.rfind(p + "/", 0) == 0;
    }
    if (!allowed) {
        recordAccess("export refused", target, "not on the policy's allow-list");
        throw PermissionDeniedError("exports to " + target + " are not allowed by the site policy");
    }
    recordAccess("export", target, what);
}

std::vector<AuditEntry> Session::auditEntries(const AuditFilter& filter) {
    requireRole({Role::Admin});
    touch();
    return auditLog().entries(filter);
}

Checkpoint Session::checkpoint() {
    requireRole({Role::Admin});
    touch();
    recordAccess("audit checkpoint", "access log");
    const SecureBytes secret = readSecretMeta(database(), "signing_secret");
    return auditLog().checkpoint(secret, readMeta(database(), "signing_public"));
}

AuditVerification Session::verifyAuditLog(const SecureBytes* initialKey,
                                          const Checkpoint* checkpoint) {
    requireRole({Role::Admin});
    touch();
    AuditVerification v =
        auditLog().verify(initialKey, checkpoint, readMeta(database(), "signing_public"));
    std::string details = v.ok ? "ok" : "FAILED: " + v.reason;
    details += initialKey ? "; MACs checked" : "; MACs not checked (no audit key)";
    if (checkpoint)
        details += "; against checkpoint of " + std::to_string(checkpoint->treeSize) + " entries";
    recordAccess("audit verify", "access log", details);
    return v;
}

void Session::lock() {
    if (isLocked() || loggedOut_)
        return;
    recordAccess("lock", userName_);
    log_.reset();
    db_.close();
    dbKey_.wipe();
}

void Session::unlock(const std::string& password) {
    if (loggedOut_)
        throw SessionLockedError("the session has ended: log in again");
    if (!isLocked())
        return;
    Keyring keyring = loadKeyring();
    SecureBytes key;
    if (breakGlass_) {
        throw SessionLockedError("a break-glass session cannot be unlocked: start a new one");
    }
    store_.refuseWhenLockedOut(keyring, userName_);
    try {
        key = keyring.unwrapWithPassword(keyring.userIdFor(userName_), password);
    } catch (const AuthenticationError&) {
        store_.recordFailedLogin(keyring, userName_, "wrong password at unlock");
        throw;
    }
    db_ = Database::open(store_.databasePath(), &key, false);
    dbKey_ = std::move(key);
    touch();
    Transaction t(db_);
    const auto drained = store_.appendFailedLogins(db_, auditLog(), userName_, keyring);
    auditLog().append(userName_, "unlock", userName_);
    t.commit();
    store_.forgetFailedLogins(drained);
}

void Session::logout() {
    if (loggedOut_)
        return;
    if (db_.isOpen())
        recordAccess("logout", userName_);
    log_.reset();
    db_.close();
    dbKey_.wipe();
    loggedOut_ = true;
}

} // namespace radmark::storage
