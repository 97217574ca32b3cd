#pragma once
// A small RAII face over one SQLCipher connection: open with a raw key and the pragmas the
// security model requires, prepared statements, and transactions that roll back unless committed.

#include "storage/SecureBytes.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace radmark::storage {

class Statement {
public:
    Statement(sqlite3* db, std::string_view sql);
    ~Statement();
    Statement(Statement&& other) noexcept;
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    Statement& operator=(Statement&&) = delete;

    Statement& bind(int index, std::int64_t value);
    Statement& bind(int index, std::string_view text);
    Statement& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
    Statement& bindBlob(int index, const void* data, std::size_t size);
    Statement& bindBlob(int index, const Bytes& blob) { return bindBlob(index, blob.data(), blob.size()); }
    Statement& bindNull(int index);

    bool step(); // true while a row is available
    void run();  // steps to completion
    void reset();

    std::int64_t integer(int column) const;
    std::string text(int column) const;
    Bytes blob(int column) const;
    const void* blobData(int column) const;
    std::size_t blobSize(int column) const;
    bool isNull(int column) const;

private:
    sqlite3* db_;
    sqlite3_stmt* stmt_ = nullptr;
};

class Database {
public:
    // Opens (creating when allowed) path. With a key: SQLCipher with a raw 256-bit key and
    // cipher_page_size=4096; without: a plain SQLite file (benchmark baseline only).
    // Always: temp_store=MEMORY, journal_mode=WAL, synchronous=FULL, secure_delete=ON.
    static Database open(const std::filesystem::path& path, const SecureBytes* key, bool create);
    Database() = default;
    ~Database();
    Database(Database&& other) noexcept;
    Database& operator=(Database&& other) noexcept;
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    bool isOpen() const { return db_ != nullptr; }
    void close();
    void exec(std::string_view sql);
    Statement prepare(std::string_view sql);
    std::int64_t lastInsertId() const;
    int changes() const;
    // The first column of the first row of a pragma/query, as text.
    std::string queryText(std::string_view sql);
    sqlite3* handle() { return db_; }
    // SQLCipher's PRAGMA rekey: every page read under the current key and written under newKey in
    // ONE write transaction. In WAL mode the new pages go to the WAL and its commit frame makes
    // them current at once: a process killed before it leaves the old key's store, after it the
    // new key's (storage/KeyRotation.h). This connection then uses newKey.
    void rekey(const SecureBytes& newKey);
    // Copies the WAL into store.db and truncates it (PRAGMA wal_checkpoint(TRUNCATE)); false when
    // a reader kept it from completing (the WAL then still holds the pages, nothing is lost).
    bool checkpoint();
    // Whether a transaction is open on this connection.
    bool inTransaction() const;
    // Work that must follow the open Transaction's outcome (the access log's anchors go out only
    // once their entries are committed; a refusal is written again once the change it refused
    // has been rolled back). Run, in order, by Transaction::commit or the rollback; dropped by
    // the other.
    void afterCommit(std::function<void()> action) { afterCommit_.push_back(std::move(action)); }
    void afterRollback(std::function<void()> action) {
        afterRollback_.push_back(std::move(action));
    }

private:
    friend class Transaction;
    sqlite3* db_ = nullptr;
    std::vector<std::function<void()>> afterCommit_, afterRollback_;
};

// BEGIN IMMEDIATE on construction; rolls back in the destructor unless commit() was called.
class Transaction {
public:
    explicit Transaction(Database& db);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit();

private:
    Database& db_;
    bool done_ = false;
};

} // namespace radmark::storage
