#pragma once
// Reading the signed access log, signing checkpoints of it and verifying it (admin).

#include "storage/Session.h"

#include <vector>

namespace radmark::storage {

class AuditTrail {
  public:
    explicit AuditTrail(Session& session) : session_(session) {}

    std::vector<AuditEntry> entries(const AuditFilter& filter = {});
    Checkpoint checkpoint(); // logged
    // Logged with its outcome; see AuditLog::verify for what each argument adds.
    AuditVerification verify(const SecureBytes* initialKey, const Checkpoint* checkpoint);

  private:
    Session& session_;
};

} // namespace radmark::storage
