#pragma once
// The admin's dataset calls (Admin > Datasets and Export dataset) as one interface, so that the
// same dialogs work on this process's session (a personal store: sessionDatasets) and through
// the store service of a shared workstation (cli::StoreAccess::datasets, whose worker runs these
// same calls). Each throws the store's refusal in its words and logs what the calls behind it
// log (workflow/Datasets.h, workflow/DatasetExport.h).

#include "workflow/DatasetExport.h"
#include "workflow/Datasets.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace radmark::workflow {

// What freezing did: the revision (new, or the existing one of an unchanged dataset).
struct FreezeOutcome {
    storage::RevisionSummary revision;
    bool existing = false;
};

class DatasetAdministration {
  public:
    virtual ~DatasetAdministration() = default;
    virtual std::vector<storage::DatasetSummary> list() = 0;
    virtual storage::DatasetSummary create(const std::string& name, std::optional<int> number,
                                           const std::string& purpose) = 0;
    virtual void setPurpose(const std::string& name, const std::string& purpose) = 0;
    virtual DatasetOverview show(const std::string& name) = 0;
    virtual std::vector<CandidateStudy> candidates() = 0;
    virtual void addStudies(const std::string& name, const std::vector<std::string>& studies,
                            const std::optional<std::string>& version) = 0;
    virtual void removeStudy(const std::string& name, const std::string& study) = 0;
    virtual void chooseVersion(const std::string& name, const std::string& study,
                               const std::optional<std::string>& version) = 0;
    virtual void split(const std::string& name, const storage::SplitSettings& settings) = 0;
    // The file's bytes, read by the caller (fileName without folders).
    virtual storage::ProtocolVersion setProtocol(const std::string& name,
                                                 const std::string& fileName,
                                                 const storage::Bytes& content) = 0;
    virtual void mapSegmentName(const std::string& name,
                                const storage::SegmentNameMapping& mapping) = 0;
    virtual void unmapSegmentName(const std::string& name, const std::string& segmentName) = 0;
    virtual FreezeOutcome freeze(const std::string& name) = 0;

    // The policy's destinations with the decision whether each can be written to now.
    virtual std::vector<ExportDestination> destinations() = 0;
    // exportDataset: progress may be called on another thread and cancels by returning false;
    // askPassword is asked for a share without a credentials file. Through the service the
    // worker draws the datasheet (request.renderPdf is not used) and reads the recipient files
    // the client read for it.
    virtual ExportResult exportDataset(const ExportRequest& request,
                                       const delivery::PasswordPrompt& askPassword,
                                       const ExportProgress& progress) = 0;
};

// On this session (kept by the caller while the result is used).
std::unique_ptr<DatasetAdministration> sessionDatasets(storage::Session& session);

} // namespace radmark::workflow
