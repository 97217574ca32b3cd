#pragma once
// Annotation versions and drafts kept in the encrypted store: the annotation library's versions
// over the store's chunk table. `radmark-cli versions`, `annotations import` and the workstation
// (Ctrl+S, autosave, recovery, the versions panel) all go through here, so roles, assignments
// and the access log apply to each.

#include "annotation/Version.h"
#include "storage/Annotations.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace radmark::workflow {

// A study's versions, oldest first: the store's records and the versions they hold.
struct StoredVersions {
    std::vector<storage::AnnotationRecord> records;
    std::vector<annotation::VersionId> ids;
};

StoredVersions storedVersions(storage::Session& session, std::int64_t studyId);

// This user's autosaved draft of a study, when it holds work newer than this user's newest
// version. Versions other annotators saved after it do not make it stale: they are named here.
struct PendingDraft {
    std::string savedUtc;                  // when it was autosaved (storage time, ISO 8601 UTC)
    std::vector<std::string> newerAuthors; // others who saved a version after it, once each
};

// The history of a study's versions, verified, for listing, opening, saving and drafts. The label
// chunks of a save or an autosave go to the store in the same transaction as their record.
class StoredAnnotationHistory {
  public:
    StoredAnnotationHistory(storage::Session& session, std::int64_t studyId);
    ~StoredAnnotationHistory();

    const StoredVersions& stored() const { return stored_; }
    const annotation::VersionHistory& history() const;
    std::optional<annotation::VersionId> newest() const;
    storage::ReviewState reviewState(const annotation::VersionId& id) const;

    // A version for viewing (read-only) or as a new draft with it as parent; logged
    // "open version" with the store's annotation id.
    annotation::OpenedAnnotation openVersion(const annotation::VersionId& id, bool readOnly);

    // Saves labels + segments + boxes as a new version with the given parent (logged "save");
    // this user's draft of the study is deleted in the same transaction. Once the store has
    // committed, it returns the version: a failure to re-read the list afterwards only leaves
    // listingProblem() set (the new record is kept without its storage time).
    annotation::Version save(annotation::LabelMap& labels, const annotation::SegmentList& segments,
                             const std::vector<annotation::Box>& boxes, const std::string& message,
                             const std::optional<annotation::VersionId>& parent,
                             annotation::SaveReport* report = nullptr);

    // The store service's save: a new version that is `parent` (a version of this study this
    // user may read: one of stored().ids, else CorruptAnnotation) with the given slices
    // replaced (annotation::VersionHistory::commitChanges), logged "save" like save().
    annotation::Version saveChanges(const annotation::VersionId& parent,
                                    const annotation::VersionHistory::ChangedChunks& changed,
                                    const annotation::SegmentList& segments,
                                    const std::vector<annotation::Box>& boxes,
                                    const std::string& message,
                                    annotation::SaveReport* report = nullptr,
                                    annotation::VersionHistory::ChunkCounts* known = nullptr);

    // A reviewer's consensus of `sources` (store annotation ids) by `method`, as a new version
    // whose record names `author` (the method and the reviewer); logged "save consensus".
    annotation::Version saveConsensus(annotation::LabelMap& labels,
                                      const annotation::SegmentList& segments,
                                      const std::string& author, const std::string& message,
                                      const std::string& method,
                                      const std::vector<std::int64_t>& sources);

    // Replaces this user's draft of the study (not logged: it runs every 30 s).
    void autosave(annotation::LabelMap& labels, const annotation::SegmentList& segments,
                  const std::vector<annotation::Box>& boxes,
                  const std::optional<annotation::VersionId>& parent,
                  annotation::SaveReport* report = nullptr);
    // The store service's autosave: chunks (one per slice) with the changed slices' bytes in
    // their place (annotation::VersionHistory::autosaveChanges; their entries in chunks are
    // not read); every other chunk must be one the store holds, which the caller checked she
    // may read. Not logged, as autosave. Returns
    // the draft's chunks.
    std::vector<imaging::ChunkHash> autosaveChanges(
        std::vector<imaging::ChunkHash> chunks, const imaging::Geometry& geometry,
        annotation::LabelWidth width, const annotation::VersionHistory::ChangedChunks& changed,
        const annotation::SegmentList& segments, const std::vector<annotation::Box>& boxes,
        const std::optional<annotation::VersionId>& parent,
        annotation::SaveReport* report = nullptr);
    // Why the list of records could not be re-read after the last save; empty when it was.
    const std::string& listingProblem() const { return listingProblem_; }

    // This user's draft unless this user saved a version after it (a save deletes the draft in
    // the same transaction, so that means a stale one). Other annotators' newer versions never
    // hide it: their work must not make this user's unsaved work disappear.
    std::optional<PendingDraft> pendingDraft();
    annotation::OpenedAnnotation recoverDraft(); // logged "recover draft"
    void discardDraft();                         // logged "discard draft"

  private:
    template <class Commit> annotation::Version saveCommitted(Commit&& commit, const std::string& message);
    struct Private;
    std::unique_ptr<Private> d;
    storage::Session& session_;
    std::int64_t studyId_;
    StoredVersions stored_;
    std::string listingProblem_;
};

} // namespace radmark::workflow
