#include "app/cli/AdminOps.h"

#include "app/cli/StoreAccess.h"
#include "storage/Permissions.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <set>

namespace radmark::cli {

using nlohmann::json;

namespace {
// Each row of a JSON array read by `read`; anything damaged (not an array, a missing or mistyped
// field) throws StoreAccessError(damaged).
template <class Row, class Read>
std::vector<Row> rowsFromJson(const json& rows, const char* damaged, const Read& read) {
    std::vector<Row> out;
    try {
        for (const json& r : rows.get_ref<const json::array_t&>())
            out.push_back(read(r));
    } catch (const std::exception&) {
        throw StoreAccessError(damaged);
    }
    return out;
}
} // namespace

json usersJson(const std::vector<storage::UserInfo>& users) {
    json rows = json::array();
    for (const storage::UserInfo& u : users)
        rows.push_back({{"id", u.id},
                        {"name", u.name},
                        {"role", storage::roleName(u.role)},
                        {"disabled", u.disabled},
                        {"created", u.created}});
    return rows;
}

std::vector<storage::UserInfo> usersFromJson(const json& rows) {
    return rowsFromJson<storage::UserInfo>(
        rows, "the service's users list is not readable", [](const json& r) {
            return storage::UserInfo{
                r.at("id").get<std::int64_t>(), r.at("name").get<std::string>(),
                storage::parseRole(r.at("role").get<std::string>()), r.at("disabled").get<bool>(),
                r.at("created").get<std::string>()};
        });
}

json studiesJson(const std::vector<storage::Study>& studies) {
    json rows = json::array();
    for (const storage::Study& s : studies)
        rows.push_back(
            {{"id", s.id}, {"label", s.label}, {"description", s.description}, {"blind", s.blind}});
    return rows;
}

std::vector<storage::Study> studiesFromJson(const json& rows) {
    return rowsFromJson<storage::Study>(
        rows, "the service's studies list is not readable", [](const json& r) {
            return storage::Study{r.at("id").get<std::int64_t>(), r.at("label").get<std::string>(),
                                  r.at("description").get<std::string>(),
                                  r.at("blind").get<bool>()};
        });
}

json auditFilterJson(const storage::AuditFilter& filter) {
    json f = {{"limit", filter.limit}};
    if (filter.user)
        f["user"] = *filter.user;
    if (filter.action)
        f["action"] = *filter.action;
    if (filter.since)
        f["since"] = *filter.since;
    if (filter.until)
        f["until"] = *filter.until;
    return f;
}

storage::AuditFilter auditFilterFromJson(const json& f) {
    storage::AuditFilter filter;
    try {
        const auto text = [&f](const char* key) -> std::optional<std::string> {
            if (!f.contains(key))
                return std::nullopt;
            return f.at(key).get<std::string>();
        };
        filter.user = text("user");
        filter.action = text("action");
        filter.since = text("since");
        filter.until = text("until");
        filter.limit = f.value("limit", std::size_t(0));
    } catch (const std::exception&) {
        throw StoreAccessError("the access log filter is not readable");
    }
    return filter;
}

json auditEntriesJson(const std::vector<storage::AuditEntry>& entries) {
    json rows = json::array();
    for (const storage::AuditEntry& e : entries)
        rows.push_back({{"seq", e.seq},
                        {"time", e.time},
                        {"user", e.user},
                        {"action", e.action},
                        {"object", e.object},
                        {"details", e.details},
                        {"origin", e.origin}});
    return rows;
}

std::vector<storage::AuditEntry> auditEntriesFromJson(const json& rows) {
    return rowsFromJson<storage::AuditEntry>(
        rows, "the service's access log entries are not readable", [](const json& r) {
            storage::AuditEntry e;
            e.seq = r.at("seq").get<std::int64_t>();
            e.time = r.at("time").get<std::string>();
            e.user = r.at("user").get<std::string>();
            e.action = r.at("action").get<std::string>();
            e.object = r.at("object").get<std::string>();
            e.details = r.at("details").get<std::string>();
            e.origin = r.at("origin").get<std::string>();
            return e;
        });
}

json verificationJson(const storage::AuditVerification& v) {
    return {{"ok", v.ok},
            {"entriesChecked", v.entriesChecked},
            {"macsChecked", v.macsChecked},
            {"checkpointChecked", v.checkpointChecked},
            {"firstBadSeq", v.firstBadSeq},
            {"reason", v.reason},
            {"anchorsChecked", v.anchorsChecked},
            {"anchorCheckpoints", v.anchorCheckpoints},
            {"anchorEntries", v.anchorEntries},
            {"anchoredSize", v.anchoredSize},
            {"anchorLinesDamaged", v.anchorLinesDamaged}};
}

storage::AuditVerification verificationFromJson(const json& j) {
    storage::AuditVerification v;
    try {
        v.ok = j.at("ok").get<bool>();
        v.entriesChecked = j.at("entriesChecked").get<std::int64_t>();
        v.macsChecked = j.at("macsChecked").get<bool>();
        v.checkpointChecked = j.at("checkpointChecked").get<bool>();
        v.firstBadSeq = j.at("firstBadSeq").get<std::int64_t>();
        v.reason = j.at("reason").get<std::string>();
        v.anchorsChecked = j.at("anchorsChecked").get<bool>();
        v.anchorCheckpoints = j.at("anchorCheckpoints").get<std::int64_t>();
        v.anchorEntries = j.at("anchorEntries").get<std::int64_t>();
        v.anchoredSize = j.at("anchoredSize").get<std::int64_t>();
        v.anchorLinesDamaged = j.at("anchorLinesDamaged").get<std::int64_t>();
    } catch (const std::exception&) {
        throw StoreAccessError("the service's verification of the access log is not readable");
    }
    return v;
}

json rotationJson(const storage::KeyRotationResult& r) {
    return {{"keyVersion", r.keyVersion},     {"databaseBytes", r.databaseBytes},
            {"seconds", r.seconds},           {"sealedForUsers", r.sealedForUsers},
            {"usersLeftOut", r.usersLeftOut}, {"newRecoveryKey", !r.newRecoveryKey.empty()}};
}

storage::KeyRotationResult rotationFromJson(const json& j) {
    storage::KeyRotationResult r;
    try {
        r.keyVersion = j.at("keyVersion").get<int>();
        r.databaseBytes = j.at("databaseBytes").get<std::uint64_t>();
        r.seconds = j.at("seconds").get<double>();
        r.sealedForUsers = j.at("sealedForUsers").get<int>();
        r.usersLeftOut = j.at("usersLeftOut").get<std::vector<std::string>>();
    } catch (const std::exception&) {
        throw StoreAccessError("the service's key rotation result is not readable");
    }
    return r;
}

namespace {
// The bytes of a sealed memfd of at most maxBytes into a Buffer of that size (what: for the
// errors, "secret", "protocol", ...).
template <class Buffer>
Buffer fromSealedMemfd(int fd, std::size_t maxBytes, const std::string& what) {
    struct stat st {};
    if (!decoder::isSealed(fd) || ::fstat(fd, &st) != 0)
        throw StoreAccessError("the " + what + " must come in a sealed memfd");
    if (st.st_size < 0 || std::size_t(st.st_size) > maxBytes)
        throw StoreAccessError("the " + what + " is longer than " + std::to_string(maxBytes) +
                               " bytes");
    Buffer bytes(std::size_t(st.st_size));
    for (std::size_t done = 0; done < bytes.size();) {
        const ssize_t n = ::pread(fd, bytes.data() + done, bytes.size() - done, off_t(done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            throw StoreAccessError("cannot read the " + what + "'s memfd");
        done += std::size_t(n);
    }
    return bytes;
}
} // namespace

storage::SecureBytes secretFromMemfd(int fd, std::size_t maxBytes) {
    return fromSealedMemfd<storage::SecureBytes>(fd, maxBytes, "secret");
}

storage::Bytes bytesFromMemfd(int fd, std::size_t maxBytes, const std::string& what) {
    return fromSealedMemfd<storage::Bytes>(fd, maxBytes, what);
}

namespace {

const decoder::UniqueFd& onlyFd(const decoder::Message& request, const char* what) {
    if (request.fds.size() != 1)
        throw StoreAccessError(std::string("the request must carry one memfd: the ") + what);
    return request.fds.front();
}

// Sends Progress messages for a key rotation, one at a time, and never throws: the rotation
// (partly on the store's own threads, where an exception would end the process) runs to its end
// whether or not her client is still there to see it.
class ProgressNotes {
  public:
    explicit ProgressNotes(const std::function<void(const decoder::Message&)>& send)
        : send_(send) {}
    storage::KeyRotationProgress callback() {
        return [this](const std::string& stage, double fraction) {
            const std::lock_guard lock(sending_);
            if (gone_)
                return;
            decoder::Message note;
            note.kind = decoder::MessageKind::Progress;
            note.body = {{"stage", stage}, {"fraction", fraction}};
            try {
                send_(note);
            } catch (...) {
                gone_ = true;
            }
        };
    }
    bool clientGone() {
        const std::lock_guard lock(sending_);
        return gone_;
    }

  private:
    const std::function<void(const decoder::Message&)>& send_;
    std::mutex sending_;
    bool gone_ = false;
};

// A key rotation's reply. A new recovery key that her client will not receive (it went away
// during the rotation) is logged as not delivered: the store's recovery entry is sealed to it,
// so the admin must rotate again to get one she holds.
decoder::Message rotationReply(storage::Session& session, const storage::KeyRotationResult& result,
                               ProgressNotes& notes);

// Its figures, its new recovery key (if any) in a sealed memfd.
decoder::Message rotationReply(storage::Session& session, const storage::KeyRotationResult& result,
                               ProgressNotes& notes) {
    if (!result.newRecoveryKey.empty() && notes.clientGone())
        session.recordAccess("recovery key not delivered", "store",
                             "the admin's client went away during the key rotation: rotate the "
                             "key again for a recovery key she holds");
    decoder::Message reply;
    reply.kind = decoder::MessageKind::Reply;
    reply.body = {{"rotation", rotationJson(result)}};
    if (!result.newRecoveryKey.empty())
        reply.fds.push_back(decoder::memfdWithBytes(
            "radmark-recovery-key", result.newRecoveryKey.data(), result.newRecoveryKey.size()));
    return reply;
}

} // namespace

std::optional<decoder::Message>
adminReply(storage::Session& session, const decoder::Message& request,
           const std::function<void(const decoder::Message&)>& sendProgress) {
    const json& body = request.body;
    const std::string op = body.value("op", std::string());
    // Every request of a session passes here first: the others go on at once.
    static const std::set<std::string> ops = {"users",         "studies",     "add-user",
                                              "disable-user",  "rotate-key",  "assign",
                                              "audit-entries", "audit-verify"};
    if (!ops.count(op))
        return std::nullopt;
    ProgressNotes notes(sendProgress);
    const std::unique_ptr<storage::Administration> admin = storage::sessionAdministration(session);
    decoder::Message reply;
    reply.kind = decoder::MessageKind::Reply;
    try {
        if (op == "users") {
            reply.body = {{"users", usersJson(admin->users())}};
        } else if (op == "studies") {
            reply.body = {{"studies", studiesJson(admin->studies())}};
        } else if (op == "add-user") {
            // The role first, so that a refusal is logged whatever else the request holds.
            const std::string name = body.at("name").get<std::string>();
            storage::require(session, storage::Action::AddUser, name);
            const storage::Role role = storage::parseRole(body.at("role").get<std::string>());
            const storage::SecureBytes secret =
                secretFromMemfd(onlyFd(request, "password").get(), maxPasswordBytes);
            // Users::add takes a std::string: this copy lives only for the call.
            std::string password(reinterpret_cast<const char*>(secret.data()), secret.size());
            try {
                admin->addUser(name, role, password);
            } catch (...) {
                ::explicit_bzero(password.data(), password.size());
                throw;
            }
            ::explicit_bzero(password.data(), password.size());
            reply.body = {{"added", name}};
        } else if (op == "disable-user") {
            const std::string name = body.at("name").get<std::string>();
            return rotationReply(session, admin->disableUser(name, notes.callback()), notes);
        } else if (op == "rotate-key") {
            const std::string reason = body.at("reason").get<std::string>();
            return rotationReply(session, admin->rotateKey(reason, notes.callback()), notes);
        } else if (op == "assign") {
            const std::string user = body.at("user").get<std::string>();
            const std::int64_t study = body.at("studyId").get<std::int64_t>();
            admin->assignStudy(user, study);
            reply.body = {{"assigned", true}};
        } else if (op == "audit-entries") {
            storage::require(session, storage::Action::ReadAuditLog, "access log");
            reply.body = {{"entries", auditEntriesJson(admin->auditEntries(
                                          auditFilterFromJson(body.at("filter"))))}};
        } else if (op == "audit-verify") {
            storage::require(session, storage::Action::VerifyAuditLog, "access log");
            std::optional<storage::Checkpoint> checkpoint;
            if (body.contains("checkpoint"))
                checkpoint =
                    storage::Checkpoint::fromJson(body.at("checkpoint").get<std::string>());
            storage::SecureBytes key;
            if (!request.fds.empty()) {
                key = secretFromMemfd(onlyFd(request, "audit key").get(), 32);
                if (key.size() != 32)
                    throw StoreAccessError("an audit key is 32 bytes");
            }
            reply.body = {{"verification", verificationJson(admin->verifyAuditLog(
                                               key.empty() ? nullptr : &key,
                                               checkpoint ? &*checkpoint : nullptr))}};
        }
    } catch (const json::exception&) {
        throw StoreAccessError("the " + op + " request is not readable");
    }
    return reply;
}

} // namespace radmark::cli
