// radmarkd: the Radmark store service of a shared workstation (docs/service.md). This program
// reads its options, then becomes the radmark-cli next to it in its service mode
// (radmark-cli --service-daemon OPTIONS), so that each request's worker is a fork of a process
// that has every command loaded already and runs the very code the in-process CLI runs.

#include "app/service/ServiceOptions.h"
#include "app/service/StoreService.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

int main(int argc, char** argv) {
    using namespace radmark::service;
    const std::vector<std::string> words(argv + 1, argv + argc);
    const ParsedServiceOptions parsed = parseServiceOptions(words);
    if (parsed.exitNow)
        return *parsed.exitNow;
    if (::geteuid() == 0) {
        std::cerr << "radmarkd: " << rootRefusal << "\n";
        return 1;
    }
    const std::filesystem::path cli =
        parsed.options.cli.empty() ? siblingCli() : parsed.options.cli;
    if (cli.empty() || ::access(cli.c_str(), X_OK) != 0) {
        std::cerr << "radmarkd: no radmark-cli to serve with (give --cli PATH)\n";
        return 1;
    }
    std::vector<std::string> daemonWords = {"radmarkd", "--service-daemon"};
    daemonWords.insert(daemonWords.end(), words.begin(), words.end());
    std::vector<char*> daemonArgv;
    for (auto& w : daemonWords)
        daemonArgv.push_back(w.data());
    daemonArgv.push_back(nullptr);
    ::execv(cli.c_str(), daemonArgv.data());
    std::cerr << "radmarkd: cannot run " << cli.string() << ": " << std::strerror(errno) << "\n";
    return 1;
}
