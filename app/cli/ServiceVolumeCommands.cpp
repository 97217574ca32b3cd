// radmark-cli service session --user U --password-stdin     (inside radmarkd's worker only)
// radmark-cli service open-volume --study S ...               (one-shot, the same)
// radmark-cli service save-labels --study S ...               (one-shot, the same)
// The service's half of StoreAccess (app/cli/StoreAccess.h). A session logs in once and then
// answers its client's requests on the message channel until she closes it: open-volume loads
// the study's first series straight into a memfd, seals it and sends it with a JSON summary;
// save-labels takes a sealed memfd of label bytes (the whole map, or only the slices edited
// since a version she names as their parent) and saves it as a version; open-version sends a
// version's labels the same way, with its segments and boxes; submit sends her version for
// review, decide records a reviewer's decision (with the metrics against the version she
// compares it with, else its previous one), history lists what happened to a version,
// review-versions a study's versions as its review session lists them, comments,
// pin-comment, reply-comment and resolve-comment a version's comments, build-consensus a
// consensus of the study's submitted versions, agreement the annotators' agreement summary;
// save-draft takes only the slices edited since (the
// others named by hashes of content this session gave her), recover-draft sends a draft as
// open-version a version, pending-draft and discard-draft answer as in-process; worklist and
// review-queue send her rows (workflow/WorklistJson.h), versions a study's version records
// (annotation/VersionJson.h) with their review states; the admin's ops are app/cli/AdminOps.h's,
// DatasetOps.h's and PacsOps.h's.
// Before each request it
// checks that her account is still enabled and that the store still opens with the session's
// key (storage::Session::checkStillValid), else refuses and ends. The one-shot commands log in
// for one request each. All run the in-process calls (StoreAccessCore.h), so roles,
// assignments and access-log entries are the same.

#include "annotation/ChunkRunsJson.h"
#include "annotation/VersionJson.h"
#include "app/cli/AdminOps.h"
#include "app/cli/Command.h"
#include "app/cli/DatasetOps.h"
#include "app/cli/PacsOps.h"
#include "app/cli/ServiceWorker.h"
#include "app/cli/StoreAccessCore.h"
#include "app/cli/StoreSession.h"
#include "imaging/decoder/Channel.h"
#include "imaging/decoder/Protocol.h"
#include "imaging/deid/BurnedInText.h"
#include "report/PdfWriter.h"
#include "workflow/AgreementReport.h"
#include "workflow/WorklistJson.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <map>
#include <mutex>
#include <optional>
#include <set>

namespace radmark::cli {
namespace {

using decoder::Message;
using decoder::MessageKind;
using decoder::UniqueFd;

// Voxel buffers of the volume being loaded, each a memfd mapped shared: once loaded, the
// mapping goes and the memfd is sealed and sent, so the voxels are written once, by the store's
// decompression, and never copied.
std::mutex buffersMutex;
std::map<std::byte*, int> bufferFds;

std::shared_ptr<std::byte[]> memfdBuffer(std::size_t bytes) {
    UniqueFd fd = decoder::createMemfd("radmark-volume", bytes);
    void* memory = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
    if (memory == MAP_FAILED)
        throw std::bad_alloc();
    // In 2 MiB pages where the kernel lets shared memory have them (transparent_hugepage/
    // shmem_enabled "advise"): populating 512x512x500 int16 then takes 11 ms instead of 150 ms,
    // and the client maps it in 0.3 ms instead of 30 (docs/service.md). Then populated in one go,
    // far cheaper than a fault per page.
    ::madvise(memory, bytes, MADV_HUGEPAGE); // a hint: without it, 4 KiB pages
#ifdef MADV_POPULATE_WRITE
    const bool populated = ::madvise(memory, bytes, MADV_POPULATE_WRITE) == 0;
#else
    const bool populated = false;
#endif
    if (!populated) { // an older kernel: the same mapping again, populated as it is made
        void* again = ::mmap(memory, bytes, PROT_READ | PROT_WRITE,
                             MAP_SHARED | MAP_FIXED | MAP_POPULATE, fd.get(), 0);
        if (again == MAP_FAILED) {
            ::munmap(memory, bytes);
            throw std::bad_alloc();
        }
    }
    auto* start = static_cast<std::byte*>(memory);
    {
        std::lock_guard lock(buffersMutex);
        bufferFds[start] = fd.release();
    }
    return std::shared_ptr<std::byte[]>(start, [bytes](std::byte* p) {
        ::munmap(p, bytes);
        std::lock_guard lock(buffersMutex);
        const auto it = bufferFds.find(p);
        if (it != bufferFds.end()) {
            if (it->second >= 0)
                ::close(it->second);
            bufferFds.erase(it);
        }
    });
}

// The memfd behind the volume, sealed (the volume is released first: a writable shared
// mapping would stop the seal). A volume too small for the memfd source is copied once.
UniqueFd sealedVoxels(imaging::Volume&& volume) {
    UniqueFd fd;
    {
        std::lock_guard lock(buffersMutex);
        const auto it = bufferFds.find(volume.data());
        if (it != bufferFds.end()) {
            fd = UniqueFd(it->second);
            it->second = -1;
        }
    }
    if (!fd)
        return decoder::memfdWithBytes("radmark-volume", volume.data(), volume.byteCount());
    volume = imaging::Volume();
    decoder::sealMemfd(fd.get());
    return fd;
}

int channelOfRequest() {
    const ServiceRequest* request = serviceRequest();
    if (!request || request->channelFd < 0)
        throw CommandError("only Radmark's own clients use it, through radmarkd "
                           "(docs/service.md): use studies, versions or the workstation",
                           2);
    return request->channelFd;
}

Message openVolumeReply(storage::Session& session, const std::string& study) {
    imaging::Volume::setLargeBufferSource(memfdBuffer);
    imaging::Volume volume;
    try {
        volume = loadStudyVolume(session, study);
    } catch (...) {
        imaging::Volume::setLargeBufferSource(nullptr);
        throw;
    }
    imaging::Volume::setLargeBufferSource(nullptr);
    Message reply;
    reply.kind = MessageKind::Reply;
    reply.body = {{"geometry", decoder::toJson(volume.geometry())},
                  {"pixelType", imaging::pixelTypeName(volume.pixelType())},
                  {"modality", volume.modality},
                  {"seriesDescription", volume.seriesDescription},
                  {"sourceFormat", volume.sourceFormat}};
    reply.fds.push_back(sealedVoxels(std::move(volume)));
    return reply;
}

// A label map on the channel: a sealed memfd and its summary (dims, width, segments, message;
// with parent and chunks, the memfd holds only those slices, edited since that version).
// known: the session's voxel counts by chunk hash, kept from one save to the next (null for a
// one-shot request), so that a save of a few slices need not read back the ones it replaces.
using ChunkCounts = annotation::VersionHistory::ChunkCounts;
Message saveLabelsReply(storage::Session& session, const std::string& study, const Message& sent,
                        ChunkCounts* known = nullptr) {
    if (sent.fds.size() != 1)
        throw CommandError("a label map comes as one memfd");
    const int fd = sent.fds.front().get();
    if (!decoder::isSealed(fd))
        throw CommandError("the label map's memfd is not sealed (F_SEAL_WRITE, F_SEAL_SHRINK, "
                           "F_SEAL_GROW, F_SEAL_SEAL): not saved");
    struct stat st {};
    if (::fstat(fd, &st) != 0)
        throw CommandError("the label map's memfd cannot be read");
    imaging::Index3 dims{};
    annotation::LabelWidth width = annotation::LabelWidth::UInt8;
    std::string segments, message;
    std::vector<annotation::Box> boxes;
    std::optional<std::string> parent;
    std::optional<std::vector<int>> slices;
    try {
        dims = sent.body.at("dims").get<imaging::Index3>();
        const int w = sent.body.at("width").get<int>();
        if (w != 1 && w != 2)
            throw CommandError("a label map has 1 or 2 bytes a voxel");
        width = annotation::LabelWidth(w);
        segments = sent.body.at("segments").get<std::string>();
        message = sent.body.at("message").get<std::string>();
        if (sent.body.contains("boxes"))
            boxes = annotation::boxesFromJson(sent.body.at("boxes"));
        if (sent.body.contains("parent"))
            parent = sent.body.at("parent").get<std::string>();
        if (sent.body.contains("chunks"))
            slices = sent.body.at("chunks").get<std::vector<int>>();
    } catch (const nlohmann::json::exception&) {
        throw CommandError("the label map's summary is not readable");
    }
    std::shared_ptr<std::byte[]> bytes;
    SavedVersion saved;
    if (slices) {
        if (!parent)
            throw CommandError("a label map of some slices names the version they were edited "
                               "from (parent): not saved");
        if (st.st_size > 0)
            bytes = decoder::mapSealedMemfd(fd, std::size_t(st.st_size));
        const ChangedSlices changed{dims, width, *slices,
                                    reinterpret_cast<const std::uint8_t*>(bytes.get()),
                                    std::uint64_t(st.st_size)};
        saved = saveChangedSlices(session, study, *parent, changed, segmentsFromJson(segments),
                                  boxes, message, known);
    } else {
        annotation::LabelMap labels;
        saved = saveLabels(
            session, study,
            [&](const imaging::Geometry& grid) -> annotation::LabelMap& {
                checkLabelGrid(grid, dims, width, std::uint64_t(st.st_size));
                bytes = decoder::mapSealedMemfd(fd, std::size_t(st.st_size));
                labels = labelsFromBytes(grid, width,
                                         reinterpret_cast<const std::uint8_t*>(bytes.get()));
                return labels;
            },
            segmentsFromJson(segments), boxes, message, parent);
        if (known && int(saved.chunks.size()) == labels.chunkCount()) {
            if (known->size() > 100000)
                known->clear(); // a bound; the store answers what is not known
            for (int z = 0; z < labels.chunkCount(); ++z)
                if (!known->count(saved.chunks[std::size_t(z)]))
                    (*known)[saved.chunks[std::size_t(z)]] = labels.chunkVoxelCounts(z);
        }
    }
    Message reply;
    reply.kind = MessageKind::Reply;
    reply.body = {{"version", saved.versionId},
                  {"chunksWritten", saved.chunksWritten},
                  {"chunksReused", saved.chunksReused},
                  {"chunks", annotation::chunkRunsJson(saved.chunks)}};
    return reply;
}

// A version's labels on the channel: a sealed memfd of the whole map and its summary (grid,
// width, segments, boxes, chunk hashes); "version": null when the study has none.
Message openVersionReply(storage::Session& session, const std::string& study,
                         const std::optional<std::string>& version, bool readOnly) {
    const std::optional<OpenedVersion> opened = openStudyVersion(session, study, version, readOnly);
    Message reply;
    reply.kind = MessageKind::Reply;
    if (!opened) {
        reply.body = {{"version", nullptr}};
        return reply;
    }
    const annotation::LabelMap& labels = opened->annotation.labels;
    std::vector<imaging::ChunkHash> chunks;
    for (int z = 0; z < labels.chunkCount(); ++z) {
        const std::optional<imaging::ChunkHash> hash = labels.knownHash(z);
        if (!hash)
            throw CommandError("a slice of the version has no stored hash");
        chunks.push_back(*hash);
    }
    reply.body = {{"version", opened->id.hex()},
                  {"geometry", decoder::toJson(labels.geometry())},
                  {"width", int(labels.width())},
                  {"segments", segmentsToJson(opened->annotation.segments)},
                  {"boxes", annotation::boxesToJson(opened->annotation.boxes.all())},
                  {"chunks", annotation::chunkRunsJson(chunks)}};
    reply.fds.push_back(memfdWithLabels(labels));
    return reply;
}

int runOpenVolume(Arguments& args, CommandIo& io) {
    const int channel = channelOfRequest();
    declareStoreFlags(args);
    args.allowOnly(storeOptions({"study"}));
    const std::string study = args.required("study");
    auto session = loginFromArguments(args, io);
    decoder::sendMessage(channel, openVolumeReply(session, study));
    return 0;
}

int runSaveLabels(Arguments& args, CommandIo& io) {
    const int channel = channelOfRequest();
    declareStoreFlags(args);
    args.allowOnly(storeOptions({"study"}));
    const std::string study = args.required("study");
    auto session = loginFromArguments(args, io);
    Message sent;
    if (!decoder::receiveMessage(channel, sent, 30000) || sent.kind != MessageKind::Request)
        throw CommandError("no label map arrived on the channel");
    decoder::sendMessage(channel, saveLabelsReply(session, study, sent));
    return 0;
}

void sendFailure(int channel, const std::string& reason, bool ended) {
    Message failure;
    failure.kind = MessageKind::Failure;
    failure.body = {{"error", reason}, {"ended", ended}};
    decoder::sendMessage(channel, failure);
}

// What a session keeps between requests: voxel counts of the chunks it hashed (by hash), and per
// study the chunks of the drafts it wrote or recovered (a later draft may name them unsent).
struct SessionMemory {
    ChunkCounts known;
    std::map<std::string, std::set<imaging::ChunkHash>> drafts;
    // The PACS nodes' clients between requests; the OCR for a retrieve's burned-in text.
    PacsWorkerState pacs{{}, [] { return deid::makeTesseractDetector(); }, {}, false};
};

// A draft's labels on the channel, as open-version sends a version's, with the version it
// continues (parent, and its chunks for the next save's delta).
Message recoverDraftReply(storage::Session& session, const std::string& study,
                          SessionMemory& memory) {
    const RecoveredDraft recovered = recoverStudyDraft(session, study);
    const annotation::LabelMap& labels = recovered.annotation.labels;
    Message reply;
    reply.kind = MessageKind::Reply;
    reply.body = {{"geometry", decoder::toJson(labels.geometry())},
                  {"width", int(labels.width())},
                  {"segments", segmentsToJson(recovered.annotation.segments)},
                  {"boxes", annotation::boxesToJson(recovered.annotation.boxes.all())},
                  {"chunks", annotation::chunkRunsJson(recovered.chunks)},
                  {"parent", nullptr},
                  {"parentChunks", annotation::chunkRunsJson(recovered.parentChunks)}};
    if (recovered.annotation.parent)
        reply.body["parent"] = recovered.annotation.parent->hex();
    reply.fds.push_back(memfdWithLabels(labels));
    memory.drafts[study].insert(recovered.chunks.begin(), recovered.chunks.end());
    return reply;
}

Message saveDraftReply(storage::Session& session, const std::string& study, const Message& sent,
                       SessionMemory& memory) {
    if (sent.fds.size() != 1 || !decoder::isSealed(sent.fds.front().get()))
        throw CommandError("a draft's slices come as one sealed memfd: not saved");
    const int fd = sent.fds.front().get();
    struct stat st {};
    if (::fstat(fd, &st) != 0)
        throw CommandError("the draft's memfd cannot be read");
    ChangedSlices slices;
    std::optional<std::string> parent;
    std::vector<std::optional<imaging::ChunkHash>> kept;
    annotation::SegmentList segments;
    std::vector<annotation::Box> boxes;
    try {
        slices.dims = sent.body.at("dims").get<imaging::Index3>();
        const int w = sent.body.at("width").get<int>();
        if (w != 1 && w != 2)
            throw CommandError("a label map has 1 or 2 bytes a voxel");
        slices.width = annotation::LabelWidth(w);
        slices.indices = sent.body.at("chunks").get<std::vector<int>>();
        for (const nlohmann::json& k : sent.body.at("kept"))
            kept.push_back(k.is_null()
                               ? std::nullopt
                               : std::optional(imaging::ChunkHash::fromHex(k.get<std::string>())));
        if (sent.body.contains("parent"))
            parent = sent.body.at("parent").get<std::string>();
        segments = segmentsFromJson(sent.body.at("segments").get<std::string>());
        boxes = annotation::boxesFromJson(sent.body.at("boxes"));
    } catch (const nlohmann::json::exception&) {
        throw CommandError("the draft's summary is not readable");
    } catch (const imaging::CorruptChunk&) {
        throw CommandError("the draft's summary is not readable");
    }
    std::shared_ptr<std::byte[]> bytes;
    if (st.st_size > 0)
        bytes = decoder::mapSealedMemfd(fd, std::size_t(st.st_size));
    slices.bytes = reinterpret_cast<const std::uint8_t*>(bytes.get());
    slices.byteCount = std::uint64_t(st.st_size);
    std::set<imaging::ChunkHash>& accepted = memory.drafts[study];
    const std::vector<imaging::ChunkHash> chunks =
        saveDraftChanges(session, study, parent, kept, slices, segments, boxes, accepted);
    accepted.insert(chunks.begin(), chunks.end());
    Message reply;
    reply.kind = MessageKind::Reply;
    reply.body = {{"chunks", annotation::chunkRunsJson(chunks)}};
    return reply;
}

Message answer(storage::Session& session, const Message& request, SessionMemory& memory,
               int channel) {
    ChunkCounts& known = memory.known;
    if (request.kind != MessageKind::Request)
        throw CommandError("a session takes requests only");
    if (std::optional<Message> admin = adminReply(session, request, [channel](const Message& note) {
            decoder::sendMessage(channel, note);
        }))
        return std::move(*admin);
    // The worker draws an export's datasheet (offscreen Qt, made on this thread).
    const workflow::PdfRenderer renderPdf = [](const report::Report& sheet,
                                               const report::PdfOptions& options) {
        return report::renderPdf(sheet, options);
    };
    if (std::optional<Message> datasets = datasetReply(session, request, channel, renderPdf))
        return std::move(*datasets);
    if (std::optional<Message> pacs = pacsReply(session, memory.pacs, request, channel))
        return std::move(*pacs);
    std::string op, study;
    std::optional<storage::ReviewState> state;
    std::optional<std::string> version;
    bool readOnly = true;
    try {
        op = request.body.at("op").get<std::string>();
        if (op == "open-volume" || op == "save-labels" || op == "versions" ||
            op == "open-version" || op == "submit" || op == "pending-draft" || op == "save-draft" ||
            op == "recover-draft" || op == "discard-draft" || op == "decide" || op == "history" ||
            op == "review-versions" || op == "comments" || op == "pin-comment" ||
            op == "reply-comment" || op == "resolve-comment" || op == "build-consensus")
            study = request.body.at("study").get<std::string>();
        if (request.body.contains("version"))
            version = request.body.at("version").get<std::string>();
        readOnly = request.body.value("readOnly", true);
        if (request.body.contains("state")) {
            state = storage::parseReviewState(request.body.at("state").get<std::string>());
            if (!state)
                throw CommandError("the request names a review state Radmark does not know");
        }
    } catch (const nlohmann::json::exception&) {
        throw CommandError("the request is not readable (op, study, state, version)");
    }
    if (op == "open-volume")
        return openVolumeReply(session, study);
    if (op == "save-labels")
        return saveLabelsReply(session, study, request, &known);
    if (op == "open-version")
        return openVersionReply(session, study, version, readOnly);
    if (op == "save-draft")
        return saveDraftReply(session, study, request, memory);
    if (op == "recover-draft")
        return recoverDraftReply(session, study, memory);
    Message reply;
    reply.kind = MessageKind::Reply;
    if (op == "history") {
        if (!version)
            throw CommandError("a history names the version (version)");
        nlohmann::json events = nlohmann::json::array();
        for (const storage::ReviewEvent& e : versionHistory(session, study, *version))
            events.push_back(
                {{"time", e.time}, {"user", e.user}, {"what", e.what}, {"details", e.details}});
        reply.body = {{"events", std::move(events)}};
    } else if (op == "decide") {
        std::string decision, message;
        std::optional<std::string> compareWith;
        bool resolve = false;
        try {
            decision = request.body.at("decision").get<std::string>();
            message = request.body.value("message", std::string());
            resolve = request.body.value("resolveOpenComments", false);
            if (request.body.contains("compareWith"))
                compareWith = request.body.at("compareWith").get<std::string>();
        } catch (const nlohmann::json::exception&) {
            throw CommandError("the decision is not readable");
        }
        if (!version)
            throw CommandError("a decision names the version (version)");
        const DecisionOutcome outcome =
            decideOnVersion(session, study, *version, storage::parseDecision(decision), message,
                            resolve, compareWith);
        reply.body = {{"openComments", outcome.openComments}};
        if (outcome.openComments == 0) {
            reply.body["decision"] = std::string(storage::decisionName(outcome.decision));
            reply.body["contentHash"] = outcome.contentHash;
        }
    } else if (op == "comments" || op == "pin-comment" || op == "reply-comment" ||
               op == "resolve-comment") {
        if (!version)
            throw CommandError("a comment names the version (version)");
        std::string text;
        imaging::Vec3 voxel{};
        std::int64_t comment = 0;
        try {
            text = request.body.value("text", std::string());
            if (op == "pin-comment")
                voxel = request.body.at("voxel").get<imaging::Vec3>();
            if (op == "reply-comment" || op == "resolve-comment")
                comment = request.body.at("comment").get<std::int64_t>();
        } catch (const nlohmann::json::exception&) {
            throw CommandError("the comment request is not readable (voxel, comment, text)");
        }
        if (op == "comments") {
            nlohmann::json comments = nlohmann::json::array();
            for (const storage::ReviewComment& c : versionComments(session, study, *version))
                comments.push_back(commentJson(c));
            reply.body = {{"comments", std::move(comments)}};
        } else if (op == "pin-comment") {
            reply.body = {
                {"comment", commentJson(pinVersionComment(session, study, *version, voxel, text))}};
        } else {
            answerVersionComment(session, study, *version, comment,
                                 op == "reply-comment" ? std::optional(text) : std::nullopt);
            reply.body = {{"done", true}};
        }
    } else if (op == "agreement") {
        reply.body = {
            {"summary", workflow::agreementSummaryJson(workflow::reviewersAgreement(session))}};
    } else if (op == "build-consensus") {
        std::string method;
        try {
            method = request.body.at("method").get<std::string>();
        } catch (const nlohmann::json::exception&) {
            throw CommandError("a consensus names its method (method)");
        }
        reply.body = {{"version", workflow::reviewVersionJson(buildStudyConsensus(
                                      session, study, parseConsensusMethod(method)))}};
    } else if (op == "review-versions") {
        reply.body = {{"versions", reviewEntriesJson(studyReviewVersions(session, study))}};
    } else if (op == "pending-draft") {
        const std::optional<workflow::PendingDraft> draft = studyPendingDraft(session, study);
        reply.body = {{"draft", nullptr}};
        if (draft)
            reply.body["draft"] = {{"saved", draft->savedUtc},
                                   {"newerAuthors", draft->newerAuthors}};
    } else if (op == "discard-draft") {
        discardStudyDraft(session, study);
        reply.body = {{"discarded", true}};
    } else if (op == "submit") {
        if (!version)
            throw CommandError("a submit names the version (version)");
        submitStudyVersion(session, study, *version);
        reply.body = {{"submitted", *version}};
    } else if (op == "worklist")
        reply.body = {{"rows", workflow::worklistJson(workflow::worklist(session, state))}};
    else if (op == "review-queue")
        reply.body = {{"rows", workflow::worklistJson(workflow::reviewQueue(session))}};
    else if (op == "versions") {
        nlohmann::json versions = nlohmann::json::array();
        for (const VersionEntry& entry : studyVersions(session, study))
            versions.push_back({{"id", entry.version.id.hex()},
                                {"record", annotation::versionJson(entry.version)},
                                {"state", storage::reviewStateName(entry.review)}});
        reply.body = {{"versions", std::move(versions)}};
    } else
        throw CommandError(
            "a session answers open-volume, open-version, save-labels, submit, decide, history, "
            "review-versions, comments, pin-comment, reply-comment, resolve-comment, "
            "build-consensus, agreement, pending-draft, save-draft, recover-draft, discard-draft, "
            "worklist, review-queue, versions and the admin's users, studies, add-user, "
            "disable-user, rotate-key, assign, audit-entries and audit-verify, and the PACS's "
            "pacs-nodes, pacs-connect, pacs-echo, pacs-query, pacs-series and pacs-retrieve, "
            "not '" +
            op + "'");
    return reply;
}

int runSession(Arguments& args, CommandIo& io) {
    const int channel = channelOfRequest();
    declareStoreFlags(args);
    args.allowOnly(storeOptions());
    auto session = loginFromArguments(args, io);
    Message ready;
    ready.kind = MessageKind::Reply;
    ready.body = {{"session", "ready"}, {"role", storage::roleName(session.role())}};
    decoder::sendMessage(channel, ready);
    // Idle as long as the policy's idle timeout, the session ends (logged out, as a lock).
    const auto idle = session.store().policy().idleTimeout;
    const long long idleMs = std::chrono::duration_cast<std::chrono::milliseconds>(idle).count();
    const int timeoutMs = int(std::clamp<long long>(idleMs, 1000, INT_MAX));
    SessionMemory memory;
    while (true) {
        Message request;
        try {
            if (!decoder::receiveMessage(channel, request, timeoutMs))
                throw CommandError("the session ended after " + std::to_string(idleMs / 60000) +
                                   " min without a request (the policy's idle timeout): log "
                                   "in again");
        } catch (const decoder::ChannelError&) {
            return 0; // she closed the session
        }
        // A cancel that came after its export had ended, or a stray answer: nothing to do.
        if (isLateAnswer(request))
            continue;
        try {
            session.checkStillValid();
        } catch (const std::exception& e) {
            sendFailure(channel, e.what(), true);
            throw CommandError(e.what());
        }
        Message reply;
        try {
            reply = answer(session, request, memory, channel);
        } catch (const decoder::ChannelError&) {
            throw;
        } catch (const std::exception& e) {
            sendFailure(channel, e.what(), false);
            continue;
        }
        decoder::sendMessage(channel, reply);
    }
}

} // namespace
RADMARK_COMMAND(
    "service session",
    "--user U --password-stdin  (radmarkd's worker only: one login, then the client's "
    "open-volume, open-version, save-labels, submit, decide, history, review-versions, comments "
    "(list, pin, reply, resolve), build-consensus, agreement, the draft's (pending, save, "
    "recover, discard), worklist, review-queue, versions and the admin's (users, studies, "
    "add-user, disable-user, rotate-key with progress, assign, audit-entries, audit-verify), "
    "the datasets' and export's, and Import from PACS's (pacs-nodes, pacs-connect, pacs-echo, "
    "pacs-query, pacs-series, pacs-retrieve with progress and cancel) requests on its channel "
    "until she closes it)",
    runSession);
RADMARK_COMMAND("service open-volume",
                "--study S --user U --password-stdin  (radmarkd's worker only: the study's "
                "volume to a client as a sealed memfd)",
                runOpenVolume);
RADMARK_COMMAND("service save-labels",
                "--study S --user U --password-stdin  (radmarkd's worker only: a client's label "
                "map, a sealed memfd, as a new version)",
                runSaveLabels);
} // namespace radmark::cli
