// radmark-pacs-fetch: the process that speaks to the PACS. It holds no store key, no session and
// no store file: it is started by DicomWebClient with posix_spawn (exec at once, a cleaned
// environment, only its channel socket open on fd 3), gets one request at a time (a QIDO-RS
// query or a WADO-RS retrieve, with the node's URL, CA bundle and credentials), and answers on
// the channel of imaging/decoder/Channel.h. A retrieved instance is written into a memfd, sealed,
// and passed on with SCM_RIGHTS as soon as its last byte has arrived: it never touches a disk.
// What the PACS sends is untrusted: the multipart body is checked by the bounded MultipartReader
// and the JSON of a query is reduced to the few strings the caller shows (pacs/DicomJson.h).
// A DIMSE node's requests (C-ECHO, C-FIND, C-GET, C-MOVE) go to pacs/DimseFetch.cpp, the one
// place DCMTK's dcmnet is linked. No Qt, VTK, storage or store key here (docs/pacs.md).
// Once its libraries are ready it confines itself (pacs/FetchSandbox.h): no exec, no new
// process, no ptrace, no open for writing, no mount, internet sockets only.

#include "imaging/decoder/Channel.h"
#include "pacs/DicomJson.h"
#include "pacs/DimseFetch.h"
#include "pacs/FetchSandbox.h"
#include "pacs/Multipart.h"
#include "pacs/PacsClient.h"

#include <curl/curl.h>
#include <netdb.h>
#include <sys/mman.h>
#include <unistd.h>

#ifdef RADMARK_PACS_FETCH_TEST_HOOKS
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include <cstdlib>
#include <thread>
#endif

#include <cctype>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

namespace {

using nlohmann::json;
using radmark::decoder::Message;
using radmark::decoder::MessageKind;
using radmark::decoder::UniqueFd;
namespace pacs = radmark::pacs;

constexpr int channel = 3;
constexpr std::size_t maxJsonBytes = std::size_t(64) << 20;

struct Failure {
    std::string kind; // refused, unreachable, protocol, notfound, other
    std::string message;
};

void send(MessageKind kind, const json& body, std::vector<UniqueFd> fds = {}) {
    Message message;
    message.kind = kind;
    message.body = body;
    message.fds = std::move(fds);
    radmark::decoder::sendMessage(channel, message);
}

#ifdef RADMARK_PACS_FETCH_TEST_HOOKS
// Test builds only: $RADMARK_PACS_FETCH_TEST_TRAP=N makes a retrieve try execve after its N-th
// instance was sent, in the thread that received it (the C-MOVE's SCP thread for a C-MOVE): the
// sandbox must stop it, and the import must store nothing of that study.
void afterInstanceSent(int count) {
    static const int trapAfter = [] {
        const char* value = std::getenv("RADMARK_PACS_FETCH_TEST_TRAP");
        return value ? std::atoi(value) : 0;
    }();
    if (trapAfter > 0 && count == trapAfter) {
        char* const argv[] = {const_cast<char*>("/bin/true"), nullptr};
        ::execve("/bin/true", argv, nullptr);
    }
}
#else
void afterInstanceSent(int) {}
#endif

// The node as the request gives it (the parent took it from the site policy).
struct Node {
    std::string baseUrl;
    bool plainHttpAllowed = false;
    std::string caBundle;
    std::string authKind = "none";
    std::string user, password, token;
    long connectTimeoutSeconds = 15;
    long stallSeconds = 60;
};

Node nodeFrom(const json& request) {
    Node node;
    node.baseUrl = request.at("baseUrl").get<std::string>();
    while (!node.baseUrl.empty() && node.baseUrl.back() == '/')
        node.baseUrl.pop_back();
    node.plainHttpAllowed = request.value("plainHttpAllowed", false);
    node.caBundle = request.value("caBundle", "");
    node.stallSeconds = request.value("stallSeconds", 60L);
    if (request.contains("auth")) {
        const json& auth = request.at("auth");
        node.authKind = auth.value("kind", "none");
        node.user = auth.value("user", "");
        node.password = auth.value("password", "");
        node.token = auth.value("token", "");
    }
    const bool https = node.baseUrl.rfind("https://", 0) == 0;
    const bool http = node.baseUrl.rfind("http://", 0) == 0;
    if (!https && !(http && node.plainHttpAllowed))
        throw Failure{"other", http ? "plain HTTP is not allowed for this node by the site policy"
                                    : "the node's DICOMweb URL must start with https://"};
    return node;
}

class Curl {
  public:
    explicit Curl(const Node& node) : handle_(curl_easy_init()) {
        if (!handle_)
            throw Failure{"other", "libcurl could not be started"};
        curl_easy_setopt(handle_, CURLOPT_PROTOCOLS_STR,
                         node.plainHttpAllowed ? "http,https" : "https");
        curl_easy_setopt(handle_, CURLOPT_REDIR_PROTOCOLS_STR, "https");
        curl_easy_setopt(handle_, CURLOPT_FOLLOWLOCATION, 0L); // a redirect is an answer, not a hop
        curl_easy_setopt(handle_, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(handle_, CURLOPT_CONNECTTIMEOUT, node.connectTimeoutSeconds);
        // A PACS that stops sending (restart, network drop) ends the transfer.
        curl_easy_setopt(handle_, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(handle_, CURLOPT_LOW_SPEED_TIME, node.stallSeconds);
        curl_easy_setopt(handle_, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(handle_, CURLOPT_SSL_VERIFYHOST, 2L);
        if (!node.caBundle.empty())
            curl_easy_setopt(handle_, CURLOPT_CAINFO, node.caBundle.c_str());
        curl_easy_setopt(handle_, CURLOPT_NETRC, long(CURL_NETRC_IGNORED));
        if (node.authKind == "basic") {
            curl_easy_setopt(handle_, CURLOPT_HTTPAUTH, long(CURLAUTH_BASIC));
            curl_easy_setopt(handle_, CURLOPT_USERNAME, node.user.c_str());
            curl_easy_setopt(handle_, CURLOPT_PASSWORD, node.password.c_str());
        } else if (node.authKind == "bearer") {
            curl_easy_setopt(handle_, CURLOPT_HTTPAUTH, long(CURLAUTH_BEARER));
            curl_easy_setopt(handle_, CURLOPT_XOAUTH2_BEARER, node.token.c_str());
        }
        curl_easy_setopt(handle_, CURLOPT_USERAGENT, "radmark-pacs-fetch");
    }
    ~Curl() {
        if (headers_)
            curl_slist_free_all(headers_);
        curl_easy_cleanup(handle_);
    }
    Curl(const Curl&) = delete;
    Curl& operator=(const Curl&) = delete;

    CURL* get() const { return handle_; }
    void accept(const char* value) {
        headers_ = curl_slist_append(headers_, (std::string("Accept: ") + value).c_str());
        curl_easy_setopt(handle_, CURLOPT_HTTPHEADER, headers_);
    }
    // A query value for the URL: characters a query may hold stay as they are (the DICOM
    // wildcards * and ?, the name separator ^: some PACS, Orthanc 1.10 among them, do not decode
    // percent escapes in QIDO-RS arguments), everything else is percent-escaped.
    static std::string escape(const std::string& value) {
        static const char* hex = "0123456789ABCDEF";
        std::string out;
        for (unsigned char c : value) {
            if (std::isalnum(c) || (c != 0 && std::strchr("-._~*^?,:@/!$'()", c)))
                out += char(c);
            else {
                out += '%';
                out += hex[c >> 4];
                out += hex[c & 15];
            }
        }
        return out;
    }
    long status() const {
        long code = 0;
        curl_easy_getinfo(handle_, CURLINFO_RESPONSE_CODE, &code);
        return code;
    }
    std::string contentType() const {
        char* type = nullptr;
        curl_easy_getinfo(handle_, CURLINFO_CONTENT_TYPE, &type);
        return type ? type : "";
    }

  private:
    CURL* handle_;
    curl_slist* headers_ = nullptr;
};

// An HTTP status that is not success, in words (never the URL: it holds the study's UID).
Failure statusFailure(long status) {
    if (status == 401 || status == 403)
        return {"refused",
                "the PACS refused the credentials (HTTP " + std::to_string(status) + ")"};
    if (status == 404)
        return {"notfound", "the PACS has no such study or series (HTTP 404)"};
    return {"protocol", "the PACS answered HTTP " + std::to_string(status)};
}

Failure transferFailure(CURLcode code) {
    switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
        return {"unreachable",
                std::string("the PACS could not be reached (") + curl_easy_strerror(code) + ")"};
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
        return {"tls", std::string("the PACS's TLS certificate could not be verified against the "
                                   "node's CA bundle (") +
                           curl_easy_strerror(code) + ")"};
    case CURLE_UNSUPPORTED_PROTOCOL:
        return {"other", "the node's URL uses a protocol the site policy does not allow"};
    default:
        return {"unreachable", std::string("the transfer from the PACS broke off (") +
                                   curl_easy_strerror(code) + ")"};
    }
}

// GET url; the body (at most maxJsonBytes) when the status is 2xx.
std::string getJson(const Node& node, const std::string& url) {
    Curl curl(node);
    curl.accept("application/dicom+json");
    std::string body;
    bool tooLarge = false;
    struct Context {
        std::string* body;
        bool* tooLarge;
    } context{&body, &tooLarge};
    curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &context);
    curl_easy_setopt(
        curl.get(), CURLOPT_WRITEFUNCTION,
        +[](char* data, size_t, size_t bytes, void* user) -> size_t {
            auto* c = static_cast<Context*>(user);
            if (c->body->size() + bytes > maxJsonBytes) {
                *c->tooLarge = true;
                return 0;
            }
            c->body->append(data, bytes);
            return bytes;
        });
    const CURLcode code = curl_easy_perform(curl.get());
    if (tooLarge)
        throw Failure{"protocol", "the PACS's answer to the query is larger than 64 MiB"};
    if (code != CURLE_OK)
        throw transferFailure(code);
    const long status = curl.status();
    if (status == 204)
        return "[]";
    if (status < 200 || status > 299)
        throw statusFailure(status);
    return body;
}

json queryStudies(const json& request) {
    const Node node = nodeFrom(request);
    const json& q = request.at("query");
    std::string url = node.baseUrl + "/studies?includefield=00081030&includefield=00080061"
                                     "&includefield=00201206&includefield=00201208";
    const auto add = [&](const char* key, const std::string& value) {
        if (!value.empty())
            url += std::string("&") + key + "=" + Curl::escape(value);
    };
    add("PatientID", q.value("patientId", ""));
    add("PatientName", q.value("patientName", ""));
    add("AccessionNumber", q.value("accessionNumber", ""));
    const std::string from = q.value("dateFrom", ""), to = q.value("dateTo", "");
    if (!from.empty() || !to.empty())
        add("StudyDate", from == to ? from : from + "-" + to);
    add("ModalitiesInStudy", q.value("modality", ""));
    add("StudyDescription", q.value("studyDescription", ""));
    url += "&limit=" + std::to_string(q.value("limit", 500));
    return {{"studies", pacs::studiesFromDicomJson(getJson(node, url))}};
}

json querySeries(const json& request) {
    const Node node = nodeFrom(request);
    const std::string study = request.at("study").get<std::string>();
    if (!pacs::validUid(study))
        throw Failure{"other", "not a valid Study Instance UID"};
    const std::string url = node.baseUrl + "/studies/" + study +
                            "/series?includefield=0008103E&includefield=00201209"
                            "&includefield=00200011";
    return {{"series", pacs::seriesFromDicomJson(getJson(node, url))}};
}

// Each part of the WADO-RS response becomes a sealed memfd, sent on as soon as it is complete.
class InstanceForwarder : public pacs::MultipartSink {
  public:
    void partBegin() override {
        fd_ = UniqueFd(::memfd_create("radmark-pacs-instance", MFD_CLOEXEC | MFD_ALLOW_SEALING));
        if (!fd_)
            throw Failure{"other",
                          std::string("no memory file for an instance: ") + std::strerror(errno)};
        bytes_ = 0;
    }
    void partData(const char* data, std::size_t bytes) override {
        while (bytes > 0) {
            const ssize_t written = ::write(fd_.get(), data, bytes);
            if (written < 0) {
                if (errno == EINTR)
                    continue;
                throw Failure{"other", std::string("an instance could not be held in memory: ") +
                                           std::strerror(errno)};
            }
            data += written;
            bytes -= std::size_t(written);
            bytes_ += std::size_t(written);
        }
    }
    void partEnd() override {
        radmark::decoder::sealMemfd(fd_.get());
        std::vector<UniqueFd> fds;
        fds.push_back(std::move(fd_));
        send(MessageKind::Progress, {{"instance", ++count_}, {"bytes", bytes_}}, std::move(fds));
        afterInstanceSent(count_);
    }
    int count() const { return count_; }

  private:
    UniqueFd fd_;
    std::size_t bytes_ = 0;
    int count_ = 0;
};

json retrieveSeries(const json& request) {
    const Node node = nodeFrom(request);
    const std::string study = request.at("study").get<std::string>();
    const std::string series = request.at("series").get<std::string>();
    if (!pacs::validUid(study) || !pacs::validUid(series))
        throw Failure{"other", "not a valid Study or Series Instance UID"};
    pacs::MultipartLimits limits;
    limits.maxPartBytes = request.value("maxInstanceBytes", limits.maxPartBytes);
    Curl curl(node);
    // transfer-syntax=*: the instances as the PACS holds them (no transcoding on its side).
    curl.accept("multipart/related; type=\"application/dicom\"; transfer-syntax=*");
    const std::string url = node.baseUrl + "/studies/" + study + "/series/" + series;
    struct Context {
        Curl* curl;
        pacs::MultipartLimits limits;
        InstanceForwarder forwarder;
        std::optional<pacs::MultipartReader> reader;
        std::optional<Failure> failure;
        long status = 0;

        static size_t write(char* data, size_t, size_t bytes, void* user) {
            auto* c = static_cast<Context*>(user);
            try {
                if (!c->reader) {
                    c->status = c->curl->status();
                    if (c->status < 200 || c->status > 299)
                        throw statusFailure(c->status);
                    c->reader.emplace(pacs::boundaryOf(c->curl->contentType()), c->forwarder,
                                      c->limits);
                }
                c->reader->feed(data, bytes);
                return bytes;
            } catch (const Failure& failure) {
                c->failure = failure;
            } catch (const pacs::MultipartError& error) {
                c->failure = Failure{"protocol", error.what()};
            } catch (const std::exception& error) {
                c->failure = Failure{"other", error.what()};
            }
            return 0; // aborts the transfer
        }
    } context{&curl, limits, {}, {}, {}, 0};
    curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &context);
    curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, &Context::write);
    const CURLcode code = curl_easy_perform(curl.get());
    if (context.failure)
        throw *context.failure;
    if (code != CURLE_OK)
        throw transferFailure(code);
    const long status = curl.status();
    if (status < 200 || status > 299)
        throw statusFailure(status);
    if (!context.reader)
        throw Failure{"protocol", "the PACS answered with an empty body"};
    try {
        context.reader->finish();
    } catch (const pacs::MultipartError& error) {
        throw Failure{"protocol", error.what()};
    }
    return {{"instances", context.forwarder.count()}};
}

// A quick check that the node answers (radmark-cli pacs echo): one study asked for, its
// answer dropped unread.
json echo(const json& request) {
    const Node node = nodeFrom(request);
    getJson(node, node.baseUrl + "/studies?limit=1&includefield=0020000D");
    return {{"echo", "ok"}};
}

void handleDimse(const Message& request) {
    namespace dimse = pacs::dimse;
    const std::string op = request.body.value("op", "");
    try {
        if (op == "echo")
            send(MessageKind::Reply, dimse::echo(request.body));
        else if (op == "studies")
            send(MessageKind::Reply, dimse::queryStudies(request.body));
        else if (op == "series")
            send(MessageKind::Reply, dimse::querySeries(request.body));
        else if (op == "retrieve") {
            int count = 0;
            const json reply =
                dimse::retrieveSeries(request.body, [&](UniqueFd fd, std::size_t bytes) {
                    std::vector<UniqueFd> fds;
                    fds.push_back(std::move(fd));
                    send(MessageKind::Progress, {{"instance", ++count}, {"bytes", bytes}},
                         std::move(fds));
                    afterInstanceSent(count);
                });
            send(MessageKind::Reply, reply);
        } else
            throw Failure{"other", "unknown request '" + op + "'"};
    } catch (const dimse::Failure& failure) {
        throw Failure{failure.kind, failure.message};
    }
}

#ifdef RADMARK_PACS_FETCH_TEST_HOOKS
// Test builds only (radmark-pacs-fetch-test): what the sandbox must refuse, tried inside the
// running fetcher. Each probe that is refused with an error number reports it; a trapped one
// never returns (the parent hears {"sandbox": N}).
json runTestHook(const json& request) {
    const std::string action = request.at("action").get<std::string>();
    if (action == "exec") {
        char* const argv[] = {const_cast<char*>("/bin/true"), nullptr};
        const int r = ::execve("/bin/true", argv, nullptr);
        return {{"result", r}, {"errno", errno}};
    }
    if (action == "execveat") {
        char* const argv[] = {const_cast<char*>("/bin/true"), nullptr};
        const long r = ::syscall(SYS_execveat, AT_FDCWD, "/bin/true", argv, nullptr, 0);
        return {{"result", r}, {"errno", errno}};
    }
    if (action == "fork") {
        const long r = ::syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
        if (r == 0)
            ::_exit(0);
        return {{"result", r}, {"errno", errno}};
    }
    if (action == "ptrace") {
        const long r = ::ptrace(PTRACE_ATTACH, ::getppid(), nullptr, nullptr);
        return {{"result", r}, {"errno", errno}};
    }
    if (action == "process-vm-read") {
        char mine[8], theirs[8];
        iovec local{mine, sizeof mine}, remote{theirs, sizeof theirs};
        const long r = ::process_vm_readv(::getppid(), &local, 1, &remote, 1, 0);
        return {{"result", r}, {"errno", errno}};
    }
    if (action == "unshare") {
        const int r = ::unshare(CLONE_NEWUSER | CLONE_NEWNS);
        return {{"result", r}, {"errno", errno}};
    }
    if (action == "kill-parent") {
        const int r = ::kill(::getppid(), 0);
        return {{"result", r}, {"errno", errno}};
    }
    if (action == "open-write" || action == "open-read") {
        const std::string path = request.at("path").get<std::string>();
        const int fd = action == "open-write"
                           ? ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600)
                           : ::open(path.c_str(), O_RDONLY);
        const int error = errno;
        if (fd >= 0)
            ::close(fd);
        return {{"result", fd}, {"errno", error}};
    }
    if (action == "socket") {
        const int fd = ::socket(request.at("family").get<int>(), request.at("type").get<int>(), 0);
        const int error = errno;
        if (fd >= 0)
            ::close(fd);
        return {{"result", fd}, {"errno", error}};
    }
    if (action == "listen") { // what C-MOVE's storage SCP does
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof address;
        const bool ok = fd >= 0 &&
                        ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                        ::listen(fd, 4) == 0 &&
                        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
        const int error = errno;
        if (fd >= 0)
            ::close(fd);
        return {{"result", ok ? int(ntohs(address.sin_port)) : -1}, {"errno", error}};
    }
    if (action == "resolve") { // glibc's resolver, as curl's resolver thread and DCMTK use it
        addrinfo hints{};
        hints.ai_socktype = SOCK_STREAM;
        addrinfo* found = nullptr;
        const int r =
            ::getaddrinfo(request.at("host").get<std::string>().c_str(), "80", &hints, &found);
        int count = 0;
        for (addrinfo* a = found; a; a = a->ai_next)
            ++count;
        if (found)
            ::freeaddrinfo(found);
        return {{"result", r}, {"addresses", count}};
    }
    if (action == "exec-in-thread") { // the filter holds on every thread (TSYNC)
        std::thread([] {
            char* const argv[] = {const_cast<char*>("/bin/true"), nullptr};
            ::execve("/bin/true", argv, nullptr);
        }).join();
        return {{"result", 0}};
    }
    throw Failure{"other", "unknown test action '" + action + "'"};
}
#endif

void handle(const Message& request) {
#ifdef RADMARK_PACS_FETCH_TEST_HOOKS
    if (request.body.value("op", "") == "test")
        return send(MessageKind::Reply, runTestHook(request.body));
#endif
    if (request.body.contains("dimse"))
        return handleDimse(request);
    const std::string op = request.body.value("op", "");
    if (op == "echo")
        send(MessageKind::Reply, echo(request.body));
    else if (op == "studies")
        send(MessageKind::Reply, queryStudies(request.body));
    else if (op == "series")
        send(MessageKind::Reply, querySeries(request.body));
    else if (op == "retrieve")
        send(MessageKind::Reply, retrieveSeries(request.body));
    else
        throw Failure{"other", "unknown request '" + op + "'"};
}

} // namespace

int main() {
    // Libraries ready first (libcurl and OpenSSL initialised, DCMTK's loggers off and its
    // dictionary read), then the sandbox: no core file, not dumpable (the credentials and the
    // identified instances are in this process's memory), no new privileges, the filter.
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    try {
        pacs::dimse::initialise();
    } catch (const pacs::dimse::Failure&) {
        // Said again by each DIMSE request; the DICOMweb side works without the dictionary.
    }
    try {
        pacs::enterFetchSandbox(channel);
    } catch (const std::exception& error) {
        try {
            send(MessageKind::Failure,
                 {{"failure", "other"},
                  {"message",
                   std::string("the PACS fetcher could not confine itself: ") + error.what()}});
        } catch (const radmark::decoder::ChannelError&) {
        }
        return 2;
    }
    for (;;) {
        Message request;
        try {
            if (!radmark::decoder::receiveMessage(channel, request))
                continue;
        } catch (const radmark::decoder::ChannelError&) {
            break; // the parent is gone
        }
        try {
            handle(request);
        } catch (const Failure& failure) {
            send(MessageKind::Failure, {{"failure", failure.kind}, {"message", failure.message}});
        } catch (const radmark::decoder::ChannelError&) {
            break;
        } catch (const std::exception& error) {
            send(MessageKind::Failure, {{"failure", "other"}, {"message", error.what()}});
        }
    }
    curl_global_cleanup();
    return 0;
}
