#pragma once
// The policy an admin records in the store (`radmark-cli policy set FILE` / `policy show`): one
// of the site's two sources, with the system policy (/etc/radmark/policy.json). Recording it is
// an admin action with its own access-log entry ("policy change"); nothing else changes it (a
// person's --policy file only tightens what applies to her process, and is never recorded).

#include "storage/Session.h"

#include <string>
#include <vector>

namespace radmark::storage {

class StorePolicy {
  public:
    explicit StorePolicy(Session& session) : session_(session) {}

    // The recorded policy, as the store holds it (JSON).
    std::string recordedJson();
    // Admin only (refused and logged otherwise). Records policy and logs "policy change" with
    // it. Returns one line for each of its values that the system policy overrides (stricter
    // there): those keep applying. Takes effect at the next login.
    std::vector<std::string> set(const Policy& policy);

  private:
    Session& session_;
};

} // namespace radmark::storage
