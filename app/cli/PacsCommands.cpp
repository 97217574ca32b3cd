// radmark-cli pacs nodes | echo | query | import: the PACS nodes of the site policy, a C-ECHO,
// a QIDO-RS or C-FIND query of one of them (studies, and with --series their series), and the retrieve and import of studies
// (admins only), with the same functions as Import > From PACS (pacs/PacsImport.h). The query's
// values are shown to the admin who typed them and never logged (the access log keeps their
// keyed hashes); the store holds only the de-identified studies.

#include "app/cli/Command.h"
#include "app/cli/StoreSession.h"
#include "imaging/decoder/DecoderProcess.h"
#include "imaging/deid/BurnedInText.h"
#include "pacs/PacsImport.h"
#include "storage/Policy.h"

#include <iomanip>
#include <ostream>

namespace radmark::cli {
namespace {
namespace fs = std::filesystem;

storage::Policy policyFrom(const Arguments& args) {
    std::optional<fs::path> policyFile;
    if (auto p = args.option("policy"))
        policyFile = *p;
    // The site's nodes: a person's file may tighten the rest, never add a node.
    return storage::Policy::effective(policyFile);
}

int runPacsNodes(Arguments& args, CommandIo& io) {
    args.allowOnly({"policy"});
    const auto nodes = pacs::pacsNodes(policyFrom(args));
    if (nodes.empty()) {
        io.out << "the site policy lists no PACS nodes: import from a PACS is not possible\n";
        return 0;
    }
    for (const auto& n : nodes) {
        if (n.dimse) {
            const auto& d = *n.dimse;
            io.out << n.name << (n.preferred ? " (preferred)" : "") << "\n"
                   << "  DIMSE: " << d.aeTitle << " at " << d.host << ":" << d.port
                   << ", Radmark's AE title " << d.callingAe << "\n"
                   << "  retrieve: "
                   << (d.move ? "C-MOVE to " + d.moveAeTitle + " (Radmark's storage SCP on port " +
                                    std::to_string(d.movePort) + ")"
                              : std::string("C-GET"))
                   << "\n  TLS: none (plain DIMSE)\n";
            continue;
        }
        io.out << n.name << (n.preferred ? " (preferred)" : "") << "\n"
               << "  DICOMweb: " << n.dicomwebUrl
               << (n.plainHttpAllowed ? " (plain HTTP allowed by the policy)" : "") << "\n"
               << "  TLS: "
               << (n.caBundle.empty() ? std::string("system CA certificates")
                                      : "CA bundle " + n.caBundle.string())
               << "\n  credentials: "
               << (!n.credentialsFile.empty() ? "file " + n.credentialsFile.string()
                   : !n.user.empty()          ? "password of " + n.user + ", asked"
                                              : std::string("none"))
               << "\n";
    }
    return 0;
}

// The node, its credentials (asked after the store password) and a client for it.
struct Connection {
    storage::PacsNode node;
    std::unique_ptr<pacs::PacsClient> client;
};

Connection connect(const Arguments& args, CommandIo& io, const storage::Store& store) {
    Connection c;
    c.node = pacs::pacsNode(store.policy(), args.required("node"));
    const pacs::Credentials credentials = pacs::credentialsFor(
        c.node, [&](const std::string& prompt) { return readSecret(args, io, prompt); });
    c.client = pacs::clientFor(c.node, credentials);
    return c;
}

std::string count(int n) {
    return n < 0 ? std::string("?") : std::to_string(n);
}

int runPacsEcho(Arguments& args, CommandIo& io) {
    args.allowOnly(storeOptions({"node"}));
    const std::string nodeName = args.required("node");
    auto session = loginFromArguments(args, io);
    try {
        auto c = connect(args, io, session.store());
        pacs::echoNode(session, *c.client, c.node.name);
        io.out << "PACS node '" << c.node.name << "' answers ("
               << (c.node.dimse ? "C-ECHO" : "DICOMweb") << ")\n";
    } catch (const pacs::PacsError& error) {
        throw CommandError("PACS node '" + nodeName + "': " + error.what(),
                           error.kind() == pacs::PacsError::Kind::Refused ? 4 : 1);
    }
    return 0;
}

int runPacsQuery(Arguments& args, CommandIo& io) {
    declareStoreFlags(args, {"series"});
    args.allowOnly(storeOptions({"node", "patient-id", "patient-name", "accession", "date-from",
                                 "date-to", "modality", "description", "limit", "series"}));
    pacs::StudyQuery query;
    query.patientId = args.option("patient-id").value_or("");
    query.patientName = args.option("patient-name").value_or("");
    query.accessionNumber = args.option("accession").value_or("");
    query.dateFrom = args.option("date-from").value_or("");
    query.dateTo = args.option("date-to").value_or("");
    query.modality = args.option("modality").value_or("");
    query.studyDescription = args.option("description").value_or("");
    if (auto limit = args.option("limit")) {
        try {
            query.limit = std::stoi(*limit);
        } catch (const std::exception&) {
            throw CommandError("--limit takes a number", 2);
        }
    }
    for (const auto* date : {&query.dateFrom, &query.dateTo})
        if (!date->empty() &&
            (date->size() != 8 || date->find_first_not_of("0123456789") != std::string::npos))
            throw CommandError("dates are YYYYMMDD", 2);
    const std::string nodeName = args.required("node");
    auto session = loginFromArguments(args, io);
    try {
        auto c = connect(args, io, session.store());
        const auto rows = pacs::queryStudies(session, *c.client, c.node.name, query);
        if (rows.empty())
            io.out << "no study matches\n";
        for (const auto& row : rows) {
            const auto& s = row.study;
            io.out << "study " << s.studyUid << "\n"
                   << "  patient " << s.patientName << " (ID " << s.patientId << "), accession "
                   << s.accessionNumber << ", date " << s.studyDate << ", " << s.modalities << ", "
                   << count(s.seriesCount) << " series, " << count(s.instanceCount)
                   << " images: " << s.description << "\n"
                   << "  "
                   << (row.stored ? "already in store as " + row.stored->label
                                  : std::string("not in store"))
                   << "\n";
            if (!args.flag("series"))
                continue;
            for (const auto& series : pacs::querySeries(session, *c.client, s.studyUid))
                io.out << "  series " << series.series.seriesUid << ": " << series.series.modality
                       << ", " << count(series.series.instanceCount) << " images, number "
                       << series.series.seriesNumber << ": " << series.series.description
                       << (series.stored ? " (already in store)" : "") << "\n";
        }
    } catch (const pacs::PacsError& error) {
        throw CommandError("PACS node '" + nodeName + "': " + error.what(),
                           error.kind() == pacs::PacsError::Kind::Refused ? 4 : 1);
    }
    return 0;
}

int runPacsImport(Arguments& args, CommandIo& io) {
    decoder::prestartDecoder(decoder::DecoderUse::Deidentify); // with the OCR module
    declareStoreFlags(args, {"progress"});
    args.allowOnly(storeOptions({"node", "study", "series", "options", "progress"}));
    const std::vector<std::string> studies = args.all("study");
    if (studies.empty())
        throw CommandError("give at least one --study UID (radmark-cli pacs query finds them)", 2);
    const std::vector<std::string> series = args.all("series");
    if (!series.empty() && studies.size() != 1)
        throw CommandError("--series goes with exactly one --study", 2);
    for (const auto& uid : studies)
        if (!pacs::validUid(uid))
            throw CommandError("not a valid Study Instance UID: " + uid.substr(0, 70), 2);
    storage::ImportOptions options;
    try {
        options.profile = deid::ProfileOptions::parse(args.option("options").value_or("default"));
    } catch (const deid::ProfileError& error) {
        throw CommandError(error.what());
    }
    const std::string nodeName = args.required("node");
    auto session = loginFromArguments(args, io);
    std::unique_ptr<deid::TextDetector> ocr;
    try {
        ocr = deid::makeTesseractDetector();
        options.textDetector = ocr.get();
    } catch (const std::exception& error) {
        io.err << "note: " << error.what() << ": images that may hold burned-in text will be "
               << "quarantined\n";
    }
    Connection c;
    try {
        c = connect(args, io, session.store());
    } catch (const pacs::PacsError& error) {
        throw CommandError("PACS node '" + nodeName + "': " + error.what());
    }
    const bool showProgress = args.flag("progress");
    int notImported = 0;
    bool refused = false;
    for (const auto& uid : studies) {
        int lastPercent = -1;
        const auto r = pacs::retrieveStudy(session, *c.client, c.node.name, uid, series, options,
                                           [&](double fraction, const std::string& stage) {
                                               const int percent = int(fraction * 100);
                                               if (showProgress && percent != lastPercent) {
                                                   lastPercent = percent;
                                                   io.err << "\r" << std::setw(3) << percent << "% "
                                                          << stage << "        " << std::flush;
                                               }
                                               return true;
                                           });
        if (showProgress)
            io.err << "\n";
        if (!reportImportResult("study " + uid, r, io))
            ++notImported;
        refused = refused || r.reason.find("refused the credentials") != std::string::npos;
    }
    return refused ? 4 : notImported ? 3 : 0;
}

} // namespace
RADMARK_COMMAND("pacs nodes", "[--policy FILE]  the PACS nodes of the site policy", runPacsNodes);
RADMARK_COMMAND("pacs echo",
                "--store DIR --user ADMIN [--password-stdin] --node NAME  whether a PACS node "
                "answers (C-ECHO for DIMSE) (admin)",
                runPacsEcho);
RADMARK_COMMAND("pacs query",
                "--store DIR --user ADMIN [--password-stdin] --node NAME [--patient-id ID] "
                "[--patient-name NAME] [--accession N] [--date-from YYYYMMDD] [--date-to "
                "YYYYMMDD] [--modality M] [--description TEXT] [--limit N] [--series]  find "
                "studies on a PACS node (admin)",
                runPacsQuery);
RADMARK_COMMAND("pacs import",
                "--store DIR --user ADMIN [--password-stdin] --node NAME --study UID... [--series "
                "UID...] [--options default,...] [--progress]  retrieve, de-identify and store "
                "studies from a PACS node (admin)",
                runPacsImport);
} // namespace radmark::cli
