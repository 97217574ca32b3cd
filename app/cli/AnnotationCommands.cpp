// radmark-cli versions --study S           one line per annotation version, with voxel counts
// radmark-cli annotations digest --study S [--version ID]
//                                          a version's grid, width, SHA-256 of its label bytes
//                                          and voxel counts (the newest by default)
// radmark-cli annotations import --study S --mask FILE [--segments JSON] [--message M]
//                                          a model's mask (NIfTI, NRRD, ... or DICOM SEG) as a
//                                          new version (pre-labels)
// radmark-cli bench draft [--slices N] [--dirty N] [--repeat N] [--dir DIR]
//                                          the workstation's autosave on a 512x512xN label map
// All go through the store session, so roles, assignments and the access log apply, and through
// the same annotation library the workstation saves with.

#include "annotation/LabelImport.h"
#include "annotation/Version.h"
#include "app/cli/BenchSupport.h"
#include "app/cli/Command.h"
#include "app/cli/StoreAccessArguments.h"
#include "app/cli/StoreSession.h"
#include "imaging/StudyReader.h"
#include "imaging/decoder/IsolatedDecoder.h"
#include "storage/StoredStudy.h"
#include "storage/Studies.h"
#include "storage/Users.h"
#include "workflow/StoredAnnotations.h"

#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <ostream>
#include <sstream>

namespace radmark::cli {
namespace {

using namespace radmark::annotation;
using workflow::StoredAnnotationHistory;

int runVersions(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeAccessOptions({"study"}));
    const std::string study = args.required("study");
    const std::vector<VersionEntry> entries = storeAccessFromArguments(args, io)->versions(study);
    for (const VersionEntry& entry : entries)
        io.out << describeVersion(entry.version, storage::reviewStateName(entry.review)) << "\n";
    if (entries.empty())
        io.out << "no annotation versions for study " << study << "\n";
    return 0;
}

// A version's labels read back (and verified) as the workstation opens them, summed up so that a
// test or an auditor can compare them with a map held elsewhere without writing any label out.
int runAnnotationsDigest(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeOptions({"study", "version"}));
    const std::string study = args.required("study");
    auto session = loginFromArguments(args, io);
    const std::int64_t studyId = storage::Studies(session).idFor(study);
    StoredAnnotationHistory stored(session, studyId);
    std::optional<VersionId> id = stored.newest();
    if (auto wanted = args.option("version")) {
        id.reset();
        for (const VersionId& v : stored.stored().ids)
            if (v.hex().rfind(*wanted, 0) == 0)
                id = v;
    }
    if (!id)
        throw CommandError("no such annotation version of study " + study);
    const OpenedAnnotation opened = stored.openVersion(*id, true);
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, opened.labels.data(),
                       opened.labels.voxelCount() * std::size_t(opened.labels.width()));
    const auto& d = opened.labels.geometry().dims;
    io.out << id->hex().substr(0, 12) << " " << d[0] << "x" << d[1] << "x" << d[2] << " uint"
           << 8 * int(opened.labels.width()) << " sha256 ";
    for (unsigned char b : digest) {
        char hex[3];
        std::snprintf(hex, sizeof hex, "%02x", b);
        io.out << hex;
    }
    const auto counts = opened.labels.voxelCounts();
    for (const auto& [label, count] : counts)
        io.out << " " << label << "=" << count;
    io.out << "\n";
    if (counts != stored.history().get(*id).voxelCounts)
        throw CommandError("the version's recorded voxel counts differ from its labels'");
    return 0;
}

std::string readTextFile(const std::string& path) {
    std::ifstream in(path);
    if (!in)
        throw CommandError("cannot read " + path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

int runAnnotationsImport(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeOptions({"study", "mask", "segments", "message"}));
    const std::string study = args.required("study");
    const std::string maskPath = args.required("mask");
    const std::string definitions =
        args.option("segments") ? readTextFile(*args.option("segments")) : "";
    const std::string message = args.option("message").value_or("imported from " + maskPath);

    auto session = loginFromArguments(args, io);
    const std::int64_t studyId = storage::Studies(session).idFor(study);
    const imaging::Geometry grid =
        storage::StoredStudy::open(session, studyId).loadVolume(0).geometry();
    LabelMap labels;
    SegmentList segments;
    try {
        // The mask is untrusted input: decoded in radmark-decoder, never in this process, which
        // holds the store key (docs/isolation.md).
        decoder::DecodedMask mask = decoder::IsolatedDecoder().readMask(maskPath);
        if (mask.segmentation) {
            // A DICOM SEG names its own segments; --segments still overrides them.
            ImportedSegmentation imported = labelMapFromSegmentation(*mask.segmentation, grid);
            labels = std::move(imported.labels);
            segments = definitions.empty() ? std::move(imported.segments)
                                           : segmentsForImport(definitions, labels.voxelCounts());
        } else {
            labels = labelMapFromVolume(mask.volume, grid);
            segments = segmentsForImport(definitions, labels.voxelCounts());
        }
    } catch (const ImportError& e) {
        throw CommandError(e.what());
    } catch (const imaging::ReadError& e) {
        throw CommandError(e.what());
    }

    StoredAnnotationHistory stored(session, studyId);
    SaveReport report;
    const Version version = stored.save(labels, segments, {}, message, stored.newest(), &report);
    io.out << "imported as version " << version.id.hex().substr(0, 12) << " ("
           << report.chunksWritten << " new chunks): "
           << describeVersion(version, storage::reviewStateName(storage::ReviewState::Draft))
           << "\n";
    return 0;
}

#ifdef RADMARK_BENCHMARKS // bench draft: test builds only (app/CMakeLists.txt)
// What the workstation's autosave timer does, on the GUI thread, while the user paints: write
// the draft of a 512x512xN label map (a liver-sized segment over 100 slices) after `dirty` slices
// changed, into a real encrypted store on disk (synchronous=FULL: one fsync per draft).
int runBenchDraft(Arguments& args, CommandIo& io) {
    args.allowOnly({"slices", "dirty", "repeat", "dir"});
    const int slices = std::stoi(args.option("slices").value_or("500"));
    const int dirty = std::stoi(args.option("dirty").value_or("5"));
    const int repeat = std::stoi(args.option("repeat").value_or("20"));
    if (slices < 100 || dirty < 1 || dirty > slices || repeat < 1)
        throw CommandError("bench draft: --slices >= 100, 1 <= --dirty <= slices, --repeat >= 1");
    const ScratchFolder scratch(
        args.option("dir").value_or(std::filesystem::temp_directory_path().string()), "draft");

    // Logins are not what is measured: a cheap Argon2id keeps the set-up short.
    storage::Policy policy;
    policy.argon2MemoryBytes = 8 << 20;
    policy.argon2Operations = 1;
    const std::string password = "bench password not secret";
    storage::Store::initialise(scratch.path() / "store", "bench-admin", password, policy);
    const storage::Store store(scratch.path() / "store", policy);
    std::int64_t studyId = 0;
    {
        auto admin = store.login("bench-admin", password);
        storage::Users(admin).add("bench-annotator", storage::Role::Annotator, password);
        studyId = storage::Studies(admin).add("bench-study", "synthetic");
        storage::Studies(admin).assign("bench-annotator", studyId);
    }
    auto session = store.login("bench-annotator", password);

    imaging::Geometry g;
    g.dims = {512, 512, slices};
    g.spacing = {0.7, 0.7, 1.0};
    LabelMap labels(g);
    SegmentList segments;
    segments.add("Liver", Rgb{200, 120, 60});
    const int first = slices / 2 - 50;
    for (int z = first; z < first + 100; ++z)
        for (int y = 170; y < 330; ++y)
            for (int x = 150; x < 300; ++x)
                if ((x - 225) * (x - 225) / 75.0 / 75.0 + (y - 250) * (y - 250) / 80.0 / 80.0 <= 1)
                    labels.set(Index3{x, y, z}, 1);

    using Clock = std::chrono::steady_clock;
    const auto ms = [](Clock::duration d) {
        return std::chrono::duration<double, std::milli>(d).count();
    };
    StoredAnnotationHistory stored(session, studyId);
    SaveReport initial;
    auto start = Clock::now();
    stored.autosave(labels, segments, {}, std::nullopt, &initial);
    const double firstMs = ms(Clock::now() - start);

    std::vector<double> times;
    SaveReport last;
    for (int r = 0; r < repeat; ++r) {
        for (int k = 0; k < dirty; ++k) { // a brush stroke's worth of new voxels per slice
            const int z = first + (r * dirty + k) % 100;
            for (int y = 0; y < 10; ++y)
                for (int x = 0; x < 10; ++x)
                    labels.set(Index3{310 + x + r % 50, 200 + 12 * k + y, z}, 1);
        }
        SaveReport report;
        start = Clock::now();
        stored.autosave(labels, segments, {}, std::nullopt, &report);
        times.push_back(ms(Clock::now() - start));
        last = report;
    }
    std::sort(times.begin(), times.end());
    io.out << std::fixed << std::setprecision(1) << "autosave of a 512x512x" << slices
           << " label map, first draft of a map never stored (every slice hashed): " << firstMs
           << " ms, " << initial.chunksWritten << " chunks written\n"
           << "autosave after " << dirty << " dirty slices (" << repeat << " drafts): p50 "
           << times[times.size() / 2] << " ms, max " << times.back() << " ms, "
           << last.chunksWritten << " chunks / " << last.bytesWritten
           << " raw bytes written, in one transaction with the draft record\n";
    return 0;
}
#endif // RADMARK_BENCHMARKS

} // namespace
#ifdef RADMARK_BENCHMARKS
RADMARK_COMMAND("bench draft",
                "[--slices N] [--dirty N] [--repeat N] [--dir DIR]  autosave time of a draft "
                "with N dirty slices (default 5) of a 512x512x500 label map",
                runBenchDraft);
#endif
RADMARK_COMMAND("versions",
                "--study S [--user U] [--store DIR | --via SOCKET]  one line per annotation "
                "version (--via: through radmarkd)",
                runVersions);
RADMARK_COMMAND("annotations digest",
                "--study S [--version ID] [--user U]  grid, width, SHA-256 of a version's label "
                "bytes and its voxel counts (the newest version by default)",
                runAnnotationsDigest);
RADMARK_COMMAND("annotations import",
                "--study S --mask FILE [--segments JSON] [--message M] [--user U]  a mask (NIfTI "
                "from a model, or a DICOM SEG) as a new annotation version",
                runAnnotationsImport);
} // namespace radmark::cli
