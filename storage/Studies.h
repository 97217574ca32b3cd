#pragma once
// The store's de-identified studies and who may reach them: adding (import), listing (an
// annotator sees only her assigned studies), opening (logged) and assignments.

#include "storage/Session.h"

#include <cstdint>
#include <string>
#include <vector>

namespace radmark::storage {

// A de-identified study as the store knows it: a pseudonym label and a free-text description.
struct Study {
    std::int64_t id = 0;
    std::string label;
    std::string description;
};

class Studies {
  public:
    explicit Studies(Session& session) : session_(session) {}

    std::int64_t add(const std::string& label, const std::string& description); // import
    std::vector<Study> list();
    Study open(std::int64_t studyId);                               // logged "open study"
    void assign(const std::string& userName, std::int64_t studyId); // annotators only
    void unassign(const std::string& userName, std::int64_t studyId);
    std::int64_t idFor(const std::string& labelOrId); // throws InvalidRequestError when unknown

  private:
    Session& session_;
};

} // namespace radmark::storage
