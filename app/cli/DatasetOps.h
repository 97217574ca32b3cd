#pragma once
// The admin's dataset calls on the store service's session channel (StoreAccess::datasets: Admin
// > Datasets and Export dataset on a shared workstation): the client, which sends each call as a
// request, and the worker's answer, which runs workflow::sessionDatasets on her session (the
// in-process calls: their refusals and access-log entries).
//
// Ops: datasets, dataset-create (name, number, purpose), dataset-purpose, dataset-show (the
// overview as `dataset show --json` writes it), dataset-candidates, dataset-add (studies,
// version), dataset-remove (study), dataset-version (study, version), dataset-split (settings),
// dataset-protocol (fileName; the bytes in a sealed memfd), dataset-map (mapping),
// dataset-unmap (segment), dataset-freeze, export-destinations, and export:
//   - the request names the dataset, the destination, the formats and the age recipients; each
//     recipients file the client read crosses as a sealed memfd (the worker opens no path);
//   - Progress messages {stage, fraction} follow the export; the client's request {op: cancel}
//     stops it at the next stage (as Cancel in-process; a client that went away cancels too);
//   - a share without a credentials file: a Progress message {ask: question}, answered by the
//     client's request {op: answer, given} with the password in a sealed memfd;
//   - the reply {result}; the worker draws the datasheet's PDF.

#include "app/cli/SessionChannel.h"
#include "workflow/DatasetAdministration.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <optional>

namespace radmark::cli {

// Each *FromJson throws StoreAccessError on a damaged value.
nlohmann::json exportRequestJson(const workflow::ExportRequest& request);
workflow::ExportRequest exportRequestFromJson(const nlohmann::json& request);
nlohmann::json exportResultJson(const workflow::ExportResult& result);
workflow::ExportResult exportResultFromJson(const nlohmann::json& result);
// A destination as the export dialog shows it: name, kind, location and the decision.
nlohmann::json exportDestinationsJson(const std::vector<workflow::ExportDestination>& list);
std::vector<workflow::ExportDestination> exportDestinationsFromJson(const nlohmann::json& list);

// The client: each call one request through `call`.
std::unique_ptr<workflow::DatasetAdministration> serviceDatasets(SessionCall call);

// The worker's reply to a dataset or export op of the session, or none when request is not
// one. Progress messages, questions and their answers use channel before the reply. renderPdf
// draws the datasheet. Throws the store's refusals as the in-process calls do.
std::optional<decoder::Message> datasetReply(storage::Session& session,
                                             const decoder::Message& request, int channel,
                                             const workflow::PdfRenderer& renderPdf);

} // namespace radmark::cli
