#include "storage/Exports.h"

#include "storage/Permissions.h"
#include "storage/SessionAccess.h"

namespace radmark::storage {

void Exports::record(const std::filesystem::path& destination, const std::string& what) {
    require(session_, Action::RecordExport, destination.string());
    session_.touch();
    const std::string target = std::filesystem::weakly_canonical(destination).string();
    bool allowed = false;
    for (const auto& prefix : session_.store().policy().exportAllowList) {
        const std::string p = std::filesystem::weakly_canonical(prefix).string();
        allowed = allowed || target == p || target.rfind(p + "/", 0) == 0;
    }
    if (!allowed) {
        session_.recordAccess("export refused", target, "not on the policy's allow-list");
        throw PermissionDeniedError("exports to " + target + " are not allowed by the site policy");
    }
    session_.recordAccess("export", target, what);
}

} // namespace radmark::storage
