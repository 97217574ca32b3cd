#include "app/cli/ServiceWorker.h"

#include "app/cli/Command.h"
#include "app/service/StoreService.h"

#include <sys/prctl.h>

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
        service::serve(parsed.options,
                       [](const service::Request& request, const service::PeerCredentials& peer,
                          const service::ServiceOptions& options) {
                           auto served = std::make_unique<ServiceRequest>();
                           served->store = options.store;
                           served->policy = options.policy;
                           served->peerUid = long(peer.uid);
                           served->peerGid = long(peer.gid);
                           served->peerPid = long(peer.pid);
                           served->terminalFd = request.terminalFd;
                           current() = std::move(served);
                           return runCommandLine(request.words);
                       });
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
