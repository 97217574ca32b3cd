#pragma once
// Free-text fields of NIfTI and NRRD headers can carry names (scanner consoles write them there):
// these functions clear them before a volume is stored.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace radmark::deid {

// Clears descrip (80 bytes), aux_file (24) and intent_name (16) of a NIfTI-1 header (348 bytes,
// either byte order) or a NIfTI-2 header (540 bytes). Returns the names of the fields that held
// text. Throws std::invalid_argument when the bytes are not a NIfTI header.
std::vector<std::string> clearNiftiHeaderText(std::uint8_t* header, std::size_t size);

// Returns the NRRD header without comment lines ("#...") and without key/value pairs
// ("key:=value"); the field lines the reader needs (type, dimension, sizes, ...) are kept except
// "content", which is free text. removed counts what was dropped.
std::string cleanNrrdHeader(std::string_view header, int* removed = nullptr);

} // namespace radmark::deid
