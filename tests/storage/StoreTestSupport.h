#pragma once
// Shared fixtures for the storage tests: a fresh store in its own temporary folder, at a low
// Argon2id cost set through the policy (as the policy file allows), and attacker-side helpers.

#include "storage/Store.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace radmark::storage::testing {

inline const std::string adminName = "ada-admin";
inline const std::string adminPassword = "correct horse battery";
inline const std::string userPassword = "annotator password 1";

inline AuditFilter filterBy(const std::string& user, const std::string& action) {
    AuditFilter f;
    if (!user.empty())
        f.user = user;
    f.action = action;
    return f;
}

inline Policy lowCostPolicy() {
    Policy p;
    p.argon2MemoryBytes = 64 * 1024;
    p.argon2Operations = 1;
    p.exportAllowList = {"/srv/radmark-exports"};
    return p;
}

class TempDir {
public:
    TempDir() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "radmark-storage-test-XXXXXX").string();
        if (!::mkdtemp(pattern.data()))
            throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::permissions(path_, std::filesystem::perms::owner_all,
                                     std::filesystem::perm_options::add, ec);
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

inline std::string readFile(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

inline void writeFile(const std::filesystem::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
}

// A new store (with its admin) in a temporary folder.
struct TestStore {
    explicit TestStore(Policy policy = lowCostPolicy())
        : dir(), storeDir(dir.path() / "store"), store(storeDir, policy),
          secrets(Store::initialise(storeDir, adminName, adminPassword, policy)) {}
    Session admin() const { return store.login(adminName, adminPassword); }

    // What an attacker holding a user's password (hence the database key) can open directly.
    Database attackerDatabase() const {
        const Keyring keyring = Keyring::load(store.keyringPath());
        const SecureBytes key =
            keyring.unwrapWithPassword(keyring.userIdFor(adminName), adminPassword);
        return Database::open(store.databasePath(), &key, false);
    }

    TempDir dir;
    std::filesystem::path storeDir;
    Store store;
    InitialSecrets secrets;
};

} // namespace radmark::storage::testing
