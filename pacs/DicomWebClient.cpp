#include "pacs/DicomWebClient.h"

#include "imaging/decoder/DecoderProcess.h"

#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace radmark::pacs {
namespace fs = std::filesystem;
using nlohmann::json;

Credentials::~Credentials() {
    if (!secret.empty())
        sodium_memzero(secret.data(), secret.size());
}

// As the decoder's: $RADMARK_PACS_FETCH and the build tree's program only in builds made for
// tests (an installed workstation runs the fetcher beside it, never one a user names).
fs::path locateFetcherProgram() {
#ifdef RADMARK_PACS_FETCH_ENV_OVERRIDE
    if (const char* chosen = std::getenv("RADMARK_PACS_FETCH"); chosen && *chosen)
        return chosen;
#endif
    std::error_code error;
    const fs::path self = fs::read_symlink("/proc/self/exe", error);
    if (!error) {
        const fs::path beside = self.parent_path() / "radmark-pacs-fetch";
        if (fs::exists(beside, error))
            return beside;
    }
#ifdef RADMARK_PACS_FETCH_BUILD_PATH
    return RADMARK_PACS_FETCH_BUILD_PATH;
#else
    return self.parent_path() / "radmark-pacs-fetch"; // missing: starting it fails clearly
#endif
}

DicomWebClient::DicomWebClient(storage::PacsNode node, const Credentials& credentials,
                               FetcherSettings settings)
    : node_(std::move(node)), settings_(std::move(settings)) {
    if (settings_.program.empty())
        settings_.program = locateFetcherProgram();
    switch (credentials.kind) {
    case Credentials::Kind::None:
        auth_ = {{"kind", "none"}};
        break;
    case Credentials::Kind::Basic:
        auth_ = {{"kind", "basic"}, {"user", credentials.user}, {"password", credentials.secret}};
        break;
    case Credentials::Kind::Bearer:
        auth_ = {{"kind", "bearer"}, {"token", credentials.secret}};
        break;
    }
}

DicomWebClient::~DicomWebClient() {
    stop();
}

// Started as the decoder is (decoder::spawnHelperProgram): exec at once, fd 3 the channel,
// nothing else inherited, a cleaned environment; stderr kept only with RADMARK_PACS_FETCH_STDERR=1.
void DicomWebClient::start() {
    int ends[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends) != 0)
        throw PacsError(PacsError::Kind::Other,
                        std::string("the PACS fetcher could not be started: ") +
                            std::strerror(errno));
    decoder::UniqueFd parentEnd(ends[0]);
    decoder::UniqueFd childEnd(::fcntl(ends[1], F_DUPFD_CLOEXEC, 10));
    ::close(ends[1]);
    pid_t pid = -1;
    const std::string program = settings_.program.string();
    std::vector<const char*> passed = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"};
#ifdef RADMARK_PACS_FETCH_ENV_OVERRIDE
    passed.push_back("RADMARK_PACS_FETCH_TEST_TRAP"); // read by radmark-pacs-fetch-test only
#endif
    const int spawned = decoder::spawnHelperProgram(program, {}, childEnd.get(),
                                                    "RADMARK_PACS_FETCH_STDERR", passed, pid);
    if (spawned != 0)
        throw PacsError(PacsError::Kind::Other,
                        "the PACS fetcher (" + program +
                            ") could not be started: " + std::strerror(spawned));
    pid_ = pid;
    socket_ = std::move(parentEnd);
}

void DicomWebClient::stop() {
    socket_ = decoder::UniqueFd();
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
    }
    pid_ = -1;
}

void DicomWebClient::died() {
    socket_ = decoder::UniqueFd();
    int status = 0;
    std::string how = "stopped";
    if (pid_ > 0) {
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        if (WIFSIGNALED(status))
            how = std::string("was ended by signal ") + ::sigabbrev_np(WTERMSIG(status));
        else if (WIFEXITED(status))
            how = "exited with status " + std::to_string(WEXITSTATUS(status));
    }
    pid_ = -1;
    throw PacsError(PacsError::Kind::Other, "the PACS fetcher " + how + " unexpectedly");
}

json DicomWebClient::call(json request, const InstanceSink& sink) {
    if (pid_ <= 0)
        start();
    if (node_.dimse) {
        const storage::DimseNode& d = *node_.dimse;
        request["dimse"] = {{"aeTitle", d.aeTitle},         {"host", d.host},
                            {"port", d.port},               {"callingAe", d.callingAe},
                            {"move", d.move},               {"moveAeTitle", d.moveAeTitle},
                            {"movePort", d.movePort}};
    } else {
        request["baseUrl"] = node_.dicomwebUrl;
        request["plainHttpAllowed"] = node_.plainHttpAllowed;
        request["caBundle"] = node_.caBundle.string();
        request["auth"] = auth_;
    }
    request["maxInstanceBytes"] = settings_.maxInstanceBytes;
    struct Wipe {
        json& request;
        ~Wipe() {
            if (request.contains("auth"))
                request["auth"] = nullptr;
        }
    } wipe{request};
    decoder::Message message;
    message.kind = decoder::MessageKind::Request;
    message.body = request;
    try {
        decoder::sendMessage(socket_.get(), message);
    } catch (const decoder::ChannelError&) {
        died();
    }
    message.body = json();
    for (;;) {
        decoder::Message answer;
        try {
            if (!decoder::receiveMessage(socket_.get(), answer,
                                         int(settings_.quietLimit.count()))) {
                stop();
                throw PacsError(PacsError::Kind::Unreachable,
                                "the PACS sent nothing for " +
                                    std::to_string(settings_.quietLimit.count() / 1000) +
                                    " s; the transfer was ended");
            }
        } catch (const decoder::ChannelError&) {
            died();
        }
        switch (answer.kind) {
        case decoder::MessageKind::Progress:
            for (auto& fd : answer.fds) {
                if (!decoder::isSealed(fd.get())) {
                    stop();
                    throw PacsError(PacsError::Kind::Protocol,
                                    "the PACS fetcher passed an instance that is not sealed");
                }
                if (!sink || !sink(std::move(fd), answer.body.value("bytes", std::size_t(0)))) {
                    stop(); // the transfer ends with the fetcher
                    throw PacsError(PacsError::Kind::Cancelled, "the retrieve was cancelled");
                }
            }
            break;
        case decoder::MessageKind::Reply:
            return std::move(answer.body);
        case decoder::MessageKind::Failure: {
            if (answer.body.contains("sandbox")) {
                // It tried a call its seccomp filter traps (FetchSandbox.h) and is ending.
                const int call = answer.body.value("sandbox", -1);
                stop();
                throw PacsError(PacsError::Kind::Other,
                                "the PACS fetcher was stopped by its sandbox (system call " +
                                    std::to_string(call) + ")");
            }
            const std::string kind = answer.body.value("failure", "other");
            const std::string text = answer.body.value("message", "the PACS request failed");
            PacsError::Kind k = PacsError::Kind::Other;
            if (kind == "refused")
                k = PacsError::Kind::Refused;
            else if (kind == "unreachable" || kind == "tls")
                k = PacsError::Kind::Unreachable;
            else if (kind == "protocol" || kind == "notfound")
                k = PacsError::Kind::Protocol;
            throw PacsError(k, text);
        }
        default:
            stop();
            throw PacsError(PacsError::Kind::Protocol,
                            "the PACS fetcher sent an unexpected message");
        }
    }
}

namespace {
std::string str(const json& j, const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}
int num(const json& j, const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_number_integer() ? it->get<int>() : -1;
}
} // namespace

void DicomWebClient::echo() {
    call({{"op", "echo"}});
}

json studyQueryJson(const StudyQuery& q) {
    return {{"patientId", q.patientId},
            {"patientName", q.patientName},
            {"accessionNumber", q.accessionNumber},
            {"dateFrom", q.dateFrom},
            {"dateTo", q.dateTo},
            {"modality", q.modality},
            {"studyDescription", q.studyDescription},
            {"limit", q.limit}};
}

std::vector<StudyMatch> DicomWebClient::queryStudies(const StudyQuery& q) {
    const json reply = call({{"op", "studies"}, {"query", studyQueryJson(q)}});
    std::vector<StudyMatch> out;
    for (const auto& s : reply.at("studies")) {
        StudyMatch m;
        m.studyUid = str(s, "studyUid");
        if (!validUid(m.studyUid))
            continue;
        m.patientId = str(s, "patientId");
        m.patientName = str(s, "patientName");
        m.accessionNumber = str(s, "accessionNumber");
        m.studyDate = str(s, "studyDate");
        m.modalities = str(s, "modalities");
        m.description = str(s, "description");
        m.seriesCount = num(s, "seriesCount");
        m.instanceCount = num(s, "instanceCount");
        out.push_back(std::move(m));
    }
    return out;
}

std::vector<SeriesMatch> DicomWebClient::querySeries(const std::string& studyUid) {
    if (!validUid(studyUid))
        throw PacsError(PacsError::Kind::Other, "not a valid Study Instance UID");
    const json reply = call({{"op", "series"}, {"study", studyUid}});
    std::vector<SeriesMatch> out;
    for (const auto& s : reply.at("series")) {
        SeriesMatch m;
        m.seriesUid = str(s, "seriesUid");
        if (!validUid(m.seriesUid))
            continue;
        m.modality = str(s, "modality");
        m.description = str(s, "description");
        m.seriesNumber = str(s, "seriesNumber");
        m.instanceCount = num(s, "instanceCount");
        out.push_back(std::move(m));
    }
    return out;
}

void DicomWebClient::retrieveSeries(const std::string& studyUid, const std::string& seriesUid,
                                    const InstanceSink& sink) {
    if (!validUid(studyUid) || !validUid(seriesUid))
        throw PacsError(PacsError::Kind::Other, "not a valid Study or Series Instance UID");
    call({{"op", "retrieve"}, {"study", studyUid}, {"series", seriesUid}}, sink);
}

} // namespace radmark::pacs
