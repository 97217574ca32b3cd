#pragma once
// Ed25519 signatures and public keys in minisign's file format, so that Debian's
// `minisign -V -p KEY.pub -m FILE` verifies what Radmark signs, and Radmark verifies it back.
// Signatures use minisign's prehashed algorithm "ED" (Ed25519 over BLAKE2b-512 of the file);
// verification also accepts the legacy "Ed" (Ed25519 over the file itself).
//
// Key id: minisign names a key by 8 bytes it stores beside it. Radmark derives them from the
// public key alone, so that every bundle of a workstation carries the same id: the unkeyed
// BLAKE2b of the 32-byte public key with an 8-byte output (libsodium crypto_generichash,
// Python hashlib.blake2b(pk, digest_size=8)). minisign shows them as a little-endian 64-bit
// number in upper-case hex (keyIdHex).

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace radmark::bundle {

using Ed25519PublicKey = std::array<std::uint8_t, 32>;
using MinisignKeyId = std::array<std::uint8_t, 8>;

struct MinisignPublicKey {
    MinisignKeyId keyId{};
    Ed25519PublicKey key{};
};

MinisignKeyId minisignKeyId(const Ed25519PublicKey& publicKey);
std::string keyIdHex(const MinisignKeyId& keyId); // as minisign prints it
// libsodium's 64-byte Ed25519 secret key is seed || public key.
Ed25519PublicKey publicKeyOf(std::span<const std::uint8_t> secretKey);

// "untrusted comment: minisign public key <id>\n<base64(Ed || key id || key)>\n"
std::string formatMinisignPublicKey(const Ed25519PublicKey& publicKey);
// A .pub file's text, or its base64 line alone (as minisign -P takes it). Throws BundleError.
MinisignPublicKey parseMinisignPublicKey(std::string_view text);

// The whole .minisig file for message. secretKey: libsodium's 64 bytes, read in place (never
// copied). trustedComment: one line, signed with the signature (the global signature).
std::string signMinisign(std::string_view message, std::span<const std::uint8_t> secretKey,
                         const std::string& trustedComment);

struct MinisignVerification {
    bool ok = false;
    std::string reason;   // when not ok, in words
    std::string keyIdHex; // the id the signature names
    std::string trustedComment;
    bool prehashed = false;
};

MinisignVerification verifyMinisign(std::string_view message, std::string_view signatureFile,
                                    const MinisignPublicKey& publicKey);

} // namespace radmark::bundle
