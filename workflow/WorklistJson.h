#pragma once
// The worklist, the review queue and review versions as JSON values: what the store service's
// session sends its client (app/cli/StoreAccess), so that the workstation and `studies --via`
// show the rows the worker read with workflow::worklist, field for field.

#include "workflow/Review.h"

#include <nlohmann/json.hpp>

#include <stdexcept>
#include <vector>

namespace radmark::workflow {

// A reply that is not a list of rows as worklistJson writes them.
struct UnreadableWorklist : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// One version of a row (and of the compare view's list): every field of ReviewVersion.
nlohmann::json reviewVersionJson(const ReviewVersion& version);
// Throws UnreadableWorklist for a state Radmark does not know, nlohmann::json::exception and
// imaging::CorruptChunk for a missing field or a damaged hash.
ReviewVersion reviewVersionFromJson(const nlohmann::json& version);

nlohmann::json worklistJson(const std::vector<WorklistRow>& rows);
std::vector<WorklistRow> worklistFromJson(const nlohmann::json& rows); // throws UnreadableWorklist

} // namespace radmark::workflow
