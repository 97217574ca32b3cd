#pragma once
// The message channel between Radmark and a child process that handles untrusted input (today
// the DICOM decoder; later the store service and the PACS fetcher): one AF_UNIX SOCK_SEQPACKET
// socket, one message per request, reply or progress note. A message is a small binary header,
// a JSON body and optional file descriptors (memfds holding bulk data: voxels, file bytes)
// passed with SCM_RIGHTS. docs/isolation.md describes the protocol.

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace radmark::decoder {

// An owned file descriptor, closed on destruction.
class UniqueFd {
  public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept;
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd();
    int get() const { return fd_; }
    int release();
    explicit operator bool() const { return fd_ >= 0; }

  private:
    int fd_ = -1;
};

enum class MessageKind : std::uint16_t { Request = 1, Progress = 2, Reply = 3, Failure = 4 };

struct Message {
    MessageKind kind = MessageKind::Request;
    nlohmann::json body;
    std::vector<UniqueFd> fds;
};

// The peer closed its end, or a message did not follow the protocol.
class ChannelError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// At most this many descriptors ride on one message.
inline constexpr std::size_t maxFdsPerMessage = 8;

// Sends one message; a body larger than a socket datagram travels in a sealed memfd.
void sendMessage(int socket, const Message& message);

// Waits for one message. timeoutMs < 0 waits forever; returns false on timeout. Throws
// ChannelError when the peer is gone or sent something malformed.
bool receiveMessage(int socket, Message& message, int timeoutMs = -1);

// Bulk data in shared memory: a memfd written once by its creator, then sealed against any
// change of content or size before it is passed on.
UniqueFd createMemfd(const char* name, std::size_t bytes);
void sealMemfd(int fd); // F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL
UniqueFd memfdWithBytes(const char* name, const void* data, std::size_t bytes); // sealed

// The bytes of a sealed memfd mapped into this process, copy on write (the writer can no longer
// change them). Throws ChannelError when fd is not sealed or smaller than expectedBytes.
std::shared_ptr<std::byte[]> mapSealedMemfd(int fd, std::size_t expectedBytes);
// The same for an unnamed tmpfs file that cannot be sealed: only once its writer has ended,
// so that this process holds the only reference. Throws ChannelError when fd is not an
// unlinked tmpfs file or is smaller than expectedBytes.
std::shared_ptr<std::byte[]> mapOrphanedTmpfsFile(int fd, std::size_t expectedBytes);
bool isSealed(int fd);
std::string readSealedMemfd(int fd); // small payloads (a de-identified header, a file)

} // namespace radmark::decoder
