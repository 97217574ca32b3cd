#pragma once
// The signed access log: an append-only table (triggers refuse UPDATE and DELETE) whose entries
// are hash-chained and MACed under a forward-secure key. The key evolves by hashing after every
// entry and only the current one is kept (inside the encrypted store); the admin holds the initial
// key offline, so earlier entries cannot be re-sealed by whoever later obtains the store key.
// Checkpoints (tree size + RFC 6962 Merkle root) are Ed25519-signed by the workstation key.
// Each entry records from where it came (CallerContext); with anchoring set up in the policy,
// each committed entry and a checkpoint every N entries also leave the store (AuditAnchor.h).

#include "storage/CallerContext.h"
#include "storage/Database.h"
#include "storage/SecureBytes.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace radmark::storage {

struct AuditEntry {
    std::int64_t seq = 0;
    std::string time; // UTC, ISO 8601
    std::string user;
    std::string action;
    std::string object;
    std::string details;
    Bytes prevHash;
    Bytes mac;
    // From where (CallerContext::toText); empty in entries written before schema 8.
    std::string origin;
};

struct AuditFilter {
    std::optional<std::string> user;
    std::optional<std::string> action;
    std::optional<std::string> since; // ISO date or date-time, inclusive
    std::optional<std::string> until; // exclusive
    std::size_t limit = 0;            // 0: all
};

struct Checkpoint {
    Bytes storeId;
    std::int64_t treeSize = 0;
    Bytes root;
    std::string time;
    Bytes publicKey;
    Bytes signature;

    std::string toJson() const;
    static Checkpoint fromJson(const std::string& text); // throws InvalidRequestError
    std::string signedMessage() const;
    bool signatureValid() const;
};

struct AuditVerification {
    bool ok = false;
    std::int64_t entriesChecked = 0;
    bool macsChecked = false;      // only with the initial (offline) key
    bool checkpointChecked = false;
    std::int64_t firstBadSeq = 0;  // 0 when ok or when the failure is not one entry's
    std::string reason;
    bool anchorsChecked = false;       // against anchors kept outside the store
    std::int64_t anchorCheckpoints = 0; // of this store, each matched
    std::int64_t anchorEntries = 0;     // entry anchors of this store, each matched
    std::int64_t anchoredSize = 0;      // the largest tree size or sequence number anchored
    std::int64_t anchorLinesDamaged = 0; // lines that look like anchors but cannot be read
};

struct Anchors;
struct AnchorSettings;
class AnchorPublisher;

// RFC 6962 Merkle tree hash over leaf data (each leaf = entry hash || MAC).
Bytes merkleRoot(const std::vector<Bytes>& leaves);
// The entry hash that the next entry's prevHash points to (covers the store id, so an entry
// spliced in from another store never fits).
Bytes auditEntryHash(const Bytes& storeId, const AuditEntry& entry);
// key_{i+1} = SHA-256("radmark-audit-key-evolve-v1" || key_i).
SecureBytes nextAuditKey(const SecureBytes& key);
void evolveAuditKey(SecureBytes& key); // in place: the previous key is gone
std::string utcNow();

class AuditLog {
public:
    AuditLog(Database& db, Bytes storeId);
    AuditLog(Database& db, Bytes storeId, const AnchorSettings& anchors);
    ~AuditLog();
    AuditLog(AuditLog&&) noexcept;

    // Creates the state (head, current key) for a new store; the caller keeps initialKey offline.
    void initialise(const SecureBytes& initialKey);
    // Appends one entry; call inside the transaction of the change it records.
    // Its anchor goes out once the transaction commits (at once outside a transaction).
    std::int64_t append(const std::string& user, const std::string& action,
                        const std::string& object, const std::string& details = {});
    // Who the entries are from; CallerContext::current() at each append until set.
    void setCaller(const CallerContext& caller);
    // Signs a checkpoint of the whole log and sends it to the anchors (a logout does); nothing
    // without anchoring. Call outside a transaction.
    void publishCheckpoint();
    void publishCheckpoint(const Checkpoint& checkpoint); // one made already (audit checkpoint)
    std::vector<AuditEntry> entries(const AuditFilter& filter = {});
    std::int64_t size();

    Checkpoint checkpoint(const SecureBytes& signingSecretKey, const Bytes& signingPublicKey);
    // Chain, sequence and head always; MACs and the current key with initialKey; size and Merkle
    // root against checkpoint (whose signature must come from workstationPublicKey).
    // With anchors: every checkpoint of this store among them must be signed by the workstation
    // key and match the log's first tree-size entries, every entry anchor the entry of its
    // sequence number; fewer entries than anchored is a rollback or a truncation.
    AuditVerification verify(const SecureBytes* initialKey, const Checkpoint* checkpoint,
                             const Bytes& workstationPublicKey, const Anchors* anchors = nullptr);

private:
    struct Statements; // prepared once per AuditLog: appends are the hot path
    Database& db_;
    Bytes storeId_;
    std::unique_ptr<Statements> statements_;
    SecureBytes keyScratch_;
    std::optional<std::string> origin_; // setCaller's, as stored
    std::int64_t originUid_ = -1;
    std::shared_ptr<AnchorPublisher> publisher_;
};

} // namespace radmark::storage
