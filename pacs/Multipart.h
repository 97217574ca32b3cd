#pragma once
// A streaming, bounded reader of a WADO-RS response body: multipart/related with
// type="application/dicom" (RFC 2046, DICOM PS3.18 8.7.3.5). The bytes come from the PACS and are
// untrusted: every part is checked as it streams through (no whole response is held in memory),
// with limits on header lines, part count and part size; anything else than a well-formed
// sequence of application/dicom parts is refused with one line naming what was wrong. Runs in
// radmark-pacs-fetch only (the process that holds no key). Fuzzed by tests/fuzz.

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace radmark::pacs {

class MultipartError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct MultipartLimits {
    std::size_t maxPartBytes = std::size_t(2) << 30; // one instance
    std::size_t maxHeaderBytes = 16 * 1024;          // one part's header block, or the preamble
    std::size_t maxParts = 200'000;
};

// What the reader hands on: each part's bytes in order, in pieces.
class MultipartSink {
  public:
    virtual ~MultipartSink() = default;
    virtual void partBegin() = 0;
    virtual void partData(const char* data, std::size_t bytes) = 0;
    virtual void partEnd() = 0;
};

// The boundary of a response's Content-Type header value; throws MultipartError unless it is
// multipart/related whose type (when given) is application/dicom, with a valid boundary.
std::string boundaryOf(std::string_view contentType);

class MultipartReader {
  public:
    MultipartReader(std::string boundary, MultipartSink& sink, MultipartLimits limits = {});
    void feed(const char* data, std::size_t bytes); // throws MultipartError
    // The body ended: throws MultipartError unless the closing boundary was seen.
    void finish();
    std::size_t parts() const { return parts_; }

  private:
    enum class State { Preamble, AfterDelimiter, Headers, Body, Epilogue };
    void run();
    void headersDone(std::string_view block);

    std::string delimiter_; // "\r\n--" + boundary
    MultipartSink& sink_;
    MultipartLimits limits_;
    State state_ = State::Preamble;
    std::string pending_; // bytes not yet handed on: less than one delimiter in the body
    std::size_t partBytes_ = 0;
    std::size_t parts_ = 0;
    std::size_t preambleBytes_ = 0;
};

} // namespace radmark::pacs
