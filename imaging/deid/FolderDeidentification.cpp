#include "imaging/deid/FolderDeidentification.h"

#include <gdcmReader.h>
#include <gdcmWriter.h>

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <system_error>

namespace radmark::deid {
namespace fs = std::filesystem;

namespace {

struct PendingFile {
    fs::path temporary;
    fs::path final;
};

struct PendingStudy {
    std::unique_ptr<DeidentificationReport> report;
    std::vector<PendingFile> files;
    bool quarantined = false;
};

// Only characters of a UID end up in paths; anything else (no UID) becomes "unknown".
std::string safeName(const std::string& uid) {
    if (uid.empty())
        return "unknown";
    std::string out;
    for (char c : uid)
        if ((c >= '0' && c <= '9') || c == '.')
            out += c;
    return out.empty() ? "unknown" : out;
}

// The Media Storage SOP Class UID from the file meta, read by hand (explicit VR little endian,
// as PS3.10 requires), so directory files can be recognised without handing them to GDCM (whose
// Debian build aborts on some malformed DICOMDIRs).
std::string mediaStorageClassOf(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    char preamble[132];
    if (!in.read(preamble, 132) || std::string_view(preamble + 128, 4) != "DICM")
        return {};
    for (int guard = 0; guard < 64; ++guard) {
        unsigned char head[8];
        if (!in.read(reinterpret_cast<char*>(head), 8))
            return {};
        const unsigned group = head[0] | (head[1] << 8);
        const unsigned element = head[2] | (head[3] << 8);
        if (group != 0x0002)
            return {};
        const std::string vr(reinterpret_cast<char*>(head + 4), 2);
        std::uint32_t length = head[6] | (head[7] << 8);
        if (vr == "OB" || vr == "OW" || vr == "SQ" || vr == "UN" || vr == "UT") {
            unsigned char longLength[4];
            if (!in.read(reinterpret_cast<char*>(longLength), 4))
                return {};
            length = longLength[0] | (longLength[1] << 8) | (longLength[2] << 16) |
                     (std::uint32_t(longLength[3]) << 24);
        }
        if (length > 4096)
            return {};
        std::string value(length, '\0');
        if (!in.read(value.data(), length))
            return {};
        if (element == 0x0002) {
            while (!value.empty() && (value.back() == '\0' || value.back() == ' '))
                value.pop_back();
            return value;
        }
    }
    return {};
}

constexpr const char* mediaStorageDirectory = "1.2.840.10008.1.3.10";

void removeQuietly(const fs::path& path) {
    std::error_code ignored;
    fs::remove(path, ignored);
}

} // namespace

bool FolderOutcome::clean() const {
    return failures.empty() && std::none_of(studies.begin(), studies.end(),
                                            [](const StudyOutcome& s) { return s.quarantined; });
}

std::vector<fs::path> listSourceFiles(const std::vector<fs::path>& sources) {
    std::vector<fs::path> files;
    for (const auto& source : sources) {
        std::error_code error;
        if (fs::is_directory(source, error)) {
            for (auto it = fs::recursive_directory_iterator(
                     source, fs::directory_options::skip_permission_denied, error);
                 !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
                if (it->is_regular_file(error) && it->path().filename() != "DICOMDIR")
                    files.push_back(it->path());
            }
            if (error)
                throw std::runtime_error("cannot read the folder " + source.string() + ": " +
                                         error.message());
        } else if (fs::is_regular_file(source, error)) {
            files.push_back(source);
        } else {
            throw std::runtime_error("no such file or folder: " + source.string());
        }
    }
    std::sort(files.begin(), files.end());
    files.erase(std::unique(files.begin(), files.end()), files.end());
    return files;
}

FolderOutcome deidentifyIntoFolder(const std::vector<fs::path>& sources,
                                   const fs::path& outputFolder, const Deidentifier& deidentifier,
                                   const std::function<void(int, int)>& progress) {
    FolderOutcome outcome;
    const auto files = listSourceFiles(sources);
    std::error_code error;
    fs::create_directories(outputFolder, error);
    if (error)
        throw std::runtime_error("cannot create the output folder " + outputFolder.string() + ": " +
                                 error.message());
    std::map<std::string, PendingStudy> studies;
    const std::string temporaryPrefix = ".radmark-partial-" + std::to_string(::getpid()) + "-";
    int counter = 0;
    std::vector<fs::path> explicitFiles;
    for (const auto& source : sources)
        if (!fs::is_directory(source, error))
            explicitFiles.push_back(source);

    for (const auto& path : files) {
        ++counter;
        if (mediaStorageClassOf(path) == mediaStorageDirectory) {
            ++outcome.filesSkipped; // a DICOMDIR: the files it lists are walked directly
            continue;
        }
        gdcm::Reader reader;
        reader.SetFileName(path.c_str());
        if (!reader.Read()) {
            const bool named =
                std::find(explicitFiles.begin(), explicitFiles.end(), path) != explicitFiles.end();
            if (named)
                outcome.failures.push_back(path.string() + ": not a readable DICOM file");
            else
                ++outcome.filesSkipped;
            if (progress)
                progress(counter, int(files.size()));
            continue;
        }
        gdcm::File& file = reader.GetFile();
        FileResult result;
        try {
            result = deidentifier.deidentify(file);
        } catch (const std::exception& problem) {
            outcome.failures.push_back(path.string() + ": de-identification failed (" +
                                       problem.what() + ")");
            continue;
        }
        PendingStudy& study = studies[result.studyUid];
        if (!study.report)
            study.report = std::make_unique<DeidentificationReport>(deidentifier.profile(),
                                                                    deidentifier.options());
        study.report->add(result);
        if (result.quarantined) {
            study.quarantined = true;
        } else if (!study.quarantined) {
            const fs::path temporary =
                outputFolder / (temporaryPrefix + std::to_string(counter) + ".dcm");
            gdcm::Writer writer;
            writer.SetFile(file);
            writer.SetFileName(temporary.c_str());
            bool written = writer.Write();
            if (!written && result.sopInstanceUid.empty()) {
                // Not a complete SOP instance (no SOP Class/Instance UID): GDCM cannot build
                // its file meta, so the de-identified file meta is written as it is.
                gdcm::Writer asIs;
                asIs.SetFile(file);
                asIs.SetFileName(temporary.c_str());
                asIs.CheckFileMetaInformationOff();
                written = asIs.Write();
            }
            if (!written) {
                removeQuietly(temporary);
                outcome.failures.push_back(path.string() +
                                           ": could not write the de-identified "
                                           "file into " +
                                           outputFolder.string());
                study.report->addFailure("a file could not be written");
                study.quarantined = true;
            } else {
                study.files.push_back(
                    {temporary, outputFolder / safeName(result.studyUid) /
                                    safeName(result.seriesUid) /
                                    (result.sopInstanceUid.empty()
                                         ? "instance-" + std::to_string(counter) + ".dcm"
                                         : safeName(result.sopInstanceUid) + ".dcm")});
            }
        }
        if (progress)
            progress(counter, int(files.size()));
    }

    for (auto& [studyUid, study] : studies) {
        StudyOutcome done;
        done.studyUid = studyUid;
        done.files = study.report->fileCount();
        done.quarantined = study.quarantined || study.report->quarantined();
        if (done.quarantined) {
            for (const auto& file : study.files)
                removeQuietly(file.temporary);
            done.reasons = study.report->reasons();
            outcome.studies.push_back(std::move(done));
            continue;
        }
        for (const auto& file : study.files) {
            fs::create_directories(file.final.parent_path(), error);
            fs::rename(file.temporary, file.final, error);
            if (error) {
                removeQuietly(file.temporary);
                outcome.failures.push_back(file.final.string() +
                                           ": could not be renamed into "
                                           "place (" +
                                           error.message() + ")");
                continue;
            }
            ++outcome.filesWritten;
        }
        const fs::path reportPath =
            outputFolder / safeName(studyUid) / "deidentification-report.json";
        const fs::path temporary = outputFolder / (temporaryPrefix + "report.json");
        {
            std::ofstream out(temporary);
            out << study.report->toJson().dump(2) << "\n";
            if (!out)
                outcome.failures.push_back(reportPath.string() + ": could not be written");
        }
        fs::create_directories(reportPath.parent_path(), error);
        fs::rename(temporary, reportPath, error);
        if (error)
            removeQuietly(temporary);
        done.report = reportPath;
        outcome.studies.push_back(std::move(done));
    }
    return outcome;
}

} // namespace radmark::deid
