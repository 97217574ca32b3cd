#include "storage/AuditLog.h"

#include "storage/AuditAnchor.h"
#include "storage/Errors.h"

#include <nlohmann/json.hpp>
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <map>
#include <mutex>

namespace radmark::storage {

namespace {

void appendField(crypto_hash_sha256_state& state, const void* data, std::size_t size) {
    std::uint8_t length[8];
    for (int i = 0; i < 8; ++i)
        length[i] = std::uint8_t(std::uint64_t(size) >> (56 - 8 * i));
    crypto_hash_sha256_update(&state, length, sizeof length);
    crypto_hash_sha256_update(&state, static_cast<const unsigned char*>(data), size);
}

void appendField(crypto_hash_sha256_state& state, const std::string& s) {
    appendField(state, s.data(), s.size());
}

Bytes sha256(std::uint8_t prefix, const Bytes& a, const Bytes* b = nullptr) {
    crypto_hash_sha256_state state;
    crypto_hash_sha256_init(&state);
    crypto_hash_sha256_update(&state, &prefix, 1);
    crypto_hash_sha256_update(&state, a.data(), a.size());
    if (b)
        crypto_hash_sha256_update(&state, b->data(), b->size());
    Bytes out(crypto_hash_sha256_BYTES);
    crypto_hash_sha256_final(&state, out.data());
    return out;
}

Bytes hmac(const SecureBytes& key, const Bytes& message) {
    Bytes out(crypto_auth_hmacsha256_BYTES);
    crypto_auth_hmacsha256_state state;
    crypto_auth_hmacsha256_init(&state, key.data(), key.size());
    crypto_auth_hmacsha256_update(&state, message.data(), message.size());
    crypto_auth_hmacsha256_final(&state, out.data());
    sodium_memzero(&state, sizeof state);
    return out;
}

Bytes leafOf(const Bytes& hash, const Bytes& mac) {
    Bytes leaf = hash;
    leaf.insert(leaf.end(), mac.begin(), mac.end());
    return leaf;
}

// Leaf hashes in [begin, end): RFC 6962 section 2.1.
Bytes treeHash(const std::vector<Bytes>& leafHashes, std::size_t begin, std::size_t end) {
    const std::size_t n = end - begin;
    if (n == 1)
        return leafHashes[begin];
    std::size_t k = 1;
    while (k * 2 < n)
        k *= 2;
    const Bytes left = treeHash(leafHashes, begin, begin + k);
    const Bytes right = treeHash(leafHashes, begin + k, end);
    return sha256(0x01, left, &right);
}

// The columns every reader of entries selects, in readEntry's order.
constexpr const char* entryColumns =
    "seq, time, user, action, object, details, prev_hash, mac, origin";

AuditEntry readEntry(const Statement& s) {
    AuditEntry e;
    e.seq = s.integer(0);
    e.time = s.text(1);
    e.user = s.text(2);
    e.action = s.text(3);
    e.object = s.text(4);
    e.details = s.text(5);
    e.prevHash = s.blob(6);
    e.mac = s.blob(7);
    e.origin = s.text(8);
    return e;
}

// An RFC 6962 tree grown one leaf hash at a time, whose root is there at every size: the
// perfect subtrees of the size's binary decomposition, folded from the right.
class MerkleAccumulator {
  public:
    void push(Bytes leafHash) {
        std::int64_t size = size_;
        while (size & 1) {
            leafHash = sha256(0x01, peaks_.back(), &leafHash);
            peaks_.pop_back();
            size >>= 1;
        }
        peaks_.push_back(std::move(leafHash));
        ++size_;
    }
    std::int64_t size() const { return size_; }
    Bytes root() const {
        if (peaks_.empty())
            return merkleRoot({});
        Bytes r = peaks_.back();
        for (std::size_t i = peaks_.size() - 1; i-- > 0;)
            r = sha256(0x01, peaks_[i], &r);
        return r;
    }

  private:
    std::vector<Bytes> peaks_; // largest first
    std::int64_t size_ = 0;
};

Bytes readMeta(Database& db, const char* key) {
    auto s = db.prepare("SELECT value FROM meta WHERE key = ?");
    s.bind(1, key);
    if (!s.step())
        throw StoreError(std::string("the store is missing its ") + key + " record");
    return s.blob(0);
}

using AnchorFailure = std::optional<std::pair<std::int64_t, std::string>>;

// The log (its leaves and entry hashes, in order) against the anchors kept outside the store.
AnchorFailure checkAnchors(const Anchors& anchors, const std::vector<Bytes>& leaves,
                           const std::vector<Bytes>& hashes, const Bytes& storeId,
                           const Bytes& workstationPublicKey, AuditVerification& v) {
    const auto count = std::int64_t(leaves.size());
    std::vector<const Checkpoint*> checkpoints;
    for (const Checkpoint& c : anchors.checkpoints)
        if (c.storeId == storeId)
            checkpoints.push_back(&c);
    std::vector<const EntryAnchor*> entries;
    for (const EntryAnchor& e : anchors.entries)
        if (e.storeId == storeId)
            entries.push_back(&e);
    if (checkpoints.empty() && entries.empty())
        return std::pair<std::int64_t, std::string>(
            0, "the anchors hold nothing of this store (wrong file, or anchoring is not set up "
               "in the policy)");
    std::stable_sort(checkpoints.begin(), checkpoints.end(),
                     [](const Checkpoint* a, const Checkpoint* b) { return a->treeSize < b->treeSize; });
    for (const Checkpoint* c : checkpoints)
        if (!c->signatureValid() || c->publicKey != workstationPublicKey)
            return std::pair<std::int64_t, std::string>(
                0, "the anchored checkpoint of " + c->time +
                       " is not signed by this workstation's key: the anchors were altered or "
                       "forged");
    // Rolled back or cut short: the store has fewer entries than were anchored.
    std::int64_t anchored = 0;
    std::string where;
    for (const Checkpoint* c : checkpoints)
        if (c->treeSize > anchored) {
            anchored = c->treeSize;
            where = "the checkpoint of " + c->time;
        }
    for (const EntryAnchor* e : entries)
        if (e->seq > anchored) {
            anchored = e->seq;
            where = "entry " + std::to_string(e->seq) + " (" + e->action + " by " + e->user + ")";
        }
    v.anchoredSize = anchored;
    if (count < anchored)
        return std::pair<std::int64_t, std::string>(
            count + 1, "the log has " + std::to_string(count) +
                           " entries but the anchors outside the store record " +
                           std::to_string(anchored) + " (" + where +
                           "): the store was rolled back to an older copy or its log truncated");
    MerkleAccumulator tree;
    for (const Checkpoint* c : checkpoints) {
        while (tree.size() < c->treeSize)
            tree.push(sha256(0x00, leaves[std::size_t(tree.size())]));
        if (tree.root() != c->root)
            return std::pair<std::int64_t, std::string>(
                0, "the first " + std::to_string(c->treeSize) +
                       " entries differ from those the checkpoint of " + c->time +
                       " signed (anchored outside the store): the log was rewritten, or rolled "
                       "back and written again");
        ++v.anchorCheckpoints;
    }
    for (const EntryAnchor* e : entries) {
        if (e->seq < 1 || e->hash != hashes[std::size_t(e->seq - 1)])
            return std::pair<std::int64_t, std::string>(
                e->seq, "entry " + std::to_string(e->seq) +
                            " is not the one anchored in the system log (" + e->action + " by " +
                            e->user + "): the log was rewritten, or rolled back and written again");
        ++v.anchorEntries;
    }
    return std::nullopt;
}

} // namespace

std::string utcNow() {
    const auto now = std::chrono::system_clock::now();
    const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
    const auto millis =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
        1000;
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char text[96];
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, int(millis));
    return text;
}

Bytes merkleRoot(const std::vector<Bytes>& leaves) {
    if (leaves.empty()) {
        Bytes out(crypto_hash_sha256_BYTES);
        crypto_hash_sha256(out.data(), nullptr, 0);
        return out;
    }
    std::vector<Bytes> hashes;
    hashes.reserve(leaves.size());
    for (const auto& leaf : leaves)
        hashes.push_back(sha256(0x00, leaf));
    return treeHash(hashes, 0, hashes.size());
}

Bytes auditEntryHash(const Bytes& storeId, const AuditEntry& e) {
    crypto_hash_sha256_state state;
    crypto_hash_sha256_init(&state);
    // v2 adds the origin; entries written before it (none) keep their v1 hash.
    appendField(state, std::string(e.origin.empty() ? "radmark-audit-entry-v1"
                                                    : "radmark-audit-entry-v2"));
    appendField(state, storeId.data(), storeId.size());
    appendField(state, std::to_string(e.seq));
    appendField(state, e.time);
    appendField(state, e.user);
    appendField(state, e.action);
    appendField(state, e.object);
    appendField(state, e.details);
    appendField(state, e.prevHash.data(), e.prevHash.size());
    if (!e.origin.empty())
        appendField(state, e.origin);
    Bytes out(crypto_hash_sha256_BYTES);
    crypto_hash_sha256_final(&state, out.data());
    return out;
}

void evolveAuditKey(SecureBytes& key) {
    static const char label[] = "radmark-audit-key-evolve-v1";
    crypto_hash_sha256_state state;
    crypto_hash_sha256_init(&state);
    crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(label),
                              sizeof label - 1);
    crypto_hash_sha256_update(&state, key.data(), key.size());
    if (key.size() != crypto_hash_sha256_BYTES)
        key = SecureBytes(crypto_hash_sha256_BYTES);
    crypto_hash_sha256_final(&state, key.data()); // the old value is overwritten in place
    sodium_memzero(&state, sizeof state);
}

SecureBytes nextAuditKey(const SecureBytes& key) {
    SecureBytes next = key.copy();
    evolveAuditKey(next);
    return next;
}

std::string Checkpoint::signedMessage() const {
    return "radmark-checkpoint-v1\n" + toHex(storeId) + "\n" + std::to_string(treeSize) + "\n" +
           toHex(root) + "\n" + time + "\n";
}

bool Checkpoint::signatureValid() const {
    const std::string m = signedMessage();
    return publicKey.size() == crypto_sign_PUBLICKEYBYTES &&
           signature.size() == crypto_sign_BYTES &&
           crypto_sign_verify_detached(signature.data(),
                                       reinterpret_cast<const unsigned char*>(m.data()), m.size(),
                                       publicKey.data()) == 0;
}

std::string Checkpoint::toJson() const {
    nlohmann::json j;
    j["format"] = "radmark-audit-checkpoint";
    j["version"] = 1;
    j["store_id"] = toHex(storeId);
    j["tree_size"] = treeSize;
    j["root"] = toHex(root);
    j["time"] = time;
    j["public_key"] = toHex(publicKey);
    j["signature"] = toHex(signature);
    return j.dump(1) + "\n";
}

Checkpoint Checkpoint::fromJson(const std::string& text) {
    try {
        const auto j = nlohmann::json::parse(text);
        if (j.at("format").get<std::string>() != "radmark-audit-checkpoint")
            throw InvalidRequestError("not a Radmark audit checkpoint");
        Checkpoint c;
        c.storeId = fromHex(j.at("store_id").get<std::string>());
        c.treeSize = j.at("tree_size").get<std::int64_t>();
        c.root = fromHex(j.at("root").get<std::string>());
        c.time = j.at("time").get<std::string>();
        c.publicKey = fromHex(j.at("public_key").get<std::string>());
        c.signature = fromHex(j.at("signature").get<std::string>());
        return c;
    } catch (const InvalidRequestError&) {
        throw;
    } catch (const std::exception&) {
        throw InvalidRequestError("the checkpoint file is damaged or not a Radmark checkpoint");
    }
}

AuditLog::AuditLog(Database& db, Bytes storeId) : db_(db), storeId_(std::move(storeId)) {
    initialiseCrypto();
}

AuditLog::AuditLog(Database& db, Bytes storeId, const AnchorSettings& anchors)
    : AuditLog(db, std::move(storeId)) {
    if (anchors.enabled())
        publisher_ = AnchorPublisher::forSettings(anchors);
}

void AuditLog::setCaller(const CallerContext& caller) {
    origin_ = caller.toText();
    originUid_ = caller.uid;
}

void AuditLog::initialise(const SecureBytes& initialKey) {
    auto s = db_.prepare("INSERT INTO meta(key, value) VALUES (?, ?)");
    s.bind(1, "audit_key").bindBlob(2, initialKey.data(), initialKey.size()).run();
    s.reset();
    const Bytes emptyHead(crypto_hash_sha256_BYTES, 0);
    s.bind(1, "audit_head").bindBlob(2, emptyHead).run();
}

struct AuditLog::Statements {
    Statement readKey, readHead, nextSeq, insert, writeKey, writeHead;
    explicit Statements(Database& db)
        : readKey(db.prepare("SELECT value FROM meta WHERE key = 'audit_key'")),
          readHead(db.prepare("SELECT value FROM meta WHERE key = 'audit_head'")),
          nextSeq(db.prepare("SELECT coalesce(max(seq), 0) + 1 FROM audit_log")),
          insert(db.prepare("INSERT INTO audit_log(seq, time, user, action, object, details, "
                            "prev_hash, mac, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")),
          writeKey(db.prepare("UPDATE meta SET value = ? WHERE key = 'audit_key'")),
          writeHead(db.prepare("UPDATE meta SET value = ? WHERE key = 'audit_head'")) {}
};

AuditLog::~AuditLog() = default;
AuditLog::AuditLog(AuditLog&&) noexcept = default;

std::int64_t AuditLog::append(const std::string& user, const std::string& action,
                              const std::string& object, const std::string& details) {
    if (!statements_)
        statements_ = std::make_unique<Statements>(db_);
    Statements& st = *statements_;
    // The key lives only in this locked buffer, evolved in place and overwritten in the store.
    if (keyScratch_.size() != crypto_hash_sha256_BYTES)
        keyScratch_ = SecureBytes(crypto_hash_sha256_BYTES);
    struct Wipe {
        SecureBytes& key;
        ~Wipe() { sodium_memzero(key.data(), key.size()); }
    } wipe{keyScratch_};
    AuditEntry e;
    if (!st.readKey.step() || st.readKey.blobSize(0) != keyScratch_.size()) {
        st.readKey.reset();
        throw StoreError("the store is missing its audit key");
    }
    std::memcpy(keyScratch_.data(), st.readKey.blobData(0), keyScratch_.size());
    st.readKey.reset();
    if (!st.readHead.step()) {
        st.readHead.reset();
        throw StoreError("the store is missing its audit head");
    }
    e.prevHash = st.readHead.blob(0);
    st.readHead.reset();
    st.nextSeq.step();
    e.seq = st.nextSeq.integer(0);
    st.nextSeq.reset();
    e.time = utcNow();
    e.user = user;
    e.action = action;
    e.object = object;
    e.details = details;
    std::int64_t uid = originUid_;
    if (origin_) {
        e.origin = *origin_;
    } else {
        const CallerContext caller = CallerContext::current();
        e.origin = caller.toText();
        uid = caller.uid;
    }
    const Bytes hash = auditEntryHash(storeId_, e);
    e.mac = hmac(keyScratch_, hash);
    st.insert.bind(1, e.seq)
        .bind(2, e.time)
        .bind(3, e.user)
        .bind(4, e.action)
        .bind(5, e.object)
        .bind(6, e.details)
        .bindBlob(7, e.prevHash)
        .bindBlob(8, e.mac)
        .bind(9, e.origin);
    st.insert.run();
    st.insert.reset();
    // Evolve and overwrite: secure_delete zeroes the old value in the page.
    evolveAuditKey(keyScratch_);
    st.writeKey.bindBlob(1, keyScratch_.data(), keyScratch_.size());
    st.writeKey.run();
    st.writeKey.reset();
    st.writeHead.bindBlob(1, hash);
    st.writeHead.run();
    st.writeHead.reset();
    if (publisher_) {
        EntryAnchor anchor{storeId_, e.seq, hash, e.action, e.user, uid};
        // Only a committed entry is anchored: an anchor of a rolled-back one would name a hash
        // that the next entry of that number does not have.
        auto publish = [publisher = publisher_, anchor = std::move(anchor), db = &db_,
                        storeId = storeId_] {
            publisher->publishEntry(anchor);
            if (anchor.seq % publisher->settings().checkpointEvery == 0) {
                AuditLog log(*db, storeId);
                const SecureBytes secret = [&] {
                    Bytes b = readMeta(*db, "signing_secret");
                    SecureBytes out(b.data(), b.size());
                    sodium_memzero(b.data(), b.size());
                    return out;
                }();
                publisher->publishCheckpoint(log.checkpoint(secret, readMeta(*db, "signing_public")));
            }
        };
        if (db_.inTransaction())
            db_.afterCommit(std::move(publish));
        else
            publish();
    }
    return e.seq;
}

void AuditLog::publishCheckpoint() {
    if (!publisher_)
        return;
    Bytes secret = readMeta(db_, "signing_secret");
    const SecureBytes key(secret.data(), secret.size());
    sodium_memzero(secret.data(), secret.size());
    publisher_->publishCheckpoint(checkpoint(key, readMeta(db_, "signing_public")));
}

void AuditLog::publishCheckpoint(const Checkpoint& checkpoint) {
    if (publisher_)
        publisher_->publishCheckpoint(checkpoint);
}

std::vector<AuditEntry> AuditLog::entries(const AuditFilter& filter) {
    std::string sql = std::string("SELECT ") + entryColumns + " FROM audit_log WHERE 1";
    if (filter.user)
        sql += " AND user = :user";
    if (filter.action)
        sql += " AND action = :action";
    if (filter.since)
        sql += " AND time >= :since";
    if (filter.until)
        sql += " AND time < :until";
    sql += " ORDER BY seq";
    if (filter.limit)
        sql += " LIMIT " + std::to_string(filter.limit);
    auto s = db_.prepare(sql);
    int index = 1;
    if (filter.user)
        s.bind(index++, *filter.user);
    if (filter.action)
        s.bind(index++, *filter.action);
    if (filter.since)
        s.bind(index++, *filter.since);
    if (filter.until)
        s.bind(index++, *filter.until);
    std::vector<AuditEntry> out;
    while (s.step())
        out.push_back(readEntry(s));
    return out;
}

std::int64_t AuditLog::size() {
    auto s = db_.prepare("SELECT count(*) FROM audit_log");
    s.step();
    return s.integer(0);
}

namespace {

// The log's Merkle tree as this process last grew it, per store: entries never change, so a
// checkpoint (every checkpoint_every entries, every logout) reads only the entries after it
// instead of the whole log.
struct GrownTree {
    MerkleAccumulator tree;
    Bytes lastLeafHash;
};
std::mutex grownTreesMutex;
std::map<Bytes, GrownTree> grownTrees;

} // namespace

Checkpoint AuditLog::checkpoint(const SecureBytes& signingSecretKey,
                                const Bytes& signingPublicKey) {
    Checkpoint c;
    {
        const std::string select = std::string("SELECT ") + entryColumns + " FROM audit_log ";
        const auto leafHashOf = [&](const AuditEntry& e) {
            return sha256(0x00, leafOf(auditEntryHash(storeId_, e), e.mac));
        };
        std::lock_guard lock(grownTreesMutex);
        GrownTree& grown = grownTrees[storeId_];
        if (grown.tree.size() > 0) {
            // A store put back under a long-lived process no longer ends the tree: start over.
            auto last = db_.prepare(select + "WHERE seq = ?");
            last.bind(1, grown.tree.size());
            if (!last.step() || leafHashOf(readEntry(last)) != grown.lastLeafHash)
                grown = GrownTree{};
        }
        auto s = db_.prepare(select + "WHERE seq > ? ORDER BY seq");
        s.bind(1, grown.tree.size());
        while (s.step()) {
            grown.lastLeafHash = leafHashOf(readEntry(s));
            grown.tree.push(grown.lastLeafHash);
        }
        c.treeSize = grown.tree.size();
        c.root = grown.tree.root();
    }
    c.storeId = storeId_;
    c.time = utcNow();
    c.publicKey = signingPublicKey;
    const std::string m = c.signedMessage();
    c.signature.resize(crypto_sign_BYTES);
    crypto_sign_detached(c.signature.data(), nullptr,
                         reinterpret_cast<const unsigned char*>(m.data()), m.size(),
                         signingSecretKey.data());
    return c;
}

AuditVerification AuditLog::verify(const SecureBytes* initialKey, const Checkpoint* checkpoint,
                                   const Bytes& workstationPublicKey, const Anchors* anchors) {
    AuditVerification v;
    v.macsChecked = initialKey != nullptr;
    auto failAt = [&](std::int64_t seq, std::string reason) {
        v.ok = false;
        v.firstBadSeq = seq;
        v.reason = std::move(reason);
        return v;
    };
    if (checkpoint) {
        if (!checkpoint->signatureValid())
            return failAt(0, "the checkpoint's signature is not valid (the checkpoint was altered)");
        if (checkpoint->publicKey != workstationPublicKey)
            return failAt(0, "the checkpoint was not signed by this workstation's key");
        if (checkpoint->storeId != storeId_)
            return failAt(0, "the checkpoint belongs to another store");
    }
    SecureBytes key = initialKey ? initialKey->copy() : SecureBytes();
    Bytes prevHash(crypto_hash_sha256_BYTES, 0);
    std::vector<Bytes> leaves;
    std::int64_t expected = 1;
    std::vector<Bytes> hashes; // entry hashes, for the entry anchors
    auto s = db_.prepare(std::string("SELECT ") + entryColumns + " FROM audit_log ORDER BY rowid");
    while (s.step()) {
        const AuditEntry e = readEntry(s);
        if (e.seq != expected)
            return failAt(expected, "entry " + std::to_string(expected) +
                                        " is missing or out of order (found entry " +
                                        std::to_string(e.seq) + " in its place)");
        if (e.prevHash != prevHash)
            return failAt(e.seq, "entry " + std::to_string(e.seq) +
                                     " does not chain to the entry before it (altered, inserted "
                                     "or reordered)");
        const Bytes hash = auditEntryHash(storeId_, e);
        if (initialKey) {
            const Bytes mac = hmac(key, hash);
            if (mac.size() != e.mac.size() ||
                sodium_memcmp(mac.data(), e.mac.data(), mac.size()) != 0)
                return failAt(e.seq, "entry " + std::to_string(e.seq) +
                                         " has an invalid MAC (altered, or sealed with another "
                                         "key)");
            evolveAuditKey(key);
        }
        leaves.push_back(leafOf(hash, e.mac));
        if (anchors)
            hashes.push_back(hash);
        prevHash = hash;
        ++expected;
        v.entriesChecked = e.seq;
    }
    const std::int64_t count = expected - 1;
    if (readMeta(db_, "audit_head") != prevHash)
        return failAt(count, "the log ends at entry " + std::to_string(count) +
                                 " but the store recorded a later head: entries were removed "
                                 "from the end");
    if (initialKey) {
        Bytes current = readMeta(db_, "audit_key");
        const bool same = current.size() == key.size() &&
                          sodium_memcmp(current.data(), key.data(), key.size()) == 0;
        sodium_memzero(current.data(), current.size());
        if (!same)
            return failAt(count, "the audit key has evolved past entry " + std::to_string(count) +
                                     ": entries were removed from the end");
    }
    if (checkpoint) {
        if (count < checkpoint->treeSize)
            return failAt(count + 1, "the log has " + std::to_string(count) +
                                         " entries but the checkpoint of " + checkpoint->time +
                                         " had " + std::to_string(checkpoint->treeSize) +
                                         ": entries were removed or the store was rolled back");
        const std::vector<Bytes> signedLeaves(leaves.begin(),
                                              leaves.begin() + checkpoint->treeSize);
        if (merkleRoot(signedLeaves) != checkpoint->root)
            return failAt(0, "the first " + std::to_string(checkpoint->treeSize) +
                                 " entries differ from those the checkpoint signed");
        v.checkpointChecked = true;
    }
    if (anchors) {
        v.anchorLinesDamaged = anchors->damaged;
        if (auto failure = checkAnchors(*anchors, leaves, hashes, storeId_, workstationPublicKey, v))
            return failAt(failure->first, failure->second);
        v.anchorsChecked = true;
    }
    v.ok = true;
    return v;
}

} // namespace radmark::storage
