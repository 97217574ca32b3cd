#include "imaging/SourceFolder.h"

#include "imaging/StudyReader.h"

#include <algorithm>
#include <map>
#include <set>

namespace radmark::imaging {

namespace fs = std::filesystem;

namespace {

bool inside(const fs::path& path, const fs::path& root) {
    auto [rootEnd, pathAt] = std::mismatch(root.begin(), root.end(), path.begin(), path.end());
    return rootEnd == root.end();
}

} // namespace

std::string FolderListing::refusedSummary() const {
    if (linksRefused == 0)
        return {};
    return std::to_string(linksRefused) +
           " symbolic link(s) pointing outside the folder (or to nothing) were not followed "
           "(first: " +
           firstRefused.string() + ")";
}

FolderListing listFolder(const fs::path& folder, bool skipHidden) {
    std::error_code error;
    const fs::path root = fs::canonical(folder, error);
    if (error)
        throw ReadError(folder, "cannot be listed: " + error.message());
    FolderListing listing;
    std::set<fs::path> walked{root}; // real folders, so a link loop is walked once
    std::map<fs::path, std::pair<fs::path, bool>> found; // real file -> (as found, by a link)
    // (path as the user sees it, real path)
    std::vector<std::pair<fs::path, fs::path>> pending{{folder, root}};
    while (!pending.empty()) {
        const auto [shown, real] = pending.back();
        pending.pop_back();
        fs::directory_iterator it(shown, fs::directory_options::skip_permission_denied, error);
        if (error)
            throw ReadError(shown, "cannot be listed: " + error.message());
        for (; it != fs::directory_iterator(); it.increment(error)) {
            if (error)
                throw ReadError(shown, "cannot be listed: " + error.message());
            const fs::path& path = it->path();
            const std::string name = path.filename().string();
            if (skipHidden && !name.empty() && name.front() == '.')
                continue;
            // The entry's own type as the listing gave it (a stat only where the file system
            // does not say, or for a link's target).
            const bool byLink = it->is_symlink(error);
            if (error)
                continue; // vanished while listing
            fs::path target = real / name;
            bool folder = false, regular = false;
            if (byLink) {
                target = fs::canonical(path, error);
                if (error || !inside(target, root)) {
                    if (listing.linksRefused++ == 0)
                        listing.firstRefused = path;
                    error.clear();
                    continue;
                }
                const fs::file_status status = fs::status(target, error);
                if (error)
                    continue;
                folder = fs::is_directory(status);
                regular = fs::is_regular_file(status);
            } else {
                folder = it->is_directory(error);
                regular = !folder && it->is_regular_file(error);
                if (error)
                    continue;
            }
            if (folder) {
                if (walked.insert(target).second)
                    pending.emplace_back(path, target);
            } else if (regular) {
                // A file reached directly and by a link is listed once, under its own name.
                auto [at, added] = found.try_emplace(target, path, byLink);
                if (!added && at->second.second && !byLink)
                    at->second = {path, false};
            }
        }
    }
    for (const auto& [real, file] : found)
        listing.files.push_back(file.first);
    std::sort(listing.files.begin(), listing.files.end());
    return listing;
}

} // namespace radmark::imaging
