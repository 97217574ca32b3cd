#pragma once
// <store>/keyring: the random database key, wrapped once per user (Argon2id key-encryption key,
// XChaCha20-Poly1305, associated data = store id || user id || key version) and once for the
// offline recovery key. It holds no names: a user's entry is found by a keyed hash of the name.

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

    // Wraps dbKey under password at the policy's Argon2id cost (replacing any earlier entry).
    void addPassword(const Bytes& userId, const std::string& password, const SecureBytes& dbKey,
                     const Policy& policy);
    void addRecovery(const SecureBytes& recoveryKey, const SecureBytes& dbKey);
    void remove(const Bytes& userId);

    // Throws AuthenticationError when the password does not open the entry, KeyringError when
    // there is no such entry.
    SecureBytes unwrapWithPassword(const Bytes& userId, const std::string& password) const;
    SecureBytes unwrapWithRecovery(const SecureBytes& recoveryKey) const;
    // Whether the user's entry was wrapped at a lower Argon2id cost (operations or memory) than
    // the policy asks; false when there is no such entry.
    bool wrappedBelow(const Bytes& userId, const Policy& policy) const;
    std::string wrappingCost(const Bytes& userId) const; // "ops N, M KiB", for the log

    static constexpr std::size_t keySize = 32;

private:
    struct Entry {
        Bytes userId;
        bool recovery = false;
        Bytes salt;
        std::uint64_t operations = 0;
        std::uint64_t memoryBytes = 0;
        Bytes nonce;
        Bytes sealed;
    };
    const Entry* find(const Bytes& userId) const;
    Bytes associatedData(const Bytes& userId) const;
    Entry seal(const Bytes& userId, const SecureBytes& kek, const SecureBytes& dbKey) const;
    SecureBytes open(const Entry& entry, const SecureBytes& kek) const;

    Bytes storeId_;
    int keyVersion_ = 1;
    Bytes failurePublicKey_;
    bool keepsFailureRecord_ = false;
    std::vector<Entry> entries_;
};

// Writes bytes to path atomically (a new temporary file of its own in the same folder, fsync,
// rename, fsync dir). Throws StoreError when any step fails (disk full, folder not writable).
void writeFileAtomically(const std::filesystem::path& path, const std::string& bytes);

} // namespace radmark::storage
