// radmark-cli bench review [--skip-itk-whole-grid]: speed and memory of the review metrics on a
// 512x512x500 grid (0.7 x 0.7 x 1.0 mm) with two ~200 mL versions of one segment differing at
// the edge, and a third for STAPLE: Dice + Jaccard, the distance metrics, majority vote and
// STAPLE of three, and ITK's HausdorffDistanceImageFilter on the same pair (whole grid, and
// cropped to the same box ours works in) in the same run, and the peak extra memory (getrusage
// maxrss). The same library calls as the review table and `review diff`.

#include "annotation/Agreement.h"
#include "annotation/Consensus.h"
#include "app/cli/Command.h"

#include <itkHausdorffDistanceImageFilter.h>
#include <itkImage.h>
#include <itkImportImageFilter.h>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <functional>
#include <ostream>
#include <vector>

namespace radmark::cli {
namespace {

using namespace radmark::annotation;

// printf into the command's output stream.
std::ostream* out = nullptr;
[[gnu::format(printf, 1, 2)]] void say(const char* format, ...) {
    char line[512];
    va_list args;
    va_start(args, format);
    std::vsnprintf(line, sizeof line, format, args);
    va_end(args);
    *out << line;
}

double peakRssMb() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return double(usage.ru_maxrss) / 1024.0; // kB on Linux
}

// Median of `runs` timings of f, in seconds.
double seconds(const std::function<void()>& f, int runs = 5) {
    std::vector<double> times;
    for (int i = 0; i < runs; ++i) {
        const auto start = std::chrono::steady_clock::now();
        f();
        times.push_back(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

// A blob around the grid centre whose radius in mm varies with direction: radius * (1 + wobble
// of the given frequencies); only the voxels of its bounding box are visited.
void paintBlob(LabelMap& labels, double radius, double amplitude, int frequency, double phase) {
    const auto& g = labels.geometry();
    const double cx = g.dims[0] / 2.0, cy = g.dims[1] / 2.0, cz = g.dims[2] / 2.0;
    const double reach = radius * (1 + amplitude) + 1;
    const int lo[3] = {int((cx * g.spacing[0] - reach) / g.spacing[0]),
                       int((cy * g.spacing[1] - reach) / g.spacing[1]),
                       int((cz * g.spacing[2] - reach) / g.spacing[2])};
    const int hi[3] = {int((cx * g.spacing[0] + reach) / g.spacing[0]) + 1,
                       int((cy * g.spacing[1] + reach) / g.spacing[1]) + 1,
                       int((cz * g.spacing[2] + reach) / g.spacing[2]) + 1};
    for (int z = lo[2]; z <= hi[2]; ++z)
        for (int y = lo[1]; y <= hi[1]; ++y)
            for (int x = lo[0]; x <= hi[0]; ++x) {
                const double dx = (x - cx) * g.spacing[0], dy = (y - cy) * g.spacing[1],
                             dz = (z - cz) * g.spacing[2];
                const double r = std::sqrt(dx * dx + dy * dy + dz * dz);
                const double theta = std::atan2(dy, dx), cosPhi = r > 0 ? dz / r : 0;
                const double edge = radius * (1 + amplitude * std::sin(frequency * theta + phase) *
                                                      std::cos(frequency * std::acos(cosPhi)));
                if (r <= edge)
                    labels.set(Index3{x, y, z}, 1);
            }
}

using ItkMask = itk::Image<std::uint8_t, 3>;

// Wraps a label map (label 1 only, so non-zero is the segment) without a copy, or copies the box.
ItkMask::Pointer asItk(const LabelMap& labels, const VoxelRegion* box = nullptr) {
    const auto& g = labels.geometry();
    Index3 first{0, 0, 0}, size = g.dims;
    if (box)
        for (int a = 0; a < 3; ++a) {
            first[a] = std::max(0, box->min[a] - 1);
            size[a] = std::min(g.dims[a] - 1, box->max[a] + 1) - first[a] + 1;
        }
    auto image = ItkMask::New();
    ItkMask::RegionType region;
    ItkMask::SpacingType spacing;
    ItkMask::PointType origin;
    for (unsigned a = 0; a < 3; ++a) {
        region.SetSize(a, itk::SizeValueType(size[a]));
        spacing[a] = g.spacing[a];
        origin[a] = g.origin[a] + first[a] * g.spacing[a];
    }
    image->SetRegions(region);
    image->SetSpacing(spacing);
    image->SetOrigin(origin);
    if (!box) {
        image->GetPixelContainer()->SetImportPointer(const_cast<std::uint8_t*>(labels.data()),
                                                     labels.voxelCount(), false);
        return image;
    }
    image->Allocate();
    std::uint8_t* out = image->GetBufferPointer();
    for (int z = 0; z < size[2]; ++z)
        for (int y = 0; y < size[1]; ++y)
            for (int x = 0; x < size[0]; ++x)
                *out++ = std::uint8_t(labels.at(Index3{first[0] + x, first[1] + y, first[2] + z}));
    return image;
}

double itkHausdorff(const ItkMask::Pointer& a, const ItkMask::Pointer& b) {
    auto filter = itk::HausdorffDistanceImageFilter<ItkMask, ItkMask>::New();
    filter->SetInput1(a);
    filter->SetInput2(b);
    filter->SetUseImageSpacing(true);
    filter->Update();
    return filter->GetHausdorffDistance();
}

struct Figures {
    double overlapSeconds, fullSeconds, stapleSeconds, voteSeconds;
};

Figures measure(const LabelMap& a, const LabelMap& b, const LabelMap& c, const char* pages) {
    const double voxels = double(a.voxelCount());
    const double rssBefore = peakRssMb();
    OverlapMeasures overlap;
    SegmentAgreement full;
    const double overlapSeconds = seconds([&] { overlap = measureOverlap(a, 1, b, 1); });
    const double fullSeconds = seconds([&] { full = compareSegment(a, 1, b, 1, 1.0); });
    const double distanceSeconds = fullSeconds - overlapSeconds;
    const double rssAfterCompare = peakRssMb();
    StapleResult consensus;
    const double stapleSeconds = seconds([&] { consensus = staple({&a, &b, &c}, 1); }, 3);
    LabelMap voted;
    const double voteSeconds = seconds([&] { voted = majorityVote({&a, &b, &c}, 1); }, 3);
    const double rssAfterConsensus = peakRssMb();

    say("-- label maps %s\n", pages);
    say("volumes %.1f mL and %.1f mL; Dice %.4f, Jaccard %.4f\n", overlap.volumeReferenceMl,
        overlap.volumeComparedMl, overlap.dice, overlap.jaccard);
    say("Hausdorff %.3f mm, HD95 %.3f mm, ASSD %.3f mm, surface Dice (1 mm) %.4f\n",
        full.distances.hausdorffMm, full.distances.hd95Mm, full.distances.assdMm,
        full.distances.surfaceDice);
    say("Dice + Jaccard (measureOverlap):               %7.3f s  (target <= 0.15 s)\n",
        overlapSeconds);
    say("all metrics (compareSegment):                  %7.3f s\n", fullSeconds);
    say("  of which HD, HD95, ASSD, surface Dice:       %7.3f s  (target <= 1 s)\n",
        distanceSeconds);
    say("STAPLE of three (%d iterations):               %7.3f s  (target <= 10 s)\n",
        consensus.iterations, stapleSeconds);
    say("majority vote of three:                        %7.3f s\n", voteSeconds);
    say("peak extra memory comparing: %.1f MB = %.3f bytes/voxel (target <= 2); with "
        "consensus (its output map is 1 byte/voxel): %.1f MB\n",
        rssAfterCompare - rssBefore, (rssAfterCompare - rssBefore) * 1048576.0 / voxels,
        rssAfterConsensus - rssBefore);

    return {overlapSeconds, fullSeconds, stapleSeconds, voteSeconds};
}

int runBenchReview(Arguments& args, CommandIo& io) {
    out = &io.out;
    args.declareFlags({"skip-itk-whole-grid"});
    args.allowOnly({"skip-itk-whole-grid"});
    const bool wholeGridItk = !args.flag("skip-itk-whole-grid");
    imaging::Geometry g;
    g.dims = {512, 512, 500};
    g.spacing = {0.7, 0.7, 1.0};
    const double radius = std::cbrt(3 * 200000.0 / (4 * M_PI)); // 200 mL = 200000 mm^3
    LabelMap a(g), b(g), c(g);
    paintBlob(a, radius, 0.03, 3, 0.0);
    paintBlob(b, radius * 1.01, 0.04, 4, 0.7);
    paintBlob(c, radius * 0.99, 0.03, 5, 1.9);
    say("grid 512 x 512 x 500 (%.0f Mvoxels, 1 byte each), spacing 0.7 x 0.7 x 1.0 mm\n",
        double(g.voxelCount()) / 1e6);

    measure(a, b, c, "as a store opens them: empty slices are untouched zero pages");
    // The worst case: every page of the three maps resident, as after editing every slice.
    for (LabelMap* m : {&a, &b, &c})
        for (int z = 0; z < m->chunkCount(); ++z)
            if (m->chunkIsEmpty(z))
                std::fill_n(m->chunkBytesForWriting(z).data(), m->chunkByteCount(), 0);
    const Figures f = measure(a, b, c, "with every page resident");
    const double fullSeconds = f.fullSeconds, distanceSeconds = f.fullSeconds - f.overlapSeconds;

    const VoxelRegion box = [&] {
        VoxelRegion r = findLabelBounds(a, 1);
        r.include(findLabelBounds(b, 1));
        return r;
    }();
    const double boxVoxels = double(box.max[0] - box.min[0] + 3) * (box.max[1] - box.min[1] + 3) *
                             (box.max[2] - box.min[2] + 3);
    say("padded union box: %.2f Mvoxels; buffers while comparing: 5 bytes per box voxel = "
        "%.1f MB (the second run's maxrss cannot show them: malloc reuses the first run's "
        "resident heap)\n",
        boxVoxels / 1e6, 5 * boxVoxels / 1048576.0);
    const auto croppedA = asItk(a, &box), croppedB = asItk(b, &box);
    double itkCropped = 0;
    const double itkCroppedSeconds =
        seconds([&] { itkCropped = itkHausdorff(croppedA, croppedB); }, 3);
    if (wholeGridItk) {
        double itkFull = 0;
        const double rssBeforeItk = peakRssMb();
        const double itkFullSeconds =
            seconds([&] { itkFull = itkHausdorff(asItk(a), asItk(b)); }, 1);
        say("ITK HausdorffDistanceImageFilter, whole grid:  %7.3f s (%.3f mm), peak +%.0f MB; "
            "ratio ours (distances) / ITK = %.4f\n",
            itkFullSeconds, itkFull, peakRssMb() - rssBeforeItk, distanceSeconds / itkFullSeconds);
    }
    say("ITK HausdorffDistanceImageFilter, same box:    %7.3f s (%.3f mm); ratio ours "
        "(all metrics) / ITK = %.3f\n",
        itkCroppedSeconds, itkCropped, fullSeconds / itkCroppedSeconds);
    return 0;
}

} // namespace

RADMARK_COMMAND("bench review",
                "[--skip-itk-whole-grid]  review metrics and consensus on 512x512x500, against ITK",
                runBenchReview);

} // namespace radmark::cli
