#pragma once
// What crosses the decoder channel, as JSON: series summaries, volume geometry, the results of
// de-identification. Both sides use these functions, so a field is named in one place only.
// docs/isolation.md lists the requests.

#include "imaging/DicomSeg.h"
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

// A DICOM SEG read for mask import, without its bits (they travel in a sealed memfd).
nlohmann::json toJson(const imaging::DicomSegmentation& segmentation);
// Throws ChannelError when the parts do not hold together; packedBits is left empty.
imaging::DicomSegmentation segmentationFromJson(const nlohmann::json& json);
// The bytes of a segmentation's frames, bit after bit: what its packedBits must hold.
std::size_t packedBitsBytes(const imaging::DicomSegmentation& segmentation);

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
