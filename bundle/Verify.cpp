#include "bundle/Verify.h"

#include "bundle/BagLayout.h"
#include "bundle/Errors.h"
#include "bundle/Sha256.h"
#include "storage/AuditLog.h"
#include "storage/SecureBytes.h"

#include <algorithm>
#include <map>
#include <set>

namespace radmark::bundle {

namespace fs = std::filesystem;

std::string BundleReport::field(const std::string& label) const {
    for (const auto& f : bagInfo)
        if (f.label == label)
            return f.value;
    return {};
}

namespace {

bool endsWith(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A manifest path must stay inside the bag: relative, no "." or ".." or empty component.
bool safeRelativePath(const std::string& path) {
    if (path.empty() || path.front() == '/' || path.back() == '/')
        return false;
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t end = path.find('/', start);
        if (end == std::string::npos)
            end = path.size();
        const std::string part = path.substr(start, end - start);
        if (part.empty() || part == "." || part == "..")
            return false;
        start = end + 1;
    }
    return true;
}

// Checks one manifest against the files it should cover; returns the files' total size.
std::uint64_t checkManifest(const fs::path& bag, const std::string& manifestName,
                            const std::vector<std::string>& present, bool payload, unsigned threads,
                            std::vector<BundleProblem>& problems) {
    std::vector<ManifestEntry> entries;
    try {
        entries = parseManifest(readTextFile(bag / manifestName), manifestName);
    } catch (const BundleError& e) {
        problems.push_back({manifestName, fs::exists(bag / manifestName) ? e.what() : "missing"});
        return 0;
    }
    const std::set<std::string> onDisk(present.begin(), present.end());
    std::set<std::string> listed;
    std::vector<ManifestEntry> toHash;
    for (const auto& e : entries) {
        const bool inPayload = e.path.rfind(std::string(layout::payloadFolder) + "/", 0) == 0;
        if (!safeRelativePath(e.path) || inPayload != payload) {
            problems.push_back({manifestName, "lists a path it may not: " + e.path});
            continue;
        }
        if (!listed.insert(e.path).second) {
            problems.push_back({manifestName, "lists " + e.path + " twice"});
            continue;
        }
        if (!onDisk.count(e.path))
            problems.push_back({e.path, "missing (listed in " + manifestName + ")"});
        else
            toHash.push_back(e);
    }
    for (const auto& file : present)
        if (!listed.count(file))
            problems.push_back({file, "not listed in " + manifestName + " (added)"});
    std::vector<fs::path> paths;
    for (const auto& e : toHash)
        paths.push_back(bag / e.path);
    std::uint64_t octets = 0;
    try {
        const auto digests = sha256Files(paths, threads);
        for (std::size_t i = 0; i < toHash.size(); ++i) {
            octets += digests[i].size;
            if (digests[i].sha256 != toHash[i].sha256)
                problems.push_back(
                    {toHash[i].path, "changed: its SHA-256 differs from " + manifestName});
        }
    } catch (const BundleError& e) {
        problems.push_back({manifestName, e.what()});
    }
    return octets;
}

void checkDeclaration(const fs::path& bag, BundleReport& report) {
    try {
        const std::string text = readTextFile(bag / layout::bagitFile);
        const auto fields = parseBagInfo(text);
        std::map<std::string, std::string> values;
        for (const auto& f : fields)
            values[f.label] = f.value;
        if (values["BagIt-Version"] != "1.0")
            report.problems.push_back({layout::bagitFile, "BagIt-Version is not 1.0"});
        if (values["Tag-File-Character-Encoding"] != "UTF-8")
            report.problems.push_back(
                {layout::bagitFile, "Tag-File-Character-Encoding is not UTF-8"});
    } catch (const BundleError&) {
        report.problems.push_back({layout::bagitFile, "missing: not a BagIt bag"});
    }
}

void checkSignature(const fs::path& bag, const BundleVerifyOptions& options, BundleReport& report,
                    std::optional<MinisignPublicKey>& signer) {
    MinisignPublicKey key;
    if (options.trustedKey) {
        key = *options.trustedKey;
        report.signerKeyGiven = true;
    } else {
        try {
            key = parseMinisignPublicKey(readTextFile(bag / layout::publicKeyFile));
        } catch (const BundleError& e) {
            report.problems.push_back({layout::publicKeyFile, e.what()});
            return;
        }
    }
    signer = key;
    std::string signature, tagManifest;
    try {
        signature = readTextFile(bag / layout::signatureFile);
    } catch (const BundleError&) {
        report.problems.push_back({layout::signatureFile, "missing: the bundle is not signed"});
        return;
    }
    try {
        tagManifest = readTextFile(bag / layout::tagManifestFile);
    } catch (const BundleError&) {
        return; // already named by the tag manifest check
    }
    const MinisignVerification v = verifyMinisign(tagManifest, signature, key);
    report.signerKeyId = v.keyIdHex.empty() ? keyIdHex(key.keyId) : v.keyIdHex;
    report.trustedComment = v.trustedComment;
    if (!v.ok) {
        report.problems.push_back({layout::signatureFile, v.reason});
        return;
    }
    report.signatureVerified = true;
}

void checkCheckpoint(const fs::path& bag, const std::optional<MinisignPublicKey>& signer,
                     BundleReport& report) {
    storage::Checkpoint checkpoint;
    try {
        checkpoint = storage::Checkpoint::fromJson(readTextFile(bag / layout::checkpointFile));
    } catch (const BundleError&) {
        report.problems.push_back({layout::checkpointFile, "missing"});
        return;
    } catch (const std::exception& e) {
        report.problems.push_back({layout::checkpointFile, e.what()});
        return;
    }
    report.checkpointTreeSize = checkpoint.treeSize;
    report.checkpointTime = checkpoint.time;
    report.checkpointStoreId = storage::toHex(checkpoint.storeId);
    if (!checkpoint.signatureValid()) {
        report.problems.push_back({layout::checkpointFile, "its signature does not verify"});
        return;
    }
    if (signer && !std::equal(signer->key.begin(), signer->key.end(), checkpoint.publicKey.begin(),
                              checkpoint.publicKey.end())) {
        report.problems.push_back(
            {layout::checkpointFile, "signed by another key than the bundle's signer"});
        return;
    }
    report.checkpointVerified = true;
}

void checkNnunet(const fs::path& bag, BundleReport& report) {
    const fs::path payload = bag / layout::payloadFolder;
    std::error_code ec;
    std::vector<fs::path> datasets;
    for (fs::recursive_directory_iterator it(payload, ec), end; !ec && it != end;
         it.increment(ec)) {
        if (it.depth() >= 3)
            it.disable_recursion_pending();
        if (it->is_directory(ec) && !it->is_symlink(ec) &&
            isNnunetDatasetName(it->path().filename().string())) {
            datasets.push_back(it->path());
            it.disable_recursion_pending();
        }
    }
    std::sort(datasets.begin(), datasets.end());
    for (const auto& folder : datasets)
        report.nnunetDatasets.push_back(checkNnunetDataset(
            folder, folder.lexically_relative(bag).generic_string(), report.problems));
}

} // namespace

BundleReport verifyBundle(const fs::path& bag, const BundleVerifyOptions& options) {
    BundleReport report;
    std::error_code ec;
    if (!fs::is_directory(bag, ec)) {
        report.problems.push_back(
            {"", bag.string() + " is not a bundle folder (an encrypted bundle is decrypted and "
                                "unpacked first)"});
        return report;
    }
    checkDeclaration(bag, report);
    if (!report.problems.empty())
        return report;

    // Payload: every file listed, every listed file present and unchanged, Payload-Oxum.
    std::vector<std::string> refused;
    std::vector<std::string> payload;
    std::vector<std::string> tags;
    try {
        if (fs::is_directory(bag / layout::payloadFolder, ec))
            payload = listRegularFiles(bag, bag / layout::payloadFolder, &refused);
        else
            report.problems.push_back({layout::payloadFolder, "missing"});
        tags = listTagFiles(bag, &refused);
    } catch (const BundleError& e) {
        report.problems.push_back({"", e.what()});
        return report;
    }
    for (const auto& r : refused)
        report.problems.push_back({r, "not a regular file (links and devices are refused)"});
    report.payloadFiles = payload.size();
    for (const auto& f : payload) {
        report.payloadOctets += fs::file_size(bag / f, ec);
        if (endsWith(f, ".nii.gz") || endsWith(f, ".nii"))
            ++report.niftiFiles;
        else if (endsWith(f, ".dcm"))
            ++report.dicomFiles;
        else if (endsWith(f, ".json"))
            ++report.jsonFiles;
    }
    checkManifest(bag, layout::manifestFile, payload, true, options.threads, report.problems);

    try {
        report.bagInfo = parseBagInfo(readTextFile(bag / layout::bagInfoFile));
        const std::string oxum = report.field("Payload-Oxum");
        const std::string actual =
            std::to_string(report.payloadOctets) + "." + std::to_string(report.payloadFiles);
        if (oxum.empty())
            report.problems.push_back({layout::bagInfoFile, "has no Payload-Oxum"});
        else if (oxum != actual)
            report.problems.push_back(
                {layout::bagInfoFile,
                 "Payload-Oxum is " + oxum + " but data/ holds " + actual + " (octets.files)"});
    } catch (const BundleError&) {
        report.problems.push_back({layout::bagInfoFile, "missing"});
    }

    // Tag files: every one listed in the one tag manifest, which the signature covers.
    for (const auto& entry : fs::directory_iterator(bag, ec)) {
        const std::string name = entry.path().filename().string();
        if (isTagManifestName(name) && name != layout::tagManifestFile)
            report.problems.push_back({name, "an extra tag manifest (Radmark bundles carry "
                                             "tagmanifest-sha256.txt only)"});
    }
    checkManifest(bag, layout::tagManifestFile, tags, false, options.threads, report.problems);

    std::optional<MinisignPublicKey> signer;
    checkSignature(bag, options, report, signer);
    checkCheckpoint(bag, signer, report);
    checkNnunet(bag, report);
    return report;
}

} // namespace radmark::bundle
