#pragma once
// The export gate (admin): a destination must be on the site policy's list, and every request
// and refusal here is logged. Whether a destination is safe to write to right now (mount,
// encryption, removable media) is decided by delivery/; a dataset export's later refusals and
// its completion are recorded by storage::Datasets.

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

  private:
    Session& session_;
};

} // namespace radmark::storage
