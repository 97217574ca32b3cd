#include "storage/Session.h"

#include "storage/AuditAnchor.h"
#include "storage/ChunkStore.h"
#include "storage/FailedLogins.h"
#include "storage/SessionAccess.h"

#include <sodium.h>
#include <sys/stat.h>

#include <filesystem>
#include <optional>

namespace radmark::storage {

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

Session::Session(Store store, Database db, SecureBytes dbKey, UserInfo user, bool breakGlass)
    : store_(std::move(store)), db_(std::move(db)), dbKey_(std::move(dbKey)), userId_(user.id),
      userName_(user.name), role_(user.role), breakGlass_(breakGlass),
      lastActivity_(std::chrono::steady_clock::now()) {
    storeId_ = internal::readMeta(db_, "store_id");
}

Session::Session(Session&& other) noexcept
    : store_(std::move(other.store_)), db_(std::move(other.db_)), dbKey_(std::move(other.dbKey_)),
      storeId_(std::move(other.storeId_)), userId_(other.userId_),
      userName_(std::move(other.userName_)), role_(other.role_), breakGlass_(other.breakGlass_),
      loggedOut_(other.loggedOut_), lastActivity_(other.lastActivity_),
      caller_(std::move(other.caller_)), checkedKeyring_(other.checkedKeyring_) {
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
        caller_ = std::move(other.caller_);
        checkedKeyring_ = other.checkedKeyring_;
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
    if (!log_) {
        log_ = std::make_unique<AuditLog>(db, storeId_, AnchorSettings::of(store_.policy()));
        log_->setCaller(caller_);
    }
    return *log_;
}

void Session::setCaller(CallerContext caller) {
    caller_ = std::move(caller);
    if (log_)
        log_->setCaller(caller_);
}

void Session::requireOpen() const {
    if (loggedOut_)
        throw SessionLockedError("the session has ended: log in again");
    if (!db_.isOpen())
        throw SessionLockedError("the session is locked: unlock it first");
}

namespace {
std::array<std::int64_t, 6> fileIdentity(const std::filesystem::path& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        return {};
    return {std::int64_t(st.st_dev),
            std::int64_t(st.st_ino),
            std::int64_t(st.st_size),
            std::int64_t(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec,
            std::int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
            1};
}
} // namespace

void Session::checkStillValid() {
    requireOpen();
    // Taken before the full check: a change made while it runs is seen by the next one.
    const std::array<std::int64_t, 6> keyringNow = fileIdentity(store_.keyringPath());
    // A disabled account's request, refused: logged on her connection (the key is still hers).
    const auto refuseDisabled = [this] {
        try {
            recordAccess("refused request", userName_, "the account is disabled");
        } catch (const std::exception&) {
        }
        throw AuthenticationError("the account " + userName_ + " is disabled");
    };
    if (keyringNow[5] != 0 && keyringNow == checkedKeyring_) {
        if (breakGlass_)
            return;
        std::optional<bool> disabled;
        try {
            auto s = db_.prepare("SELECT disabled FROM users WHERE id = ?");
            s.bind(1, userId_);
            disabled = !s.step() || s.integer(0) != 0;
        } catch (const StoreError&) {
            // Busy or damaged: the full check below tells which (and what to say).
        }
        if (disabled && *disabled)
            refuseDisabled();
        if (disabled)
            return;
    }
    checkedKeyring_ = {};
    if (!breakGlass_) {
        const Keyring keyring = Keyring::load(store_.keyringPath());
        if (!keyring.has(keyring.userIdFor(userName_)))
            throw AuthenticationError("the user name or password is not correct, or the account "
                                      "was disabled");
    }
    // A connection of its own, so that nothing this one holds (its page cache) can answer; the
    // shortcut above trusts her connection only while the keyring is the one this check read.
    Database fresh;
    try {
        fresh = Database::open(store_.databasePath(), &dbKey_, false);
    } catch (const StoreError&) {
        throw StoreError("the store's key was changed since you logged in (a key rotation): log "
                         "in again");
    }
    if (breakGlass_) {
        checkedKeyring_ = keyringNow;
        return;
    }
    auto s = fresh.prepare("SELECT disabled FROM users WHERE id = ?");
    s.bind(1, userId_);
    if (!s.step() || s.integer(0) != 0)
        refuseDisabled();
    checkedKeyring_ = keyringNow;
}

void Session::recordAccess(const std::string& action, const std::string& object,
                           const std::string& details) {
    Database& db = database();
    if (db.inTransaction()) {
        // A refusal met in the middle of a change: its entry goes with the change when that
        // commits, and on its own when the change is rolled back (as a refused one is).
        auditLog().append(userName_, action, object, details);
        db.afterRollback([this, action, object, details] {
            if (db_.isOpen() && !db_.inTransaction())
                recordAccess(action, object, details);
        });
        return;
    }
    recorded(action, object, details, [](Database&) {});
}

bool Session::idleTimeoutReached() const {
    return std::chrono::steady_clock::now() - lastActivity_ >= store_.policy().idleTimeout;
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
    Keyring keyring = Keyring::load(store_.keyringPath());
    SecureBytes key;
    if (breakGlass_) {
        throw SessionLockedError("a break-glass session cannot be unlocked: start a new one");
    }
    const std::string attempt = store_.beginAttempt(keyring, userName_);
    try {
        key = keyring.unwrapWithPassword(keyring.userIdFor(userName_), password);
    } catch (const AuthenticationError&) {
        store_.recordFailedLogin(keyring, userName_, "wrong password at unlock", attempt);
        throw;
    }
    db_ = Database::open(store_.databasePath(), &key, false);
    dbKey_ = std::move(key);
    touch();
    Transaction t(db_);
    auto drained = store_.appendFailedLogins(db_, auditLog(), userName_, keyring, attempt);
    auditLog().append(userName_, "unlock", userName_);
    t.commit();
    store_.forgetFailedLogins(std::move(drained));
}

void Session::logout() {
    if (loggedOut_)
        return;
    if (db_.isOpen()) {
        recordAccess("logout", userName_);
        try {
            auditLog().publishCheckpoint(); // anchored outside the store at every logout
        } catch (const std::exception&) {
            // The logout stands; the next checkpoint covers these entries too.
        }
    }
    log_.reset();
    db_.close();
    dbKey_.wipe();
    loggedOut_ = true;
}

namespace internal {

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

void checkUserName(const std::string& name) {
    if (name.empty() || name.size() > 64)
        throw InvalidRequestError("a user name must have 1 to 64 characters");
    for (unsigned char c : name)
        if (!(std::isalnum(c) || c == '.' || c == '_' || c == '-'))
            throw InvalidRequestError("a user name may contain only letters, digits, '.', '_' "
                                      "and '-'");
}

UserInfo findUser(Session& session, const std::string& name) {
    auto s = SessionAccess::database(session).prepare(
        "SELECT id, name, role, disabled, created FROM users WHERE name = ?");
    s.bind(1, name);
    if (!s.step())
        throw InvalidRequestError("there is no user named " + name);
    return readUser(s);
}

std::string studyLabel(Session& session, std::int64_t studyId) {
    auto s = SessionAccess::database(session).prepare("SELECT label FROM studies WHERE id = ?");
    s.bind(1, studyId);
    if (!s.step())
        throw InvalidRequestError("there is no study " + std::to_string(studyId));
    return s.text(0);
}

std::optional<Credentials> readCredentials(Session& session, std::int64_t userId) {
    auto s = SessionAccess::database(session).prepare(
        "SELECT u.credential_title, u.credential_qualification, u.credential_years, "
        "u.credential_trained, u.credential_updated, a.name FROM users u "
        "LEFT JOIN users a ON a.id = u.credential_updated_by WHERE u.id = ?");
    s.bind(1, userId);
    if (!s.step() || s.isNull(0))
        return std::nullopt;
    return Credentials{s.text(0), s.text(1), int(s.integer(2)),
                       s.text(3), s.text(4), s.isNull(5) ? std::string("break-glass") : s.text(5)};
}

imaging::ChunkHash putChunk(Session& session, std::span<const std::uint8_t> data) {
    return ChunkStore(SessionAccess::database(session)).put(data);
}

Bytes readChunk(Session& session, const imaging::ChunkHash& hash) {
    try {
        return ChunkStore(SessionAccess::database(session)).get(hash);
    } catch (const imaging::CorruptChunk& e) {
        throw StoreError(std::string(e.what()) + "; the store may be damaged");
    }
}

} // namespace internal
} // namespace radmark::storage
