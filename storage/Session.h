#pragma once
// A logged-in session on the encrypted store: who is signed in and with which role, the idle
// clock, lock, unlock and logout, and the one door through which every audited change is
// written (the change and its access-log entry in ONE transaction). What a session may do lives
// in the domain classes made from it for a call: Users, Studies, Annotations, Reviews,
// AuditTrail and Exports (storage::Studies(session).list()). None of them, and nothing here,
// hands out the raw database: storage's own code reaches it through SessionAccess.h.

#include "storage/AuditLog.h"
#include "storage/CallerContext.h"
#include "storage/Database.h"
#include "storage/Errors.h"
#include "storage/Keyring.h"
#include "storage/Store.h"

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>

namespace radmark::storage {

// An account holds exactly one role; an admin is a separate identity, never a flag on a
// radiologist's account.
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

    // Throws SessionLockedError when the session is locked or has ended.
    void requireOpen() const;

    // Whether this session may still act, checked afresh against the store (the store service
    // asks before each request of a client's session, app/cli/ServiceVolumeCommands.cpp).
    // Throws AuthenticationError, with the words her next login would meet, when her account was
    // disabled since she logged in (its keyring entry gone, or marked disabled), and StoreError
    // when the store no longer opens with this session's key (rotated since: log in again).
    // Whatever ends a session rewrites the keyring first (a disable deletes her entry before it
    // marks her; a rotation writes its sealed pending key before it rekeys a page, and the new
    // wrapping after): while the keyring file is the one the last full check read, her own
    // connection answers whether she was marked disabled, and the full check (the keyring read,
    // the store opened afresh with her key) runs again once it changes, or when her connection
    // cannot answer (busy, damaged). A disabled account's refusal is logged ("refused request").
    void checkStillValid();

    // From where this session's entries are (CallerContext::current() when it began); the store
    // service sets its client's, from the socket's peer credentials.
    const CallerContext& caller() const { return caller_; }
    void setCaller(CallerContext caller);

    // An access that changes nothing (open study, open version, verification, ...), logged on
    // its own, under this session's user. Inside a transaction (a refusal in the middle of a
    // change) it joins it, and is written again on its own should that transaction roll back.
    void recordAccess(const std::string& action, const std::string& object,
                      const std::string& details = {});

    // Idle handling: touch() on user activity; the GUI locks when idleTimeoutReached().
    void touch() { lastActivity_ = std::chrono::steady_clock::now(); }
    bool idleTimeoutReached() const;
    std::chrono::steady_clock::time_point lastActivity() const { return lastActivity_; }

    void lock();                              // logged; the database closes and keys are wiped
    void unlock(const std::string& password); // the same user only
    void logout();                            // logged; keys wiped

  private:
    friend class Store;
    friend class SessionAccess; // storage's own code: the domain classes, import, stored studies
    Session(Store store, Database db, SecureBytes dbKey, UserInfo user, bool breakGlass);

    // The open database; throws SessionLockedError when locked or logged out.
    Database& database();
    AuditLog& auditLog(); // valid until lock/logout

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
    CallerContext caller_ = CallerContext::current();
    // The keyring file as the last full checkStillValid() found it (device, inode, size, change
    // and modification times in ns; all 0 before the first).
    std::array<std::int64_t, 6> checkedKeyring_{};
};

} // namespace radmark::storage
