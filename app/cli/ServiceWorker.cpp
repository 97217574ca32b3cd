#include "app/cli/ServiceWorker.h"

#include "app/cli/Command.h"
#include "app/service/StoreService.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>

namespace radmark::cli {
namespace {

std::unique_ptr<ServiceRequest>& current() {
    static std::unique_ptr<ServiceRequest> request;
    return request;
}

// Commands allowed through the service, each with the options it has that name a file (refused:
// the worker would open it as the service account).
const std::map<std::string, std::vector<std::string>>& allowed() {
    static const std::map<std::string, std::vector<std::string>> table = {
        {"studies", {}},
        {"versions", {}},
        {"assign", {}},
        {"user add", {}},
        {"user list", {}},
        {"user disable", {}},
        {"store rotate-key", {}},
        {"user passwd", {}},
        {"user role", {}},
        {"user credentials", {}},
        {"review queue", {}},
        {"review submit", {}},
        {"review diff", {}},
        {"review comment", {}},
        {"review comments", {}},
        {"review reply", {}},
        {"review resolve", {}},
        {"review decide", {}},
        {"review history", {}},
        {"review consensus", {}},
        {"dataset create", {}},
        {"dataset edit", {}},
        {"dataset list", {}},
        {"dataset add", {}},
        {"dataset remove", {}},
        {"dataset version", {}},
        {"dataset split", {}},
        {"dataset map", {}},
        {"dataset unmap", {}},
        {"dataset labels", {}},
        {"dataset freeze", {}},
        {"dataset show", {}},
        {"audit show", {}},
        {"audit verify", {}},
        {"annotations import", {}},
        {"audit public-key", {"out"}},
        {"service session", {}},
        {"service open-volume", {}},
        {"service save-labels", {}},
        {"export", {"encrypt-to-file"}},
        // The PACS nodes, their credentials and the fetcher are the service's (the site policy
        // names them): the admin's request reads no file of hers.
        {"pacs echo", {}},
        {"pacs query", {}},
        {"pacs import", {}},
    };
    return table;
}

// The options that name a file the command reads: radmark-cli --service opens it on the client's
// side and passes it; the worker reads a private copy (never a path the client wrote).
const std::map<std::string, std::vector<std::string>>& inputFiles() {
    static const std::map<std::string, std::vector<std::string>> table = {
        {"annotations import", {"mask", "segments"}},
        {"audit verify", {"checkpoint", "audit-key"}},
    };
    return table;
}

const char* const filesNotYet =
    "names files on your side, which the service does not open for you yet; an admin runs it "
    "as the service account (sudo -u radmark radmark-cli ...) or on a personal store";

std::string refusalFor(const std::string& command) {
    if (command == "init")
        return "the service's store exists already; a store is created once by the site's IT, "
               "as the service account (see radmarkd --help)";
    if (command.rfind("bench", 0) == 0)
        return "benchmarks run in-process (without --service)";
    if (command == "destinations")
        return "it reads the policy, not the store: run it without --service";
    if (command == "import" || command == "deid" || command == "info" ||
        command == "bundle verify" || command == "dataset protocol" ||
        command == "review agreement" || command == "audit checkpoint")
        return filesNotYet;
    return "it is not available through the service";
}

bool names(const std::string& word, const std::string& option) {
    const std::string dashed = "--" + option;
    return word == dashed || word.rfind(dashed + "=", 0) == 0;
}

void copyInto(const std::filesystem::path& folder, const std::vector<service::PassedFile>& files,
              std::vector<std::string>& words, std::set<std::string>& copies);

// The client's files, copied into a folder of the worker's own (0700, the service account's):
// the command reads the copy, so what it opens is what she passed, never a path she chose.
// Only regular files, at most 2 GiB each (a pipe or /dev/zero would not end).
std::filesystem::path copyPassedFiles(const std::vector<service::PassedFile>& files,
                                      std::vector<std::string>& words,
                                      std::set<std::string>& copies) {
    if (files.empty())
        return {};
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/radmark-request.XXXXXX";
    if (!::mkdtemp(pattern.data()))
        throw CommandError(std::string("the service cannot make a private folder: ") +
                           std::strerror(errno));
    const std::filesystem::path folder = pattern;
    try {
        copyInto(folder, files, words, copies);
    } catch (...) {
        std::error_code ignored;
        std::filesystem::remove_all(folder, ignored);
        throw;
    }
    return folder;
}

void copyInto(const std::filesystem::path& folder, const std::vector<service::PassedFile>& files,
              std::vector<std::string>& words, std::set<std::string>& copies) {
    const off_t limit = off_t(2) << 30;
    for (std::size_t k = 0; k < files.size(); ++k) {
        const service::PassedFile& f = files[k];
        struct stat st {};
        if (::fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode))
            throw CommandError(f.name + " is not a regular file: the service takes files only");
        if (st.st_size > limit)
            throw CommandError(f.name + " is larger than 2 GiB");
        std::string name = f.name;
        if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos)
            name = "file";
        const std::filesystem::path copy = folder / std::to_string(k) / name;
        std::filesystem::create_directory(copy.parent_path());
        const int out = ::open(copy.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (out < 0)
            throw CommandError("the service cannot copy " + name);
        std::vector<char> buffer(1 << 16);
        off_t total = 0;
        ssize_t n;
        while (total <= limit && (n = ::read(f.fd, buffer.data(), buffer.size())) > 0) {
            total += n;
            if (::write(out, buffer.data(), std::size_t(n)) != n) {
                ::close(out);
                throw CommandError("the service cannot copy " + name + " (disk full?)");
            }
        }
        ::close(out);
        if (n < 0 || total > limit)
            throw CommandError("the service cannot read " + name);
        words[f.wordIndex] = copy.string();
        copies.insert(copy.string());
    }
}

// In the worker: the request becomes this process's (serviceRequest()), her files are copied,
// and the command line runs as in-process.
int serveOneRequest(const service::Request& request, const service::PeerCredentials& peer,
                    const service::ServiceOptions& options) {
    auto served = std::make_unique<ServiceRequest>();
    served->store = options.store;
    served->policy = options.policy;
    served->peerUid = long(peer.uid);
    served->peerGid = long(peer.gid);
    served->peerPid = long(peer.pid);
    served->terminalFd = request.terminalFd;
    served->channelFd = request.channelFd;
    std::vector<std::string> words = request.words;
    try {
        served->privateFolder = copyPassedFiles(request.files, words, served->filesFromClient);
    } catch (const CommandError& e) {
        std::cerr << "radmark-cli: " << e.what() << "\n";
        return e.exitCode;
    }
    current() = std::move(served);
    const int status = runCommandLine(std::move(words));
    if (!current()->privateFolder.empty()) {
        std::error_code ignored;
        std::filesystem::remove_all(current()->privateFolder, ignored);
    }
    return status;
}

} // namespace

const ServiceRequest* serviceRequest() {
    return current().get();
}

int runServiceDaemon(const std::vector<std::string>& words) {
    const auto parsed =
        service::parseServiceOptions(std::vector<std::string>(words.begin() + 1, words.end()));
    if (parsed.exitNow)
        return *parsed.exitNow;
    ::prctl(PR_SET_NAME, "radmarkd", 0, 0, 0);
    try {
        service::serve(parsed.options, serveOneRequest);
    } catch (const std::exception& e) {
        std::cerr << "radmarkd: " << e.what() << "\n";
        return 1;
    }
    return 0;
}

void checkAllowedThroughService(const std::string& command, const std::vector<std::string>& words) {
    const auto entry = allowed().find(command);
    if (entry == allowed().end())
        throw CommandError("not through the service: " + refusalFor(command), 1);
    const auto inputs = inputFiles().find(command);
    const ServiceRequest* request = serviceRequest();
    for (std::size_t i = 0; i < words.size(); ++i) {
        const std::string& w = words[i];
        if (names(w, "store") || names(w, "policy"))
            throw CommandError("through the service its own store and the site's policy apply: "
                               "--store and --policy are not taken",
                               1);
        for (const std::string& option : entry->second)
            if (names(w, option))
                throw CommandError("--" + option + " through the service: it " + filesNotYet, 1);
        if (inputs == inputFiles().end())
            continue;
        for (const std::string& option : inputs->second)
            if (names(w, option) && (w != "--" + option || i + 1 >= words.size() || !request ||
                                     !request->filesFromClient.count(words[i + 1])))
                throw CommandError("--" + option +
                                       " through the service takes a file radmark-cli opened "
                                       "on your side (radmark-cli --service ... --" +
                                       option + " FILE)",
                                   1);
    }
}

std::vector<service::PassedFile> openInputFiles(std::vector<std::string>& words) {
    std::string command;
    for (std::size_t n = 2; n >= 1 && command.empty(); --n)
        if (words.size() >= n) {
            std::string name = words[0];
            if (n == 2)
                name += " " + words[1];
            if (inputFiles().count(name))
                command = name;
        }
    std::vector<service::PassedFile> files;
    if (command.empty())
        return files;
    for (std::size_t i = 0; i < words.size(); ++i)
        for (const std::string& option : inputFiles().at(command)) {
            const std::string joined = "--" + option + "=";
            if (words[i].rfind(joined, 0) == 0) {
                const std::string value = words[i].substr(joined.size());
                words[i] = "--" + option;
                words.insert(words.begin() + long(i) + 1, value);
            }
            if (words[i] != "--" + option || i + 1 >= words.size())
                continue;
            const std::string& path = words[i + 1];
            const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                for (const auto& f : files)
                    ::close(f.fd);
                throw CommandError("cannot read " + path + ": " + std::strerror(errno), 1);
            }
            files.push_back({i + 1, std::filesystem::path(path).filename().string(), fd});
        }
    if (files.size() > service::maxPassedFiles) {
        for (const auto& f : files)
            ::close(f.fd);
        throw CommandError("too many files for one request", 2);
    }
    return files;
}

std::vector<std::string> withServiceStore(std::vector<std::string> words) {
    const ServiceRequest* request = serviceRequest();
    if (!request)
        return words;
    // First, so that no word of the client's can take them as its value.
    std::vector<std::string> service = {"--store", request->store.string()};
    if (request->policy)
        service.insert(service.end(), {"--policy", request->policy->string()});
    words.insert(words.begin(), service.begin(), service.end());
    return words;
}

std::vector<std::string> commandsThroughService() {
    std::vector<std::string> names;
    for (const auto& [name, fileOptions] : allowed())
        names.push_back(name);
    return names;
}

} // namespace radmark::cli
