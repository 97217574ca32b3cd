// radmark-cli: the headless face of Radmark, for scripts, auditors and IT.
// Every command calls the same library functions as the GUI.

#include "app/cli/Command.h"
#include "storage/ProcessHygiene.h"

#include <algorithm>
#include <iostream>
#include <map>

namespace radmark::cli {

namespace {
std::vector<Command>& registry() {
    static std::vector<Command> all;
    return all;
}

void printUsage(std::ostream& out) {
    out << "usage: radmark-cli COMMAND [ARGS]\n\ncommands:\n";
    auto sorted = commands();
    std::sort(sorted.begin(), sorted.end(),
              [](const Command& a, const Command& b) { return a.name < b.name; });
    for (const auto& c : sorted)
        out << "  " << c.name << " " << c.usage << "\n";
}
} // namespace

bool registerCommand(Command command) {
    registry().push_back(std::move(command));
    return true;
}

const std::vector<Command>& commands() {
    return registry();
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
    if (!chosen) {
        std::cerr << "radmark-cli: unknown command '" << words[0] << "' (see radmark-cli --help)\n";
        return 2;
    }
    Arguments args(std::vector<std::string>(words.begin() + long(used), words.end()));
    CommandIo io{std::cin, std::cout, std::cerr};
    try {
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
