#pragma once
// Annotation versions kept in the encrypted store: the annotation library's versions over the
// store's chunk table. `radmark-cli versions`, `annotations import` and the workstation's
// Ctrl+S all go through here, so roles, assignments and the access log apply to each.

#include "annotation/Version.h"
#include "storage/Store.h"

#include <cstdint>
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

// The history of a study's versions, verified, for listing or opening.
class StoredAnnotationHistory {
public:
    StoredAnnotationHistory(storage::Session& session, std::int64_t studyId);
    ~StoredAnnotationHistory();

    const StoredVersions& stored() const { return stored_; }
    const annotation::VersionHistory& history() const;
    // The newest version as an editable draft; nullopt when the study has none.
    std::optional<annotation::OpenedAnnotation> latestDraft() const;
    // Saves labels + segments + boxes as a new version on top of the newest (logged "save").
    annotation::Version save(annotation::LabelMap& labels, const annotation::SegmentList& segments,
                             const std::vector<annotation::Box>& boxes, const std::string& message,
                             annotation::SaveReport* report = nullptr);

private:
    struct Private;
    std::unique_ptr<Private> d;
    storage::Session& session_;
    std::int64_t studyId_;
    StoredVersions stored_;
};

annotation::ReviewState reviewStateOf(const std::string& stored);

} // namespace radmark::app
