// radmark-cli export | audit public-key: a dataset's frozen revision exported as a signed bundle
// to one of the site policy's destinations (workflow::exportDataset, as Admin > Datasets >
// Export), and the workstation's public key for recipients to verify bundles with. The
// destinations to choose from: `radmark-cli destinations` (DestinationCommands.cpp).

#include "app/cli/Command.h"
#include "app/cli/StoreSession.h"
#include "report/PdfWriter.h"
#include "workflow/DatasetExport.h"

#include <signal.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <fstream>
#include <iomanip>
#include <ostream>
#include <sstream>

namespace radmark::cli {
namespace {

volatile std::sig_atomic_t interrupted = 0;

void onInterrupt(int) {
    interrupted = 1;
}

// Ctrl+C (SIGINT) and SIGTERM while it lives only ask the export to stop: it cancels at its next
// progress call, removes the partial bundle and logs the cancel.
class CancelOnInterrupt {
  public:
    CancelOnInterrupt() {
        struct sigaction action {};
        action.sa_handler = onInterrupt;
        sigemptyset(&action.sa_mask);
        ::sigaction(SIGINT, &action, &previousInt_);
        ::sigaction(SIGTERM, &action, &previousTerm_);
    }
    ~CancelOnInterrupt() {
        ::sigaction(SIGINT, &previousInt_, nullptr);
        ::sigaction(SIGTERM, &previousTerm_, nullptr);
    }
    CancelOnInterrupt(const CancelOnInterrupt&) = delete;
    CancelOnInterrupt& operator=(const CancelOnInterrupt&) = delete;

  private:
    struct sigaction previousInt_ {};
    struct sigaction previousTerm_ {};
};

workflow::ExportFormats parseFormats(const std::string& list) {
    workflow::ExportFormats formats{false, false, false};
    std::stringstream s(list);
    std::string name;
    while (std::getline(s, name, ',')) {
        if (name == "nnunet" || name == "nifti")
            formats.nnunet = true;
        else if (name == "seg" || name == "dicom-seg")
            formats.dicomSeg = true;
        else if (name == "boxes")
            formats.boxes = true;
        else if (!name.empty())
            throw CommandError("unknown format '" + name + "' (nnunet, seg, boxes)", 2);
    }
    if (!formats.nnunet && !formats.dicomSeg && !formats.boxes)
        throw CommandError("--formats names no format (nnunet, seg, boxes)", 2);
    return formats;
}

std::string sizeText(std::uint64_t bytes) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(1) << double(bytes) / 1e6 << " MB";
    return s.str();
}

int runExport(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeOptions({"to", "formats", "encrypt-to", "encrypt-to-file"}));
    workflow::ExportRequest request;
    request.dataset = args.positional(0, "DATASET");
    request.destination = args.required("to");
    if (auto formats = args.option("formats"))
        request.formats = parseFormats(*formats);
    request.ageRecipients = args.all("encrypt-to");
    request.ageRecipientFiles = args.all("encrypt-to-file");
    request.renderPdf = [](const report::Report& r, const report::PdfOptions& o) {
        return report::renderPdf(r, o);
    };
    report::ensureGuiApplication(); // the PDF writer's fonts, made here on the main thread

    auto session = loginFromArguments(args, io);
    const bool terminal = ::isatty(STDERR_FILENO) == 1;
    std::string lastStage;
    int lastPercent = -1;
    const CancelOnInterrupt cancelOnInterrupt;
    interrupted = 0;
    const auto progress = [&](double fraction, const std::string& stage) {
        const int percent = int(std::floor(fraction * 100));
        if (stage != lastStage || (terminal && percent != lastPercent)) {
            io.err << (terminal ? "\r\033[K" : "") << "export [" << std::setw(3) << percent << "%] "
                   << stage << (terminal ? "" : "\n") << std::flush;
            lastStage = stage;
            lastPercent = percent;
        }
        return interrupted == 0;
    };
    const auto askPassword = [&](const std::string& question) -> std::optional<std::string> {
        if (terminal)
            io.err << "\n";
        return readSecret(args, io, question);
    };
    workflow::ExportResult result;
    try {
        result = workflow::exportDataset(session, request, {}, askPassword, progress);
    } catch (const workflow::ExportRefused& e) {
        if (terminal)
            io.err << "\n";
        throw CommandError(e.what(), interrupted ? 130 : 1);
    }
    if (terminal)
        io.err << "\n";
    io.out << "exported dataset " << request.dataset << " revision " << result.revisionNumber
           << (result.newRevision ? " (new)" : " (unchanged dataset: the existing revision)")
           << " to " << request.destination << "\n"
           << "bundle\t" << result.bundleId << "\n"
           << "location\t" << result.location << "\n"
           << "revision\t" << result.revisionNumber << " sha256 " << result.revisionHash << "\n"
           << "manifest-sha256\t" << result.manifestSha256 << "\n"
           << "tagmanifest-sha256\t" << result.tagManifestSha256 << "\n"
           << "signed by\tminisign key " << result.signerKeyId << "\n"
           << "cases\t" << result.cases << "\n"
           << "files\t" << result.files << " (" << sizeText(result.bytes) << ")"
           << (result.encrypted ? ", age-encrypted" : "") << "\n";
    for (const std::string& note : result.notes)
        io.out << "note\t" << note << "\n";
    return 0;
}

int runPublicKey(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeOptions({"out"}));
    auto session = loginFromArguments(args, io);
    const std::string key = workflow::workstationPublicKey(session);
    if (auto out = args.option("out")) {
        std::ofstream file(*out, std::ios::binary | std::ios::trunc);
        file << key;
        file.close();
        if (!file)
            throw CommandError("cannot write " + *out);
        io.out << "workstation public key written to " << *out << "\n";
        return 0;
    }
    io.out << key;
    return 0;
}

} // namespace

RADMARK_COMMAND("export",
                "DATASET --to DESTINATION [--formats nnunet,seg,boxes] [--encrypt-to AGE_RECIPIENT]"
                "... [--encrypt-to-file F]... --user ADMIN  freeze, write, sign and deliver a "
                "bundle (Ctrl+C cancels)",
                runExport);
RADMARK_COMMAND("audit public-key",
                "[--out FILE] --user U  the workstation's public key (minisign format) that "
                "signs bundles and checkpoints",
                runPublicKey);

} // namespace radmark::cli
