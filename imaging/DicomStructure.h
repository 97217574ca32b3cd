#pragma once
// A look at a DICOM file's element structure before GDCM reads it. GDCM allocates (and
// zero-fills) whatever length an element declares and fails checks on some lies, so a file whose
// elements claim more bytes than the file holds, or that nests sequences absurdly deep, is
// refused here with a sentence instead. Files that do not look like DICOM are left to GDCM.

#include <filesystem>
#include <optional>
#include <string>

namespace radmark::imaging {

// A meta header that declares explicit VR over a data set written with implicit VR: GDCM's full
// read recovers (de-identification copes), but its header scan first takes a value for a length
// and allocates gigabytes, so image reading refuses such a file.
enum class VrDisagreement { Allow, Refuse };

// What is wrong with the file's structure ("is damaged or truncated: its element (7FE0,0010)
// declares 524288 bytes, more than the 1200 left in the file"), or nullopt when nothing is.
std::optional<std::string> dicomStructureProblem(const std::filesystem::path& file,
                                                 VrDisagreement vr = VrDisagreement::Allow);

// As dicomStructureProblem, as a ReadError naming the file.
void checkDicomStructure(const std::filesystem::path& file,
                         VrDisagreement vr = VrDisagreement::Allow);

} // namespace radmark::imaging
