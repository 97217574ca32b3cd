#pragma once
// Datasets for export as the admin builds them: Admin > Datasets and `radmark-cli dataset ...`
// call these same functions (Qt-free). The rules and records are storage's (storage/Datasets.h,
// docs/datasets.md); here the chosen versions are read with the annotation library (their
// segments and parent chains), and the export's composer gets all that one frozen revision holds
// as plain values (revisionContents).

#include "storage/Datasets.h"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace radmark::workflow {

// Everything an export needs of one revision: dataset name, NNN, purpose, protocol version and
// hash, label table, split settings, and per case the study id, pseudonym, patient pseudonym,
// split, version (annotation id and hash), unapproved flag, segment label -> dataset integer,
// the version's parent chain, annotators and reviewers (people, with credentials), decisions
// with their times and the comments open at the freeze; the canonical JSON whose SHA-256 is the
// revision's hash, and the revision's parent. Frozen, so a second export of it is the same.
using DatasetRevisionContents = storage::DatasetRevision;

// A dataset as `dataset show` and the Datasets dialog present it.
struct DatasetOverview {
    storage::Dataset dataset;
    storage::LabelTable labels; // of the versions chosen now, with every conflict
    std::vector<storage::RevisionSummary> revisions;
    std::vector<storage::DatasetExport> exports; // every export ever made of it
};

// A study the admin may add as a case (Add studies...), with every version she can choose and
// its review state, oldest first (from storage::Reviews::studies).
struct CandidateVersion {
    std::int64_t annotationId = 0;
    std::string contentHash; // hex
    std::string author;
    std::string created; // UTC
    storage::ReviewState state = storage::ReviewState::Draft;
};
struct CandidateStudy {
    std::int64_t studyId = 0;
    std::string pseudonym;
    std::string modality;
    std::string description;
    std::vector<CandidateVersion> versions;
};
std::vector<CandidateStudy> candidateStudies(storage::Session& session);

storage::DatasetSummary createDataset(storage::Session& session, const std::string& name,
                                      std::optional<int> number, const std::string& purpose);
void setDatasetPurpose(storage::Session& session, const std::string& name,
                       const std::string& purpose);
std::vector<storage::DatasetSummary> listDatasets(storage::Session& session);

// Studies by pseudonym or number; a version by number or 6+ hex digits of its hash (one study).
void addStudies(storage::Session& session, const std::string& name,
                const std::vector<std::string>& studies,
                const std::optional<std::string>& version = std::nullopt);
void removeStudy(storage::Session& session, const std::string& name, const std::string& study);
// nullopt: back to the study's latest approved version.
void chooseVersion(storage::Session& session, const std::string& name, const std::string& study,
                   const std::optional<std::string>& version);

void splitDataset(storage::Session& session, const std::string& name,
                  const storage::SplitSettings& settings);
// Reads the file (Markdown or PDF) and stores it as the dataset's protocol.
storage::ProtocolVersion setProtocol(storage::Session& session, const std::string& name,
                                     const std::filesystem::path& file);
// The same with the file's bytes already read (through the store service, which opens no
// path of hers): fileName without folders.
storage::ProtocolVersion setProtocol(storage::Session& session, const std::string& name,
                                     const std::string& fileName, const storage::Bytes& content);
void mapSegmentName(storage::Session& session, const std::string& name,
                    const storage::SegmentNameMapping& mapping);
void unmapSegmentName(storage::Session& session, const std::string& name,
                      const std::string& segmentName);

// The segments and parent chain of each case's version now (each read is logged).
storage::LabelSurvey surveyLabels(storage::Session& session, const std::string& name);
// The label table the dataset would have now, with its conflicts (nothing refused).
storage::LabelTable checkLabelTable(storage::Session& session, const std::string& name);
// Freezes the dataset as it is now (storage::Datasets::freezeRevision: refused and logged
// with the cases named; the existing revision when nothing changed).
storage::FrozenRevision freezeRevision(storage::Session& session, const std::string& name);

DatasetOverview showDataset(storage::Session& session, const std::string& name);

DatasetRevisionContents revisionContents(storage::Session& session, std::int64_t revisionId);

// "SCHEME:CODE:MEANING" (the meaning may hold ':'), e.g. "SCT:10200004:Liver".
// Throws storage::InvalidRequestError.
storage::CodedTerm parseCodedTerm(std::string_view text);

} // namespace radmark::workflow
