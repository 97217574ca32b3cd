#pragma once
// radmarkd's core: listens on a Unix socket, learns each client's OS user and process from the
// socket (SO_PEERCRED), and runs the client's radmark-cli command in a worker process of the
// service account (a fork per connection), on the client's stdin/stdout/stderr (passed as
// descriptors), against the one store the service holds. It runs inside radmark-cli
// (--service-daemon), so a command runs the same code through the service as in-process
// (docs/service.md).

#include "app/service/ServiceOptions.h"
#include "app/service/ServiceProtocol.h"

#include <functional>

#include <filesystem>
#include <optional>
#include <string>

namespace radmark::service {

inline constexpr const char* rootRefusal =
    "radmarkd runs as the service account (for example radmark), not as root: the store must "
    "belong to an account no person logs in as";

// Runs one request in its worker (a fork of the service, as the service account): the client's
// stdin, stdout, stderr are fds 0, 1, 2 already, her terminal fd 3 when she has one. Returns the
// exit status.
using RequestRunner =
    std::function<int(const Request&, const PeerCredentials&, const ServiceOptions&)>;

// Checks the store folder (owned by this account, forced to 0700), binds the socket and serves
// until SIGTERM or SIGINT. Throws std::runtime_error with a one-line reason when it cannot start.
void serve(const ServiceOptions& options, const RequestRunner& runRequest);

// The radmark-cli next to this radmarkd (same folder, or ../bin from sbin), else empty.
std::filesystem::path siblingCli();

// A log line on stderr (the journal under systemd): UTC time, "radmarkd[pid]:", the text.
void logLine(const std::string& text);

} // namespace radmark::service
