#pragma once
// De-identifies DICOM files (files, folders, DICOMDIR folders) into an output folder: one
// subfolder per de-identified study and series, a report per study, every file written to a
// temporary name in the output folder and renamed into place only once its whole study passed
// verification. A quarantined study leaves nothing behind. Originals are never copied.

#include "imaging/deid/DeidentificationReport.h"
#include "imaging/deid/Deidentifier.h"

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace radmark::deid {

struct StudyOutcome {
    std::string studyUid; // de-identified
    int files = 0;
    bool quarantined = false;
    std::vector<std::string> reasons; // why quarantined; no value of the source in them
    std::filesystem::path report;     // the report written (empty when quarantined)
};

struct FolderOutcome {
    std::vector<StudyOutcome> studies;
    int filesWritten = 0;
    int filesSkipped = 0;              // not DICOM, found while walking a folder
    std::vector<std::string> failures; // one line each: file that could not be read or written
    bool clean() const;                // nothing quarantined, nothing failed
};

// Lists the files under each source (recursively for folders), sorted, without DICOMDIR files.
std::vector<std::filesystem::path>
listSourceFiles(const std::vector<std::filesystem::path>& sources);

// progress(done, total) after each file.
FolderOutcome deidentifyIntoFolder(const std::vector<std::filesystem::path>& sources,
                                   const std::filesystem::path& outputFolder,
                                   const Deidentifier& deidentifier,
                                   const std::function<void(int, int)>& progress = {});

} // namespace radmark::deid
