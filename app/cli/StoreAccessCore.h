#pragma once
// The store calls behind both StoreAccess implementations: the in-process one runs them in this
// process, radmarkd's worker (service open-volume, service save-labels) runs them for a client.
// One function each, so the checks, roles, assignment and access-log entries are the same.

#include "app/cli/StoreAccess.h"

#include <functional>

namespace radmark::cli {

imaging::Volume loadStudyVolume(storage::Session& session, const std::string& study);

// Throws StoreAccessError unless a label map of dims, width and bytes fits the study's grid.
void checkLabelGrid(const imaging::Geometry& study, const imaging::Index3& dims,
                    annotation::LabelWidth width, std::uint64_t bytes);

// Makes the label map once the study's grid is known (it checks it with checkLabelGrid).
using LabelSource = std::function<annotation::LabelMap&(const imaging::Geometry& grid)>;
SavedVersion saveLabels(storage::Session& session, const std::string& study,
                        const LabelSource& labelsFor, const annotation::SegmentList& segments,
                        const std::string& message);

annotation::LabelMap labelsFromBytes(const imaging::Geometry& grid, annotation::LabelWidth width,
                                     const std::uint8_t* bytes);

} // namespace radmark::cli
