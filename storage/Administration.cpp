#include "storage/Administration.h"

#include "storage/AuditTrail.h"
#include "storage/Users.h"

namespace radmark::storage {
namespace {

class SessionAdministration final : public Administration {
  public:
    explicit SessionAdministration(Session& session) : session_(session) {}
    std::vector<UserInfo> users() override { return Users(session_).list(); }
    std::vector<Study> studies() override { return Studies(session_).list(); }
    void addUser(const std::string& name, Role role, const std::string& password) override {
        Users(session_).add(name, role, password);
    }
    KeyRotationResult disableUser(const std::string& name,
                                  const KeyRotationProgress& progress) override {
        return Users(session_).disable(name, progress);
    }
    KeyRotationResult rotateKey(const std::string& reason,
                                const KeyRotationProgress& progress) override {
        return rotateDatabaseKey(session_, reason, progress);
    }
    void assignStudy(const std::string& user, std::int64_t studyId) override {
        Studies(session_).assign(user, studyId);
    }
    std::vector<AuditEntry> auditEntries(const AuditFilter& filter) override {
        return AuditTrail(session_).entries(filter);
    }
    AuditVerification verifyAuditLog(const SecureBytes* key,
                                     const Checkpoint* checkpoint) override {
        return AuditTrail(session_).verifyWithPolicyAnchors(key, checkpoint);
    }

  private:
    Session& session_;
};

} // namespace

std::unique_ptr<Administration> sessionAdministration(Session& session) {
    return std::make_unique<SessionAdministration>(session);
}

} // namespace radmark::storage
