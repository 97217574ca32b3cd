#include "bundle/Minisign.h"

#include "bundle/Errors.h"

#include <sodium.h>

#include <cstring>
#include <vector>

namespace radmark::bundle {

namespace {

constexpr std::string_view untrustedPrefix = "untrusted comment: ";
constexpr std::string_view trustedPrefix = "trusted comment: ";
constexpr std::size_t maxCommentBytes = 1024;

void initialiseSodium() {
    static const bool ready = sodium_init() >= 0;
    if (!ready)
        throw BundleError("the cryptography library could not start");
}

std::string base64(const std::uint8_t* data, std::size_t size) {
    std::string out(sodium_base64_encoded_len(size, sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(out.data(), out.size(), data, size, sodium_base64_VARIANT_ORIGINAL);
    out.resize(std::strlen(out.c_str()));
    return out;
}

// Empty when text is not base64 of exactly `expected` bytes.
std::vector<std::uint8_t> unbase64(std::string_view text, std::size_t expected) {
    std::vector<std::uint8_t> out(expected + 3);
    std::size_t length = 0;
    const char* end = nullptr;
    if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), " \t\r", &length, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != text.data() + text.size() || length != expected)
        return {};
    out.resize(length);
    return out;
}

std::vector<std::string_view> splitLines(std::string_view text) {
    std::vector<std::string_view> lines;
    while (!text.empty()) {
        std::size_t end = text.find('\n');
        std::string_view line = text.substr(0, end);
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        lines.push_back(line);
        if (end == std::string_view::npos)
            break;
        text.remove_prefix(end + 1);
    }
    return lines;
}

} // namespace

MinisignKeyId minisignKeyId(const Ed25519PublicKey& publicKey) {
    initialiseSodium();
    MinisignKeyId id{};
    crypto_generichash(id.data(), id.size(), publicKey.data(), publicKey.size(), nullptr, 0);
    return id;
}

// As minisign prints it ("%" PRIX64 of the little-endian number): no leading zeros, so one key
// in sixteen has a 15-digit id.
std::string keyIdHex(const MinisignKeyId& keyId) {
    static const char* digits = "0123456789ABCDEF";
    std::string hex;
    for (std::size_t i = keyId.size(); i-- > 0;) {
        hex += digits[keyId[i] >> 4];
        hex += digits[keyId[i] & 15];
    }
    const std::size_t first = hex.find_first_not_of('0');
    return first == std::string::npos ? "0" : hex.substr(first);
}

Ed25519PublicKey publicKeyOf(std::span<const std::uint8_t> secretKey) {
    if (secretKey.size() != crypto_sign_SECRETKEYBYTES)
        throw BundleError("the signing key is not a 64-byte Ed25519 secret key");
    Ed25519PublicKey pk{};
    std::memcpy(pk.data(), secretKey.data() + crypto_sign_SECRETKEYBYTES - pk.size(), pk.size());
    return pk;
}

std::string formatMinisignPublicKey(const Ed25519PublicKey& publicKey) {
    const MinisignKeyId id = minisignKeyId(publicKey);
    std::uint8_t blob[2 + 8 + 32] = {'E', 'd'};
    std::memcpy(blob + 2, id.data(), id.size());
    std::memcpy(blob + 10, publicKey.data(), publicKey.size());
    return std::string(untrustedPrefix) + "minisign public key " + keyIdHex(id) + "\n" +
           base64(blob, sizeof blob) + "\n";
}

MinisignPublicKey parseMinisignPublicKey(std::string_view text) {
    initialiseSodium();
    const auto lines = splitLines(text);
    std::string_view keyLine;
    if (lines.size() >= 2 && lines[0].substr(0, untrustedPrefix.size()) == untrustedPrefix)
        keyLine = lines[1];
    else if (!lines.empty())
        keyLine = lines[0];
    const auto blob = unbase64(keyLine, 42);
    if (blob.empty() || blob[0] != 'E' || blob[1] != 'd')
        throw BundleError("not a minisign Ed25519 public key");
    MinisignPublicKey key;
    std::memcpy(key.keyId.data(), blob.data() + 2, 8);
    std::memcpy(key.key.data(), blob.data() + 10, 32);
    return key;
}

std::string signMinisign(std::string_view message, std::span<const std::uint8_t> secretKey,
                         const std::string& trustedComment) {
    initialiseSodium();
    if (trustedComment.find_first_of("\r\n") != std::string::npos ||
        trustedComment.size() > maxCommentBytes)
        throw BundleError("the trusted comment must be one line of at most 1024 bytes");
    const MinisignKeyId id = minisignKeyId(publicKeyOf(secretKey));

    std::uint8_t prehash[crypto_generichash_BYTES_MAX];
    crypto_generichash(prehash, sizeof prehash,
                       reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                       nullptr, 0);
    std::uint8_t blob[2 + 8 + crypto_sign_BYTES] = {'E', 'D'};
    std::memcpy(blob + 2, id.data(), id.size());
    std::uint8_t* signature = blob + 10;
    crypto_sign_detached(signature, nullptr, prehash, sizeof prehash, secretKey.data());

    std::vector<std::uint8_t> global(signature, signature + crypto_sign_BYTES);
    global.insert(global.end(), trustedComment.begin(), trustedComment.end());
    std::uint8_t globalSignature[crypto_sign_BYTES];
    crypto_sign_detached(globalSignature, nullptr, global.data(), global.size(), secretKey.data());

    return std::string(untrustedPrefix) + "signature from Radmark workstation key " + keyIdHex(id) +
           "\n" + base64(blob, sizeof blob) + "\n" + std::string(trustedPrefix) + trustedComment +
           "\n" + base64(globalSignature, sizeof globalSignature) + "\n";
}

MinisignVerification verifyMinisign(std::string_view message, std::string_view signatureFile,
                                    const MinisignPublicKey& publicKey) {
    initialiseSodium();
    MinisignVerification v;
    const auto lines = splitLines(signatureFile);
    if (lines.size() < 4 || lines[0].substr(0, untrustedPrefix.size()) != untrustedPrefix ||
        lines[2].substr(0, trustedPrefix.size()) != trustedPrefix) {
        v.reason = "not a minisign signature file";
        return v;
    }
    const auto blob = unbase64(lines[1], 2 + 8 + crypto_sign_BYTES);
    const auto globalSignature = unbase64(lines[3], crypto_sign_BYTES);
    if (blob.empty() || globalSignature.empty() || blob[0] != 'E' ||
        (blob[1] != 'D' && blob[1] != 'd')) {
        v.reason = "the signature lines are damaged or of an unknown algorithm";
        return v;
    }
    MinisignKeyId id{};
    std::memcpy(id.data(), blob.data() + 2, 8);
    v.keyIdHex = keyIdHex(id);
    v.prehashed = blob[1] == 'D';
    v.trustedComment = std::string(lines[2].substr(trustedPrefix.size()));
    if (id != publicKey.keyId) {
        v.reason =
            "signed by key " + v.keyIdHex + ", not by the given key " + keyIdHex(publicKey.keyId);
        return v;
    }
    const std::uint8_t* signature = blob.data() + 10;
    int status = 0;
    if (v.prehashed) {
        std::uint8_t prehash[crypto_generichash_BYTES_MAX];
        crypto_generichash(prehash, sizeof prehash,
                           reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                           nullptr, 0);
        status =
            crypto_sign_verify_detached(signature, prehash, sizeof prehash, publicKey.key.data());
    } else {
        status = crypto_sign_verify_detached(signature,
                                             reinterpret_cast<const unsigned char*>(message.data()),
                                             message.size(), publicKey.key.data());
    }
    if (status != 0) {
        v.reason = "the signature does not match the file (changed, or signed by another key)";
        return v;
    }
    std::vector<std::uint8_t> global(signature, signature + crypto_sign_BYTES);
    global.insert(global.end(), v.trustedComment.begin(), v.trustedComment.end());
    if (crypto_sign_verify_detached(globalSignature.data(), global.data(), global.size(),
                                    publicKey.key.data()) != 0) {
        v.reason = "the trusted comment was changed (its global signature does not verify)";
        return v;
    }
    v.ok = true;
    return v;
}

} // namespace radmark::bundle
