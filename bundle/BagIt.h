#pragma once
// BagIt (RFC 8493) bags: writing bagit.txt, bag-info.txt (with Payload-Oxum), the SHA-256
// payload manifest and tag manifest over a folder whose data/ and extra tag files are filled,
// and reading them back for verification. Paths are listed in byte order and percent-encoded
// for CR, LF and '%' as the RFC requires.

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace radmark::bundle {

struct BagInfoField {
    std::string label; // no ':' and no line break
    std::string value; // one line
};

struct BagInfo {
    std::string baggingDate;   // YYYY-MM-DD, given so that a bag can be made again identically
    std::string softwareAgent; // e.g. "Radmark 0.1.0"
    std::vector<BagInfoField> fields; // written in this order after the two above
};

struct BagTotals {
    std::uint64_t payloadOctets = 0;
    std::uint64_t payloadFiles = 0;
    std::string manifestSha256;    // of manifest-sha256.txt
    std::string tagManifestSha256; // of tagmanifest-sha256.txt
};

// Writes bagit.txt, bag-info.txt, manifest-sha256.txt and then tagmanifest-sha256.txt (over every
// other tag file, in sub-folders too). Every file in the bag must be a regular file (a link or
// device throws). Payload files are hashed by `threads` workers. Throws BundleError.
BagTotals writeBagFiles(const std::filesystem::path& bag, const BagInfo& info,
                        unsigned threads = 2);

// One manifest line: the digest and the path relative to the bag ('/'-separated, decoded).
struct ManifestEntry {
    std::string sha256;
    std::string path;
};

std::string encodeManifestPath(const std::string& path);
std::string decodeManifestPath(const std::string& encoded);
std::string formatManifest(std::vector<ManifestEntry> entries); // sorts by path bytes

// Parses a manifest's text; a malformed line throws BundleError naming its line number.
std::vector<ManifestEntry> parseManifest(const std::string& text, const std::string& fileName);
// bag-info.txt fields in file order (continuation lines joined with one space).
std::vector<BagInfoField> parseBagInfo(const std::string& text);

// Regular files under folder (recursively) as '/'-separated paths relative to base, in byte
// order; anything else (a link, a device) throws BundleError naming it, or is added to refused
// when that is given.
std::vector<std::string> listRegularFiles(const std::filesystem::path& base,
                                          const std::filesystem::path& folder,
                                          std::vector<std::string>* refused = nullptr);
// The bag's tag files: every regular file outside data/ except tagmanifest-*.txt and the
// signature, in byte order.
std::vector<std::string> listTagFiles(const std::filesystem::path& bag,
                                      std::vector<std::string>* refused = nullptr);
bool isTagManifestName(const std::string& fileName); // tagmanifest-<algorithm>.txt

// Small whole-file helpers that throw BundleError naming the file.
std::string readTextFile(const std::filesystem::path& file);
// Written with O_EXCL to a temporary name in the same folder, flushed and renamed into place.
void writeTextFile(const std::filesystem::path& file, const std::string& text);

} // namespace radmark::bundle
