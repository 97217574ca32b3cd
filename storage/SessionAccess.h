#pragma once
// Storage's own door into a session: the open database, the audited-change door and the user's
// row, for the domain classes (Users, Studies, Annotations, Reviews, AuditTrail, Exports),
// import and stored studies. Code outside storage/ has no business here: the header compiles
// only where RADMARK_STORAGE_INTERNAL is defined (the storage target, privately, and its
// white-box tests), so the one way to the data from the workflow layer, the GUI and the CLI is
// the role-checked one.

#ifndef RADMARK_STORAGE_INTERNAL
#error "storage/SessionAccess.h is the storage library's private door; use the domain classes"
#endif

#include "imaging/Chunks.h"
#include "storage/Session.h"
#include "storage/Studies.h"
#include "storage/Users.h"

#include <span>
#include <string>
#include <utility>

namespace radmark::storage {

class SessionAccess {
  public:
    static Database& database(Session& session) { return session.database(); }
    static AuditLog& auditLog(Session& session) { return session.auditLog(); }
    static std::int64_t userId(const Session& session) { return session.userId_; }
    static const SecureBytes& databaseKey(const Session& session) { return session.dbKey_; }
    // After a key rotation (storage/KeyRotation.cpp): the session's connection uses the new key.
    static void replaceDatabaseKey(Session& session, SecureBytes key) {
        session.dbKey_ = std::move(key);
    }

    // Session::recorded: the change and its access-log entry in ONE transaction.
    template <class Change>
    static auto recorded(Session& session, const std::string& action, const std::string& object,
                         const std::string& details, Change&& change) {
        return session.recorded(action, object, details, std::forward<Change>(change));
    }
};

namespace internal {

Bytes readMeta(Database& db, const std::string& key); // throws StoreError when missing
SecureBytes readSecretMeta(Database& db, const std::string& key);
void writeMeta(Database& db, const std::string& key, const void* data, std::size_t size);

// Throws InvalidRequestError unless name is 1 to 64 letters, digits, '.', '_' or '-'.
void checkUserName(const std::string& name);
UserInfo readUser(Statement& row); // columns id, name, role, disabled, created
UserInfo findUser(Session& session, const std::string& name);   // throws InvalidRequestError
std::string studyLabel(Session& session, std::int64_t studyId); // throws InvalidRequestError
Study readStudy(Session& session, std::int64_t studyId);        // throws InvalidRequestError
// The credentials the admin entered on a user's record, if any.
std::optional<Credentials> readCredentials(Session& session, std::int64_t userId);

// Stores data as a chunk inside the caller's transaction when one is open.
imaging::ChunkHash putChunk(Session& session, std::span<const std::uint8_t> data);
// A stored chunk, checked; throws StoreError when it is missing or damaged.
Bytes readChunk(Session& session, const imaging::ChunkHash& hash);

} // namespace internal
} // namespace radmark::storage
