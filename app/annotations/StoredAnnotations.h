#pragma once
// Annotation versions and drafts kept in the encrypted store: the annotation library's versions
// over the store's chunk table. `radmark-cli versions`, `annotations import` and the workstation
// (Ctrl+S, autosave, recovery, the versions panel) all go through here, so roles, assignments
// and the access log apply to each.

#include "annotation/Version.h"
#include "storage/Store.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace radmark::app {

// A study's versions, oldest first: the store's records and the versions they hold.
struct StoredVersions {
    std::vector<storage::AnnotationRecord> records;
    std::vector<annotation::VersionId> ids;
};

StoredVersions storedVersions(storage::Session& session, std::int64_t studyId);

// This user's autosaved draft of a study, when it holds work newer than the newest version.
struct PendingDraft {
    std::string savedUtc; // when it was autosaved (storage time, ISO 8601 UTC)
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
    annotation::ReviewState reviewState(const annotation::VersionId& id) const;

    // A version for viewing (read-only) or as a new draft with it as parent; logged
    // "open version" with the store's annotation id.
    annotation::OpenedAnnotation openVersion(const annotation::VersionId& id, bool readOnly);

    // Saves labels + segments + boxes as a new version with the given parent (logged "save");
    // this user's draft of the study is deleted in the same transaction.
    annotation::Version save(annotation::LabelMap& labels, const annotation::SegmentList& segments,
                             const std::vector<annotation::Box>& boxes, const std::string& message,
                             const std::optional<annotation::VersionId>& parent,
                             annotation::SaveReport* report = nullptr);

    // Replaces this user's draft of the study (not logged: it runs every 30 s).
    void autosave(annotation::LabelMap& labels, const annotation::SegmentList& segments,
                  const std::vector<annotation::Box>& boxes,
                  const std::optional<annotation::VersionId>& parent,
                  annotation::SaveReport* report = nullptr);
    // This user's draft when it was saved after the newest version (someone else's newer version
    // makes it stale: it is then not offered).
    std::optional<PendingDraft> pendingDraft();
    annotation::OpenedAnnotation recoverDraft(); // logged "recover draft"
    void discardDraft();                         // logged "discard draft"

private:
    struct Private;
    std::unique_ptr<Private> d;
    storage::Session& session_;
    std::int64_t studyId_;
    StoredVersions stored_;
};

annotation::ReviewState reviewStateOf(const std::string& stored);

} // namespace radmark::app
