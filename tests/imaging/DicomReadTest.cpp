// DICOM reading checked against pydicom on the real files of python3-pydicom and
// python3-nibabel, and against synthetic series whose geometry and pixels are known.

#include "ReferenceReader.h"
#include "imaging/StudyReader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

using namespace radmark::imaging;
using namespace radmark::imaging::testing;
namespace fs = std::filesystem;

namespace {

bool anyWarningContains(const std::vector<std::string>& warnings, const std::string& text) {
    return std::any_of(warnings.begin(), warnings.end(),
                       [&](const std::string& w) { return w.find(text) != std::string::npos; });
}

// The volume equals what pydicom decodes (rescale applied; frames stacked as stored).
void expectMatchesPydicom(const fs::path& file, double tolerance = 0) {
    SCOPED_TRACE(file.filename().string());
    const Volume volume = readVolume(file);
    const auto expected = reference({"dicom", file.string()});
    ASSERT_EQ(volume.geometry().dims[0], expected["columns"].get<int>());
    ASSERT_EQ(volume.geometry().dims[1], expected["rows"].get<int>());
    ASSERT_EQ(volume.geometry().dims[2], expected["frames"].get<int>());
    const auto values = valuesOf(volume);
    const auto want = expected["values"].get<std::vector<double>>();
    ASSERT_EQ(values.size(), want.size());
    std::size_t different = 0;
    for (std::size_t i = 0; i < values.size(); ++i)
        different += std::abs(values[i] - want[i]) > tolerance;
    EXPECT_EQ(different, 0u) << "voxels differing from pydicom";
}

double meanAbsoluteDifference(const Volume& a, const Volume& b) {
    const auto va = valuesOf(a), vb = valuesOf(b);
    double sum = 0;
    for (std::size_t i = 0; i < va.size(); ++i)
        sum += std::abs(va[i] - vb[i]);
    return sum / double(va.size());
}

} // namespace

TEST(DicomRead, CtSmallMatchesPydicomInHounsfieldUnits) {
    const fs::path file = pydicomFile("CT_small.dcm");
    const Volume volume = readVolume(file);
    const auto expected = reference({"dicom", file.string()});
    EXPECT_EQ(volume.pixelType(), PixelType::Int16);
    EXPECT_EQ(volume.modality, "CT");
    EXPECT_EQ(volume.sourceFormat, "DICOM");
    const auto& g = volume.geometry();
    // PixelSpacing is (between rows, between columns): x spacing is the second value.
    EXPECT_DOUBLE_EQ(g.spacing[0], expected["spacing"][1].get<double>());
    EXPECT_DOUBLE_EQ(g.spacing[1], expected["spacing"][0].get<double>());
    for (int i = 0; i < 3; ++i)
        EXPECT_DOUBLE_EQ(g.origin[i], expected["position"][i].get<double>());
    for (int r = 0; r < 3; ++r) {
        EXPECT_NEAR(g.direction[r * 3 + 0], expected["orientation"][r].get<double>(), 1e-9);
        EXPECT_NEAR(g.direction[r * 3 + 1], expected["orientation"][3 + r].get<double>(), 1e-9);
    }
    expectMatchesPydicom(file);
    // CT_small stores 16-bit signed values with intercept -1024: air is near -1000 HU.
    EXPECT_LT(volume.scalarRange().first, -800);
}

TEST(DicomRead, MrSmallEveryTransferSyntaxDecodesToTheSamePixels) {
    expectMatchesPydicom(pydicomFile("MR_small.dcm"));
    const Volume reference = readVolume(pydicomFile("MR_small.dcm"));
    for (const char* name : {"MR_small_implicit.dcm", "MR_small_bigendian.dcm", "MR_small_expb.dcm",
                             "MR_small_RLE.dcm", "MR_small_jpeg_ls_lossless.dcm",
                             "MR_small_jp2klossless.dcm", "MR_small_padded.dcm"}) {
        SCOPED_TRACE(name);
        const Volume variant = readVolume(pydicomFile(name));
        ASSERT_TRUE(variant.geometry().sameGridAs(reference.geometry()));
        ASSERT_EQ(variant.pixelType(), reference.pixelType());
        EXPECT_EQ(valuesOf(variant), valuesOf(reference));
    }
}

TEST(DicomRead, ColourImagesBecomeLuminance) {
    // RGB is converted to grey (0.299 R + 0.587 G + 0.114 B), as pydicom computes it here.
    expectMatchesPydicom(pydicomFile("SC_rgb_rle.dcm"), 1);
    expectMatchesPydicom(pydicomFile("SC_rgb_small_odd.dcm"), 1);
    expectMatchesPydicom(pydicomFile("ExplVR_BigEnd.dcm"), 1);
    expectMatchesPydicom(pydicomFile("SC_rgb_jpeg_dcmd.dcm"), 1);
    // Lossless compressed twins of SC_rgb_rle decode to the same grey image.
    const Volume rle = readVolume(pydicomFile("SC_rgb_rle.dcm"));
    for (const char* name : {"SC_rgb_jpeg_gdcm.dcm", "SC_rgb_gdcm_KY.dcm"}) {
        SCOPED_TRACE(name);
        EXPECT_LE(meanAbsoluteDifference(readVolume(pydicomFile(name)), rle), 0.01);
    }
    // Lossy JPEG (RGB and YBR encodings) stays close to it.
    for (const char* name : {"SC_rgb_dcmtk_+eb+cr.dcm", "SC_rgb_dcmtk_+eb+cy+n1.dcm",
                             "SC_rgb_dcmtk_+eb+cy+np.dcm", "SC_rgb_jpeg_dcmtk.dcm"}) {
        SCOPED_TRACE(name);
        EXPECT_LT(meanAbsoluteDifference(readVolume(pydicomFile(name)), rle), 3.0);
    }
    const Volume lossyJpeg = readVolume(pydicomFile("SC_jpeg_no_color_transform.dcm"));
    EXPECT_LT(meanAbsoluteDifference(lossyJpeg, readVolume(pydicomFile("SC_rgb_jpeg_dcmd.dcm"))),
              3.0);
}

TEST(DicomRead, MultiFrameDoseInEveryEncodingMatchesPydicom) {
    expectMatchesPydicom(pydicomFile("rtdose.dcm"));
    const Volume dose = readVolume(pydicomFile("rtdose.dcm"));
    EXPECT_EQ(dose.geometry().dims[2], 15);
    // Frames are 5 mm apart (Grid Frame Offset Vector 0, 5, 10, ...).
    EXPECT_NEAR(dose.geometry().spacing[2], 5.0, 1e-9);
    for (const char* name : {"rtdose_expb.dcm", "rtdose_rle.dcm"}) {
        SCOPED_TRACE(name);
        EXPECT_EQ(valuesOf(readVolume(pydicomFile(name))), valuesOf(dose));
    }
    for (const char* name :
         {"rtdose_1frame.dcm", "rtdose_expb_1frame.dcm", "rtdose_rle_1frame.dcm"})
        expectMatchesPydicom(pydicomFile(name));
}

TEST(DicomRead, DeflatedBigEndianAndRescaledFilesMatchPydicom) {
    expectMatchesPydicom(pydicomFile("image_dfl.dcm"));
    expectMatchesPydicom(pydicomFile("liver_1frame.dcm"));
    expectMatchesPydicom(pydicomFile("liver_expb_1frame.dcm"));
    expectMatchesPydicom(nibabelFile("nicom/tests/data/0.dcm"));
    expectMatchesPydicom(nibabelFile("nicom/tests/data/decimal_rescale.dcm"));
}

TEST(DicomRead, JpegVariantsDecode) {
    // JPGExtended is the repaired JPEG-lossy: same image. JPEG 2000 and JPEG-LS decode too.
    EXPECT_EQ(valuesOf(readVolume(pydicomFile("JPEG-lossy.dcm"))),
              valuesOf(readVolume(pydicomFile("JPGExtended.dcm"))));
    const Volume j2k = readVolume(pydicomFile("JPEG2000.dcm"));
    EXPECT_EQ(j2k.geometry().dims[0], 256);
    EXPECT_EQ(j2k.geometry().dims[1], 1024);
    EXPECT_GT(j2k.scalarRange().second, j2k.scalarRange().first);
    const Volume ct = readVolume(pydicomFile("693_J2KI.dcm"));
    EXPECT_EQ(ct.modality, "CT");
    EXPECT_EQ(ct.pixelType(), PixelType::Int16);
}

TEST(DicomRead, ShuffledFilesAreSortedByPositionAndSpacedByPositions) {
    // File names and instance numbers are shuffled; SliceThickness says 9 mm but the slices are
    // 2.5 mm apart. Stored value = x + 20 y + 300 z, rescale intercept -1024.
    ReadReport report;
    const Volume v = readVolume(fixtures() / "uniform", {}, &report);
    const auto& g = v.geometry();
    ASSERT_EQ(g.dims, (Index3{12, 10, 6}));
    EXPECT_NEAR(g.spacing[0], 0.6, 1e-9);
    EXPECT_NEAR(g.spacing[1], 0.8, 1e-9);
    EXPECT_NEAR(g.spacing[2], 2.5, 1e-9);
    EXPECT_NEAR(g.origin[0], -10, 1e-9);
    EXPECT_NEAR(g.origin[1], -20, 1e-9);
    EXPECT_NEAR(g.origin[2], 0, 1e-9);
    EXPECT_EQ(v.pixelType(), PixelType::Int16);
    for (int z = 0; z < 6; ++z)
        for (int y = 0; y < 10; y += 3)
            for (int x = 0; x < 12; x += 5)
                ASSERT_EQ(v.valueAt(x, y, z), x + 20 * y + 300 * z - 1024)
                    << x << "," << y << "," << z;
    EXPECT_TRUE(report.warnings.empty()) << report.warnings.front();
}

TEST(DicomRead, MissingSliceIsReportedNotResampled) {
    ReadReport report;
    const Volume v = readVolume(fixtures() / "missing", {}, &report);
    EXPECT_EQ(v.geometry().dims[2], 6);
    EXPECT_NEAR(v.geometry().spacing[2], 2.5, 1e-9);
    EXPECT_TRUE(anyWarningContains(report.warnings, "missing"))
        << ::testing::PrintToString(report.warnings);
    const auto series = findSeries(fixtures() / "missing");
    ASSERT_EQ(series.size(), 1u);
    EXPECT_TRUE(anyWarningContains(series.front().warnings, "missing"));
}

TEST(DicomRead, NonUniformSpacingIsReported) {
    ReadReport report;
    const Volume v = readVolume(fixtures() / "nonuniform", {}, &report);
    EXPECT_EQ(v.geometry().dims[2], 6);
    EXPECT_TRUE(anyWarningContains(report.warnings, "not uniform"))
        << ::testing::PrintToString(report.warnings);
}

TEST(DicomRead, MixedSeriesIsSplitAndReported) {
    const auto series = findSeries(fixtures() / "mixed");
    ASSERT_EQ(series.size(), 2u);
    std::vector<int> counts{series[0].imageCount, series[1].imageCount};
    std::sort(counts.begin(), counts.end());
    EXPECT_EQ(counts, (std::vector<int>{2, 4}));
    for (const auto& s : series)
        EXPECT_TRUE(anyWarningContains(s.warnings, "split"));
    EXPECT_NE(series[0].key, series[1].key);
    try {
        readVolume(fixtures() / "mixed");
        FAIL() << "two series must not be read as one";
    } catch (const ReadError& e) {
        EXPECT_NE(std::string(e.what()).find("2 series"), std::string::npos) << e.what();
    }
    for (const auto& s : series) {
        const Volume v = readSeries(s);
        EXPECT_EQ(v.geometry().dims[2], s.imageCount);
    }
}

TEST(DicomRead, CoronalDirectionCosinesAreKept) {
    const Volume v = readVolume(fixtures() / "coronal");
    const auto& d = v.geometry().direction;
    // Columns run along +x (left), rows towards the feet (-z), slices along +y (posterior).
    EXPECT_NEAR(d[0], 1, 1e-9);
    EXPECT_NEAR(d[7], -1, 1e-9);
    EXPECT_NEAR(d[5], 1, 1e-9);
    EXPECT_NEAR(v.geometry().spacing[2], 3.0, 1e-9);
    // Slice z sits at y = -20 + 3 z.
    const Vec3 p = v.geometry().indexToLps({0, 0, 2});
    EXPECT_NEAR(p[1], -14, 1e-9);
    EXPECT_EQ(v.valueAt(4, 2, 2), 4 + 40 + 600 - 1024);
}

TEST(DicomRead, EnhancedMultiFrameUsesPerFrameFunctionalGroups) {
    // Frames stored top-down with per-frame intercepts; slice z holds index + 1000 z in HU.
    const Volume v = readVolume(fixtures() / "enhanced" / "enhanced_ct.dcm");
    const auto& g = v.geometry();
    ASSERT_EQ(g.dims, (Index3{5, 6, 4}));
    EXPECT_NEAR(g.spacing[0], 0.25, 1e-9);
    EXPECT_NEAR(g.spacing[1], 0.5, 1e-9);
    EXPECT_NEAR(g.spacing[2], 1.5, 1e-9);
    EXPECT_NEAR(g.origin[2], 10, 1e-9);
    for (int z = 0; z < 4; ++z)
        for (int i = 0; i < 30; i += 7)
            EXPECT_EQ(v.valueAt(i % 5, i / 5, z), i + 1000 * z);
}

TEST(DicomRead, FractionalRescaleGivesFloatValues) {
    const Volume v = readVolume(fixtures() / "fractional");
    EXPECT_EQ(v.pixelType(), PixelType::Float32);
    EXPECT_DOUBLE_EQ(v.valueAt(3, 2, 1), 0.25 + 0.5 * (11 + 12));
    EXPECT_DOUBLE_EQ(v.valueAt(1, 0, 0), 0.75);
}

TEST(DicomRead, CtStaysInt16AndReportsClampedValues) {
    ReadReport report;
    const Volume v = readVolume(fixtures() / "ct16", {}, &report);
    EXPECT_EQ(v.pixelType(), PixelType::Int16);
    EXPECT_EQ(v.valueAt(1, 1, 0), 0);
    EXPECT_EQ(v.valueAt(1, 1, 1), 40);
    EXPECT_EQ(v.valueAt(0, 0, 1), 32767); // 60000 - 1024 does not fit int16
    EXPECT_TRUE(anyWarningContains(report.warnings, "2 voxel value(s) were outside the int16"))
        << ::testing::PrintToString(report.warnings);
}

TEST(DicomRead, DicomDirListsItsImages) {
    const auto series = findSeries(pydicomFile("dicomdirtests/DICOMDIR"));
    std::size_t files = 0;
    for (const auto& s : series) {
        files += s.files.size();
        for (const auto& f : s.files)
            EXPECT_TRUE(fs::exists(f)) << f;
    }
    // 31 IMAGE records in that DICOMDIR (counted with pydicom).
    EXPECT_EQ(files, 31u);
}

TEST(DicomRead, ProgressIsReportedAndCanCancel) {
    std::vector<double> seen;
    readVolume(fixtures() / "uniform", [&](double f) {
        seen.push_back(f);
        return true;
    });
    ASSERT_FALSE(seen.empty());
    EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end())) << ::testing::PrintToString(seen);
    EXPECT_DOUBLE_EQ(seen.back(), 1.0);
    int calls = 0;
    try {
        readVolume(fixtures() / "uniform", [&](double) { return ++calls < 2; });
        FAIL() << "cancel was ignored";
    } catch (const ReadError& e) {
        EXPECT_EQ(e.reason(), "cancelled");
    }
}

TEST(DicomRead, SummaryBuiltByHandFromFilesIsScanned) {
    SeriesSummary summary;
    summary.format = "DICOM";
    for (const auto& entry : fs::directory_iterator(fixtures() / "uniform"))
        summary.files.push_back(entry.path());
    const Volume v = readSeries(summary);
    EXPECT_EQ(v.geometry().dims[2], 6);
    EXPECT_EQ(v.valueAt(1, 1, 5), 1 + 20 + 1500 - 1024);
}
