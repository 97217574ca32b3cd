#pragma once
// One segment's agreement as JSON, each metric under the key agreementJson and the report's
// definitions use (annotation/Agreement.h): what a decision record holds per segment, and what
// the store service sends the workstation in an agreement summary (workflow/AgreementReport.h).
// An infinite distance (one side empty) is written null and read back infinite.

#include "annotation/Agreement.h"

#include <nlohmann/json.hpp>

namespace radmark::annotation {

nlohmann::json segmentAgreementJson(const SegmentAgreement& segment);
// Throws nlohmann::json::exception when a field is missing or of the wrong type.
SegmentAgreement segmentAgreementFromJson(const nlohmann::json& segment);

} // namespace radmark::annotation
