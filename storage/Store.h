#pragma once
// The encrypted store and a logged-in session on it. Roles are enforced here, not in the GUI:
// every operation checks the session's role, and every change is written together with its
// access-log entry in one transaction. The GUI and radmark-cli call these same functions.

#include "imaging/Chunks.h"
#include "storage/AuditLog.h"
#include "storage/Database.h"
#include "storage/Errors.h"
#include "storage/Keyring.h"
#include "storage/Policy.h"

#include <chrono>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace radmark::storage {

enum class Role { Annotator, Reviewer, Admin };
std::string roleName(Role role);
Role parseRole(const std::string& name); // throws InvalidRequestError

struct UserInfo {
    std::int64_t id = 0;
    std::string name;
    Role role = Role::Annotator;
    bool disabled = false;
    std::string created;
};

// A de-identified study as the store knows it: a pseudonym label and a free-text description.
struct Study {
    std::int64_t id = 0;
    std::string label;
    std::string description;
};

struct AnnotationRecord {
    std::int64_t id = 0;
    std::int64_t studyId = 0;
    std::string author;
    std::string message;
    std::string created;
    std::string reviewState;  // pending, approved, rejected
    imaging::ChunkHash chunk; // content hash of the stored data
};

// An annotator's unsaved work on a study: the newest autosave, one per study and user.
struct DraftRecord {
    std::int64_t studyId = 0;
    std::string saved;        // UTC, ISO 8601, like AnnotationRecord::created
    imaging::ChunkHash chunk; // content hash of the draft record
};

// Byte ranges of many chunks (label slices), written together in one transaction.
using ChunkSpans = std::span<const std::span<const std::uint8_t>>;

enum class ReviewDecision { Approve, Reject };

// Secrets handed out once, at initialise: both must be kept offline by the admin.
struct InitialSecrets {
    SecureBytes auditKey;    // verifies every access-log MAC
    SecureBytes recoveryKey; // break-glass access
};

// --store DIR, else $RADMARK_STORE, else $XDG_DATA_HOME/radmark, else ~/.local/share/radmark.
std::filesystem::path resolveStoreDir(const std::optional<std::filesystem::path>& given);

class Session;

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

    static constexpr int schemaVersion = 3;

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

class Session {
  public:
    Session(Session&& other) noexcept;
    Session& operator=(Session&& other) noexcept;
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;
    ~Session(); // logs out when still logged in

    const std::string& userName() const { return userName_; }
    Role role() const { return role_; }
    bool isBreakGlass() const { return breakGlass_; }
    bool isLocked() const { return !db_.isOpen() && !loggedOut_; }
    bool isLoggedOut() const { return loggedOut_; }
    const Store& store() const { return store_; }

    // Throws PermissionDeniedError unless the session has one of roles.
    void requireRole(std::initializer_list<Role> roles) const;

    // Runs change(database) and appends its access-log entry in ONE transaction.
    template <class Change>
    auto recorded(const std::string& action, const std::string& object, const std::string& details,
                  Change&& change) {
        Database& db = database();
        Transaction transaction(db);
        if constexpr (std::is_void_v<decltype(change(db))>) {
            change(db);
            auditLog().append(userName_, action, object, details);
            transaction.commit();
        } else {
            auto result = change(db);
            auditLog().append(userName_, action, object, details);
            transaction.commit();
            return result;
        }
    }
    // An access that changes nothing (open study, verification, ...), logged on its own.
    void recordAccess(const std::string& action, const std::string& object,
                      const std::string& details = {});

    // Users (admin; changePassword of oneself for everyone).
    void addUser(const std::string& name, Role role, const std::string& password);
    std::vector<UserInfo> listUsers();
    void disableUser(const std::string& name); // also deletes its keyring entry
    void changePassword(const std::string& name, const std::string& newPassword);
    void setRole(const std::string& name, Role role); // admin; not one's own role

    // Studies and assignments.
    std::int64_t addStudy(const std::string& label,
                          const std::string& description); // admin: import
    std::vector<Study> listStudies();      // annotators see only their assigned studies
    Study openStudy(std::int64_t studyId); // annotator (assigned) or reviewer; logged
    void assign(const std::string& userName, std::int64_t studyId);   // admin
    void unassign(const std::string& userName, std::int64_t studyId); // admin
    std::int64_t studyIdFor(const std::string& labelOrId);

    // Annotations: annotators save on assigned studies; reviewers decide and comment.
    // `data` is the version record, `chunks` the label chunks it needs that the store may lack:
    // all of it, the access-log entry and the removal of this user's draft of the study are one
    // transaction, so a refused or failed save writes nothing.
    std::int64_t saveAnnotation(std::int64_t studyId, std::span<const std::uint8_t> data,
                                const std::string& message, ChunkSpans chunks = {});
    std::vector<AnnotationRecord> listAnnotations(std::int64_t studyId);
    Bytes loadAnnotation(std::int64_t annotationId);
    void review(std::int64_t annotationId, ReviewDecision decision, const std::string& comment);
    void comment(std::int64_t annotationId, const std::string& text);

    // Drafts (annotators, assigned studies): one per study and user, replaced by every autosave.
    // The chunks, the record and the replacement are ONE transaction: a crash mid-write leaves
    // the previous draft whole. Autosaves are not logged (one every 30 s would flood the log);
    // recovering and discarding are. saveDraft and draftOf are not user activity: they leave the
    // idle clock alone, so autosave never postpones the idle lock.
    void saveDraft(std::int64_t studyId, std::span<const std::uint8_t> record, ChunkSpans chunks);
    std::optional<DraftRecord> draftOf(std::int64_t studyId); // this user's, if any
    Bytes recoverDraft(std::int64_t studyId); // the draft record; logged "recover draft"
    void discardDraft(std::int64_t studyId);  // logged "discard draft"

    // Export gate (admin): the destination must be on the policy's allow-list; logged.
    void recordExport(const std::filesystem::path& destination, const std::string& what);

    // Content-addressed zstd chunks (volume and label data), keyed by BLAKE2b-256 of the data.
    // putChunk joins the caller's transaction when one is open (see recorded()). getChunk throws
    // StoreError when the chunk is missing or damaged.
    imaging::ChunkHash putChunk(std::span<const std::uint8_t> data);
    Bytes getChunk(const imaging::ChunkHash& hash);

    // Access log (admin).
    std::vector<AuditEntry> auditEntries(const AuditFilter& filter = {});
    Checkpoint checkpoint(); // logged
    AuditVerification verifyAuditLog(const SecureBytes* initialKey, const Checkpoint* checkpoint);

    // Idle handling: touch() on user activity; the GUI locks when idleTimeoutReached().
    void touch() { lastActivity_ = std::chrono::steady_clock::now(); }
    bool idleTimeoutReached() const;
    std::chrono::steady_clock::time_point lastActivity() const { return lastActivity_; }

    void lock();                              // logged; the database closes and keys are wiped
    void unlock(const std::string& password); // the same user only
    void logout();                            // logged; keys wiped

    // For the other storage users (import, annotation): the open database, throws when locked.
    Database& database();
    AuditLog& auditLog(); // valid until lock/logout

  private:
    friend class Store;
    Session(Store store, Database db, SecureBytes dbKey, UserInfo user, bool breakGlass);
    void requireAssigned(std::int64_t studyId);
    std::string studyLabel(std::int64_t studyId); // throws InvalidRequestError when unknown
    UserInfo findUser(const std::string& name);
    Keyring loadKeyring() const;

    Store store_;
    Database db_;
    std::unique_ptr<AuditLog> log_; // prepared statements on db_: reset before db_ closes
    SecureBytes dbKey_;
    Bytes storeId_;
    std::int64_t userId_ = 0;
    std::string userName_;
    Role role_ = Role::Annotator;
    bool breakGlass_ = false;
    bool loggedOut_ = false;
    std::chrono::steady_clock::time_point lastActivity_;
};

} // namespace radmark::storage
