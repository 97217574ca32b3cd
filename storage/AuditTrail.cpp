#include "storage/AuditTrail.h"

#include "storage/AuditAnchor.h"

#include "storage/Permissions.h"
#include "storage/SessionAccess.h"

namespace radmark::storage {

std::vector<AuditEntry> AuditTrail::entries(const AuditFilter& filter) {
    require(session_, Action::ReadAuditLog, "access log");
    session_.touch();
    return SessionAccess::auditLog(session_).entries(filter);
}

Checkpoint AuditTrail::checkpoint() {
    require(session_, Action::SignAuditCheckpoint, "access log");
    session_.touch();
    session_.recordAccess("audit checkpoint", "access log");
    const SecureBytes secret =
        internal::readSecretMeta(SessionAccess::database(session_), "signing_secret");
    const Checkpoint checkpoint = SessionAccess::auditLog(session_).checkpoint(
        secret, internal::readMeta(SessionAccess::database(session_), "signing_public"));
    SessionAccess::auditLog(session_).publishCheckpoint(checkpoint); // and to the anchors
    return checkpoint;
}

void AuditTrail::signWithWorkstationKey(const SignWithKey& sign) {
    require(session_, Action::SignAuditCheckpoint, "access log");
    session_.touch();
    session_.recordAccess("audit checkpoint", "access log", "to sign an export bundle");
    SecureBytes secret =
        internal::readSecretMeta(SessionAccess::database(session_), "signing_secret");
    const Checkpoint checkpoint = SessionAccess::auditLog(session_).checkpoint(
        secret, internal::readMeta(SessionAccess::database(session_), "signing_public"));
    try {
        sign(checkpoint, std::span<const std::uint8_t>(secret.data(), secret.size()));
    } catch (...) {
        secret.wipe();
        throw;
    }
    secret.wipe();
}

Bytes AuditTrail::workstationPublicKey() {
    session_.requireOpen();
    return internal::readMeta(SessionAccess::database(session_), "signing_public");
}

AuditVerification AuditTrail::verify(const SecureBytes* initialKey, const Checkpoint* checkpoint,
                                     const Anchors* anchors) {
    require(session_, Action::VerifyAuditLog, "access log");
    session_.touch();
    AuditVerification v = SessionAccess::auditLog(session_).verify(
        initialKey, checkpoint,
        internal::readMeta(SessionAccess::database(session_), "signing_public"), anchors);
    std::string details = v.ok ? "ok" : "FAILED: " + v.reason;
    details += initialKey ? "; MACs checked" : "; MACs not checked (no audit key)";
    if (checkpoint)
        details += "; against checkpoint of " + std::to_string(checkpoint->treeSize) + " entries";
    if (anchors)
        details += "; against anchors up to entry " + std::to_string(v.anchoredSize);
    session_.recordAccess("audit verify", "access log", details);
    return v;
}

AuditVerification AuditTrail::verifyWithPolicyAnchors(const SecureBytes* initialKey,
                                                      const Checkpoint* checkpoint) {
    require(session_, Action::VerifyAuditLog, "access log"); // before any file is read
    const std::filesystem::path& file = session_.store().policy().anchorFile;
    std::error_code ec;
    if (file.empty() || !std::filesystem::exists(file, ec))
        return verify(initialKey, checkpoint);
    const Anchors anchors = Anchors::read(file);
    return verify(initialKey, checkpoint, &anchors);
}

} // namespace radmark::storage
