#include "pacs/PacsAccess.h"

#include "storage/Session.h"
#include "storage/Store.h"

#include <map>

namespace radmark::pacs {

namespace {

class SessionPacs final : public PacsAccess {
  public:
    explicit SessionPacs(storage::Session& session) : session_(session) {}

    std::vector<storage::PacsNode> nodes() override { return pacsNodes(session_.store().policy()); }
    bool connect(const std::string& nodeName, const PasswordQuestion& askPassword) override {
        const storage::PacsNode node = pacsNode(session_.store().policy(), nodeName);
        bool given = true;
        AskPassword ask;
        if (askPassword)
            ask = [&](const std::string& prompt) {
                std::optional<std::string> password = askPassword(prompt);
                given = password.has_value();
                return password.value_or(std::string());
            };
        const Credentials credentials = credentialsFor(node, ask);
        if (!given)
            return false;
        clients_[node.name] = clientFor(node, credentials);
        return true;
    }
    void echo(const std::string& node) override { echoNode(session_, client(node), node); }
    std::vector<StudyRow> queryStudies(const std::string& node, const StudyQuery& query) override {
        return pacs::queryStudies(session_, client(node), node, query);
    }
    std::vector<SeriesRow> querySeries(const std::string& node,
                                       const std::string& studyUid) override {
        return pacs::querySeries(session_, client(node), studyUid);
    }
    storage::StudyImportResult retrieve(const std::string& node, const std::string& studyUid,
                                        const std::vector<std::string>& seriesUids,
                                        const storage::ImportOptions& options,
                                        const RetrieveProgress& progress) override {
        return retrieveStudy(session_, client(node), node, studyUid, seriesUids, options, progress);
    }

  private:
    PacsClient& client(const std::string& node) {
        auto found = clients_.find(node);
        if (found == clients_.end()) {
            connect(node, {});
            found = clients_.find(node);
        }
        return *found->second;
    }

    storage::Session& session_;
    std::map<std::string, std::unique_ptr<PacsClient>> clients_;
};

} // namespace

std::unique_ptr<PacsAccess> sessionPacs(storage::Session& session) {
    return std::make_unique<SessionPacs>(session);
}

} // namespace radmark::pacs
