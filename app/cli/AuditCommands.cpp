// radmark-cli audit show|checkpoint|verify: read, anchor and check the signed access log.

#include "app/cli/StoreSession.h"
#include "storage/AuditTrail.h"

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
    args.allowOnly(storeOptions({"checkpoint", "audit-key"}));
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
    const auto v = storage::AuditTrail(session).verify(key.empty() ? nullptr : &key,
                                                       checkpoint ? &*checkpoint : nullptr);
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
                "--user ADMIN [--checkpoint FILE] [--audit-key FILE]  exit 0 only if it all holds",
                runAuditVerify);
} // namespace radmark::cli
