#pragma once
// Reviewers' decisions on annotation versions and their comments: records about a version,
// never edits of it.

#include "storage/Session.h"

#include <cstdint>
#include <string>

namespace radmark::storage {

enum class ReviewDecision { Approve, Reject };

class Reviews {
  public:
    explicit Reviews(Session& session) : session_(session) {}

    void decide(std::int64_t annotationId, ReviewDecision decision, const std::string& comment);
    void comment(std::int64_t annotationId, const std::string& text);

  private:
    Session& session_;
};

} // namespace radmark::storage
