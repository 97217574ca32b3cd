// radmark-cli policy show|set: the site's policy as it applies, and the admin's record of it in
// the store (docs/policy.md). A person's --policy FILE only tightens what applies to her
// process; `policy set` is the one way to change the store's policy, logged "policy change".

#include "app/cli/StoreSession.h"
#include "storage/StorePolicy.h"

#include <iostream>

namespace radmark::cli {
namespace {

int runPolicyShow(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeOptions());
    auto session = loginFromArguments(args, io);
    storage::Policy inForce = session.store().policy();
    inForce.named = storage::Policy::AllSettings; // every setting, as it applies
    const auto systemPath = storage::Policy::systemPolicyPath();
    std::error_code ec;
    io.out << "system policy: " << systemPath.string()
           << (std::filesystem::exists(systemPath, ec) ? "" : " (absent: the defaults)")
           << (storage::Policy::testBuild()
                   ? "  [a build made for tests: the environment may name another system policy]"
                   : "")
           << "\n"
           << "system:   " << storage::Policy::system().toJson() << "\n"
           << "recorded: " << storage::StorePolicy(session).recordedJson() << "\n"
           << "in force: " << inForce.toJson() << "\n";
    for (const auto& line : session.store().ignoredPolicyValues())
        io.out << "ignored:  --policy " << line << "\n";
    return 0;
}

int runPolicySet(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeOptions());
    const std::string file = args.positional(0, "FILE");
    const storage::Policy policy = storage::Policy::load(std::filesystem::path(file));
    auto session = loginFromArguments(args, io);
    const auto overridden = storage::StorePolicy(session).set(policy);
    io.out << "the store's policy is now " << file
           << " (logged \"policy change\"); it applies from the next login\n";
    for (const auto& line : overridden)
        io.out << "note: the system policy is stricter, it keeps applying: " << line << "\n";
    return 0;
}

} // namespace
RADMARK_COMMAND("policy show", "--user NAME [--store DIR]  the policy in force and its sources",
                runPolicyShow);
RADMARK_COMMAND("policy set",
                "FILE --user ADMIN [--store DIR]  record FILE as the store's policy (admin)",
                runPolicySet);
} // namespace radmark::cli
