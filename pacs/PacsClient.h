#pragma once
// What Radmark asks of a PACS, whatever the protocol: find studies, list a study's series, and
// retrieve a series as instances delivered one by one as bytes in memory (a sealed memfd each,
// never a file). DicomWebClient implements it for both protocols: it hands the node to
// radmark-pacs-fetch, which speaks QIDO-RS / WADO-RS (libcurl) or C-ECHO / C-FIND / C-GET /
// C-MOVE (DCMTK's dcmnet) as the node says.
// The process that holds the store key never parses what a PACS sends: the client hands the
// instances on unread, and the isolated decoder reads them (pacs/PacsImport.h).

#include "imaging/decoder/Channel.h"

#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace radmark::pacs {

// The query fields of Import > From PACS and `radmark-cli pacs query`. Empty: not filtered.
// Dates are YYYYMMDD; a patient name may hold the wildcards * and ?.
struct StudyQuery {
    std::string patientId;
    std::string patientName;
    std::string accessionNumber;
    std::string dateFrom, dateTo;
    std::string modality;
    std::string studyDescription;
    int limit = 500; // at most this many studies

    bool empty() const {
        return patientId.empty() && patientName.empty() && accessionNumber.empty() &&
               dateFrom.empty() && dateTo.empty() && modality.empty() && studyDescription.empty();
    }
};

// What the PACS said about a study: identified values, shown to the admin who queried, never
// logged or stored.
struct StudyMatch {
    std::string studyUid;
    std::string patientId;
    std::string patientName;
    std::string accessionNumber;
    std::string studyDate;
    std::string modalities; // "CT\MR"
    std::string description;
    int seriesCount = -1; // -1: the PACS did not say
    int instanceCount = -1;
};

struct SeriesMatch {
    std::string seriesUid;
    std::string modality;
    std::string description;
    std::string seriesNumber;
    int instanceCount = -1;
};

// A query or retrieve that did not work, in one line a user can act on (no patient value).
class PacsError : public std::runtime_error {
  public:
    enum class Kind { Refused, Unreachable, Protocol, Cancelled, Other };
    PacsError(Kind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
    Kind kind() const { return kind_; }

  private:
    Kind kind_;
};

// One retrieved instance: a sealed memfd and its size. Returns false to cancel the retrieve.
using InstanceSink = std::function<bool(decoder::UniqueFd instance, std::size_t bytes)>;

class PacsClient {
  public:
    virtual ~PacsClient() = default;
    // Whether the node answers at all (C-ECHO; for DICOMweb a one-study query). Throws PacsError.
    virtual void echo() = 0;
    virtual std::vector<StudyMatch> queryStudies(const StudyQuery& query) = 0;
    virtual std::vector<SeriesMatch> querySeries(const std::string& studyUid) = 0;
    // Every instance of the series, in the order the PACS sends them. Throws PacsError.
    virtual void retrieveSeries(const std::string& studyUid, const std::string& seriesUid,
                                const InstanceSink& sink) = 0;
};

// A UID as DICOM allows it (digits and dots, at most 64): anything else from a PACS or a user
// is refused before it reaches a URL or a query.
bool validUid(const std::string& uid);

} // namespace radmark::pacs
