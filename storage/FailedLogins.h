#pragma once
// <store>/failed-logins: the failed logins the encrypted log cannot take yet (a failed login has
// no database key). Each record is sealed to the store's failure key (no names in the clear),
// numbered and chained to the one before it; the header says up to which number the records
// are in the encrypted log and which drained failures still count towards a lockout. Every
// read-modify-write holds an exclusive lock of the store folder. Store.cpp decides what the
// records mean (docs/security.md, "Failed logins").

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace radmark::storage::internal {

// The id of a record that counts against every account: the record was found missing or
// altered (a tamper event), so every account is locked out for the lockout window.
inline const std::string everyAccount = "*";

struct FailedLoginRecord {
    std::uint64_t number = 0;
    std::string id;        // hex keyed hash of the user name, or everyAccount
    std::int64_t time = 0; // unix seconds
    std::string sealed;    // base64 crypto_box_seal of {"user", "time", "reason"}
    std::string attempt;   // a login still in progress (its random id): counts as failed
};

struct FailedLoginFile {
    bool present = false; // a file in this format was read
    bool legacy = false;  // lines of the format before the header (schema 7 stores until now)
    std::string problem;  // why the file is not what it must be: a tamper event
    std::uint64_t drained = 0;
    std::vector<std::pair<std::string, std::int64_t>> counting; // drained, still counting
    std::vector<FailedLoginRecord> records;

    std::uint64_t lastNumber() const;
    // How many failures of id (and everyAccount records, when countEveryAccount) since then.
    int recent(const std::string& id, std::int64_t since, bool countEveryAccount) const;
    bool lockedForEveryone(std::int64_t since) const;
    void append(FailedLoginRecord record); // numbered after the last one
    std::string text() const;              // header line, then the chained records
};

FailedLoginFile readFailedLoginFile(const std::filesystem::path& path);
// Atomically and durably (writeFileAtomically); throws StoreError when that fails.
void writeFailedLoginFile(const std::filesystem::path& path, const FailedLoginFile& file);

// An exclusive flock of the store folder for one read-modify-write of the record.
class StoreFolderLock {
  public:
    explicit StoreFolderLock(const std::filesystem::path& dir); // throws StoreError
    ~StoreFolderLock();
    StoreFolderLock(const StoreFolderLock&) = delete;
    StoreFolderLock& operator=(const StoreFolderLock&) = delete;

  private:
    int fd_ = -1;
};

// A drain of the record into the log: what the file holds once the login's transaction has
// committed, the markers of unrecordable attempts to remove, and the lock of the store folder,
// held until then so that no failure recorded meanwhile is lost.
struct FailedLoginDrain {
    std::unique_ptr<StoreFolderLock> lock;
    FailedLoginFile next;
    std::vector<std::filesystem::path> markers;
};

} // namespace radmark::storage::internal
