#include "app/cli/StoreAccess.h"

#include "app/cli/StoreAccessCore.h"
#include "app/service/ServiceProtocol.h"
#include "imaging/decoder/Channel.h"
#include "imaging/decoder/Protocol.h"
#include "storage/StoredStudy.h"
#include "storage/Studies.h"
#include "workflow/StoredAnnotations.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>

namespace radmark::cli {

using decoder::Message;
using decoder::MessageKind;
using decoder::UniqueFd;
using nlohmann::json;

// -- What both sides run ------------------------------------------------------------------

imaging::Volume loadStudyVolume(storage::Session& session, const std::string& study) {
    const std::int64_t studyId = storage::Studies(session).idFor(study);
    return storage::StoredStudy::open(session, studyId).loadVolume(0);
}

void checkLabelGrid(const imaging::Geometry& study, const imaging::Index3& dims,
                    annotation::LabelWidth width, std::uint64_t bytes) {
    if (dims != study.dims)
        throw StoreAccessError("the label map is " + std::to_string(dims[0]) + "x" +
                               std::to_string(dims[1]) + "x" + std::to_string(dims[2]) +
                               ", the study's grid is " + std::to_string(study.dims[0]) + "x" +
                               std::to_string(study.dims[1]) + "x" +
                               std::to_string(study.dims[2]) + ": not saved");
    const std::uint64_t expected = std::uint64_t(study.voxelCount()) * std::uint64_t(width);
    if (bytes != expected)
        throw StoreAccessError("the label map holds " + std::to_string(bytes) +
                               " bytes, its grid needs " + std::to_string(expected) +
                               ": not saved");
}

SavedVersion saveLabels(storage::Session& session, const std::string& study,
                        const LabelSource& labelsFor, const annotation::SegmentList& segments,
                        const std::string& message) {
    const std::int64_t studyId = storage::Studies(session).idFor(study);
    const imaging::Geometry grid = storage::StoredStudy::open(session, studyId).geometry(0);
    annotation::LabelMap& labels = labelsFor(grid);
    workflow::StoredAnnotationHistory stored(session, studyId);
    annotation::SaveReport report;
    const annotation::Version version =
        stored.save(labels, segments, {}, message, stored.newest(), &report);
    return {version.id.hex(), report.chunksWritten, report.chunksReused};
}

std::string segmentsToJson(const annotation::SegmentList& segments) {
    json all = json::array();
    for (const annotation::Segment& s : segments.all())
        all.push_back({{"label", s.label},
                       {"name", s.name},
                       {"colour", {s.colour.r, s.colour.g, s.colour.b}},
                       {"visible", s.visible},
                       {"locked", s.locked},
                       {"opacity", s.opacity}});
    return all.dump();
}

annotation::SegmentList segmentsFromJson(const std::string& text) {
    annotation::SegmentList segments;
    try {
        for (const json& s : json::parse(text)) {
            annotation::Segment segment;
            segment.label = s.at("label").get<annotation::Label>();
            segment.name = s.at("name").get<std::string>();
            const auto colour = s.at("colour").get<std::array<int, 3>>();
            segment.colour = {std::uint8_t(colour[0]), std::uint8_t(colour[1]),
                              std::uint8_t(colour[2])};
            segment.visible = s.value("visible", true);
            segment.locked = s.value("locked", false);
            segment.opacity = s.value("opacity", 0.5f);
            segments.add(std::move(segment));
        }
    } catch (const json::exception&) {
        throw StoreAccessError("the label map's segments are not readable");
    } catch (const annotation::SegmentError& e) {
        throw StoreAccessError(e.what());
    }
    return segments;
}

namespace {

// Copies labels into a fresh map of the study's grid (the in-process LabelMap's own buffer and
// the service's mapped memfd both go through here).
annotation::LabelMap labelsOnGrid(const imaging::Geometry& grid, annotation::LabelWidth width,
                                  const std::uint8_t* bytes) {
    annotation::LabelMap labels(grid, width);
    for (int chunk = 0; chunk < labels.chunkCount(); ++chunk) {
        auto out = labels.chunkBytesForWriting(chunk);
        std::memcpy(out.data(), bytes + std::size_t(chunk) * labels.chunkByteCount(),
                    labels.chunkByteCount());
    }
    return labels;
}

// -- In-process -----------------------------------------------------------------------------

class InProcessStoreAccess final : public StoreAccess {
  public:
    explicit InProcessStoreAccess(storage::Session session) : session_(std::move(session)) {}

    imaging::Volume openVolume(const std::string& study) override {
        return loadStudyVolume(session_, study);
    }

    SavedVersion saveVersion(const std::string& study, annotation::LabelMap& labels,
                             const annotation::SegmentList& segments,
                             const std::string& message) override {
        return saveLabels(
            session_, study,
            [&](const imaging::Geometry& grid) -> annotation::LabelMap& {
                checkLabelGrid(grid, labels.geometry().dims, labels.width(),
                               labels.voxelCount() * std::size_t(labels.width()));
                return labels;
            },
            segments, message);
    }

  private:
    storage::Session session_;
};

// -- Through radmarkd -----------------------------------------------------------------------

struct Pipe {
    UniqueFd read, write;
};

Pipe makePipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
        throw StoreAccessError(std::string("cannot make a pipe: ") + std::strerror(errno));
    return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// "radmark-cli service open-volume: REASON" -> "REASON" (the in-process error's own words).
std::string reasonFrom(const std::string& errors) {
    std::string last;
    std::size_t at = 0;
    while (at < errors.size()) {
        const std::size_t end = errors.find('\n', at);
        const std::string line =
            errors.substr(at, end == std::string::npos ? std::string::npos : end - at);
        if (!line.empty())
            last = line;
        at = end == std::string::npos ? errors.size() : end + 1;
    }
    for (const char* prefix : {"radmark-cli service open-volume: ",
                               "radmark-cli service save-labels: ", "radmark-cli: ", "radmarkd: "})
        if (last.rfind(prefix, 0) == 0)
            return last.substr(std::strlen(prefix));
    return last.empty() ? "the service ended the request without an answer" : last;
}

class ServiceStoreAccess final : public StoreAccess {
  public:
    ServiceStoreAccess(std::filesystem::path socket, std::string user, std::string password)
        : socket_(std::move(socket)), user_(std::move(user)), password_(std::move(password)) {}

    imaging::Volume openVolume(const std::string& study) override {
        Message reply = request("open-volume", study, std::nullopt);
        const imaging::Geometry geometry = decoder::geometryFromJson(reply.body.at("geometry"));
        const imaging::PixelType type =
            decoder::pixelTypeFromName(reply.body.at("pixelType").get<std::string>());
        if (reply.fds.size() != 1)
            throw StoreAccessError("the service sent a volume without its voxels");
        const std::size_t bytes = geometry.voxelCount() * imaging::bytesPerVoxel(type);
        imaging::Volume volume = imaging::Volume::adopt(
            geometry, type, decoder::mapSealedMemfd(reply.fds.front().get(), bytes));
        volume.modality = reply.body.value("modality", "");
        volume.seriesDescription = reply.body.value("seriesDescription", "");
        volume.sourceFormat = reply.body.value("sourceFormat", "");
        return volume;
    }

    SavedVersion saveVersion(const std::string& study, annotation::LabelMap& labels,
                             const annotation::SegmentList& segments,
                             const std::string& message) override {
        Message sent;
        sent.kind = MessageKind::Request;
        sent.body = {{"dims", labels.geometry().dims},
                     {"width", int(labels.width())},
                     {"segments", segmentsToJson(segments)},
                     {"message", message}};
        sent.fds.push_back(decoder::memfdWithBytes(
            "radmark-labels", labels.data(), labels.voxelCount() * std::size_t(labels.width())));
        Message reply = request("save-labels", study, std::move(sent));
        return {reply.body.at("version").get<std::string>(),
                reply.body.value("chunksWritten", std::size_t(0)),
                reply.body.value("chunksReused", std::size_t(0))};
    }

  private:
    // One request: "service COMMAND --study S --user U --password-stdin" on a fresh connection,
    // the password on its stdin, its stdout and stderr into one pipe read here, and a channel
    // for the bulk data. Returns the worker's reply; throws StoreAccessError with its reason.
    Message request(const std::string& command, const std::string& study,
                    std::optional<Message> toSend) {
        UniqueFd connection(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        if (!connection || socket_.string().size() >= sizeof address.sun_path)
            throw StoreAccessError("cannot use the socket " + socket_.string());
        std::strcpy(address.sun_path, socket_.c_str());
        if (::connect(connection.get(), reinterpret_cast<const sockaddr*>(&address),
                      sizeof address) != 0)
            throw StoreAccessError("cannot reach the Radmark service at " + socket_.string() +
                                   ": " + std::strerror(errno));
        int pair[2];
        if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
            throw StoreAccessError(std::string("cannot make a channel: ") +
                                   std::strerror(errno));
        UniqueFd channel(pair[0]), theirs(pair[1]);
        Pipe in = makePipe(), out = makePipe();
        const std::string line = password_ + "\n";
        if (::write(in.write.get(), line.data(), line.size()) != ssize_t(line.size()))
            throw StoreAccessError("cannot pass the password to the service");
        in.write = UniqueFd();
        const std::vector<std::string> words = {"service", command, "--study",          study,
                                                "--user",  user_,   "--password-stdin"};
        try {
            service::sendRequest(connection.get(), words, -1, {},
                                 {in.read.get(), out.write.get(), out.write.get()},
                                 theirs.get());
        } catch (const std::exception& e) {
            throw StoreAccessError(e.what());
        }
        in.read = UniqueFd();
        out.write = UniqueFd();
        theirs = UniqueFd();
        Message reply;
        bool replied = false;
        try {
            if (toSend)
                decoder::sendMessage(channel.get(), *toSend);
            replied = decoder::receiveMessage(channel.get(), reply) &&
                      reply.kind == MessageKind::Reply;
        } catch (const decoder::ChannelError&) {
            // The worker ended without a reply: its stderr and exit status say why.
        }
        std::string errors;
        char buffer[4096];
        for (ssize_t n; (n = ::read(out.read.get(), buffer, sizeof buffer)) != 0;) {
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                break;
            errors.append(buffer, std::size_t(n));
        }
        std::optional<int> status;
        try {
            status = service::receiveExitStatus(connection.get());
        } catch (const std::exception&) {
        }
        if (!replied || !status || *status != 0)
            throw StoreAccessError(reasonFrom(errors));
        return reply;
    }

    std::filesystem::path socket_;
    std::string user_, password_;
};

} // namespace

annotation::LabelMap labelsFromBytes(const imaging::Geometry& grid, annotation::LabelWidth width,
                                     const std::uint8_t* bytes) {
    return labelsOnGrid(grid, width, bytes);
}

std::unique_ptr<StoreAccess> inProcessStoreAccess(storage::Session session) {
    return std::make_unique<InProcessStoreAccess>(std::move(session));
}

std::unique_ptr<StoreAccess> serviceStoreAccess(const std::filesystem::path& socket,
                                                const std::string& user,
                                                const std::string& password) {
    return std::make_unique<ServiceStoreAccess>(socket, user, password);
}

} // namespace radmark::cli
