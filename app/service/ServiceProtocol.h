#pragma once
// The wire protocol between radmark-cli (the client) and radmarkd (the store service), over a
// Unix stream socket (docs/service.md). One request per connection:
//   client -> service: a u32 (little endian) length, then that many bytes: the protocol tag
//                      "radmark-service-1" and the command-line words, each ended by a NUL.
//                      The first byte carries the client's stdin, stdout and stderr (and its
//                      terminal when it has one) as SCM_RIGHTS file descriptors.
//   service -> client: a u32 (little endian) exit status once the command has ended.
// Nothing else crosses: no environment, no working folder, no file a command names.

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace radmark::service {

inline constexpr const char* protocolTag = "radmark-service-1";
inline constexpr std::size_t maxRequestBytes = 256 * 1024;
inline constexpr const char* defaultSocketPath = "/run/radmark/radmarkd.sock";
inline constexpr const char* defaultStorePath = "/var/lib/radmark/store";

// Who is at the other end of a connected Unix socket, as the kernel saw it at connect().
struct PeerCredentials {
    uid_t uid = uid_t(-1);
    gid_t gid = gid_t(-1);
    pid_t pid = 0;
    std::string osUser; // the account's name, when the system knows one

    // "uid 1001 (anna) gid 1001 pid 4711"
    std::string summary() const;
};

// Throws std::runtime_error when the socket has no peer credentials (not a Unix socket).
PeerCredentials peerOf(int socketFd);

struct Request {
    std::vector<std::string> words;
    int stdinFd = -1, stdoutFd = -1, stderrFd = -1;
    int terminalFd = -1; // -1 when the client has no terminal

    void closeDescriptors();
};

// Client side: sends the words and the descriptors; throws std::runtime_error on a failure.
void sendRequest(int socketFd, const std::vector<std::string>& words, int terminalFd);
// Service side: the request, or a one-line reason it is not one (nothing is left open then).
struct ReceivedRequest {
    std::optional<Request> request;
    std::string refusal;
};
ReceivedRequest receiveRequest(int socketFd);

void sendExitStatus(int socketFd, int status);
// The status, or nothing when the service closed the connection without one.
std::optional<int> receiveExitStatus(int socketFd);

} // namespace radmark::service
