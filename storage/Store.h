#pragma once
// The encrypted store: a folder with the SQLCipher database and the keyring. Creating one,
// logging in (password or break-glass recovery key), failed-login lockout and the schema
// migrations live here; what a logged-in user may then do is the Session's (storage/Session.h)
// and its domain classes'. Roles are enforced in storage, not in the GUI, and the GUI and
// radmark-cli call these same functions.

#include "storage/Database.h"
#include "storage/Errors.h"
#include "storage/Keyring.h"
#include "storage/Policy.h"
#include "storage/SecureBytes.h"

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace radmark::storage {

class AuditLog;
class Session;

// Secrets handed out once, at initialise: both must be kept offline by the admin.
struct InitialSecrets {
    SecureBytes auditKey;    // verifies every access-log MAC
    SecureBytes recoveryKey; // break-glass access
};

// --store DIR, else $RADMARK_STORE, else $XDG_DATA_HOME/radmark, else ~/.local/share/radmark.
std::filesystem::path resolveStoreDir(const std::optional<std::filesystem::path>& given);

namespace internal {
struct FailedLoginDrain;
}

class Store {
  public:
    // site: the site's policy (Policy::system() in radmark and radmark-cli). userPolicy: a
    // person's own file (--policy), which may only tighten it: its looser values are ignored
    // (ignoredPolicyValues() says which). At login the policy the admin recorded in the store
    // tightens both further (Policy::combinedWith).
    Store(std::filesystem::path dir, Policy site, std::optional<Policy> userPolicy = std::nullopt);

    // Creates a new store with its first admin; refuses when dir already holds a store.
    // policy: the one in force (password rule, Argon2id cost of the admin's key). storePolicy:
    // what the store records as its own policy (policy.md), by default policy itself.
    static InitialSecrets initialise(const std::filesystem::path& dir, const std::string& adminName,
                                     const std::string& adminPassword, const Policy& policy,
                                     const std::optional<Policy>& storePolicy = std::nullopt);

    // Throws AuthenticationError, AccountLockedError, KeyringError, StoreVersionError, StoreError.
    Session login(const std::string& userName, const std::string& password) const;
    // Break-glass: admin rights from the offline recovery key; logged with the reason.
    Session breakGlass(const SecureBytes& recoveryKey, const std::string& reason) const;

    const std::filesystem::path& dir() const { return dir_; }
    // Before login: the site's policy tightened by the user's file. A session's store: the
    // effective policy, the store's recorded one included.
    const Policy& policy() const { return policy_; }
    // One line per value of the user's --policy file that was looser than the site's, ignored.
    const std::vector<std::string>& ignoredPolicyValues() const { return ignoredPolicy_; }
    std::filesystem::path databasePath() const { return dir_ / "store.db"; }
    std::filesystem::path keyringPath() const { return dir_ / "keyring"; }
    // Failed logins cannot open the database: they are sealed (crypto_box_seal to a key whose
    // secret half lives in the database) into this file and appended to the log at the next
    // successful login. Every login attempt is written here durably BEFORE its password is
    // checked (an attempt that cannot be recorded is refused unchecked); the file is chained
    // and must exist: its disappearance locks every account out and is logged
    // (storage/FailedLogins.h).
    std::filesystem::path failedLoginsPath() const { return dir_ / "failed-logins"; }

    static constexpr int schemaVersion = 8;

  private:
    friend class Session;
    // Before a password is tried: refuses when the account is locked out (a missing or altered
    // record locks every account and is recorded as a tamper event), then records the attempt
    // durably and returns its id. Throws AccountLockedError, or StoreError when the attempt
    // cannot be recorded (full disk, unwritable folder): then no password is checked.
    std::string beginAttempt(const Keyring& keyring, const std::string& userName) const;
    // The attempt failed: its record says why (it counted as failed from the start).
    void recordFailedLogin(const Keyring& keyring, const std::string& userName,
                           const std::string& reason, const std::string& attempt) const;
    // Appends the sealed failed logins (and tamper events) to the log inside the caller's
    // transaction; the drain holds the store folder's lock until forgetFailedLogins.
    std::unique_ptr<internal::FailedLoginDrain>
    appendFailedLogins(Database& db, AuditLog& log, const std::string& userName,
                       const Keyring& keyring, const std::string& attempt) const;
    void forgetFailedLogins(std::unique_ptr<internal::FailedLoginDrain> drain) const;
    Session openSession(Keyring::Keys keys, const Keyring& keyring, const std::string& userName,
                        const std::string& password, const std::string& attempt, bool breakGlass,
                        const std::string& reason, const SecureBytes* recoveryKey) const;

    std::filesystem::path dir_;
    Policy site_;
    std::optional<Policy> userPolicy_;
    Policy policy_;
    std::vector<std::string> ignoredPolicy_;
};

} // namespace radmark::storage

// A store is used through a session.
#include "storage/Session.h"
