#pragma once
// radmark-cli as a worker of radmarkd, the store service: one command of one client, run as the
// service account on the client's stdin/stdout/stderr (and terminal), against the service's
// store. radmarkd starts it as
//   radmark-cli --service-worker --store DIR [--policy FILE] --peer-uid U --peer-gid G
//               --peer-pid P [--terminal-fd 3] -- WORDS...
// Only commands that name no file on the client's side run this way (docs/service.md): the
// worker's account can read the store, so it must never open a path a client chose.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace radmark::cli {

struct ServiceRequest {
    std::filesystem::path store;
    std::optional<std::filesystem::path> policy;
    long peerUid = -1, peerGid = -1, peerPid = 0; // from SO_PEERCRED, as radmarkd read them
    int terminalFd = -1;                          // the client's terminal, -1 when she has none
};

// The request this process serves, or null when radmark-cli runs in-process.
const ServiceRequest* serviceRequest();

// Reads radmarkd's words (all of argv after the program name), makes them this process's
// request and returns the client's words. Throws CommandError on words radmarkd never sends.
std::vector<std::string> beginServiceRequest(const std::vector<std::string>& workerWords);

// Throws CommandError (exit 1, one line saying why and what to do instead) when the command may
// not run through the service, or the client's words name the store or policy or a file.
void checkAllowedThroughService(const std::string& command, const std::vector<std::string>& words);

// The words the command runs with: the service's --store (and --policy), then the client's.
std::vector<std::string> withServiceStore(std::vector<std::string> words);

// The commands that run through the service, for --help and docs/service.md.
std::vector<std::string> commandsThroughService();

} // namespace radmark::cli
