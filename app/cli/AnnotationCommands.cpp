// radmark-cli versions --study S           one line per annotation version, with voxel counts
// radmark-cli annotations import --study S --mask FILE [--segments JSON] [--message M]
//                                          a model's mask as a new version (pre-labels)
// Both go through the store session, so roles, assignments and the access log apply, and through
// the same annotation library the workstation saves with.

#include "annotation/LabelImport.h"
#include "annotation/Version.h"
#include "app/cli/Command.h"
#include "app/cli/StoreSession.h"
#include "imaging/StudyReader.h"
#include "storage/ChunkStore.h"
#include "storage/StoredStudy.h"

#include <fstream>
#include <ostream>
#include <sstream>

namespace radmark::cli {
namespace {

using namespace radmark::annotation;

// The encrypted store's chunk table as the annotation library's ChunkStore: both key a chunk by
// the BLAKE2b-256 of its raw content and the store compresses.
class SessionChunks final : public annotation::ChunkStore {
  public:
    explicit SessionChunks(storage::Session& session) : chunks_(session.database()) {}
    bool has(const ChunkHash& hash) const override { return chunks_.contains(hash.hex()); }
    std::size_t put(const ChunkHash& hash, Bytes content) override {
        if (chunks_.put(content) != hash.hex()) {
            throw std::runtime_error("The store keyed an annotation chunk differently.");
        }
        return content.size();
    }
    Bytes get(const ChunkHash& hash) const override { return chunks_.get(hash.hex()); }

  private:
    mutable storage::ChunkStore chunks_;
};

ReviewState reviewStateOf(const std::string& stored) {
    if (stored == "approved")
        return ReviewState::Approved;
    if (stored == "rejected")
        return ReviewState::Rejected;
    return ReviewState::Unreviewed;
}

struct StudyVersions {
    std::vector<storage::AnnotationRecord> records;
    std::vector<VersionId> ids;
};

StudyVersions versionsOf(storage::Session& session, std::int64_t studyId) {
    StudyVersions result;
    result.records = session.listAnnotations(studyId);
    for (const auto& record : result.records) {
        result.ids.push_back(hashContent(session.loadAnnotation(record.id)));
    }
    return result;
}

int runVersions(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeOptions({"study"}));
    const std::string study = args.required("study");
    auto session = loginFromArguments(args, io);
    const std::int64_t studyId = session.studyIdFor(study);
    const StudyVersions found = versionsOf(session, studyId);
    SessionChunks chunks(session);
    const VersionHistory history = VersionHistory::load(chunks, found.ids);
    for (std::size_t i = 0; i < found.records.size(); ++i) {
        io.out << describeVersion(history.versions()[i],
                                  reviewStateOf(found.records[i].reviewState))
               << "\n";
    }
    if (found.records.empty())
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

    const StudyVersions found = versionsOf(session, studyId);
    SessionChunks chunks(session);
    VersionHistory history = VersionHistory::load(chunks, found.ids);
    std::optional<VersionId> parent;
    if (!found.ids.empty())
        parent = found.ids.back();
    SaveReport report;
    const Version& version =
        history.commit(labels, segments, {}, {session.userName(), message, parent, {}}, &report);
    const Bytes record = chunks.get(version.id);
    session.saveAnnotation(studyId, record, message);
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
