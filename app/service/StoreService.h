#pragma once
// radmarkd's core: listens on a Unix socket, learns each client's OS user and process from the
// socket (SO_PEERCRED), and runs the client's radmark-cli command in a worker process of the
// service account, on the client's stdin/stdout/stderr (passed as descriptors), against the one
// store the service holds. The worker is radmark-cli itself in its --service-worker mode, so a
// command runs the same code through the service as in-process (docs/service.md).

#include "app/service/ServiceProtocol.h"

#include <filesystem>
#include <optional>
#include <string>

namespace radmark::service {

struct ServiceOptions {
    std::filesystem::path store = defaultStorePath;
    std::filesystem::path socket = defaultSocketPath;
    std::optional<std::filesystem::path> policy; // the site's policy file for the workers
    std::filesystem::path cli;                   // the radmark-cli the workers run
    mode_t socketMode = 0666;                    // who may connect (SO_PEERCRED says who did)
    std::optional<std::string> socketGroup;
};

// Checks the store folder (owned by this account, forced to 0700), binds the socket and serves
// until SIGTERM or SIGINT. Throws std::runtime_error with a one-line reason when it cannot start.
void serve(const ServiceOptions& options);

// The radmark-cli next to this radmarkd (same folder, or ../bin from sbin), else empty.
std::filesystem::path siblingCli();

// A log line on stderr (the journal under systemd): UTC time, "radmarkd[pid]:", the text.
void logLine(const std::string& text);

} // namespace radmark::service
