#pragma once
// For the held-files tests: a small generated CT series, sealed memfds made from files, and a
// watch that tells when the kernel let go of each one. inotify's IN_DELETE_SELF comes for a memfd
// when its last reference is gone: this process's descriptor and every copy a decoder child
// holds, so it proves both released it.

#include "imaging/decoder/Channel.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace radmark::decoder::testing {

inline std::string fileBytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// A small CT series from tests/data/generate_ct_series.py (fake PHI only), its files sorted.
inline std::vector<std::filesystem::path> generatedSeries(const std::filesystem::path& out,
                                                          int slices) {
    const std::string command = "/usr/bin/python3 '" + std::string(RADMARK_SOURCE_DIR) +
                                "/tests/data/generate_ct_series.py' --out '" + out.string() +
                                "' --slices " + std::to_string(slices) +
                                " --rows 64 --cols 48 --seed 11 > /dev/null";
    if (std::system(command.c_str()) != 0)
        throw std::runtime_error("the CT generator failed");
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(out))
        files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    return files;
}

// One sealed memfd per file, named "test-instance" (what /proc/self/fd shows).
inline std::vector<UniqueFd> instancesOf(const std::vector<std::filesystem::path>& files) {
    std::vector<UniqueFd> instances;
    for (const auto& file : files) {
        const std::string bytes = fileBytes(file);
        if (bytes.empty())
            throw std::runtime_error("cannot read " + file.string());
        instances.push_back(memfdWithBytes("test-instance", bytes.data(), bytes.size()));
    }
    return instances;
}

// How many descriptors of this process point at a "test-instance" memfd.
inline int openInstanceDescriptors() {
    int open = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
        std::error_code error;
        const auto target = std::filesystem::read_symlink(entry.path(), error);
        if (!error && target.string().rfind("/memfd:test-instance", 0) == 0)
            ++open;
    }
    return open;
}

class ReleaseWatch {
  public:
    // Watches each memfd (before it is handed over); instance k is index k.
    explicit ReleaseWatch(const std::vector<UniqueFd>& instances)
        : inotify_(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {
        if (!inotify_)
            throw std::runtime_error("no inotify");
        for (std::size_t i = 0; i < instances.size(); ++i) {
            const std::string path = "/proc/self/fd/" + std::to_string(instances[i].get());
            const int wd = ::inotify_add_watch(inotify_.get(), path.c_str(), IN_DELETE_SELF);
            if (wd < 0)
                throw std::runtime_error("cannot watch a memfd");
            index_[wd] = i;
        }
    }
    // The instances freed so far (read without waiting).
    const std::set<std::size_t>& released() {
        alignas(inotify_event) char buffer[4096];
        for (;;) {
            const ssize_t got = ::read(inotify_.get(), buffer, sizeof buffer);
            if (got <= 0)
                break;
            for (ssize_t at = 0; at < got;) {
                const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
                if ((event->mask & IN_DELETE_SELF) && index_.count(event->wd))
                    released_.insert(index_.at(event->wd));
                at += ssize_t(sizeof(inotify_event) + event->len);
            }
        }
        return released_;
    }

  private:
    UniqueFd inotify_;
    std::map<int, std::size_t> index_;
    std::set<std::size_t> released_;
};

} // namespace radmark::decoder::testing
