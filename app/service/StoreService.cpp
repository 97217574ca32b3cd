#include "app/service/StoreService.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <ctime>
#include <iostream>
#include <set>
#include <stdexcept>

namespace radmark::service {
namespace {

volatile std::sig_atomic_t stopRequested = 0;

void onStopSignal(int) {
    stopRequested = 1;
}

std::runtime_error systemError(const std::string& what) {
    return std::runtime_error(what + ": " + std::strerror(errno));
}

// What the log says a request was: its command words, never its values (a study name or a
// comment stays out of the service's log; the store's audit log records what was done).
std::string commandOf(const std::vector<std::string>& words) {
    auto isCommandWord = [](const std::string& w) {
        return !w.empty() && w.size() <= 24 &&
               w.find_first_not_of("abcdefghijklmnopqrstuvwxyz-") == std::string::npos &&
               w[0] != '-';
    };
    std::string command;
    for (std::size_t i = 0; i < words.size() && i < 2 && isCommandWord(words[i]); ++i)
        command += (i ? " " : "") + words[i];
    return command.empty() ? "(no command)" : "'" + command + "'";
}

void checkStoreFolder(const std::filesystem::path& store) {
    struct stat st {};
    if (::lstat(store.c_str(), &st) != 0) {
        if (errno != ENOENT)
            throw systemError("this account (uid " + std::to_string(::geteuid()) +
                              ") cannot reach the store at " + store.string() +
                              " (run radmarkd as the store's owner)");
        throw std::runtime_error("no store at " + store.string() +
                                 ": create it as the service account with radmark-cli init "
                                 "--store " +
                                 store.string());
    }
    if (!S_ISDIR(st.st_mode))
        throw std::runtime_error(store.string() + " is not a folder");
    if (st.st_uid != ::geteuid())
        throw std::runtime_error(store.string() + " belongs to uid " + std::to_string(st.st_uid) +
                                 ", not to the service account (uid " +
                                 std::to_string(::geteuid()) + ")");
    if ((st.st_mode & 07777) != 0700) {
        if (::chmod(store.c_str(), 0700) != 0)
            throw systemError("cannot make " + store.string() + " owner-only");
        logLine("store folder " + store.string() + " was mode " +
                std::to_string((st.st_mode >> 6) & 7) + std::to_string((st.st_mode >> 3) & 7) +
                std::to_string(st.st_mode & 7) + ", now 700");
    }
}

sockaddr_un addressOf(const std::filesystem::path& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.string().size() >= sizeof address.sun_path)
        throw std::runtime_error("the socket path " + path.string() + " is too long");
    std::strcpy(address.sun_path, path.c_str());
    return address;
}

// A socket file left by a radmarkd that ended is removed; a live one is not taken over.
void clearStaleSocket(const std::filesystem::path& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0)
        return;
    if (!S_ISSOCK(st.st_mode))
        throw std::runtime_error(path.string() + " exists and is not a socket");
    const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const sockaddr_un address = addressOf(path);
    const bool live =
        ::connect(probe, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
    ::close(probe);
    if (live)
        throw std::runtime_error("another radmarkd serves " + path.string());
    if (::unlink(path.c_str()) != 0)
        throw systemError("cannot remove the old socket " + path.string());
}

int listenOn(const ServiceOptions& options) {
    clearStaleSocket(options.socket);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        throw systemError("cannot create a socket");
    const sockaddr_un address = addressOf(options.socket);
    // The umask (077, from hardenThisProcess) keeps it owner-only until its mode is set.
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
        throw systemError("cannot bind " + options.socket.string());
    if (options.socketGroup) {
        const group* g = ::getgrnam(options.socketGroup->c_str());
        if (!g)
            throw std::runtime_error("no group " + *options.socketGroup);
        if (::chown(options.socket.c_str(), uid_t(-1), g->gr_gid) != 0)
            throw systemError("cannot give " + options.socket.string() + " to group " +
                              *options.socketGroup);
    }
    if (::chmod(options.socket.c_str(), options.socketMode) != 0)
        throw systemError("cannot set the mode of " + options.socket.string());
    if (::listen(fd, 64) != 0)
        throw systemError("cannot listen on " + options.socket.string());
    return fd;
}

// In the worker (a child of the connection's handler): the client's descriptors become 0, 1, 2
// (and 3 for her terminal, then her files), nothing else stays open, and the command runs.
[[noreturn]] void runWorker(const ServiceOptions& options, const Request& request,
                            const PeerCredentials& peer, const RequestRunner& runRequest) {
    // Copied up first (above 64) so that moving them down onto 0, 1, 2, ... overwrites none.
    std::vector<int> wanted = {request.stdinFd, request.stdoutFd, request.stderrFd};
    if (request.terminalFd >= 0)
        wanted.push_back(request.terminalFd);
    for (const PassedFile& f : request.files)
        wanted.push_back(f.fd);
    if (request.channelFd >= 0)
        wanted.push_back(request.channelFd);
    std::vector<int> high;
    for (int fd : wanted) {
        high.push_back(::fcntl(fd, F_DUPFD_CLOEXEC, 64));
        if (high.back() < 0)
            ::_exit(126);
    }
    for (std::size_t i = 0; i < high.size(); ++i)
        if (::dup2(high[i], int(i)) < 0)
            ::_exit(126);
    ::close_range(unsigned(high.size()), ~0U, 0);
    if (::chdir("/") != 0)
        ::_exit(126);
    std::signal(SIGPIPE, SIG_DFL);
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    std::signal(SIGCHLD, SIG_DFL);
    Request own = request;
    own.stdinFd = 0;
    own.stdoutFd = 1;
    own.stderrFd = 2;
    own.terminalFd = request.terminalFd >= 0 ? 3 : -1;
    for (std::size_t k = 0; k < own.files.size(); ++k)
        own.files[k].fd = int(3 + (request.terminalFd >= 0 ? 1 : 0) + k);
    if (request.channelFd >= 0)
        own.channelFd = int(high.size()) - 1;
    int status = 1;
    try {
        status = runRequest(own, peer, options);
    } catch (const std::exception& e) {
        std::cerr << "radmarkd: " << e.what() << std::endl;
    }
    std::cout.flush();
    std::cerr.flush();
    // No exit handlers: they belong to the service, whose state this fork shares.
    ::_exit(status);
}

int pidfdOpen(pid_t pid) {
    return int(::syscall(SYS_pidfd_open, pid, 0));
}

// Waits for the worker; a client that goes away (Ctrl+C, killed) interrupts it as Ctrl+C would
// in-process, and one that ignores that for 10 s is killed. Returns the worker's exit status
// (128 + signal when a signal ended it).
int awaitWorker(pid_t worker, int connection) {
    const int pidfd = pidfdOpen(worker); // without one (old kernel) the loop looks every 100 ms
    std::optional<std::chrono::steady_clock::time_point> interruptedAt;
    int status = 0;
    while (true) {
        const pid_t done = ::waitpid(worker, &status, WNOHANG);
        if (done == worker)
            break;
        if (done < 0 && errno != EINTR) {
            status = 1 << 8;
            break;
        }
        if (interruptedAt &&
            std::chrono::steady_clock::now() - *interruptedAt > std::chrono::seconds(10))
            ::kill(worker, SIGKILL);
        pollfd watched[2];
        nfds_t count = 0;
        if (pidfd >= 0)
            watched[count++] = {pidfd, POLLIN, 0};
        const nfds_t clientAt = count;
        if (!interruptedAt)
            watched[count++] = {connection, short(POLLIN | POLLRDHUP), 0};
        const int timeout = pidfd >= 0 && !interruptedAt ? -1 : 100;
        if (::poll(watched, count, timeout) < 0)
            continue;
        if (!interruptedAt && watched[clientAt].revents != 0) {
            ::kill(worker, SIGINT);
            interruptedAt = std::chrono::steady_clock::now();
        }
    }
    if (pidfd >= 0)
        ::close(pidfd);
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return 1;
}

void refuseOn(const Request& request, const std::string& message) {
    const std::string line = "radmarkd: " + message + "\n";
    if (::write(request.stderrFd, line.data(), line.size()) < 0) {
    }
}

// One connection, in its own process (a child of the listening one).
[[noreturn]] void handleConnection(const ServiceOptions& options, int connection,
                                   const RequestRunner& runRequest) {
    std::signal(SIGCHLD, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    std::signal(SIGINT, SIG_IGN);
    PeerCredentials peer;
    try {
        peer = peerOf(connection);
    } catch (const std::exception& e) {
        logLine(std::string("connection refused: ") + e.what());
        ::_exit(1);
    }
    // A client that connects and sends nothing does not hold a handler forever.
    const timeval patience{30, 0};
    ::setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof patience);
    ReceivedRequest received = receiveRequest(connection);
    if (!received.request) {
        logLine("from " + peer.summary() + ": not a request (" + received.refusal + ")");
        ::_exit(1);
    }
    Request& request = *received.request;
    const std::string command = commandOf(request.words);
    if (request.words.empty()) {
        logLine("from " + peer.summary() + ": no command");
        refuseOn(request, "no command (see radmark-cli --help)");
        sendExitStatus(connection, 2);
        ::_exit(0);
    }
    const pid_t worker = ::fork();
    if (worker < 0) {
        refuseOn(request, "the service cannot start a worker now; try again");
        logLine("from " + peer.summary() + ": " + command + " not run: fork failed");
        sendExitStatus(connection, 1);
        ::_exit(1);
    }
    if (worker == 0)
        runWorker(options, request, peer, runRequest);
    logLine("from " + peer.summary() + ": " + command + " in worker pid " + std::to_string(worker));
    request.closeDescriptors();
    const int status = awaitWorker(worker, connection);
    logLine("from " + peer.summary() + ": " + command + " ended with exit " +
            std::to_string(status));
    try {
        sendExitStatus(connection, status);
    } catch (const std::exception&) {
        // The client went away; the log has the outcome.
    }
    ::_exit(0);
}

} // namespace

void logLine(const std::string& text) {
    const std::time_t now = std::time(nullptr);
    std::tm utc{};
    ::gmtime_r(&now, &utc);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &utc);
    std::cerr << stamp << " radmarkd[" << ::getpid() << "]: " << text << std::endl;
}

std::filesystem::path siblingCli() {
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec)
        return {};
    for (const auto& candidate : {self.parent_path() / "radmark-cli",
                                  self.parent_path().parent_path() / "bin" / "radmark-cli"})
        if (::access(candidate.c_str(), X_OK) == 0)
            return candidate;
    return {};
}

void serve(const ServiceOptions& options, const RequestRunner& runRequest) {
    if (::geteuid() == 0)
        throw std::runtime_error(rootRefusal);
    checkStoreFolder(options.store);
    const int listening = listenOn(options);

    struct sigaction stop {};
    stop.sa_handler = onStopSignal; // no SA_RESTART: accept() returns EINTR
    ::sigaction(SIGTERM, &stop, nullptr);
    ::sigaction(SIGINT, &stop, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
    // Descriptors 0-2 stay taken, so that no client descriptor received lands there.
    for (int fd = 0; fd <= 2; ++fd)
        if (::fcntl(fd, F_GETFD) < 0 && ::open("/dev/null", O_RDWR) != fd)
            throw systemError("cannot open /dev/null");
    std::set<pid_t> handlers; // reaped before each new connection is taken
    logLine("serving the store " + options.store.string() + " on " + options.socket.string() +
            " (uid " + std::to_string(::geteuid()) + ")");
    while (!stopRequested) {
        const int connection = ::accept4(listening, nullptr, nullptr, SOCK_CLOEXEC);
        if (connection < 0) {
            if (errno != EINTR && errno != ECONNABORTED)
                logLine(std::string("accept failed: ") + std::strerror(errno));
            continue;
        }
        for (pid_t done; (done = ::waitpid(-1, nullptr, WNOHANG)) > 0;)
            handlers.erase(done);
        if (handlers.size() >= options.maxRequests) {
            std::string who = "a client";
            try {
                who = peerOf(connection).summary();
            } catch (const std::exception&) {
            }
            logLine("from " + who + ": refused, " + std::to_string(handlers.size()) +
                    " requests are running (--max-requests)");
            ::close(connection);
            continue;
        }
        const pid_t handler = ::fork();
        if (handler > 0)
            handlers.insert(handler);
        if (handler == 0) {
            ::close(listening);
            handleConnection(options, connection, runRequest);
        }
        if (handler < 0)
            logLine(std::string("cannot take a connection: ") + std::strerror(errno));
        ::close(connection);
    }
    ::close(listening);
    ::unlink(options.socket.c_str());
    logLine("stopped");
}

} // namespace radmark::service
