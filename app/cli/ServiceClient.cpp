#include "app/cli/ServiceClient.h"

#include "app/cli/Command.h"
#include "app/cli/ServiceWorker.h"
#include "app/service/ServiceProtocol.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

namespace radmark::cli {

std::optional<std::string> takeServiceSocket(std::vector<std::string>& words) {
    if (words.empty())
        return std::nullopt;
    const std::string prefix = "--service=";
    std::optional<std::string> socket;
    if (words[0] == "--service") {
        if (words.size() < 2 || words[1].empty())
            throw CommandError("--service wants the service's socket, for example --service " +
                                   std::string(service::defaultSocketPath),
                               2);
        socket = words[1];
        words.erase(words.begin(), words.begin() + 2);
    } else if (words[0].rfind(prefix, 0) == 0) {
        socket = words[0].substr(prefix.size());
        words.erase(words.begin());
    }
    return socket;
}

int runThroughService(const std::string& socketPath, const std::vector<std::string>& words) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (fd < 0 || socketPath.size() >= sizeof address.sun_path) {
        std::cerr << "radmark-cli: cannot use the socket " << socketPath << "\n";
        return 1;
    }
    std::strcpy(address.sun_path, socketPath.c_str());
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        const int error = errno;
        std::cerr << "radmark-cli: cannot reach the Radmark service at " << socketPath << ": "
                  << (error == ENOENT || error == ECONNREFUSED ? "radmarkd is not running there"
                      : error == EACCES ? "this account may not connect to it"
                                        : std::strerror(error))
                  << "\n";
        ::close(fd);
        return 1;
    }
    std::vector<std::string> sent = words;
    std::vector<service::PassedFile> files;
    try {
        files = openInputFiles(sent);
    } catch (const CommandError& e) {
        std::cerr << "radmark-cli: " << e.what() << "\n";
        ::close(fd);
        return e.exitCode;
    }
    // The terminal, when there is one, is where the service asks for passwords (echo off).
    const int terminal = ::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    std::cout.flush();
    std::cerr.flush();
    std::optional<int> status;
    try {
        service::sendRequest(fd, sent, terminal, files);
        status = service::receiveExitStatus(fd);
    } catch (const std::exception& e) {
        std::cerr << "radmark-cli: " << e.what() << "\n";
    }
    if (terminal >= 0)
        ::close(terminal);
    for (const auto& f : files)
        ::close(f.fd);
    ::close(fd);
    if (!status) {
        std::cerr << "radmark-cli: the Radmark service ended the request without an answer (busy "
                     "or stopping: its log says which)\n";
        return 1;
    }
    return *status;
}

} // namespace radmark::cli
