// libFuzzer target: the WADO-RS multipart reader of radmark-pacs-fetch (pacs/Multipart.h). The
// first byte picks the piece size the body is fed in, the first line is the response's
// Content-Type, the rest is the body. A MultipartError is the refusal the fetcher reports;
// anything else escaping, a part handed on outside partBegin/partEnd, more part bytes than body
// bytes, or a sanitizer report is a bug.

#include "pacs/Multipart.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace {
struct CheckingSink : radmark::pacs::MultipartSink {
    bool open = false;
    std::size_t bytes = 0;
    void partBegin() override {
        if (open)
            __builtin_trap();
        open = true;
    }
    void partData(const char*, std::size_t n) override {
        if (!open)
            __builtin_trap();
        bytes += n;
    }
    void partEnd() override {
        if (!open)
            __builtin_trap();
        open = false;
    }
};
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1)
        return 0;
    const std::size_t piece = 1 + data[0] % 97;
    const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
    const auto newline = text.find('\n');
    const std::string contentType(text.substr(0, std::min<std::size_t>(newline, 300)));
    const std::string_view body =
        newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    std::string boundary = "b1";
    try {
        boundary = radmark::pacs::boundaryOf(contentType);
    } catch (const radmark::pacs::MultipartError&) {
    }
    radmark::pacs::MultipartLimits limits;
    limits.maxPartBytes = 1 << 16;
    limits.maxHeaderBytes = 1024;
    limits.maxParts = 64;
    CheckingSink sink;
    try {
        radmark::pacs::MultipartReader reader(boundary, sink, limits);
        for (std::size_t at = 0; at < body.size(); at += piece)
            reader.feed(body.data() + at, std::min(piece, body.size() - at));
        reader.finish();
        if (sink.open)
            __builtin_trap(); // finished with a part still open
    } catch (const radmark::pacs::MultipartError&) {
    }
    if (sink.bytes > body.size())
        __builtin_trap();
    return 0;
}
