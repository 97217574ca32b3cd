// radmark-cli bench nifti [--series DIR] [--slices N] [--threads T] [--level L] [--repeat N]
//                         [--compare-gzip] [--compare-dcm2niix] [--dicom] [--scratch DIR]
// How fast export writes .nii.gz (imaging::writeNiftiImage, the function the export calls), on a
// generated 512x512xN CT held in memory (default N = 300) or a DICOM series read through the
// isolated decoder; with the size `gzip -6` gives on the same .nii, and `dcm2niix -z i` (its
// built-in compressor) on the same series. With --series and --dicom, also the DICOM side of
// export: a 3-segment SEG of the label map and the source images, from headers de-identified in
// the decoder as import stores them. Outputs go to memory (/dev/shm) and are removed.

#include "app/cli/BenchSupport.h"
#include "app/cli/Command.h"
#include "imaging/DicomSeg.h"
#include "imaging/NiftiWriter.h"
#include "imaging/decoder/IsolatedDecoder.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <ostream>
#include <sstream>
#include <thread>
#include <vector>

namespace radmark::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

int positiveOption(const Arguments& args, const std::string& name, int fallback) {
    const auto text = args.option(name);
    if (!text)
        return fallback;
    int value = 0;
    try {
        value = std::stoi(*text);
    } catch (...) {
    }
    if (value < 1)
        throw CommandError("--" + name + " needs a positive number", 2);
    return value;
}

// A CT-like phantom in HU: air, body (fat, soft tissue), lungs above the middle, liver below,
// spine, and scanner noise (sigma ~12 HU), so it compresses as a real CT does (about 2:1).
imaging::Volume phantomCt(int slices) {
    imaging::Geometry g;
    g.dims = {512, 512, slices};
    g.spacing = {0.7, 0.7, 1.0};
    g.origin = {-179.2, -179.2, 0};
    imaging::Volume volume = imaging::Volume::uninitialized(g, imaging::PixelType::Int16);
    volume.modality = "CT";
    auto* v = volume.as<std::int16_t>();
    std::uint64_t state = 0x9E3779B97F4A7C15ull;
    auto uniform = [&state] { // xorshift64*: fast and the same on every machine
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        return double((state * 0x2545F4914F6CDD1Dull) >> 11) / double(1ull << 53);
    };
    const double cx = 255.5, cy = 255.5;
    for (int z = 0; z < slices; ++z) {
        const double t = slices > 1 ? double(z) / (slices - 1) : 0;
        const double ax = 512 * (0.40 + 0.04 * std::sin(3 * t)), ay = 512 * 0.30;
        for (int y = 0; y < 512; ++y) {
            for (int x = 0; x < 512; ++x) {
                auto inside = [&](double ex, double ey, double rx, double ry) {
                    const double dx = (x - ex) / rx, dy = (y - ey) / ry;
                    return dx * dx + dy * dy <= 1;
                };
                double hu = -1000;
                if (inside(cx, cy, ax, ay))
                    hu = -100;
                if (inside(cx, cy, ax * 0.88, ay * 0.85))
                    hu = 40;
                if (t > 0.45 && (inside(cx - ax * 0.42, cy - 8, ax * 0.30, ay * 0.62) ||
                                 inside(cx + ax * 0.42, cy - 8, ax * 0.30, ay * 0.62)))
                    hu = -820;
                if (t <= 0.45 && inside(cx - ax * 0.35, cy - 10, ax * 0.38, ay * 0.55))
                    hu = 60;
                if (inside(cx, cy + ay * 0.62, 22, 20))
                    hu = inside(cx, cy + ay * 0.62, 22 * 0.84, 20 * 0.84) ? 700 : 1200;
                // Irwin-Hall: four uniforms make a near-normal noise of sigma 12.
                const double noise =
                    (uniform() + uniform() + uniform() + uniform() - 2) * 12 * 1.7320508075688772;
                v[volume.offset(x, y, z)] =
                    std::int16_t(std::clamp(std::lround(hu + noise), -1024L, 3071L));
            }
        }
    }
    return volume;
}

double fileMb(const fs::path& path) {
    return double(fs::file_size(path)) / 1e6;
}

std::string loadAverage() {
    std::ifstream in("/proc/loadavg");
    double one = 0, five = 0, fifteen = 0;
    in >> one >> five >> fifteen;
    std::ostringstream text;
    text << std::setprecision(2) << std::fixed << one << " " << five << " " << fifteen;
    return text.str();
}

int runBenchNifti(Arguments& args, CommandIo& io) {
    args.declareFlags({"compare-gzip", "compare-dcm2niix", "dicom"});
    args.allowOnly({"series", "slices", "threads", "level", "repeat", "scratch", "compare-gzip",
                    "compare-dcm2niix", "dicom"});
    const int repeat = positiveOption(args, "repeat", 3);
    imaging::NiftiOptions options;
    options.gzip.threads =
        positiveOption(args, "threads", int(std::thread::hardware_concurrency()));
    options.gzip.level = positiveOption(args, "level", 1);
    if (options.gzip.level > 12)
        throw CommandError("--level is 1 to 12 (libdeflate)", 2);
    const fs::path root = args.option("scratch").value_or(
        fs::is_directory("/dev/shm") ? "/dev/shm" : fs::temp_directory_path().string());
    const auto series = args.option("series");
    if ((args.flag("compare-dcm2niix") || args.flag("dicom")) && !series)
        throw CommandError("--compare-dcm2niix and --dicom need --series DIR (a DICOM series)", 2);

    const auto prepared = Clock::now();
    imaging::Volume volume;
    std::string what;
    if (series) {
        decoder::IsolatedDecoder decoder;
        volume = decoder.readVolume(*series);
        what = "series " + *series;
    } else {
        volume = phantomCt(positiveOption(args, "slices", 300));
        what = "generated CT phantom";
    }
    const auto& d = volume.geometry().dims;
    const double voxelMb = double(volume.byteCount()) / 1e6;
    io.out << std::fixed << std::setprecision(2);
    io.out << "input:        " << what << ", " << d[0] << "x" << d[1] << "x" << d[2] << " "
           << imaging::pixelTypeName(volume.pixelType()) << ", " << std::setprecision(1) << voxelMb
           << " MB of voxels in memory (made in "
           << std::chrono::duration<double>(Clock::now() - prepared).count() << " s)\n";

    const ScratchFolder scratch(root, "nifti");
    const fs::path ours = scratch.path() / "image.nii.gz";
    std::vector<double> wall, cpu;
    for (int i = 0; i < repeat; ++i) {
        const double cpuBefore = cpuSeconds();
        const auto start = Clock::now();
        imaging::writeNiftiImage(volume, ours, options);
        wall.push_back(std::chrono::duration<double>(Clock::now() - start).count());
        cpu.push_back(cpuSeconds() - cpuBefore);
    }
    std::vector<double> sorted = wall;
    std::sort(sorted.begin(), sorted.end());
    const double best = sorted.front(), median = sorted[sorted.size() / 2];
    const double oursMb = fileMb(ours);
    io.out << std::setprecision(3);
    io.out << "radmark:      libdeflate level " << options.gzip.level << ", "
           << options.gzip.threads << " thread(s), " << options.gzip.memberBytes / (1024 * 1024)
           << " MiB gzip members: best " << best << " s, median " << median << " s over " << repeat
           << " run(s), CPU " << *std::min_element(cpu.begin(), cpu.end()) << " s\n";
    io.out << std::setprecision(1) << "throughput:   " << voxelMb / best
           << " MB/s of voxels (best), " << voxelMb / median << " MB/s (median)\n";
    io.out << std::setprecision(2) << "output:       " << oursMb << " MB (" << std::setprecision(3)
           << oursMb / voxelMb << " of the voxel bytes)\n";

    if (args.flag("compare-gzip")) {
        const fs::path plain = scratch.path() / "plain.nii";
        const ExternalRun unzip =
            runExternal({"sh", "-c", "gzip -dc '" + ours.string() + "' > '" + plain.string() + "'"},
                        "package gzip");
        if (unzip.status != 0)
            throw CommandError("gzip -d could not read our output");
        const ExternalRun run =
            runExternal({"gzip", "-6", "-k", "-f", plain.string()}, "package gzip");
        if (run.status != 0)
            throw CommandError("gzip -6 failed");
        const double theirs = fileMb(scratch.path() / "plain.nii.gz");
        io.out << std::setprecision(3) << "gzip -6:      " << run.seconds << " s, "
               << std::setprecision(2) << theirs
               << " MB on the same .nii; size radmark / gzip -6 = " << std::setprecision(3)
               << oursMb / theirs << ", time " << best / run.seconds << "\n";
    }
    // A label map on the same grid, shaped as annotations are (smooth organs, not noise): the
    // phantom's liver (1) in the lower slices and its spine (2).
    std::vector<std::uint8_t> labels(volume.voxelCount());
    for (int z = 0; z < d[2]; ++z) {
        const double t = d[2] > 1 ? double(z) / (d[2] - 1) : 0;
        const double ax = d[0] * (0.40 + 0.04 * std::sin(3 * t)), ay = d[1] * 0.30;
        const double cx = d[0] / 2.0 - 0.5, cy = d[1] / 2.0 - 0.5;
        for (int y = 0; y < d[1]; ++y)
            for (int x = 0; x < d[0]; ++x) {
                auto inside = [&](double ex, double ey, double rx, double ry) {
                    const double dx = (x - ex) / rx, dy = (y - ey) / ry;
                    return dx * dx + dy * dy <= 1;
                };
                std::uint8_t label = 0;
                if (t <= 0.45 && inside(cx - ax * 0.35, cy - 10, ax * 0.38, ay * 0.55))
                    label = 1;
                if (inside(cx, cy + ay * 0.62, 22, 20))
                    label = 2;
                labels[volume.offset(x, y, z)] = label;
            }
    }
    const fs::path labelFile = scratch.path() / "labels-radmark.nii.gz";
    std::vector<double> labelWall;
    imaging::NiftiOptions labelOptions = options;
    labelOptions.gzip.level = 0; // the label default (6)
    const double labelCpuBefore = cpuSeconds();
    for (int i = 0; i < repeat; ++i) {
        const auto start = Clock::now();
        imaging::writeNiftiLabels({volume.geometry(), labels.data(), 1}, {{1, 1}, {2, 2}},
                                  labelFile, labelOptions);
        labelWall.push_back(std::chrono::duration<double>(Clock::now() - start).count());
    }
    const double labelBest = *std::min_element(labelWall.begin(), labelWall.end());
    const double labelMb = double(labels.size()) / 1e6;
    io.out << std::setprecision(3) << "labels:       uint8, libdeflate level 6: best " << labelBest
           << " s, " << std::setprecision(1) << labelMb / labelBest << " MB/s of voxels, "
           << std::setprecision(2) << fileMb(labelFile) << " MB, CPU " << std::setprecision(3)
           << (cpuSeconds() - labelCpuBefore) / repeat << " s a run";
    if (args.flag("compare-gzip")) {
        const fs::path plain = scratch.path() / "labels.nii";
        runExternal(
            {"sh", "-c", "gzip -dc '" + labelFile.string() + "' > '" + plain.string() + "'"},
            "package gzip");
        const ExternalRun run =
            runExternal({"gzip", "-6", "-k", "-f", plain.string()}, "package gzip");
        io.out << std::setprecision(3) << "; gzip -6 " << run.seconds << " s, "
               << fileMb(scratch.path() / "labels.nii.gz") << " MB, size ratio "
               << fileMb(labelFile) / fileMb(scratch.path() / "labels.nii.gz");
    }
    io.out << "\n";

    if (args.flag("dicom")) {
        // The headers as import stores them: de-identified in the decoder, without pixels.
        decoder::IsolatedDecoder decoder;
        const auto found = decoder.findSeries(*series);
        if (found.size() != 1)
            throw CommandError(*series + " holds " + std::to_string(found.size()) + " series");
        decoder::DeidentificationSettings settings;
        settings.ocr = false;
        std::vector<imaging::DicomBytes> headers;
        for (const auto& file : decoder.deidentifyFiles(found.front().files, settings))
            if (file.header)
                headers.emplace_back(file.header->begin(), file.header->end());
        std::vector<imaging::SegmentDescription> segments(3);
        for (int i = 0; i < 3; ++i) {
            segments[std::size_t(i)].labelValue = std::uint16_t(i + 1);
            segments[std::size_t(i)].name = "Segment " + std::to_string(i + 1);
            segments[std::size_t(i)].category = {"SCT", "123037004", "Anatomical Structure"};
            segments[std::size_t(i)].type = {"SCT", "10200004", "Liver"};
        }
        imaging::SegOptions segOptions;
        segOptions.contentDate = "20240101";
        segOptions.contentTime = "000000";
        segOptions.uidSeed = "bench";
        const fs::path images = scratch.path() / "images";
        fs::create_directories(images);
        const double cpuBefore = cpuSeconds();
        auto start = Clock::now();
        const imaging::DicomWritten seg =
            imaging::writeDicomSeg({volume.geometry(), labels.data(), 1}, segments, headers,
                                   segOptions, scratch.path() / "seg.dcm");
        const double segSeconds = std::chrono::duration<double>(Clock::now() - start).count();
        start = Clock::now();
        const imaging::SourceImagesWritten written =
            imaging::writeDicomSourceImages(volume, headers, images);
        const double imageSeconds = std::chrono::duration<double>(Clock::now() - start).count();
        io.out << std::setprecision(3) << "DICOM SEG:    " << seg.frames << " frames (3 segments), "
               << segSeconds << " s, " << std::setprecision(2) << double(seg.bytes) / 1e6 << " MB\n"
               << std::setprecision(3) << "source DICOM: " << written.files.size() << " images, "
               << imageSeconds << " s, " << std::setprecision(2) << double(written.bytes) / 1e6
               << " MB (CPU for both " << std::setprecision(3) << cpuSeconds() - cpuBefore
               << " s)\n";
    }

    if (args.flag("compare-dcm2niix")) {
        const fs::path out = scratch.path() / "dcm2niix";
        fs::create_directories(out);
        const ExternalRun run = runExternal(
            {"dcm2niix", "-z", "i", "-f", "ct", "-o", out.string(), *series}, "package dcm2niix");
        if (run.status != 0)
            throw CommandError("dcm2niix failed on " + *series);
        double theirs = 0;
        for (const auto& entry : fs::directory_iterator(out))
            if (entry.path().extension() == ".gz")
                theirs += fileMb(entry.path());
        io.out << std::setprecision(3) << "dcm2niix -z i: " << run.seconds << " s wall, "
               << run.cpuSeconds << " s CPU, " << std::setprecision(2) << theirs
               << " MB; time radmark / dcm2niix = " << std::setprecision(3) << best / run.seconds
               << "\n";
    }
    io.out << std::setprecision(1) << "peak memory:  " << double(peakRssKb()) * 1024 / 1e6
           << " MB for this process (the volume " << voxelMb << " MB and the label map "
           << double(labels.size()) / 1e6 << " MB are held throughout)\n";
    io.out << "load average: " << loadAverage() << " (1, 5, 15 min; "
           << std::thread::hardware_concurrency() << " cores)\n";
    return 0;
}

} // namespace
RADMARK_COMMAND("bench nifti",
                "[--series DIR] [--slices N] [--threads T] [--level L] [--repeat N] "
                "[--compare-gzip] [--compare-dcm2niix] [--dicom] [--scratch DIR]  .nii.gz export "
                "speed and size (vs gzip -6, dcm2niix -z i); --dicom: SEG and source images",
                runBenchNifti);
} // namespace radmark::cli
