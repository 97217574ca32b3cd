#include "app/service/ServiceProtocol.h"

#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace radmark::service {
namespace {

std::string accountName(uid_t uid) {
    struct passwd entry {};
    struct passwd* found = nullptr;
    std::array<char, 4096> buffer{};
    if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) != 0 || !found)
        return {};
    return found->pw_name;
}

void writeAll(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            throw std::runtime_error(std::string("the connection to the service broke: ") +
                                     std::strerror(errno));
        data += n;
        size -= std::size_t(n);
    }
}

// Reads exactly size bytes; false on end of stream or error.
bool readAll(int fd, char* data, std::size_t size) {
    while (size > 0) {
        const ssize_t n = ::recv(fd, data, size, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        data += n;
        size -= std::size_t(n);
    }
    return true;
}

std::array<unsigned char, 4> littleEndian(std::uint32_t v) {
    return {static_cast<unsigned char>(v), static_cast<unsigned char>(v >> 8),
            static_cast<unsigned char>(v >> 16), static_cast<unsigned char>(v >> 24)};
}

std::uint32_t fromLittleEndian(const unsigned char* b) {
    return std::uint32_t(b[0]) | std::uint32_t(b[1]) << 8 | std::uint32_t(b[2]) << 16 |
           std::uint32_t(b[3]) << 24;
}

} // namespace

std::string PeerCredentials::summary() const {
    std::string s = "uid " + std::to_string(uid);
    if (!osUser.empty())
        s += " (" + osUser + ")";
    return s + " gid " + std::to_string(gid) + " pid " + std::to_string(pid);
}

PeerCredentials peerOf(int socketFd) {
    struct ucred cred {};
    socklen_t length = sizeof cred;
    if (::getsockopt(socketFd, SOL_SOCKET, SO_PEERCRED, &cred, &length) != 0)
        throw std::runtime_error(std::string("no peer credentials: ") + std::strerror(errno));
    PeerCredentials peer;
    peer.uid = cred.uid;
    peer.gid = cred.gid;
    peer.pid = cred.pid;
    peer.osUser = accountName(cred.uid);
    return peer;
}

void Request::closeDescriptors() {
    for (int* fd : {&stdinFd, &stdoutFd, &stderrFd, &terminalFd, &channelFd})
        if (*fd >= 0) {
            ::close(*fd);
            *fd = -1;
        }
    for (PassedFile& f : files)
        if (f.fd >= 0) {
            ::close(f.fd);
            f.fd = -1;
        }
}

void sendRequest(int socketFd, const std::vector<std::string>& words, int terminalFd,
                 const std::vector<PassedFile>& files, RequestStdio stdio, int channelFd) {
    if (files.size() > maxPassedFiles)
        throw std::runtime_error("too many files for one request");
    std::string payload = std::string(protocolTag) + '\0';
    payload += std::string(terminalFd >= 0 ? "terminal:1" : "terminal:0") + '\0';
    payload += "files:" + std::to_string(files.size()) + '\0';
    if (channelFd >= 0)
        payload += std::string("channel:1") + '\0';
    for (const PassedFile& f : files) {
        if (f.name.find('\0') != std::string::npos || f.wordIndex >= words.size())
            throw std::runtime_error("a file's name holds a NUL character");
        payload += "file:" + std::to_string(f.wordIndex) + ":" + f.name + '\0';
    }
    for (std::size_t i = 0; i < words.size(); ++i) {
        const bool isFile = std::any_of(files.begin(), files.end(),
                                        [&](const PassedFile& f) { return f.wordIndex == i; });
        if (words[i].find('\0') != std::string::npos)
            throw std::runtime_error("an argument holds a NUL character");
        payload += (isFile ? std::string() : words[i]) + '\0';
    }
    if (payload.size() > maxRequestBytes)
        throw std::runtime_error("the command line is too long for the service");
    const auto length = littleEndian(std::uint32_t(payload.size()));

    std::vector<int> fds = {stdio.in, stdio.out, stdio.err};
    if (terminalFd >= 0)
        fds.push_back(terminalFd);
    for (const PassedFile& f : files)
        fds.push_back(f.fd);
    if (channelFd >= 0)
        fds.push_back(channelFd);
    alignas(cmsghdr) char control[CMSG_SPACE((5 + maxPassedFiles) * sizeof(int))] = {};
    iovec part{const_cast<unsigned char*>(length.data()), length.size()};
    msghdr message{};
    message.msg_iov = &part;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = CMSG_SPACE(fds.size() * sizeof(int));
    cmsghdr* header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(fds.size() * sizeof(int));
    std::memcpy(CMSG_DATA(header), fds.data(), fds.size() * sizeof(int));
    ssize_t sent;
    do
        sent = ::sendmsg(socketFd, &message, MSG_NOSIGNAL);
    while (sent < 0 && errno == EINTR);
    if (sent != ssize_t(length.size()))
        throw std::runtime_error(std::string("cannot send the request to the service: ") +
                                 std::strerror(errno));
    writeAll(socketFd, payload.data(), payload.size());
}

ReceivedRequest receiveRequest(int socketFd) {
    unsigned char length[4];
    alignas(cmsghdr) char control[CMSG_SPACE((5 + maxPassedFiles) * sizeof(int))] = {};
    iovec part{length, sizeof length};
    msghdr message{};
    message.msg_iov = &part;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    ssize_t got;
    do
        got = ::recvmsg(socketFd, &message, MSG_CMSG_CLOEXEC | MSG_WAITALL);
    while (got < 0 && errno == EINTR);

    std::vector<int> fds;
    for (cmsghdr* h = CMSG_FIRSTHDR(&message); h; h = CMSG_NXTHDR(&message, h))
        if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS) {
            const std::size_t n = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            const std::size_t first = fds.size();
            fds.resize(first + n);
            std::memcpy(fds.data() + first, CMSG_DATA(h), n * sizeof(int));
        }
    auto refuse = [&](const std::string& why) {
        for (int fd : fds)
            ::close(fd);
        return ReceivedRequest{std::nullopt, why};
    };
    if (got != ssize_t(sizeof length))
        return refuse("no request (the client closed the connection)");
    if (message.msg_flags & MSG_CTRUNC)
        return refuse("too many file descriptors");
    const std::uint32_t size = fromLittleEndian(length);
    if (size > maxRequestBytes)
        return refuse("the request is too long");
    std::string payload(size, '\0');
    if (!readAll(socketFd, payload.data(), size))
        return refuse("the request ended early");
    if (payload.empty() || payload.back() != '\0')
        return refuse("the request is not NUL-terminated");
    std::vector<std::string> words;
    for (std::size_t at = 0; at < payload.size();) {
        const std::size_t end = payload.find('\0', at);
        words.push_back(payload.substr(at, end - at));
        at = end + 1;
    }
    if (words.size() < 3 || words[0] != protocolTag)
        return refuse("not a " + std::string(protocolTag) + " request");
    if (words[1] != "terminal:0" && words[1] != "terminal:1")
        return refuse("no terminal word");
    const bool terminal = words[1] == "terminal:1";
    const std::string filesWord = words[2];
    if (filesWord.rfind("files:", 0) != 0 || filesWord.size() != 7 || filesWord[6] < '0' ||
        filesWord[6] > char('0' + maxPassedFiles))
        return refuse("no files word");
    const std::size_t fileCount = std::size_t(filesWord[6] - '0');
    const bool channel = words.size() > 3 && words[3] == "channel:1";
    const std::size_t fileWordsAt = channel ? 4 : 3;
    if (fds.size() != 3 + (terminal ? 1 : 0) + fileCount + (channel ? 1 : 0))
        return refuse("the descriptors are not stdin, stdout, stderr, the terminal, the files "
                      "and the channel");
    if (words.size() < fileWordsAt + fileCount)
        return refuse("the request ended early");
    Request request;
    std::vector<std::string> fileWords(words.begin() + long(fileWordsAt),
                                       words.begin() + long(fileWordsAt + fileCount));
    request.words.assign(words.begin() + long(fileWordsAt + fileCount), words.end());
    for (std::size_t k = 0; k < fileCount; ++k) {
        const std::string& w = fileWords[k];
        const std::size_t colon = w.find(':', 5);
        if (w.rfind("file:", 0) != 0 || colon == std::string::npos || colon == 5 || colon > 12 ||
            w.find_first_not_of("0123456789", 5) != colon)
            return refuse("a bad file word");
        PassedFile f;
        f.wordIndex = std::stoul(w.substr(5, colon - 5));
        f.name = w.substr(colon + 1);
        f.fd = fds[3 + (terminal ? 1 : 0) + k];
        if (f.wordIndex >= request.words.size() || !request.words[f.wordIndex].empty())
            return refuse("a file word names no empty word");
        request.files.push_back(std::move(f));
    }
    request.stdinFd = fds[0];
    request.stdoutFd = fds[1];
    request.stderrFd = fds[2];
    request.terminalFd = terminal ? fds[3] : -1;
    if (channel) {
        request.channelFd = fds.back();
        int type = 0;
        socklen_t size = sizeof type;
        if (::getsockopt(request.channelFd, SOL_SOCKET, SO_TYPE, &type, &size) != 0 ||
            type != SOCK_SEQPACKET) {
            request.closeDescriptors();
            return ReceivedRequest{std::nullopt, "the channel is not a SOCK_SEQPACKET socket"};
        }
    }
    return ReceivedRequest{std::move(request), {}};
}

void sendExitStatus(int socketFd, int status) {
    const auto bytes = littleEndian(std::uint32_t(status));
    writeAll(socketFd, reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

std::optional<int> receiveExitStatus(int socketFd) {
    unsigned char bytes[4];
    if (!readAll(socketFd, reinterpret_cast<char*>(bytes), sizeof bytes))
        return std::nullopt;
    return int(fromLittleEndian(bytes));
}

} // namespace radmark::service
