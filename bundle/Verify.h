#pragma once
// Verifying a bundle from its files alone (no store, no password): the BagIt declaration,
// Payload-Oxum, every payload and tag manifest line (missing, added and changed files each
// named), the minisign signature of the tag manifest, the audit checkpoint's signature and the
// nnU-Net rules of every DatasetNNN_Name folder in data/. The report also says what the
// bundle holds, for `radmark-cli bundle verify` to print.

#include "bundle/BagIt.h"
#include "bundle/BundleProblem.h"
#include "bundle/Minisign.h"
#include "bundle/NnunetCheck.h"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace radmark::bundle {

struct BundleVerifyOptions {
    // The workstation's published key (--public-key). Without it the key the bundle carries is
    // used: that proves the bundle is intact, not who made it.
    std::optional<MinisignPublicKey> trustedKey;
    unsigned threads = 2;
};

struct BundleReport {
    std::vector<BundleProblem> problems; // empty: the bundle verified
    bool ok() const { return problems.empty(); }

    std::vector<BagInfoField> bagInfo;
    std::string field(const std::string& label) const; // empty when absent
    std::uint64_t payloadFiles = 0;
    std::uint64_t payloadOctets = 0;

    bool signatureVerified = false;
    bool signerKeyGiven = false; // verified against --public-key, not the bundle's own key
    std::string signerKeyId;
    std::string trustedComment;

    bool checkpointVerified = false;
    std::int64_t checkpointTreeSize = 0;
    std::string checkpointTime;
    std::string checkpointStoreId;

    std::vector<NnunetDatasetSummary> nnunetDatasets;
    std::size_t niftiFiles = 0; // .nii.gz / .nii anywhere in data/
    std::size_t dicomFiles = 0; // .dcm
    std::size_t jsonFiles = 0;
};

BundleReport verifyBundle(const std::filesystem::path& bag, const BundleVerifyOptions& options);

} // namespace radmark::bundle
