// radmark-cli bench export --series DIR [--cases N] [--gzip-cases K] [--dir SCRATCH]
// The whole export (workflow::exportDataset, what `radmark-cli export` runs) of N cases (default
// 20) to a local folder and to a loopback SMB3 share (delivery's LoopbackSamba: smbd on
// 127.0.0.1, encryption required), in a scratch store. The cases: DIR (a series written by
// tests/data/generate_ct_series.py, e.g. 512x512x300) imported N times under new patient ids
// and UIDs (GDCM rewrites the copies: the same pixels, N studies of N patients), each annotated
// with its own label map (a liver ellipsoid that moves a little per case and the spine, and a box),
// submitted and approved. Prints, from one run: the NIfTI part in MB/s of voxel data (store read
// to closed file), its size against `gzip -6` of the same .nii, hashing against `sha256sum` on
// the same payload files, `dcm2niix -z i` on the input series, the share's time against the
// local folder's, and the export's peak
// memory (VmHWM, reset before each export) against one case's image and labels.

#include "annotation/Segment.h"
#include "app/cli/BenchSupport.h"
#include "app/cli/Command.h"
#include "bundle/Sha256.h"
#include "delivery/loopback/LoopbackSamba.h"
#include "report/PdfWriter.h"
#include "storage/Reviews.h"
#include "storage/StoredStudy.h"
#include "storage/Studies.h"
#include "storage/StudyImport.h"
#include "storage/Users.h"
#include "workflow/DatasetExport.h"
#include "workflow/Datasets.h"
#include "workflow/Review.h"
#include "workflow/StoredAnnotations.h"

#include <gdcmAttribute.h>
#include <gdcmReader.h>
#include <gdcmWriter.h>

#include <chrono>
#include <fstream>
#include <iomanip>
#include <ostream>
#include <sstream>

namespace radmark::cli {
namespace {

namespace fs = std::filesystem;
using Clock = BenchClock;

std::string loadAverage() {
    std::ifstream in("/proc/loadavg");
    std::string one, five, fifteen;
    in >> one >> five >> fifteen;
    return one + " " + five + " " + fifteen;
}

void replaceText(gdcm::DataSet& ds, std::uint16_t group, std::uint16_t element,
                 const std::string& value) {
    gdcm::DataElement e(gdcm::Tag(group, element));
    std::string v = value;
    if (v.size() % 2)
        v += group == 0x0010 ? ' ' : '\0';
    e.SetByteValue(v.data(), std::uint32_t(v.size()));
    const gdcm::DataElement& old = ds.GetDataElement(gdcm::Tag(group, element));
    e.SetVR(old.GetVR());
    ds.Replace(e);
}

std::string uidText(const gdcm::DataSet& ds, std::uint16_t group, std::uint16_t element) {
    const gdcm::DataElement& e = ds.GetDataElement(gdcm::Tag(group, element));
    if (e.IsEmpty() || !e.GetByteValue())
        return {};
    std::string s(e.GetByteValue()->GetPointer(), e.GetByteValue()->GetLength());
    while (!s.empty() && (s.back() == '\0' || s.back() == ' '))
        s.pop_back();
    return s;
}

// Copy `index` of the series: a patient and UIDs of its own (the original UID with ".9<index>"
// appended, within 64 characters), the same pixels.
void copySeries(const fs::path& from, const fs::path& to, int index) {
    fs::create_directories(to);
    for (const auto& entry : fs::directory_iterator(from)) {
        if (!entry.is_regular_file())
            continue;
        gdcm::Reader reader;
        reader.SetFileName(entry.path().c_str());
        if (!reader.Read())
            throw CommandError("cannot read " + entry.path().string() + " as DICOM");
        gdcm::File& file = reader.GetFile();
        gdcm::DataSet& ds = file.GetDataSet();
        const std::string suffix = ".9" + std::to_string(index);
        for (auto [group, element] : {std::pair{0x0020, 0x000D}, std::pair{0x0020, 0x000E},
                                      std::pair{0x0008, 0x0018}, std::pair{0x0020, 0x0052}}) {
            std::string uid = uidText(ds, std::uint16_t(group), std::uint16_t(element));
            if (uid.empty())
                continue;
            uid = uid.substr(0, 64 - suffix.size()) + suffix;
            replaceText(ds, std::uint16_t(group), std::uint16_t(element), uid);
            if (group == 0x0008 && element == 0x0018) {
                gdcm::DataElement meta(gdcm::Tag(0x0002, 0x0003));
                std::string v = uid;
                if (v.size() % 2)
                    v += '\0';
                meta.SetByteValue(v.data(), std::uint32_t(v.size()));
                meta.SetVR(gdcm::VR::UI);
                file.GetHeader().Replace(meta);
            }
        }
        replaceText(ds, 0x0010, 0x0020, "BENCH-PATIENT-" + std::to_string(index));
        replaceText(ds, 0x0010, 0x0010, "BENCH^PATIENT^" + std::to_string(index));
        gdcm::Writer writer;
        writer.SetFile(file);
        writer.SetFileName((to / entry.path().filename()).c_str());
        if (!writer.Write())
            throw CommandError("cannot write the copy " + (to / entry.path().filename()).string());
    }
}

std::uint64_t fileSize(const fs::path& p) {
    std::error_code ec;
    const auto size = fs::file_size(p, ec);
    return ec ? 0 : size;
}

std::vector<fs::path> payloadFiles(const fs::path& bag) {
    std::vector<fs::path> files;
    for (const auto& e : fs::recursive_directory_iterator(bag / "data"))
        if (e.is_regular_file())
            files.push_back(e.path());
    std::sort(files.begin(), files.end());
    return files;
}

int runBenchExport(Arguments& args, CommandIo& io) {
    args.allowOnly({"series", "cases", "gzip-cases", "dir"});
    const fs::path series = args.required("series");
    const int cases = std::stoi(args.option("cases").value_or("20"));
    const int gzipCases = std::stoi(args.option("gzip-cases").value_or("1"));
    if (cases < 2 || gzipCases < 1)
        throw CommandError("--cases needs at least 2 and --gzip-cases at least 1", 2);
    const fs::path base = args.option("dir").value_or(fs::temp_directory_path().string());
    const ScratchFolder scratchFolder(base, "export");
    const fs::path& scratch = scratchFolder.path();
    io.out << "load average at start: " << loadAverage() << "\n" << std::flush;

    // The loopback share and the policy naming both destinations.
    delivery::LoopbackSamba samba;
    fs::create_directories(samba.shareFolder() / "exports");
    samba.writeCredentialsFile(scratch / "share.credentials");
    fs::create_directories(scratch / "exports");
    storage::Policy policy;
    policy.argon2MemoryBytes = 64 * 1024;
    policy.argon2Operations = 1;
    policy.exportDestinations = {
        {"local", "", scratch / "exports", "", "", true},
        {"share", samba.url("exports"), "", scratch / "share.credentials", "", false}};
    const std::string password = "bench export password";
    storage::Store::initialise(scratch / "store", "bench-admin", password, policy);
    const storage::Store store(scratch / "store", policy);

    // The cases.
    auto start = Clock::now();
    std::vector<fs::path> sources;
    for (int i = 0; i < cases; ++i) {
        sources.push_back(scratch / "series" / ("case" + std::to_string(i)));
        copySeries(series, sources.back(), i);
    }
    const double copySeconds = secondsSince(start);
    std::vector<std::int64_t> studyIds;
    start = Clock::now();
    {
        auto admin = store.login("bench-admin", password);
        storage::Users(admin).add("bench-annotator", storage::Role::Annotator, password);
        storage::Users(admin).add("bench-reviewer", storage::Role::Reviewer, password);
        for (const auto& r : storage::importStudies(admin, sources)) {
            if (r.status != storage::ImportStatus::Imported)
                throw CommandError("a benchmark case was not imported: " + r.reason);
            studyIds.push_back(r.studyId);
            storage::Studies(admin).assign("bench-annotator", r.studyId);
        }
    }
    const double importSeconds = secondsSince(start);
    start = Clock::now();
    std::uint64_t caseBytes = 0; // one case's image and label map
    {
        auto annotator = store.login("bench-annotator", password);
        auto reviewer = store.login("bench-reviewer", password);
        for (std::size_t i = 0; i < studyIds.size(); ++i) {
            const imaging::Volume volume = storage::loadStoredVolume(annotator, studyIds[i]);
            annotation::LabelMap labels(volume.geometry());
            annotation::SegmentList segments;
            annotation::Terminology::bundled().addSegment(segments, "10200004");  // liver, 1
            annotation::Terminology::bundled().addSegment(segments, "272673000"); // bone, 2
            // Shapes as annotators draw them (smooth, per case a little different): a liver
            // ellipsoid and the spine as a cylinder, on the phantom's anatomy.
            const auto& g = volume.geometry().dims;
            const double cx = g[0] / 2.0, cy = g[1] / 2.0, cz = g[2] / 2.0;
            const double shift = double(i % 5) * 3;
            const double lx = g[0] * 0.15 + shift, ly = g[1] * 0.16, lz = g[2] * 0.3;
            const double liverX = cx - g[0] * 0.14 + shift, liverY = cy - 10;
            for (int z = 0; z < g[2]; ++z)
                for (int y = 0; y < g[1]; ++y)
                    for (int x = 0; x < g[0]; ++x) {
                        const double ex = (x - liverX) / lx, ey = (y - liverY) / ly,
                                     ez = (z - cz) / lz;
                        const double sx = (x - cx) / 20.0, sy = (y - cy - g[1] * 0.186) / 18.0;
                        if (sx * sx + sy * sy <= 1)
                            labels.set(annotation::Index3{x, y, z}, 2);
                        else if (ex * ex + ey * ey + ez * ez <= 1)
                            labels.set(annotation::Index3{x, y, z}, 1);
                    }
            const auto& d = volume.geometry().dims;
            annotation::BoxList boxes(d);
            boxes.add3D(1, "bench-annotator", {d[0] / 4, d[1] / 4, d[2] / 4},
                        {d[0] / 2, d[1] / 2, d[2] / 2});
            caseBytes = volume.byteCount() + labels.voxelCount();
            workflow::StoredAnnotationHistory history(annotator, studyIds[i]);
            history.save(labels, segments, boxes.all(), "bench labels", std::nullopt);
            const std::int64_t id = history.stored().records.back().id;
            workflow::submitForReview(annotator, id);
            workflow::ReviewSession(reviewer, studyIds[i])
                .decide(id, storage::Decision::Approve, "bench");
        }
    }
    const double annotateSeconds = secondsSince(start);
    auto admin = store.login("bench-admin", password);
    std::vector<std::string> studyNames;
    for (std::int64_t id : studyIds)
        studyNames.push_back(std::to_string(id));
    workflow::createDataset(admin, "Bench", std::nullopt, "export benchmark");
    workflow::addStudies(admin, "Bench", studyNames);
    std::ofstream(scratch / "protocol.md") << "# Bench protocol\n";
    workflow::setProtocol(admin, "Bench", scratch / "protocol.md");
    workflow::splitDataset(admin, "Bench", storage::splitSettings(1, 0.7, 0.1, 0.2));
    io.out << std::fixed << std::setprecision(2) << cases << " cases from " << series.string()
           << ": copies " << copySeconds << " s, import " << importSeconds << " s, labels and "
           << "approval " << annotateSeconds << " s\n"
           << std::flush;

    report::ensureGuiApplication();
    const auto exportTo = [&](const std::string& destination) {
        workflow::ExportRequest request;
        request.dataset = "Bench";
        request.destination = destination;
        request.renderPdf = [](const report::Report& r, const report::PdfOptions& o) {
            return report::renderPdf(r, o);
        };
        delivery::DeliveryEnvironment environment;
        environment.stagingRoot = scratch;
        resetPeakMemory();
        const double before = peakMemoryMiB();
        workflow::ExportResult result = workflow::exportDataset(admin, request, environment);
        return std::tuple{result, peakMemoryMiB(), before};
    };
    const auto [local, localPeak, localBefore] = exportTo("local");
    const auto [share, sharePeak, shareBefore] = exportTo("share");
    const fs::path bag = local.location;

    // gzip -6 on the same .nii (the first K images and labels, decompressed first).
    std::uint64_t ours = 0, gzip6 = 0;
    double gzipSeconds = 0;
    int compared = 0;
    for (const auto& entry : fs::recursive_directory_iterator(bag / "data")) {
        const std::string name = entry.path().filename().string();
        if (!entry.is_regular_file() || name.size() < 7 ||
            name.substr(name.size() - 7) != ".nii.gz" || compared >= 2 * gzipCases)
            continue;
        const fs::path nii = scratch / "plain.nii";
        runExternal(
            {"sh", "-c", "gzip -dc '" + entry.path().string() + "' > '" + nii.string() + "'"},
            "gzip");
        const ExternalRun run = runExternal(
            {"sh", "-c", "gzip -6 -c '" + nii.string() + "' > '" + nii.string() + ".gz'"}, "gzip");
        gzipSeconds += run.seconds;
        ours += fileSize(entry.path());
        gzip6 += fileSize(nii.string() + ".gz");
        fs::remove(nii);
        fs::remove(nii.string() + ".gz");
        ++compared;
    }

    // dcm2niix -z i (its built-in compressor) on the input series, in the same run.
    fs::create_directories(scratch / "dcm2niix");
    const ExternalRun dcm2niix = runExternal(
        {"dcm2niix", "-z", "i", "-f", "ct", "-o", (scratch / "dcm2niix").string(), series.string()},
        "apt-get install dcm2niix");

    // Hashing: ours (what sealing runs) against sha256sum on the same payload files.
    const std::vector<fs::path> files = payloadFiles(bag);
    std::uint64_t payloadBytes = 0;
    for (const auto& f : files)
        payloadBytes += fileSize(f);
    start = Clock::now();
    bundle::sha256Files(files, 2);
    const double oursHash = secondsSince(start);
    std::vector<std::string> words = {"sha256sum"};
    for (const auto& f : files)
        words.push_back(f.string());
    const ExternalRun sha = runExternal(words, "coreutils");

    const auto& t = local.timings;
    const double mb = double(t.niftiVoxelBytes) / 1e6;
    io.out << std::fixed << std::setprecision(2);
    io.out << "export to the local folder: " << t.totalSeconds << " s, " << local.files
           << " files, " << double(local.bytes) / 1e6 << " MB (read " << t.readSeconds
           << " s, NIfTI " << t.niftiSeconds << " s, DICOM SEG and source images " << t.dicomSeconds
           << " s, other " << t.otherSeconds << " s, seal " << t.sealSeconds << " s, deliver "
           << t.deliverSeconds << " s)\n";
    io.out << "NIfTI part: " << mb << " MB of voxels in " << t.readSeconds + t.niftiSeconds
           << " s from the store read to the closed files = "
           << mb / (t.readSeconds + t.niftiSeconds) << " MB/s (" << mb / t.niftiSeconds
           << " MB/s writing alone); " << double(t.niftiFileBytes) / 1e6 << " MB of .nii.gz\n";
    const double perCase = (t.readSeconds + t.niftiSeconds) / double(local.cases);
    io.out << "dcm2niix -z i on one series: " << dcm2niix.seconds << " s (exit " << dcm2niix.status
           << "); ours per case (image and labels, store read included): " << perCase
           << " s = " << perCase / dcm2niix.seconds << "x dcm2niix\n";
    io.out << "size against gzip -6 (" << compared << " files): ours " << double(ours) / 1e6
           << " MB, gzip -6 " << double(gzip6) / 1e6 << " MB = " << double(ours) / double(gzip6)
           << "x (gzip -6 took " << gzipSeconds << " s)\n";
    io.out << "hashing " << files.size() << " payload files (" << double(payloadBytes) / 1e6
           << " MB): ours " << oursHash << " s, sha256sum " << sha.seconds
           << " s = " << 100 * sha.seconds / oursHash << " % of sha256sum's speed; the seal took "
           << t.sealSeconds << " s\n";
    io.out << "export to the loopback share: " << share.timings.totalSeconds << " s (deliver "
           << share.timings.deliverSeconds
           << " s) = " << share.timings.totalSeconds / t.totalSeconds
           << "x the local folder; same payload: "
           << (share.manifestSha256 == local.manifestSha256 ? "yes" : "NO") << "\n";
    const double caseMiB = double(caseBytes) / (1024.0 * 1024.0);
    io.out << "peak memory during the export: local " << localPeak << " MiB (" << localBefore
           << " before), share " << sharePeak << " MiB; one case (image + labels) " << caseMiB
           << " MiB: " << localPeak / caseMiB << "x and " << sharePeak / caseMiB << "x\n";
    io.out << "load average at the end: " << loadAverage() << "\n";
    return 0;
}

} // namespace
RADMARK_COMMAND("bench export",
                "--series DIR [--cases N] [--gzip-cases K] [--dir SCRATCH]  a whole export of N "
                "copies of a generated series to a folder and a loopback share",
                runBenchExport);
} // namespace radmark::cli
