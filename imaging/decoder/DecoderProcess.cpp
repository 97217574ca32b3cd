#include "imaging/decoder/DecoderProcess.h"

#include "imaging/StudyReader.h"
#include "imaging/deid/Defacing.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <tuple>
#include <utility>
#include <vector>

namespace radmark::decoder {
namespace fs = std::filesystem;
using nlohmann::json;

fs::path locateDecoderProgram() {
#ifdef RADMARK_DECODER_ENV_OVERRIDE
    // Test builds only (tests/decoder run radmark-decoder-test this way). An installed build
    // ignores the variable: a user could otherwise run a program of her own as the decoder.
    if (const char* chosen = std::getenv("RADMARK_DECODER"); chosen && *chosen)
        return chosen;
#endif
    std::error_code error;
    const fs::path self = fs::read_symlink("/proc/self/exe", error);
    const fs::path beside = error ? fs::path() : self.parent_path() / "radmark-decoder";
    if (!beside.empty() && fs::exists(beside, error))
        return beside;
#ifdef RADMARK_DECODER_BUILD_PATH
    return RADMARK_DECODER_BUILD_PATH;
#else
    // Installed: beside the program or nowhere (never a bare name looked up in the caller's
    // folder); spawning it then fails with a clear error.
    return beside.empty() ? fs::path("/nonexistent/radmark-decoder") : beside;
#endif
}

namespace {

std::size_t physicalMemory() {
    const long pages = ::sysconf(_SC_PHYS_PAGES);
    const long size = ::sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? std::size_t(pages) * std::size_t(size) : (std::size_t(8) << 30);
}

const char* signalName(int signal) {
    switch (signal) {
    case SIGSEGV:
        return "SIGSEGV";
    case SIGABRT:
        return "SIGABRT";
    case SIGBUS:
        return "SIGBUS";
    case SIGFPE:
        return "SIGFPE";
    case SIGILL:
        return "SIGILL";
    case SIGKILL:
        return "SIGKILL";
    case SIGSYS:
        return "SIGSYS";
    case SIGXCPU:
        return "SIGXCPU";
    case SIGTERM:
        return "SIGTERM";
    default:
        return nullptr;
    }
}

std::string describeStatus(int status, int cpuSeconds) {
    if (WIFEXITED(status))
        return WEXITSTATUS(status) == 127 ? "the decoder could not be started"
                                          : "the decoder ended unexpectedly (exit status " +
                                                std::to_string(WEXITSTATUS(status)) + ")";
    if (!WIFSIGNALED(status))
        return "the decoder ended unexpectedly";
    const int signal = WTERMSIG(status);
    const char* name = signalName(signal);
    const std::string tag = name ? name : "signal " + std::to_string(signal);
    switch (signal) {
    case SIGABRT:
        return "the decoder aborted (SIGABRT: a failed check in the DICOM library)";
    case SIGKILL:
        return "the decoder was killed (SIGKILL), most likely for lack of memory";
    case SIGXCPU:
        return "the decoder used more than " + std::to_string(cpuSeconds) +
               " s of processor time and was stopped (SIGXCPU)";
    case SIGSYS:
        return "the decoder was stopped by its sandbox (SIGSYS)";
    default:
        return "the decoder crashed (" + tag + ")";
    }
}

} // namespace

int spawnHelperProgram(const std::string& program, std::vector<std::string> arguments,
                       int channelEnd, const char* stderrVariable,
                       const std::vector<const char*>& passedEnvironment, pid_t& pid) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    const char* keepStderr = std::getenv(stderrVariable);
    if (!keepStderr || std::string(keepStderr) != "1")
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, channelEnd, 3);
    posix_spawn_file_actions_addclosefrom_np(&actions, 4);

    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setsigdefault(&attributes, &all);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    arguments.insert(arguments.begin(), program);
    std::vector<std::string> environment = {"LC_ALL=C", "PATH=/usr/bin:/bin"};
    for (const char* passed : passedEnvironment)
        if (const char* value = std::getenv(passed))
            environment.push_back(std::string(passed) + "=" + value);
    std::vector<char*> argv, envp;
    for (auto& a : arguments)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : environment)
        envp.push_back(e.data());
    envp.push_back(nullptr);

    const int spawned =
        ::posix_spawn(&pid, program.c_str(), &actions, &attributes, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    return spawned;
}

DecoderProcess::DecoderProcess(DecoderSettings settings) : settings_(std::move(settings)) {
    if (settings_.program.empty())
        settings_.program = locateDecoderProgram();
    if (settings_.memoryLimitBytes == 0)
        settings_.memoryLimitBytes = std::max(physicalMemory(), std::size_t(4) << 30);
}

DecoderProcess::~DecoderProcess() {
    stop();
}

namespace {

// The decoder program with fd 3 = channelEnd. The libraries' own messages (GDCM's assertion
// text) would add lines to what the user sees: stderr is dropped unless RADMARK_DECODER_STDERR=1.
pid_t spawnDecoder(const std::string& program, std::vector<std::string> arguments, int channelEnd) {
    pid_t pid = -1;
    const int spawned = spawnHelperProgram(
        program, std::move(arguments), channelEnd, "RADMARK_DECODER_STDERR",
        {"TESSDATA_PREFIX", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "OMP_THREAD_LIMIT"},
        pid);
    if (spawned != 0)
        throw DecoderFailure(
            "the decoder (" + program + ") could not be started: " + std::strerror(spawned), false);
    return pid;
}

// A connected SOCK_SEQPACKET pair: [0] stays here, [1] (above the descriptors posix_spawn maps,
// so that dup2 onto 3 always clears close-on-exec) goes to the child.
std::pair<UniqueFd, UniqueFd> channelPair() {
    int ends[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends) != 0)
        throw DecoderFailure(
            std::string("the decoder could not be started: ") + std::strerror(errno), false);
    UniqueFd parentEnd(ends[0]);
    UniqueFd childEnd(::fcntl(ends[1], F_DUPFD_CLOEXEC, 10));
    ::close(ends[1]);
    if (!childEnd)
        throw DecoderFailure("the decoder could not be started: no descriptor", false);
    return {std::move(parentEnd), std::move(childEnd)};
}

// The zygote of each decoder program (`radmark-decoder --zygote`, DecoderMain.cpp): exec'd
// once per process of ours, it forks a child per request, which then confines itself as an
// exec'd one does. It holds no key and reads no file. A zygote belongs to the process that
// started it: a fork of that process (bench open's memory probe) starts its own.
class Zygotes {
  public:
    static Zygotes& instance() {
        static Zygotes zygotes;
        return zygotes;
    }

    void prestart(const std::string& program, bool ocr) {
        std::lock_guard lock(mutex_);
        if (!enabled())
            return;
        Zygote& z = zygoteOf(program);
        if (!z.socket)
            spawn(program, z, ocr);
    }

    // A child forked with these settings, its channel childEnd. False when there is no zygote
    // (disabled, or it failed): the caller then spawns the child itself.
    bool fork(const DecoderSettings& settings, UniqueFd& childEnd, pid_t& pid, UniqueFd& status,
              UniqueFd& pidfd) {
        std::lock_guard lock(mutex_);
        if (!enabled())
            return false;
        const std::string program = settings.program.string();
        Zygote& z = zygoteOf(program);
        // A zygote that died since (killed, out of memory) is replaced once.
        const bool hadOne = bool(z.socket);
        if (forkFrom(program, z, settings, childEnd, pid, status, pidfd))
            return true;
        return hadOne && childEnd && forkFrom(program, z, settings, childEnd, pid, status, pidfd);
    }

  private:
    struct Zygote {
        UniqueFd socket;
        pid_t pid = -1;
        pid_t owner = -1;
        bool ready = false; // its hello arrived
    };

    bool forkFrom(const std::string& program, Zygote& z, const DecoderSettings& settings,
                  UniqueFd& childEnd, pid_t& pid, UniqueFd& status, UniqueFd& pidfd) {
        if (!z.socket && !spawn(program, z, settings.ocr))
            return false;
        Message reply;
        try {
            if (!z.ready) {
                Message hello;
                if (!receiveMessage(z.socket.get(), hello, 30'000) ||
                    !hello.body.contains("zygote"))
                    return drop(z);
                z.ready = true;
            }
            // The child's end is given away only with a request the zygote took.
            Message request;
            request.body = {{"op", "fork"},
                            {"memoryLimit", settings.memoryLimitBytes},
                            {"cpuLimit", settings.cpuSeconds},
                            {"writable", settings.writableFolder.string()},
                            {"ocr", settings.ocr}};
            request.fds.push_back(UniqueFd(::fcntl(childEnd.get(), F_DUPFD_CLOEXEC, 10)));
            sendMessage(z.socket.get(), request);
            childEnd = UniqueFd();
            if (!receiveMessage(z.socket.get(), reply, 30'000))
                return drop(z);
        } catch (const ChannelError&) {
            return drop(z);
        }
        if (reply.kind != MessageKind::Reply || !reply.body.contains("pid") || reply.fds.empty())
            return drop(z);
        pid = reply.body.value("pid", -1);
        status = std::move(reply.fds[0]);
        if (reply.fds.size() > 1)
            pidfd = std::move(reply.fds[1]);
        return pid > 0;
    }

    // RADMARK_DECODER_ZYGOTE=0: every child is exec'd (to compare, or to debug one child).
    static bool enabled() {
        const char* zygote = std::getenv("RADMARK_DECODER_ZYGOTE");
        return !zygote || std::string(zygote) != "0";
    }

    Zygote& zygoteOf(const std::string& program) {
        Zygote& z = zygotes_[program];
        if (z.owner != ::getpid()) { // inherited through a fork: our parent's, not ours
            (void)z.socket.release();
            z = Zygote{};
        }
        return z;
    }

    // ocr: the zygote loads the OCR module before its hello (else at the first child with OCR).
    bool spawn(const std::string& program, Zygote& z, bool ocr) {
        try {
            auto [parentEnd, childEnd] = channelPair();
            std::vector<std::string> arguments = {"--zygote"};
            if (ocr)
                arguments.insert(arguments.end(), {"--ocr", "1"});
            z.pid = spawnDecoder(program, arguments, childEnd.get());
            z.socket = std::move(parentEnd);
            z.owner = ::getpid();
            z.ready = false;
            return true;
        } catch (const DecoderFailure&) {
            return false;
        }
    }

    bool drop(Zygote& z) {
        z.socket = UniqueFd();
        if (z.pid > 0 && z.owner == ::getpid()) {
            ::kill(z.pid, SIGKILL);
            while (::waitpid(z.pid, nullptr, 0) < 0 && errno == EINTR) {
            }
        }
        z = Zygote{};
        z.owner = ::getpid();
        return false;
    }

    std::mutex mutex_;
    std::map<std::string, Zygote> zygotes_;
};

} // namespace

void prestartDecoder(DecoderUse use, const fs::path& program) {
    Zygotes::instance().prestart((program.empty() ? locateDecoderProgram() : program).string(),
                                 use == DecoderUse::Deidentify);
}

void DecoderProcess::start() {
    pid_t pid = -1;
    auto [parentEnd, childEnd] = channelPair();
    if (!Zygotes::instance().fork(settings_, childEnd, pid, status_, pidfd_)) {
        // No zygote: this child is exec'd itself, on a fresh pair (the first end may be gone).
        std::tie(parentEnd, childEnd) = channelPair();
        std::vector<std::string> arguments = {"--memory-limit",
                                              std::to_string(settings_.memoryLimitBytes),
                                              "--cpu-limit", std::to_string(settings_.cpuSeconds)};
        if (!settings_.writableFolder.empty())
            arguments.insert(arguments.end(), {"--writable", settings_.writableFolder.string()});
        if (settings_.ocr)
            arguments.insert(arguments.end(), {"--ocr", "1"});
        pid = spawnDecoder(settings_.program.string(), arguments, childEnd.get());
        status_ = UniqueFd();
        pidfd_ = UniqueFd();
    }
    childEnd = UniqueFd();
    const std::string program = settings_.program.string();
    pid_ = pid;
    socket_ = std::move(parentEnd);
    Message hello;
    try {
        if (!receiveMessage(socket_.get(), hello, 30'000))
            ended("the decoder did not start within 30 s");
    } catch (const ChannelError&) {
        ended("the decoder (" + program + ") could not be started");
    }
    if (hello.kind == MessageKind::Failure) {
        const std::string why = hello.body.value("message", "");
        reap(true);
        throw DecoderFailure("the decoder could not confine itself: " + why, false);
    }
    writesConfined_ = hello.body.value("writesConfined", false);
}

std::string DecoderProcess::reap(bool killFirst) {
    if (pid_ <= 0)
        return "the decoder is not running";
    socket_ = UniqueFd();
    int status = 0;
    bool got = false;
    if (status_) {
        // Forked by the zygote, which reaps it and writes its wait status to this pipe. SIGKILL
        // goes through its pidfd: never to a later process that got the same pid.
        if (killFirst) {
            if (pidfd_)
                ::syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
            else {
                pollfd dead{status_.get(), POLLIN, 0};
                if (::poll(&dead, 1, 0) == 0) // not reaped yet: the pid is still its own
                    ::kill(pid_, SIGKILL);
            }
        }
        std::size_t read = 0;
        while (read < sizeof status) {
            const ssize_t n = ::read(status_.get(), reinterpret_cast<char*>(&status) + read,
                                     sizeof status - read);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            read += std::size_t(n);
        }
        got = read == sizeof status;
        status_ = UniqueFd();
        pidfd_ = UniqueFd();
    } else {
        if (killFirst)
            ::kill(pid_, SIGKILL);
        pid_t reaped;
        do
            reaped = ::waitpid(pid_, &status, 0);
        while (reaped < 0 && errno == EINTR);
        got = reaped > 0;
    }
    pid_ = -1;
    return got ? describeStatus(status, settings_.cpuSeconds) : "the decoder ended";
}

void DecoderProcess::ended(const std::string& fallback) {
    // The socket closes as the child dies: wait for it and say how it ended.
    const std::string cause = pid_ > 0 ? reap(false) : fallback;
    throw DecoderFailure(cause.empty() ? fallback : cause, true);
}

void DecoderProcess::setOcr(bool ocr) {
    if (ocr && !settings_.ocr)
        stop();
    settings_.ocr = ocr;
}

void DecoderProcess::stop() {
    // The child is idle or no longer wanted, and holds nothing that needs an orderly end: SIGKILL
    // spares the wait for its libraries' destructors (GDCM's dictionaries: a dozen
    // milliseconds), and the parent waits only for the kernel to tear it down.
    if (pid_ > 0)
        reap(true);
}

Message DecoderProcess::call(const json& request,
                             const std::function<void(const json&)>& onProgress,
                             std::vector<UniqueFd> fds) {
    if (!running())
        start();
    Message out;
    out.kind = MessageKind::Request;
    out.body = request;
    out.fds = std::move(fds);
    try {
        sendMessage(socket_.get(), out);
    } catch (const ChannelError&) {
        ended("the decoder stopped before it got the request");
    }
    const auto quiet = int(settings_.quietLimit.count());
    for (;;) {
        Message reply;
        try {
            if (!receiveMessage(socket_.get(), reply, quiet)) {
                reap(true);
                throw DecoderFailure("the decoder stopped responding (no progress for " +
                                         std::to_string(quiet / 1000) + " s) and was ended",
                                     true);
            }
        } catch (const ChannelError& broken) {
            if (pid_ > 0 && std::string(broken.what()).find("closed") == std::string::npos)
                reap(true); // it spoke nonsense: end it
            ended("the decoder ended unexpectedly");
        }
        switch (reply.kind) {
        case MessageKind::Progress:
            if (onProgress)
                onProgress(reply.body);
            continue;
        case MessageKind::Reply:
            return reply;
        case MessageKind::Request:
            reap(true);
            throw DecoderFailure("the decoder broke the protocol and was ended", true);
        case MessageKind::Failure:
            break;
        }
        if (reply.body.contains("sandbox")) {
            const int call = reply.body.value("sandbox", -1);
            reap(false);
            throw DecoderFailure("the decoder was stopped by its sandbox (system call " +
                                     std::to_string(call) + ")",
                                 true);
        }
        const std::string kind = reply.body.value("failure", "error");
        const std::string message = reply.body.value("message", "");
        if (kind == "read")
            throw imaging::ReadError(reply.body.value("file", ""), message);
        if (kind == "defacing")
            throw deid::DefacingError(message);
        if (kind == "memory")
            throw DecoderFailure("the decoder ran out of memory", false);
        throw DecoderFailure("the decoder failed: " + message, false);
    }
}

} // namespace radmark::decoder
