#pragma once
// Untrusted study files read, decoded, de-identified and defaced in radmark-decoder, never in
// this process: what the CLI, the workstation and the import call instead of imaging::findSeries
// / readSeries and deid::deidentifyIntoFolder. A crash, abort, hang or lack of memory in the
// child becomes an imaging::ReadError naming the file and what happened; a fresh child carries
// on. The child that scanned a source reads its series too (no second header scan), and
// a volume comes back in shared memory without a copy.

#include "imaging/DicomSeg.h"
#include "imaging/StudyReader.h"
#include "imaging/Volume.h"
#include "imaging/decoder/DecoderProcess.h"
#include "imaging/deid/ConfidentialityProfile.h"
#include "imaging/deid/Deidentifier.h"
#include "imaging/deid/FolderDeidentification.h"
#include "imaging/deid/KeyedIdentity.h"

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace radmark::decoder {

// What a child needs to de-identify: the per-store secret (UIDs, pseudonyms, date shifts; never
// the store's database key), the profile options, and whether OCR may check burned-in text.
struct DeidentificationSettings {
    deid::StoreSecret secret = deid::StoreSecret::random();
    deid::ProfileOptions options = deid::ProfileOptions::defaults();
    bool ocr = true;
};

// One file de-identified for import: the engine's result and the de-identified header without
// pixel data (the store keeps pixels as volume chunks), serialized by the child.
// A mask file for annotation import, read in the child: a DICOM SEG, or a volume (NIfTI, NRRD,
// MetaImage, DICOM) whose voxel values are the labels.
struct DecodedMask {
    std::optional<imaging::DicomSegmentation> segmentation;
    imaging::Volume volume; // when it is not a segmentation
};

struct DeidentifiedFile {
    bool readable = false; // false: not a DICOM file the library could read
    deid::FileResult result;
    std::string studyDescription;  // de-identified (0008,1030)
    std::string seriesDescription; // de-identified (0008,103E)
    std::optional<std::string> header;
    std::optional<std::string> headerWithDefacing; // with the deface option
    std::string failure; // the decoder died on it or the engine threw: one line, no file name
};

class IsolatedDecoder {
  public:
    explicit IsolatedDecoder(DecoderSettings settings = {});

    // As imaging::findSeries. A child that dies on a folder is replaced, the folder's files are
    // scanned one by one, and the series of the others come back; each file that crashed the
    // decoder is named in `crashed` when given, else in a warning of every series.
    std::vector<imaging::SeriesSummary>
    findSeries(const std::filesystem::path& source, const imaging::Progress& progress = {},
               std::vector<imaging::ReadError>* crashed = nullptr);
    // As imaging::readSeries. When the child dies, each file is decoded alone in a fresh child
    // until the one responsible is found: the ReadError names it.
    imaging::Volume readSeries(const imaging::SeriesSummary& series,
                               const imaging::Progress& progress = {},
                               imaging::ReadReport* report = nullptr);
    imaging::Volume readVolume(const std::filesystem::path& source,
                               const imaging::Progress& progress = {},
                               imaging::ReadReport* report = nullptr);

    // Annotation import: a mask file decoded in the child. Throws ReadError naming the file (not
    // readable, not a mask, or the decoder died on it).
    DecodedMask readMask(const std::filesystem::path& file, const imaging::Progress& progress = {});

    // Import: one DICOM file de-identified and verified in the child. Throws ReadError naming
    // the file when the child dies on it (the next call starts a fresh one).
    DeidentifiedFile deidentifyFile(const std::filesystem::path& file,
                                    const DeidentificationSettings& settings);

    // Import, one series: the files in one request. A file the child dies on gets its failure
    // and the others are done again in a fresh child without it.
    std::vector<DeidentifiedFile> deidentifyFiles(const std::vector<std::filesystem::path>& files,
                                                  const DeidentificationSettings& settings,
                                                  const imaging::Progress& progress = {});

    // Files that exist only in memory (sealed memfds, e.g. instances retrieved from a PACS), taken
    // over: every child started from now on gets a duplicate of each one not yet released and
    // reads it as the returned path (/proc/self/fd/N, the same N in every child).
    std::vector<std::filesystem::path> holdFiles(std::vector<UniqueFd> sealedMemfds);
    // Held files no longer needed, closed here; no later child gets them. A running child that
    // holds them keeps its copies until it ends (restart()). Other paths are ignored.
    void releaseHeldFiles(const std::vector<std::filesystem::path>& files);
    std::size_t heldFileCount() const; // held and not yet released
    // As readSeries, for held files: each file of the series is released as soon as its pixels
    // are in the volume (the child closes its copy as it goes, then this process closes its own,
    // and the kernel frees the instance). When the child dies, the files it finished stay
    // released; the one it died on is found among those it had started (each decoded alone in a
    // fresh child, which gets only the files not yet released) and named in the ReadError.
    imaging::Volume readSeriesReleasing(const imaging::SeriesSummary& series,
                                        const imaging::Progress& progress = {},
                                        imaging::ReadReport* report = nullptr);
    // As findSeries, for a list of files (the held ones). With `crashed`, a child that dies on
    // the headers is replaced, each file is scanned alone, and the series of the others come
    // back; each file that crashed the decoder is named in `crashed`.
    std::vector<imaging::SeriesSummary>
    findSeriesOfFiles(const std::vector<std::filesystem::path>& files,
                      const imaging::Progress& progress = {},
                      std::vector<imaging::ReadError>* crashed = nullptr);

    // Ends the current child: the next request gets a fresh one (one child per series), with
    // the OCR module only if that request de-identifies with OCR.
    void restart() {
        process_.stop();
        process_.setOcr(false);
    }
    DecoderProcess& process() { return process_; }

  private:
    nlohmann::json call(const nlohmann::json& request, const imaging::Progress& progress,
                        const std::filesystem::path& subject, Message* full = nullptr,
                        std::vector<UniqueFd> fds = {});
    std::vector<imaging::SeriesSummary> scanFileByFile(const std::filesystem::path& source,
                                                       const std::string& cause,
                                                       std::vector<imaging::ReadError>* crashed);
    imaging::Volume volumeFrom(Message& reply, imaging::ReadReport* report);
    // After a child died on a series: decodes file alone (in a child, a fresh one if needed) and
    // throws the ReadError naming it when that kills the child too; its other errors are not
    // the death's cause and are left to the caller.
    void throwIfItKillsAChild(const imaging::SeriesSummary& series,
                              const std::filesystem::path& file);

    void giveHeldFiles(); // to a child that lacks them

    DecoderProcess process_;
    std::vector<UniqueFd> held_; // [i]: /proc/self/fd/(1000 + i) in a child; closed: released
    pid_t heldBy_ = -1; // the child that holds them
    pid_t scanner_ = -1; // the child whose scan gave the current summaries (it kept the layouts)
};

struct IsolatedFolderOutcome {
    deid::FolderOutcome outcome;
    bool writesConfined = false; // the child could write in its staging folder only
};

// `radmark-cli deid`: deid::deidentifyIntoFolder (and, with the deface option, the defacing of
// every written study) run in a child that may write only into a private staging folder inside
// outputFolder; this process then moves the regular files it finds there into outputFolder.
// A file that kills the child is named in the failures and the run goes on without it.
IsolatedFolderOutcome deidentifyIntoFolder(const std::vector<std::filesystem::path>& sources,
                                           const std::filesystem::path& outputFolder,
                                           const DeidentificationSettings& settings,
                                           const std::function<void(int, int)>& progress = {},
                                           DecoderSettings decoderSettings = {});

// Staging folders a killed run left in outputFolder are removed; returns how many.
int sweepDecoderStaging(const std::filesystem::path& outputFolder);

} // namespace radmark::decoder
