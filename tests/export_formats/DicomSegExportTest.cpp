// DICOM SEG and the source images of export, proven by pydicom and dciodvfy
// (tests/export_formats/check_seg.py): every frame of every segment decoded and compared with the
// label map, 7x9 frames (not a whole number of bytes), hundreds of frames, empty frames, the
// Segment Sequence codes, references, dimension indices; the source images' HU; no dciodvfy
// error. The headers are what import stores: de-identified by our engine, pixels removed. Then
// Radmark re-imports its own SEG voxel for voxel, and the same input gives the same bytes.

#include "ExportFormatsSupport.h"
#include "annotation/LabelImport.h"
#include "imaging/DicomSeg.h"
#include "imaging/StudyReader.h"
#include "imaging/decoder/IsolatedDecoder.h"
#include "imaging/deid/Deidentifier.h"

#include <gdcmReader.h>
#include <gdcmWriter.h>

#include <gtest/gtest.h>

#include <sstream>

namespace {

using namespace radmark;
using namespace radmark::exportformats::test;
using imaging::Index3;

struct Series {
    fs::path folder;
    imaging::Volume volume;                   // as the store keeps it (HU, int16)
    std::vector<imaging::DicomBytes> headers; // as import stores them
};

// A generated series, de-identified as import does it, each header without its pixel data.
Series generatedSeries(const fs::path& dir, int rows, int columns, int slices, bool oblique) {
    Series s;
    s.folder = dir / "source";
    const std::string command = "/usr/bin/python3 " RADMARK_SOURCE_DIR
                                "/tests/export_formats/make_series.py --out " +
                                s.folder.string() + " --rows " + std::to_string(rows) + " --cols " +
                                std::to_string(columns) + " --slices " + std::to_string(slices) +
                                (oblique ? " --oblique" : "");
    if (std::system(command.c_str()) != 0)
        throw std::runtime_error("make_series.py failed");
    s.volume = imaging::readVolume(s.folder);
    const deid::StoreSecret secret = deid::StoreSecret::random();
    const deid::Deidentifier engine(deid::ConfidentialityProfile::standard(),
                                    deid::ProfileOptions::defaults(), secret,
                                    &deid::BurnedInTextRules::standard());
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(s.folder))
        files.push_back(entry.path());
    std::sort(files.begin(), files.end()); // file order, not slice order
    for (const auto& file : files) {
        gdcm::Reader reader;
        reader.SetFileName(file.c_str());
        if (!reader.Read())
            throw std::runtime_error("unreadable " + file.string());
        const deid::FileResult result = engine.deidentify(reader.GetFile());
        if (result.quarantined)
            throw std::runtime_error("quarantined: " + result.reason);
        reader.GetFile().GetDataSet().Remove(gdcm::Tag(0x7FE0, 0x0010));
        std::ostringstream out;
        gdcm::Writer writer;
        writer.SetFile(reader.GetFile());
        writer.SetStream(out);
        if (!writer.Write())
            throw std::runtime_error("header not written");
        const std::string bytes = std::move(out).str();
        s.headers.emplace_back(bytes.begin(), bytes.end());
    }
    return s;
}

imaging::SegmentDescription segment(std::uint16_t label, std::string name, std::string code,
                                    std::string meaning) {
    imaging::SegmentDescription d;
    d.labelValue = label;
    d.name = std::move(name);
    d.rgb = {std::uint8_t(40 * label), 120, std::uint8_t(255 - 20 * label)};
    d.category = {"SCT", "123037004", "Anatomical Structure"};
    d.type = {"SCT", std::move(code), std::move(meaning)};
    return d;
}

imaging::SegOptions segOptions(std::string seed = "dataset 1 revision 1 / case 1") {
    imaging::SegOptions o;
    o.contentDate = "20240601";
    o.contentTime = "120000";
    o.uidSeed = std::move(seed);
    o.contentDescription = "Radmark export test";
    return o;
}

nlohmann::json segmentsJson(const std::vector<imaging::SegmentDescription>& segments) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& s : segments)
        list.push_back({{"label", s.labelValue},
                        {"name", s.name},
                        {"category", {s.category.scheme, s.category.code, s.category.meaning}},
                        {"type", {s.type.scheme, s.type.code, s.type.meaning}}});
    return list;
}

// Writes labels as raw little-endian uint16 (z, y, x) for the checker.
void writeLabels(const fs::path& file, const std::vector<std::uint8_t>& labels, int bytesPerLabel) {
    std::ofstream out(file, std::ios::binary);
    for (std::size_t i = 0; i < labels.size(); i += std::size_t(bytesPerLabel)) {
        const std::uint16_t v = bytesPerLabel == 1 ? labels[i] : labels[i] | (labels[i + 1] << 8);
        out.put(char(v & 0xff)).put(char(v >> 8));
    }
}

// Exports SEG and source images of `labels` and runs the independent checks on them.
void exportAndCheck(const fs::path& dir, const Series& series,
                    const std::vector<std::uint8_t>& labels, int bytesPerLabel,
                    const std::vector<imaging::SegmentDescription>& segments) {
    const imaging::Geometry& g = series.volume.geometry();
    const imaging::LabelVoxels voxels{g, labels.data(), bytesPerLabel};
    const fs::path seg = dir / "seg.dcm", images = dir / "images";
    fs::create_directories(images);
    const imaging::DicomWritten written =
        imaging::writeDicomSeg(voxels, segments, series.headers, segOptions(), seg);
    EXPECT_EQ(written.frames, int(segments.size()) * g.dims[2]);
    EXPECT_EQ(written.bytes, fs::file_size(seg));
    const imaging::SourceImagesWritten sources =
        imaging::writeDicomSourceImages(series.volume, series.headers, images);
    EXPECT_EQ(sources.files.size(), std::size_t(g.dims[2]));
    writeLabels(dir / "labels.u16", labels, bytesPerLabel);
    const nlohmann::json spec = {{"seg", seg.string()},
                                 {"images", images.string()},
                                 {"original", series.folder.string()},
                                 {"labels", (dir / "labels.u16").string()},
                                 {"dims", g.dims},
                                 {"segments", segmentsJson(segments)},
                                 {"sopInstanceUid", written.sopInstanceUid}};
    std::string output;
    EXPECT_EQ(runChecker("check_seg.py", spec, dir, output), 0) << output;
}

std::vector<std::uint8_t> patternLabels(const imaging::Geometry& g,
                                        const std::vector<std::uint16_t>& values, int bytes,
                                        int emptyFromSlice) {
    std::vector<std::uint8_t> labels(g.voxelCount() * std::size_t(bytes));
    std::size_t i = 0;
    for (int z = 0; z < g.dims[2]; ++z)
        for (int y = 0; y < g.dims[1]; ++y)
            for (int x = 0; x < g.dims[0]; ++x, ++i) {
                std::uint16_t v =
                    values[std::size_t(x * 3 + y * 5 + z * 2 + x * y) % values.size()];
                // The last value only on the first slices: its other frames are empty.
                if (v == values.back() && z >= emptyFromSlice)
                    v = 0;
                if (bytes == 1) {
                    labels[i] = std::uint8_t(v);
                } else {
                    labels[2 * i] = std::uint8_t(v & 0xff);
                    labels[2 * i + 1] = std::uint8_t(v >> 8);
                }
            }
    return labels;
}

TEST(DicomSegExport, OddFramesOf7x9PixelsDecodeVoxelForVoxelAndPassDciodvfy) {
    const fs::path dir = freshFolder("seg-7x9");
    const Series series = generatedSeries(dir, 9, 7, 10, true);
    const imaging::Geometry& g = series.volume.geometry();
    ASSERT_EQ(g.dims, (imaging::Index3{7, 9, 10}));
    const auto labels = patternLabels(g, {0, 5, 0, 9}, 1, 3);
    exportAndCheck(
        dir, series, labels, 1,
        {segment(5, "Liver", "10200004", "Liver"), segment(9, "Spleen", "78961009", "Spleen")});
    fs::remove_all(dir);
}

TEST(DicomSegExport, HundredsOfFramesWithSixteenBitLabelsAndEmptyFrames) {
    const fs::path dir = freshFolder("seg-many");
    const Series series = generatedSeries(dir, 17, 33, 120, true);
    const imaging::Geometry& g = series.volume.geometry();
    const auto labels = patternLabels(g, {0, 1, 2, 0, 300}, 2, 7);
    exportAndCheck(dir, series, labels, 2,
                   {segment(1, "Liver", "10200004", "Liver"),
                    segment(2, "Kidney", "64033007", "Kidney"),
                    segment(300, "Lesion", "52988006", "Lesion")});
    fs::remove_all(dir);
}

TEST(DicomSegExport, RadmarkReimportsItsOwnSegVoxelForVoxel) {
    const fs::path dir = freshFolder("seg-reimport");
    const Series series = generatedSeries(dir, 9, 7, 12, true);
    const imaging::Geometry& g = series.volume.geometry();
    const auto labels = patternLabels(g, {0, 1, 2, 3}, 1, 4);
    const std::vector<imaging::SegmentDescription> segments = {
        segment(1, "Liver", "10200004", "Liver"), segment(2, "Spleen", "78961009", "Spleen"),
        segment(3, "Lesion", "52988006", "Lesion")};
    imaging::writeDicomSeg({g, labels.data(), 1}, segments, series.headers, segOptions(),
                           dir / "seg.dcm");
    ASSERT_TRUE(imaging::isDicomSegmentation(dir / "seg.dcm"));
    EXPECT_FALSE(imaging::isDicomSegmentation(series.folder / "IM0000.dcm"));
    const imaging::DicomSegmentation read = imaging::readDicomSegmentation(dir / "seg.dcm");
    // What annotation import gets: the same SEG read in the decoder child (docs/isolation.md).
    const decoder::DecodedMask isolated = decoder::IsolatedDecoder().readMask(dir / "seg.dcm");
    ASSERT_TRUE(isolated.segmentation);
    EXPECT_EQ(isolated.segmentation->rows, read.rows);
    EXPECT_EQ(isolated.segmentation->columns, read.columns);
    EXPECT_EQ(isolated.segmentation->segments, read.segments);
    EXPECT_EQ(isolated.segmentation->packedBits, read.packedBits);
    ASSERT_EQ(isolated.segmentation->frames.size(), read.frames.size());
    for (std::size_t f = 0; f < read.frames.size(); ++f) {
        EXPECT_EQ(isolated.segmentation->frames[f].segmentNumber, read.frames[f].segmentNumber);
        EXPECT_EQ(isolated.segmentation->frames[f].position, read.frames[f].position);
        EXPECT_EQ(isolated.segmentation->frames[f].rowSpacing, read.frames[f].rowSpacing);
    }
    const annotation::ImportedSegmentation imported = annotation::labelMapFromSegmentation(read, g);
    ASSERT_EQ(imported.labels.width(), annotation::LabelWidth::UInt8);
    EXPECT_EQ(0, std::memcmp(imported.labels.data(), labels.data(), labels.size()));
    ASSERT_EQ(imported.segments.size(), 3u);
    EXPECT_EQ(imported.segments.get(2).name, "Spleen");
    EXPECT_EQ(imported.segments.get(2).type->code, "78961009");
    EXPECT_EQ(imported.segments.get(3).category->meaning, "Anatomical Structure");
    // The colour survives the trip through CIELab.
    const auto& colour = imported.segments.get(3).colour;
    EXPECT_NEAR(colour.r, segments[2].rgb[0], 1);
    EXPECT_NEAR(colour.g, segments[2].rgb[1], 1);
    EXPECT_NEAR(colour.b, segments[2].rgb[2], 1);

    // On a study grid holding the same voxels with its rows the other way (as dcm2niix writes a
    // plain axial CT), each frame lands on the same voxels; half a voxel off is refused.
    imaging::Geometry flipped = g;
    for (int k = 0; k < 3; ++k) {
        flipped.origin[std::size_t(k)] +=
            g.direction[std::size_t(3 * k + 1)] * g.spacing[1] * (g.dims[1] - 1);
        flipped.direction[std::size_t(3 * k + 1)] = -g.direction[std::size_t(3 * k + 1)];
    }
    const auto onFlipped = annotation::labelMapFromSegmentation(read, flipped);
    for (int z = 0; z < g.dims[2]; ++z)
        for (int y = 0; y < g.dims[1]; ++y)
            for (int x = 0; x < g.dims[0]; ++x)
                ASSERT_EQ(onFlipped.labels.at(Index3{x, g.dims[1] - 1 - y, z}),
                          labels[std::size_t((z * g.dims[1] + y) * g.dims[0] + x)]);
    imaging::Geometry shifted = g;
    for (int k = 0; k < 3; ++k)
        shifted.origin[std::size_t(k)] += 0.5 * g.direction[std::size_t(3 * k)] * g.spacing[0];
    EXPECT_THROW(annotation::labelMapFromSegmentation(read, shifted), annotation::ImportError);

    // Labels that are not 1..N come back as segment numbers, in the order given.
    const auto sparse = patternLabels(g, {0, 5, 9}, 1, 4);
    imaging::writeDicomSeg(
        {g, sparse.data(), 1},
        {segment(9, "Spleen", "78961009", "Spleen"), segment(5, "Liver", "10200004", "Liver")},
        series.headers, segOptions(), dir / "sparse.dcm");
    const auto back =
        annotation::labelMapFromSegmentation(imaging::readDicomSegmentation(dir / "sparse.dcm"), g);
    for (std::size_t i = 0; i < sparse.size(); ++i)
        ASSERT_EQ(back.labels.at(i), sparse[i] == 9 ? 1 : sparse[i] == 5 ? 2 : 0) << i;
    fs::remove_all(dir);
}

TEST(DicomSegExport, SameInputSameBytesAndAnotherSeedOtherUids) {
    const fs::path dir = freshFolder("seg-stable");
    const Series series = generatedSeries(dir, 9, 7, 6, false);
    const imaging::Geometry& g = series.volume.geometry();
    const auto labels = patternLabels(g, {0, 1}, 1, 6);
    const std::vector<imaging::SegmentDescription> segments = {
        segment(1, "Liver", "10200004", "Liver")};
    imaging::DicomWritten first, second, other;
    const auto a = imaging::dicomSegBytes({g, labels.data(), 1}, segments, series.headers,
                                          segOptions(), &first);
    auto shuffled = series.headers;
    std::reverse(shuffled.begin(), shuffled.end()); // header order does not matter
    const auto b =
        imaging::dicomSegBytes({g, labels.data(), 1}, segments, shuffled, segOptions(), &second);
    EXPECT_EQ(a, b);
    // The file is the same bytes as the buffer.
    imaging::writeDicomSeg({g, labels.data(), 1}, segments, series.headers, segOptions(),
                           dir / "seg.dcm");
    EXPECT_EQ(fileBytes(dir / "seg.dcm"), a);
    imaging::dicomSegBytes({g, labels.data(), 1}, segments, series.headers,
                           segOptions("dataset 1 revision 2 / case 1"), &other);
    EXPECT_NE(first.sopInstanceUid, other.sopInstanceUid);
    EXPECT_NE(first.seriesInstanceUid, other.seriesInstanceUid);
    EXPECT_EQ(first.sopInstanceUid.rfind("2.25.", 0), 0u);
    EXPECT_LE(first.sopInstanceUid.size(), 64u);

    // Source images: the same bytes twice.
    fs::create_directories(dir / "one");
    fs::create_directories(dir / "two");
    const auto one = imaging::writeDicomSourceImages(series.volume, series.headers, dir / "one");
    const auto two = imaging::writeDicomSourceImages(series.volume, shuffled, dir / "two");
    ASSERT_EQ(one.files.size(), two.files.size());
    for (std::size_t i = 0; i < one.files.size(); ++i)
        EXPECT_EQ(fileBytes(one.files[i]), fileBytes(two.files[i])) << one.files[i];
    fs::remove_all(dir);
}

TEST(DicomSegExport, RefusesWhatASegCannotSay) {
    const fs::path dir = freshFolder("seg-refused");
    const Series series = generatedSeries(dir, 9, 7, 4, false);
    const imaging::Geometry& g = series.volume.geometry();
    const auto labels = patternLabels(g, {0, 1}, 1, 4);
    auto uncoded = segment(1, "Mystery", "", "");
    EXPECT_THROW(
        imaging::dicomSegBytes({g, labels.data(), 1}, {uncoded}, series.headers, segOptions()),
        imaging::DicomExportError);
    // A labelled voxel no segment describes.
    EXPECT_THROW(imaging::dicomSegBytes({g, labels.data(), 1},
                                        {segment(2, "Liver", "10200004", "Liver")}, series.headers,
                                        segOptions()),
                 imaging::DicomExportError);
    // Headers of a series with another slice count.
    auto fewer = series.headers;
    fewer.pop_back();
    EXPECT_THROW(imaging::dicomSegBytes({g, labels.data(), 1},
                                        {segment(1, "Liver", "10200004", "Liver")}, fewer,
                                        segOptions()),
                 imaging::DicomExportError);
    // A floating-point volume cannot go back into its CT images.
    imaging::Volume fractional(g, imaging::PixelType::Float32);
    EXPECT_THROW(imaging::writeDicomSourceImages(fractional, series.headers, dir),
                 imaging::DicomExportError);
    fs::remove_all(dir);
}

} // namespace
