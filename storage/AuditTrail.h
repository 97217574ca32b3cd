#pragma once
// Reading the signed access log, signing checkpoints of it and verifying it (admin).

#include "storage/Session.h"

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace radmark::storage {

class AuditTrail {
  public:
    explicit AuditTrail(Session& session) : session_(session) {}

    std::vector<AuditEntry> entries(const AuditFilter& filter = {});
    Checkpoint checkpoint(); // logged
    // For sealing an export bundle (admin): signs a fresh checkpoint (logged as checkpoint() is)
    // and lends `sign` the workstation's 64-byte Ed25519 secret key as a span over locked memory
    // that is wiped as soon as `sign` returns or throws. The key never leaves that span.
    using SignWithKey =
        std::function<void(const Checkpoint& checkpoint, std::span<const std::uint8_t> secretKey)>;
    void signWithWorkstationKey(const SignWithKey& sign);
    // The workstation's Ed25519 public key (32 bytes), which signs checkpoints and bundles:
    // public, so any open session may read it (not logged).
    Bytes workstationPublicKey();
    // Logged with its outcome; see AuditLog::verify for what each argument adds.
    AuditVerification verify(const SecureBytes* initialKey, const Checkpoint* checkpoint,
                             const Anchors* anchors = nullptr);
    // verify against the anchors of the policy's anchor file when it exists, as `audit verify`
    // without --anchors (the admin panel's Verify, on a personal store and through the service).
    AuditVerification verifyWithPolicyAnchors(const SecureBytes* initialKey,
                                              const Checkpoint* checkpoint);

  private:
    Session& session_;
};

} // namespace radmark::storage
