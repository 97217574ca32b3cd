// radmark-cli service open-volume --study S      (inside radmarkd's worker only)
// radmark-cli service save-labels --study S      (inside radmarkd's worker only)
// The service's half of StoreAccess (app/cli/StoreAccess.h): a client's request carries a
// message channel; open-volume loads the study's first series straight into a memfd, seals it
// and sends it with a JSON summary; save-labels takes a sealed memfd of label bytes and saves
// it as a version. Both log in as any command does and run the in-process calls
// (StoreAccessCore.h), so roles, assignments and access-log entries are the same.

#include "app/cli/Command.h"
#include "app/cli/ServiceWorker.h"
#include "app/cli/StoreAccessCore.h"
#include "app/cli/StoreSession.h"
#include "imaging/decoder/Channel.h"
#include "imaging/decoder/Protocol.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <map>
#include <mutex>

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
    void* memory =
        ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd.get(), 0);
    if (memory == MAP_FAILED)
        throw std::bad_alloc();
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

int runOpenVolume(Arguments& args, CommandIo& io) {
    const int channel = channelOfRequest();
    declareStoreFlags(args);
    args.allowOnly(storeOptions({"study"}));
    const std::string study = args.required("study");
    auto session = loginFromArguments(args, io);
    imaging::Volume::setLargeBufferSource(memfdBuffer);
    imaging::Volume volume = loadStudyVolume(session, study);
    imaging::Volume::setLargeBufferSource(nullptr);
    Message reply;
    reply.kind = MessageKind::Reply;
    reply.body = {{"geometry", decoder::toJson(volume.geometry())},
                  {"pixelType", imaging::pixelTypeName(volume.pixelType())},
                  {"modality", volume.modality},
                  {"seriesDescription", volume.seriesDescription},
                  {"sourceFormat", volume.sourceFormat}};
    reply.fds.push_back(sealedVoxels(std::move(volume)));
    decoder::sendMessage(channel, reply);
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
    try {
        dims = sent.body.at("dims").get<imaging::Index3>();
        const int w = sent.body.at("width").get<int>();
        if (w != 1 && w != 2)
            throw CommandError("a label map has 1 or 2 bytes a voxel");
        width = annotation::LabelWidth(w);
        segments = sent.body.at("segments").get<std::string>();
        message = sent.body.at("message").get<std::string>();
    } catch (const nlohmann::json::exception&) {
        throw CommandError("the label map's summary is not readable");
    }
    std::shared_ptr<std::byte[]> bytes;
    annotation::LabelMap labels;
    const SavedVersion saved = saveLabels(
        session, study,
        [&](const imaging::Geometry& grid) -> annotation::LabelMap& {
            checkLabelGrid(grid, dims, width, std::uint64_t(st.st_size));
            bytes = decoder::mapSealedMemfd(fd, std::size_t(st.st_size));
            labels = labelsFromBytes(grid, width, reinterpret_cast<const std::uint8_t*>(bytes.get()));
            return labels;
        },
        segmentsFromJson(segments), message);
    Message reply;
    reply.kind = MessageKind::Reply;
    reply.body = {{"version", saved.versionId},
                  {"chunksWritten", saved.chunksWritten},
                  {"chunksReused", saved.chunksReused}};
    decoder::sendMessage(channel, reply);
    return 0;
}

} // namespace
RADMARK_COMMAND("service open-volume",
                "--study S --user U --password-stdin  (radmarkd's worker only: the study's "
                "volume to a client as a sealed memfd)",
                runOpenVolume);
RADMARK_COMMAND("service save-labels",
                "--study S --user U --password-stdin  (radmarkd's worker only: a client's label "
                "map, a sealed memfd, as a new version)",
                runSaveLabels);
} // namespace radmark::cli
