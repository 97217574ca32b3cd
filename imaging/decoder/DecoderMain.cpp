// radmark-decoder: the isolated decoder. Radmark starts it with exec (never a bare fork of a
// process that holds keys), a cleaned environment and one socket (fd 3) to its parent; it reads
// untrusted files (DICOM and the other study formats), decodes, de-identifies and defaces them,
// and answers over that socket: JSON summaries, voxels and file bytes in sealed memfds. It holds
// no store key, no session and no store file. Once started it confines itself (Sandbox.h).
// A crash here ends this process only; the parent names the file and carries on.

#include "imaging/DicomSeg.h"
#include "imaging/DicomSeriesReader.h"
#include "imaging/DicomStructure.h"
#include "imaging/ItkImageReader.h"
#include "imaging/StudyReader.h"
#include "imaging/decoder/Channel.h"
#include "imaging/decoder/Protocol.h"
#include "imaging/decoder/Sandbox.h"
#include "imaging/decoder/SeccompFilter.h"
#include "imaging/deid/BurnedInText.h"
#include "imaging/deid/Defacing.h"
#include "imaging/deid/Deidentifier.h"
#include "imaging/deid/FolderDeidentification.h"

#include <gdcmReader.h>
#include <gdcmWriter.h>

#include <dlfcn.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

namespace radmark::decoder {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int channel = 3;

// -- Voxel buffers in shared memory, so that a decoded volume crosses without a copy --------

int voxelFolder = -1; // the private huge-page tmpfs (Sandbox.h), when there is one

// -- OCR: the radmark-ocr module, opened before the sandbox when the parent asked for it -----

using MakeTextDetector = deid::TextDetector* (*)();
MakeTextDetector makeTextDetector = nullptr;

fs::path ocrModulePath() {
    std::error_code error;
    const fs::path self = fs::read_symlink("/proc/self/exe", error);
    if (!error) {
        const fs::path beside = self.parent_path() / "radmark-ocr.so";
        if (fs::exists(beside, error))
            return beside;
    }
#ifdef RADMARK_OCR_MODULE_BUILD_PATH
    return RADMARK_OCR_MODULE_BUILD_PATH;
#else
    return "/nonexistent/radmark-ocr.so"; // installed: beside radmark-decoder only
#endif
}

// Tesseract and its libraries, loaded and bound now (RTLD_NOW): nothing of them is resolved
// later under the filter. Without the module, images that need OCR are quarantined.
void loadOcrModule() {
    void* module = ::dlopen(ocrModulePath().c_str(), RTLD_NOW | RTLD_LOCAL);
    if (module)
        makeTextDetector =
            reinterpret_cast<MakeTextDetector>(::dlsym(module, "radmark_make_text_detector"));
}
std::mutex buffersMutex;
std::map<const std::byte*, int> bufferFds; // mapping -> its memfd

// Shared memory for a volume: on huge pages when the administrator reserved some (far fewer page
// table entries to fill: a 250 MB CT on 4 KiB pages costs tenths of a second here), else on 4 KiB
// pages, allocated in bulk and populated in one go rather than by a fault per page.
UniqueFd voxelMemfd(std::size_t bytes, std::size_t& mapped, bool& onTmpfs) {
    constexpr std::size_t hugePage = std::size_t(2) << 20;
    const std::size_t rounded = (bytes + hugePage - 1) / hugePage * hugePage;
    if (voxelFolder >= 0) {
        // An unnamed file on the private tmpfs (huge=always): not sealable like a memfd, so the
        // parent ends this process before it maps the file (then nobody else can change it).
        UniqueFd file(::openat(voxelFolder, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
        if (file && ::ftruncate(file.get(), off_t(rounded)) == 0) {
            mapped = rounded;
            onTmpfs = true;
            return file;
        }
    }
    UniqueFd huge(::memfd_create("radmark-voxels", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB));
    if (huge && ::ftruncate(huge.get(), off_t(rounded)) == 0 &&
        ::fallocate(huge.get(), 0, 0, off_t(rounded)) == 0) {
        mapped = rounded;
        return huge;
    }
    UniqueFd fd = createMemfd("radmark-voxels", bytes);
    (void)::fallocate(fd.get(), 0, 0, off_t(bytes));
    mapped = bytes;
    return fd;
}

std::shared_ptr<std::byte[]> sharedVoxelBuffer(std::size_t bytes) {
    std::size_t mapped = 0;
    bool onTmpfs = false;
    UniqueFd fd = voxelMemfd(bytes, mapped, onTmpfs);
    // On the huge-page tmpfs a volume is a few hundred faults, each zeroing its 2 MiB page in the
    // decoding thread that touches it first (both threads share the work, as on the heap);
    // 4 KiB pages are populated in one go instead, a fault each being dear on this VM.
    void* memory = ::mmap(nullptr, mapped, PROT_READ | PROT_WRITE,
                          MAP_SHARED | (onTmpfs ? 0 : MAP_POPULATE), fd.get(), 0);
    if (memory == MAP_FAILED)
        throw std::bad_alloc();
    auto* start = static_cast<std::byte*>(memory);
    {
        std::lock_guard lock(buffersMutex);
        bufferFds[start] = fd.release();
    }
    return std::shared_ptr<std::byte[]>(start, [mapped](std::byte* p) {
        ::munmap(p, mapped);
        std::lock_guard lock(buffersMutex);
        const auto it = bufferFds.find(p);
        if (it != bufferFds.end()) {
            if (it->second >= 0)
                ::close(it->second);
            bufferFds.erase(it);
        }
    });
}

// The memfd behind a volume, sealed: the volume itself is released (its writable mapping must
// be gone before the memfd can be sealed against writes).
UniqueFd takeVoxels(imaging::Volume&& volume) {
    UniqueFd fd;
    {
        std::lock_guard lock(buffersMutex);
        const auto it = bufferFds.find(volume.data());
        if (it != bufferFds.end()) {
            fd = UniqueFd(it->second);
            it->second = -1;
        }
    }
    if (!fd) // a small volume on the heap: one copy of a few MB at most
        return memfdWithBytes("radmark-voxels", volume.data(), volume.byteCount());
    volume = imaging::Volume();
    // A memfd is sealed; the tmpfs file cannot be (F_SEAL_SEAL from birth): see voxelMemfd.
    const int seals = ::fcntl(fd.get(), F_GET_SEALS);
    if (seals < 0 || !(seals & F_SEAL_SEAL))
        sealMemfd(fd.get());
    return fd;
}

// -- Sending ------------------------------------------------------------------------------

void send(MessageKind kind, json body, std::vector<UniqueFd> fds = {}) {
    Message message;
    message.kind = kind;
    message.body = std::move(body);
    message.fds = std::move(fds);
    sendMessage(channel, message);
}

// A decoded volume as the reply to `read`: its geometry and warnings, the voxels in a memfd.
void sendVolume(imaging::Volume&& volume, const imaging::ReadReport& report) {
    json reply = {{"geometry", toJson(volume.geometry())},
                  {"pixelType", imaging::pixelTypeName(volume.pixelType())},
                  {"modality", volume.modality},
                  {"seriesDescription", volume.seriesDescription},
                  {"sourceFormat", volume.sourceFormat},
                  {"warnings", report.warnings}};
    std::vector<UniqueFd> fds;
    fds.push_back(takeVoxels(std::move(volume)));
    send(MessageKind::Reply, reply, std::move(fds));
}

// Progress in [0, 1] (each note resets the parent's timeout): a note when the percentage moved,
// at most every 20 ms and always at 100 %. A note wakes the parent; a hundred per request cost
// a header scan of 500 slices a few milliseconds on a busy 2-core machine.
imaging::Progress progressNotes() {
    struct Sent {
        int percent = -1;
        std::chrono::steady_clock::time_point at{};
    };
    auto last = std::make_shared<Sent>();
    return [last](double fraction) {
        const int percent = int(std::lround(std::clamp(fraction, 0.0, 1.0) * 100));
        const auto now = std::chrono::steady_clock::now();
        if (percent != last->percent &&
            (percent == 100 || now - last->at >= std::chrono::milliseconds(20))) {
            *last = {percent, now};
            send(MessageKind::Progress, {{"fraction", fraction}});
        }
        return true;
    };
}

// -- Requests -----------------------------------------------------------------------------

struct DeidentificationSetup {
    std::string key; // secret + options + OCR: a new engine when they change
    std::optional<deid::StoreSecret> secret;
    deid::ProfileOptions options;
    std::unique_ptr<deid::TextDetector> ocr;
    std::unique_ptr<deid::Deidentifier> engine;
};

class Decoder {
  public:
    void handle(const Message& request);

  private:
    json scan(const json& request);
    void read(const json& request, const std::vector<UniqueFd>& fds);
    void readMask(const json& request);
    void deidentifyFile(const json& request);
    void deidentifyFiles(const json& request, const std::vector<UniqueFd>& fds);
    json deidentifyFolder(const json& request, const std::vector<UniqueFd>& fds);
    json runTestHook(const json& request);
    json holdFiles(const json& request, const std::vector<UniqueFd>& fds);
    const deid::Deidentifier& engineFor(const json& request);

    // Files that exist only in memory (instances retrieved from a PACS): sealed memfds kept at
    // the descriptor numbers the parent asked for, read as /proc/self/fd/N like any path. A read
    // that releases closes each one as soon as its pixels are in the volume (both decoding
    // threads do): the kernel frees the instance once the parent has closed its copy too.
    std::mutex heldMutex_;
    std::map<int, UniqueFd> held_;
    std::size_t releaseHeld(const fs::path& file); // the bytes released, 0 for none

    std::vector<imaging::SeriesSummary> scanned_; // with their DICOM layouts: read needs no rescan
#ifdef RADMARK_DECODER_TEST_HOOKS
    bool forgeNextMask = false; // the test hook "forge-next-mask"
#endif
    DeidentificationSetup deid_;
};

json seriesListJson(const std::vector<imaging::SeriesSummary>& list) {
    json out = json::array();
    for (const auto& series : list)
        out.push_back(toJson(series));
    return out;
}

bool hiddenName(const fs::path& p) {
    const std::string name = p.filename().string();
    return !name.empty() && name.front() == '.';
}

#ifdef RADMARK_DECODER_TEST_HOOKS
// Test builds only: a file that starts with this line crashes the header scan, as a file that
// breaks the library's header parsing would (tests/pacs/HeldImportTests.cpp).
void crashOnScanMarker(const fs::path& file) {
    const std::string marker = "RADMARK-TEST-CRASH-IN-SCAN";
    std::ifstream in(file, std::ios::binary);
    std::string head(marker.size(), '\0');
    in.read(head.data(), std::streamsize(head.size()));
    if (in.gcount() == std::streamsize(marker.size()) && head == marker)
        ::raise(SIGSEGV);
}
#endif

json Decoder::scan(const json& request) {
    if (request.contains("files")) {
        // Files already known to be safe one by one (after a crash in a whole-folder scan).
        std::vector<fs::path> dicomFiles;
        std::vector<imaging::SeriesSummary> result;
        for (const auto& f : request.at("files")) {
            const fs::path file = f.get<std::string>();
#ifdef RADMARK_DECODER_TEST_HOOKS
            crashOnScanMarker(file);
#endif
            if (imaging::itkio::formatOf(file).empty())
                dicomFiles.push_back(file);
            else
                result.push_back(imaging::itkio::describe(file));
        }
        if (!dicomFiles.empty()) {
            auto dicom = imaging::dicom::scanSeries(dicomFiles, false, progressNotes());
            result.insert(result.end(), dicom.begin(), dicom.end());
        }
        scanned_ = result;
        return {{"series", seriesListJson(result)}};
    }
    scanned_ = imaging::findSeries(request.at("source").get<std::string>(), progressNotes());
    return {{"series", seriesListJson(scanned_)}};
}

// "hold-files": the memfds of the message kept at the descriptor numbers it lists, so that every
// child of one import names a file by the same path /proc/self/fd/N (files already released
// leave gaps). Only sealed memfds: the parent cannot change the bytes under a read.
json Decoder::holdFiles(const json& request, const std::vector<UniqueFd>& fds) {
    const auto numbers = request.at("numbers").get<std::vector<int>>();
    if (numbers.size() != fds.size())
        throw std::runtime_error("hold-files: as many descriptor numbers as files are needed");
    const int highest = numbers.empty() ? 0 : *std::max_element(numbers.begin(), numbers.end());
    rlimit files{};
    if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < rlim_t(highest) + 1 &&
        files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &files);
    }
    json paths = json::array();
    std::lock_guard lock(heldMutex_);
    for (std::size_t i = 0; i < fds.size(); ++i) {
        const int wanted = numbers[i];
        if (wanted < 100 || wanted > (1 << 20))
            throw std::runtime_error("hold-files: descriptor numbers out of range");
        if (!isSealed(fds[i].get()))
            throw std::runtime_error("hold-files: a file that is not a sealed memfd was refused");
        const int got = ::fcntl(fds[i].get(), F_DUPFD_CLOEXEC, wanted);
        if (got != wanted) {
            if (got >= 0)
                ::close(got);
            throw std::runtime_error("hold-files: descriptor " + std::to_string(wanted) +
                                     " is not free");
        }
        held_[got] = UniqueFd(got);
        paths.push_back("/proc/self/fd/" + std::to_string(got));
    }
    return {{"paths", paths}};
}

// A held file closed here (nothing of it stays mapped: the readers use read(), and their own
// opens of /proc/self/fd/N are closed when each file is done). Other paths are left alone.
std::size_t Decoder::releaseHeld(const fs::path& file) {
    const std::string prefix = "/proc/self/fd/";
    const std::string path = file.string();
    if (path.rfind(prefix, 0) != 0)
        return 0;
    int number = -1;
    try {
        number = std::stoi(path.substr(prefix.size()));
    } catch (const std::exception&) {
        return 0;
    }
    std::lock_guard lock(heldMutex_);
    const auto it = held_.find(number);
    if (it == held_.end())
        return 0;
    struct stat st {};
    const std::size_t bytes = ::fstat(it->second.get(), &st) == 0 ? std::size_t(st.st_size) : 0;
    held_.erase(it);
    return bytes;
}

json listFiles(const fs::path& source) {
    json files = json::array();
    std::error_code ec;
    if (!fs::is_directory(source, ec)) {
        files.push_back(source.string());
        return {{"files", files}};
    }
    std::vector<std::string> found;
    fs::recursive_directory_iterator it(source, fs::directory_options::skip_permission_denied, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (hiddenName(it->path())) {
            if (it->is_directory(ec))
                it.disable_recursion_pending();
            continue;
        }
        if (it->is_regular_file(ec))
            found.push_back(it->path().string());
    }
    std::sort(found.begin(), found.end());
    return {{"files", found}};
}

// "read": a series decoded into a volume. With "release" (a PACS import), the message brings a
// memfd of one byte per file of the series that this process and the parent share: 1 when the
// file's decoding starts, 2 once its pixels are in the volume and its held copy here is closed.
// The parent then closes its own copy at once (the instance is freed), and after a crash it
// knows which files are done and which one was being decoded.
void Decoder::read(const json& request, const std::vector<UniqueFd>& fds) {
    imaging::SeriesSummary series;
    try {
        series = seriesFromJson(request.at("series"));
    } catch (const ChannelError& refused) { // a layout that does not fit: refused, not followed
        throw std::runtime_error(refused.what());
    }
    for (const auto& known : scanned_)
        if (known.key == series.key && known.files == series.files)
            series = known;
    imaging::FileDecoding fileDecoding;
    imaging::Progress progress = progressNotes();
    std::atomic<std::size_t> releasedSinceNote{0};
    std::uint8_t* stages = nullptr;
    const std::size_t stageBytes = series.files.size();
    std::map<fs::path, std::size_t> indexOf;
    if (request.value("release", false)) {
        if (fds.size() != 1 || stageBytes == 0)
            throw std::runtime_error("read: a release needs the shared file stages");
        void* shared =
            ::mmap(nullptr, stageBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fds.front().get(), 0);
        if (shared == MAP_FAILED)
            throw std::runtime_error("read: the shared file stages cannot be mapped");
        stages = static_cast<std::uint8_t*>(shared);
        for (std::size_t i = 0; i < series.files.size(); ++i)
            indexOf[series.files[i]] = i;
        fileDecoding = [&](const fs::path& file, bool decoded) {
            const auto it = indexOf.find(file);
            if (it == indexOf.end())
                return;
            if (decoded)
                releasedSinceNote += releaseHeld(file);
            __atomic_store_n(stages + it->second, std::uint8_t(decoded ? 2 : 1), __ATOMIC_RELEASE);
        };
        // A note also once 4 MiB of instances are done since the last one: the parent closes its
        // copies at each note, and a fast read would otherwise get ahead of it by tens of MiB.
        // (Progress is called by one decoding thread only, so notes go out one at a time.)
        progress = [notes = std::move(progress), &releasedSinceNote](double fraction) {
            if (releasedSinceNote.load() < (std::size_t(4) << 20))
                return notes(fraction);
            releasedSinceNote = 0;
            send(MessageKind::Progress, {{"fraction", fraction}});
            return true;
        };
    }
    struct Unmap {
        std::uint8_t* stages;
        std::size_t bytes;
        ~Unmap() {
            if (stages)
                ::munmap(stages, bytes);
        }
    } unmap{stages, stageBytes};
    imaging::ReadReport report;
    sendVolume(imaging::readSeries(series, progress, &report, fileDecoding), report);
}

// Annotation import's mask file: a DICOM SEG (the frames' geometry in the reply, its bits in a
// sealed memfd) or any volume file readVolume reads (NIfTI, NRRD, MetaImage, DICOM), sent as
// `read` sends one.
void Decoder::readMask(const json& request) {
    const fs::path file = request.at("file").get<std::string>();
#ifdef RADMARK_DECODER_TEST_HOOKS
    if (forgeNextMask) { // a reply that claims more frames than its bits hold
        forgeNextMask = false;
        imaging::DicomSegmentation seg;
        seg.rows = seg.columns = 512;
        seg.segments.resize(1);
        seg.segments.front().labelValue = 1;
        seg.frames.resize(100);
        const std::uint8_t bits[16] = {};
        std::vector<UniqueFd> fds;
        fds.push_back(memfdWithBytes("radmark-segmentation", bits, sizeof bits));
        json reply = toJson(seg);
        reply["kind"] = "segmentation";
        send(MessageKind::Reply, reply, std::move(fds));
        return;
    }
#endif
    if (imaging::isDicomSegmentation(file)) {
        const imaging::DicomSegmentation seg = imaging::readDicomSegmentation(file);
        json reply = toJson(seg);
        reply["kind"] = "segmentation";
        std::vector<UniqueFd> fds;
        fds.push_back(
            memfdWithBytes("radmark-segmentation", seg.packedBits.data(), seg.packedBits.size()));
        send(MessageKind::Reply, reply, std::move(fds));
        return;
    }
    imaging::ReadReport report;
    sendVolume(imaging::readVolume(file, progressNotes(), &report), report);
}

const deid::Deidentifier& Decoder::engineFor(const json& request) {
    const std::string key = request.at("secret").get<std::string>() + request.at("options").dump() +
                            (request.value("ocr", false) ? "1" : "0");
    if (deid_.engine && deid_.key == key)
        return *deid_.engine;
    deid_.engine.reset();
    deid_.key = key;
    deid_.secret.emplace(secretFromJson(request.at("secret")));
    deid_.options = optionsFromJson(request.at("options"));
    if (request.value("ocr", false) && !deid_.ocr && makeTextDetector)
        deid_.ocr.reset(makeTextDetector());
    deid_.engine = std::make_unique<deid::Deidentifier>(
        deid::ConfidentialityProfile::standard(), deid_.options, *deid_.secret,
        &deid::BurnedInTextRules::standard(),
        request.value("ocr", false) ? deid_.ocr.get() : nullptr);
    return *deid_.engine;
}

// A top-level text value of a de-identified dataset (padding removed).
std::string textOf(const gdcm::DataSet& ds, std::uint16_t group, std::uint16_t element) {
    const gdcm::Tag tag(group, element);
    if (!ds.FindDataElement(tag))
        return {};
    const gdcm::ByteValue* value = ds.GetDataElement(tag).GetByteValue();
    if (!value || !value->GetPointer())
        return {};
    std::string text(value->GetPointer(), value->GetLength());
    while (!text.empty() && (text.back() == ' ' || text.back() == '\0'))
        text.pop_back();
    return text;
}

// A de-identified dataset as bytes; nullopt when GDCM cannot write it.
std::optional<std::string> serializedHeader(gdcm::File& file) {
    std::ostringstream out;
    gdcm::Writer writer;
    writer.SetFile(file);
    writer.SetStream(out);
    bool written = writer.Write();
    if (!written) {
        std::ostringstream asIs;
        gdcm::Writer plain;
        plain.SetFile(file);
        plain.SetStream(asIs);
        plain.CheckFileMetaInformationOff();
        written = plain.Write();
        out.swap(asIs);
    }
    if (!written)
        return std::nullopt;
    return std::move(out).str();
}

// Import, one file: de-identified in memory and verified; the header (without pixel data, which
// the store keeps as volume chunks) comes back in a memfd, and with the deface option a second
// header with the defacing recorded, for when the series' face is then removed.
void Decoder::deidentifyFile(const json& request) {
    const deid::Deidentifier& engine = engineFor(request);
    const std::string path = request.at("file").get<std::string>();
    if (const auto problem = imaging::dicomStructureProblem(path)) {
        send(MessageKind::Reply, {{"readable", true}, {"refused", *problem}});
        return;
    }
    gdcm::Reader reader;
    reader.SetFileName(path.c_str());
    if (!reader.Read()) {
        send(MessageKind::Reply, {{"readable", false}});
        return;
    }
    gdcm::File& file = reader.GetFile();
    const deid::FileResult result = engine.deidentify(file);
    json reply = {{"readable", true},
                  {"result", toJson(result)},
                  {"studyDescription", textOf(file.GetDataSet(), 0x0008, 0x1030)},
                  {"seriesDescription", textOf(file.GetDataSet(), 0x0008, 0x103E)}};
    std::vector<UniqueFd> fds;
    if (!result.quarantined) {
        file.GetDataSet().Remove(gdcm::Tag(0x7FE0, 0x0010));
        auto header = serializedHeader(file);
        reply["header"] = bool(header);
        if (header) {
            fds.push_back(memfdWithBytes("radmark-header", header->data(), header->size()));
            if (request.value("defacingRecord", false)) {
                deid::recordDefacing(file.GetDataSet());
                auto marked = serializedHeader(file);
                if (!marked)
                    throw deid::DefacingError(
                        "cannot deface: a de-identified header could not be written");
                fds.push_back(memfdWithBytes("radmark-header", marked->data(), marked->size()));
            }
        }
    }
    send(MessageKind::Reply, reply, std::move(fds));
}

// A de-identified dataset appended to blob; its length, or nullopt when GDCM cannot write it
// (blob then unchanged): the batch's headers are one buffer.
std::optional<std::size_t> appendHeader(gdcm::File& file, std::string& blob) {
    const std::optional<std::string> header = serializedHeader(file);
    if (!header)
        return std::nullopt;
    blob.append(*header);
    return header->size();
}

// The batch reply of deidentify-files, lean: a series' files share nearly everything (UIDs of
// study and series, pseudonym, modality, descriptions, actions), so each entry carries only what
// differs from the entry before it, defaults are left out, and a header is a length (they follow
// each other in one memfd). IsolatedDecoder::deidentifyFiles reads it back.
class BatchReply {
  public:
    void add(json entry) { entries_.push_back(std::move(entry)); }

    // The entry of a de-identified file; header lengths are added by the caller.
    json entryFor(const deid::FileResult& result, const std::string& studyDescription,
                  const std::string& seriesDescription) {
        json entry = json::object();
        carry(entry, "study", result.studyUid);
        carry(entry, "series", result.seriesUid);
        carry(entry, "pseudonym", result.patientPseudonym);
        carry(entry, "modality", result.modality);
        carry(entry, "studyDescription", studyDescription);
        carry(entry, "seriesDescription", seriesDescription);
        entry["sop"] = result.sopInstanceUid;
        if (result.quarantined) {
            entry["quarantined"] = true;
            entry["reason"] = result.reason;
        }
        if (result.pixelsCleaned) {
            entry["pixelsCleaned"] = true;
            json regions = json::array();
            for (const auto& region : result.blackedOut)
                regions.push_back(toJson(region));
            entry["blackedOut"] = regions;
        }
        if (!result.leaks.empty())
            entry["leaks"] = result.leaks;
        std::vector<int> refs; // action id, count, ...
        for (const auto& [action, count] : result.actions) {
            const auto [it, added] = actionIds_.try_emplace(action, int(actionIds_.size()));
            refs.push_back(it->second);
            refs.push_back(count);
        }
        if (refs != lastRefs_) {
            entry["actions"] = refs;
            lastRefs_ = std::move(refs);
        }
        return entry;
    }

    json body() const {
        json actions = json::array();
        std::vector<const deid::AttributeAction*> byId(actionIds_.size());
        for (const auto& [action, id] : actionIds_)
            byId[std::size_t(id)] = &action;
        for (const auto* action : byId)
            actions.push_back({action->tag, action->action, action->why});
        return {{"files", entries_}, {"actions", actions}};
    }

  private:
    void carry(json& entry, const char* key, const std::string& value) {
        std::string& last = last_[key];
        if (!sentAny_[key] || value != last) {
            entry[key] = value;
            last = value;
            sentAny_[key] = true;
        }
    }

    json entries_ = json::array();
    std::map<deid::AttributeAction, int> actionIds_;
    std::vector<int> lastRefs_;
    std::map<std::string, std::string> last_;
    std::map<std::string, bool> sentAny_;
};

// One file for a batch: the headers go into blob, the entry says how long they are.
json deidentifyOne(const std::string& path, const deid::Deidentifier& engine, bool record,
                   std::string& blob, BatchReply& batch) {
    if (const auto problem = imaging::dicomStructureProblem(path))
        return {{"refused", *problem}};
    gdcm::Reader reader;
    reader.SetFileName(path.c_str());
    if (!reader.Read())
        return {{"unreadable", true}};
    gdcm::File& file = reader.GetFile();
    const deid::FileResult result = engine.deidentify(file);
    json entry = batch.entryFor(result, textOf(file.GetDataSet(), 0x0008, 0x1030),
                                textOf(file.GetDataSet(), 0x0008, 0x103E));
    if (result.quarantined)
        return entry;
    file.GetDataSet().Remove(gdcm::Tag(0x7FE0, 0x0010));
    const auto header = appendHeader(file, blob);
    if (!header)
        return entry;
    entry["header"] = *header;
    if (record) {
        deid::recordDefacing(file.GetDataSet());
        if (const auto marked = appendHeader(file, blob))
            entry["headerWithDefacing"] = *marked;
    }
    return entry;
}

// Import, one series: every file de-identified in one request (a round trip per file would
// cost more than the work on a loaded machine); the count of files done is kept in memory the
// parent shares, so that a crash is blamed on the right file, and a progress note goes at most
// every 100 ms (each wakes the parent; the count is what blames).
void Decoder::deidentifyFiles(const json& request, const std::vector<UniqueFd>& fds) {
    const deid::Deidentifier& engine = engineFor(request);
    const bool record = request.value("defacingRecord", false);
    std::int32_t* shared = nullptr;
    if (!fds.empty()) {
        void* page =
            ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fds.front().get(), 0);
        if (page != MAP_FAILED)
            shared = static_cast<std::int32_t*>(page);
    }
    const auto files = request.at("files").get<std::vector<std::string>>();
    BatchReply batch;
    std::string blob;
    auto lastNote = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < files.size(); ++i) {
        try {
            batch.add(deidentifyOne(files[i], engine, record, blob, batch));
        } catch (const std::exception& problem) {
            batch.add({{"error", problem.what()}});
        }
        if (shared)
            __atomic_store_n(shared, std::int32_t(i + 1), __ATOMIC_RELEASE);
        const auto now = std::chrono::steady_clock::now();
        if (now - lastNote >= std::chrono::milliseconds(100) || i + 1 == files.size()) {
            lastNote = now;
            send(MessageKind::Progress, {{"fraction", double(i + 1) / double(files.size())}});
        }
    }
    if (shared)
        ::munmap(shared, 4096);
    std::vector<UniqueFd> out;
    out.push_back(memfdWithBytes("radmark-headers", blob.data(), blob.size()));
    send(MessageKind::Reply, batch.body(), std::move(out));
}

// Defaces the CT and MR series of one de-identified study folder in place and records it in the
// study's report. Throws DefacingError when the study must be quarantined.
void defaceStudyFolder(const fs::path& folder, const fs::path& report) {
    json entries = json::array();
    for (const auto& series : imaging::findSeries(folder)) {
        if (series.modality != "CT" && series.modality != "MR") {
            entries.push_back(
                {{"action", "not defaced: modality " + series.modality + " is not CT or MR"}});
            continue;
        }
        const auto defaced = deid::defaceDicomSeries(series);
        entries.push_back({{"action", "defaced"},
                           {"method", defaced.volume.method()},
                           {"files", defaced.files},
                           {"removedVoxels", defaced.changedPixels}});
    }
    json j;
    std::ifstream(report) >> j;
    j["defacing"] = entries;
    std::ofstream(report) << j.dump(2) << "\n";
}

// `deid`: the whole folder de-identification, written into the folder this process may write
// (its parent moves the results into place); with the deface option every study is defaced
// there too, or removed and marked quarantined.
json Decoder::deidentifyFolder(const json& request, const std::vector<UniqueFd>& fds) {
    const deid::Deidentifier& engine = engineFor(request);
    std::vector<fs::path> sources;
    for (const auto& s : request.at("sources"))
        sources.emplace_back(s.get<std::string>());
    const fs::path out = request.at("out").get<std::string>();
    // Files done go to a counter the parent shares (it names the file after them if this
    // process dies); a note on the channel only now and then, to keep the parent's clock from
    // running out: a message per file would wake the parent 500 times for a CT series.
    std::int32_t* shared = nullptr;
    if (!fds.empty()) {
        void* page =
            ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fds.front().get(), 0);
        if (page != MAP_FAILED)
            shared = static_cast<std::int32_t*>(page);
    }
    auto lastNote = std::chrono::steady_clock::now();
    deid::FolderOutcome outcome =
        deid::deidentifyIntoFolder(sources, out, engine, [&](int done, int total) {
            if (shared)
                __atomic_store_n(shared, done, __ATOMIC_RELEASE);
            const auto now = std::chrono::steady_clock::now();
            if (!shared || now - lastNote > std::chrono::seconds(1) || done == total) {
                lastNote = now;
                send(MessageKind::Progress, {{"done", done}, {"total", total}});
            }
        });
    if (shared)
        ::munmap(shared, 4096);
    if (deid_.options.deface) {
        std::vector<std::string> skip;
        if (request.contains("skipDefacing"))
            skip = request.at("skipDefacing").get<std::vector<std::string>>();
        for (auto& study : outcome.studies) {
            if (study.quarantined)
                continue;
            const fs::path folder = study.report.parent_path();
            try {
                // Named first, so that a crash while defacing is blamed on this study.
                send(MessageKind::Progress, {{"defacing", study.studyUid}});
                if (std::find(skip.begin(), skip.end(), study.studyUid) != skip.end())
                    throw deid::DefacingError(
                        "cannot deface: the decoder stopped while defacing this study");
                defaceStudyFolder(folder, study.report);
            } catch (const std::exception& refused) {
                const auto* defacing = dynamic_cast<const deid::DefacingError*>(&refused);
                study.quarantined = true;
                study.reasons = {defacing ? refused.what()
                                          : std::string("cannot deface: ") + refused.what()};
                outcome.filesWritten -= study.files;
                std::error_code ignored;
                fs::remove_all(folder, ignored);
            }
        }
    }
    return {{"outcome", toJson(outcome)}};
}

#ifdef RADMARK_DECODER_TEST_HOOKS
// Test builds only: misbehaviour on request, to prove the parent survives it and the filter
// holds. Each probe reports the errno it got (when the filter returns one instead of trapping).
json Decoder::runTestHook(const json& request) {
    const std::string action = request.at("action").get<std::string>();
    if (action == "segv") {
        volatile int* nowhere = nullptr;
        *nowhere = 1;
    } else if (action == "abort") {
        std::abort();
    } else if (action == "forge-next-mask") {
        forgeNextMask = true;
        return {{"result", 0}};
    } else if (action == "hang") {
        for (;;)
            ::pause();
    } else if (action == "spin") {
        for (;;)
            asm volatile("" ::: "memory");
    } else if (action == "oom") {
        std::vector<std::unique_ptr<char[]>> hog;
        for (;;) {
            hog.emplace_back(new char[64 << 20]);
            std::memset(hog.back().get(), 1, 64 << 20);
        }
    } else if (action == "library-abort-holding-lock") {
        // What an abort from glibc's heap checks is: it holds a lock every later allocation
        // needs. Only a process that dies of it goes on (a fresh child); a jump out of it hangs.
        static std::mutex arena;
        try {
            imaging::dicom::runAsLibraryCall(request.value("file", "x.dcm"), [] {
                arena.lock();
                std::abort();
            });
        } catch (const imaging::ReadError&) { // the guard jumped out: the lock stays taken
        }
        imaging::dicom::runAsLibraryCall(request.value("file", "x.dcm"),
                                         [] { std::lock_guard wait(arena); });
        return {{"result", 0}};
    } else if (action == "throw-string") {
        throw std::string("a library threw a string");
    } else if (action == "socket") {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        return {{"result", fd}, {"errno", errno}};
    } else if (action == "exec") {
        char* const argv[] = {const_cast<char*>("/bin/true"), nullptr};
        const int r = ::execve("/bin/true", argv, nullptr);
        return {{"result", r}, {"errno", errno}};
    } else if (action == "fork") {
        const long r = ::syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
        if (r == 0)
            ::_exit(0);
        return {{"result", r}, {"errno", errno}};
    } else if (action == "ptrace") {
        const long r = ::ptrace(PTRACE_ATTACH, ::getppid(), nullptr, nullptr);
        return {{"result", r}, {"errno", errno}};
    } else if (action == "kill-parent") {
        const int r = ::kill(::getppid(), 0);
        return {{"result", r}, {"errno", errno}};
    } else if (action == "open-write") {
        const std::string path = request.at("path").get<std::string>();
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        return {{"result", fd}, {"errno", errno}};
    } else if (action == "open-read") {
        const std::string path = request.at("path").get<std::string>();
        const int fd = ::open(path.c_str(), O_RDONLY);
        if (fd >= 0)
            ::close(fd);
        return {{"result", fd}, {"errno", errno}};
    } else if (action == "threads") {
        std::thread worker([] {});
        worker.join();
        return {{"result", 0}};
    }
    return {{"result", -1}, {"errno", EINVAL}};
}
#else
json Decoder::runTestHook(const json&) {
    throw std::runtime_error("this decoder was built without test hooks");
}
#endif

void Decoder::handle(const Message& request) {
    const std::string op = request.body.value("op", "");
    if (op == "scan")
        send(MessageKind::Reply, scan(request.body));
    else if (op == "list")
        send(MessageKind::Reply, listFiles(request.body.at("source").get<std::string>()));
    else if (op == "read")
        read(request.body, request.fds);
    else if (op == "read-mask")
        readMask(request.body);
    else if (op == "deidentify-file")
        deidentifyFile(request.body);
    else if (op == "deidentify-files")
        deidentifyFiles(request.body, request.fds);
    else if (op == "deidentify-folder")
        send(MessageKind::Reply, deidentifyFolder(request.body, request.fds));
    else if (op == "hold-files")
        send(MessageKind::Reply, holdFiles(request.body, request.fds));
    else if (op == "test")
        send(MessageKind::Reply, runTestHook(request.body));
    else
        throw std::runtime_error("unknown request '" + op + "'");
}

void sendFailure(const std::string& kind, const std::string& message,
                 const std::string& file = {}) {
    send(MessageKind::Failure, {{"failure", kind}, {"message", message}, {"file", file}});
}

// GDCM throws its failed checks as strings of several lines ("Assert: In FILE, line N, function
// F"): one line of it, for the one-line message.
std::string libraryFailure(std::string text) {
    const auto end = text.find_first_of("\r\n");
    if (end != std::string::npos)
        text.resize(end);
    if (text.size() > 160)
        text = text.substr(0, 160) + "...";
    return "the DICOM library failed a check (" + text + ")";
}

std::size_t argumentNumber(const std::string& text) {
    try {
        return std::stoull(text);
    } catch (const std::exception&) {
        return 0;
    }
}

// What the parent asks of one child: limits, the folder it may write (deid), OCR.
struct ChildSettings {
    std::size_t addressSpaceBytes = 0;
    int cpuSeconds = 0;
    fs::path writable;
    bool ocr = false;
};

ChildSettings childSettingsFrom(int argc, char** argv) {
    ChildSettings child;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string name = argv[i];
        if (name == "--memory-limit")
            child.addressSpaceBytes = argumentNumber(argv[i + 1]);
        else if (name == "--cpu-limit")
            child.cpuSeconds = int(argumentNumber(argv[i + 1]));
        else if (name == "--writable")
            child.writable = argv[i + 1];
        else if (name == "--ocr")
            child.ocr = std::string(argv[i + 1]) == "1";
    }
    return child;
}

// Libraries that read tables lazily do it now, before the filter and the limits (in a zygote,
// once for all its children).
void loadTables(bool ocr) {
    (void)deid::ConfidentialityProfile::standard();
    (void)deid::BurnedInTextRules::standard();
    if (ocr && !makeTextDetector)
        loadOcrModule();
}

// A child lives for one study, series or run: memory it frees is kept for the next file rather
// than given back. With glibc's defaults, a fresh process (nothing allocated above a file's
// buffers) trims its heap's top each time a file's buffers are freed and faults every page in
// again for the next file: `deid` of a 500-file CT took 39 000 page faults in the child against
// 4 000 in process, on a VM where a fault costs microseconds. Setting the trim threshold stops
// glibc's sliding mmap threshold, so that is set too: blocks up to 32 MiB come from the heap
// (a volume of 4 MiB or more is in shared memory instead, Volume::setLargeBufferSource).
void keepFreedMemory() {
    ::mallopt(M_MMAP_THRESHOLD, 32 << 20);
    ::mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

// One child: confines itself, says hello on fd 3 and answers requests until the parent closes
// the channel. Started by exec, or forked by a zygote (runZygote) with everything loaded.
int runChild(const ChildSettings& child) {
    keepFreedMemory();
    SandboxSettings settings;
    settings.channelFd = channel;
    settings.addressSpaceBytes = child.addressSpaceBytes;
    settings.cpuSeconds = child.cpuSeconds;
    // Confinement of writes first: a new user namespace needs a single-threaded process.
    std::string why;
    const bool writesConfined = confineWritesTo(child.writable, voxelFolder, why);
    settings.allowWrites = !child.writable.empty();
    settings.voxelFolderFd = voxelFolder;
    // Not in the caller's folder (a relative path must never reach her files). "/" always
    // exists: failing here means something is badly wrong, so the child does not start.
    if (::chdir("/") != 0)
        return 1;
    imaging::Volume::setLargeBufferSource(sharedVoxelBuffer);
    loadTables(child.ocr);
    // A library's abort() ends this process at once, whatever other threads hold (a jump out of
    // it, as the in-process guard does, can leave the abort or a malloc lock taken: a hang).
    // SIGABRT at its default: the kernel ends every thread, nothing of ours runs; the parent
    // reports the abort and names the file.
    imaging::dicom::abortsEndTheProcess();
    struct sigaction abortDefault {};
    abortDefault.sa_handler = SIG_DFL;
    sigemptyset(&abortDefault.sa_mask);
    ::sigaction(SIGABRT, &abortDefault, nullptr);

    seccomp::reportTrapsOn(channel); // {"sandbox": N}, then exit
    try {
        enterSandbox(settings);
    } catch (const std::exception& error) {
        sendFailure("sandbox-setup", error.what());
        return 2;
    }
    send(MessageKind::Reply,
         {{"hello", 1},
          {"writesConfined", writesConfined},
          {"confinementProblem", why},
          {"addressSpaceLimited", settings.addressSpaceBytes > 0 && !builtWithAddressSanitizer()}});
    Decoder decoder;
    for (;;) {
        Message request;
        try {
            receiveMessage(channel, request);
        } catch (const ChannelError&) {
            return 0; // the parent is gone or done
        }
        try {
            decoder.handle(request);
        } catch (const imaging::ReadError& error) {
            sendFailure("read", error.reason(), error.file().string());
        } catch (const deid::DefacingError& error) {
            sendFailure("defacing", error.what());
        } catch (const std::bad_alloc&) {
            sendFailure("memory", "not enough memory");
        } catch (const ChannelError&) {
            return 0;
        } catch (const std::exception& error) {
            sendFailure("error", error.what());
        } catch (const std::string& thrown) {
            sendFailure("error", libraryFailure(thrown));
        } catch (const char* thrown) {
            sendFailure("error", libraryFailure(thrown ? thrown : ""));
        } catch (...) {
            sendFailure("error", "a library failed with an unknown exception");
        }
    }
}

// -- The zygote ---------------------------------------------------------------------------
// `radmark-decoder --zygote`: started once by a parent (exec, cleaned environment, fd 3 its
// channel, like a child), it loads the libraries and tables and then only forks: a child per
// request, which confines itself as an exec'd one does. A child so starts in a millisecond or
// two instead of the tens that exec, dynamic linking and GDCM's dictionaries cost. The zygote
// never reads a file and runs no request itself; it reaps its children and writes each one's
// wait status to the pipe it gave the parent with the child, so the parent learns how a child
// died although the child is not its own.

struct ForkedChild {
    UniqueFd status; // write end: the wait status, once reaped
};

// A pidfd of a child not yet reaped names that process only, never a later one with its pid.
UniqueFd pidfdOf(pid_t pid) {
    return UniqueFd(int(::syscall(SYS_pidfd_open, pid, 0)));
}

void reapChildren(std::map<pid_t, ForkedChild>& children) {
    for (;;) {
        int status = 0;
        const pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid <= 0)
            return;
        const auto it = children.find(pid);
        if (it == children.end())
            continue;
        [[maybe_unused]] const auto written =
            ::write(it->second.status.get(), &status, sizeof status);
        children.erase(it);
    }
}

int runZygote(bool ocr) {
    ::prctl(PR_SET_DUMPABLE, 0);
    const rlimit noCore{0, 0};
    ::setrlimit(RLIMIT_CORE, &noCore);
    if (::chdir("/") != 0) // as in runChild
        return 1;
    loadTables(ocr); // OCR when the parent will de-identify (DecoderUse::Deidentify)
    sigset_t childExits;
    sigemptyset(&childExits);
    sigaddset(&childExits, SIGCHLD);
    ::sigprocmask(SIG_BLOCK, &childExits, nullptr);
    const UniqueFd exits(::signalfd(-1, &childExits, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!exits)
        return 2;
    const pid_t zygote = ::getpid();
    std::map<pid_t, ForkedChild> children;
    send(MessageKind::Reply, {{"zygote", 1}});
    for (;;) {
        pollfd watched[2] = {{channel, POLLIN, 0}, {exits.get(), POLLIN, 0}};
        if (::poll(watched, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return 1;
        }
        if (watched[1].revents & POLLIN) {
            signalfd_siginfo info;
            while (::read(exits.get(), &info, sizeof info) == ssize_t(sizeof info)) {
            }
            reapChildren(children);
        }
        if (!(watched[0].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        Message request;
        try {
            if (!receiveMessage(channel, request, 0))
                continue;
        } catch (const ChannelError&) {
            return 0; // the parent is gone: so are the children (PR_SET_PDEATHSIG)
        }
        if (request.body.value("op", "") != "fork" || request.fds.size() != 1) {
            send(MessageKind::Failure, {{"failure", "error"}, {"message", "not a fork request"}});
            continue;
        }
        ChildSettings child;
        child.addressSpaceBytes = request.body.value("memoryLimit", std::size_t(0));
        child.cpuSeconds = request.body.value("cpuLimit", 0);
        child.writable = request.body.value("writable", "");
        child.ocr = request.body.value("ocr", false);
        if (child.ocr && !makeTextDetector)
            loadOcrModule(); // here, once: every later child has it
        int status[2];
        if (::pipe2(status, O_CLOEXEC) != 0) {
            send(MessageKind::Failure, {{"failure", "error"}, {"message", "no pipe"}});
            continue;
        }
        UniqueFd statusRead(status[0]), statusWrite(status[1]);
        const pid_t pid = ::fork();
        if (pid == 0) {
            // The child: its own socket becomes fd 3 and nothing else of the zygote stays open.
            // It never returns into this loop (no destructor may close a reused descriptor).
            ::sigprocmask(SIG_UNBLOCK, &childExits, nullptr);
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != zygote || ::dup2(request.fds.front().get(), channel) < 0)
                ::_exit(127);
            ::syscall(SYS_close_range, channel + 1, ~0U, 0);
            try {
                ::_exit(runChild(child));
            } catch (...) {
                ::_exit(2);
            }
        }
        if (pid < 0) {
            send(MessageKind::Failure, {{"failure", "error"}, {"message", std::strerror(errno)}});
            continue;
        }
        std::vector<UniqueFd> handles;
        handles.push_back(std::move(statusRead));
        if (UniqueFd pidfd = pidfdOf(pid))
            handles.push_back(std::move(pidfd));
        children[pid] = ForkedChild{std::move(statusWrite)};
        send(MessageKind::Reply, {{"pid", pid}}, std::move(handles));
    }
}

int run(int argc, char** argv) {
    // Started by hand (no supervisor, so no socket at fd 3): one line, not an abort.
    struct stat channelStat {};
    if (::fstat(channel, &channelStat) != 0 || !S_ISSOCK(channelStat.st_mode)) {
        std::fputs("radmark-decoder: this is Radmark's isolated decoder, started by radmark and "
                   "radmark-cli (docs/isolation.md); it is not run by hand\n",
                   stderr);
        return 2;
    }
    if (argc >= 2 && std::string(argv[1]) == "--zygote")
        return runZygote(childSettingsFrom(argc - 1, argv + 1).ocr);
    return runChild(childSettingsFrom(argc, argv));
}

} // namespace
} // namespace radmark::decoder

int main(int argc, char** argv) {
    return radmark::decoder::run(argc, argv);
}
