#pragma once
// Import from PACS on the store service's session channel (StoreAccess::pacs: the admin's Import
// from PACS on a shared workstation): the client, which sends each call as a request, and the
// worker's answer, which runs pacs::sessionPacs on her session (the in-process calls: their
// refusals and access-log entries, the query's values as keyed hashes). The worker keeps the
// node's client between a session's requests, as the dialog does in-process.
//
// Ops: pacs-nodes, pacs-connect (node; a node whose user's password is asked: a Progress
// message {ask: prompt}, answered by the client's request {op: answer, given} with the
// password in a sealed memfd), pacs-echo (node), pacs-query (node, query), pacs-series (node,
// study), and pacs-retrieve (node, study, series, profile):
//   - Progress messages {stage, fraction} follow the retrieve; the client's request
//     {op: cancel} stops it at the next one (as Cancel in-process; a client gone cancels too),
//     and nothing of the study is stored;
//   - the reply {result}; the worker reads burned-in text with its own OCR.
// The admin's role is checked before the request is read, so every refusal is logged.

#include "app/cli/SessionChannel.h"
#include "pacs/PacsAccess.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <optional>

namespace radmark::deid {
class TextDetector;
}

namespace radmark::cli {

// Each *FromJson throws StoreAccessError on a damaged value (the query's writer is
// pacs::studyQueryJson, what the fetcher reads).
pacs::StudyQuery studyQueryFromJson(const nlohmann::json& query);
nlohmann::json studyRowsJson(const std::vector<pacs::StudyRow>& rows);
std::vector<pacs::StudyRow> studyRowsFromJson(const nlohmann::json& rows);
nlohmann::json seriesRowsJson(const std::vector<pacs::SeriesRow>& rows);
std::vector<pacs::SeriesRow> seriesRowsFromJson(const nlohmann::json& rows);
nlohmann::json importResultJson(const storage::StudyImportResult& result);
storage::StudyImportResult importResultFromJson(const nlohmann::json& result);
nlohmann::json pacsNodesJson(const std::vector<storage::PacsNode>& nodes);
std::vector<storage::PacsNode> pacsNodesFromJson(const nlohmann::json& nodes);

// The client: each call one request through `call`.
std::unique_ptr<pacs::PacsAccess> servicePacs(SessionCall call);

// What a session's worker keeps for PACS between requests: the nodes' clients, and the OCR
// made at the first retrieve by makeOcr (none: images that may hold burned-in text are
// quarantined, as in-process without OCR).
struct PacsWorkerState {
    std::unique_ptr<pacs::PacsAccess> access; // sessionPacs, made at the first op
    std::function<std::unique_ptr<deid::TextDetector>()> makeOcr;
    std::shared_ptr<deid::TextDetector> ocr;
    bool ocrTried = false;
};

// The worker's reply to a PACS op of the session, or none when request is not one. Progress
// messages, the password question and their answers use channel before the reply. Throws the
// store's refusals and the PACS's errors as the in-process calls do.
std::optional<decoder::Message> pacsReply(storage::Session& session, PacsWorkerState& state,
                                          const decoder::Message& request, int channel);

} // namespace radmark::cli
