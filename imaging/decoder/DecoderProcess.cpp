#include "imaging/decoder/DecoderProcess.h"

#include "imaging/StudyReader.h"
#include "imaging/deid/Defacing.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace radmark::decoder {
namespace fs = std::filesystem;
using nlohmann::json;

fs::path locateDecoderProgram() {
    if (const char* chosen = std::getenv("RADMARK_DECODER"); chosen && *chosen)
        return chosen;
    std::error_code error;
    const fs::path self = fs::read_symlink("/proc/self/exe", error);
    if (!error) {
        const fs::path beside = self.parent_path() / "radmark-decoder";
        if (fs::exists(beside, error))
            return beside;
    }
#ifdef RADMARK_DECODER_BUILD_PATH
    return RADMARK_DECODER_BUILD_PATH;
#else
    return "radmark-decoder";
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

DecoderProcess::DecoderProcess(DecoderSettings settings) : settings_(std::move(settings)) {
    if (settings_.program.empty())
        settings_.program = locateDecoderProgram();
    if (settings_.memoryLimitBytes == 0)
        settings_.memoryLimitBytes = std::max(physicalMemory(), std::size_t(4) << 30);
}

DecoderProcess::~DecoderProcess() {
    stop();
}

void DecoderProcess::start() {
    int ends[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends) != 0)
        throw DecoderFailure(
            std::string("the decoder could not be started: ") + std::strerror(errno), false);
    UniqueFd parentEnd(ends[0]);
    // Above the descriptors posix_spawn maps, so that dup2 onto 3 always clears close-on-exec.
    UniqueFd childEnd(::fcntl(ends[1], F_DUPFD_CLOEXEC, 10));
    ::close(ends[1]);
    if (!childEnd)
        throw DecoderFailure("the decoder could not be started: no descriptor", false);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    // The libraries' own messages (GDCM's assertion text) would add lines to what the user sees:
    // they are dropped unless someone debugging asks for them.
    const char* keepStderr = std::getenv("RADMARK_DECODER_STDERR");
    if (!keepStderr || std::string(keepStderr) != "1")
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, childEnd.get(), 3);
    posix_spawn_file_actions_addclosefrom_np(&actions, 4);

    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setsigdefault(&attributes, &all);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    const std::string program = settings_.program.string();
    std::vector<std::string> arguments = {program, "--memory-limit",
                                          std::to_string(settings_.memoryLimitBytes), "--cpu-limit",
                                          std::to_string(settings_.cpuSeconds)};
    if (!settings_.writableFolder.empty())
        arguments.insert(arguments.end(), {"--writable", settings_.writableFolder.string()});
    if (settings_.ocr)
        arguments.insert(arguments.end(), {"--ocr", "1"});
    std::vector<std::string> environment = {"LC_ALL=C", "PATH=/usr/bin:/bin"};
    for (const char* passed :
         {"TESSDATA_PREFIX", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "OMP_THREAD_LIMIT"})
        if (const char* value = std::getenv(passed))
            environment.push_back(std::string(passed) + "=" + value);
    std::vector<char*> argv, envp;
    for (auto& a : arguments)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : environment)
        envp.push_back(e.data());
    envp.push_back(nullptr);

    pid_t pid = -1;
    const int spawned =
        ::posix_spawn(&pid, program.c_str(), &actions, &attributes, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    childEnd = UniqueFd();
    if (spawned != 0)
        throw DecoderFailure(
            "the decoder (" + program + ") could not be started: " + std::strerror(spawned), false);
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
    if (killFirst)
        ::kill(pid_, SIGKILL);
    int status = 0;
    pid_t got;
    do
        got = ::waitpid(pid_, &status, 0);
    while (got < 0 && errno == EINTR);
    pid_ = -1;
    return got > 0 ? describeStatus(status, settings_.cpuSeconds) : "the decoder ended";
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
