// radmark-cli bundle verify PATH [--public-key K]: checks an exported bundle from its files
// alone (no store, no password) and says what it holds; exit 0 only when everything holds.

#include "app/cli/Command.h"
#include "bundle/BagLayout.h"
#include "bundle/Errors.h"
#include "bundle/Verify.h"

#include <filesystem>
#include <fstream>
#include <iomanip>
#include <ostream>
#include <sstream>

namespace radmark::cli {
namespace {

namespace fs = std::filesystem;

// K is a minisign .pub file, or its base64 line as `minisign -P` takes it.
bundle::MinisignPublicKey readPublicKey(const std::string& k) {
    std::string text = k;
    std::error_code ec;
    if (fs::is_regular_file(k, ec)) {
        std::ifstream in(k, std::ios::binary);
        std::stringstream s;
        s << in.rdbuf();
        text = s.str();
    }
    try {
        return bundle::parseMinisignPublicKey(text);
    } catch (const bundle::BundleError&) {
        throw CommandError(k + " is not a minisign public key (file or base64)", 2);
    }
}

std::string sizeText(std::uint64_t octets) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(1);
    if (octets < 1000000)
        s << double(octets) / 1e3 << " kB";
    else
        s << double(octets) / 1e6 << " MB";
    return s.str();
}

void printDataset(const bundle::NnunetDatasetSummary& d, std::ostream& out) {
    out << "  nnU-Net " << d.name << ": " << d.trainingCases << " training case"
        << (d.trainingCases == 1 ? "" : "s");
    if (d.folds)
        out << " (fold 0 of " << d.folds << ": " << d.firstFoldTrain << " train, "
            << d.firstFoldValidation << " validation)";
    out << ", " << d.testCases << " test case" << (d.testCases == 1 ? "" : "s")
        << (d.testCases ? (d.testLabels ? " with labels" : " without labels") : "") << "\n";
    out << "    channels:";
    for (std::size_t c = 0; c < d.channels.size(); ++c)
        out << (c ? ", " : " ") << c << " " << d.channels[c];
    out << "\n    labels:";
    for (std::size_t i = 0; i < d.labels.size(); ++i)
        out << (i ? ", " : " ") << d.labels[i].second << " " << d.labels[i].first;
    out << "\n";
}

int runBundleVerify(Arguments& args, CommandIo& io) {
    args.allowOnly({"public-key"});
    const std::string path = args.positional(0, "the bundle folder");
    bundle::BundleVerifyOptions options;
    if (auto key = args.option("public-key"))
        options.trustedKey = readPublicKey(*key);
    const bundle::BundleReport report = bundle::verifyBundle(path, options);

    if (!report.ok()) {
        for (const auto& p : report.problems)
            io.err << "bundle verification FAILED: " << (p.file.empty() ? "" : p.file + ": ")
                   << p.reason << "\n";
        return 1;
    }
    namespace layout = bundle::layout;
    io.out << "bundle " << path << " verified\n";
    const std::string dataset = report.field(layout::datasetField);
    const std::string revision = report.field(layout::revisionField);
    const std::string parent = report.field(layout::parentRevisionField);
    io.out << "  dataset: " << (dataset.empty() ? "(not named)" : dataset) << ", revision "
           << (revision.empty() ? "(none)" : revision) << ", parent revision "
           << (parent.empty() ? "(none)" : parent) << "\n";
    io.out << "  bagged " << report.field("Bagging-Date") << " by "
           << report.field("Bag-Software-Agent") << "; payload " << report.payloadFiles
           << " files, " << sizeText(report.payloadOctets)
           << ": Payload-Oxum and every manifest line hold\n";
    const std::string formats = report.field(layout::formatsField);
    io.out << "  formats: " << (formats.empty() ? "(not named)" : formats) << " ("
           << report.niftiFiles << " NIfTI, " << report.dicomFiles << " DICOM, " << report.jsonFiles
           << " JSON files)\n";
    for (const auto& d : report.nnunetDatasets)
        printDataset(d, io.out);
    if (report.nnunetDatasets.empty())
        io.out << "  no nnU-Net dataset (DatasetNNN_Name) in data/\n";
    io.out << "  signature: " << layout::signatureFile << " by key " << report.signerKeyId;
    if (report.signerKeyGiven)
        io.out << ", verified with the given public key: the bundle is intact and comes from "
                  "that key's holder\n";
    else
        io.out << ", verified with the key the bundle carries (" << layout::publicKeyFile
               << "): this proves the bundle is intact, not who made it (give --public-key "
                  "with the workstation's published key)\n";
    io.out << "  trusted comment: " << report.trustedComment << "\n";
    io.out << "  audit checkpoint: " << report.checkpointTreeSize << " entries at "
           << report.checkpointTime << ", store " << report.checkpointStoreId
           << ", signed by the same key\n";
    for (const auto& f : report.bagInfo)
        if (f.label.rfind("Radmark-", 0) == 0 && f.label != layout::datasetField &&
            f.label != layout::revisionField && f.label != layout::parentRevisionField &&
            f.label != layout::formatsField)
            io.out << "  " << f.label << ": " << f.value << "\n";
    return 0;
}

} // namespace
RADMARK_COMMAND("bundle verify",
                "PATH [--public-key KEY.pub]  check an exported bundle without the store (exit 0 "
                "only if everything holds)",
                runBundleVerify);
} // namespace radmark::cli
