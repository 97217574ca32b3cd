// A mask a pipeline makes on dcm2niix's NIfTI of a generated CT (whose rows dcm2niix flips)
// imports onto the study's own voxels: the same threshold on dcm2niix's image and on Radmark's
// reading of the DICOM series gives the same label map, voxel for voxel.

#include "annotation/LabelImport.h"
#include "imaging/StudyReader.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

namespace {

namespace fs = std::filesystem;
using namespace radmark;

fs::path freshFolder(const std::string& name) {
    const fs::path dir =
        fs::temp_directory_path() / ("radmark-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

// A label map of the voxels above `hu`, on the volume's own grid.
imaging::Volume thresholded(const imaging::Volume& image, int hu) {
    imaging::Volume mask(image.geometry(), imaging::PixelType::UInt8);
    auto* out = mask.as<std::uint8_t>();
    imaging::dispatchPixel(image.pixelType(), const_cast<std::byte*>(image.data()), [&](auto* v) {
        for (std::size_t i = 0; i < image.voxelCount(); ++i)
            out[i] = double(v[i]) > hu ? 1 : 0;
    });
    return mask;
}

TEST(AnnotationImport, MaskMadeOnDcm2niixOutputImportsOntoTheRightVoxels) {
    const fs::path dir = freshFolder("dcm2niix-mask");
    const fs::path series = dir / "ct", nifti = dir / "nifti";
    fs::create_directories(nifti);
    const std::string generate = "/usr/bin/python3 " RADMARK_SOURCE_DIR
                                 "/tests/data/generate_ct_series.py --out " +
                                 series.string() + " --slices 9 --rows 40 --cols 56 > /dev/null";
    ASSERT_EQ(std::system(generate.c_str()), 0);
    const std::string convert =
        "dcm2niix -z n -f ct -o " + nifti.string() + " " + series.string() + " > /dev/null";
    ASSERT_EQ(std::system(convert.c_str()), 0);

    const imaging::Volume dicom = imaging::readVolume(series);
    const imaging::Volume converted = imaging::readVolume(nifti / "ct.nii");
    ASSERT_FALSE(converted.geometry().sameGridAs(dicom.geometry(), 1e-3))
        << "dcm2niix no longer flips the rows: this test checks nothing";

    const annotation::LabelMap fromPipeline =
        annotation::labelMapFromVolume(thresholded(converted, 100), dicom.geometry());
    const annotation::LabelMap fromStudy =
        annotation::labelMapFromVolume(thresholded(dicom, 100), dicom.geometry());
    EXPECT_GT(fromStudy.voxelCounts().at(1), 100u) << "the threshold found nothing to compare";
    EXPECT_TRUE(fromPipeline == fromStudy);
    fs::remove_all(dir);
}

} // namespace
