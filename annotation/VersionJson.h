#pragma once
// A version as the JSON of its stored record (the fields VersionHistory writes; its id is the
// hash of the record's bytes, kept beside it), for whoever carries versions as values: the
// store service's versions list (app/cli/StoreAccess) sends each one so, and its client reads
// it back with the reader VersionHistory::load uses.

#include "annotation/Version.h"

#include <nlohmann/json.hpp>

namespace radmark::annotation {

nlohmann::json versionJson(const Version& version);
// Throws CorruptAnnotation when a field is missing or unreadable.
Version versionFromJson(const nlohmann::json& record, const VersionId& id);
// A version's boxes as its record holds them (the store service sends a label map's so).
nlohmann::json boxesToJson(const std::vector<Box>& boxes);
// Throws nlohmann::json::exception when a field is missing or of the wrong type.
std::vector<Box> boxesFromJson(const nlohmann::json& list);

} // namespace radmark::annotation
