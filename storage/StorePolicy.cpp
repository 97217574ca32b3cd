#include "storage/StorePolicy.h"

#include "storage/SessionAccess.h"

namespace radmark::storage {

std::string StorePolicy::recordedJson() {
    session_.requireOpen();
    session_.touch();
    const Bytes b = internal::readMeta(SessionAccess::database(session_), "policy");
    return std::string(b.begin(), b.end());
}

std::vector<std::string> StorePolicy::set(const Policy& policy) {
    session_.requireOpen();
    session_.touch();
    if (session_.role() != Role::Admin) {
        const std::string why = "Only the admin role records the store's policy.";
        session_.recordAccess("refused policy change", "policy", why);
        throw PermissionDeniedError(why);
    }
    std::vector<std::string> overridden;
    Policy::system().combinedWith(policy, &overridden);
    const std::string json = policy.toJson();
    SessionAccess::recorded(session_, "policy change", "policy", json, [&](Database& db) {
        internal::writeMeta(db, "policy", json.data(), json.size());
    });
    return overridden;
}

} // namespace radmark::storage
