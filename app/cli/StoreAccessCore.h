#pragma once
// The store calls behind both StoreAccess implementations: the in-process one runs them in this
// process, radmarkd's worker (service session, and the one-shot service open-volume and service
// save-labels) runs them for a client. One function each, so the checks, roles, assignment and
// access-log entries are the same.

#include "annotation/Version.h"
#include "app/cli/StoreAccess.h"
#include "imaging/decoder/Channel.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <set>
#include <vector>

namespace radmark::cli {

imaging::Volume loadStudyVolume(storage::Session& session, const std::string& study);
std::vector<VersionEntry> studyVersions(storage::Session& session, const std::string& study);
// version: hex, one of the study's versions she may read (else refused and logged); none: the
// newest (nothing when the study has no version).
std::optional<OpenedVersion> openStudyVersion(storage::Session& session, const std::string& study,
                                              const std::optional<std::string>& version,
                                              bool readOnly);

// version: hex, one of the study's versions she may read (else refused and logged).
void submitStudyVersion(storage::Session& session, const std::string& study,
                        const std::string& version);

// version, compareWith: hex, versions of the study she may read (else refused and logged).
DecisionOutcome decideOnVersion(storage::Session& session, const std::string& study,
                                const std::string& version, storage::Decision decision,
                                const std::string& message, bool resolveOpenComments,
                                const std::optional<std::string>& compareWith);

// A label map as a sealed memfd of its whole grid with only its labelled slices written: the
// others are holes, which read as zeros and take no memory (open-version, recover-draft and a
// first save send maps so; most slices of an annotation are empty).
decoder::UniqueFd memfdWithLabels(const annotation::LabelMap& labels);

// StoreAccess's comments of a version (hex), and their values on the service's channel.
std::vector<storage::ReviewComment>
versionComments(storage::Session& session, const std::string& study, const std::string& version);
storage::ReviewComment pinVersionComment(storage::Session& session, const std::string& study,
                                         const std::string& version, const imaging::Vec3& voxel,
                                         const std::string& text);
// reply: the text of a reply, none: resolve the comment.
void answerVersionComment(storage::Session& session, const std::string& study,
                          const std::string& version, std::int64_t commentId,
                          const std::optional<std::string>& reply);
nlohmann::json commentJson(const storage::ReviewComment& comment);
storage::ReviewComment commentFromJson(const nlohmann::json& comment); // throws on damage

workflow::ReviewVersion buildStudyConsensus(storage::Session& session, const std::string& study,
                                            workflow::ReviewSession::Method method);
// "vote", "staple" (on the service's channel); throws StoreAccessError for another word.
std::string consensusMethodName(workflow::ReviewSession::Method method);
workflow::ReviewSession::Method parseConsensusMethod(const std::string& name);

// StoreAccess::reviewVersions, and its rows on the service's channel.
std::vector<ReviewEntry> studyReviewVersions(storage::Session& session, const std::string& study);
nlohmann::json reviewEntriesJson(const std::vector<ReviewEntry>& entries);
std::vector<ReviewEntry> reviewEntriesFromJson(const nlohmann::json& rows); // throws on damage

std::vector<storage::ReviewEvent>
versionHistory(storage::Session& session, const std::string& study, const std::string& version);

// Drafts (StoreAccess::pendingDraft, recoverDraft, discardDraft).
std::optional<workflow::PendingDraft> studyPendingDraft(storage::Session& session,
                                                        const std::string& study);
struct RecoveredDraft {
    annotation::OpenedAnnotation annotation;
    std::vector<imaging::ChunkHash> chunks;       // the draft's, one per slice
    std::vector<imaging::ChunkHash> parentChunks; // of the version it continues, if any
};
RecoveredDraft recoverStudyDraft(storage::Session& session, const std::string& study);
void discardStudyDraft(storage::Session& session, const std::string& study);

// Throws StoreAccessError unless a label map of dims, width and bytes fits the study's grid.
void checkLabelGrid(const imaging::Geometry& study, const imaging::Index3& dims,
                    annotation::LabelWidth width, std::uint64_t bytes);

// Makes the label map once the study's grid is known (it checks it with checkLabelGrid).
using LabelSource = std::function<annotation::LabelMap&(const imaging::Geometry& grid)>;
// parent (hex): the version the labels were edited from, which must be one of the study's
// versions she may read (else refused, and the refusal logged); none: the study's newest.
SavedVersion saveLabels(storage::Session& session, const std::string& study,
                        const LabelSource& labelsFor, const annotation::SegmentList& segments,
                        const std::vector<annotation::Box>& boxes, const std::string& message,
                        const std::optional<std::string>& parent = std::nullopt);

// Some slices of a label map, one after the other in bytes (the store service's fast save).
struct ChangedSlices {
    imaging::Index3 dims{};
    annotation::LabelWidth width = annotation::LabelWidth::UInt8;
    std::vector<int> indices; // slice indices, in the order their bytes follow
    const std::uint8_t* bytes = nullptr;
    std::uint64_t byteCount = 0;
};
// The store service's autosave: per slice, the hash of content the client kept (one of
// `accepted`: chunks of parent, a version of the study she may read, or chunks this session
// wrote or recovered for the study's draft; else refused and logged) or nothing for a slice
// whose bytes follow in slices. Returns the draft's chunks.
std::vector<imaging::ChunkHash> saveDraftChanges(
    storage::Session& session, const std::string& study, const std::optional<std::string>& parent,
    const std::vector<std::optional<imaging::ChunkHash>>& kept, const ChangedSlices& slices,
    const annotation::SegmentList& segments, const std::vector<annotation::Box>& boxes,
    const std::set<imaging::ChunkHash>& accepted);

// A new version that is parent (hex; one of the study's versions she may read, else refused and
// logged) with these slices replaced: the other slices are the parent's, whatever the client
// holds there (workflow::StoredAnnotationHistory::saveChanges).
// known: the session's voxel counts by chunk hash (VersionHistory::commitChanges).
SavedVersion saveChangedSlices(storage::Session& session, const std::string& study,
                               const std::string& parent, const ChangedSlices& slices,
                               const annotation::SegmentList& segments,
                               const std::vector<annotation::Box>& boxes,
                               const std::string& message,
                               annotation::VersionHistory::ChunkCounts* known = nullptr);

annotation::LabelMap labelsFromBytes(const imaging::Geometry& grid, annotation::LabelWidth width,
                                     const std::uint8_t* bytes);

// A version's chunk hashes read from the channel (written by annotation::chunkRunsJson).
std::vector<imaging::ChunkHash> chunkRunsFromJson(const nlohmann::json& runs);

} // namespace radmark::cli
