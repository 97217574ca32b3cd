#pragma once
// radmark-cli as radmarkd, the store service: radmarkd execs "radmark-cli --service-daemon
// OPTIONS" as the service account, and every request runs in a fork of it, a worker, as one
// command of one client on the client's stdin/stdout/stderr (and terminal) against the
// service's store. Only commands that name no file on the client's side run this way
// (docs/service.md): the worker's account can read the store, so it must never open a path a
// client chose.

#include "app/service/ServiceProtocol.h"
#include <filesystem>

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace radmark::cli {

struct ServiceRequest {
    std::filesystem::path store;
    std::optional<std::filesystem::path> policy;
    long peerUid = -1, peerGid = -1, peerPid = 0; // from SO_PEERCRED, as radmarkd read them
    int terminalFd = -1;                          // the client's terminal, -1 when she has none
    int channelFd = -1; // her message channel (volumes, label maps as sealed memfds), or -1
    std::set<std::string> filesFromClient;        // copies of the files she passed
    std::filesystem::path privateFolder;          // where they are (removed after the command)
};

// The request this process serves, or null when radmark-cli runs in-process.
const ServiceRequest* serviceRequest();

// radmark-cli --service-daemon OPTIONS...: serves until SIGTERM; returns the exit status.
int runServiceDaemon(const std::vector<std::string>& words);

// Throws CommandError (exit 1, one line saying why and what to do instead) when the command may
// not run through the service, or the client's words name the store or policy or a file.
void checkAllowedThroughService(const std::string& command, const std::vector<std::string>& words);

// Client side: opens the files the command reads (annotations import --mask FILE, ...) for
// passing to the service; "--mask=FILE" becomes two words. Throws CommandError when one cannot
// be read.
std::vector<service::PassedFile> openInputFiles(std::vector<std::string>& words);

// The words the command runs with: the service's --store (and --policy), then the client's.
std::vector<std::string> withServiceStore(std::vector<std::string> words);

// The commands that run through the service, for --help and docs/service.md.
std::vector<std::string> commandsThroughService();

} // namespace radmark::cli
