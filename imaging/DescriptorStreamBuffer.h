#pragma once
// An output stream buffer on an open file descriptor that never goes bad: when a write fails (a
// full disk), the first error is kept and later bytes are dropped, and the caller reports it once
// the writer is done. Debian's GDCM asserts (aborts: "Should not happen") when its stream fails
// mid-write. The descriptor stays the caller's: it is neither opened nor closed here.

#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <streambuf>
#include <vector>

namespace radmark::imaging {

class DescriptorStreamBuffer : public std::streambuf {
  public:
    DescriptorStreamBuffer(int fd, std::size_t bufferBytes) : fd_(fd), buffer_(bufferBytes) {
        setp(buffer_.data(), buffer_.data() + buffer_.size());
    }
    ~DescriptorStreamBuffer() override { drain(); }
    DescriptorStreamBuffer(const DescriptorStreamBuffer&) = delete;
    DescriptorStreamBuffer& operator=(const DescriptorStreamBuffer&) = delete;

    // Writes what is buffered; the first write error (an errno value) or 0.
    int finish() {
        drain();
        return error_;
    }

  protected:
    int_type overflow(int_type c) override {
        drain();
        if (!traits_type::eq_int_type(c, traits_type::eof())) {
            *pptr() = traits_type::to_char_type(c);
            pbump(1);
        }
        return traits_type::not_eof(c);
    }
    int sync() override {
        drain();
        return 0;
    }

  private:
    void drain() {
        const char* at = pbase();
        while (error_ == 0 && at < pptr()) {
            const ssize_t n = ::write(fd_, at, std::size_t(pptr() - at));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                error_ = n < 0 ? errno : ENOSPC;
                break;
            }
            at += n;
        }
        setp(buffer_.data(), buffer_.data() + buffer_.size());
    }

    int fd_;
    std::vector<char> buffer_;
    int error_ = 0;
};

} // namespace radmark::imaging
