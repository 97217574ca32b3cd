#include "workflow/DatasetAdministration.h"

namespace radmark::workflow {

namespace {

class SessionDatasets final : public DatasetAdministration {
  public:
    explicit SessionDatasets(storage::Session& session) : session_(session) {}

    std::vector<storage::DatasetSummary> list() override { return listDatasets(session_); }
    storage::DatasetSummary create(const std::string& name, std::optional<int> number,
                                   const std::string& purpose) override {
        return createDataset(session_, name, number, purpose);
    }
    void setPurpose(const std::string& name, const std::string& purpose) override {
        setDatasetPurpose(session_, name, purpose);
    }
    DatasetOverview show(const std::string& name) override { return showDataset(session_, name); }
    std::vector<CandidateStudy> candidates() override { return candidateStudies(session_); }
    void addStudies(const std::string& name, const std::vector<std::string>& studies,
                    const std::optional<std::string>& version) override {
        workflow::addStudies(session_, name, studies, version);
    }
    void removeStudy(const std::string& name, const std::string& study) override {
        workflow::removeStudy(session_, name, study);
    }
    void chooseVersion(const std::string& name, const std::string& study,
                       const std::optional<std::string>& version) override {
        workflow::chooseVersion(session_, name, study, version);
    }
    void split(const std::string& name, const storage::SplitSettings& settings) override {
        splitDataset(session_, name, settings);
    }
    storage::ProtocolVersion setProtocol(const std::string& name, const std::string& fileName,
                                         const storage::Bytes& content) override {
        return workflow::setProtocol(session_, name, fileName, content);
    }
    void mapSegmentName(const std::string& name,
                        const storage::SegmentNameMapping& mapping) override {
        workflow::mapSegmentName(session_, name, mapping);
    }
    void unmapSegmentName(const std::string& name, const std::string& segmentName) override {
        workflow::unmapSegmentName(session_, name, segmentName);
    }
    FreezeOutcome freeze(const std::string& name) override {
        const storage::FrozenRevision frozen = freezeRevision(session_, name);
        const storage::DatasetRevision& r = frozen.revision;
        return {{r.id, r.revision, r.contentHash, r.parentRevision, r.frozen, r.frozenBy,
                 int(r.cases.size())},
                frozen.existing};
    }
    std::vector<ExportDestination> destinations() override { return exportDestinations(session_); }
    ExportResult exportDataset(const ExportRequest& request,
                               const delivery::PasswordPrompt& askPassword,
                               const ExportProgress& progress) override {
        return workflow::exportDataset(session_, request, {}, askPassword, progress);
    }

  private:
    storage::Session& session_;
};

} // namespace

std::unique_ptr<DatasetAdministration> sessionDatasets(storage::Session& session) {
    return std::make_unique<SessionDatasets>(session);
}

} // namespace radmark::workflow
