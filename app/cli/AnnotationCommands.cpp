// radmark-cli versions --study S           one line per annotation version, with voxel counts
// radmark-cli annotations import --study S --mask FILE [--segments JSON] [--message M]
//                                          a model's mask as a new version (pre-labels)
// Both go through the store session, so roles, assignments and the access log apply, and through
// the same annotation library the workstation saves with.

#include "annotation/LabelImport.h"
#include "annotation/Version.h"
#include "app/annotations/StoredAnnotations.h"
#include "app/cli/Command.h"
#include "app/cli/StoreSession.h"
#include "imaging/StudyReader.h"
#include "storage/StoredStudy.h"

#include <fstream>
#include <ostream>
#include <sstream>

namespace radmark::cli {
namespace {

using namespace radmark::annotation;
using app::reviewStateOf;
using app::StoredAnnotationHistory;

int runVersions(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeOptions({"study"}));
    const std::string study = args.required("study");
    auto session = loginFromArguments(args, io);
    const std::int64_t studyId = session.studyIdFor(study);
    const StoredAnnotationHistory stored(session, studyId);
    const auto& records = stored.stored().records;
    for (std::size_t i = 0; i < records.size(); ++i) {
        io.out << describeVersion(stored.history().versions()[i],
                                  reviewStateOf(records[i].reviewState))
               << "\n";
    }
    if (records.empty())
        io.out << "no annotation versions for study " << study << "\n";
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
    const std::int64_t studyId = session.studyIdFor(study);
    const imaging::Geometry grid =
        storage::StoredStudy::open(session, studyId).loadVolume(0).geometry();
    LabelMap labels;
    SegmentList segments;
    try {
        labels = labelMapFromVolume(imaging::readVolume(maskPath), grid);
        segments = segmentsForImport(definitions, labels.voxelCounts());
    } catch (const ImportError& e) {
        throw CommandError(e.what());
    }

    StoredAnnotationHistory stored(session, studyId);
    SaveReport report;
    const Version version = stored.save(labels, segments, {}, message, stored.newest(), &report);
    io.out << "imported as version " << version.id.hex().substr(0, 12) << " ("
           << report.chunksWritten
           << " new chunks): " << describeVersion(version, ReviewState::Unreviewed) << "\n";
    return 0;
}

} // namespace
RADMARK_COMMAND("versions", "--study S [--user U] [--store DIR]  one line per annotation version",
                runVersions);
RADMARK_COMMAND("annotations import",
                "--study S --mask FILE [--segments JSON] [--message M] [--user U]  a mask (e.g. "
                "NIfTI from a model) as a new annotation version",
                runAnnotationsImport);
} // namespace radmark::cli
