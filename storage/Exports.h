#pragma once
// The export gate (admin): a destination must be on the site policy's allow-list; every export,
// and every refused one, is logged.

#include "storage/Session.h"

#include <filesystem>
#include <string>

namespace radmark::storage {

class Exports {
  public:
    explicit Exports(Session& session) : session_(session) {}

    // Throws PermissionDeniedError when destination is not allowed.
    void record(const std::filesystem::path& destination, const std::string& what);

  private:
    Session& session_;
};

} // namespace radmark::storage
