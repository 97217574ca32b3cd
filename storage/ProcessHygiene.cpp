#include "storage/ProcessHygiene.h"

#include "storage/Errors.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace radmark::storage {

void hardenThisProcess() {
    const rlimit none{0, 0};
    if (::setrlimit(RLIMIT_CORE, &none) != 0)
        throw StoreError(std::string("cannot turn core dumps off: ") + std::strerror(errno));
    if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        throw StoreError(std::string("cannot make the process non-dumpable: ") +
                         std::strerror(errno));
    ::umask(077);
}

std::string processHygieneProblems() {
    std::string problems;
    const auto add = [&](const char* what) {
        problems += (problems.empty() ? "" : "; ") + std::string(what);
    };
    rlimit core{};
    if (::getrlimit(RLIMIT_CORE, &core) != 0 || core.rlim_cur != 0 || core.rlim_max != 0)
        add("core dumps are allowed");
    if (::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
        add("the process is dumpable");
    const mode_t mask = ::umask(077);
    ::umask(mask);
    if ((mask & 077) != 077)
        add("files are created readable by others");
    return problems;
}

} // namespace radmark::storage
