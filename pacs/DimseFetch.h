#pragma once
// The DIMSE side of radmark-pacs-fetch (the keyless process that speaks to the PACS): C-ECHO,
// C-FIND at study and series level, and the retrieve of a series by C-GET or by C-MOVE to a
// storage SCP this process runs for the time of the retrieve, through DCMTK's dcmnet (DcmSCU,
// DcmSCP). Each received dataset is written as a Part-10 stream into a memfd, sealed and handed
// on: never a file. The C-FIND answers are reduced to the same few bounded strings as a QIDO-RS
// answer (pacs/DicomJson.h). Linked into radmark-pacs-fetch only (docs/pacs.md).

#include "imaging/decoder/Channel.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <functional>
#include <string>

namespace radmark::pacs::dimse {

// Why a request failed: kind is refused, unreachable, protocol, notfound or other (as the
// DICOMweb side's), message one line without patient values.
struct Failure {
    std::string kind;
    std::string message;
};

// A received instance, sealed: sent on by the caller (a progress message with the memfd).
using InstanceOut = std::function<void(decoder::UniqueFd instance, std::size_t bytes)>;

// DCMTK made ready before the fetcher's sandbox (FetchSandbox.h): its loggers off, its data
// dictionary read. Safe to call again (each request does). Throws Failure when the dictionary is
// missing.
void initialise();

// Each takes the request of the channel: {"dimse": {aeTitle, host, port, callingAe, move,
// moveAeTitle, movePort}, "stallSeconds", ...}. Throws Failure.
nlohmann::json echo(const nlohmann::json& request);
nlohmann::json queryStudies(const nlohmann::json& request);  // {"studies": [...]}
nlohmann::json querySeries(const nlohmann::json& request);   // {"series": [...]}
nlohmann::json retrieveSeries(const nlohmann::json& request, const InstanceOut& out);

} // namespace radmark::pacs::dimse
