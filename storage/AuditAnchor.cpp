#include "storage/AuditAnchor.h"

#include "storage/Errors.h"
#include "storage/Policy.h"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>

namespace radmark::storage {
namespace {

// The SD-IDs: name@<private enterprise number>. 32473 is the number RFC 5612 sets aside for
// documentation; a site that registers its own can filter on the name alone.
constexpr const char* entryElement = "radmark-audit@32473";
constexpr const char* checkpointElement = "radmark-checkpoint@32473";
// authpriv (10) * 8 + notice (5): the access log is security information.
constexpr const char* priority = "<85>1 ";

// RFC 5424 section 6.3.3: '"', '\' and ']' are escaped in a PARAM-VALUE.
std::string paramValue(const std::string& value) {
    std::string out;
    for (char c : value) {
        if (c == '"' || c == '\\' || c == ']')
            out += '\\';
        out += (c == '\n' || c == '\r') ? ' ' : c;
    }
    return out;
}

// HOSTNAME, APP-NAME and PROCID are PRINTUSASCII without spaces, or "-".
std::string headerField(const std::string& value, std::size_t max) {
    std::string out;
    for (char c : value)
        if (c > 32 && c < 127 && out.size() < max)
            out += c;
    return out.empty() ? "-" : out;
}

using Params = std::vector<std::pair<std::string, std::string>>;

std::string paramsText(const Params& params) {
    std::string out;
    for (const auto& [name, value] : params)
        out += " " + name + "=\"" + paramValue(value) + "\"";
    return out;
}

// The structured data, and the same element again as the message text: a syslog daemon that
// stores only the MSG of a message (rsyslog's traditional file format) still keeps the anchor.
std::string message(const std::string& msgid, const char* element, const Params& params,
                    const CallerContext& caller) {
    const std::string sd = std::string(element) + paramsText(params);
    return std::string(priority) + utcNow() + " " + headerField(caller.host, 255) + " " +
           headerField(caller.program.empty() ? "radmark" : caller.program, 48) + " " +
           headerField(std::to_string(caller.pid), 128) + " " + msgid + " [" + sd + "] " + sd;
}

// Reads `name="value" ...` after the element's name, up to its unescaped ']' or the line's end.
std::map<std::string, std::string> readParams(const std::string& line, std::size_t at) {
    std::map<std::string, std::string> params;
    std::size_t i = at;
    while (i < line.size()) {
        while (i < line.size() && line[i] == ' ')
            ++i;
        if (i >= line.size() || line[i] == ']')
            break;
        const std::size_t eq = line.find('=', i);
        if (eq == std::string::npos || eq + 1 >= line.size() || line[eq + 1] != '"')
            break;
        const std::string name = line.substr(i, eq - i);
        std::string value;
        std::size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
            if (line[j] == '\\' && j + 1 < line.size())
                ++j;
            value += line[j];
        }
        if (j >= line.size())
            break; // unterminated
        params.emplace(name, value);
        i = j + 1;
    }
    return params;
}

std::string required(const std::map<std::string, std::string>& params, const char* name) {
    const auto it = params.find(name);
    if (it == params.end())
        throw InvalidRequestError(std::string("an anchor lacks its ") + name);
    return it->second;
}

std::int64_t number(const std::string& text) {
    std::size_t used = 0;
    const long long value = std::stoll(text, &used);
    if (used != text.size())
        throw InvalidRequestError("an anchor holds a malformed number");
    return value;
}

} // namespace

LogSink LogSink::parse(const std::string& text) {
    LogSink sink;
    if (text.empty() || text == "none")
        return sink;
    const auto hostPort = [&](const std::string& rest) {
        const auto colon = rest.rfind(':');
        if (colon == std::string::npos || colon == 0 || colon + 1 == rest.size())
            throw PolicyError("policy: log_sink '" + text + "' needs host:port");
        sink.host = rest.substr(0, colon);
        if (sink.host.size() > 2 && sink.host.front() == '[' && sink.host.back() == ']')
            sink.host = sink.host.substr(1, sink.host.size() - 2); // [::1]:514
        try {
            std::size_t used = 0;
            sink.port = std::stoi(rest.substr(colon + 1), &used);
            if (used != rest.size() - colon - 1)
                throw std::invalid_argument("port");
        } catch (const std::exception&) {
            sink.port = 0;
        }
        if (sink.port < 1 || sink.port > 65535)
            throw PolicyError("policy: log_sink '" + text + "' has no valid port");
    };
    if (text.rfind("udp:", 0) == 0) {
        sink.kind = Kind::Udp;
        hostPort(text.substr(4));
    } else if (text.rfind("tcp:", 0) == 0) {
        sink.kind = Kind::Tcp;
        hostPort(text.substr(4));
    } else if (text.rfind("unix:", 0) == 0 || text.front() == '/') {
        sink.kind = Kind::UnixDatagram;
        sink.path = text.front() == '/' ? text : text.substr(5);
        if (sink.path.empty() || sink.path.front() != '/' ||
            sink.path.size() >= sizeof(sockaddr_un::sun_path))
            throw PolicyError("policy: log_sink '" + text + "' must name an absolute socket path");
    } else {
        throw PolicyError("policy: log_sink '" + text +
                          "' is not /dev/log, unix:PATH, udp:HOST:PORT or tcp:HOST:PORT");
    }
    return sink;
}

std::string LogSink::toText() const {
    switch (kind) {
    case Kind::None:
        return {};
    case Kind::UnixDatagram:
        return "unix:" + path;
    case Kind::Udp:
        return "udp:" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
               std::to_string(port);
    case Kind::Tcp:
        return "tcp:" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
               std::to_string(port);
    }
    return {};
}

AnchorSettings AnchorSettings::of(const Policy& policy) {
    AnchorSettings s;
    s.sink = LogSink::parse(policy.logSink);
    s.anchorFile = policy.anchorFile;
    s.checkpointEvery = policy.checkpointEvery;
    return s;
}

std::string entryAnchorMessage(const EntryAnchor& a, const CallerContext& caller) {
    return message("audit", entryElement,
                   {{"store", toHex(a.storeId)},
                    {"seq", std::to_string(a.seq)},
                    {"hash", toHex(a.hash)},
                    {"action", a.action},
                    {"user", a.user},
                    {"uid", std::to_string(a.uid)}},
                   caller);
}

std::string checkpointAnchorMessage(const Checkpoint& c, const CallerContext& caller) {
    return message("checkpoint", checkpointElement,
                   {{"store", toHex(c.storeId)},
                    {"size", std::to_string(c.treeSize)},
                    {"root", toHex(c.root)},
                    {"time", c.time},
                    {"key", toHex(c.publicKey)},
                    {"sig", toHex(c.signature)}},
                   caller);
}

std::string checkpointAnchorLine(const Checkpoint& checkpoint) {
    return nlohmann::json::parse(checkpoint.toJson()).dump() + "\n";
}

std::shared_ptr<AnchorPublisher> AnchorPublisher::forSettings(const AnchorSettings& settings) {
    static std::mutex mutex;
    static std::map<std::string, std::shared_ptr<AnchorPublisher>> publishers;
    const std::string key = settings.sink.toText() + "\n" + settings.anchorFile.string() + "\n" +
                            std::to_string(settings.checkpointEvery);
    std::lock_guard lock(mutex);
    auto& publisher = publishers[key];
    if (!publisher)
        publisher = std::make_shared<AnchorPublisher>(settings);
    return publisher;
}

AnchorPublisher::AnchorPublisher(AnchorSettings settings) : settings_(std::move(settings)) {}

AnchorPublisher::~AnchorPublisher() {
    if (socket_ >= 0)
        ::close(socket_);
}

void AnchorPublisher::fail(const std::string& what) {
    ++failures_;
    if (!warned_) {
        warned_ = true;
        std::cerr << "radmark: an access-log anchor could not be written to " << what << "\n";
    }
}

bool AnchorPublisher::send(const std::string& text) {
    const LogSink& sink = settings_.sink;
    if (sink.kind == LogSink::Kind::None)
        return true;
    std::string framed = text;
    if (sink.kind == LogSink::Kind::Tcp) // RFC 6587 octet counting
        framed = std::to_string(text.size()) + " " + text;
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (socket_ < 0) {
            if (sink.kind == LogSink::Kind::UnixDatagram) {
                socket_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                sockaddr_un address{};
                address.sun_family = AF_UNIX;
                std::strncpy(address.sun_path, sink.path.c_str(), sizeof address.sun_path - 1);
                if (socket_ >= 0 && ::connect(socket_, reinterpret_cast<sockaddr*>(&address),
                                              sizeof address) != 0) {
                    ::close(socket_);
                    socket_ = -1;
                }
            } else {
                addrinfo hints{};
                hints.ai_socktype = sink.kind == LogSink::Kind::Udp ? SOCK_DGRAM : SOCK_STREAM;
                addrinfo* found = nullptr;
                if (::getaddrinfo(sink.host.c_str(), std::to_string(sink.port).c_str(), &hints,
                                  &found) == 0) {
                    for (addrinfo* a = found; a && socket_ < 0; a = a->ai_next) {
                        socket_ =
                            ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
                        if (socket_ < 0)
                            continue;
                        // A collector that does not answer delays a save by at most a second.
                        const timeval timeout{1, 0};
                        ::setsockopt(socket_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
                        if (::connect(socket_, a->ai_addr, a->ai_addrlen) != 0) {
                            ::close(socket_);
                            socket_ = -1;
                        }
                    }
                    ::freeaddrinfo(found);
                }
            }
            if (socket_ < 0)
                continue;
        }
        std::size_t sent = 0;
        while (sent < framed.size()) {
            const ssize_t n =
                ::send(socket_, framed.data() + sent, framed.size() - sent, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            sent += std::size_t(n);
        }
        if (sent == framed.size())
            return true;
        ::close(socket_); // the receiver restarted or the connection dropped: once more
        socket_ = -1;
    }
    fail("the system log sink " + sink.toText());
    return false;
}

void AnchorPublisher::publishEntry(const EntryAnchor& anchor) {
    const std::string message = entryAnchorMessage(anchor, CallerContext::thisProcess());
    std::lock_guard lock(mutex_);
    send(message);
}

void AnchorPublisher::publishCheckpoint(const Checkpoint& checkpoint) {
    const std::string message = checkpointAnchorMessage(checkpoint, CallerContext::thisProcess());
    std::lock_guard lock(mutex_);
    send(message);
    if (settings_.anchorFile.empty())
        return;
    const std::string line = checkpointAnchorLine(checkpoint);
    const int fd = ::open(settings_.anchorFile.c_str(),
                          O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    bool ok = fd >= 0;
    if (ok) {
        // One write of the whole line: O_APPEND keeps lines of several processes whole.
        ok = ::write(fd, line.data(), line.size()) == ssize_t(line.size());
        ok = ::fdatasync(fd) == 0 && ok;
        ::close(fd);
    }
    if (!ok)
        fail("the anchor file " + settings_.anchorFile.string() + ": " + std::strerror(errno));
}

Anchors Anchors::read(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in)
        throw InvalidRequestError("cannot read the anchor file " + file.string());
    Anchors out;
    std::string line;
    while (std::getline(in, line)) {
        ++out.linesRead;
        try {
            if (!line.empty() && line.front() == '{') {
                out.checkpoints.push_back(Checkpoint::fromJson(line));
                continue;
            }
            if (const auto at = line.find(entryElement); at != std::string::npos) {
                const auto p = readParams(line, at + std::strlen(entryElement));
                EntryAnchor a;
                a.storeId = fromHex(required(p, "store"));
                a.seq = number(required(p, "seq"));
                a.hash = fromHex(required(p, "hash"));
                a.action = p.count("action") ? p.at("action") : "";
                a.user = p.count("user") ? p.at("user") : "";
                out.entries.push_back(std::move(a));
            } else if (const auto cp = line.find(checkpointElement); cp != std::string::npos) {
                const auto p = readParams(line, cp + std::strlen(checkpointElement));
                Checkpoint c;
                c.storeId = fromHex(required(p, "store"));
                c.treeSize = number(required(p, "size"));
                c.root = fromHex(required(p, "root"));
                c.time = required(p, "time");
                c.publicKey = fromHex(required(p, "key"));
                c.signature = fromHex(required(p, "sig"));
                out.checkpoints.push_back(std::move(c));
            }
        } catch (const std::exception&) {
            ++out.damaged;
        }
    }
    return out;
}

void Anchors::add(const Anchors& other) {
    checkpoints.insert(checkpoints.end(), other.checkpoints.begin(), other.checkpoints.end());
    entries.insert(entries.end(), other.entries.begin(), other.entries.end());
    linesRead += other.linesRead;
    damaged += other.damaged;
}

} // namespace radmark::storage
