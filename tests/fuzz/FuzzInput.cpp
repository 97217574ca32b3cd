#include "FuzzInput.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace radmark::fuzz {

InputFile::InputFile() {
    fd_ = ::memfd_create("radmark-fuzz-input", MFD_CLOEXEC);
    if (fd_ < 0) {
        std::perror("memfd_create");
        std::abort(); // a harness that cannot hold its input must not report "no crash"
    }
    path_ = "/proc/self/fd/" + std::to_string(fd_);
}

InputFile::~InputFile() {
    ::close(fd_);
}

const std::filesystem::path& InputFile::hold(const std::uint8_t* data, std::size_t size) {
    if (::ftruncate(fd_, 0) != 0) {
        std::perror("ftruncate");
        std::abort();
    }
    std::size_t written = 0;
    while (written < size) {
        const ssize_t n = ::pwrite(fd_, data + written, size - written, off_t(written));
        if (n <= 0) {
            std::perror("pwrite");
            std::abort();
        }
        written += std::size_t(n);
    }
    return path_;
}

} // namespace radmark::fuzz
