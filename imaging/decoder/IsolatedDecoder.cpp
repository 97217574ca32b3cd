#include "imaging/decoder/IsolatedDecoder.h"

#include "imaging/decoder/Protocol.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <set>

namespace radmark::decoder {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The cancel flag of a caller's progress: the child is ended and the read reports "cancelled".
struct Cancelled {};

// A path as the child must get it: it works from "/" (its working folder is not the caller's).
std::string forChild(const fs::path& path) {
    std::error_code error;
    const fs::path absolute = fs::absolute(path, error);
    return (error ? path : absolute).string();
}

// A file the child named (always absolute) as the caller gave it: relative when subject is.
fs::path asGiven(const fs::path& file, const fs::path& subject) {
    if (file.empty() || subject.empty() || subject.is_absolute())
        return file;
    std::error_code error;
    const fs::path absolute = fs::absolute(subject, error);
    if (error)
        return file;
    if (file == absolute)
        return subject;
    const fs::path inside = file.lexically_relative(absolute);
    if (inside.empty() || *inside.begin() == "..")
        return file;
    return subject / inside;
}

json seriesForChild(const imaging::SeriesSummary& series) {
    json j = toJson(series);
    for (auto& file : j.at("files"))
        file = forChild(file.get<std::string>());
    return j;
}

// What a message about a series names: its one file, or the folder of its files.
fs::path folderOf(const imaging::SeriesSummary& series) {
    if (series.files.size() == 1)
        return series.files.front();
    return series.files.empty() ? fs::path(series.key) : series.files.front().parent_path();
}

} // namespace

IsolatedDecoder::IsolatedDecoder(DecoderSettings settings) : process_(std::move(settings)) {}

namespace {
constexpr int firstHeldFd = 1000; // above what the child's libraries open
} // namespace

std::vector<fs::path> IsolatedDecoder::holdFiles(std::vector<UniqueFd> sealedMemfds) {
    for (const auto& fd : sealedMemfds)
        if (!isSealed(fd.get()))
            throw ChannelError("a held file must be a sealed memfd");
    held_ = std::move(sealedMemfds);
    heldBy_ = -1;
    std::vector<fs::path> paths;
    for (std::size_t i = 0; i < held_.size(); ++i)
        paths.push_back("/proc/self/fd/" + std::to_string(firstHeldFd + int(i)));
    return paths;
}

namespace {
// The index in held_ of a path holdFiles returned, or -1.
int heldIndexOf(const fs::path& file, std::size_t heldCount) {
    const std::string prefix = "/proc/self/fd/";
    const std::string path = file.string();
    if (path.rfind(prefix, 0) != 0 || path.size() == prefix.size() ||
        path.size() > prefix.size() + 9)
        return -1;
    int number = 0;
    for (std::size_t i = prefix.size(); i < path.size(); ++i) {
        if (path[i] < '0' || path[i] > '9')
            return -1;
        number = number * 10 + (path[i] - '0');
    }
    const int index = number - firstHeldFd;
    return index >= 0 && std::size_t(index) < heldCount ? index : -1;
}
} // namespace

void IsolatedDecoder::releaseHeldFiles(const std::vector<fs::path>& files) {
    for (const auto& file : files)
        if (const int index = heldIndexOf(file, held_.size()); index >= 0)
            held_[std::size_t(index)] = UniqueFd();
}

std::size_t IsolatedDecoder::heldFileCount() const {
    return std::size_t(
        std::count_if(held_.begin(), held_.end(), [](const UniqueFd& fd) { return bool(fd); }));
}

void IsolatedDecoder::giveHeldFiles() {
    if (held_.empty() || (process_.running() && process_.pid() == heldBy_))
        return;
    heldBy_ = -1;
    std::vector<UniqueFd> fds;
    json numbers = json::array();
    const auto send = [&] {
        process_.call({{"op", "hold-files"}, {"numbers", numbers}}, {}, std::move(fds));
        fds.clear();
        numbers = json::array();
    };
    for (std::size_t i = 0; i < held_.size(); ++i) {
        if (!held_[i])
            continue; // released: no child needs it again
        UniqueFd copy(::fcntl(held_[i].get(), F_DUPFD_CLOEXEC, 0));
        if (!copy)
            throw ChannelError("a held file could not be passed on");
        fds.push_back(std::move(copy));
        numbers.push_back(firstHeldFd + int(i));
        if (fds.size() == maxFdsPerMessage)
            send();
    }
    if (!fds.empty())
        send();
    heldBy_ = process_.pid();
}

std::vector<imaging::SeriesSummary>
IsolatedDecoder::findSeriesOfFiles(const std::vector<fs::path>& files,
                                   const imaging::Progress& progress,
                                   std::vector<imaging::ReadError>* crashed) {
    json names = json::array();
    for (const auto& file : files)
        names.push_back(forChild(file));
    json reply;
    try {
        reply = call({{"op", "scan"}, {"files", names}}, progress, {});
    } catch (const DecoderFailure& failure) {
        const std::string why = std::string(failure.what()) + " while reading the headers";
        if (!crashed || !failure.processEnded())
            throw imaging::ReadError({}, why);
        // Each header alone, in a child that lives until a file ends it; then the others together.
        json safe = json::array();
        for (const auto& file : files) {
            try {
                call({{"op", "scan"}, {"files", json::array({forChild(file)})}}, {}, file);
                safe.push_back(forChild(file));
            } catch (const imaging::ReadError&) {
                safe.push_back(forChild(file)); // unreadable but harmless: the scan skips it
            } catch (const DecoderFailure& alone) {
                if (!alone.processEnded()) {
                    safe.push_back(forChild(file));
                    continue;
                }
                crashed->emplace_back(file,
                                      std::string(alone.what()) + " while reading its header");
            }
        }
        if (crashed->empty()) // it did not happen again file by file
            throw imaging::ReadError({}, why);
        try {
            reply = call({{"op", "scan"}, {"files", safe}}, progress, {});
        } catch (const DecoderFailure& again) {
            throw imaging::ReadError({}, std::string(again.what()) + " while reading the headers");
        }
    }
    std::vector<imaging::SeriesSummary> series;
    for (const auto& s : reply.at("series"))
        series.push_back(seriesFromJson(s));
    scanner_ = process_.pid();
    return series;
}

json IsolatedDecoder::call(const json& request, const imaging::Progress& progress,
                           const fs::path& subject, Message* full, std::vector<UniqueFd> fds) {
    try {
        giveHeldFiles();
        Message reply = process_.call(
            request,
            [&](const json& note) {
                if (progress && note.contains("fraction") && !progress(note.value("fraction", 0.0)))
                    throw Cancelled{};
            },
            std::move(fds));
        if (!full)
            return std::move(reply.body);
        *full = std::move(reply);
        return full->body;
    } catch (const Cancelled&) {
        process_.stop();
        throw imaging::ReadError(subject, "cancelled");
    } catch (const DecoderFailure&) {
        throw;
    } catch (const imaging::ReadError& refused) {
        // the child refused cleanly: it is still in step
        throw imaging::ReadError(asGiven(refused.file(), subject), refused.reason());
    } catch (...) {
        // The caller's progress threw mid-request: the child's answer would come unasked.
        process_.stop();
        throw;
    }
}

std::vector<DeidentifiedFile>
IsolatedDecoder::deidentifyFiles(const std::vector<fs::path>& files,
                                 const DeidentificationSettings& settings,
                                 const imaging::Progress& progress) {
    if (settings.ocr && !process_.ocr())
        process_.setOcr(true);
    std::vector<DeidentifiedFile> out(files.size());
    std::vector<std::size_t> pending(files.size());
    for (std::size_t i = 0; i < files.size(); ++i)
        pending[i] = i;
    while (!pending.empty()) {
        UniqueFd counterFd = createMemfd("radmark-files-done", 4096);
        void* page = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, counterFd.get(), 0);
        if (page == MAP_FAILED)
            throw std::runtime_error("cannot share the progress counter with the decoder");
        struct Unmap {
            void* page;
            ~Unmap() { ::munmap(page, 4096); }
        } unmap{page};
        json names = json::array();
        for (std::size_t i : pending)
            names.push_back(forChild(files[i]));
        std::vector<UniqueFd> fds;
        fds.push_back(std::move(counterFd));
        Message reply;
        try {
            call({{"op", "deidentify-files"},
                  {"files", names},
                  {"secret", toJson(settings.secret)},
                  {"options", toJson(settings.options)},
                  {"ocr", settings.ocr},
                  {"defacingRecord", settings.options.deface}},
                 progress, files[pending.front()].parent_path(), &reply, std::move(fds));
        } catch (const DecoderFailure& failure) {
            if (!failure.processEnded())
                throw imaging::ReadError(files[pending.front()].parent_path(), failure.what());
            const auto done = std::size_t(std::max(
                0, __atomic_load_n(static_cast<const std::int32_t*>(page), __ATOMIC_ACQUIRE)));
            const std::size_t culprit = std::min(done, pending.size() - 1);
            DeidentifiedFile& dead = out[pending[culprit]];
            dead.readable = true;
            dead.failure = std::string(failure.what()) + " while de-identifying it";
            pending.erase(pending.begin() + std::ptrdiff_t(culprit));
            continue;
        }
        const json& entries = reply.body.at("files");
        if (entries.size() != pending.size() || reply.fds.size() != 1)
            throw ChannelError("the decoder answered for other files than it was given");
        const std::string blob = readSealedMemfd(reply.fds.front().get());
        std::vector<deid::AttributeAction> actions;
        for (const auto& a : reply.body.at("actions"))
            actions.push_back({a.at(0).get<std::uint32_t>(), a.at(1).get<std::string>(),
                               a.at(2).get<std::string>()});
        // The headers follow each other in the blob; an entry gives only their lengths.
        std::size_t offset = 0;
        const auto slice = [&](const json& length) -> std::optional<std::string> {
            const auto bytes = length.get<std::size_t>();
            if (bytes > blob.size() - offset)
                throw ChannelError("the decoder sent a header outside its data");
            std::string header = blob.substr(offset, bytes);
            offset += bytes;
            return header;
        };
        // What an entry leaves out is as in the entry before it (see BatchReply in the child).
        std::map<std::string, std::string> carried;
        json actionRefs = json::array();
        const auto carriedValue = [&](const json& e, const char* key) -> const std::string& {
            if (e.contains(key))
                carried[key] = e.at(key).get<std::string>();
            return carried[key];
        };
        for (std::size_t k = 0; k < pending.size(); ++k) {
            const json& e = entries[k];
            DeidentifiedFile& file = out[pending[k]];
            file.readable = !e.value("unreadable", false);
            if (e.contains("error"))
                file.failure = "de-identification failed (" + e.value("error", "") + ")";
            if (e.contains("refused"))
                file.failure = e.value("refused", "");
            if (!file.readable || !file.failure.empty())
                continue;
            deid::FileResult& result = file.result;
            result.studyUid = carriedValue(e, "study");
            result.seriesUid = carriedValue(e, "series");
            result.patientPseudonym = carriedValue(e, "pseudonym");
            result.modality = carriedValue(e, "modality");
            file.studyDescription = carriedValue(e, "studyDescription");
            file.seriesDescription = carriedValue(e, "seriesDescription");
            result.sopInstanceUid = e.at("sop").get<std::string>();
            result.quarantined = e.value("quarantined", false);
            result.reason = e.value("reason", "");
            result.pixelsCleaned = e.value("pixelsCleaned", false);
            if (e.contains("blackedOut"))
                for (const auto& region : e.at("blackedOut"))
                    result.blackedOut.push_back(regionFromJson(region));
            if (e.contains("leaks"))
                result.leaks = e.at("leaks").get<std::vector<std::string>>();
            if (e.contains("actions"))
                actionRefs = e.at("actions");
            if (actionRefs.size() % 2 != 0)
                throw ChannelError("the decoder sent a broken list of actions");
            for (std::size_t r = 0; r < actionRefs.size(); r += 2) {
                const auto id = actionRefs[r].get<std::size_t>();
                if (id >= actions.size())
                    throw ChannelError("the decoder referred to an action it did not send");
                result.actions[actions[id]] = actionRefs[r + 1].get<int>();
            }
            if (e.contains("header"))
                file.header = slice(e.at("header"));
            if (e.contains("headerWithDefacing"))
                file.headerWithDefacing = slice(e.at("headerWithDefacing"));
        }
        pending.clear();
    }
    return out;
}

std::vector<imaging::SeriesSummary>
IsolatedDecoder::findSeries(const fs::path& source, const imaging::Progress& progress,
                            std::vector<imaging::ReadError>* crashed) {
    json reply;
    try {
        reply = call({{"op", "scan"}, {"source", forChild(source)}}, progress, source);
    } catch (const DecoderFailure& failure) {
        if (!failure.processEnded())
            throw imaging::ReadError(source, failure.what());
        std::error_code error;
        if (!fs::is_directory(source, error))
            throw imaging::ReadError(source,
                                     std::string(failure.what()) + " while reading its header");
        return scanFileByFile(source, failure.what(), crashed);
    }
    std::vector<imaging::SeriesSummary> series;
    for (const auto& s : reply.at("series"))
        series.push_back(seriesFromJson(s));
    scanner_ = process_.pid();
    return series;
}

std::vector<imaging::SeriesSummary>
IsolatedDecoder::scanFileByFile(const fs::path& source, const std::string& cause,
                                std::vector<imaging::ReadError>* crashedOut) {
    std::vector<std::string> files;
    try {
        files = call({{"op", "list"}, {"source", forChild(source)}}, {}, source)
                    .at("files")
                    .get<std::vector<std::string>>();
    } catch (const DecoderFailure&) {
        throw imaging::ReadError(source, cause + " while reading it");
    }
    std::vector<std::string> safe, crashed;
    std::vector<imaging::ReadError> crashedFiles;
    for (const auto& file : files) {
        try {
            call({{"op", "scan"}, {"source", file}}, {}, file);
            safe.push_back(file);
        } catch (const imaging::ReadError&) {
            safe.push_back(file); // unreadable but harmless: the scan below skips it and says so
        } catch (const DecoderFailure& failure) {
            if (failure.processEnded()) {
                crashed.push_back(fs::path(file).filename().string() + ": " + failure.what() +
                                  " while reading its header");
                crashedFiles.emplace_back(file, std::string(failure.what()) +
                                                    " while reading its header");
            } else
                safe.push_back(file);
        }
    }
    if (crashed.empty()) // it did not happen again file by file: say what happened once
        throw imaging::ReadError(source, cause + " while reading its files");
    std::vector<imaging::SeriesSummary> series;
    if (!safe.empty()) {
        try {
            const json reply = call({{"op", "scan"}, {"files", safe}}, {}, source);
            for (const auto& s : reply.at("series"))
                series.push_back(seriesFromJson(s));
        } catch (const imaging::ReadError&) {
        } catch (const DecoderFailure&) {
        }
    }
    if (series.empty())
        throw imaging::ReadError(
            source, crashed.size() == 1
                        ? crashed.front()
                        : "holds no readable images (" + std::to_string(crashed.size()) +
                              " files crashed the decoder; first: " + crashed.front() + ")");
    if (crashedOut) {
        crashedOut->insert(crashedOut->end(), crashedFiles.begin(), crashedFiles.end());
        return series;
    }
    for (auto& s : series)
        for (const auto& line : crashed)
            s.warnings.push_back(line);
    return series;
}

imaging::Volume IsolatedDecoder::volumeFrom(Message& reply, imaging::ReadReport* report) {
    const json& body = reply.body;
    const imaging::Geometry geometry = geometryFromJson(body.at("geometry"));
    const imaging::PixelType type = pixelTypeFromName(body.at("pixelType").get<std::string>());
    if (reply.fds.size() != 1)
        throw ChannelError("the decoder sent a volume without its voxels");
    const std::size_t bytes = geometry.voxelCount() * imaging::bytesPerVoxel(type);
    const int fd = reply.fds.front().get();
    std::shared_ptr<std::byte[]> voxels;
    if (isSealed(fd)) {
        voxels = mapSealedMemfd(fd, bytes);
    } else {
        // Voxels on the child's private huge-page tmpfs (unsealable): the child is ended first,
        // so that this process holds the file's only reference and nothing can change it.
        process_.stop();
        voxels = mapOrphanedTmpfsFile(fd, bytes);
    }
    imaging::Volume volume = imaging::Volume::adopt(geometry, type, std::move(voxels));
    volume.modality = body.value("modality", "");
    volume.seriesDescription = body.value("seriesDescription", "");
    volume.sourceFormat = body.value("sourceFormat", "");
    if (report)
        for (const auto& w : body.at("warnings"))
            report->warnings.push_back(w.get<std::string>());
    return volume;
}

void IsolatedDecoder::throwIfItKillsAChild(const imaging::SeriesSummary& series,
                                           const fs::path& file) {
    imaging::SeriesSummary one;
    one.key = file.string();
    one.format = series.format;
    one.imageCount = 1;
    one.files = {file};
    try {
        call({{"op", "read"}, {"series", seriesForChild(one)}}, {}, file);
    } catch (const DecoderFailure& alone) {
        if (alone.processEnded())
            throw imaging::ReadError(file,
                                     std::string(alone.what()) + " while decoding pixel data");
    } catch (const imaging::ReadError&) {
    }
}

imaging::Volume IsolatedDecoder::readSeries(const imaging::SeriesSummary& series,
                                            const imaging::Progress& progress,
                                            imaging::ReadReport* report) {
    Message reply;
    try {
        // The child that scanned kept the layout: it is sent only to a child that did not.
        json request = {{"op", "read"}, {"series", seriesForChild(series)}};
        if (process_.running() && process_.pid() == scanner_)
            request["series"].erase("layout");
        call(request, progress, folderOf(series), &reply);
        return volumeFrom(reply, report);
    } catch (const ChannelError& broken) {
        process_.stop();
        throw imaging::ReadError(folderOf(series),
                                 std::string("the decoder sent a broken reply (") + broken.what() +
                                     ")");
    } catch (const DecoderFailure& failure) {
        if (!failure.processEnded())
            throw imaging::ReadError(folderOf(series), failure.what());
        if (series.files.size() <= 1)
            throw imaging::ReadError(series.files.empty() ? fs::path(series.key)
                                                          : series.files.front(),
                                     std::string(failure.what()) + " while decoding pixel data");
        // Find the file responsible: each decoded alone (a child is reused until it dies).
        for (const auto& file : series.files)
            throwIfItKillsAChild(series, file);
        throw imaging::ReadError(folderOf(series),
                                 std::string(failure.what()) + " while decoding pixel data");
    }
}

imaging::Volume IsolatedDecoder::readSeriesReleasing(const imaging::SeriesSummary& series,
                                                     const imaging::Progress& progress,
                                                     imaging::ReadReport* report) {
    const std::size_t count = series.files.size();
    if (count == 0)
        return readSeries(series, progress, report);
    // One byte per file, shared with the child: 1 while its pixels are decoded, 2 once they are
    // in the volume and the child has closed its copy.
    UniqueFd stagesFd = createMemfd("radmark-files-decoded", count);
    void* shared = ::mmap(nullptr, count, PROT_READ | PROT_WRITE, MAP_SHARED, stagesFd.get(), 0);
    if (shared == MAP_FAILED)
        throw std::runtime_error("cannot share the decoding stages with the decoder");
    struct Unmap {
        void* page;
        std::size_t bytes;
        ~Unmap() { ::munmap(page, bytes); }
    } unmap{shared, count};
    const auto* stages = static_cast<const std::uint8_t*>(shared);
    const auto stageOf = [&](std::size_t i) {
        return __atomic_load_n(stages + i, __ATOMIC_ACQUIRE);
    };
    const auto releaseDecoded = [&] {
        std::vector<fs::path> done;
        for (std::size_t i = 0; i < count; ++i)
            if (stageOf(i) == 2)
                done.push_back(series.files[i]);
        releaseHeldFiles(done);
    };
    Message reply;
    try {
        json request = {{"op", "read"}, {"series", seriesForChild(series)}, {"release", true}};
        if (process_.running() && process_.pid() == scanner_)
            request["series"].erase("layout");
        std::vector<UniqueFd> fds;
        fds.push_back(std::move(stagesFd));
        call(
            request,
            [&](double fraction) {
                releaseDecoded(); // each note: the instances finished since the last one
                return !progress || progress(fraction);
            },
            folderOf(series), &reply, std::move(fds));
        releaseDecoded();
        return volumeFrom(reply, report);
    } catch (const ChannelError& broken) {
        process_.stop();
        releaseDecoded();
        throw imaging::ReadError(folderOf(series),
                                 std::string("the decoder sent a broken reply (") + broken.what() +
                                     ")");
    } catch (const DecoderFailure& failure) {
        releaseDecoded();
        if (!failure.processEnded())
            throw imaging::ReadError(folderOf(series), failure.what());
        // The file it died on is among those started and not finished (one per decoding thread):
        // each alone in a fresh child, which gets only the files not yet released.
        for (std::size_t i = 0; i < count; ++i) {
            if (stageOf(i) != 1)
                continue;
            throwIfItKillsAChild(series, series.files[i]);
        }
        throw imaging::ReadError(count == 1 ? series.files.front() : folderOf(series),
                                 std::string(failure.what()) + " while decoding pixel data");
    }
}

imaging::Volume IsolatedDecoder::readVolume(const fs::path& source,
                                            const imaging::Progress& progress,
                                            imaging::ReadReport* report) {
    auto series = findSeries(source, progress);
    if (series.size() != 1) {
        std::string list;
        for (const auto& s : series)
            list += "\n  " + s.key + " (" + s.modality + ", " + std::to_string(s.imageCount) +
                    " images)";
        throw imaging::ReadError(source, "holds " + std::to_string(series.size()) +
                                             " series; choose one:" + list);
    }
    if (report)
        report->warnings.insert(report->warnings.end(), series.front().warnings.begin(),
                                series.front().warnings.end());
    return readSeries(series.front(), progress, report);
}

DecodedMask IsolatedDecoder::readMask(const fs::path& file, const imaging::Progress& progress) {
    Message reply;
    try {
        call({{"op", "read-mask"}, {"file", forChild(file)}}, progress, file, &reply);
        DecodedMask mask;
        if (reply.body.value("kind", "") != "segmentation") {
            mask.volume = volumeFrom(reply, nullptr);
            return mask;
        }
        imaging::DicomSegmentation seg = segmentationFromJson(reply.body);
        if (reply.fds.size() != 1)
            throw ChannelError("the decoder sent a segmentation without its frames");
        // Sealed and of the size its frames need, so pixel() never reads past the bits.
        const std::size_t bytes = packedBitsBytes(seg);
        const auto bits = mapSealedMemfd(reply.fds.front().get(), bytes);
        const auto* first = reinterpret_cast<const std::uint8_t*>(bits.get());
        seg.packedBits.assign(first, first + bytes);
        mask.segmentation = std::move(seg);
        return mask;
    } catch (const ChannelError& broken) {
        process_.stop();
        throw imaging::ReadError(file, std::string("the decoder sent a broken reply (") +
                                           broken.what() + ")");
    } catch (const DecoderFailure& failure) {
        throw imaging::ReadError(file, failure.processEnded()
                                           ? std::string(failure.what()) + " while reading it"
                                           : std::string(failure.what()));
    }
}

DeidentifiedFile IsolatedDecoder::deidentifyFile(const fs::path& file,
                                                 const DeidentificationSettings& settings) {
    if (settings.ocr && !process_.ocr())
        process_.setOcr(true);
    Message reply;
    try {
        call({{"op", "deidentify-file"},
              {"file", forChild(file)},
              {"secret", toJson(settings.secret)},
              {"options", toJson(settings.options)},
              {"ocr", settings.ocr},
              {"defacingRecord", settings.options.deface}},
             {}, file, &reply);
    } catch (const DecoderFailure& failure) {
        throw imaging::ReadError(file,
                                 std::string(failure.what()) +
                                     (failure.processEnded() ? " while de-identifying it" : ""));
    }
    DeidentifiedFile out;
    out.readable = reply.body.value("readable", false);
    out.failure = reply.body.value("refused", "");
    if (!out.readable || !out.failure.empty())
        return out;
    out.result = fileResultFromJson(reply.body.at("result"));
    out.studyDescription = reply.body.value("studyDescription", "");
    out.seriesDescription = reply.body.value("seriesDescription", "");
    if (reply.body.value("header", false) && !reply.fds.empty()) {
        out.header = readSealedMemfd(reply.fds.front().get());
        if (reply.fds.size() > 1)
            out.headerWithDefacing = readSealedMemfd(reply.fds[1].get());
    }
    return out;
}

namespace {

constexpr const char* stagingPrefix = ".radmark-decoder-";

// A name the de-identifier writes: UID characters, report and instance names. Nothing else
// (no separators, no "." or "..", no control characters) is moved out of the staging folder.
bool plainName(const std::string& name) {
    if (name.empty() || name == "." || name == ".." || name.size() > 128)
        return false;
    return std::all_of(name.begin(), name.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '.' || c == '-' || c == '_';
    });
}

// Creates folder and the missing folders above it, owner-only; refuses to pass through a link.
bool makeOwnerFolders(const fs::path& root, const fs::path& relative) {
    fs::path at = root;
    for (const auto& part : relative) {
        at /= part;
        struct stat st {};
        if (::lstat(at.c_str(), &st) == 0) {
            if (!S_ISDIR(st.st_mode))
                return false;
            continue;
        }
        if (::mkdir(at.c_str(), 0700) != 0)
            return false;
    }
    return true;
}

// Moves the regular files the child wrote under `from` to the same place under `to`. Anything
// else (a link, a device, an odd name) was not written by our code: it is refused and counted.
void moveWrittenFiles(const fs::path& from, const fs::path& to,
                      std::vector<std::string>& failures) {
    int refused = 0;
    std::error_code error;
    // Folders of `to` made or checked already: a series' 500 files need their folders once (the
    // child can write only in its staging folder, so nothing it does changes them meanwhile).
    std::set<fs::path> made;
    for (auto it = fs::recursive_directory_iterator(from, error);
         !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
        // The entry's type as the listing gave it (no stat per file): a link is never followed.
        const bool link = it->is_symlink(error);
        if (!link && it->is_directory(error))
            continue;
        const fs::path relative = it->path().lexically_relative(from);
        bool plain = !link && it->is_regular_file(error) && !relative.empty();
        for (const auto& part : relative)
            plain = plain && plainName(part.string());
        const fs::path folder = relative.parent_path();
        if (!plain || (!made.count(folder) && !makeOwnerFolders(to, folder))) {
            ++refused;
            continue;
        }
        made.insert(folder);
        const fs::path target = to / relative;
        std::error_code moved;
        fs::rename(it->path(), target, moved);
        if (moved)
            failures.push_back(target.string() + ": could not be moved into place (" +
                               moved.message() + ")");
    }
    if (refused)
        failures.push_back(std::to_string(refused) +
                           " item(s) the decoder left were refused (not regular files with the "
                           "names the de-identifier gives)");
}

fs::path remapped(const fs::path& path, const fs::path& from, const fs::path& to) {
    if (path.empty())
        return path;
    std::error_code error;
    const fs::path relative = fs::relative(path, from, error);
    return error ? path : to / relative;
}

} // namespace

int sweepDecoderStaging(const fs::path& outputFolder) {
    int removed = 0;
    std::error_code error;
    if (!fs::is_directory(outputFolder, error))
        return 0;
    for (const auto& entry : fs::directory_iterator(outputFolder, error)) {
        if (entry.path().filename().string().rfind(stagingPrefix, 0) == 0 &&
            entry.is_directory(error) && !entry.is_symlink(error)) {
            fs::remove_all(entry.path(), error);
            ++removed;
        }
    }
    return removed;
}

IsolatedFolderOutcome deidentifyIntoFolder(const std::vector<fs::path>& sources,
                                           const fs::path& outputFolder,
                                           const DeidentificationSettings& settings,
                                           const std::function<void(int, int)>& progress,
                                           DecoderSettings decoderSettings) {
    std::error_code error;
    if (fs::is_symlink(outputFolder, error))
        throw std::runtime_error("the output folder " + outputFolder.string() +
                                 " is a symbolic link: give the folder it points to");
    if (!fs::exists(outputFolder, error)) {
        fs::create_directories(outputFolder, error);
        if (!error) // owner-only, as everything written into it
            fs::permissions(outputFolder, fs::perms::owner_all, error);
        if (error)
            throw std::runtime_error("cannot create the output folder " + outputFolder.string() +
                                     ": " + error.message());
    }
    std::string pattern = (outputFolder / (std::string(stagingPrefix) + "XXXXXX")).string();
    if (!::mkdtemp(pattern.data()))
        throw std::runtime_error("cannot create a staging folder in " + outputFolder.string());
    const fs::path staging = pattern;
    struct RemoveStaging {
        fs::path path;
        ~RemoveStaging() {
            std::error_code ignored;
            fs::remove_all(path, ignored);
        }
    } removeStaging{staging};

    decoderSettings.writableFolder = staging;
    decoderSettings.ocr = settings.ocr;
    IsolatedFolderOutcome result;
    std::vector<fs::path> remaining = sources;
    std::vector<std::string> crashed, skipDefacing;
    for (int attempt = 0;; ++attempt) {
        const fs::path run = staging / ("run-" + std::to_string(attempt));
        fs::create_directories(run, error);
        json request = {{"op", "deidentify-folder"},
                        {"out", forChild(run)},
                        {"secret", toJson(settings.secret)},
                        {"options", toJson(settings.options)},
                        {"ocr", settings.ocr},
                        {"skipDefacing", skipDefacing}};
        for (const auto& s : remaining)
            request["sources"].push_back(forChild(s));
        DecoderProcess child(decoderSettings);
        // The child counts the files it finished here (shared memory), so that a crash is
        // blamed on the right file without a message per file.
        UniqueFd counterFd = createMemfd("radmark-files-done", 4096);
        void* page = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, counterFd.get(), 0);
        if (page == MAP_FAILED)
            throw std::runtime_error("cannot share the progress counter with the decoder");
        struct Unmap {
            void* page;
            ~Unmap() { ::munmap(page, 4096); }
        } unmap{page};
        const auto* counter = static_cast<const std::int32_t*>(page);
        std::vector<UniqueFd> fds;
        fds.push_back(std::move(counterFd));
        int done = 0;
        std::string defacing; // the study being defaced, once de-identification is done
        try {
            const Message reply = child.call(
                request,
                [&](const json& note) {
                    defacing = note.value("defacing", defacing);
                    done = note.value("done", done);
                    if (progress)
                        progress(done, note.value("total", 0));
                },
                std::move(fds));
            result.writesConfined = child.writesConfined();
            result.outcome = folderOutcomeFromJson(reply.body.at("outcome"));
            moveWrittenFiles(run, outputFolder, result.outcome.failures);
            for (auto& study : result.outcome.studies)
                study.report = remapped(study.report, run, outputFolder);
            break;
        } catch (const DecoderFailure& failure) {
            result.writesConfined = child.writesConfined();
            // The files in the child's order (listSourceFiles sorts), listed only now that one
            // of them is to blame: the normal path does not stat every source twice.
            const std::vector<fs::path> files = deid::listSourceFiles(remaining);
            if (!failure.processEnded() || files.empty() || attempt >= 64)
                throw std::runtime_error(failure.what());
            fs::remove_all(run, error);
            if (!defacing.empty()) {
                // All files were de-identified; the face of one study killed it: that study is
                // quarantined on the next run, the others are defaced again.
                crashed.push_back("study " + defacing + ": " + failure.what() +
                                  " while defacing it");
                skipDefacing.push_back(defacing);
                continue;
            }
            // The count comes after each file: the one after the last counted is the culprit.
            done = std::max(done, int(__atomic_load_n(counter, __ATOMIC_ACQUIRE)));
            const std::size_t culprit = std::min(std::size_t(std::max(done, 0)), files.size() - 1);
            crashed.push_back(files[culprit].string() + ": " + failure.what() +
                              " while de-identifying it");
            remaining.assign(files.begin(), files.end());
            remaining.erase(remaining.begin() + std::ptrdiff_t(culprit));
            if (remaining.empty())
                break;
        }
    }
    result.outcome.failures.insert(result.outcome.failures.begin(), crashed.begin(), crashed.end());
    return result;
}

} // namespace radmark::decoder
