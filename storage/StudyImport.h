#pragma once
// Import of studies into the store (admin only): every DICOM file is de-identified in memory and
// verified, the volume is decoded from the originals at the source, and the study (per-slice
// chunks, de-identified headers without pixels, the de-identification report, the study row) is
// written with its access-log entry in ONE transaction. A study that fails verification leaves
// only its audit entry. The GUI import dialog and `radmark-cli import` both call importStudies().

#include "imaging/decoder/Channel.h"
#include "imaging/deid/ConfidentialityProfile.h"
#include "imaging/deid/KeyedIdentity.h"
#include "storage/Store.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace radmark::deid {
class TextDetector;
} // namespace radmark::deid

namespace radmark::storage {

enum class ImportStatus { Imported, AlreadyInStore, Quarantined, Failed, Cancelled };
const char* importStatusName(ImportStatus status); // "imported", "already in store", ...

// The outcome for one study (or for a source where no study could be read).
struct StudyImportResult {
    ImportStatus status = ImportStatus::Failed;
    std::filesystem::path source; // the source given by the admin that held the study
    std::int64_t studyId = 0;     // imported or already in store
    std::string label;            // pseudonym label (never a value from the source)
    std::string format;           // DICOM, NIfTI, NRRD, MetaImage
    int seriesCount = 0;
    int fileCount = 0;
    std::string reason; // why quarantined or failed; names no patient value
    // Found while reading the source (files skipped as unreadable, links refused, ...), for a
    // study imported or already in store (a refusal is its reason alone): shown, not stored.
    std::vector<std::string> warnings;
};

struct ImportOptions {
    deid::ProfileOptions profile = deid::ProfileOptions::defaults();
    // OCR over cleaned pixels; null: images that may hold burned-in text are quarantined.
    const deid::TextDetector* textDetector = nullptr;
};

// fraction in [0, 1] and what is being done ("de-identifying", "storing"); false cancels: the
// study in progress is rolled back, the ones already stored stay.
using ImportProgress = std::function<bool(double fraction, const std::string& stage)>;

// Throws PermissionDeniedError unless the session is an admin's. Per-study problems are results,
// not exceptions.
std::vector<StudyImportResult> importStudies(Session& session,
                                             const std::vector<std::filesystem::path>& sources,
                                             const ImportOptions& options = {},
                                             const ImportProgress& progress = {});

// Instances that exist only in memory (a PACS retrieve, pacs/PacsImport.h): sealed memfds that
// the isolated decoder reads as files (this process never parses them), then imported exactly as
// importStudies imports a folder: the same de-identification, verification, quarantine, "already
// in store" and report. sourceName stands for the source in the results ("PACS node X"); a file
// is named "instance K" (K from 1, in the order given). The descriptors are taken over and each
// is closed as soon as nothing needs it any more: an instance once its pixels are in the volume
// (the decoder child closes its copy then too, so the kernel frees it as the import goes on), a
// study's instances once it is stored or refused, what no series holds after the header scan.
// Admin only.
std::vector<StudyImportResult> importHeldInstances(Session& session,
                                                   std::vector<decoder::UniqueFd> sealedMemfds,
                                                   const std::string& sourceName,
                                                   const ImportOptions& options = {},
                                                   const ImportProgress& progress = {});

// A stored study found from the Study Instance UID as the source (a PACS) names it, through the
// store's keyed UID remapping: what "already in store" shows before anything is retrieved.
struct StoredSourceStudy {
    std::int64_t studyId = 0;
    std::string label;
    std::vector<std::string> storedSeriesUids; // de-identified
    // Whether the series, as the source names it, is stored.
    bool holdsSeries(Session& session, const std::string& sourceSeriesUid) const;
};
std::optional<StoredSourceStudy> findStoredStudy(Session& session,
                                                 const std::string& sourceStudyUid);

// The per-store de-identification secret (UIDs, pseudonyms, date shifts), kept inside the
// encrypted database in its own table; created (and logged) on first use. Admin only.
deid::StoreSecret storeDeidentificationSecret(Session& session);

} // namespace radmark::storage
