#include "bundle/Seal.h"

#include "bundle/BagLayout.h"
#include "bundle/Errors.h"
#include "bundle/Minisign.h"
#include "storage/AuditLog.h"

#include <algorithm>
#include <filesystem>

namespace radmark::bundle {

namespace fs = std::filesystem;

namespace {

std::string defaultTrustedComment(const BagInfo& info) {
    std::string comment = "Radmark bundle";
    for (const auto& f : info.fields)
        if (f.label == layout::datasetField)
            comment += "; dataset " + f.value;
    for (const auto& f : info.fields)
        if (f.label == layout::revisionField)
            comment += "; revision " + f.value;
    comment += "; bagged " + info.baggingDate;
    if (comment.size() > 1000)
        comment.resize(1000);
    return comment;
}

void checkCheckpoint(const std::string& json, const Ed25519PublicKey& signer) {
    storage::Checkpoint checkpoint;
    try {
        checkpoint = storage::Checkpoint::fromJson(json);
    } catch (const std::exception& e) {
        throw BundleError(std::string("the audit checkpoint to include is unusable: ") + e.what());
    }
    if (!std::equal(signer.begin(), signer.end(), checkpoint.publicKey.begin(),
                    checkpoint.publicKey.end()))
        throw BundleError("the audit checkpoint was signed by another key than the one that "
                          "signs the bundle");
    if (!checkpoint.signatureValid())
        throw BundleError("the audit checkpoint's signature does not verify");
}

} // namespace

void signTagManifest(const fs::path& bag, std::span<const std::uint8_t> signingSecretKey,
                     const std::string& trustedComment) {
    const std::string tagManifest = readTextFile(bag / layout::tagManifestFile);
    writeTextFile(bag / layout::signatureFile,
                  signMinisign(tagManifest, signingSecretKey, trustedComment));
}

SealedBag sealBag(const fs::path& bag, const BagSeal& seal,
                  std::span<const std::uint8_t> signingSecretKey) {
    const Ed25519PublicKey publicKey = publicKeyOf(signingSecretKey);
    checkCheckpoint(seal.auditCheckpointJson, publicKey);
    // A signature left from an earlier attempt must not outlive the files it signed.
    std::error_code ec;
    fs::remove(bag / layout::signatureFile, ec);
    if (ec)
        throw BundleError("cannot remove the old signature in " + bag.string() + ": " +
                          ec.message());
    writeTextFile(bag / layout::checkpointFile, seal.auditCheckpointJson);
    writeTextFile(bag / layout::publicKeyFile, formatMinisignPublicKey(publicKey));
    SealedBag sealed;
    sealed.totals = writeBagFiles(bag, seal.info, seal.threads);
    signTagManifest(bag, signingSecretKey,
                    seal.trustedComment.empty() ? defaultTrustedComment(seal.info)
                                                : seal.trustedComment);
    sealed.signerKeyId = keyIdHex(minisignKeyId(publicKey));
    return sealed;
}

} // namespace radmark::bundle
