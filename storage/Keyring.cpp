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
        if (j.at("format").get<std::string>() != "radmark-keyring" || j.at("version").get<int>() != 1)
            throw KeyringError("the keyring is not a Radmark keyring of a known version");
        k.storeId_ = fromHex(j.at("store_id").get<std::string>());
        k.keyVersion_ = j.at("key_version").get<int>();
        k.failurePublicKey_ = fromHex(j.at("failure_public_key").get<std::string>());
        k.keepsFailureRecord_ = j.value("failed_logins", 0) == 2;
        for (const auto& e : j.at("entries")) {
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
        if (k.storeId_.size() != 16 || k.failurePublicKey_.size() != crypto_box_PUBLICKEYBYTES)
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
    j["version"] = 1;
    j["store_id"] = toHex(storeId_);
    j["key_version"] = keyVersion_;
    j["failure_public_key"] = toHex(failurePublicKey_);
    if (keepsFailureRecord_)
        j["failed_logins"] = 2; // <store>/failed-logins is a chained record that must exist
    j["entries"] = nlohmann::json::array();
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

bool Keyring::has(const Bytes& userId) const { return find(userId) != nullptr; }

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

void Keyring::addPassword(const Bytes& userId, const std::string& password,
                          const SecureBytes& dbKey, const Policy& policy) {
    Bytes salt(crypto_pwhash_SALTBYTES);
    randombytes_buf(salt.data(), salt.size());
    const SecureBytes kek =
        deriveKek(password, salt, policy.argon2Operations, policy.argon2MemoryBytes);
    Entry e = seal(userId, kek, dbKey);
    e.salt = salt;
    e.operations = policy.argon2Operations;
    e.memoryBytes = policy.argon2MemoryBytes;
    remove(userId);
    entries_.push_back(std::move(e));
}

void Keyring::addRecovery(const SecureBytes& recoveryKey, const SecureBytes& dbKey) {
    // The recovery key is 256 random bits: it is the key-encryption key itself, no Argon2 needed.
    Entry e = seal(recoveryUserId, recoveryKey, dbKey);
    e.recovery = true;
    remove(recoveryUserId);
    entries_.push_back(std::move(e));
}

void Keyring::remove(const Bytes& userId) {
    entries_.erase(std::remove_if(entries_.begin(), entries_.end(),
                                  [&](const Entry& e) { return e.userId == userId; }),
                   entries_.end());
}

SecureBytes Keyring::unwrapWithPassword(const Bytes& userId, const std::string& password) const {
    const Entry* e = find(userId);
    if (!e || e->recovery)
        throw AuthenticationError("the user name or password is not correct, or the account "
                                  "was disabled");
    const SecureBytes kek = deriveKek(password, e->salt, e->operations, e->memoryBytes);
    return open(*e, kek);
}

bool Keyring::wrappedBelow(const Bytes& userId, const Policy& policy) const {
    const Entry* e = find(userId);
    return e && !e->recovery &&
           (e->operations < policy.argon2Operations || e->memoryBytes < policy.argon2MemoryBytes);
}

std::string Keyring::wrappingCost(const Bytes& userId) const {
    const Entry* e = find(userId);
    if (!e)
        return "none";
    return "ops " + std::to_string(e->operations) + ", " + std::to_string(e->memoryBytes / 1024) +
           " KiB";
}

SecureBytes Keyring::unwrapWithRecovery(const SecureBytes& recoveryKey) const {
    const Entry* e = find(recoveryUserId);
    if (!e)
        throw KeyringError("this store has no recovery key");
    if (recoveryKey.size() != keySize)
        throw AuthenticationError("the recovery key is not correct");
    try {
        return open(*e, recoveryKey);
    } catch (const AuthenticationError&) {
        throw AuthenticationError("the recovery key is not correct");
    }
}

} // namespace radmark::storage
