#pragma once
// The store's de-identified studies and who may reach them: adding (import), listing (an
// annotator sees only her assigned studies), opening (logged), assignments, and whether a study
// is blind (storage/Permissions.h).

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
    // Blind: annotators assigned to it see only their own versions and reviewers' consensus
    // versions; shared (the default): they see each other's versions, read-only.
    bool blind = false;
};

class Studies {
  public:
    explicit Studies(Session& session) : session_(session) {}

    std::int64_t add(const std::string& label, const std::string& description); // import
    std::vector<Study> list();
    Study open(std::int64_t studyId);          // to view it; logged "open study"
    Study openForExport(std::int64_t studyId); // admin, to export it; logged "read for export"
    void assign(const std::string& userName, std::int64_t studyId); // annotators only
    void unassign(const std::string& userName, std::int64_t studyId);
    std::int64_t idFor(const std::string& labelOrId); // throws InvalidRequestError when unknown
    void setBlind(std::int64_t studyId, bool blind);  // admin; logged "study blind"
    bool isBlind(std::int64_t studyId);

  private:
    Session& session_;
};

} // namespace radmark::storage
