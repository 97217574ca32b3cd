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
    // A block at least as large as the buffer (a slice's pixel data) goes to the descriptor in
    // one write instead of one per buffer's worth.
    std::streamsize xsputn(const char* bytes, std::streamsize count) override {
        if (count < std::streamsize(buffer_.size()))
            return std::streambuf::xsputn(bytes, count);
        drain();
        writeAll(bytes, std::size_t(count));
        return count;
    }

  private:
    void drain() {
        writeAll(pbase(), std::size_t(pptr() - pbase()));
        setp(buffer_.data(), buffer_.data() + buffer_.size());
    }
    void writeAll(const char* at, std::size_t count) {
        const char* end = at + count;
        while (error_ == 0 && at < end) {
            const ssize_t n = ::write(fd_, at, std::size_t(end - at));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                error_ = n < 0 ? errno : ENOSPC;
                break;
            }
            at += n;
        }
    }

    int fd_;
    std::vector<char> buffer_;
    int error_ = 0;
};

} // namespace radmark::imaging
