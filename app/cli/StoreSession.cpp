#include "app/cli/StoreSession.h"

#include "app/cli/ServiceWorker.h"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

namespace radmark::cli {

std::set<std::string> storeOptions(std::set<std::string> own) {
    own.insert({"store", "policy", "user", "as", "password-stdin", "break-glass"});
    return own;
}

void declareStoreFlags(Arguments& args, std::set<std::string> extra) {
    extra.insert("password-stdin");
    args.declareFlags(std::move(extra));
}

storage::Store openStore(const Arguments& args) {
    std::optional<std::filesystem::path> given;
    if (auto s = args.option("store"))
        given = *s;
    // The site's policy applies; --policy FILE may only tighten it (looser values: a note each).
    std::optional<storage::Policy> userPolicy;
    if (auto p = args.option("policy"))
        userPolicy = storage::Policy::load(std::filesystem::path(*p));
    storage::Store store(storage::resolveStoreDir(given), storage::Policy::system(),
                         std::move(userPolicy));
    for (const auto& line : store.ignoredPolicyValues())
        std::cerr << "radmark-cli: note: --policy " << line << "\n";
    return store;
}

namespace {
// The terminal: this process's, or the client's when the store service runs the command.
int openTerminal() {
    if (const ServiceRequest* request = serviceRequest())
        return request->terminalFd < 0 ? -1 : ::fcntl(request->terminalFd, F_DUPFD_CLOEXEC, 0);
    return ::open("/dev/tty", O_RDWR | O_CLOEXEC);
}

std::string readTerminalLine(const std::string& prompt) {
    const int fd = openTerminal();
    if (fd < 0)
        throw CommandError("no terminal to ask for a password: use --password-stdin", 2);
    termios old{};
    const bool isTerminal = ::tcgetattr(fd, &old) == 0;
    if (isTerminal) {
        termios quiet = old;
        quiet.c_lflag &= ~tcflag_t(ECHO);
        ::tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    const std::string ask = prompt + ": ";
    if (::write(fd, ask.data(), ask.size()) < 0) {
    }
    std::string line;
    char c;
    while (::read(fd, &c, 1) == 1 && c != '\n')
        line.push_back(c);
    if (isTerminal)
        ::tcsetattr(fd, TCSAFLUSH, &old);
    if (::write(fd, "\n", 1) < 0) {
    }
    ::close(fd);
    return line;
}
} // namespace

std::string readSecret(const Arguments& args, CommandIo& io, const std::string& prompt) {
    if (args.flag("password-stdin")) {
        std::string line;
        if (!std::getline(io.in, line))
            throw CommandError("expected a line on stdin for: " + prompt, 2);
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        return line;
    }
    return readTerminalLine(prompt);
}

std::string readNewPassword(const Arguments& args, CommandIo& io, const std::string& prompt) {
    const std::string first = readSecret(args, io, prompt);
    if (!args.flag("password-stdin") && readTerminalLine(prompt + " (again)") != first)
        throw CommandError("the two passwords differ; nothing was changed");
    return first;
}

storage::Session loginFromArguments(const Arguments& args, CommandIo& io) {
    const storage::Store store = openStore(args);
    if (auto reason = args.option("break-glass")) {
        const std::string hex = readSecret(args, io, "recovery key");
        const storage::SecureBytes key = storage::SecureBytes::fromHex(hex, 32);
        if (key.empty())
            throw CommandError("that is not a recovery key (64 hexadecimal digits)");
        return store.breakGlass(key, *reason);
    }
    const std::string user = args.option("as") ? *args.option("as") : args.required("user");
    const std::string password = readSecret(args, io, "password for " + user);
    return store.login(user, password);
}

void writeSecretFile(const std::string& path, const std::string& text) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        throw CommandError("cannot create " + path + " (it must not exist yet)");
    const bool ok =
        ::write(fd, text.data(), text.size()) == ssize_t(text.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) {
        ::unlink(path.c_str());
        throw CommandError("cannot write " + path);
    }
}

bool reportImportResult(const std::string& subject, const storage::StudyImportResult& r,
                        CommandIo& io) {
    const bool ok = r.status == storage::ImportStatus::Imported ||
                    r.status == storage::ImportStatus::AlreadyInStore;
    std::ostream& line = ok ? io.out : io.err;
    line << subject << ": " << storage::importStatusName(r.status);
    if (!r.label.empty())
        line << " " << r.label;
    if (r.studyId)
        line << " (study " << r.studyId << ")";
    if (!r.format.empty())
        line << ", " << r.format << ", " << r.seriesCount << " series, " << r.fileCount
             << " file(s)";
    if (!r.reason.empty())
        line << ": " << r.reason;
    line << "\n";
    for (const auto& warning : r.warnings)
        io.err << "  warning: " << warning << "\n";
    return ok;
}

} // namespace radmark::cli
