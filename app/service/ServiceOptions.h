#pragma once
// radmarkd's options, read the same way by radmarkd and by the radmark-cli it runs as the
// service (radmark-cli --service-daemon OPTIONS...).

#include "app/service/ServiceProtocol.h"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace radmark::service {

struct ServiceOptions {
    std::filesystem::path store = defaultStorePath;
    std::filesystem::path socket = defaultSocketPath;
    std::optional<std::filesystem::path> policy; // the site's policy file for the workers
    std::filesystem::path cli;                   // the radmark-cli that serves (radmarkd only)
    mode_t socketMode = 0666;                    // who may connect (SO_PEERCRED says who did)
    std::optional<std::string> socketGroup;
    std::size_t maxRequests = 32; // at once; more connections are refused (and logged)
};

struct ParsedServiceOptions {
    ServiceOptions options;
    std::optional<int> exitNow; // --help, --version (0) or a bad option (2): already printed
};
ParsedServiceOptions parseServiceOptions(const std::vector<std::string>& words);

} // namespace radmark::service
