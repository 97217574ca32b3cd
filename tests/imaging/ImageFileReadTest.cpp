// NIfTI, NRRD and MetaImage through ITK: geometry mapped to LPS, checked against nibabel and
// against small files written here with known geometry.

#include "ReferenceReader.h"
#include "imaging/StudyReader.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>

using namespace radmark::imaging;
using namespace radmark::imaging::testing;
namespace fs = std::filesystem;

namespace {

// Our LPS position of each voxel equals nibabel's RAS affine with x and y negated, and the
// voxel values agree.
void expectMatchesNibabel(const fs::path& file, const std::vector<Index3>& points) {
    SCOPED_TRACE(file.string());
    ReadReport report;
    const Volume v = readVolume(file, {}, &report);
    std::vector<std::string> arguments{"nifti", file.string()};
    for (const auto& p : points)
        arguments.push_back(std::to_string(p[0]) + "," + std::to_string(p[1]) + "," +
                            std::to_string(p[2]));
    const auto expected = reference(arguments);
    const auto affine = expected["affine"];
    for (std::size_t n = 0; n < points.size(); ++n) {
        const auto& p = points[n];
        double ras[3];
        for (int r = 0; r < 3; ++r)
            ras[r] = affine[r][0].get<double>() * p[0] + affine[r][1].get<double>() * p[1] +
                     affine[r][2].get<double>() * p[2] + affine[r][3].get<double>();
        const Vec3 lps = v.geometry().indexToLps({double(p[0]), double(p[1]), double(p[2])});
        EXPECT_NEAR(lps[0], -ras[0], 1e-3) << "voxel " << n;
        EXPECT_NEAR(lps[1], -ras[1], 1e-3) << "voxel " << n;
        EXPECT_NEAR(lps[2], ras[2], 1e-3) << "voxel " << n;
        EXPECT_NEAR(v.valueAt(p[0], p[1], p[2]), expected["values"][n].get<double>(), 1e-3)
            << "voxel " << n;
    }
}

void writeFile(const fs::path& path, const std::string& header, const std::string& payload) {
    std::ofstream out(path, std::ios::binary);
    out << header << payload;
}

template <class T> std::string rawRamp(int n) {
    std::string bytes;
    for (int i = 0; i < n; ++i) {
        const T value = T(i * 3);
        bytes.append(reinterpret_cast<const char*>(&value), sizeof value);
    }
    return bytes;
}

} // namespace

TEST(ImageFileRead, HeadMriLeftStaysLeft) {
    const fs::path file = fs::path(RADMARK_MRICRON_TEMPLATES) / "ch2.nii.gz";
    expectMatchesNibabel(file,
                         {{0, 0, 0}, {30, 100, 90}, {150, 100, 90}, {90, 108, 90}, {120, 60, 40}});
    // A point on the patient's left (LPS x = +40, RAS x = -40) must land on the voxel column
    // nibabel puts it in, and the right on the other side.
    const Volume v = readVolume(file);
    const Vec3 leftSide = v.geometry().lpsToIndex({40, 0, 0});
    const Vec3 rightSide = v.geometry().lpsToIndex({-40, 0, 0});
    const auto expected = reference({"nifti", file.string(), "0,0,0"});
    // nibabel: RAS x = a00 * i + a03, so patient left (RAS x = -40) is at i = (-40 - a03) / a00.
    const double a00 = expected["affine"][0][0].get<double>();
    const double a03 = expected["affine"][0][3].get<double>();
    EXPECT_NEAR(leftSide[0], (-40 - a03) / a00, 1e-6);
    EXPECT_NEAR(rightSide[0], (40 - a03) / a00, 1e-6);
}

TEST(ImageFileRead, NiftiFilesMatchNibabel) {
    expectMatchesNibabel(nibabelFile("tests/data/anatomical.nii"),
                         {{0, 0, 0}, {16, 20, 12}, {32, 40, 24}, {5, 30, 7}});
    expectMatchesNibabel(nibabelFile("tests/data/reoriented_anat_moved.nii"),
                         {{0, 0, 0}, {10, 13, 11}, {20, 25, 21}});
    expectMatchesNibabel(nibabelFile("tests/data/standard.nii.gz"),
                         {{0, 0, 0}, {3, 4, 6}, {1, 2, 3}});
}

TEST(ImageFileRead, FourDimensionalNiftiOpensItsFirstVolumeWithAWarning) {
    const fs::path file = nibabelFile("tests/data/example4d.nii.gz");
    expectMatchesNibabel(file, {{0, 0, 0}, {64, 48, 12}, {100, 20, 3}});
    ReadReport report;
    const Volume v = readVolume(file, {}, &report);
    EXPECT_EQ(v.geometry().dims, (Index3{128, 96, 24}));
    ASSERT_EQ(report.warnings.size(), 1u);
    EXPECT_NE(report.warnings.front().find("only the first"), std::string::npos);
    EXPECT_EQ(v.sourceFormat, "NIfTI");
}

TEST(ImageFileRead, NrrdInRasSpaceIsMappedToLps) {
    const fs::path file = fixtures() / "ras.nrrd";
    writeFile(file,
              "NRRD0004\ntype: short\ndimension: 3\nspace: right-anterior-superior\n"
              "sizes: 4 3 2\nspace directions: (2,0,0) (0,3,0) (0,0,4)\n"
              "kinds: domain domain domain\nendian: little\nencoding: raw\n"
              "space origin: (10,20,30)\n\n",
              rawRamp<std::int16_t>(24));
    const Volume v = readVolume(file);
    const auto& g = v.geometry();
    EXPECT_EQ(g.dims, (Index3{4, 3, 2}));
    EXPECT_EQ(v.pixelType(), PixelType::Int16);
    EXPECT_EQ(v.sourceFormat, "NRRD");
    EXPECT_NEAR(g.spacing[0], 2, 1e-9);
    EXPECT_NEAR(g.spacing[1], 3, 1e-9);
    EXPECT_NEAR(g.spacing[2], 4, 1e-9);
    // RAS (10, 20, 30) is LPS (-10, -20, 30); +x in RAS is -x in LPS.
    EXPECT_NEAR(g.origin[0], -10, 1e-9);
    EXPECT_NEAR(g.origin[1], -20, 1e-9);
    EXPECT_NEAR(g.origin[2], 30, 1e-9);
    EXPECT_NEAR(g.direction[0], -1, 1e-9);
    EXPECT_NEAR(g.direction[4], -1, 1e-9);
    EXPECT_NEAR(g.direction[8], 1, 1e-9);
    EXPECT_EQ(v.valueAt(3, 2, 1), 3 * (3 + 4 * 2 + 12 * 1));
}

TEST(ImageFileRead, MetaImageKeepsItsTransform) {
    const fs::path file = fixtures() / "swapped.mha";
    writeFile(file,
              "ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\n"
              "CompressedData = False\nTransformMatrix = 0 1 0 1 0 0 0 0 1\nOffset = 1 2 3\n"
              "ElementSpacing = 0.5 0.25 2\nDimSize = 4 3 2\nElementType = MET_USHORT\n"
              "ElementDataFile = LOCAL\n",
              rawRamp<std::uint16_t>(24));
    const Volume v = readVolume(file);
    const auto& g = v.geometry();
    EXPECT_EQ(v.pixelType(), PixelType::UInt16);
    EXPECT_EQ(v.sourceFormat, "MetaImage");
    EXPECT_NEAR(g.origin[0], 1, 1e-9);
    EXPECT_NEAR(g.origin[2], 3, 1e-9);
    EXPECT_NEAR(g.spacing[1], 0.25, 1e-9);
    // Index x runs along LPS y and index y along LPS x.
    EXPECT_NEAR(g.direction[3], 1, 1e-9);
    EXPECT_NEAR(g.direction[1], 1, 1e-9);
    EXPECT_NEAR(g.direction[0], 0, 1e-9);
    EXPECT_EQ(v.valueAt(1, 2, 1), 3 * (1 + 4 * 2 + 12));
}

TEST(ImageFileRead, FolderWithImageFilesListsEachAsASeries) {
    const auto series = findSeries(nibabelFile("tests/data"));
    int nifti = 0;
    for (const auto& s : series)
        nifti += s.format == "NIfTI";
    EXPECT_GE(nifti, 6);
}
