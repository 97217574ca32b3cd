#pragma once
// Import from a PACS (Import > From PACS, `radmark-cli pacs`): the node from the site policy, its
// credentials, the query with its access-log entry, "already in store" before anything is
// retrieved, and the retrieve of one study whose instances, held in sealed memfds, go through
// the same import as a folder (storage::importHeldInstances). Admin only. docs/pacs.md.

#include "pacs/DicomWebClient.h"
#include "pacs/PacsClient.h"
#include "storage/Policy.h"
#include "storage/StudyImport.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace radmark::storage {
class Session;
}

namespace radmark::pacs {

// The nodes of the policy, the preferred one first.
std::vector<storage::PacsNode> pacsNodes(const storage::Policy& policy);
// The node of that name; throws PacsError ("no PACS node named ... in the site policy").
storage::PacsNode pacsNode(const storage::Policy& policy, const std::string& name);

// The node's credentials: its credentials file (username=/password= or token= lines; a regular
// file owned by root or this user that no one else may read), else the password of its "user",
// asked through askPassword (prompt → password), else none. Throws PacsError.
using AskPassword = std::function<std::string(const std::string& prompt)>;
Credentials credentialsFor(const storage::PacsNode& node, const AskPassword& askPassword);

// A client for the node (DICOMweb or DIMSE, both through radmark-pacs-fetch).
std::unique_ptr<PacsClient> clientFor(const storage::PacsNode& node,
                                      const Credentials& credentials);

// The keyed hash (the store's de-identification secret) of one typed query value, as the access
// log records it: "who looked for this patient" is answered by hashing the value again.
std::string queryValueHash(storage::Session& session, const std::string& field,
                           const std::string& value);

// Whether the node answers (C-ECHO, or a one-study DICOMweb query): logged ("pacs echo", the
// node, ok or the reason). Throws PacsError.
void echoNode(storage::Session& session, PacsClient& client, const std::string& nodeName);

// A study match with what the store already holds of it.
struct StudyRow {
    StudyMatch study;
    std::optional<storage::StoredSourceStudy> stored;
};

// Query: logged ("pacs query", the node, the keyed hashes of the values typed, the count found).
std::vector<StudyRow> queryStudies(storage::Session& session, PacsClient& client,
                                   const std::string& nodeName, const StudyQuery& query);

struct SeriesRow {
    SeriesMatch series;
    bool stored = false;
};
std::vector<SeriesRow> querySeries(storage::Session& session, PacsClient& client,
                                   const std::string& studyUid);

// fraction in [0, 1] of this study and what is being done; false cancels.
using RetrieveProgress = std::function<bool(double fraction, const std::string& stage)>;

// Retrieves the study's series (all of them when seriesUids is empty; those already stored are
// not retrieved again) and imports them. A retrieve that stops half-way stores nothing of the
// study and says so in the result; a study whose series are all stored is not retrieved.
// Logged ("pacs retrieve": the node, the instances received, what was imported).
storage::StudyImportResult retrieveStudy(storage::Session& session, PacsClient& client,
                                         const std::string& nodeName, const std::string& studyUid,
                                         const std::vector<std::string>& seriesUids,
                                         const storage::ImportOptions& options = {},
                                         const RetrieveProgress& progress = {});

} // namespace radmark::pacs
