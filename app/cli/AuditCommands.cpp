// radmark-cli audit show|checkpoint|verify: read, anchor and check the signed access log.

#include "app/cli/StoreSession.h"
#include "storage/AuditAnchor.h"
#include "storage/AuditTrail.h"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace radmark::cli {
namespace {

std::string readWholeFile(const std::string& path, const std::string& what) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw CommandError("cannot read the " + what + " " + path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

int runAuditShow(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeOptions({"since", "until", "action", "by"}));
    storage::AuditFilter filter;
    // Who logs in is --as when given, and then --user filters; --by always filters.
    if (auto by = args.option("by"))
        filter.user = *by;
    else if (args.option("as"))
        filter.user = args.option("user");
    filter.action = args.option("action");
    filter.since = args.option("since");
    filter.until = args.option("until");
    auto session = loginFromArguments(args, io);
    for (const auto& e : storage::AuditTrail(session).entries(filter)) {
        io.out << e.seq << "  " << e.time << "  " << e.user << "  " << e.action << "  " << e.object;
        if (!e.details.empty())
            io.out << "  (" << e.details << ")";
        if (const auto from = storage::CallerContext::fromText(e.origin).summary(); !from.empty())
            io.out << "  [from " << from << "]";
        io.out << "\n";
    }
    return 0;
}

int runAuditCheckpoint(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeOptions({"out"}));
    const std::string out = args.required("out");
    auto session = loginFromArguments(args, io);
    const auto checkpoint = storage::AuditTrail(session).checkpoint();
    writeSecretFile(out, checkpoint.toJson());
    io.out << "checkpoint of " << checkpoint.treeSize << " entries written to " << out << "\n";
    return 0;
}

int runAuditVerify(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeOptions({"checkpoint", "audit-key", "anchors"}));
    std::optional<storage::Checkpoint> checkpoint;
    if (auto file = args.option("checkpoint"))
        checkpoint = storage::Checkpoint::fromJson(readWholeFile(*file, "checkpoint"));
    storage::SecureBytes key;
    if (auto file = args.option("audit-key")) {
        key = storage::SecureBytes::fromHex(readWholeFile(*file, "audit key"), 32);
        if (key.empty())
            throw CommandError(*file + " does not hold an audit key (64 hexadecimal digits)");
    }
    auto session = loginFromArguments(args, io);
    // Anchors: the files given, else the policy's anchor file when there is one.
    std::vector<std::string> anchorFiles = args.all("anchors");
    const auto& policyAnchors = session.store().policy().anchorFile;
    std::error_code ec;
    if (anchorFiles.empty() && !policyAnchors.empty() && std::filesystem::exists(policyAnchors, ec))
        anchorFiles.push_back(policyAnchors.string());
    std::optional<storage::Anchors> anchors;
    for (const auto& file : anchorFiles) {
        if (!anchors)
            anchors.emplace();
        anchors->add(storage::Anchors::read(file));
    }
    const auto v = storage::AuditTrail(session).verify(key.empty() ? nullptr : &key,
                                                       checkpoint ? &*checkpoint : nullptr,
                                                       anchors ? &*anchors : nullptr);
    if (!v.ok) {
        io.err << "access log verification FAILED";
        if (v.firstBadSeq)
            io.err << " at entry " << v.firstBadSeq;
        io.err << ": " << v.reason << "\n";
        return 1;
    }
    io.out << "access log verified: " << v.entriesChecked << " entries, hash chain ok";
    io.out << (v.macsChecked ? ", every MAC ok" : ", MACs not checked (give --audit-key)");
    if (v.checkpointChecked)
        io.out << ", matches the checkpoint of " << checkpoint->treeSize << " entries";
    if (v.anchorsChecked) {
        io.out << ", matches the anchors outside the store (" << v.anchorCheckpoints
               << " checkpoints, " << v.anchorEntries << " entries, up to entry "
               << v.anchoredSize << ", from";
        for (const auto& file : anchorFiles)
            io.out << " " << file;
        io.out << ")";
        if (v.anchorLinesDamaged)
            io.out << "; " << v.anchorLinesDamaged << " anchor lines could not be read";
    }
    io.out << "\n";
    return 0;
}

} // namespace
RADMARK_COMMAND("audit show",
                "--as ADMIN [--user U] [--action A] [--since T] [--until T]  list entries (or "
                "--user ADMIN --by U)",
                runAuditShow);
RADMARK_COMMAND("audit checkpoint", "--out FILE --user ADMIN  signed tree size + Merkle root",
                runAuditCheckpoint);
RADMARK_COMMAND("audit verify",
                "--user ADMIN [--checkpoint FILE] [--audit-key FILE] [--anchors FILE]...  exit 0 "
                "only if it all holds (the policy's anchor_file when no --anchors)",
                runAuditVerify);
} // namespace radmark::cli
