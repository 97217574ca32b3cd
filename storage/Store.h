#pragma once
// The encrypted store: a folder with the SQLCipher database and the keyring. Creating one,
// logging in (password or break-glass recovery key), failed-login lockout and the schema
// migrations live here; what a logged-in user may then do is the Session's (storage/Session.h)
// and its domain classes'. Roles are enforced in storage, not in the GUI, and the GUI and
// radmark-cli call these same functions.

#include "storage/Database.h"
#include "storage/Errors.h"
#include "storage/Policy.h"
#include "storage/SecureBytes.h"

#include <filesystem>
#include <optional>
#include <string>

namespace radmark::storage {

class AuditLog;
class Keyring;
class Session;

// Secrets handed out once, at initialise: both must be kept offline by the admin.
struct InitialSecrets {
    SecureBytes auditKey;    // verifies every access-log MAC
    SecureBytes recoveryKey; // break-glass access
};

// --store DIR, else $RADMARK_STORE, else $XDG_DATA_HOME/radmark, else ~/.local/share/radmark.
std::filesystem::path resolveStoreDir(const std::optional<std::filesystem::path>& given);

class Store {
  public:
    Store(std::filesystem::path dir, Policy policy);

    // Creates a new store with its first admin; refuses when dir already holds a store.
    static InitialSecrets initialise(const std::filesystem::path& dir, const std::string& adminName,
                                     const std::string& adminPassword, const Policy& policy);

    // Throws AuthenticationError, AccountLockedError, KeyringError, StoreVersionError, StoreError.
    Session login(const std::string& userName, const std::string& password) const;
    // Break-glass: admin rights from the offline recovery key; logged with the reason.
    Session breakGlass(const SecureBytes& recoveryKey, const std::string& reason) const;

    const std::filesystem::path& dir() const { return dir_; }
    const Policy& policy() const { return policy_; }
    std::filesystem::path databasePath() const { return dir_ / "store.db"; }
    std::filesystem::path keyringPath() const { return dir_ / "keyring"; }
    // Failed logins cannot open the database: they are sealed (crypto_box_seal to a key whose
    // secret half lives in the database) into this file and appended to the log at the next
    // successful login.
    std::filesystem::path failedLoginsPath() const { return dir_ / "failed-logins"; }

    static constexpr int schemaVersion = 8;

  private:
    friend class Session;
    void recordFailedLogin(const Keyring& keyring, const std::string& userName,
                           const std::string& reason) const;
    void refuseWhenLockedOut(const Keyring& keyring, const std::string& userName) const;
    // Appends the sealed failed logins to the log (inside the caller's transaction); returns
    // what the file should hold afterwards (lockout counters only), nullopt when it was empty.
    std::optional<std::string> appendFailedLogins(Database& db, AuditLog& log,
                                                  const std::string& userName,
                                                  const Keyring& keyring) const;
    void forgetFailedLogins(const std::optional<std::string>& remaining) const;
    Session openSession(SecureBytes dbKey, const Keyring& keyring, const std::string& userName,
                        bool breakGlass, const std::string& reason) const;

    std::filesystem::path dir_;
    Policy policy_;
};

} // namespace radmark::storage

// A store is used through a session.
#include "storage/Session.h"
