#include "imaging/deid/HeaderText.h"

#include <cstring>
#include <stdexcept>

namespace radmark::deid {
namespace {

bool clearField(std::uint8_t* field, std::size_t size) {
    bool hadText = false;
    for (std::size_t i = 0; i < size; ++i)
        hadText = hadText || field[i] != 0;
    std::memset(field, 0, size);
    return hadText;
}

std::int32_t headerSize(const std::uint8_t* header) {
    std::int32_t little = 0;
    std::memcpy(&little, header, 4);
    const std::int32_t swapped =
        std::int32_t((std::uint32_t(header[0]) << 24) | (std::uint32_t(header[1]) << 16) |
                     (std::uint32_t(header[2]) << 8) | header[3]);
    if (little == 348 || little == 540)
        return little;
    if (swapped == 348 || swapped == 540)
        return swapped;
    return 0;
}

} // namespace

std::vector<std::string> clearNiftiHeaderText(std::uint8_t* header, std::size_t size) {
    if (!header || size < 348)
        throw std::invalid_argument("not a NIfTI header: fewer than 348 bytes");
    const std::int32_t kind = headerSize(header);
    std::vector<std::string> cleared;
    if (kind == 348) {
        if (clearField(header + 148, 80))
            cleared.emplace_back("descrip");
        if (clearField(header + 228, 24))
            cleared.emplace_back("aux_file");
        if (clearField(header + 328, 16))
            cleared.emplace_back("intent_name");
        return cleared;
    }
    if (kind == 540 && size >= 540) {
        if (clearField(header + 240, 80))
            cleared.emplace_back("descrip");
        if (clearField(header + 320, 24))
            cleared.emplace_back("aux_file");
        if (clearField(header + 508, 16))
            cleared.emplace_back("intent_name");
        return cleared;
    }
    throw std::invalid_argument("not a NIfTI header: sizeof_hdr is neither 348 nor 540");
}

std::string cleanNrrdHeader(std::string_view header, int* removed) {
    std::string out;
    int dropped = 0;
    std::size_t start = 0;
    bool first = true;
    while (start < header.size()) {
        std::size_t end = header.find('\n', start);
        if (end == std::string_view::npos)
            end = header.size();
        const std::string_view line = header.substr(start, end - start);
        start = end + 1;
        const bool comment = !first && !line.empty() && line.front() == '#';
        const bool keyValue = line.find(":=") != std::string_view::npos;
        const bool content = line.rfind("content:", 0) == 0;
        first = false;
        if (comment || keyValue || content) {
            ++dropped;
            continue;
        }
        out.append(line);
        out.push_back('\n');
    }
    if (removed)
        *removed = dropped;
    return out;
}

} // namespace radmark::deid
