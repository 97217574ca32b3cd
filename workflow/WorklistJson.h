#pragma once
// The worklist and the review queue as JSON values: what the store service's session sends its
// client (app/cli/StoreAccess), so that the workstation and `studies --via` show the rows the
// worker read with workflow::worklist, field for field.

#include "workflow/Review.h"

#include <nlohmann/json.hpp>

#include <stdexcept>
#include <vector>

namespace radmark::workflow {

// A reply that is not a list of rows as worklistJson writes them.
struct UnreadableWorklist : std::runtime_error {
    using std::runtime_error::runtime_error;
};

nlohmann::json worklistJson(const std::vector<WorklistRow>& rows);
std::vector<WorklistRow> worklistFromJson(const nlohmann::json& rows); // throws UnreadableWorklist

} // namespace radmark::workflow
