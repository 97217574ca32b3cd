// radmark-cli store rotate-key: a new database key, every page rekeyed, sealed to every remaining
// user (admin; storage/KeyRotation.h). Also run by user disable.

#include "app/cli/KeyRotationCommand.h"

#include "app/cli/StoreSession.h"

#include <sodium.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>

namespace radmark::cli {

storage::KeyRotationProgress rotationProgressPrinter(CommandIo& io) {
    struct State {
        std::mutex mutex;
        int printed = -1;
    };
    auto state = std::make_shared<State>();
    return [state, &io](const std::string& stage, double fraction) {
        std::lock_guard<std::mutex> lock(state->mutex);
        const int tenth = int(fraction * 10 + 1e-9);
        if (tenth <= state->printed)
            return;
        state->printed = tenth;
        io.err << "key rotation: " << tenth * 10 << "% (" << stage << ")" << std::endl;
    };
}

void reportRotation(const storage::KeyRotationResult& result, CommandIo& io) {
    char figures[128];
    std::snprintf(figures, sizeof figures, "%.1f MB rekeyed in %.2f s",
                  double(result.databaseBytes) / 1e6, result.seconds);
    io.out << "database key rotated to version " << result.keyVersion << " (" << figures
           << "), sealed to " << result.sealedForUsers << " users and the recovery key\n";
    for (const auto& name : result.usersLeftOut)
        io.out << "  " << name
               << " had not logged in since the keyring became per-user and cannot open the "
                  "store now: set a new password (user passwd " << name << ")\n";
    if (!result.newRecoveryKey.empty()) {
        std::string hex = result.newRecoveryKey.toHex();
        std::string grouped;
        for (std::size_t i = 0; i < hex.size(); i += 8)
            grouped += (i ? "-" : "") + hex.substr(i, 8);
        io.out << "NEW recovery key (the old one opens nothing now; print it, store it offline, "
                  "it is shown once):\n  "
               << grouped << "\n";
        sodium_memzero(hex.data(), hex.size()); // the printed copies are the terminal's now
        sodium_memzero(grouped.data(), grouped.size());
    }
}

namespace {

int runRotateKey(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeOptions({"reason"}));
    const std::string reason = args.option("reason").value_or("admin's request");
    auto session = loginFromArguments(args, io);
    const auto result = storage::rotateDatabaseKey(session, reason, rotationProgressPrinter(io));
    reportRotation(result, io);
    return 0;
}

} // namespace
RADMARK_COMMAND("store rotate-key",
                "--user ADMIN [--reason TEXT] [--store DIR]  new database key: every page "
                "rekeyed, sealed to every remaining user (e.g. after a compromise)",
                runRotateKey);
} // namespace radmark::cli
