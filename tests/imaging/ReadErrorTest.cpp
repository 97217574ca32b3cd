// Bad input gives one clear ReadError naming the file; nothing crashes.

#include "ReferenceReader.h"
#include "imaging/StudyReader.h"

#include <gtest/gtest.h>

#include <fstream>

using namespace radmark::imaging;
using namespace radmark::imaging::testing;
namespace fs = std::filesystem;

namespace {

// Reading must fail with a ReadError that names the file and gives the expected reason.
void expectReadError(const fs::path& file, const std::string& reasonPart) {
    SCOPED_TRACE(file.string());
    try {
        const Volume v = readVolume(file);
        FAIL() << "read succeeded, " << v.voxelCount() << " voxels";
    } catch (const ReadError& e) {
        const std::string message = e.what();
        EXPECT_NE(message.find(file.filename().string()), std::string::npos) << message;
        EXPECT_NE(e.reason().find(reasonPart), std::string::npos) << message;
        EXPECT_EQ(message.find('\n'), std::string::npos) << "one line: " << message;
    }
}

} // namespace

TEST(ReadError, TruncatedPixelData) {
    expectReadError(pydicomFile("MR_truncated.dcm"), "truncated");
}

TEST(ReadError, BadValueRepresentation) {
    // badVR.dcm holds "1A" in Number of Frames (an IS).
    expectReadError(pydicomFile("badVR.dcm"), "invalid value in Number of Frames");
}

TEST(ReadError, DeclaredVrDisagreesWithTheData) {
    // Its meta header says explicit VR, its data set is implicit (GDCM would allocate 1.3 GB).
    expectReadError(pydicomFile("SC_rgb_jpeg.dcm"), "declares explicit VR");
}

TEST(ReadError, NoPreambleOrMetaHeader) {
    expectReadError(pydicomFile("no_meta.dcm"), "not a DICOM file");
    // These two parse without a meta header, but hold a plan, not an image.
    expectReadError(pydicomFile("ExplVR_LitEndNoMeta.dcm"), "holds no image");
    expectReadError(pydicomFile("ExplVR_BigEndNoMeta.dcm"), "holds no image");
    expectReadError(pydicomFile("meta_missing_tsyntax.dcm"), "damaged or truncated");
}

TEST(ReadError, TruncatedHeader) {
    expectReadError(pydicomFile("rtplan_truncated.dcm"), "damaged or truncated");
}

TEST(ReadError, NotAnImage) {
    expectReadError(pydicomFile("reportsi.dcm"), "holds no image (a SR object, ");
    expectReadError(pydicomFile("rtstruct.dcm"), "holds no image");
    expectReadError(pydicomFile("waveform_ecg.dcm"), "holds no image");
}

TEST(ReadError, NotDicomAtAll) {
    expectReadError(fixtures() / "not_dicom.dcm", "not a DICOM file");
}

TEST(ReadError, UnsupportedTransferSyntax) {
    expectReadError(fixtures() / "mpeg2.dcm",
                    "could not be decoded (transfer syntax 1.2.840.10008.1.2.4.100");
    // GDCM's JPEG 2000 decoder rejects this one (a sequence delimiter inside the codestream).
    expectReadError(pydicomFile("JPEG2000-embedded-sequence-delimiter.dcm"),
                    "could not be decoded");
}

TEST(ReadError, MalformedDicomDirDoesNotAbort) {
    // GDCM asserts (abort) on this file: an item claims more bytes than the file has left,
    // which the structure check refuses before GDCM reads it.
    expectReadError(pydicomFile("dicomdirtests/DICOMDIR-nooffset"),
                    "its element (FFFE,E000) declares 248 bytes, more than the 224 left");
    expectReadError(pydicomFile("dicomdirtests/DICOMDIR-empty.dcm"), "lists no images");
}

TEST(ReadError, EmptyFolderAndMissingFile) {
    expectReadError(fixtures() / "empty", "empty folder");
    expectReadError(fixtures() / "no-such-file.dcm", "does not exist");
}

TEST(ReadError, BadNiftiAndNrrdFiles) {
    // NIfTI-2 is not read by ITK 5.2; CIFTI is not an image volume.
    expectReadError(nibabelFile("tests/data/example_nifti2.nii.gz"), "not a readable NIfTI file");
    const fs::path truncated = fixtures() / "truncated.nii";
    {
        std::ifstream in(nibabelFile("tests/data/anatomical.nii"), std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    }
    expectReadError(truncated, "truncated");
    const fs::path shortNrrd = fixtures() / "short.nrrd";
    std::ofstream(shortNrrd, std::ios::binary)
        << "NRRD0004\ntype: short\ndimension: 3\nsizes: 4 3 2\nencoding: raw\nendian: little\n\n"
        << std::string(10, '\0');
    expectReadError(shortNrrd, "cannot be read as NRRD");
}

TEST(ReadError, EveryTestFileEitherReadsOrFailsCleanly) {
    // Any other exception, or a crash, fails this test.
    std::size_t read = 0, refused = 0;
    for (const fs::path& root : {fs::path(RADMARK_PYDICOM_DATA), nibabelFile("tests/data"),
                                 nibabelFile("nicom/tests/data")}) {
        for (const auto& entry : fs::recursive_directory_iterator(root)) {
            if (!entry.is_regular_file())
                continue;
            try {
                for (const auto& series : findSeries(entry.path())) {
                    const Volume v = readSeries(series);
                    EXPECT_GT(v.voxelCount(), 0u);
                }
                ++read;
            } catch (const ReadError& e) {
                ++refused;
                EXPECT_FALSE(e.reason().empty());
            }
        }
    }
    EXPECT_GT(read, 50u);
    EXPECT_GT(refused, 20u);
}

TEST(ReadError, WholeTestFolderListsItsGoodSeries) {
    // A folder of mixed good and bad files: the good series are found, the bad are skipped.
    const auto series = findSeries(RADMARK_PYDICOM_DATA);
    EXPECT_GT(series.size(), 20u);
    for (const auto& s : series)
        EXPECT_TRUE(s.format == "DICOM");
}
