#pragma once
// The DICOM JSON model (PS3.18 F.2) of a QIDO-RS answer reduced to the few strings the query
// dialog shows. The text comes from the PACS and is untrusted: it is parsed in
// radmark-pacs-fetch, each value is cut to 256 characters without control characters, a UID that
// is not digits and dots drops its study or series, and only this plain JSON crosses to the
// caller.

#include <nlohmann/json.hpp>

#include <string>

namespace radmark::pacs {

// [{"studyUid", "patientId", "patientName", "accessionNumber", "studyDate", "modalities",
//   "description", "seriesCount", "instanceCount"}]; throws std::runtime_error on bad JSON.
nlohmann::json studiesFromDicomJson(const std::string& text);
// [{"seriesUid", "modality", "description", "seriesNumber", "instanceCount"}]
nlohmann::json seriesFromDicomJson(const std::string& text);

} // namespace radmark::pacs
