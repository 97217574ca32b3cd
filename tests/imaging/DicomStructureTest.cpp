// The structure check before GDCM (imaging/DicomStructure.h): lengths beyond the file, absurd
// nesting and items where elements belong are refused with a sentence; every file of pydicom and
// nibabel that is not itself truncated passes, and files that are not DICOM are left to GDCM; a
// meta group and compressed pixel fragments GDCM would fail checks on are refused.

#include "imaging/DicomStructure.h"
#include "ReferenceReader.h"
#include "imaging/StudyReader.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

using namespace radmark::imaging;
using namespace radmark::imaging::testing;
namespace fs = std::filesystem;

namespace {

std::string bytesOf(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class Scratch {
  public:
    Scratch() {
        std::string pattern = (fs::temp_directory_path() / "radmark-structure-XXXXXX").string();
        path_ = ::mkdtemp(pattern.data());
    }
    ~Scratch() {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    const fs::path& path() const { return path_; }
    fs::path write(const std::string& name, const std::string& bytes) const {
        std::ofstream(path_ / name, std::ios::binary) << bytes;
        return path_ / name;
    }

  private:
    fs::path path_;
};

std::string le16(unsigned v) {
    return {char(v & 0xFF), char(v >> 8 & 0xFF)};
}
std::string le32(std::uint32_t v) {
    return le16(v & 0xFFFF) + le16(v >> 16);
}
std::string tag(unsigned group, unsigned element) {
    return le16(group) + le16(element);
}

// Preamble, DICM and a meta group naming explicit VR little endian.
std::string explicitLittleEndianStart() {
    const std::string syntax = std::string("1.2.840.10008.1.2.1") + '\0';
    return std::string(128, '\0') + "DICM" + tag(0x0002, 0x0010) + "UI" +
           le16(unsigned(syntax.size())) + syntax;
}

// Where an element's tag (and, for explicit VR, its VR) sits in bytes.
std::size_t find(const std::string& bytes, const std::string& what) {
    const std::size_t at = bytes.find(what);
    EXPECT_NE(at, std::string::npos);
    return at;
}

} // namespace

TEST(DicomStructure, EveryPydicomAndNibabelFileThatIsNotTruncatedPasses) {
    // Each of these is refused, for what is really wrong with it.
    const std::set<std::string> damaged = {"MR_truncated.dcm", "rtplan_truncated.dcm",
                                           "DICOMDIR-nooffset"};
    // Explicit VR declared, implicit written: refused for image reading only.
    EXPECT_FALSE(dicomStructureProblem(pydicomFile("SC_rgb_jpeg.dcm")));
    EXPECT_TRUE(dicomStructureProblem(pydicomFile("SC_rgb_jpeg.dcm"), VrDisagreement::Refuse));
    int checked = 0;
    for (const fs::path& root : {fs::path(RADMARK_PYDICOM_DATA), fs::path(RADMARK_NIBABEL_DATA)})
        for (const auto& entry : fs::recursive_directory_iterator(root)) {
            const std::string name = entry.path().filename().string();
            const bool dicom = entry.path().extension() == ".dcm" ||
                               entry.path().string().find("dicomdirtests") != std::string::npos;
            if (!entry.is_regular_file() || !dicom)
                continue;
            ++checked;
            const auto problem = dicomStructureProblem(entry.path());
            if (damaged.count(name))
                EXPECT_TRUE(problem) << name << " is damaged, yet passed";
            else
                EXPECT_FALSE(problem) << entry.path() << ": " << *problem;
        }
    EXPECT_GT(checked, 150);
}

TEST(DicomStructure, ALengthBeyondTheFileIsRefusedNamingTheElement) {
    Scratch scratch;
    std::string bytes = bytesOf(pydicomFile("CT_small.dcm"));
    // Patient's Name (0010,0010) PN, a 16-bit length: made 0xFFF0.
    const std::size_t name = find(bytes, tag(0x0010, 0x0010) + "PN");
    bytes.replace(name + 6, 2, le16(0xFFF0));
    const fs::path file = scratch.write("long-name.dcm", bytes);
    const auto problem = dicomStructureProblem(file);
    ASSERT_TRUE(problem);
    EXPECT_NE(problem->find("(0010,0010) declares 65520 bytes, more than the"), std::string::npos)
        << *problem;
    try {
        readVolume(file);
        FAIL() << "read a file whose name claims 64 KB";
    } catch (const ReadError& error) {
        EXPECT_EQ(error.file(), file);
        EXPECT_EQ(error.reason(), *problem);
    }
}

TEST(DicomStructure, PixelDataLongerThanTheFileIsRefused) {
    Scratch scratch;
    std::string bytes = bytesOf(pydicomFile("CT_small.dcm"));
    const std::size_t pixels = find(bytes, tag(0x7FE0, 0x0010) + "OW");
    const std::uint32_t left = std::uint32_t(bytes.size() - (pixels + 12));
    bytes.replace(pixels + 8, 4, le32(left + 2));
    const auto problem = dicomStructureProblem(scratch.write("short.dcm", bytes));
    ASSERT_TRUE(problem);
    EXPECT_EQ(*problem, "is damaged or truncated: its element (7FE0,0010) declares " +
                            std::to_string(left + 2) + " bytes, more than the " +
                            std::to_string(left) + " left in the file");
    // The exact length passes: the check is not off by one.
    bytes.replace(pixels + 8, 4, le32(left));
    EXPECT_FALSE(dicomStructureProblem(scratch.write("exact.dcm", bytes)));
}

TEST(DicomStructure, SequencesNestedTooDeepAreRefused) {
    Scratch scratch;
    const auto nested = [](int depth) {
        std::string bytes = explicitLittleEndianStart();
        for (int i = 0; i < depth; ++i) // Referenced Series Sequence, undefined lengths
            bytes += tag(0x0008, 0x1115) + "SQ" + le16(0) + le32(0xFFFFFFFF) + tag(0xFFFE, 0xE000) +
                     le32(0xFFFFFFFF);
        for (int i = 0; i < depth; ++i)
            bytes += tag(0xFFFE, 0xE00D) + le32(0) + tag(0xFFFE, 0xE0DD) + le32(0);
        return bytes;
    };
    EXPECT_FALSE(dicomStructureProblem(scratch.write("ten.dcm", nested(10))));
    const auto problem = dicomStructureProblem(scratch.write("deep.dcm", nested(5000)));
    ASSERT_TRUE(problem);
    EXPECT_EQ(*problem, "is damaged: its sequences are nested more than 64 deep");
}

TEST(DicomStructure, AnItemWhereAnElementBelongsIsRefused) {
    Scratch scratch;
    const std::string bytes = explicitLittleEndianStart() + tag(0x0008, 0x0060) + "CS" + le16(2) +
                              "CT" + tag(0xFFFE, 0xE000) + le32(4) + "abcd";
    const auto problem = dicomStructureProblem(scratch.write("item.dcm", bytes));
    ASSERT_TRUE(problem);
    EXPECT_EQ(*problem, "is damaged: an item tag (FFFE,E000) stands where a data element belongs");
}

TEST(DicomStructure, FilesThatAreNotDicomAreLeftToTheReader) {
    Scratch scratch;
    EXPECT_FALSE(dicomStructureProblem(scratch.write("notes.txt", std::string(4096, 'x'))));
    EXPECT_FALSE(dicomStructureProblem(scratch.write("empty.dcm", "")));
    EXPECT_FALSE(dicomStructureProblem(scratch.path() / "missing.dcm"));
    // A preamble and nothing after it: GDCM says it is damaged.
    EXPECT_FALSE(dicomStructureProblem(scratch.write("bare.dcm", std::string(128, '\0') + "DICM")));
}

// The file meta group as GDCM reads it: where it fails a check, the check here refuses first
// (each from an input of tests/data/malformed that made GDCM abort).
TEST(DicomStructure, AMetaGroupThatGdcmFailsChecksOnIsRefused) {
    Scratch scratch;
    const std::string start = explicitLittleEndianStart();
    const std::string dataset = tag(0x0008, 0x0060) + "CS" + le16(2) + "CT";
    EXPECT_FALSE(dicomStructureProblem(scratch.write("good.dcm", start + dataset)));
    const auto refused = [&](const std::string& name, const std::string& bytes) {
        const auto problem = dicomStructureProblem(scratch.write(name, bytes));
        return problem ? *problem : std::string("passed");
    };
    EXPECT_EQ(refused("meta-only.dcm", start),
              "is truncated: it ends after its file meta information, before any data set");
    EXPECT_EQ(refused("cut-tag.dcm", start + tag(0x0002, 0x0012)),
              "is truncated: the file ends inside an element's header");
    EXPECT_EQ(refused("cut-length.dcm", start + tag(0x0002, 0x0001) + "OB" + le16(0)),
              "is truncated: the file ends inside an element's header");
    EXPECT_EQ(refused("unknown-vr.dcm",
                      start + tag(0x0002, 0x0012) + "WI" + le16(2) + "1." + dataset),
              "is damaged: its file meta information holds an element (0002,0012) with an "
              "unknown VR");
    EXPECT_EQ(refused("meta-sequence.dcm",
                      start + tag(0x0002, 0x0001) + "SQ" + le16(0) + le32(0) + dataset),
              "is damaged: its file meta information holds a sequence (0002,0001)");
    EXPECT_EQ(refused("meta-undefined.dcm",
                      start + tag(0x0002, 0x0001) + "OB" + le16(0) + le32(0xFFFFFFFF) + dataset),
              "is damaged: its file meta information holds an element (0002,0001) of undefined "
              "length");
    const std::string noPreamble = std::string(128, '\0') + "DICM";
    EXPECT_EQ(refused("group-length-cs.dcm",
                      noPreamble + tag(0x0002, 0x0000) + "CS" + le16(4) + le32(10) +
                          start.substr(132) + dataset),
              "is damaged: its file meta information group length (0002,0000) is not an "
              "unsigned long (UL)");
    EXPECT_FALSE(dicomStructureProblem(scratch.write(
        "group-length-ul.dcm", noPreamble + tag(0x0002, 0x0000) + "UL" + le16(4) +
                                   le32(std::uint32_t(start.size() - 132)) + start.substr(132) +
                                   dataset)));
}

// Encapsulated pixel data: fragments are items of defined length up to a delimiter, in the
// data set's byte order; anything else where a fragment belongs is refused.
TEST(DicomStructure, BrokenCompressedPixelFragmentsAreRefused) {
    Scratch scratch;
    const std::string pixels = tag(0x7FE0, 0x0010) + "OB" + le16(0) + le32(0xFFFFFFFF);
    const std::string offsets = tag(0xFFFE, 0xE000) + le32(0);
    const std::string fragment = tag(0xFFFE, 0xE000) + le32(4) + "\xFF\xD8\xFF\xD9";
    const std::string end = tag(0xFFFE, 0xE0DD) + le32(0);
    const std::string start = explicitLittleEndianStart();
    EXPECT_FALSE(dicomStructureProblem(
        scratch.write("good.dcm", start + pixels + offsets + fragment + end)));
    const auto refused = [&](const std::string& name, const std::string& bytes) {
        const auto problem = dicomStructureProblem(scratch.write(name, bytes));
        return problem ? *problem : std::string("passed");
    };
    EXPECT_EQ(refused("not-an-item.dcm",
                      start + pixels + offsets + tag(0x0008, 0x0060) + le32(4) + "abcd" + end),
              "is damaged: its compressed pixel data holds (0008,0060) where a fragment item "
              "belongs");
    EXPECT_EQ(refused("undefined-fragment.dcm",
                      start + pixels + offsets + tag(0xFFFE, 0xE000) + le32(0xFFFFFFFF) + end),
              "is damaged: a fragment of its compressed pixel data has an undefined length");
    EXPECT_EQ(refused("long-fragment.dcm",
                      start + pixels + offsets + tag(0xFFFE, 0xE000) + le32(4000) + "abcd" + end),
              "is damaged or truncated: its element (FFFE,E000) declares 4000 bytes, more than "
              "the 12 left in the file");
    // Explicit VR big endian: the items are read big endian too (as GDCM reads them), so
    // little-endian items there are refused and big-endian ones pass.
    const std::string bigSyntax = std::string("1.2.840.10008.1.2.2") + '\0';
    const std::string bigStart = std::string(128, '\0') + "DICM" + tag(0x0002, 0x0010) + "UI" +
                                 le16(unsigned(bigSyntax.size())) + bigSyntax;
    const auto be16 = [](unsigned v) { return std::string{char(v >> 8 & 0xFF), char(v & 0xFF)}; };
    const auto be32 = [&](std::uint32_t v) { return be16(v >> 16) + be16(v & 0xFFFF); };
    const auto beTag = [&](unsigned g, unsigned e) { return be16(g) + be16(e); };
    const std::string bigPixels = beTag(0x7FE0, 0x0010) + "OB" + be16(0) + be32(0xFFFFFFFF);
    EXPECT_FALSE(dicomStructureProblem(scratch.write(
        "big.dcm", bigStart + bigPixels + beTag(0xFFFE, 0xE000) + be32(0) +
                       beTag(0xFFFE, 0xE000) + be32(4) + "abcd" + beTag(0xFFFE, 0xE0DD) +
                       be32(0))));
    EXPECT_NE(refused("big-with-little-items.dcm", bigStart + bigPixels + offsets + fragment + end),
              "passed");
}

// An element without a known VR in an explicit VR data set: GDCM reads the data set again as
// implicit VR, where "CS" and its length make a length of 676675 bytes, which it allocated (and
// zero-filled, gigabytes for some fuzzed files) before it failed. The walk reads it as GDCM does.
TEST(DicomStructure, AnUnknownVrIsWalkedAsGdcmReadsItAgainAsImplicitVr) {
    Scratch scratch;
    const std::string charset = tag(0x0008, 0x0005) + "CS" + le16(10) + "ISO_IR 100";
    const std::string date = tag(0x0008, 0x0020) + "DA" + le16(8) + "20150101";
    const std::string start = explicitLittleEndianStart();
    EXPECT_FALSE(dicomStructureProblem(scratch.write("good.dcm", start + charset + date)));
    std::string bad = start + charset + date;
    bad.replace(bad.find("DA"), 2, "\x01\x02");
    const auto problem = dicomStructureProblem(scratch.write("no-vr.dcm", bad));
    ASSERT_TRUE(problem);
    EXPECT_NE(problem->find("its element (0008,0005) declares 676675 bytes"), std::string::npos)
        << *problem;
}

// No preamble and no meta group: the data set's encoding is guessed from its first element as
// GDCM guesses it (here group 0008 written big endian: explicit VR big endian, ACR-NEMA style),
// and its lengths are then checked in that byte order (a fuzzed one made GDCM allocate and
// zero-fill for 16 s before it failed).
TEST(DicomStructure, ADataSetWithoutTransferSyntaxIsWalkedAsGdcmGuessesIt) {
    Scratch scratch;
    const auto be16 = [](unsigned v) { return std::string{char(v >> 8 & 0xFF), char(v & 0xFF)}; };
    const auto beTag = [&](unsigned g, unsigned e) { return be16(g) + be16(e); };
    const std::string charset = beTag(0x0008, 0x0005) + "CS" + be16(10) + "ISO_IR 100";
    const std::string date = beTag(0x0008, 0x0020) + "DA" + be16(8) + "20150101";
    EXPECT_FALSE(dicomStructureProblem(scratch.write("big.dcm", charset + date)));
    const std::string lying = charset + beTag(0x0008, 0x0020) + "DA" + be16(800) + "20150101";
    const auto problem = dicomStructureProblem(scratch.write("big-lying.dcm", lying));
    ASSERT_TRUE(problem);
    EXPECT_EQ(*problem, "is damaged or truncated: its element (0008,0020) declares 800 bytes, "
                        "more than the 8 left in the file");
}

// Deflated explicit VR little endian: the data set is inflated and walked. pydicom's deflated
// file passes (above); the same file cut short is refused (a fuzzed, truncated stream kept the
// decoder busy until its 60 s watchdog while it decoded pixel data).
TEST(DicomStructure, ADeflatedDataSetIsInflatedAndWalked) {
    Scratch scratch;
    const std::string bytes = bytesOf(pydicomFile("image_dfl.dcm"));
    EXPECT_FALSE(dicomStructureProblem(scratch.write("whole.dcm", bytes)));
    const auto problem =
        dicomStructureProblem(scratch.write("cut.dcm", bytes.substr(0, bytes.size() - 200)));
    ASSERT_TRUE(problem);
    EXPECT_EQ(*problem, "is damaged or truncated: its deflated data set does not inflate");
}
