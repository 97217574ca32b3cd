#pragma once
// Datasets as JSON values: `dataset show --json` (overviewJson) and what the store service's
// session sends its client for Admin > Datasets (app/cli/DatasetOps), so that the dialog on a
// shared workstation shows what the worker read, field for field. Each reader takes what its
// writer writes, every field of the value, and throws UnreadableDataset on anything else.

#include "workflow/Datasets.h"

#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>
#include <vector>

namespace radmark::workflow {

// A value that is not one its writer below wrote (a missing field, a wrong type, an unknown
// review state, split or export outcome).
struct UnreadableDataset : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// One JSON document of the overview (`dataset show --json`, indented by 2).
std::string overviewJson(const DatasetOverview& overview);
DatasetOverview overviewFromJson(const std::string& text);

nlohmann::json datasetSummariesJson(const std::vector<storage::DatasetSummary>& list);
std::vector<storage::DatasetSummary> datasetSummariesFromJson(const nlohmann::json& list);

nlohmann::json candidateStudiesJson(const std::vector<CandidateStudy>& studies);
std::vector<CandidateStudy> candidateStudiesFromJson(const nlohmann::json& studies);

nlohmann::json splitSettingsJson(const storage::SplitSettings& settings);
storage::SplitSettings splitSettingsFromJson(const nlohmann::json& settings);

nlohmann::json segmentNameMappingJson(const storage::SegmentNameMapping& mapping);
storage::SegmentNameMapping segmentNameMappingFromJson(const nlohmann::json& mapping);

nlohmann::json protocolVersionJson(const storage::ProtocolVersion& protocol);
storage::ProtocolVersion protocolVersionFromJson(const nlohmann::json& protocol);

nlohmann::json revisionSummaryJson(const storage::RevisionSummary& revision);
storage::RevisionSummary revisionSummaryFromJson(const nlohmann::json& revision);

} // namespace radmark::workflow
