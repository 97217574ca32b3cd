#pragma once
// <store>/keyring (format 2): each user's X25519 key pair, its secret half sealed under her
// password (Argon2id key-encryption key, XChaCha20-Poly1305, associated data = store id || user id
// || public key), and the random database key sealed (crypto_box_seal) to every user's public
// half and to the public half derived from the offline recovery key. Anyone holding the database
// key can therefore seal a new one to the remaining users without their passwords (key rotation,
// storage/KeyRotation.h). During a rotation the keyring holds the current and the pending key
// version side by side, so that a store killed at any moment opens with one of them.
// Format-1 entries (the database key wrapped directly under a password) still open and are
// replaced by a key pair at the user's next login. No names: an entry is found by a keyed hash.

#include "storage/Policy.h"
#include "storage/SecureBytes.h"

#include <filesystem>
#include <string>
#include <vector>

namespace radmark::storage {

class Keyring {
public:
    static Keyring create(Bytes storeId, Bytes failurePublicKey);
    static Keyring load(const std::filesystem::path& path); // throws KeyringError
    // Written to a temporary file in the same folder, synced, then renamed over the old one.
    void save(const std::filesystem::path& path) const;

    const Bytes& storeId() const { return storeId_; }
    int keyVersion() const { return keyVersion_; }
    const Bytes& failurePublicKey() const { return failurePublicKey_; }
    // Whether <store>/failed-logins must exist (stores made or logged into since it is kept as a
    // chained record): its absence is then a tamper event, not "no failures".
    bool keepsFailureRecord() const { return keepsFailureRecord_; }
    void setKeepsFailureRecord() { keepsFailureRecord_ = true; }

    // The id under which a user's wrapped key is kept: BLAKE2b(name) keyed with the store id.
    Bytes userIdFor(const std::string& userName) const;
    bool has(const Bytes& userId) const;

    // A new key pair for the user, its secret half sealed under password at the policy's Argon2id
    // cost, and dbKey (of the current key version) sealed to it; replaces any earlier entry.
    void addPassword(const Bytes& userId, const std::string& password, const SecureBytes& dbKey,
                     const Policy& policy);
    // dbKey sealed to the key pair derived from the recovery key (replacing any earlier one).
    void addRecovery(const SecureBytes& recoveryKey, const SecureBytes& dbKey);
    void remove(const Bytes& userId);

    // The database keys a password or the recovery key opens: the current version's, and the
    // pending version's while a rotation is unfinished (either may be empty then, not both).
    struct Keys {
        SecureBytes current;
        SecureBytes pending;
    };
    // Throws AuthenticationError when the password does not open the entry (or there is none).
    Keys unwrapAllWithPassword(const Bytes& userId, const std::string& password) const;
    Keys unwrapAllWithRecovery(const SecureBytes& recoveryKey) const;
    // The current key (the pending one when only that opens): for callers outside a rotation.
    SecureBytes unwrapWithPassword(const Bytes& userId, const std::string& password) const;
    SecureBytes unwrapWithRecovery(const SecureBytes& recoveryKey) const;

    // Format 1 left over: the user's entry (or the recovery key's) wraps the database key
    // directly under her password and has no key pair, so a rotation cannot reach it.
    bool needsKeyPair(const Bytes& userId) const;
    bool recoveryNeedsKeyPair() const;
    // The users (ids) a rotation can seal a new key to, and those it cannot (format 1).
    std::vector<Bytes> sealableUsers() const;
    std::vector<Bytes> unsealableUsers() const;

    // Rotation, in three steps each saved before the next: begin seals newKey as version
    // keyVersion() + 1 to every key pair (and to newRecoveryKey's pair when given: a store whose
    // recovery entry is of format 1 gets a new recovery key); the database is then rekeyed;
    // complete makes the pending version current and drops every older key and the format-1
    // entries (they hold only the old key); abandon drops the pending version instead.
    void beginRotation(const SecureBytes& newKey, const SecureBytes* newRecoveryKey);
    int pendingKeyVersion() const { return pendingVersion_; } // 0: none
    void completeRotation();
    void abandonRotation();
    // Whether the user's entry was wrapped at a lower Argon2id cost (operations or memory) than
    // the policy asks; false when there is no such entry.
    bool wrappedBelow(const Bytes& userId, const Policy& policy) const;
    std::string wrappingCost(const Bytes& userId) const; // "ops N, M KiB", for the log

    static constexpr std::size_t keySize = 32;

private:
    // Format 1: the database key wrapped directly (kept until the user's next login).
    struct Entry {
        Bytes userId;
        bool recovery = false;
        Bytes salt;
        std::uint64_t operations = 0;
        std::uint64_t memoryBytes = 0;
        Bytes nonce;
        Bytes sealed;
    };
    // Format 2: a key pair (the recovery key's has no password wrapping: its secret half is
    // derived from the recovery key) and the database keys sealed to it, by key version.
    struct Recipient {
        Bytes userId;
        bool recovery = false;
        Bytes publicKey;
        Bytes salt;
        std::uint64_t operations = 0;
        std::uint64_t memoryBytes = 0;
        Bytes nonce;
        Bytes sealedSecret;
        std::vector<std::pair<int, Bytes>> sealedKeys;
    };
    const Entry* find(const Bytes& userId) const;
    const Recipient* findRecipient(const Bytes& userId) const;
    const Recipient* findRecovery(const Bytes& publicKey) const;
    Bytes sealTo(const Bytes& publicKey, int version, const SecureBytes& dbKey) const;
    Keys openSealed(const Recipient& r, const SecureBytes& secretKey) const;
    Bytes associatedData(const Bytes& userId) const;
    Entry seal(const Bytes& userId, const SecureBytes& kek, const SecureBytes& dbKey) const;
    SecureBytes open(const Entry& entry, const SecureBytes& kek) const;

    Bytes storeId_;
    int keyVersion_ = 1;
    int pendingVersion_ = 0;
    Bytes failurePublicKey_;
    bool keepsFailureRecord_ = false;
    std::vector<Entry> entries_;
    std::vector<Recipient> recipients_;
};

// Writes bytes to path atomically (a new temporary file of its own in the same folder, fsync,
// rename, fsync dir). Throws StoreError when any step fails (disk full, folder not writable).
void writeFileAtomically(const std::filesystem::path& path, const std::string& bytes);

} // namespace radmark::storage
