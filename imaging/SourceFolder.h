#pragma once
// The files of a source folder, walked one way everywhere (open, import, de-identify): symbolic
// links are followed when their target stays inside the folder and refused, with a count, when
// it does not, so a study is neither read from elsewhere on the disk nor silently missing files.

#include <filesystem>
#include <string>
#include <vector>

namespace radmark::imaging {

struct FolderListing {
    std::vector<std::filesystem::path> files; // sorted; a file reached twice (by a link) once
    int linksRefused = 0; // links to somewhere outside the folder, or to nothing
    std::filesystem::path firstRefused;
    // "2 symbolic link(s) ... were not followed (first: ...)"; empty when none was refused.
    std::string refusedSummary() const;
};

// Walks folder recursively. skipHidden leaves out names starting with '.' (and what is under
// them). Throws ReadError when a folder cannot be listed.
FolderListing listFolder(const std::filesystem::path& folder, bool skipHidden);

} // namespace radmark::imaging
