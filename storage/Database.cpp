#include "storage/Database.h"

#include "storage/Errors.h"

#include <sqlite3.h>
#include <sodium.h>

namespace radmark::storage {

namespace {

// Turns SQLite result codes into messages a radiologist can act on.
[[noreturn]] void fail(sqlite3* db, int code, std::string_view what) {
    const int primary = code & 0xff;
    std::string message;
    switch (primary) {
    case SQLITE_NOTADB:
        message = "the store cannot be decrypted: wrong key, or store.db is damaged or altered";
        break;
    case SQLITE_CORRUPT:
        message = "store.db is damaged or was altered outside Radmark";
        break;
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
        message = "the store folder or its files cannot be written (check permissions)";
        break;
    case SQLITE_FULL:
        message = "the disk is full: nothing was saved";
        break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        message = "the store is busy in another Radmark window; try again";
        break;
    case SQLITE_IOERR:
        message = "the store could not be read or written (disk error)";
        break;
    default:
        message = std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(code));
    }
    throw StoreError(message);
}

void check(sqlite3* db, int code, std::string_view what) {
    if (code != SQLITE_OK && code != SQLITE_DONE && code != SQLITE_ROW)
        fail(db, code, what);
}

// x'<64 hex>' in locked memory: a raw key, which skips SQLCipher's own PBKDF2.
SecureBytes rawKeyLiteral(const SecureBytes& key) {
    SecureBytes literal(key.size() * 2 + 3);
    auto* text = reinterpret_cast<char*>(literal.data());
    text[0] = 'x';
    text[1] = '\'';
    sodium_bin2hex(text + 2, key.size() * 2 + 1, key.data(), key.size());
    text[key.size() * 2 + 2] = '\'';
    return literal;
}

} // namespace

Statement::Statement(sqlite3* db, std::string_view sql) : db_(db) {
    check(db_, sqlite3_prepare_v2(db_, sql.data(), int(sql.size()), &stmt_, nullptr),
          "could not prepare a store query");
}

Statement::~Statement() {
    if (stmt_)
        sqlite3_finalize(stmt_);
}

Statement::Statement(Statement&& other) noexcept : db_(other.db_), stmt_(other.stmt_) {
    other.stmt_ = nullptr;
}

Statement& Statement::bind(int index, std::int64_t value) {
    check(db_, sqlite3_bind_int64(stmt_, index, value), "bind");
    return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
    check(db_, sqlite3_bind_text(stmt_, index, text.data(), int(text.size()), SQLITE_TRANSIENT),
          "bind");
    return *this;
}

Statement& Statement::bindBlob(int index, const void* data, std::size_t size) {
    check(db_, sqlite3_bind_blob64(stmt_, index, size ? data : "", size, SQLITE_TRANSIENT),
          "bind");
    return *this;
}

Statement& Statement::bindNull(int index) {
    check(db_, sqlite3_bind_null(stmt_, index), "bind");
    return *this;
}

bool Statement::step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW)
        return true;
    if (rc == SQLITE_DONE)
        return false;
    const int code = rc;
    sqlite3_reset(stmt_);
    fail(db_, code, "store query failed");
}

void Statement::run() {
    while (step()) {
    }
}

void Statement::reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
}

std::int64_t Statement::integer(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string Statement::text(int column) const {
    const auto* p = sqlite3_column_text(stmt_, column);
    return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(stmt_, column))
             : std::string();
}

Bytes Statement::blob(int column) const {
    const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, column));
    return p ? Bytes(p, p + sqlite3_column_bytes(stmt_, column)) : Bytes();
}

const void* Statement::blobData(int column) const { return sqlite3_column_blob(stmt_, column); }

std::size_t Statement::blobSize(int column) const {
    return std::size_t(sqlite3_column_bytes(stmt_, column));
}

bool Statement::isNull(int column) const {
    return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

Database Database::open(const std::filesystem::path& path, const SecureBytes* key, bool create) {
    Database d;
    const int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) |
                      SQLITE_OPEN_FULLMUTEX;
    const int rc = sqlite3_open_v2(path.c_str(), &d.db_, flags, nullptr);
    if (rc != SQLITE_OK) {
        if (!create && !std::filesystem::exists(path))
            throw StoreError("no store found at " + path.parent_path().string());
        fail(d.db_, rc, "could not open the store");
    }
    sqlite3_extended_result_codes(d.db_, 1);
    if (create) {
        // Owner only; SQLite gives the -wal and -shm files the same mode.
        std::error_code ec;
        std::filesystem::permissions(path, std::filesystem::perms::owner_read |
                                               std::filesystem::perms::owner_write,
                                     ec);
    }
    if (key) {
        // Raw key: x'<64 hex>' skips SQLCipher's own PBKDF2; the hex copy lives in locked memory.
        const SecureBytes literal = rawKeyLiteral(*key);
        check(d.db_, sqlite3_key(d.db_, literal.data(), int(literal.size())),
              "could not set the store key");
        d.exec("PRAGMA cipher_page_size = 4096");
    }
    // Reading the schema proves the key (SQLITE_NOTADB otherwise).
    d.exec("SELECT count(*) FROM sqlite_master");
    d.exec("PRAGMA temp_store = MEMORY");
    const std::string mode = d.queryText("PRAGMA journal_mode = WAL");
    if (mode != "wal")
        throw StoreError("the store could not switch to write-ahead logging (" + mode + ")");
    d.exec("PRAGMA synchronous = FULL");
    d.exec("PRAGMA secure_delete = ON");
    d.exec("PRAGMA foreign_keys = ON");
    sqlite3_busy_timeout(d.db_, 5000);
    return d;
}


void Database::rekey(const SecureBytes& newKey) {
    const SecureBytes literal = rawKeyLiteral(newKey);
    check(db_, sqlite3_rekey(db_, literal.data(), int(literal.size())),
          "could not change the store key");
}

bool Database::checkpoint() {
    int logFrames = 0, copied = 0;
    const int rc =
        sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, &logFrames, &copied);
    if (rc == SQLITE_BUSY)
        return false;
    check(db_, rc, "could not write the store's log into the database");
    return true;
}

Database::~Database() { close(); }

Database::Database(Database&& other) noexcept
    : db_(other.db_), afterCommit_(std::move(other.afterCommit_)),
      afterRollback_(std::move(other.afterRollback_)) {
    other.db_ = nullptr;
}

Database& Database::operator=(Database&& other) noexcept {
    if (this != &other) {
        close();
        db_ = other.db_;
        other.db_ = nullptr;
        afterCommit_ = std::move(other.afterCommit_);
        afterRollback_ = std::move(other.afterRollback_);
    }
    return *this;
}

void Database::close() {
    if (db_)
        sqlite3_close_v2(db_); // SQLCipher wipes its copy of the key here
    db_ = nullptr;
}

void Database::exec(std::string_view sql) {
    std::string s(sql);
    char* error = nullptr;
    const int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &error);
    if (error)
        sqlite3_free(error);
    check(db_, rc, "store command failed");
}

Statement Database::prepare(std::string_view sql) { return Statement(db_, sql); }

std::int64_t Database::lastInsertId() const { return sqlite3_last_insert_rowid(db_); }

int Database::changes() const { return sqlite3_changes(db_); }

std::string Database::queryText(std::string_view sql) {
    Statement s(db_, sql);
    return s.step() ? s.text(0) : std::string();
}

Transaction::Transaction(Database& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }

bool Database::inTransaction() const {
    return db_ && sqlite3_get_autocommit(db_) == 0;
}

namespace {
void runAll(std::vector<std::function<void()>>& actions) {
    auto taken = std::move(actions);
    actions.clear();
    for (auto& action : taken) {
        try {
            action();
        } catch (...) {
            // The transaction's outcome stands; what follows it must not undo or hide it.
        }
    }
}
} // namespace

Transaction::~Transaction() {
    if (!done_) {
        try {
            db_.exec("ROLLBACK");
        } catch (...) {
        }
        db_.afterCommit_.clear();
        runAll(db_.afterRollback_);
    }
}

void Transaction::commit() {
    db_.exec("COMMIT");
    done_ = true;
    db_.afterRollback_.clear();
    runAll(db_.afterCommit_);
}

} // namespace radmark::storage
