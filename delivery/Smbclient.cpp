#include "delivery/Smbclient.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>
#include <regex>
#include <sstream>

namespace radmark::delivery {
namespace {

struct Sentence {
    DeliveryProblem problem;
    const char* text;
};

// What smbclient's NT_STATUS codes mean to the person exporting.
const std::map<std::string, Sentence>& sentences() {
    static const std::map<std::string, Sentence> table = {
        {"NT_STATUS_LOGON_FAILURE",
         {DeliveryProblem::Authentication, "the share refused the user name or password"}},
        {"NT_STATUS_WRONG_PASSWORD",
         {DeliveryProblem::Authentication, "the share refused the user name or password"}},
        {"NT_STATUS_ACCOUNT_DISABLED",
         {DeliveryProblem::Authentication, "the share's account is disabled"}},
        {"NT_STATUS_ACCOUNT_LOCKED_OUT",
         {DeliveryProblem::Authentication, "the share's account is locked out"}},
        {"NT_STATUS_ACCOUNT_EXPIRED",
         {DeliveryProblem::Authentication, "the share's account has expired"}},
        {"NT_STATUS_PASSWORD_EXPIRED",
         {DeliveryProblem::Authentication, "the share account's password has expired"}},
        {"NT_STATUS_PASSWORD_MUST_CHANGE",
         {DeliveryProblem::Authentication, "the share account's password must be changed"}},
        {"NT_STATUS_ACCOUNT_RESTRICTION",
         {DeliveryProblem::Authentication, "the share's account may not log in from here"}},
        {"NT_STATUS_CONNECTION_REFUSED",
         {DeliveryProblem::Unreachable, "nothing answers at the share's address (connection "
                                        "refused)"}},
        {"NT_STATUS_HOST_UNREACHABLE",
         {DeliveryProblem::Unreachable, "the share's host cannot be reached"}},
        {"NT_STATUS_NETWORK_UNREACHABLE",
         {DeliveryProblem::Unreachable, "the share's network cannot be reached"}},
        {"NT_STATUS_IO_TIMEOUT",
         {DeliveryProblem::Unreachable, "the share did not answer in time"}},
        {"NT_STATUS_ACCESS_DENIED",
         {DeliveryProblem::AccessDenied, "the share does not let this account write there"}},
        {"NT_STATUS_MEDIA_WRITE_PROTECTED",
         {DeliveryProblem::AccessDenied, "the share is read-only"}},
        {"NT_STATUS_DISK_FULL", {DeliveryProblem::NoSpace, "the share is full"}},
        {"NT_STATUS_QUOTA_EXCEEDED",
         {DeliveryProblem::NoSpace, "the share account's quota is used up"}},
        {"NT_STATUS_CONNECTION_DISCONNECTED",
         {DeliveryProblem::ConnectionLost, "the share dropped the connection"}},
        {"NT_STATUS_CONNECTION_RESET",
         {DeliveryProblem::ConnectionLost, "the share dropped the connection"}},
        {"NT_STATUS_CONNECTION_ABORTED",
         {DeliveryProblem::ConnectionLost, "the share dropped the connection"}},
        {"NT_STATUS_NETWORK_NAME_DELETED",
         {DeliveryProblem::ConnectionLost, "the share went away during the delivery"}},
        {"NT_STATUS_PIPE_BROKEN",
         {DeliveryProblem::ConnectionLost, "the share dropped the connection"}},
        {"NT_STATUS_END_OF_FILE",
         {DeliveryProblem::ConnectionLost, "the share dropped the connection"}},
        {"NT_STATUS_INVALID_NETWORK_RESPONSE",
         {DeliveryProblem::ConnectionLost, "the share answered with something that is not SMB"}},
        {"NT_STATUS_OBJECT_PATH_NOT_FOUND",
         {DeliveryProblem::Other, "the folder does not exist on the share"}},
        {"NT_STATUS_OBJECT_NAME_NOT_FOUND",
         {DeliveryProblem::Other, "the folder does not exist on the share"}},
        {"NT_STATUS_NOT_A_DIRECTORY",
         {DeliveryProblem::Other, "the folder on the share is not a folder"}},
        {"NT_STATUS_OBJECT_NAME_COLLISION",
         {DeliveryProblem::AlreadyExists, "a file or folder of that name is already there"}},
        {"NT_STATUS_SHARING_VIOLATION",
         {DeliveryProblem::Other, "a file on the share is in use by someone else"}},
        {"NT_STATUS_OBJECT_NAME_INVALID",
         {DeliveryProblem::InvalidBundle, "the share does not accept a file name of the bundle"}},
    };
    return table;
}

std::string hostText(const SmbLocation& where) {
    return where.host + (where.port == 445 ? "" : ":" + std::to_string(where.port));
}

void writeAll(int fd, const std::string& text) {
    // A child that exited early must not kill us with SIGPIPE: block it for this thread, then
    // swallow a pending one.
    sigset_t pipeSet, old;
    sigemptyset(&pipeSet);
    sigaddset(&pipeSet, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipeSet, &old);
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        done += static_cast<std::size_t>(n);
    }
    timespec zero{0, 0};
    while (sigtimedwait(&pipeSet, nullptr, &zero) > 0) {
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

} // namespace

std::optional<SmbFailure> findFailure(const std::vector<std::string>& lines,
                                      const SmbLocation& where,
                                      const std::set<std::string>& benign) {
    static const std::regex status("NT_STATUS_[A-Z0-9_]+");
    const std::string host = hostText(where);
    for (const auto& line : lines) {
        if (line.find("failing connect") != std::string::npos &&
            line.find("ncryption") != std::string::npos) {
            return SmbFailure{true, DeliveryProblem::Other, "",
                              "the server " + host +
                                  " does not encrypt SMB3 sessions, and Radmark sends nothing "
                                  "over an unencrypted one"};
        }
        std::smatch m;
        if (!std::regex_search(line, m, status))
            continue;
        const std::string code = m.str();
        if (benign.count(code))
            continue;
        if (line.find("protocol negotiation failed") != std::string::npos)
            return SmbFailure{true, DeliveryProblem::Other, code,
                              "the server " + host + " does not offer SMB3 (" + code + ")"};
        if (line.find("do_connect") != std::string::npos && code != "NT_STATUS_CONNECTION_REFUSED")
            return SmbFailure{false, DeliveryProblem::Unreachable, code,
                              "cannot reach " + host +
                                  ": the name does not resolve or nothing "
                                  "answers (" +
                                  code + ")"};
        if (code == "NT_STATUS_BAD_NETWORK_NAME")
            return SmbFailure{false, DeliveryProblem::Unreachable, code,
                              "the server " + host + " has no share named " + where.share + " (" +
                                  code + ")"};
        const auto known = sentences().find(code);
        if (known != sentences().end()) {
            std::string text = known->second.text;
            if (known->second.problem == DeliveryProblem::Unreachable)
                text += " (" + host + ")";
            return SmbFailure{false, known->second.problem, code, text + " (" + code + ")"};
        }
        return SmbFailure{false, DeliveryProblem::Other, code,
                          "the share " + where.url() + " answered " + code};
    }
    return std::nullopt;
}

void throwFailure(const SmbFailure& failure, const std::string& doing) {
    if (failure.refused)
        throw DestinationRefused(failure.message);
    throw DeliveryFailed(failure.problem, doing + ": " + failure.message);
}

std::string smbQuote(const std::string& text) {
    for (unsigned char ch : text)
        if (ch == '"' || ch < 0x20 || ch == 0x7f)
            throw DeliveryFailed(DeliveryProblem::InvalidBundle,
                                 "the name '" + text +
                                     "' holds a quote or a control character, "
                                     "which cannot be written to a share");
    return "\"" + text + "\"";
}

std::vector<RemoteEntry> parseListing(const std::vector<std::string>& lines,
                                      const std::string& remoteTop) {
    std::string top = remoteTop;
    while (top.size() > 1 && top.back() == '\\')
        top.pop_back();
    std::vector<RemoteEntry> entries;
    std::string current; // relative folder being listed
    for (const auto& raw : lines) {
        std::string line = raw;
        while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
            line.pop_back();
        if (line.empty())
            continue;
        if (line[0] == '\\') {
            std::string dir = line;
            if (dir.size() >= top.size() && strncasecmp(dir.c_str(), top.c_str(), top.size()) == 0)
                dir = dir.substr(top.size());
            while (!dir.empty() && dir[0] == '\\')
                dir.erase(0, 1);
            for (char& ch : dir)
                if (ch == '\\')
                    ch = '/';
            current = dir;
            continue;
        }
        if (line.rfind("  ", 0) != 0)
            continue;
        // "  NAME   ATTR SIZE  Www Mmm dd hh:mm:ss yyyy": read from the right.
        std::vector<std::pair<std::size_t, std::string>> tokens; // start, text
        for (std::size_t i = 2; i < line.size();) {
            while (i < line.size() && line[i] == ' ')
                ++i;
            const std::size_t start = i;
            while (i < line.size() && line[i] != ' ')
                ++i;
            if (i > start)
                tokens.emplace_back(start, line.substr(start, i - start));
        }
        if (tokens.size() < 7)
            continue;
        const std::size_t n = tokens.size();
        const std::string date = tokens[n - 5].second + " " + tokens[n - 4].second + " " +
                                 tokens[n - 3].second + " " + tokens[n - 2].second + " " +
                                 tokens[n - 1].second;
        std::tm tm{};
        if (!strptime(date.c_str(), "%a %b %d %H:%M:%S %Y", &tm))
            continue;
        const std::string& sizeText = tokens[n - 6].second;
        if (sizeText.find_first_not_of("0123456789") != std::string::npos)
            continue;
        std::size_t nameEnd = tokens[n - 6].first;
        std::string attributes;
        const std::string& maybeAttributes = tokens[n - 7].second;
        if (n >= 8 &&
            maybeAttributes.find_first_not_of("ADHSRNVCIOEPLTUXBM") == std::string::npos) {
            attributes = maybeAttributes;
            nameEnd = tokens[n - 7].first;
        }
        std::string name = line.substr(2, nameEnd - 2);
        while (!name.empty() && name.back() == ' ')
            name.pop_back();
        if (name.empty() || name == "." || name == "..")
            continue;
        tm.tm_isdst = -1;
        RemoteEntry e;
        e.path = current.empty() ? name : current + "/" + name;
        e.directory = attributes.find('D') != std::string::npos;
        e.size = std::stoull(sizeText);
        e.modified = std::mktime(&tm);
        entries.push_back(std::move(e));
    }
    return entries;
}

Smbclient::Smbclient(SmbLocation location, SmbCredentials credentials,
                     std::filesystem::path program, int timeoutSeconds)
    : location_(std::move(location)), credentials_(std::move(credentials)),
      program_(std::move(program)), timeoutSeconds_(timeoutSeconds) {}

SmbclientResult Smbclient::run(const std::vector<std::string>& commands,
                               const std::function<bool(const std::string&)>& onLine,
                               const std::function<bool()>& keepGoing) const {
    SmbclientSession session(*this);
    SmbclientResult result = session.exchange(commands, onLine, keepGoing);
    const int exitCode = session.close();
    if (!result.stopped)
        result.exitCode = exitCode;
    return result;
}

namespace {
const char* doneMarker = "Current directory is "; // what "pwd" answers
} // namespace

SmbclientSession::SmbclientSession(const Smbclient& client) {
    if (::access(client.program_.c_str(), X_OK) != 0)
        throw DeliveryFailed(DeliveryProblem::Other,
                             "Samba's smbclient program is not installed (" +
                                 client.program_.string() + ")");
    // smbclient writes its answers through stdio, fully buffered into a pipe, and reads its
    // commands with poll() then fgets(), which leaves a second buffered line unread until more
    // input comes: stdbuf makes its output line-buffered and its input unbuffered, so that each
    // command runs and is answered as it arrives.
    std::vector<std::string> args = {"/usr/bin/stdbuf",
                                     "-i0",
                                     "-oL",
                                     "-eL",
                                     client.program_.string(),
                                     client.location_.service(),
                                     "-p",
                                     std::to_string(client.location_.port),
                                     "-A",
                                     "/dev/fd/3",
                                     "-s",
                                     "/dev/null",
                                     "-m",
                                     "SMB3",
                                     "--option=client min protocol=SMB3",
                                     "--client-protection=encrypt",
                                     "-t",
                                     std::to_string(client.timeoutSeconds_)};
    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env = {"LC_ALL=C", "PATH=/usr/bin:/bin"};
    if (const char* home = std::getenv("HOME"))
        env.push_back(std::string("HOME=") + home);
    std::vector<char*> envp;
    for (auto& e : env)
        envp.push_back(e.data());
    envp.push_back(nullptr);

    int input[2] = {-1, -1}, output[2] = {-1, -1}, auth[2] = {-1, -1};
    if (::pipe2(input, O_CLOEXEC) != 0 || ::pipe2(output, O_CLOEXEC) != 0 ||
        ::pipe2(auth, O_CLOEXEC) != 0) {
        for (int fd : {input[0], input[1], output[0], output[1], auth[0], auth[1]})
            if (fd >= 0)
                ::close(fd);
        throw DeliveryFailed(DeliveryProblem::Other, "cannot start smbclient (no pipe)");
    }
    // The authentication file is a few lines: it fits in the pipe before smbclient reads it.
    {
        std::string text = client.credentials_.authenticationFileText();
        writeAll(auth[1], text);
        ::explicit_bzero(text.data(), text.size());
    }
    ::close(auth[1]);

    pid_ = ::fork();
    if (pid_ < 0) {
        for (int fd : {input[0], input[1], output[0], output[1], auth[0]})
            ::close(fd);
        throw DeliveryFailed(DeliveryProblem::Other, "cannot start smbclient (fork failed)");
    }
    if (pid_ == 0) {
        ::setsid(); // no controlling terminal: smbclient can never prompt
        ::dup2(input[0], 0);
        ::dup2(output[1], 1);
        ::dup2(output[1], 2);
        ::dup2(auth[0], 3);
        ::close_range(4, ~0U, 0);
        ::execve(argv[0], argv.data(), envp.data());
        ::_exit(127);
    }
    ::close(input[0]);
    ::close(output[1]);
    ::close(auth[0]);
    in_ = input[1];
    out_ = output[0];
    ::fcntl(in_, F_SETFL, O_NONBLOCK);
}

SmbclientSession::~SmbclientSession() {
    close();
}

SmbclientResult SmbclientSession::exchange(const std::vector<std::string>& commands,
                                           const std::function<bool(const std::string&)>& onLine,
                                           const std::function<bool()>& keepGoing) {
    SmbclientResult result;
    if (pid_ <= 0 || out_ < 0) {
        result.exitCode = exitCode_;
        return result;
    }
    std::string script;
    for (const auto& c : commands)
        script += c + "\n";
    script += "pwd\n";
    std::size_t written = 0;
    bool answered = false;
    auto stop = [&] {
        result.stopped = true;
        ::kill(pid_, SIGKILL);
    };
    auto deliverLine = [&](std::string line) {
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        if (line.rfind(doneMarker, 0) == 0) {
            answered = true;
            return;
        }
        result.lines.push_back(line);
        if (onLine && !result.stopped && !onLine(line))
            stop();
    };
    sigset_t pipeSet, oldMask;
    sigemptyset(&pipeSet);
    sigaddset(&pipeSet, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipeSet, &oldMask);
    bool ended = false;
    while (!answered && !ended) {
        pollfd fds[2];
        int count = 0;
        fds[count++] = {out_, POLLIN, 0};
        const bool writing = in_ >= 0 && written < script.size() && !result.stopped;
        if (writing)
            fds[count++] = {in_, POLLOUT, 0};
        const int ready = ::poll(fds, static_cast<nfds_t>(count), 250);
        if (keepGoing && !result.stopped && !keepGoing())
            stop();
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready < 0)
            break;
        if (writing && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
            const ssize_t n = ::write(in_, script.data() + written, script.size() - written);
            if (n > 0)
                written += static_cast<std::size_t>(n);
            else if (n < 0 && errno != EAGAIN && errno != EINTR)
                written = script.size(); // the other end is gone; read what it said
        }
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            char buffer[8192];
            const ssize_t n = ::read(out_, buffer, sizeof buffer);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                ended = true;
                break;
            }
            pending_.append(buffer, static_cast<std::size_t>(n));
            std::size_t newline;
            while ((newline = pending_.find('\n')) != std::string::npos) {
                deliverLine(pending_.substr(0, newline));
                pending_.erase(0, newline + 1);
            }
        }
    }
    timespec zero{0, 0};
    while (sigtimedwait(&pipeSet, nullptr, &zero) > 0) {
    }
    pthread_sigmask(SIG_SETMASK, &oldMask, nullptr);
    if (ended || result.stopped) {
        if (!pending_.empty())
            deliverLine(pending_);
        pending_.clear();
        result.exitCode = close();
    } else {
        result.exitCode = 0;
    }
    return result;
}

int SmbclientSession::close() {
    if (pid_ <= 0)
        return exitCode_;
    if (in_ >= 0) {
        sigset_t pipeSet, oldMask;
        sigemptyset(&pipeSet);
        sigaddset(&pipeSet, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &pipeSet, &oldMask);
        if (::write(in_, "exit\n", 5) < 0) {
        }
        timespec zero{0, 0};
        while (sigtimedwait(&pipeSet, nullptr, &zero) > 0) {
        }
        pthread_sigmask(SIG_SETMASK, &oldMask, nullptr);
        ::close(in_);
        in_ = -1;
    }
    if (out_ >= 0) {
        // Drain so that smbclient never blocks on a full pipe while exiting.
        char buffer[4096];
        while (::read(out_, buffer, sizeof buffer) > 0) {
        }
        ::close(out_);
        out_ = -1;
    }
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    exitCode_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return exitCode_;
}

} // namespace radmark::delivery
