#pragma once
// Exporting a dataset (admin): one frozen revision of it, written as a signed BagIt bundle
// (nnU-Net v2 NIfTI, DICOM SEG with its de-identified source images, boxes as JSON and MONAI
// detection lists, per-case de-identification report and provenance, the datasheet, the latest
// signed audit checkpoint, the tag manifest signed in minisign's format, optionally encrypted
// with age) and delivered only to a destination of the site policy (delivery/). Admin >
// Datasets > Export and `radmark-cli export` call exportDataset; docs/export.md has the layout.

#include "delivery/Destination.h"
#include "delivery/SmbCredentials.h"
#include "report/PdfWriter.h"
#include "report/Report.h"

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace radmark::storage {
class Session;
}

namespace radmark::workflow {

struct ExportFormats {
    bool nnunet = true;   // DatasetNNN_Name/ imagesTr, labelsTr, imagesTs, labelsTs, dataset.json
    bool dicomSeg = true; // cases whose source was DICOM: SEG + the de-identified source images
    bool boxes = true;    // boxes JSON (voxel, LPS, RAS) and MONAI's detection list
};

// Renders the datasheet as PDF bytes. The PDF writer needs QtGui, which the workflow layer does
// not link, so the front ends pass report::renderPdf (radmark::report_pdf) here.
using PdfRenderer =
    std::function<std::string(const report::Report& report, const report::PdfOptions& options)>;

struct ExportRequest {
    std::string dataset;     // its name
    std::string destination; // the name of one of the policy's destinations; nothing else
    ExportFormats formats;
    // age recipients ("age1..."), or files of them: the bundle then travels as one encrypted
    // tar (bundle.tar.age) that `age -d` opens; empty: the bag as a folder.
    std::vector<std::string> ageRecipients;
    std::vector<std::string> ageRecipientFiles;
    // The datasheet's PDF (report::renderPdf); empty: the datasheet in Markdown only, and the
    // result's notes say so.
    PdfRenderer renderPdf;
};

// fraction in [0, 1] of the whole export and what is being done ("case 3 of 20: NIfTI",
// "hashing", "delivering"); false cancels: the partial bundle is removed, the export is logged
// as refused ("cancelled") and nothing that looks complete is left anywhere.
using ExportProgress = std::function<bool(double fraction, const std::string& stage)>;

// Where the time went (wall seconds), for `radmark-cli bench export`.
struct ExportTimings {
    double readSeconds = 0;            // volumes and label maps read from the store
    double niftiSeconds = 0;           // image and label .nii.gz written (read excluded)
    std::uint64_t niftiVoxelBytes = 0; // voxel bytes of the images and labels written as NIfTI
    std::uint64_t niftiFileBytes = 0;  // the .nii.gz files' sizes
    double dicomSeconds = 0;           // SEG and de-identified source images
    double otherSeconds = 0;           // boxes, reports, provenance, agreement, datasheet
    double sealSeconds = 0;            // manifests (hashing every file) and the signature
    double encryptSeconds = 0;
    double deliverSeconds = 0; // putting the bundle in place (rename, or upload to a share)
    double totalSeconds = 0;
};

struct ExportResult {
    std::string bundleId; // the bundle's folder name at the destination
    std::string location; // where it is now (smb://... or a folder)
    std::int64_t revisionId = 0;
    int revisionNumber = 0;
    std::string revisionHash;      // the frozen revision's content hash
    bool newRevision = false;      // false: an existing revision (unchanged dataset) re-exported
    std::string manifestSha256;    // of manifest-sha256.txt (payload)
    std::string tagManifestSha256; // of tagmanifest-sha256.txt (what the signature covers)
    std::string signerKeyId;       // minisign key id of the workstation key (hex)
    int cases = 0;
    std::uint64_t files = 0, bytes = 0;
    std::vector<std::string> notes; // leftovers of earlier runs removed, unapproved cases, ...
    bool encrypted = false;         // the bundle is one age file in the bundle's folder
    ExportTimings timings;
};

// A request that cannot be exported as asked (label conflicts, a case without a version, a
// destination the policy refuses, a cancelled export). The message is for the admin; the
// refusal is in the access log with its reason; nothing was left at the destination.
struct ExportRefused : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Freezes the dataset (an unchanged one keeps its revision), writes and delivers the bundle,
// and records it (export requested, refused with the reason, completed with the bundle id, the
// manifest hash and each version) in the store. Throws ExportRefused, or
// storage::PermissionDeniedError for a user who is not an admin.
ExportResult exportDataset(storage::Session& session, const ExportRequest& request,
                           const delivery::DeliveryEnvironment& environment = {},
                           const delivery::PasswordPrompt& askPassword = {},
                           const ExportProgress& progress = {});

// The destinations the admin may choose from (the store's policy), each with the decision
// whether it can be written to now: what the export dialog and `radmark-cli destinations` show.
struct ExportDestination {
    delivery::Destination destination;
    delivery::DestinationCheck check;
};
std::vector<ExportDestination>
exportDestinations(storage::Session& session,
                   const delivery::DeliveryEnvironment& environment = {});
// The same decisions for a policy read without a store (`radmark-cli destinations --policy`,
// for IT checking a policy before anyone exports).
std::vector<ExportDestination>
exportDestinations(const storage::Policy& policy,
                   const delivery::DeliveryEnvironment& environment = {});

// The workstation's public key (the one that signs audit checkpoints and bundles) in minisign's
// format, for recipients to verify bundles with (`radmark-cli audit public-key`).
std::string workstationPublicKey(storage::Session& session);

} // namespace radmark::workflow
