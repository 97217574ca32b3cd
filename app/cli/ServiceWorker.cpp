#include "app/cli/ServiceWorker.h"

#include "app/cli/Command.h"

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
        {"audit verify", {"checkpoint", "audit-key"}},
        {"audit public-key", {"out"}},
        {"export", {"encrypt-to-file"}},
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
    if (command == "import" || command == "annotations import" || command == "deid" ||
        command == "info" || command == "bundle verify" || command == "dataset protocol" ||
        command == "review agreement" || command == "audit checkpoint")
        return filesNotYet;
    return "it is not available through the service";
}

bool names(const std::string& word, const std::string& option) {
    const std::string dashed = "--" + option;
    return word == dashed || word.rfind(dashed + "=", 0) == 0;
}

long number(const std::string& text, const std::string& what) {
    if (text.empty() || text.size() > 18 ||
        text.find_first_not_of("0123456789") != std::string::npos)
        throw CommandError("radmarkd gave a bad " + what, 2);
    return std::stol(text);
}

} // namespace

const ServiceRequest* serviceRequest() {
    return current().get();
}

std::vector<std::string> beginServiceRequest(const std::vector<std::string>& workerWords) {
    auto request = std::make_unique<ServiceRequest>();
    std::size_t i = 1; // after --service-worker
    for (; i < workerWords.size() && workerWords[i] != "--"; ++i) {
        const std::string& w = workerWords[i];
        if (i + 1 >= workerWords.size())
            throw CommandError("radmarkd gave " + w + " without a value", 2);
        const std::string& value = workerWords[++i];
        if (w == "--store")
            request->store = value;
        else if (w == "--policy")
            request->policy = value;
        else if (w == "--peer-uid")
            request->peerUid = number(value, "uid");
        else if (w == "--peer-gid")
            request->peerGid = number(value, "gid");
        else if (w == "--peer-pid")
            request->peerPid = number(value, "pid");
        else if (w == "--terminal-fd")
            request->terminalFd = int(number(value, "terminal descriptor"));
        else
            throw CommandError("radmarkd gave an unknown worker option " + w, 2);
    }
    if (i >= workerWords.size() || request->store.empty() || request->peerUid < 0)
        throw CommandError("--service-worker is how radmarkd runs a command: use --service SOCKET",
                           2);
    current() = std::move(request);
    return std::vector<std::string>(workerWords.begin() + long(i) + 1, workerWords.end());
}

void checkAllowedThroughService(const std::string& command, const std::vector<std::string>& words) {
    const auto entry = allowed().find(command);
    if (entry == allowed().end())
        throw CommandError("not through the service: " + refusalFor(command), 1);
    for (const std::string& w : words) {
        if (names(w, "store") || names(w, "policy"))
            throw CommandError("through the service its own store and the site's policy apply: "
                               "--store and --policy are not taken",
                               1);
        for (const std::string& option : entry->second)
            if (names(w, option))
                throw CommandError("--" + option + " through the service: it " + filesNotYet, 1);
    }
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
