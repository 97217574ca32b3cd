#include "delivery/BundleTree.h"

#include "delivery/Errors.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <set>

namespace radmark::delivery {
namespace fs = std::filesystem;
namespace {

std::mutex inProgressMutex;
std::set<std::string>& inProgress() {
    static std::set<std::string> names;
    return names;
}

std::string thisHost() {
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) != 0 || !name[0])
        return "localhost";
    std::string host = name;
    for (char& ch : host)
        if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '-')
            ch = '-';
    return host;
}

// Names that every share and file system takes as they are.
void checkComponent(const std::string& part, const std::string& path) {
    bool fit = !part.empty() && part != "." && part != ".." && part.size() <= 255 &&
               part.front() != ' ' && part.back() != ' ' && part.back() != '.';
    for (unsigned char ch : part)
        fit = fit && ch >= 0x20 && ch != 0x7f &&
              std::string("\"\\:*?<>|").find(static_cast<char>(ch)) == std::string::npos;
    if (!fit)
        throw DeliveryFailed(DeliveryProblem::InvalidBundle,
                             "the bundle's file name '" + path +
                                 "' cannot be written to every share (quotes, \\ : * ? < > |, "
                                 "control characters or a trailing space or dot)");
}

} // namespace

BundleTree readBundleTree(const fs::path& root) {
    BundleTree tree;
    std::error_code ec;
    if (!fs::is_directory(fs::symlink_status(root, ec)))
        throw DeliveryFailed(DeliveryProblem::InvalidBundle,
                             "the staged bundle " + root.string() + " is not a folder");
    for (auto it = fs::recursive_directory_iterator(root, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        const fs::path& p = it->path();
        const std::string relative = p.lexically_relative(root).generic_string();
        for (const auto& part : fs::path(relative))
            checkComponent(part.string(), relative);
        const auto status = it->symlink_status(ec);
        if (fs::is_symlink(status))
            throw DeliveryFailed(DeliveryProblem::InvalidBundle,
                                 "the bundle holds a symbolic link (" + relative +
                                     "); a bundle holds only files and folders");
        if (fs::is_directory(status)) {
            tree.folders.push_back(relative);
        } else if (fs::is_regular_file(status)) {
            const auto size = it->file_size(ec);
            tree.files.push_back({relative, static_cast<std::uint64_t>(size)});
            tree.bytes += size;
        } else {
            throw DeliveryFailed(DeliveryProblem::InvalidBundle,
                                 "the bundle holds " + relative +
                                     ", which is neither a file nor a folder");
        }
    }
    if (ec)
        throw DeliveryFailed(DeliveryProblem::InvalidBundle, "cannot read the staged bundle " +
                                                                 root.string() + ": " +
                                                                 ec.message());
    std::sort(tree.folders.begin(), tree.folders.end()); // a parent sorts before its children
    std::sort(tree.files.begin(), tree.files.end(),
              [](const BundleFile& a, const BundleFile& b) { return a.path < b.path; });
    return tree;
}

void checkBundleName(const std::string& name) {
    bool fit = !name.empty() && name.size() <= 128 && name[0] != '.' && name[0] != '-';
    for (unsigned char ch : name)
        fit = fit && (std::isalnum(ch) || ch == '.' || ch == '_' || ch == '-');
    if (!fit)
        throw DeliveryFailed(DeliveryProblem::InvalidBundle,
                             "a bundle name has letters, digits, '.', '_' and '-' only (got '" +
                                 name + "')");
}

std::string partialName(const std::string& bundleName) {
    checkBundleName(bundleName);
    return partialPrefix + bundleName + "~" + thisHost() + "~" + std::to_string(::getpid());
}

bool isLeftOver(const std::string& name, std::time_t modified, std::time_t now) {
    if (name.rfind(partialPrefix, 0) != 0)
        return false;
    if (now - modified > staleAfterSeconds)
        return true;
    const auto lastTilde = name.rfind('~');
    if (lastTilde == std::string::npos || lastTilde == 0)
        return false;
    const auto hostTilde = name.rfind('~', lastTilde - 1);
    if (hostTilde == std::string::npos)
        return false;
    const std::string host = name.substr(hostTilde + 1, lastTilde - hostTilde - 1);
    const std::string pidText = name.substr(lastTilde + 1);
    if (host != thisHost() || pidText.empty() ||
        pidText.find_first_not_of("0123456789") != std::string::npos || pidText.size() > 9)
        return false;
    const pid_t pid = static_cast<pid_t>(std::stol(pidText));
    if (pid == ::getpid()) {
        std::lock_guard lock(inProgressMutex);
        return !inProgress().count(name);
    }
    return ::kill(pid, 0) != 0 && errno == ESRCH;
}

void markInProgress(const std::string& partial) {
    std::lock_guard lock(inProgressMutex);
    inProgress().insert(partial);
}

void markFinished(const std::string& partial) {
    std::lock_guard lock(inProgressMutex);
    inProgress().erase(partial);
}

} // namespace radmark::delivery
