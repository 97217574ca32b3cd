#pragma once
// The export gate (admin): a destination must be on the site policy's list; every export
// requested, refused (with the reason) and completed is logged. Whether a destination is safe to
// write to right now (mount, encryption, removable media) is decided by delivery/, which the
// workflow layer asks before and while delivering, and whose refusals it logs here.

#include "storage/Policy.h"
#include "storage/Session.h"

#include <filesystem>
#include <string>

namespace radmark::storage {

class Exports {
  public:
    explicit Exports(Session& session) : session_(session) {}

    // A folder under one of the policy's folder destinations. Throws PermissionDeniedError when
    // destination is not allowed.
    void record(const std::filesystem::path& destination, const std::string& what);

    // A destination picked by name: throws PermissionDeniedError (logged as "export refused")
    // when the policy has none of that name; else logs "export requested" and returns it.
    ExportDestination request(const std::string& destinationName, const std::string& what);
    // Logs "export refused" with the reason (a sentence from delivery/: not an encrypted mount,
    // removable medium, wrong password, share full, ...).
    void refused(const std::string& destinationName, const std::string& reason);
    // Logs "export" with what was delivered (bundle id, manifest hash, versions).
    void completed(const std::string& destinationName, const std::string& details);

  private:
    Session& session_;
};

} // namespace radmark::storage
