#include "storage/Keyring.h"

#include "storage/Errors.h"

#include <nlohmann/json.hpp>
#include <sodium.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace radmark::storage {

namespace {
const Bytes recoveryUserId = {'r', 'e', 'c', 'o', 'v', 'e', 'r', 'y'};
}

void writeFileAtomically(const std::filesystem::path& path, const std::string& bytes) {
    // A temporary name of its own (not a fixed "<name>.new" that anyone who can write the folder
    // could make a directory or a symlink beforehand); mkostemp creates it 0600 with O_EXCL.
    std::string temporary = path.string() + ".new-XXXXXX";
    const int fd = ::mkostemp(temporary.data(), O_CLOEXEC);
    if (fd < 0)
        throw StoreError("cannot write " + path.filename().string() + ": " +
                         std::strerror(errno));
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n <= 0) {
            const int error = n < 0 ? errno : ENOSPC;
            ::close(fd);
            ::unlink(temporary.c_str());
            throw StoreError("cannot write " + path.filename().string() + ": " +
                             std::strerror(error));
        }
        done += std::size_t(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        ::unlink(temporary.c_str());
        throw StoreError("cannot write " + path.filename().string() + " (disk error)");
    }
    if (::rename(temporary.c_str(), path.c_str()) != 0) {
        const int error = errno;
        ::unlink(temporary.c_str());
        throw StoreError("cannot replace " + path.filename().string() + ": " +
                         std::strerror(error));
    }
    const int dir = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0 || ::fsync(dir) != 0) {
        if (dir >= 0)
            ::close(dir);
        throw StoreError("cannot write " + path.filename().string() + " durably (disk error)");
    }
    ::close(dir);
}

Keyring Keyring::create(Bytes storeId, Bytes failurePublicKey) {
    Keyring k;
    k.storeId_ = std::move(storeId);
    k.failurePublicKey_ = std::move(failurePublicKey);
    return k;
}

namespace {

std::vector<std::pair<int, Bytes>> sealedKeysFrom(const nlohmann::json& keys) {
    std::vector<std::pair<int, Bytes>> out;
    for (const auto& [version, sealed] : keys.items()) {
        const int v = std::stoi(version);
        Bytes b = fromBase64(sealed.get<std::string>());
        if (v < 1 || b.size() != crypto_box_SEALBYTES + 4 + 16 + Keyring::keySize)
            throw KeyringError("the keyring holds a damaged entry");
        out.emplace_back(v, std::move(b));
    }
    return out;
}

} // namespace

Keyring Keyring::load(const std::filesystem::path& path) {
    initialiseCrypto();
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw KeyringError("the keyring of this store is missing or cannot be read (" +
                           path.string() + ")");
    std::stringstream text;
    text << in.rdbuf();
    Keyring k;
    try {
        const auto j = nlohmann::json::parse(text.str());
        const int format = j.at("version").get<int>();
        if (j.at("format").get<std::string>() != "radmark-keyring" || (format != 1 && format != 2))
            throw KeyringError("the keyring is not a Radmark keyring of a known version");
        k.storeId_ = fromHex(j.at("store_id").get<std::string>());
        k.keyVersion_ = j.at("key_version").get<int>();
        k.pendingVersion_ = j.value("pending_key_version", 0);
        k.failurePublicKey_ = fromHex(j.at("failure_public_key").get<std::string>());
        k.keepsFailureRecord_ = j.value("failed_logins", 0) == 2;
        for (const auto& e : j.value("entries", nlohmann::json::array())) {
            Entry entry;
            entry.userId = fromHex(e.at("user").get<std::string>());
            entry.recovery = e.at("kind").get<std::string>() == "recovery";
            entry.salt = fromBase64(e.at("salt").get<std::string>());
            entry.operations = e.at("ops").get<std::uint64_t>();
            entry.memoryBytes = e.at("mem").get<std::uint64_t>();
            entry.nonce = fromBase64(e.at("nonce").get<std::string>());
            entry.sealed = fromBase64(e.at("sealed").get<std::string>());
            if (entry.nonce.size() != crypto_aead_xchacha20poly1305_ietf_NPUBBYTES ||
                entry.sealed.size() != keySize + crypto_aead_xchacha20poly1305_ietf_ABYTES ||
                (!entry.recovery && entry.salt.size() != crypto_pwhash_SALTBYTES))
                throw KeyringError("the keyring holds a damaged entry");
            k.entries_.push_back(std::move(entry));
        }
        for (const auto& e : j.value("recipients", nlohmann::json::array())) {
            Recipient r;
            r.userId = fromHex(e.at("user").get<std::string>());
            r.recovery = e.at("kind").get<std::string>() == "recovery";
            r.publicKey = fromBase64(e.at("public").get<std::string>());
            if (!r.recovery) {
                r.salt = fromBase64(e.at("salt").get<std::string>());
                r.operations = e.at("ops").get<std::uint64_t>();
                r.memoryBytes = e.at("mem").get<std::uint64_t>();
                r.nonce = fromBase64(e.at("nonce").get<std::string>());
                r.sealedSecret = fromBase64(e.at("secret").get<std::string>());
                if (r.salt.size() != crypto_pwhash_SALTBYTES ||
                    r.nonce.size() != crypto_aead_xchacha20poly1305_ietf_NPUBBYTES ||
                    r.sealedSecret.size() !=
                        crypto_box_SECRETKEYBYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES)
                    throw KeyringError("the keyring holds a damaged entry");
            }
            r.sealedKeys = sealedKeysFrom(e.at("keys"));
            if (r.publicKey.size() != crypto_box_PUBLICKEYBYTES)
                throw KeyringError("the keyring holds a damaged entry");
            k.recipients_.push_back(std::move(r));
        }
        if (k.storeId_.size() != 16 || k.failurePublicKey_.size() != crypto_box_PUBLICKEYBYTES ||
            k.keyVersion_ < 1 || (k.pendingVersion_ != 0 && k.pendingVersion_ != k.keyVersion_ + 1))
            throw KeyringError("the keyring is damaged");
    } catch (const KeyringError&) {
        throw;
    } catch (const std::exception&) {
        throw KeyringError("the keyring of this store is damaged or was altered");
    }
    return k;
}

void Keyring::save(const std::filesystem::path& path) const {
    nlohmann::json j;
    j["format"] = "radmark-keyring";
    j["version"] = 2;
    j["store_id"] = toHex(storeId_);
    j["key_version"] = keyVersion_;
    if (pendingVersion_ != 0)
        j["pending_key_version"] = pendingVersion_; // a rotation is under way (KeyRotation.h)
    j["failure_public_key"] = toHex(failurePublicKey_);
    if (keepsFailureRecord_)
        j["failed_logins"] = 2; // <store>/failed-logins is a chained record that must exist
    j["recipients"] = nlohmann::json::array();
    for (const auto& r : recipients_) {
        nlohmann::json e = {{"user", toHex(r.userId)},
                            {"kind", r.recovery ? "recovery" : "password"},
                            {"public", toBase64(r.publicKey)}};
        if (!r.recovery) {
            e["salt"] = toBase64(r.salt);
            e["ops"] = r.operations;
            e["mem"] = r.memoryBytes;
            e["nonce"] = toBase64(r.nonce);
            e["secret"] = toBase64(r.sealedSecret);
        }
        e["keys"] = nlohmann::json::object();
        for (const auto& [version, sealed] : r.sealedKeys)
            e["keys"][std::to_string(version)] = toBase64(sealed);
        j["recipients"].push_back(std::move(e));
    }
    j["entries"] = nlohmann::json::array(); // format 1, until each user's next login
    for (const auto& e : entries_) {
        j["entries"].push_back({{"user", toHex(e.userId)},
                                {"kind", e.recovery ? "recovery" : "password"},
                                {"salt", toBase64(e.salt)},
                                {"ops", e.operations},
                                {"mem", e.memoryBytes},
                                {"nonce", toBase64(e.nonce)},
                                {"sealed", toBase64(e.sealed)}});
    }
    writeFileAtomically(path, j.dump(1) + "\n");
}

Bytes Keyring::userIdFor(const std::string& userName) const {
    initialiseCrypto();
    Bytes id(32);
    crypto_generichash(id.data(), id.size(), reinterpret_cast<const unsigned char*>(userName.data()),
                       userName.size(), storeId_.data(), storeId_.size());
    return id;
}

const Keyring::Entry* Keyring::find(const Bytes& userId) const {
    for (const auto& e : entries_)
        if (e.userId == userId)
            return &e;
    return nullptr;
}

bool Keyring::has(const Bytes& userId) const {
    return find(userId) != nullptr || findRecipient(userId) != nullptr;
}

Bytes Keyring::associatedData(const Bytes& userId) const {
    Bytes ad = storeId_;
    ad.insert(ad.end(), userId.begin(), userId.end());
    for (int shift = 24; shift >= 0; shift -= 8)
        ad.push_back(std::uint8_t(std::uint32_t(keyVersion_) >> shift));
    return ad;
}

Keyring::Entry Keyring::seal(const Bytes& userId, const SecureBytes& kek,
                             const SecureBytes& dbKey) const {
    Entry e;
    e.userId = userId;
    e.nonce.resize(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    randombytes_buf(e.nonce.data(), e.nonce.size());
    e.sealed.resize(dbKey.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES);
    const Bytes ad = associatedData(userId);
    unsigned long long written = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(e.sealed.data(), &written, dbKey.data(),
                                               dbKey.size(), ad.data(), ad.size(), nullptr,
                                               e.nonce.data(), kek.data());
    e.sealed.resize(written);
    return e;
}

SecureBytes Keyring::open(const Entry& entry, const SecureBytes& kek) const {
    SecureBytes key(keySize);
    const Bytes ad = associatedData(entry.userId);
    unsigned long long written = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(key.data(), &written, nullptr,
                                                   entry.sealed.data(), entry.sealed.size(),
                                                   ad.data(), ad.size(), entry.nonce.data(),
                                                   kek.data()) != 0 ||
        written != keySize)
        throw AuthenticationError("the user name or password is not correct");
    return key;
}

namespace {
SecureBytes deriveKek(const std::string& password, const Bytes& salt, std::uint64_t operations,
                      std::uint64_t memoryBytes) {
    SecureBytes kek(Keyring::keySize);
    if (crypto_pwhash(kek.data(), kek.size(), password.data(), password.size(), salt.data(),
                      operations, std::size_t(memoryBytes), crypto_pwhash_ALG_ARGON2ID13) != 0)
        throw StoreError("not enough memory to check the password (Argon2id)");
    return kek;
}
} // namespace

namespace {

// The recovery key's X25519 pair: derived (BLAKE2b keyed with the recovery key), never stored.
void recoveryKeyPair(const SecureBytes& recoveryKey, const Bytes& storeId, Bytes& publicKey,
                     SecureBytes& secretKey) {
    static const char label[] = "radmark recovery x25519 v1";
    Bytes message(label, label + sizeof label - 1);
    message.insert(message.end(), storeId.begin(), storeId.end());
    SecureBytes seed(crypto_box_SEEDBYTES);
    crypto_generichash(seed.data(), seed.size(), message.data(), message.size(),
                       recoveryKey.data(), recoveryKey.size());
    publicKey.resize(crypto_box_PUBLICKEYBYTES);
    secretKey = SecureBytes(crypto_box_SECRETKEYBYTES);
    crypto_box_seed_keypair(publicKey.data(), secretKey.data(), seed.data());
}

Bytes secretAssociatedData(const Bytes& storeId, const Bytes& userId, const Bytes& publicKey) {
    Bytes ad = storeId;
    ad.insert(ad.end(), userId.begin(), userId.end());
    ad.insert(ad.end(), publicKey.begin(), publicKey.end());
    return ad;
}

} // namespace

// Sealed payload: key version (4 bytes, big-endian) || store id || database key, so that an
// entry moved to another version or store does not open.
Bytes Keyring::sealTo(const Bytes& publicKey, int version, const SecureBytes& dbKey) const {
    SecureBytes payload(4 + storeId_.size() + dbKey.size());
    for (int i = 0; i < 4; ++i)
        payload.data()[i] = std::uint8_t(std::uint32_t(version) >> (24 - 8 * i));
    std::memcpy(payload.data() + 4, storeId_.data(), storeId_.size());
    std::memcpy(payload.data() + 4 + storeId_.size(), dbKey.data(), dbKey.size());
    Bytes sealed(payload.size() + crypto_box_SEALBYTES);
    crypto_box_seal(sealed.data(), payload.data(), payload.size(), publicKey.data());
    return sealed;
}

Keyring::Keys Keyring::openSealed(const Recipient& r, const SecureBytes& secretKey) const {
    Keys keys;
    for (const auto& [version, sealed] : r.sealedKeys) {
        if (version != keyVersion_ && version != pendingVersion_)
            continue;
        SecureBytes payload(sealed.size() - crypto_box_SEALBYTES);
        if (crypto_box_seal_open(payload.data(), sealed.data(), sealed.size(), r.publicKey.data(),
                                 secretKey.data()) != 0)
            throw KeyringError("the keyring entry of this account is damaged or was altered");
        std::uint32_t v = 0;
        for (int i = 0; i < 4; ++i)
            v = (v << 8) | payload.data()[i];
        if (int(v) != version ||
            std::memcmp(payload.data() + 4, storeId_.data(), storeId_.size()) != 0)
            throw KeyringError("the keyring entry of this account was moved or altered");
        SecureBytes key(payload.data() + 4 + storeId_.size(), keySize);
        (version == keyVersion_ ? keys.current : keys.pending) = std::move(key);
    }
    if (keys.current.empty() && keys.pending.empty())
        throw AuthenticationError("the user name or password is not correct, or the account "
                                  "was disabled");
    return keys;
}

const Keyring::Recipient* Keyring::findRecipient(const Bytes& userId) const {
    for (const auto& r : recipients_)
        if (!r.recovery && r.userId == userId)
            return &r;
    return nullptr;
}

const Keyring::Recipient* Keyring::findRecovery(const Bytes& publicKey) const {
    for (const auto& r : recipients_)
        if (r.recovery && r.publicKey == publicKey)
            return &r;
    return nullptr;
}

void Keyring::addPassword(const Bytes& userId, const std::string& password,
                          const SecureBytes& dbKey, const Policy& policy) {
    Recipient r;
    r.userId = userId;
    r.publicKey.resize(crypto_box_PUBLICKEYBYTES);
    SecureBytes secret(crypto_box_SECRETKEYBYTES);
    crypto_box_keypair(r.publicKey.data(), secret.data());
    r.salt.resize(crypto_pwhash_SALTBYTES);
    randombytes_buf(r.salt.data(), r.salt.size());
    r.operations = policy.argon2Operations;
    r.memoryBytes = policy.argon2MemoryBytes;
    const SecureBytes kek = deriveKek(password, r.salt, r.operations, r.memoryBytes);
    r.nonce.resize(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    randombytes_buf(r.nonce.data(), r.nonce.size());
    r.sealedSecret.resize(secret.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES);
    const Bytes ad = secretAssociatedData(storeId_, userId, r.publicKey);
    unsigned long long written = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(r.sealedSecret.data(), &written, secret.data(),
                                               secret.size(), ad.data(), ad.size(), nullptr,
                                               r.nonce.data(), kek.data());
    r.sealedSecret.resize(written);
    r.sealedKeys.emplace_back(keyVersion_, sealTo(r.publicKey, keyVersion_, dbKey));
    remove(userId);
    recipients_.push_back(std::move(r));
}

void Keyring::addRecovery(const SecureBytes& recoveryKey, const SecureBytes& dbKey) {
    Recipient r;
    r.userId = recoveryUserId;
    r.recovery = true;
    SecureBytes secret;
    recoveryKeyPair(recoveryKey, storeId_, r.publicKey, secret);
    r.sealedKeys.emplace_back(keyVersion_, sealTo(r.publicKey, keyVersion_, dbKey));
    remove(recoveryUserId);
    recipients_.push_back(std::move(r));
}

void Keyring::remove(const Bytes& userId) {
    entries_.erase(std::remove_if(entries_.begin(), entries_.end(),
                                  [&](const Entry& e) { return e.userId == userId; }),
                   entries_.end());
    recipients_.erase(std::remove_if(recipients_.begin(), recipients_.end(),
                                     [&](const Recipient& r) { return r.userId == userId; }),
                      recipients_.end());
}

Keyring::Keys Keyring::unwrapAllWithPassword(const Bytes& userId,
                                             const std::string& password) const {
    if (const Recipient* r = findRecipient(userId)) {
        const SecureBytes kek = deriveKek(password, r->salt, r->operations, r->memoryBytes);
        SecureBytes secret(crypto_box_SECRETKEYBYTES);
        const Bytes ad = secretAssociatedData(storeId_, userId, r->publicKey);
        unsigned long long written = 0;
        if (crypto_aead_xchacha20poly1305_ietf_decrypt(secret.data(), &written, nullptr,
                                                       r->sealedSecret.data(),
                                                       r->sealedSecret.size(), ad.data(),
                                                       ad.size(), r->nonce.data(), kek.data()) != 0 ||
            written != secret.size())
            throw AuthenticationError("the user name or password is not correct");
        return openSealed(*r, secret);
    }
    const Entry* e = find(userId);
    if (!e || e->recovery)
        throw AuthenticationError("the user name or password is not correct, or the account "
                                  "was disabled");
    const SecureBytes kek = deriveKek(password, e->salt, e->operations, e->memoryBytes);
    Keys keys;
    keys.current = open(*e, kek);
    return keys;
}

Keyring::Keys Keyring::unwrapAllWithRecovery(const SecureBytes& recoveryKey) const {
    if (recoveryKey.size() != keySize)
        throw AuthenticationError("the recovery key is not correct");
    Bytes publicKey;
    SecureBytes secret;
    recoveryKeyPair(recoveryKey, storeId_, publicKey, secret);
    if (const Recipient* r = findRecovery(publicKey)) {
        try {
            return openSealed(*r, secret);
        } catch (const AuthenticationError&) {
            throw AuthenticationError("the recovery key is not correct");
        }
    }
    const Entry* e = find(recoveryUserId);
    if (!e) {
        for (const auto& r : recipients_)
            if (r.recovery)
                throw AuthenticationError("the recovery key is not correct");
        throw KeyringError("this store has no recovery key");
    }
    Keys keys;
    try {
        keys.current = open(*e, recoveryKey);
    } catch (const AuthenticationError&) {
        throw AuthenticationError("the recovery key is not correct");
    }
    return keys;
}

SecureBytes Keyring::unwrapWithPassword(const Bytes& userId, const std::string& password) const {
    Keys keys = unwrapAllWithPassword(userId, password);
    return keys.current.empty() ? std::move(keys.pending) : std::move(keys.current);
}

SecureBytes Keyring::unwrapWithRecovery(const SecureBytes& recoveryKey) const {
    Keys keys = unwrapAllWithRecovery(recoveryKey);
    return keys.current.empty() ? std::move(keys.pending) : std::move(keys.current);
}

bool Keyring::needsKeyPair(const Bytes& userId) const {
    const Entry* e = find(userId);
    return e && !e->recovery && !findRecipient(userId);
}

bool Keyring::recoveryNeedsKeyPair() const {
    for (const auto& r : recipients_)
        if (r.recovery)
            return false;
    return find(recoveryUserId) != nullptr;
}

std::vector<Bytes> Keyring::sealableUsers() const {
    std::vector<Bytes> out;
    for (const auto& r : recipients_)
        if (!r.recovery)
            out.push_back(r.userId);
    return out;
}

std::vector<Bytes> Keyring::unsealableUsers() const {
    std::vector<Bytes> out;
    for (const auto& e : entries_)
        if (!e.recovery && !findRecipient(e.userId))
            out.push_back(e.userId);
    return out;
}

void Keyring::beginRotation(const SecureBytes& newKey, const SecureBytes* newRecoveryKey) {
    if (pendingVersion_ != 0)
        abandonRotation();
    pendingVersion_ = keyVersion_ + 1;
    for (auto& r : recipients_)
        if (!(r.recovery && newRecoveryKey)) // a replaced recovery pair gets no new key
            r.sealedKeys.emplace_back(pendingVersion_,
                                      sealTo(r.publicKey, pendingVersion_, newKey));
    if (newRecoveryKey) {
        Recipient r;
        r.userId = recoveryUserId;
        r.recovery = true;
        SecureBytes secret;
        recoveryKeyPair(*newRecoveryKey, storeId_, r.publicKey, secret);
        r.sealedKeys.emplace_back(pendingVersion_, sealTo(r.publicKey, pendingVersion_, newKey));
        // Replaces the recovery key pair of the current version, if any, once completed.
        recipients_.push_back(std::move(r));
    }
}

void Keyring::completeRotation() {
    if (pendingVersion_ == 0)
        return;
    keyVersion_ = pendingVersion_;
    pendingVersion_ = 0;
    for (auto& r : recipients_)
        r.sealedKeys.erase(std::remove_if(r.sealedKeys.begin(), r.sealedKeys.end(),
                                          [&](const auto& k) { return k.first != keyVersion_; }),
                           r.sealedKeys.end());
    recipients_.erase(std::remove_if(recipients_.begin(), recipients_.end(),
                                     [](const Recipient& r) { return r.sealedKeys.empty(); }),
                      recipients_.end());
    entries_.clear(); // format 1 entries wrap only the old key
}

void Keyring::abandonRotation() {
    if (pendingVersion_ == 0)
        return;
    for (auto& r : recipients_)
        r.sealedKeys.erase(std::remove_if(r.sealedKeys.begin(), r.sealedKeys.end(),
                                          [&](const auto& k) { return k.first == pendingVersion_; }),
                           r.sealedKeys.end());
    recipients_.erase(std::remove_if(recipients_.begin(), recipients_.end(),
                                     [](const Recipient& r) { return r.sealedKeys.empty(); }),
                      recipients_.end());
    pendingVersion_ = 0;
}

bool Keyring::wrappedBelow(const Bytes& userId, const Policy& policy) const {
    if (const Recipient* r = findRecipient(userId))
        return r->operations < policy.argon2Operations ||
               r->memoryBytes < policy.argon2MemoryBytes;
    const Entry* e = find(userId);
    return e && !e->recovery &&
           (e->operations < policy.argon2Operations || e->memoryBytes < policy.argon2MemoryBytes);
}

std::string Keyring::wrappingCost(const Bytes& userId) const {
    if (const Recipient* r = findRecipient(userId))
        return "ops " + std::to_string(r->operations) + ", " +
               std::to_string(r->memoryBytes / 1024) + " KiB";
    const Entry* e = find(userId);
    if (!e)
        return "none";
    return "ops " + std::to_string(e->operations) + ", " + std::to_string(e->memoryBytes / 1024) +
           " KiB";
}

} // namespace radmark::storage
