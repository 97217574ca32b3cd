#include "bundle/AgeEncryption.h"

#include "bundle/DeterministicTar.h"
#include "bundle/Errors.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace radmark::bundle {

namespace fs = std::filesystem;

namespace {

struct Fd {
    int fd = -1;
    Fd() = default;
    explicit Fd(int f) : fd(f) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { reset(); }
    void reset() {
        if (fd >= 0)
            ::close(fd);
        fd = -1;
    }
};

// Writing into a pipe whose reader died raises SIGPIPE; the process's disposition is not the
// library's to change, so this thread blocks it while writing and consumes a pending one.
class SigpipeBlocked {
  public:
    SigpipeBlocked() {
        sigemptyset(&pipeSet_);
        sigaddset(&pipeSet_, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &pipeSet_, &previous_);
    }
    ~SigpipeBlocked() {
        const timespec none{0, 0};
        while (sigtimedwait(&pipeSet_, nullptr, &none) > 0) {
        }
        pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
    }

  private:
    sigset_t pipeSet_{};
    sigset_t previous_{};
};

bool safeArgument(const std::string& s) {
    return !s.empty() && s.front() != '-' && s.find('\0') == std::string::npos &&
           s.find_first_of("\r\n") == std::string::npos;
}

// age's message without its "age: " prefix and the line asking to report bugs.
std::string firstErrorLine(const std::string& text) {
    std::size_t start = 0;
    std::string first;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos)
            end = text.size();
        std::string line = text.substr(start, end - start);
        start = end + 1;
        if (line.rfind("age: ", 0) == 0)
            line = line.substr(5);
        if (line.rfind("error: ", 0) == 0)
            return line.substr(7);
        if (first.empty())
            first = line;
    }
    return first.empty() ? "it failed" : first;
}

} // namespace

void encryptBagWithAge(const fs::path& bag, const fs::path& output, const AgeRecipients& recipients,
                       const AgeOptions& options) {
    if (recipients.recipients.empty() && recipients.recipientFiles.empty())
        throw BundleError("no recipient to encrypt the bundle to");
    std::vector<std::string> words = {options.agePath.string(), "--encrypt"};
    for (const auto& r : recipients.recipients) {
        if (!safeArgument(r))
            throw BundleError("\"" + r + "\" is not an age recipient");
        words.insert(words.end(), {"-r", r});
    }
    for (const auto& f : recipients.recipientFiles) {
        if (!safeArgument(f.string()))
            throw BundleError(f.string() + " is not a recipients file name");
        words.insert(words.end(), {"-R", f.string()});
    }
    std::error_code ec;
    if (!fs::is_regular_file(options.agePath, ec))
        throw BundleError("the age program is not installed (" + options.agePath.string() +
                          "; Debian package age)");

    fs::path folder = bag.lexically_normal();
    if (!folder.has_filename())
        folder = folder.parent_path(); // "bundle/" names the folder "bundle"
    const std::string rootName = folder.filename().string();
    const fs::path partial = output.string() + ".partial";
    ::unlink(partial.c_str());
    Fd out(::open(partial.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (out.fd < 0)
        throw BundleError("cannot write " + partial.string() + ": " + std::strerror(errno));
    int input[2], errors[2];
    if (::pipe2(input, O_CLOEXEC) != 0)
        throw BundleError(std::string("cannot start age: ") + std::strerror(errno));
    Fd inputRead(input[0]), inputWrite(input[1]);
    if (::pipe2(errors, O_CLOEXEC) != 0)
        throw BundleError(std::string("cannot start age: ") + std::strerror(errno));
    Fd errorsRead(errors[0]), errorsWrite(errors[1]);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, inputRead.fd, 0);
    posix_spawn_file_actions_adddup2(&actions, out.fd, 1);
    posix_spawn_file_actions_adddup2(&actions, errorsWrite.fd, 2);
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    std::vector<char*> argv;
    for (auto& w : words)
        argv.push_back(w.data());
    argv.push_back(nullptr);
    char* environment[] = {nullptr};
    pid_t pid = 0;
    const int spawned = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environment);
    posix_spawn_file_actions_destroy(&actions);
    inputRead.reset();
    errorsWrite.reset();
    out.reset();
    if (spawned != 0) {
        ::unlink(partial.c_str());
        throw BundleError("cannot start " + options.agePath.string() + ": " +
                          std::strerror(spawned));
    }

    std::string failure;
    {
        SigpipeBlocked blocked;
        try {
            writeDeterministicTar(bag, {rootName, options.tarMtime},
                                  [&](const char* data, std::size_t size) {
                                      while (size > 0) {
                                          const ssize_t n = ::write(inputWrite.fd, data, size);
                                          if (n < 0 && errno == EINTR)
                                              continue;
                                          if (n < 0)
                                              throw BundleError("age stopped reading the bundle");
                                          data += n;
                                          size -= std::size_t(n);
                                      }
                                  });
        } catch (const std::exception& e) {
            failure = e.what(); // age is still waited for and the partial file removed
        }
        inputWrite.reset();
    }
    std::string ageMessage;
    char buffer[4096];
    for (ssize_t n; (n = ::read(errorsRead.fd, buffer, sizeof buffer)) != 0;) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        if (ageMessage.size() < 4096)
            ageMessage.append(buffer, std::size_t(n));
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    const bool ageOk = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!ageOk || !failure.empty()) {
        ::unlink(partial.c_str());
        if (!ageOk)
            throw BundleError("age could not encrypt the bundle: " + firstErrorLine(ageMessage));
        throw BundleError(failure);
    }
    Fd done(::open(partial.c_str(), O_RDONLY | O_CLOEXEC));
    if (done.fd < 0 || ::fsync(done.fd) != 0 || ::rename(partial.c_str(), output.c_str()) != 0) {
        const int error = errno;
        ::unlink(partial.c_str());
        throw BundleError("cannot write " + output.string() + ": " + std::strerror(error));
    }
}

} // namespace radmark::bundle
