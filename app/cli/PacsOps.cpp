#include "app/cli/PacsOps.h"

#include "app/cli/StoreAccess.h"
#include "imaging/deid/BurnedInText.h"
#include "pacs/DicomWebClient.h"
#include "storage/Permissions.h"

#include <set>

namespace radmark::cli {

using decoder::Message;
using decoder::MessageKind;
using nlohmann::json;

namespace {

constexpr storage::ImportStatus importStatuses[] = {
    storage::ImportStatus::Imported, storage::ImportStatus::AlreadyInStore,
    storage::ImportStatus::Quarantined, storage::ImportStatus::Failed,
    storage::ImportStatus::Cancelled};

storage::ImportStatus importStatusFromName(const std::string& name) {
    for (storage::ImportStatus status : importStatuses)
        if (name == storage::importStatusName(status))
            return status;
    throw std::invalid_argument("no such import status");
}

std::string profileText(const deid::ProfileOptions& profile) {
    std::string text;
    for (const std::string& name : profile.names())
        text += (text.empty() ? "" : ",") + name;
    if (!profile.cleanPixelData)
        text += ",no-clean-pixel-data";
    return text;
}

// ---------------------------------------------------------------------------------------------
// The client.

class ServicePacs final : public pacs::PacsAccess {
  public:
    explicit ServicePacs(SessionCall call) : call_(std::move(call)) {}

    std::vector<storage::PacsNode> nodes() override {
        const json answer = ask({{"op", "pacs-nodes"}});
        return pacsNodesFromJson(answer.value("nodes", json()));
    }
    bool connect(const std::string& node, const pacs::PasswordQuestion& askPassword) override {
        Message sent;
        sent.body = {{"op", "pacs-connect"}, {"node", node}};
        const json answer = call_(std::move(sent), answerProgress({}, askPassword)).body;
        return readOrRefuse<bool>("the service's answer to the connection is not readable",
                                  [&] { return answer.at("connected").get<bool>(); });
    }
    void echo(const std::string& node) override { ask({{"op", "pacs-echo"}, {"node", node}}); }
    std::vector<pacs::StudyRow> queryStudies(const std::string& node,
                                             const pacs::StudyQuery& query) override {
        const json answer =
            ask({{"op", "pacs-query"}, {"node", node}, {"query", pacs::studyQueryJson(query)}});
        return studyRowsFromJson(answer.value("studies", json()));
    }
    std::vector<pacs::SeriesRow> querySeries(const std::string& node,
                                             const std::string& studyUid) override {
        const json answer = ask({{"op", "pacs-series"}, {"node", node}, {"study", studyUid}});
        return seriesRowsFromJson(answer.value("series", json()));
    }
    storage::StudyImportResult retrieve(const std::string& node, const std::string& studyUid,
                                        const std::vector<std::string>& seriesUids,
                                        const storage::ImportOptions& options,
                                        const pacs::RetrieveProgress& progress) override {
        Message sent;
        sent.body = {{"op", "pacs-retrieve"},
                     {"node", node},
                     {"study", studyUid},
                     {"series", seriesUids},
                     {"profile", profileText(options.profile)}};
        const json answer = call_(std::move(sent), answerProgress(progress, {})).body;
        return importResultFromJson(answer.value("result", json()));
    }

  private:
    json ask(json body) {
        Message sent;
        sent.body = std::move(body);
        return call_(std::move(sent), {}).body;
    }

    SessionCall call_;
};

} // namespace

// ---------------------------------------------------------------------------------------------
// The values on the wire.

pacs::StudyQuery studyQueryFromJson(const json& j) {
    return readOrRefuse<pacs::StudyQuery>("the PACS query is not readable", [&] {
        pacs::StudyQuery q;
        q.patientId = j.at("patientId").get<std::string>();
        q.patientName = j.at("patientName").get<std::string>();
        q.accessionNumber = j.at("accessionNumber").get<std::string>();
        q.dateFrom = j.at("dateFrom").get<std::string>();
        q.dateTo = j.at("dateTo").get<std::string>();
        q.modality = j.at("modality").get<std::string>();
        q.studyDescription = j.at("studyDescription").get<std::string>();
        q.limit = j.at("limit").get<int>();
        return q;
    });
}

json studyRowsJson(const std::vector<pacs::StudyRow>& rows) {
    json out = json::array();
    for (const pacs::StudyRow& row : rows) {
        const pacs::StudyMatch& s = row.study;
        json stored = nullptr;
        if (row.stored)
            stored = {{"studyId", row.stored->studyId},
                      {"label", row.stored->label},
                      {"seriesUids", row.stored->storedSeriesUids}};
        out.push_back({{"studyUid", s.studyUid},
                       {"patientId", s.patientId},
                       {"patientName", s.patientName},
                       {"accessionNumber", s.accessionNumber},
                       {"studyDate", s.studyDate},
                       {"modalities", s.modalities},
                       {"description", s.description},
                       {"seriesCount", s.seriesCount},
                       {"instanceCount", s.instanceCount},
                       {"stored", std::move(stored)}});
    }
    return out;
}

std::vector<pacs::StudyRow> studyRowsFromJson(const json& rows) {
    return readOrRefuse<std::vector<pacs::StudyRow>>(
        "the service's PACS studies are not readable", [&] {
            std::vector<pacs::StudyRow> out;
            for (const json& j : rows.get_ref<const json::array_t&>()) {
                pacs::StudyRow row;
                pacs::StudyMatch& s = row.study;
                s.studyUid = j.at("studyUid").get<std::string>();
                s.patientId = j.at("patientId").get<std::string>();
                s.patientName = j.at("patientName").get<std::string>();
                s.accessionNumber = j.at("accessionNumber").get<std::string>();
                s.studyDate = j.at("studyDate").get<std::string>();
                s.modalities = j.at("modalities").get<std::string>();
                s.description = j.at("description").get<std::string>();
                s.seriesCount = j.at("seriesCount").get<int>();
                s.instanceCount = j.at("instanceCount").get<int>();
                const json& stored = j.at("stored");
                if (!stored.is_null()) {
                    storage::StoredSourceStudy found;
                    found.studyId = stored.at("studyId").get<std::int64_t>();
                    found.label = stored.at("label").get<std::string>();
                    found.storedSeriesUids =
                        stored.at("seriesUids").get<std::vector<std::string>>();
                    row.stored = std::move(found);
                }
                out.push_back(std::move(row));
            }
            return out;
        });
}

json seriesRowsJson(const std::vector<pacs::SeriesRow>& rows) {
    json out = json::array();
    for (const pacs::SeriesRow& row : rows)
        out.push_back({{"seriesUid", row.series.seriesUid},
                       {"modality", row.series.modality},
                       {"description", row.series.description},
                       {"seriesNumber", row.series.seriesNumber},
                       {"instanceCount", row.series.instanceCount},
                       {"stored", row.stored}});
    return out;
}

std::vector<pacs::SeriesRow> seriesRowsFromJson(const json& rows) {
    return readOrRefuse<std::vector<pacs::SeriesRow>>(
        "the service's PACS series are not readable", [&] {
            std::vector<pacs::SeriesRow> out;
            for (const json& j : rows.get_ref<const json::array_t&>()) {
                pacs::SeriesRow row;
                row.series.seriesUid = j.at("seriesUid").get<std::string>();
                row.series.modality = j.at("modality").get<std::string>();
                row.series.description = j.at("description").get<std::string>();
                row.series.seriesNumber = j.at("seriesNumber").get<std::string>();
                row.series.instanceCount = j.at("instanceCount").get<int>();
                row.stored = j.at("stored").get<bool>();
                out.push_back(std::move(row));
            }
            return out;
        });
}

json importResultJson(const storage::StudyImportResult& r) {
    return {{"status", storage::importStatusName(r.status)},
            {"source", r.source.string()},
            {"studyId", r.studyId},
            {"label", r.label},
            {"format", r.format},
            {"seriesCount", r.seriesCount},
            {"fileCount", r.fileCount},
            {"reason", r.reason},
            {"warnings", r.warnings}};
}

storage::StudyImportResult importResultFromJson(const json& j) {
    return readOrRefuse<storage::StudyImportResult>(
        "the service's import result is not readable", [&] {
            storage::StudyImportResult r;
            r.status = importStatusFromName(j.at("status").get<std::string>());
            r.source = j.at("source").get<std::string>();
            r.studyId = j.at("studyId").get<std::int64_t>();
            r.label = j.at("label").get<std::string>();
            r.format = j.at("format").get<std::string>();
            r.seriesCount = j.at("seriesCount").get<int>();
            r.fileCount = j.at("fileCount").get<int>();
            r.reason = j.at("reason").get<std::string>();
            r.warnings = j.at("warnings").get<std::vector<std::string>>();
            return r;
        });
}

json pacsNodesJson(const std::vector<storage::PacsNode>& nodes) {
    json out = json::array();
    for (const storage::PacsNode& n : nodes) {
        json dimse = nullptr;
        if (n.dimse)
            dimse = {{"aeTitle", n.dimse->aeTitle},  {"host", n.dimse->host},
                     {"port", n.dimse->port},        {"callingAe", n.dimse->callingAe},
                     {"move", n.dimse->move},        {"moveAeTitle", n.dimse->moveAeTitle},
                     {"movePort", n.dimse->movePort}};
        out.push_back({{"name", n.name},
                       {"dicomwebUrl", n.dicomwebUrl},
                       {"preferred", n.preferred},
                       {"plainHttpAllowed", n.plainHttpAllowed},
                       {"caBundle", n.caBundle.string()},
                       {"credentialsFile", n.credentialsFile.string()},
                       {"user", n.user},
                       {"dimse", std::move(dimse)}});
    }
    return out;
}

std::vector<storage::PacsNode> pacsNodesFromJson(const json& nodes) {
    return readOrRefuse<std::vector<storage::PacsNode>>(
        "the service's PACS nodes are not readable", [&] {
            std::vector<storage::PacsNode> out;
            for (const json& j : nodes.get_ref<const json::array_t&>()) {
                storage::PacsNode n;
                n.name = j.at("name").get<std::string>();
                n.dicomwebUrl = j.at("dicomwebUrl").get<std::string>();
                n.preferred = j.at("preferred").get<bool>();
                n.plainHttpAllowed = j.at("plainHttpAllowed").get<bool>();
                n.caBundle = j.at("caBundle").get<std::string>();
                n.credentialsFile = j.at("credentialsFile").get<std::string>();
                n.user = j.at("user").get<std::string>();
                const json& d = j.at("dimse");
                if (!d.is_null())
                    n.dimse = storage::DimseNode{d.at("aeTitle").get<std::string>(),
                                                 d.at("host").get<std::string>(),
                                                 d.at("port").get<int>(),
                                                 d.at("callingAe").get<std::string>(),
                                                 d.at("move").get<bool>(),
                                                 d.at("moveAeTitle").get<std::string>(),
                                                 d.at("movePort").get<int>()};
                out.push_back(std::move(n));
            }
            return out;
        });
}

std::unique_ptr<pacs::PacsAccess> servicePacs(SessionCall call) {
    return std::make_unique<ServicePacs>(std::move(call));
}

// ---------------------------------------------------------------------------------------------
// The worker.

std::optional<Message> pacsReply(storage::Session& session, PacsWorkerState& state,
                                 const Message& request, int channel) {
    const json& body = request.body;
    const std::string op = body.value("op", std::string());
    // Every request of a session passes here: the others go on at once.
    static const std::set<std::string> ops = {"pacs-nodes", "pacs-connect", "pacs-echo",
                                              "pacs-query", "pacs-series",  "pacs-retrieve"};
    if (!ops.count(op))
        return std::nullopt;
    // The role first, so that a refusal is logged whatever else the request holds (the words
    // of the in-process call behind the op).
    storage::require(session, storage::Action::ImportStudy,
                     op == "pacs-echo"       ? "PACS echo"
                     : op == "pacs-retrieve" ? "PACS retrieve"
                                             : "PACS query");
    if (!state.access)
        state.access = pacs::sessionPacs(session);
    pacs::PacsAccess& access = *state.access;
    try {
        if (op == "pacs-nodes")
            return replyMessage({{"nodes", pacsNodesJson(access.nodes())}});
        const std::string node = body.at("node").get<std::string>();
        if (op == "pacs-connect") {
            ProgressChannel asked(channel);
            const bool connected = access.connect(
                node, [&](const std::string& prompt) { return asked.askPassword(prompt); });
            return replyMessage({{"connected", connected}});
        }
        if (op == "pacs-echo") {
            access.echo(node);
            return replyMessage();
        }
        if (op == "pacs-query")
            return replyMessage({{"studies", studyRowsJson(access.queryStudies(
                                                 node, studyQueryFromJson(body.at("query"))))}});
        const std::string study = body.at("study").get<std::string>();
        if (op == "pacs-series")
            return replyMessage({{"series", seriesRowsJson(access.querySeries(node, study))}});
        // pacs-retrieve
        storage::ImportOptions options;
        try {
            options.profile = deid::ProfileOptions::parse(body.at("profile").get<std::string>());
        } catch (const deid::ProfileError& e) {
            throw StoreAccessError(std::string("the retrieve's options are not readable: ") +
                                   e.what());
        }
        if (!state.ocrTried && state.makeOcr) {
            state.ocrTried = true;
            try {
                state.ocr = state.makeOcr();
            } catch (const std::exception&) {
                // Without OCR, images that may hold burned-in text are quarantined.
            }
        }
        options.textDetector = state.ocr.get();
        ProgressChannel notes(channel);
        const storage::StudyImportResult result =
            access.retrieve(node, study, body.at("series").get<std::vector<std::string>>(), options,
                            [&](double fraction, const std::string& stage) {
                                return notes.progress(fraction, stage);
                            });
        return replyMessage({{"result", importResultJson(result)}});
    } catch (const nlohmann::json::exception&) {
        throw StoreAccessError("the " + op + " request is not readable");
    }
}

} // namespace radmark::cli
