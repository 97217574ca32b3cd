#pragma once
// A study as import stored it: its series (volume slices as chunks), the de-identified DICOM
// headers (without pixel data, for DICOM export) and the de-identification report. Opening one
// goes through Studies::open, so roles and assignments apply and the access is logged.

#include "imaging/Volume.h"
#include "storage/Studies.h"

#include <cstdint>
#include <string>
#include <vector>

namespace radmark::storage {

struct StoredSeries {
    std::string seriesUid; // de-identified
    std::string modality;
    std::string description; // de-identified
    std::string manifest;    // chunk hash of the series manifest (geometry, slice chunks)
};

class StoredStudy {
  public:
    // Throws PermissionDeniedError (role, assignment), InvalidRequestError (no such study, or a
    // study with no stored images).
    static StoredStudy open(Session& session, std::int64_t studyId);
    // The admin's read of a study to export it (never to view it): logged "read for export".
    static StoredStudy openForExport(Session& session, std::int64_t studyId);

    const Study& study() const { return study_; }
    const std::vector<StoredSeries>& series() const { return series_; }

    imaging::Volume loadVolume(std::size_t seriesIndex = 0);
    // The series' grid and pixel type from its manifest, without reading a voxel.
    imaging::Geometry geometry(std::size_t seriesIndex = 0);
    // The de-identified DICOM datasets (file meta + header, no pixel data), one per file.
    std::vector<Bytes> loadHeaders(std::size_t seriesIndex = 0);
    std::string loadReportJson();

  private:
    static StoredStudy read(Session& session, Study study);
    StoredStudy(Session& session, Study study) : session_(&session), study_(std::move(study)) {}
    Session* session_;
    Study study_;
    std::string reportChunk_;
    std::vector<StoredSeries> series_;
};

// For the viewer: the first series of a stored study as a Volume (opening is logged).
imaging::Volume loadStoredVolume(Session& session, std::int64_t studyId);

} // namespace radmark::storage
