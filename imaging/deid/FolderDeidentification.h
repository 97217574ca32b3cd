#pragma once
// De-identifies DICOM files (files, folders, DICOMDIR folders) into an output folder: one
// subfolder per de-identified study and series, a report per study, every file written to a
// temporary name in the output folder and renamed into place only once its whole study passed
// verification. A quarantined study leaves nothing behind. Originals are never copied.
// Every output path is built from checked UIDs and stays under the output folder; temporary
// files are created exclusively under random names (never through a planted link), removed on
// failure and swept at the next run; what is written is readable by its owner only.

#include "imaging/deid/DeidentificationReport.h"
#include "imaging/deid/Deidentifier.h"

#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace radmark::deid {

// A destination Radmark refuses to write to: a symbolic link for the output folder, or
// something planted where one of its subfolders goes.
class OutputFolderError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// DICOM's UI grammar (PS3.5 9.1): at most 64 characters, components of digits separated by
// dots, no empty component, no leading zero except in "0". So "." and ".." never pass.
bool isDicomUid(std::string_view uid);

struct StudyOutcome {
    std::string studyUid; // de-identified
    int files = 0;
    bool quarantined = false;
    std::vector<std::string> reasons; // why quarantined; no value of the source in them
    std::filesystem::path quarantinedBy; // the first source file that quarantined it, if one did
    std::filesystem::path report;        // the report written (empty when quarantined)
};

struct FolderOutcome {
    std::vector<StudyOutcome> studies;
    int filesWritten = 0;
    int filesSkipped = 0;              // not DICOM, found while walking a folder
    std::vector<std::string> failures; // one line each: file that could not be read or written
    int partialFilesRemoved = 0;       // left in the output folder by an interrupted earlier run
    bool clean() const;                // nothing quarantined, nothing failed
};

// Lists the files under each source (recursively for folders), sorted, without DICOMDIR files.
// Links inside a folder are followed when they stay inside it; the others are not, and each
// folder that had some adds one line with their count to *refusals (when given).
std::vector<std::filesystem::path>
listSourceFiles(const std::vector<std::filesystem::path>& sources,
                std::vector<std::string>* refusals = nullptr);

// progress(done, total) after each file. Throws OutputFolderError when outputFolder is a
// symbolic link.
FolderOutcome deidentifyIntoFolder(const std::vector<std::filesystem::path>& sources,
                                   const std::filesystem::path& outputFolder,
                                   const Deidentifier& deidentifier,
                                   const std::function<void(int, int)>& progress = {});

} // namespace radmark::deid
