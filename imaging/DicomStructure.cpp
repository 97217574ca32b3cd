#include "imaging/DicomStructure.h"

#include "imaging/StudyReader.h"

#include <fcntl.h>
#include <libdeflate.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace radmark::imaging {
namespace {

namespace fs = std::filesystem;

constexpr std::uint32_t undefinedLength = 0xFFFFFFFF;
constexpr int deepestNesting = 64;
constexpr const char* truncatedHeader = "is truncated: the file ends inside an element's header";

// The walk found a lie: the sentence says which.
struct Refused {
    std::string reason;
};
// The walk met something it does not follow (what says what): GDCM decides.
struct NotFollowed {
    const char* what;
    bool noVr = false; // explicit VR expected, none found (GDCM then reads it as implicit VR)
};

// Reads a file through a 64 KiB window, moved only when the walk leaves it (a pixel data value
// is skipped, not read).
class FileWindow {
  public:
    explicit FileWindow(const fs::path& path) : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
        struct stat st {};
        if (fd_ >= 0 && ::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode))
            size_ = std::uint64_t(st.st_size);
        else
            size_ = 0;
    }
    // Bytes in memory (an inflated data set), walked as a file.
    explicit FileWindow(std::string bytes)
        : fd_(-1), size_(bytes.size()), memory_(std::move(bytes)), inMemory_(true) {}
    ~FileWindow() {
        if (fd_ >= 0)
            ::close(fd_);
    }

    // The bytes from offset to the end (at most limit of them), or nullopt past the limit.
    std::optional<std::string> tail(std::uint64_t offset, std::uint64_t limit) const {
        if (offset > size_ || size_ - offset > limit)
            return std::nullopt;
        std::string bytes(std::size_t(size_ - offset), '\0');
        std::size_t got = 0;
        while (got < bytes.size()) {
            const ssize_t n = ::pread(fd_, bytes.data() + got, bytes.size() - got,
                                      off_t(offset + got));
            if (n <= 0)
                return std::nullopt;
            got += std::size_t(n);
        }
        return bytes;
    }
    FileWindow(const FileWindow&) = delete;
    FileWindow& operator=(const FileWindow&) = delete;

    std::uint64_t size() const { return size_; }

    // n bytes at offset, or nullptr when the file ends first.
    const std::uint8_t* at(std::uint64_t offset, std::size_t n) {
        if (inMemory_)
            return offset > size_ || n > size_ - offset
                       ? nullptr
                       : reinterpret_cast<const std::uint8_t*>(memory_.data()) + offset;
        if (n > buffer_.size() || offset > size_ || n > size_ - offset)
            return nullptr;
        if (offset < start_ || offset + n > start_ + filled_) {
            filled_ = 0;
            start_ = offset;
            // The first read is small: most headers end within it, and the walk then skips the
            // pixel data (a scan of 500 slices read 64 KiB of each otherwise).
            const std::size_t wanted = std::max(n, reads_++ == 0 ? firstRead : buffer_.size());
            while (filled_ < wanted) {
                const ssize_t got = ::pread(fd_, buffer_.data() + filled_, wanted - filled_,
                                            off_t(start_ + filled_));
                if (got <= 0)
                    break;
                filled_ += std::size_t(got);
            }
            if (n > filled_)
                return nullptr;
        }
        return buffer_.data() + (offset - start_);
    }

  private:
    int fd_;
    std::uint64_t size_ = 0;
    static constexpr std::size_t firstRead = 8192;
    std::array<std::uint8_t, 65536> buffer_; // not cleared: only bytes read are looked at
    int reads_ = 0;
    std::uint64_t start_ = 0;
    std::size_t filled_ = 0;
    std::string memory_;
    bool inMemory_ = false;
};

struct Encoding {
    bool explicitVr = true;
    bool bigEndian = false;
};

bool isVrLetter(std::uint8_t c) {
    return c >= 'A' && c <= 'Z';
}

// VRs whose length takes 4 bytes after two reserved ones (PS3.5 7.1.2); 0 for an unknown VR.
int vrForm(const std::uint8_t* vr) {
    static constexpr const char* shortForm[] = {"AE", "AS", "AT", "CS", "DA", "DS", "DT",
                                                "FD", "FL", "IS", "LO", "LT", "PN", "SH",
                                                "SL", "SS", "ST", "TM", "UI", "UL", "US"};
    static constexpr const char* longForm[] = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ",
                                               "SV", "UC", "UN", "UR", "UT", "UV"};
    for (const char* name : shortForm)
        if (vr[0] == name[0] && vr[1] == name[1])
            return 2;
    for (const char* name : longForm)
        if (vr[0] == name[0] && vr[1] == name[1])
            return 4;
    return 0;
}

std::string tagName(std::uint16_t group, std::uint16_t element) {
    char text[16];
    std::snprintf(text, sizeof text, "(%04X,%04X)", group, element);
    return text;
}

class StructureWalk {
  public:
    explicit StructureWalk(FileWindow& file) : file_(file) {}

    bool implicitUnderExplicitSyntax = false;

    void run() {
        std::uint64_t pos = 0;
        const std::uint8_t* preamble = file_.at(128, 4);
        if (preamble && std::memcmp(preamble, "DICM", 4) == 0)
            pos = 132;
        else if (!compatEncoding(0))
            return; // not recognisably DICOM: GDCM says what it is
        std::string syntax;
        pos = walkMeta(pos, syntax);
        if (syntax == "1.2.840.10008.1.2.1.99") {
            walkDeflated(pos);
            return;
        }
        const std::uint8_t* first = file_.at(pos, 8);
        if (!first)
            return;
        Encoding encoding;
        if (syntax.empty()) {
            // No transfer syntax: GDCM guesses from the first element, so does the walk.
            const auto guessed = compatEncoding(pos);
            if (!guessed)
                return;
            encoding = *guessed;
        } else {
            encoding.bigEndian = syntax == "1.2.840.10008.1.2.2";
            // Walked as written, which is what GDCM ends up doing when the two disagree.
            encoding.explicitVr = isVrLetter(first[4]) && isVrLetter(first[5]);
        }
        implicitUnderExplicitSyntax =
            !encoding.explicitVr && !syntax.empty() && syntax != "1.2.840.10008.1.2";
        try {
            walkDataset(pos, file_.size(), encoding, 0, false);
        } catch (const NotFollowed& explicitFailed) {
            if (!explicitFailed.noVr)
                throw;
            // GDCM meets an element without a known VR in an explicit VR data set by reading the
            // data set again as implicit VR, where the two bytes of a VR and its length become a
            // 4-byte length: the gigabytes it then allocates and zero-fills took tens of seconds
            // under load before it failed. Walked as GDCM reads it: a lie is refused here.
            Encoding implicitVr = encoding;
            implicitVr.explicitVr = false;
            walkDataset(pos, file_.size(), implicitVr, 0, false);
        }
    }

    // A data set from its start, in the encoding its first element shows (little endian).
    void walkWhole() {
        const std::uint8_t* first = file_.at(0, 8);
        if (!first)
            throw Refused{truncatedHeader};
        walkDataset(0, file_.size(), Encoding{isVrLetter(first[4]) && isVrLetter(first[5]), false},
                    0, false);
    }

  private:
    // Deflated explicit VR little endian: the data set after the meta group is one raw deflate
    // stream, which GDCM inflates as it reads. Inflated here (bounded) and walked; a stream that
    // does not inflate is refused (a fuzzed, truncated one kept GDCM busy until the 60 s
    // watchdog while it decoded pixel data). Too large to inflate here: GDCM decides.
    void walkDeflated(std::uint64_t pos) {
        constexpr std::uint64_t largestCompressed = std::uint64_t(64) << 20;
        constexpr std::size_t largestInflated = std::size_t(1) << 30;
        const auto compressed = file_.tail(pos, largestCompressed);
        if (!compressed)
            return;
        struct Decompressor {
            libdeflate_decompressor* d = libdeflate_alloc_decompressor();
            ~Decompressor() {
                if (d)
                    libdeflate_free_decompressor(d);
            }
        } decompressor;
        if (!decompressor.d)
            return;
        std::string inflated(std::max<std::size_t>(compressed->size() * 4, 1 << 20), '\0');
        for (;;) {
            std::size_t produced = 0;
            const libdeflate_result result = libdeflate_deflate_decompress(
                decompressor.d, compressed->data(), compressed->size(), inflated.data(),
                inflated.size(), &produced);
            if (result == LIBDEFLATE_SUCCESS) {
                inflated.resize(produced);
                break;
            }
            if (result != LIBDEFLATE_INSUFFICIENT_SPACE)
                throw Refused{"is damaged or truncated: its deflated data set does not inflate"};
            if (inflated.size() >= largestInflated)
                return;
            inflated.resize(inflated.size() * 2);
        }
        FileWindow dataset(std::move(inflated));
        StructureWalk walk(dataset);
        walk.walkWhole();
    }

    std::uint16_t u16(const std::uint8_t* p, bool bigEndian) const {
        return bigEndian ? std::uint16_t(p[0] << 8 | p[1]) : std::uint16_t(p[0] | p[1] << 8);
    }
    std::uint32_t u32(const std::uint8_t* p, bool bigEndian) const {
        return bigEndian ? std::uint32_t(u16(p, true)) << 16 | u16(p + 2, true)
                         : std::uint32_t(u16(p + 2, false)) << 16 | u16(p, false);
    }

    // A data set without a transfer syntax (no preamble or no meta group): its encoding as
    // GDCM guesses it from the first element (FileMetaInformation::ReadCompat): group 0008
    // little endian, 0800 (0008 written big endian, ACR-NEMA) big endian, explicit VR when a VR
    // follows the tag; a private creator (element 0010) little endian; any other tag followed
    // by a VR explicit, big endian when the tag reads above 00FF. nullopt where GDCM gives up
    // itself (no VR after another tag) and for what is not DICOM at all.
    std::optional<Encoding> compatEncoding(std::uint64_t pos) {
        const std::uint8_t* p = file_.at(pos, 8);
        if (!p)
            return std::nullopt;
        const std::uint16_t group = u16(p, false);
        const std::uint16_t element = u16(p + 2, false);
        const bool vr = isVrLetter(p[4]) && isVrLetter(p[5]) && vrForm(p + 4) != 0;
        if (group == 0x0002 || group == 0x0008 || element == 0x0010)
            return Encoding{vr, false};
        if (group == 0x0800)
            return Encoding{vr, true};
        if (vr)
            return Encoding{true, group > 0xFF || element > 0xFF};
        return std::nullopt;
    }

    void refuseLength(std::uint16_t group, std::uint16_t element, std::uint64_t length,
                      std::uint64_t valueAt) {
        const std::uint64_t left = valueAt >= file_.size() ? 0 : file_.size() - valueAt;
        throw Refused{"is damaged or truncated: its element " + tagName(group, element) +
                      " declares " + std::to_string(length) + " bytes, more than the " +
                      std::to_string(left) + " left in the file"};
    }

    void checkLength(std::uint16_t group, std::uint16_t element, std::uint32_t length,
                     std::uint64_t valueAt) {
        if (length != undefinedLength &&
            (valueAt > file_.size() || length > file_.size() - valueAt))
            refuseLength(group, element, length, valueAt);
    }

    // The file meta group (0002): explicit VR little endian, element by element. Returns where
    // the data set starts; syntax gets (0002,0010).
    // GDCM reads group 0002 element after element until a tag of another group, and fails a
    // check (FileMetaInformation.cxx ReadExplicitDataElement, ExplicitDataElement.txx
    // ReadPreValue, Reader.cxx "is.good()") where one is cut short, where the file ends after
    // the group, on a sequence or an undefined length, and after a VR it does not know (it then
    // reads again by the group length and takes a value for a length): each refused here.
    std::uint64_t walkMeta(std::uint64_t pos, std::string& syntax) {
        for (int elements = 0;; ++elements) {
            if (pos >= file_.size() && elements == 0)
                return pos; // a bare preamble: GDCM refuses it itself
            if (pos >= file_.size())
                throw Refused{"is truncated: it ends after its file meta information, before "
                              "any data set"};
            const std::uint8_t* p = file_.at(pos, 8);
            if (!p)
                throw Refused{truncatedHeader};
            if (u16(p, false) != 0x0002)
                return pos;
            const std::uint16_t element = u16(p + 2, false);
            std::uint32_t length;
            std::uint64_t valueAt;
            if (isVrLetter(p[4]) && isVrLetter(p[5])) {
                const int form = vrForm(p + 4);
                if (form == 0)
                    throw Refused{"is damaged: its file meta information holds an element " +
                                  tagName(0x0002, element) + " with an unknown VR"};
                if (p[4] == 'S' && p[5] == 'Q')
                    throw Refused{"is damaged: its file meta information holds a sequence " +
                                  tagName(0x0002, element)};
                // GDCM then rereads the file by guesswork, and its writer fails a check on
                // the items it so made (Item.txx GetLength "% 2 == 0").
                if (element == 0x0000 && !(p[4] == 'U' && p[5] == 'L'))
                    throw Refused{"is damaged: its file meta information group length (0002,0000) "
                                  "is not an unsigned long (UL)"};
                if (form == 4) {
                    const std::uint8_t* q = file_.at(pos + 8, 4);
                    if (!q)
                        throw Refused{truncatedHeader};
                    length = u32(q, false);
                    valueAt = pos + 12;
                } else {
                    length = u16(p + 6, false);
                    valueAt = pos + 8;
                }
            } else { // implicit VR in the meta group: damaged, but GDCM copes
                length = u32(p + 4, false);
                valueAt = pos + 8;
            }
            if (length == undefinedLength)
                throw Refused{"is damaged: its file meta information holds an element " +
                              tagName(0x0002, element) + " of undefined length"};
            checkLength(0x0002, element, length, valueAt);
            if (element == 0x0010 && length <= 64) {
                const std::uint8_t* value = file_.at(valueAt, length);
                if (value) {
                    syntax.assign(reinterpret_cast<const char*>(value), length);
                    while (!syntax.empty() && (syntax.back() == '\0' || syntax.back() == ' '))
                        syntax.pop_back();
                }
            }
            pos = valueAt + length;
        }
    }

    // Elements from pos up to end (exclusive). Returns where the walk stopped; in an item of
    // undefined length, just after its delimiter.
    std::uint64_t walkDataset(std::uint64_t pos, std::uint64_t end, Encoding encoding, int depth,
                              bool delimited) {
        if (depth > deepestNesting)
            throw Refused{"is damaged: its sequences are nested more than " +
                          std::to_string(deepestNesting) + " deep"};
        while (pos < end) {
            const std::uint8_t* p = file_.at(pos, 8);
            if (!p) // GDCM fails a check on this (Reader::InternalReadCommon "is.good()")
                throw Refused{truncatedHeader};
            const std::uint16_t group = u16(p, encoding.bigEndian);
            const std::uint16_t element = u16(p + 2, encoding.bigEndian);
            if (group == 0xFFFE) {
                if (element == 0xE00D && delimited)
                    return pos + 8; // end of this item
                // GDCM fails a check on these (ReadPreValue, ReadValue "TagField != itemStart").
                throw Refused{"is damaged: an item tag " + tagName(group, element) +
                              " stands where a data element belongs"};
            }
            std::uint32_t length;
            std::uint64_t valueAt;
            std::uint8_t vr[2] = {0, 0};
            if (encoding.explicitVr) {
                if (!isVrLetter(p[4]) || !isVrLetter(p[5]))
                    throw NotFollowed{"no VR where explicit VR is used", true};
                vr[0] = p[4];
                vr[1] = p[5];
                const int form = vrForm(vr);
                if (form == 0)
                    throw NotFollowed{"an unknown VR", true};
                if (form == 4) {
                    const std::uint8_t* q = file_.at(pos + 8, 4);
                    if (!q)
                        throw Refused{truncatedHeader};
                    length = u32(q, encoding.bigEndian);
                    valueAt = pos + 12;
                } else {
                    length = u16(p + 6, encoding.bigEndian);
                    valueAt = pos + 8;
                }
            } else {
                length = u32(p + 4, encoding.bigEndian);
                valueAt = pos + 8;
            }
            checkLength(group, element, length, valueAt);
            const bool pixelData = group == 0x7FE0 && element == 0x0010;
            const bool sequence = vr[0] == 'S' && vr[1] == 'Q';
            const bool unknown = vr[0] == 'U' && vr[1] == 'N';
            if (length == undefinedLength) {
                if (pixelData)
                    pos = walkFragments(valueAt, encoding);
                else if (sequence || unknown || !encoding.explicitVr) {
                    // An UN value of undefined length is a sequence in implicit VR little endian.
                    Encoding nested = encoding;
                    if (unknown)
                        nested = Encoding{false, false};
                    pos = walkItems(valueAt, file_.size(), nested, depth + 1, true);
                } else
                    throw NotFollowed{"undefined length on a value that is not a sequence"};
                continue;
            }
            const std::uint64_t valueEnd = valueAt + length;
            if (sequence ||
                (!encoding.explicitVr && !pixelData && startsWithItem(valueAt, length, encoding)))
                walkItems(valueAt, valueEnd, encoding, depth + 1, false);
            pos = valueEnd;
        }
        return pos;
    }

    // In implicit VR the dictionary says what is a sequence; a value that opens with an item
    // tag is walked as one.
    bool startsWithItem(std::uint64_t valueAt, std::uint32_t length, Encoding encoding) {
        if (length < 8)
            return false;
        const std::uint8_t* p = file_.at(valueAt, 4);
        return p && u16(p, encoding.bigEndian) == 0xFFFE &&
               u16(p + 2, encoding.bigEndian) == 0xE000;
    }

    // The items of a sequence: up to end (defined length) or up to its delimiter.
    std::uint64_t walkItems(std::uint64_t pos, std::uint64_t end, Encoding encoding, int depth,
                            bool delimited) {
        while (pos < end) {
            const std::uint8_t* p = file_.at(pos, 8);
            if (!p && delimited)
                throw Refused{"is truncated: a sequence ends before its last item does"};
            if (!p)
                throw NotFollowed{"a few stray bytes at the end of a sequence"};
            const std::uint16_t group = u16(p, encoding.bigEndian);
            const std::uint16_t element = u16(p + 2, encoding.bigEndian);
            const std::uint32_t length = u32(p + 4, encoding.bigEndian);
            if (group == 0xFFFE && element == 0xE0DD && delimited)
                return pos + 8;
            if (group != 0xFFFE || element != 0xE000)
                throw NotFollowed{"a data element where an item belongs"};
            checkLength(group, element, length, pos + 8);
            if (length == undefinedLength)
                pos = walkDataset(pos + 8, file_.size(), encoding, depth, true);
            else {
                walkDataset(pos + 8, pos + 8 + length, encoding, depth, false);
                pos = pos + 8 + length;
            }
        }
        return pos;
    }

    // Encapsulated pixel data: an offset table and fragments, each an item of defined length,
    // read in the data set's byte order as GDCM does (SequenceOfFragments). Anything else where
    // a fragment belongs makes GDCM throw mid-read, and its codecs then fail checks on what it
    // kept: refused.
    std::uint64_t walkFragments(std::uint64_t pos, Encoding encoding) {
        for (;;) {
            const std::uint8_t* p = file_.at(pos, 8);
            if (!p)
                throw Refused{"is truncated: its compressed pixel data ends before its last "
                              "fragment does"};
            const std::uint16_t group = u16(p, encoding.bigEndian);
            const std::uint16_t element = u16(p + 2, encoding.bigEndian);
            const std::uint32_t length = u32(p + 4, encoding.bigEndian);
            if (group == 0xFFFE && element == 0xE0DD)
                return pos + 8;
            if (group != 0xFFFE || element != 0xE000)
                throw Refused{"is damaged: its compressed pixel data holds " + tagName(group, element) +
                              " where a fragment item belongs"};
            if (length == undefinedLength)
                throw Refused{"is damaged: a fragment of its compressed pixel data has an "
                              "undefined length"};
            checkLength(group, element, length, pos + 8);
            pos += 8 + std::uint64_t(length);
        }
    }

    FileWindow& file_;
};

} // namespace

std::optional<std::string> dicomStructureProblem(const fs::path& path, VrDisagreement vr) {
    FileWindow file(path);
    if (file.size() == 0)
        return std::nullopt; // missing, empty or not a regular file: GDCM says which
    StructureWalk walk(file);
    try {
        walk.run();
    } catch (const Refused& refused) {
        return refused.reason;
    } catch (const NotFollowed&) {
    }
    if (walk.implicitUnderExplicitSyntax && vr == VrDisagreement::Refuse)
        return "declares explicit VR but its data set is written with implicit VR: the file is "
               "damaged or not standard DICOM";
    return std::nullopt;
}

void checkDicomStructure(const fs::path& file, VrDisagreement vr) {
    if (auto problem = dicomStructureProblem(file, vr))
        throw ReadError(file, *problem);
}

} // namespace radmark::imaging
