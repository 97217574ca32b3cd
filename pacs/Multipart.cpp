#include "pacs/Multipart.h"

#include <string.h>

#include <algorithm>
#include <cctype>
#include <vector>

namespace radmark::pacs {
namespace {

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    return out;
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
        text.remove_suffix(1);
    return text;
}

// "a/b; k=v; k2=\"v 2\"": the media type (lower case) and its parameters (names lower case).
struct MediaType {
    std::string type;
    std::vector<std::pair<std::string, std::string>> parameters;
    const std::string* parameter(const std::string& name) const {
        for (const auto& [key, value] : parameters)
            if (key == name)
                return &value;
        return nullptr;
    }
};

MediaType parseMediaType(std::string_view text, const char* what) {
    if (text.size() > 4096)
        throw MultipartError(std::string(what) + " is too long");
    MediaType media;
    std::size_t at = 0;
    const auto semicolon = text.find(';');
    media.type = lower(trim(text.substr(0, semicolon)));
    at = semicolon == std::string_view::npos ? text.size() : semicolon + 1;
    while (at < text.size()) {
        while (at < text.size() && (text[at] == ' ' || text[at] == '\t'))
            ++at;
        const auto equals = text.find('=', at);
        if (equals == std::string_view::npos)
            throw MultipartError(std::string(what) + " has a parameter without a value");
        const std::string name = lower(trim(text.substr(at, equals - at)));
        at = equals + 1;
        std::string value;
        if (at < text.size() && text[at] == '"') {
            ++at;
            bool closed = false;
            while (at < text.size()) {
                const char c = text[at++];
                if (c == '"') {
                    closed = true;
                    break;
                }
                if (c == '\\' && at < text.size())
                    value += text[at++];
                else
                    value += c;
            }
            if (!closed)
                throw MultipartError(std::string(what) + " has an unterminated quoted value");
            while (at < text.size() && text[at] != ';') {
                if (text[at] != ' ' && text[at] != '\t')
                    throw MultipartError(std::string(what) + " has text after a quoted value");
                ++at;
            }
        } else {
            const auto end = text.find(';', at);
            value =
                std::string(trim(text.substr(at, end == std::string_view::npos ? end : end - at)));
            at = end == std::string_view::npos ? text.size() : end;
        }
        if (at < text.size() && text[at] == ';')
            ++at;
        if (name.empty())
            throw MultipartError(std::string(what) + " has a parameter without a name");
        media.parameters.emplace_back(name, value);
    }
    return media;
}

// RFC 2046 bchars: a boundary of 1 to 70 of them, not ending in a space.
bool validBoundary(const std::string& boundary) {
    if (boundary.empty() || boundary.size() > 70 || boundary.back() == ' ')
        return false;
    static const std::string_view extra = "'()+_,-./:=? ";
    return std::all_of(boundary.begin(), boundary.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) ||
               extra.find(c) != std::string_view::npos;
    });
}

std::size_t find(const std::string& haystack, const std::string& needle, std::size_t from = 0) {
    if (from >= haystack.size())
        return std::string::npos;
    const void* hit =
        ::memmem(haystack.data() + from, haystack.size() - from, needle.data(), needle.size());
    return hit ? std::size_t(static_cast<const char*>(hit) - haystack.data()) : std::string::npos;
}

} // namespace

std::string boundaryOf(std::string_view contentType) {
    const MediaType media = parseMediaType(contentType, "the response's Content-Type");
    if (media.type != "multipart/related")
        throw MultipartError("the PACS answered with " +
                             (media.type.empty() ? std::string("no content type")
                                                 : "'" + media.type.substr(0, 60) + "'") +
                             " instead of multipart/related");
    if (const std::string* type = media.parameter("type");
        type && lower(*type) != "application/dicom")
        throw MultipartError("the PACS answered with parts of type '" + type->substr(0, 60) +
                             "' instead of application/dicom");
    const std::string* boundary = media.parameter("boundary");
    if (!boundary || !validBoundary(*boundary))
        throw MultipartError("the PACS answered without a valid multipart boundary");
    return *boundary;
}

MultipartReader::MultipartReader(std::string boundary, MultipartSink& sink, MultipartLimits limits)
    : delimiter_("\r\n--" + boundary), sink_(sink), limits_(limits), pending_("\r\n") {
    if (!validBoundary(boundary))
        throw MultipartError("the multipart boundary is not valid");
}

void MultipartReader::feed(const char* data, std::size_t bytes) {
    if (state_ == State::Epilogue)
        return; // after the closing boundary: ignored, as RFC 2046 says
    pending_.append(data, bytes);
    run();
}

void MultipartReader::finish() {
    run();
    if (state_ == State::Epilogue)
        return;
    if (state_ == State::Body || state_ == State::Headers)
        throw MultipartError("the response ended in the middle of instance " +
                             std::to_string(parts_ + (state_ == State::Headers ? 1 : 0)));
    if (parts_ == 0 && state_ == State::Preamble)
        throw MultipartError("the response held no multipart part");
    throw MultipartError("the response ended without its closing boundary");
}

void MultipartReader::headersDone(std::string_view block) {
    bool dicom = false;
    bool contentTypeSeen = false;
    std::size_t at = 0;
    while (at <= block.size()) {
        const auto end = block.find("\r\n", at);
        const std::string_view line =
            block.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
        at = end == std::string_view::npos ? block.size() + 1 : end + 2;
        const auto colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0)
            throw MultipartError("a part of the response has a malformed header line");
        const std::string name = lower(trim(line.substr(0, colon)));
        const std::string_view value = trim(line.substr(colon + 1));
        if (name == "content-type") {
            if (contentTypeSeen)
                throw MultipartError("a part of the response has two Content-Type headers");
            contentTypeSeen = true;
            dicom = parseMediaType(value, "a part's Content-Type").type == "application/dicom";
        }
    }
    if (!dicom)
        throw MultipartError("part " + std::to_string(parts_ + 1) +
                             " of the response is not application/dicom");
}

void MultipartReader::run() {
    for (;;) {
        switch (state_) {
        case State::Preamble: {
            const auto hit = find(pending_, delimiter_);
            if (hit == std::string::npos) {
                const std::size_t keep = std::min(pending_.size(), delimiter_.size() - 1);
                preambleBytes_ += pending_.size() - keep;
                pending_.erase(0, pending_.size() - keep);
                if (preambleBytes_ > limits_.maxHeaderBytes)
                    throw MultipartError("the response does not start with a part boundary");
                return;
            }
            preambleBytes_ += hit;
            if (preambleBytes_ > limits_.maxHeaderBytes)
                throw MultipartError("the response does not start with a part boundary");
            pending_.erase(0, hit + delimiter_.size());
            state_ = State::AfterDelimiter;
            break;
        }
        case State::AfterDelimiter: {
            if (pending_.size() < 2)
                return;
            if (pending_.compare(0, 2, "--") == 0) {
                state_ = State::Epilogue;
                pending_.clear();
                return;
            }
            const auto lineEnd = pending_.find("\r\n");
            if (lineEnd == std::string::npos) {
                if (pending_.size() > 128 ||
                    pending_.find_first_not_of(" \t\r") != std::string::npos)
                    throw MultipartError("a part boundary of the response is followed by text");
                return;
            }
            if (pending_.find_first_not_of(" \t") < lineEnd)
                throw MultipartError("a part boundary of the response is followed by text");
            pending_.erase(0, lineEnd + 2);
            state_ = State::Headers;
            break;
        }
        case State::Headers: {
            if (pending_.compare(0, 2, "\r\n") == 0)
                throw MultipartError("part " + std::to_string(parts_ + 1) +
                                     " of the response has no Content-Type");
            const auto end = find(pending_, "\r\n\r\n");
            if (end == std::string::npos || end > limits_.maxHeaderBytes) {
                if (pending_.size() > limits_.maxHeaderBytes + 4)
                    throw MultipartError("a part of the response has too long a header");
                return;
            }
            headersDone(std::string_view(pending_).substr(0, end));
            pending_.erase(0, end + 4);
            if (++parts_ > limits_.maxParts)
                throw MultipartError("the response holds more than " +
                                     std::to_string(limits_.maxParts) + " instances");
            partBytes_ = 0;
            sink_.partBegin();
            state_ = State::Body;
            break;
        }
        case State::Body: {
            const auto hit = find(pending_, delimiter_);
            const std::size_t ready = hit != std::string::npos
                                          ? hit
                                          : (pending_.size() >= delimiter_.size()
                                                 ? pending_.size() - (delimiter_.size() - 1)
                                                 : 0);
            if (ready > 0) {
                partBytes_ += ready;
                if (partBytes_ > limits_.maxPartBytes)
                    throw MultipartError("an instance of the response is larger than " +
                                         std::to_string(limits_.maxPartBytes >> 20) + " MiB");
                sink_.partData(pending_.data(), ready);
            }
            if (hit == std::string::npos) {
                pending_.erase(0, ready);
                return;
            }
            pending_.erase(0, hit + delimiter_.size());
            sink_.partEnd();
            state_ = State::AfterDelimiter;
            break;
        }
        case State::Epilogue:
            pending_.clear();
            return;
        }
    }
}

} // namespace radmark::pacs
