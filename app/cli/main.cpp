// radmark-cli: the headless face of Radmark, for scripts, auditors and IT.
// Every command calls the same library functions as the GUI.

#include "app/cli/Command.h"
#include "app/cli/ServiceClient.h"
#include "app/cli/ServiceWorker.h"
#include "storage/ProcessHygiene.h"
#if __has_include("storage/CallerContext.h")
#include "storage/CallerContext.h"
#endif

#include <algorithm>
#include <iostream>
#include <map>
#include <optional>

namespace radmark::cli {

namespace {
std::vector<Command>& registry() {
    static std::vector<Command> all;
    return all;
}

// Every command, or only those of one group ("bench": bench open, bench deid, ...).
void printCommands(std::ostream& out, const std::string& group = {}) {
    auto sorted = commands();
    std::sort(sorted.begin(), sorted.end(),
              [](const Command& a, const Command& b) { return a.name < b.name; });
    for (const auto& c : sorted)
        if (group.empty() || c.name.rfind(group + " ", 0) == 0)
            out << "  " << c.name << " " << c.usage << "\n";
}

void printUsage(std::ostream& out) {
    out << "usage: radmark-cli COMMAND [ARGS]\n"
           "       radmark-cli --service SOCKET COMMAND [ARGS]  (through radmarkd, the store "
           "service of a shared workstation: see radmarkd --help)\n\ncommands:\n";
    printCommands(out);
}

bool isGroup(const std::string& word) {
    return std::any_of(commands().begin(), commands().end(),
                       [&](const Command& c) { return c.name.rfind(word + " ", 0) == 0; });
}
} // namespace

bool registerCommand(Command command) {
    registry().push_back(std::move(command));
    return true;
}

const std::vector<Command>& commands() {
    return registry();
}

int runCommandLine(std::vector<std::string> words) {
    if (words.empty() || words[0] == "--help" || words[0] == "-h" || words[0] == "help") {
        printUsage(words.empty() ? std::cerr : std::cout);
        return words.empty() ? 2 : 0;
    }
    const Command* chosen = nullptr;
    std::size_t used = 0;
    for (const auto& c : commands()) {
        if (words.size() >= 2 && c.name == words[0] + " " + words[1]) {
            chosen = &c;
            used = 2;
            break;
        }
    }
    if (!chosen) {
        for (const auto& c : commands())
            if (c.name == words[0]) {
                chosen = &c;
                used = 1;
            }
    }
    if (!chosen && isGroup(words[0])) {
        // "radmark-cli bench": the group's commands (asked with --help: on stdout, exit 0).
        const bool asked = words.size() == 2 && (words[1] == "--help" || words[1] == "-h");
        std::ostream& out = asked ? std::cout : std::cerr;
        if (words.size() >= 2 && !asked)
            out << "radmark-cli: unknown command '" << words[0] << " " << words[1] << "'\n";
        out << "usage: radmark-cli " << words[0] << " COMMAND [ARGS]\n\ncommands:\n";
        printCommands(out, words[0]);
        return asked ? 0 : 2;
    }
    if (!chosen) {
        std::cerr << "radmark-cli: unknown command '" << words[0] << "' (see radmark-cli --help)\n";
        return 2;
    }
    std::vector<std::string> commandWords(words.begin() + long(used), words.end());
    CommandIo io{std::cin, std::cout, std::cerr};
    try {
        if (serviceRequest()) {
            checkAllowedThroughService(chosen->name, commandWords);
            commandWords = withServiceStore(std::move(commandWords));
        }
#if __has_include("storage/CallerContext.h")
        // The access log records the service's client, not the worker, as who acted.
        std::optional<radmark::storage::CallerScope> caller;
        if (const ServiceRequest* request = serviceRequest())
            caller.emplace(radmark::storage::CallerContext::peer(request->peerUid, request->peerPid,
                                                                 "radmark-cli"));
#endif
        Arguments args(std::move(commandWords));
        return chosen->run(args, io);
    } catch (const CommandError& e) {
        std::cerr << "radmark-cli " << chosen->name << ": " << e.what() << "\n";
        if (e.exitCode == 2)
            std::cerr << "usage: radmark-cli " << chosen->name << " " << chosen->usage << "\n";
        return e.exitCode;
    } catch (const std::exception& e) {
        std::cerr << "radmark-cli " << chosen->name << ": " << e.what() << "\n";
        return 1;
    }
}

} // namespace radmark::cli

int main(int argc, char** argv) {
    using namespace radmark::cli;
    // Before any password, key or pixel is read: no core dumps, not dumpable, owner-only files.
    try {
        radmark::storage::hardenThisProcess();
    } catch (const std::exception& e) {
        std::cerr << "radmark-cli: " << e.what() << "\n";
        return 1;
    }
    std::vector<std::string> words(argv + 1, argv + argc);
    // Through the store service (docs/service.md): radmarkd runs the command in a worker.
    try {
        if (auto socket = takeServiceSocket(words))
            return runThroughService(*socket, words);
    } catch (const CommandError& e) {
        std::cerr << "radmark-cli: " << e.what() << "\n";
        return e.exitCode;
    }
    // radmarkd is this program in its service mode (the workers fork from it).
    if (!words.empty() && words[0] == "--service-daemon")
        return runServiceDaemon(words);
    return runCommandLine(std::move(words));
}
