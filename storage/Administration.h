#pragma once
// The admin's calls of the admin panel as one interface, so that the same panel works on this
// process's session (a personal store: sessionAdministration) and through the store service of
// a shared workstation (cli::StoreAccess::administration, whose worker runs these same calls).
// Each throws the store's refusal in its words, and logs what the storage calls log.

#include "storage/AuditLog.h"
#include "storage/KeyRotation.h"
#include "storage/SecureBytes.h"
#include "storage/Session.h"
#include "storage/Studies.h"

#include <memory>
#include <string>
#include <vector>

namespace radmark::storage {

class Administration {
  public:
    virtual ~Administration() = default;
    virtual std::vector<UserInfo> users() = 0; // Users::list
    virtual std::vector<Study> studies() = 0;  // Studies::list
    virtual void addUser(const std::string& name, Role role, const std::string& password) = 0;
    // Users::disable and rotateDatabaseKey: both rotate the store key; progress may be called
    // from another thread.
    virtual KeyRotationResult disableUser(const std::string& name,
                                          const KeyRotationProgress& progress) = 0;
    virtual KeyRotationResult rotateKey(const std::string& reason,
                                        const KeyRotationProgress& progress) = 0;
    virtual void assignStudy(const std::string& user, std::int64_t studyId) = 0;
    virtual std::vector<AuditEntry> auditEntries(const AuditFilter& filter) = 0;
    // AuditTrail::verifyWithPolicyAnchors (key: the initial audit key, or null).
    virtual AuditVerification verifyAuditLog(const SecureBytes* key,
                                             const Checkpoint* checkpoint) = 0;
};

// On this session (kept by the caller while the result is used).
std::unique_ptr<Administration> sessionAdministration(Session& session);

} // namespace radmark::storage
