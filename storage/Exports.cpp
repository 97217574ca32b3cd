#include "storage/Exports.h"

#include "storage/Permissions.h"
#include "storage/SessionAccess.h"

namespace radmark::storage {

void Exports::record(const std::filesystem::path& destination, const std::string& what) {
    require(session_, Action::RecordExport, destination.string());
    session_.touch();
    const std::string target = std::filesystem::weakly_canonical(destination).string();
    bool allowed = false;
    for (const auto& d : session_.store().policy().destinations()) {
        if (d.isSmb())
            continue;
        const std::string p = std::filesystem::weakly_canonical(d.folder).string();
        allowed = allowed || target == p || target.rfind(p + "/", 0) == 0;
    }
    if (!allowed) {
        session_.recordAccess("export refused", target, "not on the policy's allow-list");
        throw PermissionDeniedError("exports to " + target + " are not allowed by the site policy");
    }
    session_.recordAccess("export", target, what);
}

ExportDestination Exports::request(const std::string& destinationName, const std::string& what) {
    require(session_, Action::RecordExport, destinationName);
    session_.touch();
    const auto destination = session_.store().policy().findDestination(destinationName);
    if (!destination) {
        session_.recordAccess("export refused", destinationName,
                              "no destination of that name in the site policy");
        throw PermissionDeniedError("the site policy has no export destination named '" +
                                    destinationName + "'");
    }
    session_.recordAccess("export requested", destinationName, what);
    return *destination;
}

void Exports::refused(const std::string& destinationName, const std::string& reason) {
    require(session_, Action::RecordExport, destinationName);
    session_.recordAccess("export refused", destinationName, reason);
}

void Exports::completed(const std::string& destinationName, const std::string& details) {
    require(session_, Action::RecordExport, destinationName);
    session_.touch();
    session_.recordAccess("export", destinationName, details);
}

} // namespace radmark::storage
