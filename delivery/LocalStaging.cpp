#include "delivery/LocalStaging.h"

#include "delivery/Errors.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace radmark::delivery {
namespace fs = std::filesystem;
namespace {

const std::string stagingPrefix = "radmark-staging-";

} // namespace

fs::path stagingRootOr(const fs::path& configured) {
    return configured.empty() ? fs::temp_directory_path() : configured;
}

fs::path makeStagingFolder(const fs::path& root) {
    std::string pattern = (root / (stagingPrefix + std::to_string(::getpid()) + "-XXXXXX")).string();
    if (!::mkdtemp(pattern.data())) // mode 0700: the store's owner only
        throw DeliveryFailed(DeliveryProblem::Other,
                             "cannot make a private staging folder in " + root.string());
    return pattern;
}

std::vector<std::string> removeLeftOverStaging(const fs::path& root) {
    std::vector<std::string> notes;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(root, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind(stagingPrefix, 0) != 0)
            continue;
        const std::string rest = name.substr(stagingPrefix.size());
        const auto dash = rest.find('-');
        if (dash == std::string::npos || dash == 0 ||
            rest.substr(0, dash).find_first_not_of("0123456789") != std::string::npos)
            continue;
        struct stat st {};
        if (::lstat(entry.path().c_str(), &st) != 0 || !S_ISDIR(st.st_mode) ||
            st.st_uid != ::geteuid())
            continue;
        const pid_t pid = static_cast<pid_t>(std::stol(rest.substr(0, dash)));
        if (pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH)
            continue;
        std::error_code removeError;
        fs::remove_all(entry.path(), removeError);
        if (!removeError)
            notes.push_back("removed " + entry.path().string() +
                            ", the local staging folder of an export that did not finish");
    }
    return notes;
}

} // namespace radmark::delivery
