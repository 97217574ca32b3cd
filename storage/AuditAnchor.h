#pragma once
// Anchors of the access log outside the store, so that a store rolled back, truncated or rewritten
// by someone who holds its key no longer matches what was already sent away: every committed
// entry goes to the system log (RFC 5424 with structured data: store, sequence number, entry
// hash, action, user, OS uid; no object, no details, so nothing about a patient), and a signed
// checkpoint (tree size + RFC 6962 root, Ed25519) follows every `checkpoint_every` entries and
// every logout, to the system log and to an append-only anchor file. `audit verify --anchors`
// reads such a file (the anchor file, or the system log's copy as the SIEM keeps it) back.

#include "storage/AuditLog.h"
#include "storage/CallerContext.h"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace radmark::storage {

struct Policy;

// Where the messages go, from the policy's "log_sink": "" (nowhere), "/dev/log" or
// "unix:/path" (a datagram socket, as syslog and journald offer), "udp:host:port" or
// "tcp:host:port" (RFC 6587 octet counting), e.g. the site's SIEM collector.
struct LogSink {
    enum class Kind { None, UnixDatagram, Udp, Tcp };
    Kind kind = Kind::None;
    std::string path; // unix
    std::string host; // udp, tcp
    int port = 0;

    static LogSink parse(const std::string& text); // throws PolicyError
    std::string toText() const;
};

struct AnchorSettings {
    LogSink sink;
    std::filesystem::path anchorFile; // empty: none
    std::int64_t checkpointEvery = 100;

    bool enabled() const { return sink.kind != LogSink::Kind::None || !anchorFile.empty(); }
    static AnchorSettings of(const Policy& policy);
};

// One committed entry as its anchor records it.
struct EntryAnchor {
    Bytes storeId;
    std::int64_t seq = 0;
    Bytes hash;
    std::string action;
    std::string user;
    std::int64_t uid = -1;
};

// The RFC 5424 messages (without transport framing).
std::string entryAnchorMessage(const EntryAnchor& anchor, const CallerContext& caller);
std::string checkpointAnchorMessage(const Checkpoint& checkpoint, const CallerContext& caller);
// A checkpoint as one line of the anchor file (JSON).
std::string checkpointAnchorLine(const Checkpoint& checkpoint);

// Sends anchors to one sink and anchor file; one per setting in the process (sockets stay open).
class AnchorPublisher {
  public:
    static std::shared_ptr<AnchorPublisher> forSettings(const AnchorSettings& settings);
    explicit AnchorPublisher(AnchorSettings settings);
    ~AnchorPublisher();
    AnchorPublisher(const AnchorPublisher&) = delete;
    AnchorPublisher& operator=(const AnchorPublisher&) = delete;

    const AnchorSettings& settings() const { return settings_; }
    // Best effort: a sink that does not answer loses the message (the entry is committed
    // already); failures are counted and the first one is said once on stderr.
    void publishEntry(const EntryAnchor& anchor);
    void publishCheckpoint(const Checkpoint& checkpoint);
    std::int64_t failures() const { return failures_.load(); }

  private:
    bool send(const std::string& message);
    void fail(const std::string& what);
    AnchorSettings settings_;
    std::mutex mutex_; // the service's sessions may publish from several threads
    int socket_ = -1;
    std::atomic<std::int64_t> failures_{0};
    bool warned_ = false;
};

// Anchors read back from a file: the anchor file's JSON lines, and/or the system log's lines
// (any line holding a Radmark structured-data element; other lines are skipped).
struct Anchors {
    std::vector<Checkpoint> checkpoints;
    std::vector<EntryAnchor> entries;
    std::int64_t linesRead = 0;
    std::int64_t damaged = 0; // lines that look like Radmark anchors but cannot be read

    static Anchors read(const std::filesystem::path& file); // throws InvalidRequestError
    void add(const Anchors& other);
};

} // namespace radmark::storage
