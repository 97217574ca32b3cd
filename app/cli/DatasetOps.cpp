#include "app/cli/DatasetOps.h"

#include "app/cli/AdminOps.h"
#include "app/cli/StoreAccess.h"
#include "delivery/Errors.h"
#include "storage/Permissions.h"
#include "workflow/DatasetJson.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

namespace radmark::cli {

using decoder::Message;
using decoder::MessageKind;
using nlohmann::json;

namespace {

constexpr std::size_t maxRecipientsFiles = 4;
constexpr std::size_t maxRecipientsBytes = 1 << 16;
constexpr std::size_t maxProtocolBytes = std::size_t(64) << 20;

// ---------------------------------------------------------------------------------------------
// The client.

class ServiceDatasets final : public workflow::DatasetAdministration {
  public:
    explicit ServiceDatasets(SessionCall call) : call_(std::move(call)) {}

    std::vector<storage::DatasetSummary> list() override {
        return readOrRefuse<std::vector<storage::DatasetSummary>>(
            "the service's datasets list is not readable", [&] {
                return workflow::datasetSummariesFromJson(ask({{"op", "datasets"}}).at("datasets"));
            });
    }
    storage::DatasetSummary create(const std::string& name, std::optional<int> number,
                                   const std::string& purpose) override {
        json body = {{"op", "dataset-create"}, {"name", name}, {"purpose", purpose}};
        if (number)
            body["number"] = *number;
        const json answer = ask(std::move(body));
        return readOrRefuse<storage::DatasetSummary>(
            "the service's new dataset is not readable", [&] {
                return workflow::datasetSummariesFromJson(json::array({answer.at("dataset")}))
                    .front();
            });
    }
    void setPurpose(const std::string& name, const std::string& purpose) override {
        ask({{"op", "dataset-purpose"}, {"name", name}, {"purpose", purpose}});
    }
    workflow::DatasetOverview show(const std::string& name) override {
        const json answer = ask({{"op", "dataset-show"}, {"name", name}});
        return readOrRefuse<workflow::DatasetOverview>(
            "the service's dataset overview is not readable",
            [&] { return workflow::overviewFromJson(answer.at("overview").get<std::string>()); });
    }
    std::vector<workflow::CandidateStudy> candidates() override {
        const json answer = ask({{"op", "dataset-candidates"}});
        return readOrRefuse<std::vector<workflow::CandidateStudy>>(
            "the service's studies are not readable",
            [&] { return workflow::candidateStudiesFromJson(answer.at("studies")); });
    }
    void addStudies(const std::string& name, const std::vector<std::string>& studies,
                    const std::optional<std::string>& version) override {
        json body = {{"op", "dataset-add"}, {"name", name}, {"studies", studies}};
        if (version)
            body["version"] = *version;
        ask(std::move(body));
    }
    void removeStudy(const std::string& name, const std::string& study) override {
        ask({{"op", "dataset-remove"}, {"name", name}, {"study", study}});
    }
    void chooseVersion(const std::string& name, const std::string& study,
                       const std::optional<std::string>& version) override {
        json body = {{"op", "dataset-version"}, {"name", name}, {"study", study}};
        if (version)
            body["version"] = *version;
        ask(std::move(body));
    }
    void split(const std::string& name, const storage::SplitSettings& settings) override {
        ask({{"op", "dataset-split"},
             {"name", name},
             {"settings", workflow::splitSettingsJson(settings)}});
    }
    // The protocol's bytes cross in a sealed memfd.
    storage::ProtocolVersion setProtocol(const std::string& name, const std::string& fileName,
                                         const storage::Bytes& content) override {
        Message sent;
        sent.body = {{"op", "dataset-protocol"}, {"name", name}, {"fileName", fileName}};
        sent.fds.push_back(
            decoder::memfdWithBytes("radmark-protocol", content.data(), content.size()));
        const json answer = call_(std::move(sent), {}).body;
        return readOrRefuse<storage::ProtocolVersion>(
            "the service's protocol version is not readable",
            [&] { return workflow::protocolVersionFromJson(answer.at("protocol")); });
    }
    void mapSegmentName(const std::string& name,
                        const storage::SegmentNameMapping& mapping) override {
        ask({{"op", "dataset-map"},
             {"name", name},
             {"mapping", workflow::segmentNameMappingJson(mapping)}});
    }
    void unmapSegmentName(const std::string& name, const std::string& segmentName) override {
        ask({{"op", "dataset-unmap"}, {"name", name}, {"segment", segmentName}});
    }
    workflow::FreezeOutcome freeze(const std::string& name) override {
        const json answer = ask({{"op", "dataset-freeze"}, {"name", name}});
        return readOrRefuse<workflow::FreezeOutcome>(
            "the service's frozen revision is not readable", [&] {
                return workflow::FreezeOutcome{
                    workflow::revisionSummaryFromJson(answer.at("revision")),
                    answer.at("existing").get<bool>()};
            });
    }
    std::vector<workflow::ExportDestination> destinations() override {
        return exportDestinationsFromJson(
            ask({{"op", "export-destinations"}}).value("destinations", json()));
    }
    // Progress notes go to progress; when it says stop, one cancel goes back. A question about
    // a share's password goes to askPassword, whose answer crosses in a sealed memfd.
    workflow::ExportResult exportDataset(const workflow::ExportRequest& request,
                                         const delivery::PasswordPrompt& askPassword,
                                         const workflow::ExportProgress& progress) override {
        if (request.ageRecipientFiles.size() > maxRecipientsFiles)
            throw StoreAccessError("at most " + std::to_string(maxRecipientsFiles) +
                                   " recipients files");
        Message sent;
        sent.body = {{"op", "export"}, {"request", exportRequestJson(request)}};
        for (const std::string& file : request.ageRecipientFiles) {
            std::ifstream in(file, std::ios::binary);
            std::string text;
            if (in)
                text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
            if (!in && !in.eof())
                throw StoreAccessError("the recipients file " + file + " cannot be read");
            if (text.size() > maxRecipientsBytes)
                throw StoreAccessError("the recipients file " + file + " is larger than 64 KiB");
            sent.fds.push_back(
                decoder::memfdWithBytes("radmark-recipients", text.data(), text.size()));
        }
        const json answer = call_(std::move(sent), answerProgress(progress, askPassword)).body;
        return exportResultFromJson(answer.value("result", json()));
    }

  private:
    json ask(json body) {
        Message sent;
        sent.body = std::move(body);
        return call_(std::move(sent), {}).body;
    }

    SessionCall call_;
};

// ---------------------------------------------------------------------------------------------
// The worker.

// Private copies of the recipients files the client read, for age, removed at the end.
class RecipientFiles {
  public:
    explicit RecipientFiles(const Message& request) {
        if (request.fds.empty())
            return;
        if (request.fds.size() > maxRecipientsFiles)
            throw StoreAccessError("at most " + std::to_string(maxRecipientsFiles) +
                                   " recipients files");
        const char* tmp = std::getenv("TMPDIR");
        std::string pattern =
            std::string(tmp && *tmp ? tmp : "/tmp") + "/radmark-recipients-XXXXXX";
        if (!::mkdtemp(pattern.data()))
            throw StoreAccessError("the service cannot keep the recipients files");
        folder_ = pattern;
        for (std::size_t k = 0; k < request.fds.size(); ++k) {
            const storage::Bytes bytes =
                bytesFromMemfd(request.fds[k].get(), maxRecipientsBytes, "recipients file");
            const std::filesystem::path file = folder_ / ("recipients-" + std::to_string(k));
            std::ofstream out(file, std::ios::binary);
            out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
            if (!out.flush())
                throw StoreAccessError("the service cannot keep the recipients files");
            files_.push_back(file.string());
        }
    }
    RecipientFiles(const RecipientFiles&) = delete;
    RecipientFiles& operator=(const RecipientFiles&) = delete;
    ~RecipientFiles() {
        if (!folder_.empty()) {
            std::error_code ignored;
            std::filesystem::remove_all(folder_, ignored);
        }
    }
    const std::vector<std::string>& files() const { return files_; }

  private:
    std::filesystem::path folder_;
    std::vector<std::string> files_;
};

storage::Action actionOf(const std::string& op) {
    if (op == "dataset-create")
        return storage::Action::CreateDataset;
    if (op == "dataset-freeze")
        return storage::Action::FreezeDatasetRevision;
    if (op == "export")
        return storage::Action::RecordDatasetExport;
    if (op == "datasets" || op == "dataset-show" || op == "dataset-candidates" ||
        op == "export-destinations")
        return storage::Action::ReadDatasets;
    return storage::Action::EditDataset;
}

} // namespace

// ---------------------------------------------------------------------------------------------
// The values on the wire.

json exportRequestJson(const workflow::ExportRequest& r) {
    return {{"dataset", r.dataset},
            {"destination", r.destination},
            {"formats",
             {{"nnunet", r.formats.nnunet},
              {"dicomSeg", r.formats.dicomSeg},
              {"boxes", r.formats.boxes}}},
            {"recipients", r.ageRecipients}};
}

workflow::ExportRequest exportRequestFromJson(const json& j) {
    return readOrRefuse<workflow::ExportRequest>("the export request is not readable", [&] {
        workflow::ExportRequest r;
        r.dataset = j.at("dataset").get<std::string>();
        r.destination = j.at("destination").get<std::string>();
        const json& f = j.at("formats");
        r.formats = {f.at("nnunet").get<bool>(), f.at("dicomSeg").get<bool>(),
                     f.at("boxes").get<bool>()};
        r.ageRecipients = j.at("recipients").get<std::vector<std::string>>();
        return r;
    });
}

json exportResultJson(const workflow::ExportResult& r) {
    const workflow::ExportTimings& t = r.timings;
    return {{"bundleId", r.bundleId},
            {"location", r.location},
            {"revisionId", r.revisionId},
            {"revisionNumber", r.revisionNumber},
            {"revisionHash", r.revisionHash},
            {"newRevision", r.newRevision},
            {"manifestSha256", r.manifestSha256},
            {"tagManifestSha256", r.tagManifestSha256},
            {"signerKeyId", r.signerKeyId},
            {"cases", r.cases},
            {"files", r.files},
            {"bytes", r.bytes},
            {"notes", r.notes},
            {"encrypted", r.encrypted},
            {"timings",
             {{"read", t.readSeconds},
              {"nifti", t.niftiSeconds},
              {"niftiVoxelBytes", t.niftiVoxelBytes},
              {"niftiFileBytes", t.niftiFileBytes},
              {"dicom", t.dicomSeconds},
              {"other", t.otherSeconds},
              {"seal", t.sealSeconds},
              {"encrypt", t.encryptSeconds},
              {"deliver", t.deliverSeconds},
              {"total", t.totalSeconds}}}};
}

workflow::ExportResult exportResultFromJson(const json& j) {
    return readOrRefuse<workflow::ExportResult>("the service's export result is not readable", [&] {
        workflow::ExportResult r;
        r.bundleId = j.at("bundleId").get<std::string>();
        r.location = j.at("location").get<std::string>();
        r.revisionId = j.at("revisionId").get<std::int64_t>();
        r.revisionNumber = j.at("revisionNumber").get<int>();
        r.revisionHash = j.at("revisionHash").get<std::string>();
        r.newRevision = j.at("newRevision").get<bool>();
        r.manifestSha256 = j.at("manifestSha256").get<std::string>();
        r.tagManifestSha256 = j.at("tagManifestSha256").get<std::string>();
        r.signerKeyId = j.at("signerKeyId").get<std::string>();
        r.cases = j.at("cases").get<int>();
        r.files = j.at("files").get<std::uint64_t>();
        r.bytes = j.at("bytes").get<std::uint64_t>();
        r.notes = j.at("notes").get<std::vector<std::string>>();
        r.encrypted = j.at("encrypted").get<bool>();
        const json& t = j.at("timings");
        r.timings = {t.at("read").get<double>(),
                     t.at("nifti").get<double>(),
                     t.at("niftiVoxelBytes").get<std::uint64_t>(),
                     t.at("niftiFileBytes").get<std::uint64_t>(),
                     t.at("dicom").get<double>(),
                     t.at("other").get<double>(),
                     t.at("seal").get<double>(),
                     t.at("encrypt").get<double>(),
                     t.at("deliver").get<double>(),
                     t.at("total").get<double>()};
        return r;
    });
}

json exportDestinationsJson(const std::vector<workflow::ExportDestination>& list) {
    json rows = json::array();
    for (const workflow::ExportDestination& x : list)
        rows.push_back({{"name", x.destination.name},
                        {"share", x.destination.kind == delivery::Destination::Kind::SmbShare},
                        {"location", x.destination.location()},
                        {"invalid", x.destination.invalid},
                        {"allowed", x.check.allowed},
                        {"reason", x.check.reason}});
    return rows;
}

std::vector<workflow::ExportDestination> exportDestinationsFromJson(const json& list) {
    return readOrRefuse<std::vector<workflow::ExportDestination>>(
        "the service's destinations are not readable", [&] {
            std::vector<workflow::ExportDestination> out;
            for (const json& row : list.get_ref<const json::array_t&>()) {
                workflow::ExportDestination x;
                delivery::Destination& d = x.destination;
                d.name = row.at("name").get<std::string>();
                d.kind = row.at("share").get<bool>() ? delivery::Destination::Kind::SmbShare
                                                     : delivery::Destination::Kind::Folder;
                d.written = row.at("location").get<std::string>();
                d.invalid = row.at("invalid").get<std::string>();
                if (d.invalid.empty() && d.kind == delivery::Destination::Kind::SmbShare)
                    d.smb = delivery::parseSmbUrl(d.written);
                else if (d.invalid.empty())
                    d.folder = d.written;
                x.check = {row.at("allowed").get<bool>(), row.at("reason").get<std::string>()};
                out.push_back(std::move(x));
            }
            return out;
        });
}

std::unique_ptr<workflow::DatasetAdministration> serviceDatasets(SessionCall call) {
    return std::make_unique<ServiceDatasets>(std::move(call));
}

std::optional<Message> datasetReply(storage::Session& session, const Message& request, int channel,
                                    const workflow::PdfRenderer& renderPdf) {
    const json& body = request.body;
    const std::string op = body.value("op", std::string());
    // Every request of a session passes here: the others go on at once.
    static const std::set<std::string> ops = {
        "datasets",           "dataset-create",      "dataset-purpose", "dataset-show",
        "dataset-candidates", "dataset-add",         "dataset-remove",  "dataset-version",
        "dataset-split",      "dataset-protocol",    "dataset-map",     "dataset-unmap",
        "dataset-freeze",     "export-destinations", "export"};
    if (!ops.count(op))
        return std::nullopt;
    // The role first, so that a refusal is logged whatever else the request holds.
    const auto named = body.find("name");
    storage::require(session, actionOf(op),
                     named != body.end() && named->is_string() ? named->get<std::string>() : "");
    const std::unique_ptr<workflow::DatasetAdministration> datasets =
        workflow::sessionDatasets(session);
    std::string name;
    try {
        if (op != "datasets" && op != "dataset-candidates" && op != "export-destinations" &&
            op != "export")
            name = body.at("name").get<std::string>();
        if (op == "datasets")
            return replyMessage({{"datasets", workflow::datasetSummariesJson(datasets->list())}});
        if (op == "dataset-create") {
            std::optional<int> number;
            if (body.contains("number"))
                number = body.at("number").get<int>();
            const storage::DatasetSummary created =
                datasets->create(name, number, body.at("purpose").get<std::string>());
            return replyMessage({{"dataset", workflow::datasetSummariesJson({created}).at(0)}});
        }
        if (op == "dataset-purpose") {
            datasets->setPurpose(name, body.at("purpose").get<std::string>());
            return replyMessage();
        }
        if (op == "dataset-show")
            return replyMessage({{"overview", workflow::overviewJson(datasets->show(name))}});
        if (op == "dataset-candidates")
            return replyMessage(
                {{"studies", workflow::candidateStudiesJson(datasets->candidates())}});
        if (op == "dataset-add" || op == "dataset-version") {
            std::optional<std::string> version;
            if (body.contains("version"))
                version = body.at("version").get<std::string>();
            if (op == "dataset-add")
                datasets->addStudies(name, body.at("studies").get<std::vector<std::string>>(),
                                     version);
            else
                datasets->chooseVersion(name, body.at("study").get<std::string>(), version);
            return replyMessage();
        }
        if (op == "dataset-remove") {
            datasets->removeStudy(name, body.at("study").get<std::string>());
            return replyMessage();
        }
        if (op == "dataset-split") {
            datasets->split(name, workflow::splitSettingsFromJson(body.at("settings")));
            return replyMessage();
        }
        if (op == "dataset-protocol") {
            if (request.fds.size() != 1)
                throw StoreAccessError("the request must carry one memfd: the protocol");
            const storage::Bytes content =
                bytesFromMemfd(request.fds.front().get(), maxProtocolBytes, "protocol");
            std::string fileName = body.at("fileName").get<std::string>();
            fileName = std::filesystem::path(fileName).filename().string();
            return replyMessage({{"protocol", workflow::protocolVersionJson(datasets->setProtocol(
                                                  name, fileName, content))}});
        }
        if (op == "dataset-map") {
            datasets->mapSegmentName(name,
                                     workflow::segmentNameMappingFromJson(body.at("mapping")));
            return replyMessage();
        }
        if (op == "dataset-unmap") {
            datasets->unmapSegmentName(name, body.at("segment").get<std::string>());
            return replyMessage();
        }
        if (op == "dataset-freeze") {
            const workflow::FreezeOutcome frozen = datasets->freeze(name);
            return replyMessage({{"revision", workflow::revisionSummaryJson(frozen.revision)},
                                 {"existing", frozen.existing}});
        }
        if (op == "export-destinations")
            return replyMessage(
                {{"destinations", exportDestinationsJson(datasets->destinations())}});
        // export
        workflow::ExportRequest exportRequest = exportRequestFromJson(body.at("request"));
        const RecipientFiles recipients(request);
        exportRequest.ageRecipientFiles = recipients.files();
        exportRequest.renderPdf = renderPdf;
        ProgressChannel exportChannel(channel);
        const workflow::ExportResult result = datasets->exportDataset(
            exportRequest,
            [&](const std::string& question) { return exportChannel.askPassword(question); },
            [&](double fraction, const std::string& stage) {
                return exportChannel.progress(fraction, stage);
            });
        return replyMessage({{"result", exportResultJson(result)}});
    } catch (const nlohmann::json::exception&) {
        throw StoreAccessError("the " + op + " request is not readable");
    } catch (const workflow::UnreadableDataset& e) {
        throw StoreAccessError("the " + op + " request is not readable: " + e.what());
    }
}

} // namespace radmark::cli
