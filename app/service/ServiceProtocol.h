#pragma once
// The wire protocol between radmark-cli (the client) and radmarkd (the store service), over a
// Unix stream socket (docs/service.md). One request per connection:
//   client -> service: a u32 (little endian) length, then that many bytes of NUL-ended
//                      strings: the protocol tag "radmark-service-1", "terminal:0" or
//                      "terminal:1", "files:N", optionally "channel:1", N times
//                      "file:WORD:NAME" (the word at index WORD is a file the client opened,
//                      NAME its file name), then the words (a file's word is empty). The first
//                      byte carries as SCM_RIGHTS the client's stdin, stdout, stderr, her
//                      terminal when she has one, the N files and, with "channel:1", one end of
//                      a SOCK_SEQPACKET socket pair, in that order. Volumes and label maps cross
//                      that channel as sealed memfds (imaging/decoder/Channel.h).
//   service -> client: a u32 (little endian) exit status once the command has ended.
// Nothing else crosses: no environment, no working folder, no path the service would open.

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace radmark::service {

inline constexpr const char* protocolTag = "radmark-service-1";
inline constexpr std::size_t maxRequestBytes = 256 * 1024;
inline constexpr std::size_t maxPassedFiles = 8;
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

// A file the client opened for the command (an input such as --mask FILE).
struct PassedFile {
    std::size_t wordIndex = 0; // which word it stands for
    std::string name;          // its file name (no folder), for messages and its extension
    int fd = -1;
};

struct Request {
    std::vector<std::string> words;
    int stdinFd = -1, stdoutFd = -1, stderrFd = -1;
    int terminalFd = -1; // -1 when the client has no terminal
    std::vector<PassedFile> files;
    int channelFd = -1; // the client's message channel (volumes, label maps), -1 when none

    void closeDescriptors();
};

// The descriptors a request stands on: by default this process's stdin, stdout and stderr.
struct RequestStdio {
    int in = 0, out = 1, err = 2;
};

// Client side: sends the words and the descriptors (the words of files are sent empty); throws
// std::runtime_error on a failure. channelFd >= 0 passes a message channel (a SOCK_SEQPACKET
// socket) to the worker.
void sendRequest(int socketFd, const std::vector<std::string>& words, int terminalFd,
                 const std::vector<PassedFile>& files = {}, RequestStdio stdio = {},
                 int channelFd = -1);
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
