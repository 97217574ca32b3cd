#include "imaging/deid/FolderDeidentification.h"

#include "imaging/DescriptorStreamBuffer.h"
#include "imaging/DicomStructure.h"
#include "imaging/SourceFolder.h"

#include <gdcmReader.h>
#include <gdcmWriter.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <ostream>
#include <streambuf>
#include <system_error>
#include <utility>
#include <vector>

namespace radmark::deid {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view partialPrefix = ".radmark-partial-";

// A file being written in the output folder under a name no one can predict or plant in
// advance (".radmark-partial-<pid>-<random>"), created exclusively and never through a link,
// owner-only. Removed when destroyed unless it was moved into place.
class PartialFile {
  public:
    PartialFile(const fs::path& folder, const std::string& suffix) {
        std::string pattern = (folder / (std::string(partialPrefix) + std::to_string(::getpid()) +
                                         "-XXXXXX" + suffix))
                                  .string();
        fd_ = ::mkostemps(pattern.data(), int(suffix.size()), O_CLOEXEC | O_NOFOLLOW);
        if (fd_ < 0)
            throw std::system_error(errno, std::generic_category());
        path_ = pattern;
    }
    PartialFile(PartialFile&& other) noexcept
        : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)) {
        other.path_.clear();
    }
    PartialFile& operator=(PartialFile&& other) noexcept {
        if (this != &other) {
            discard();
            path_ = std::exchange(other.path_, fs::path());
            fd_ = std::exchange(other.fd_, -1);
        }
        return *this;
    }
    PartialFile(const PartialFile&) = delete;
    ~PartialFile() { discard(); }
    const fs::path& path() const { return path_; }

    // Writes through the open descriptor (never by name again); "" or why it failed.
    template <class Write> std::string write(Write&& writeTo) {
        imaging::DescriptorStreamBuffer buffer(fd_, std::size_t(1) << 16);
        std::ostream out(&buffer);
        const bool ok = writeTo(out);
        out.flush();
        int error = buffer.finish();
        if (error == 0 && ::fsync(fd_) != 0)
            error = errno;
        ::close(std::exchange(fd_, -1));
        if (error != 0)
            return std::strerror(error);
        return ok ? std::string() : std::string("the DICOM writer refused it");
    }

    // Renames into place (replacing a link at final, never writing through it).
    void moveTo(const fs::path& final) {
        if (::rename(path_.c_str(), final.c_str()) != 0)
            throw std::system_error(errno, std::generic_category());
        path_.clear();
    }

  private:
    void discard() {
        if (fd_ >= 0)
            ::close(fd_);
        if (!path_.empty())
            ::unlink(path_.c_str());
        fd_ = -1;
        path_.clear();
    }

    fs::path path_;
    int fd_ = -1;
};

struct PendingFile {
    PartialFile temporary;
    std::vector<std::string> folders; // study, series: checked path components
    std::string name;
};

struct PendingStudy {
    std::unique_ptr<DeidentificationReport> report;
    std::vector<PendingFile> files;
    bool quarantined = false;
    fs::path quarantinedBy; // the first file whose result or write quarantined the study

    void quarantine(const fs::path& source) {
        if (quarantinedBy.empty())
            quarantinedBy = source;
        quarantined = true;
    }
};

// A de-identified UID as a path component: only when it is a DICOM UID (so never "." or ".."
// nor a separator); no UID at all becomes "unknown".
std::string componentOf(const std::string& uid, const char* what) {
    if (uid.empty())
        return "unknown";
    if (!isDicomUid(uid))
        throw OutputFolderError(std::string("its ") + what +
                                " is not a valid DICOM UID (digits and dots, at most 64 "
                                "characters), so no output folder is named after it");
    return uid;
}

// Creates root/components... as real folders (0700 when created here). A link or a file planted
// where a folder goes is refused: nothing is written through it.
fs::path subfolder(const fs::path& root, const std::vector<std::string>& components) {
    fs::path path = root;
    for (const auto& component : components) {
        if (component.empty() || component == "." || component == ".." ||
            component.find('/') != std::string::npos)
            throw OutputFolderError("an output folder name is not a plain name");
        path /= component;
        if (::mkdir(path.c_str(), 0700) != 0) {
            if (errno != EEXIST)
                throw OutputFolderError("cannot create the folder " + path.string() + ": " +
                                        std::strerror(errno));
            struct stat st {};
            if (::lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
                throw OutputFolderError(path.string() +
                                        " is in the way: it is not a folder (a symbolic link or "
                                        "a file), and nothing is written through it");
        }
    }
    return path;
}

// The output folder, created owner-only when missing, resolved; a link is refused.
fs::path outputRootOf(const fs::path& folder) {
    std::error_code error;
    if (fs::is_symlink(fs::symlink_status(folder, error)))
        throw OutputFolderError("the output folder " + folder.string() +
                                " is a symbolic link; Radmark does not write through links: "
                                "give the folder it points to instead");
    fs::path made;
    for (const auto& part : folder.lexically_normal()) {
        made /= part;
        if (::mkdir(made.c_str(), 0700) != 0 && errno != EEXIST)
            throw OutputFolderError("cannot create the output folder " + folder.string() + ": " +
                                    std::strerror(errno));
    }
    const fs::path root = fs::canonical(folder, error);
    if (error || !fs::is_directory(root))
        throw OutputFolderError("the output folder " + folder.string() + " is not a folder");
    return root;
}

// Partial files of an earlier run that is no longer running (killed, power cut) are removed;
// those of a run still going (another pid) are left alone.
int sweepPartialFiles(const fs::path& root) {
    int removed = 0;
    std::error_code error;
    for (fs::directory_iterator it(root, error), end; !error && it != end; it.increment(error)) {
        const std::string name = it->path().filename().string();
        if (name.rfind(partialPrefix, 0) != 0)
            continue;
        const long pid = std::strtol(name.c_str() + partialPrefix.size(), nullptr, 10);
        const bool running =
            pid > 0 && pid != ::getpid() && (::kill(pid_t(pid), 0) == 0 || errno == EPERM);
        if (!running && ::unlink(it->path().c_str()) == 0)
            ++removed;
    }
    return removed;
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

} // namespace

bool isDicomUid(std::string_view uid) {
    if (uid.empty() || uid.size() > 64)
        return false;
    std::size_t start = 0;
    while (true) {
        const std::size_t dot = uid.find('.', start);
        const std::string_view component =
            uid.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        if (component.empty() || (component.size() > 1 && component.front() == '0') ||
            !std::all_of(component.begin(), component.end(),
                         [](char c) { return c >= '0' && c <= '9'; }))
            return false;
        if (dot == std::string_view::npos)
            return true;
        start = dot + 1;
    }
}

bool FolderOutcome::clean() const {
    return failures.empty() && std::none_of(studies.begin(), studies.end(),
                                            [](const StudyOutcome& s) { return s.quarantined; });
}

std::vector<fs::path> listSourceFiles(const std::vector<fs::path>& sources,
                                      std::vector<std::string>* refusals) {
    std::vector<fs::path> files;
    for (const auto& source : sources) {
        std::error_code error;
        if (fs::is_directory(source, error)) {
            const imaging::FolderListing listing =
                imaging::listFolder(source, /*skipHidden=*/false);
            for (const auto& file : listing.files)
                if (file.filename() != "DICOMDIR")
                    files.push_back(file);
            if (listing.linksRefused > 0 && refusals)
                refusals->push_back(source.string() + ": " + listing.refusedSummary());
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
    const auto files = listSourceFiles(sources, &outcome.failures);
    const fs::path root = outputRootOf(outputFolder);
    outcome.partialFilesRemoved = sweepPartialFiles(root);
    std::map<std::string, PendingStudy> studies;
    int counter = 0;
    std::vector<fs::path> explicitFiles;
    std::error_code error;
    for (const auto& source : sources)
        if (!fs::is_directory(source, error))
            explicitFiles.push_back(source);

    for (const auto& path : files) {
        ++counter;
        if (mediaStorageClassOf(path) == mediaStorageDirectory) {
            ++outcome.filesSkipped; // a DICOMDIR: the files it lists are walked directly
            continue;
        }
        // Elements that claim more bytes than the file holds (or worse): refused before GDCM
        // allocates what they claim or fails a check on them.
        if (const auto problem = imaging::dicomStructureProblem(path)) {
            outcome.failures.push_back(path.string() + ": " + *problem);
            if (progress)
                progress(counter, int(files.size()));
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
            study.quarantine(path);
        } else if (!study.quarantined) {
            // The destination is checked before anything is written for the file.
            std::vector<std::string> folders;
            std::string name;
            try {
                folders = {componentOf(result.studyUid, "Study Instance UID"),
                           componentOf(result.seriesUid, "Series Instance UID")};
                name = result.sopInstanceUid.empty()
                           ? "instance-" + std::to_string(counter) + ".dcm"
                           : componentOf(result.sopInstanceUid, "SOP Instance UID") + ".dcm";
            } catch (const OutputFolderError& refused) {
                outcome.failures.push_back(path.string() + ": " + refused.what());
                study.report->addFailure("a UID cannot name an output folder");
                study.quarantine(path);
                study.files.clear();
                continue;
            }
            auto writeWith =
                [&](bool checkMeta) -> std::pair<std::optional<PartialFile>, std::string> {
                std::optional<PartialFile> temporary;
                try {
                    temporary.emplace(root, ".dcm");
                } catch (const std::system_error& e) {
                    return {std::nullopt, e.code().message()};
                }
                std::string problem = temporary->write([&](std::ostream& out) {
                    gdcm::Writer writer;
                    writer.SetFile(file);
                    writer.SetStream(out);
                    if (!checkMeta)
                        writer.CheckFileMetaInformationOff();
                    return writer.Write();
                });
                if (!problem.empty())
                    temporary.reset(); // removed now, not at the end of the run
                return {std::move(temporary), problem};
            };
            auto [temporary, problem] = writeWith(true);
            if (!temporary && result.sopInstanceUid.empty() &&
                problem == "the DICOM writer refused it") {
                // Not a complete SOP instance (no SOP Class/Instance UID): GDCM cannot build
                // its file meta, so the de-identified file meta is written as it is.
                std::tie(temporary, problem) = writeWith(false);
            }
            if (!temporary) {
                outcome.failures.push_back(path.string() +
                                           ": could not write the de-identified file into " +
                                           outputFolder.string() + " (" + problem + ")");
                study.report->addFailure("a file could not be written");
                study.quarantine(path);
                study.files.clear();
            } else {
                study.files.push_back({std::move(*temporary), std::move(folders), std::move(name)});
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
            study.files.clear(); // removes their partial files
            done.quarantinedBy = study.quarantinedBy;
            done.reasons = study.report->reasons();
            outcome.studies.push_back(std::move(done));
            continue;
        }
        // A study's files share their study and series folders: each is made (or checked) once.
        std::map<std::vector<std::string>, fs::path> folders;
        for (auto& file : study.files) {
            const fs::path final = [&] {
                try {
                    auto made = folders.find(file.folders);
                    if (made == folders.end())
                        made = folders.emplace(file.folders, subfolder(root, file.folders)).first;
                    return made->second / file.name;
                } catch (const OutputFolderError& refused) {
                    outcome.failures.push_back(refused.what());
                    return fs::path();
                }
            }();
            if (final.empty())
                continue;
            try {
                file.temporary.moveTo(final);
            } catch (const std::system_error& e) {
                outcome.failures.push_back(final.string() + ": could not be renamed into place (" +
                                           e.code().message() + ")");
                continue;
            }
            ++outcome.filesWritten;
        }
        study.files.clear();
        fs::path reportFolder;
        try {
            reportFolder = subfolder(root, {componentOf(studyUid, "Study Instance UID")});
        } catch (const OutputFolderError& refused) {
            outcome.failures.push_back(refused.what());
            outcome.studies.push_back(std::move(done));
            continue;
        }
        const fs::path reportPath = reportFolder / "deidentification-report.json";
        std::string problem;
        try {
            const std::string json = study.report->toJson().dump(2) + "\n";
            PartialFile temporary(root, ".json");
            problem = temporary.write([&](std::ostream& out) {
                out << json;
                return bool(out);
            });
            if (problem.empty())
                temporary.moveTo(reportPath);
        } catch (const std::system_error& e) {
            problem = e.code().message();
        }
        if (problem.empty())
            done.report = reportPath;
        else
            outcome.failures.push_back(reportPath.string() + ": could not be written (" + problem +
                                       ")");
        outcome.studies.push_back(std::move(done));
    }
    return outcome;
}

} // namespace radmark::deid
