#pragma once
// What crosses the decoder channel, as JSON: series summaries, volume geometry, the results of
// de-identification. Both sides use these functions, so a field is named in one place only.
// docs/isolation.md lists the requests.

#include "imaging/StudyReader.h"
#include "imaging/Volume.h"
#include "imaging/deid/ConfidentialityProfile.h"
#include "imaging/deid/Deidentifier.h"
#include "imaging/deid/FolderDeidentification.h"
#include "imaging/deid/KeyedIdentity.h"

#include <nlohmann/json.hpp>

namespace radmark::decoder {

nlohmann::json toJson(const imaging::SeriesSummary& series);
imaging::SeriesSummary seriesFromJson(const nlohmann::json& json);

nlohmann::json toJson(const imaging::Geometry& geometry);
imaging::Geometry geometryFromJson(const nlohmann::json& json);
imaging::PixelType pixelTypeFromName(const std::string& name); // throws ChannelError

nlohmann::json toJson(const deid::ProfileOptions& options);
deid::ProfileOptions optionsFromJson(const nlohmann::json& json);

nlohmann::json toJson(const deid::StoreSecret& secret); // only ever sent to a decoder child
deid::StoreSecret secretFromJson(const nlohmann::json& json);

nlohmann::json toJson(const deid::PixelRegion& region); // [x, y, width, height]
deid::PixelRegion regionFromJson(const nlohmann::json& json);

nlohmann::json toJson(const deid::FileResult& result);
deid::FileResult fileResultFromJson(const nlohmann::json& json);

nlohmann::json toJson(const deid::FolderOutcome& outcome);
deid::FolderOutcome folderOutcomeFromJson(const nlohmann::json& json);

} // namespace radmark::decoder
