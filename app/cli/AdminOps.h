#pragma once
// The admin's calls on the store service's session channel (StoreAccess's users, studies,
// addUser, disableUser, rotateKey, assignStudy, auditEntries, verifyAuditLog): the values they
// carry as JSON, the secrets as sealed memfds, and the worker's answer, which runs the calls the
// in-process StoreAccess runs (storage::sessionAdministration: their refusals and access-log
// entries).
//
// Ops: users, studies, add-user (name, role; the password in a sealed memfd), disable-user
// (name) and rotate-key (reason), each sending Progress messages {stage, fraction} before its
// reply {rotation} (with the new recovery key in a sealed memfd when it made one), assign (user,
// studyId), audit-entries (filter), audit-verify (checkpoint: its JSON text, public and signed;
// the audit key in a sealed memfd).

#include "imaging/decoder/Channel.h"
#include "storage/Administration.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <vector>

namespace radmark::cli {

// Each *FromJson throws StoreAccessError on a damaged value.
nlohmann::json usersJson(const std::vector<storage::UserInfo>& users);
std::vector<storage::UserInfo> usersFromJson(const nlohmann::json& rows);
nlohmann::json studiesJson(const std::vector<storage::Study>& studies);
std::vector<storage::Study> studiesFromJson(const nlohmann::json& rows);
nlohmann::json auditFilterJson(const storage::AuditFilter& filter);
storage::AuditFilter auditFilterFromJson(const nlohmann::json& filter);
// An entry as the panel and `audit show` list it: its hash and MAC stay in the store.
nlohmann::json auditEntriesJson(const std::vector<storage::AuditEntry>& entries);
std::vector<storage::AuditEntry> auditEntriesFromJson(const nlohmann::json& rows);
nlohmann::json verificationJson(const storage::AuditVerification& v);
storage::AuditVerification verificationFromJson(const nlohmann::json& v);
// Without the new recovery key, which crosses in a memfd of its own.
nlohmann::json rotationJson(const storage::KeyRotationResult& r);
storage::KeyRotationResult rotationFromJson(const nlohmann::json& r);

// A secret (a password, a key) of at most maxBytes from a sealed memfd, read straight into
// locked memory. Throws StoreAccessError when fd is not sealed or holds more.
storage::SecureBytes secretFromMemfd(int fd, std::size_t maxBytes);
// The same into ordinary memory, for what is not secret (a protocol, a recipients file); what
// names it in the errors.
storage::Bytes bytesFromMemfd(int fd, std::size_t maxBytes, const std::string& what);
// The longest password a request may carry.
constexpr std::size_t maxPasswordBytes = 4096;

// The worker's reply to an admin op of the session, or none when request is not one. Progress
// messages go out through sendProgress (possibly from another thread, one at a time) before the
// reply. Throws the store's refusals as the in-process calls do.
std::optional<decoder::Message>
adminReply(storage::Session& session, const decoder::Message& request,
           const std::function<void(const decoder::Message&)>& sendProgress);

} // namespace radmark::cli
