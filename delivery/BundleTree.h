#pragma once
// What both writers share: the staged bundle's folders and files (checked: no links, no special
// files, names every share accepts), and the hidden partial names an unfinished delivery has on a
// destination, with the rule that says which ones an earlier run left behind.

#include <sys/types.h>

#include <cstdint>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace radmark::delivery {

struct BundleFile {
    std::string path; // relative, '/'-separated
    std::uint64_t size = 0;
};

struct BundleTree {
    std::vector<std::string> folders; // relative, parents before children
    std::vector<BundleFile> files;    // sorted by path
    std::uint64_t bytes = 0;
};

// Throws DeliveryFailed(InvalidBundle) naming the first link, special file or unfit name.
BundleTree readBundleTree(const std::filesystem::path& root);

// A bundle name: letters, digits, '.', '_' and '-', not starting with '.', at most 128.
void checkBundleName(const std::string& name);

// ".partial-<bundle>~<host>~<pid>": hidden, and never mistaken for a finished bundle.
inline constexpr const char* partialPrefix = ".partial-";
std::string partialName(const std::string& bundleName);

// An unfinished delivery is left over (and removed) when this host's process that wrote it is
// gone, or it is this process's and no longer in progress, or it was last changed more than a
// day ago (another workstation's that died).
inline constexpr std::time_t staleAfterSeconds = 24 * 3600;
bool isLeftOver(const std::string& name, std::time_t modified, std::time_t now);

// The partial names this process is writing now.
void markInProgress(const std::string& partial);
void markFinished(const std::string& partial);

} // namespace radmark::delivery
