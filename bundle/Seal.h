#pragma once
// Sealing a bundle: once the export has filled data/ and its own tag files (datasheet,
// provenance, ...), sealBag adds the audit checkpoint and the signer's public key, writes the
// BagIt files and manifests, and signs the tag manifest last, in minisign's format. What a
// recipient checks is in verifyBundle (bundle/Verify.h); the layout is in docs/export.md.

#include "bundle/BagIt.h"

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

namespace radmark::bundle {

struct BagSeal {
    BagInfo info;
    // The latest signed audit checkpoint (storage::Checkpoint::toJson()); it must be signed by
    // the same workstation key that signs the bundle.
    std::string auditCheckpointJson;
    // Signed with the tag manifest and shown by `minisign -V`; empty: one made from bag-info
    // (dataset, revision, bagging date).
    std::string trustedComment;
    unsigned threads = 2; // payload hashing workers
};

struct SealedBag {
    BagTotals totals;
    std::string signerKeyId; // minisign's key id, as `minisign -V` and `bundle verify` show it
};

// signingSecretKey: the workstation's 64-byte libsodium Ed25519 secret key, read in place and
// never copied. Throws BundleError (a checkpoint of another key included); on a throw the bag
// holds no signature, so it never looks complete.
SealedBag sealBag(const std::filesystem::path& bag, const BagSeal& seal,
                  std::span<const std::uint8_t> signingSecretKey);

// The last step alone: tagmanifest-sha256.txt.minisig over the tag manifest as it is.
void signTagManifest(const std::filesystem::path& bag,
                     std::span<const std::uint8_t> signingSecretKey,
                     const std::string& trustedComment);

} // namespace radmark::bundle
