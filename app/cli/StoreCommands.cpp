// radmark-cli init and assign: create a store with its first admin; assign studies.

#include "app/cli/StoreSession.h"
#include "storage/Studies.h"

#include <iostream>

namespace radmark::cli {
namespace {

std::string groupedHex(const storage::SecureBytes& key) {
    const std::string hex = key.toHex();
    std::string out;
    for (std::size_t i = 0; i < hex.size(); i += 8)
        out += (i ? "-" : "") + hex.substr(i, 8);
    return out;
}

int runInit(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeOptions({"admin", "audit-key-out", "recovery-key-out"}));
    const storage::Store store = openStore(args);
    const std::string admin = args.required("admin");
    const std::string auditKeyOut = args.required("audit-key-out");
    if (std::filesystem::exists(auditKeyOut))
        throw CommandError(auditKeyOut + " already exists; choose a new file for the audit key");
    const std::string password = readNewPassword(args, io, "new password for " + admin);
    // The store records as its own policy only what the creator's --policy file names; the
    // system policy's values are not frozen into it (IT may change /etc/radmark/policy.json).
    storage::Policy recorded;
    recorded.named = 0;
    if (auto file = args.option("policy"))
        recorded = storage::Policy::load(std::filesystem::path(*file));
    const auto secrets =
        storage::Store::initialise(store.dir(), admin, password, store.policy(), recorded);
    writeSecretFile(auditKeyOut, secrets.auditKey.toHex() + "\n");
    io.out << "store created in " << store.dir().string() << " with admin " << admin << "\n"
           << "audit key written to " << auditKeyOut
           << ": keep it offline; it verifies every access-log entry\n";
    if (auto recoveryOut = args.option("recovery-key-out")) {
        writeSecretFile(*recoveryOut, groupedHex(secrets.recoveryKey) + "\n");
        io.out << "recovery key written to " << *recoveryOut << "\n";
    } else {
        io.out << "recovery key (break-glass access; print it, store it offline, it is shown "
                  "once):\n  "
               << groupedHex(secrets.recoveryKey) << "\n";
    }
    return 0;
}

int runAssign(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeOptions({"remove"}));
    const std::string user = args.positional(0, "USER");
    const std::string study = args.positional(1, "STUDY");
    auto session = loginFromArguments(args, io);
    const auto id = storage::Studies(session).idFor(study);
    storage::Studies(session).assign(user, id);
    io.out << "study " << study << " assigned to " << user << "\n";
    return 0;
}

} // namespace
RADMARK_COMMAND("init",
                "--store DIR --admin NAME --audit-key-out FILE [--recovery-key-out FILE] "
                "[--policy FILE] [--password-stdin]  create an encrypted store",
                runInit);
RADMARK_COMMAND("assign", "USER STUDY --user ADMIN [--store DIR]  assign a study to an annotator",
                runAssign);
} // namespace radmark::cli
