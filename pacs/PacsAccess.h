#pragma once
// Import from a PACS as one interface, so that the same Import from PACS dialog works on this
// process's session (a personal store: sessionPacs) and through the store service of a shared
// workstation (cli::StoreAccess::pacs, whose worker runs sessionPacs on her session). Each call
// refuses and logs as pacs/PacsImport.h's functions do (the query's values as keyed hashes).

#include "pacs/PacsImport.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace radmark::pacs {

// The password of a node's user, asked of her (prompt: whose, at which node); none: she did
// not give one.
using PasswordQuestion = std::function<std::optional<std::string>(const std::string& prompt)>;

class PacsAccess {
  public:
    virtual ~PacsAccess() = default;
    // The policy's nodes, the preferred one first.
    virtual std::vector<storage::PacsNode> nodes() = 0;
    // Makes the node's client and keeps it for the calls on that node: its credentials file,
    // else the password of its user asked through askPassword, else none. False when she gave
    // no password. A call on a node not connected connects without asking. Throws PacsError.
    virtual bool connect(const std::string& node, const PasswordQuestion& askPassword) = 0;
    // Whether the node answers (pacs::echoNode). Throws PacsError.
    virtual void echo(const std::string& node) = 0;
    virtual std::vector<StudyRow> queryStudies(const std::string& node,
                                               const StudyQuery& query) = 0;
    virtual std::vector<SeriesRow> querySeries(const std::string& node,
                                               const std::string& studyUid) = 0;
    // pacs::retrieveStudy: progress may be called on another thread and cancels by returning
    // false (nothing of the study is stored). Through the service only options.profile crosses:
    // the worker reads burned-in text with its own OCR.
    virtual storage::StudyImportResult retrieve(const std::string& node,
                                                const std::string& studyUid,
                                                const std::vector<std::string>& seriesUids,
                                                const storage::ImportOptions& options,
                                                const RetrieveProgress& progress) = 0;
};

// On this session (kept by the caller while the result is used).
std::unique_ptr<PacsAccess> sessionPacs(storage::Session& session);

} // namespace radmark::pacs
