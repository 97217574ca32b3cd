#pragma once
// Local staging folders of exports ("radmark-staging-PID-XXXXXX", mode 0700): where a bundle is
// put together before it goes to a share, or before it is encrypted. One place names them, so
// that every export recognises, and removes, those a killed export left.

#include <filesystem>
#include <string>
#include <vector>

namespace radmark::delivery {

// The folder staging folders go in: the environment's, or the temporary folder when empty.
std::filesystem::path stagingRootOr(const std::filesystem::path& configured);

// A new private staging folder in root, named after this process. Throws DeliveryFailed (Other)
// "cannot make a private staging folder in ROOT".
std::filesystem::path makeStagingFolder(const std::filesystem::path& root);

// Staging folders in root that belong to this user and whose process is gone: removed, one note
// each ("removed PATH, the local staging folder of an export that did not finish").
std::vector<std::string> removeLeftOverStaging(const std::filesystem::path& root);

} // namespace radmark::delivery
