// radmark-cli user add|list|disable|passwd: account administration (admin; passwd for oneself).

#include "app/cli/StoreSession.h"
#include "storage/Users.h"

#include <iomanip>
#include <iostream>

namespace radmark::cli {
namespace {

int runUserAdd(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeOptions({"role"}));
    const std::string name = args.positional(0, "NAME");
    const storage::Role role = storage::parseRole(args.required("role"));
    auto session = loginFromArguments(args, io);
    const std::string password = readNewPassword(args, io, "initial password for " + name);
    storage::Users(session).add(name, role, password);
    io.out << "user " << name << " added as " << storage::roleName(role) << "\n";
    return 0;
}

int runUserList(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeOptions());
    auto session = loginFromArguments(args, io);
    for (const auto& u : storage::Users(session).list())
        io.out << std::left << std::setw(24) << u.name << std::setw(10) << storage::roleName(u.role)
               << (u.disabled ? "disabled" : "active") << "  since " << u.created << "\n";
    return 0;
}

int runUserDisable(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeOptions());
    const std::string name = args.positional(0, "NAME");
    auto session = loginFromArguments(args, io);
    storage::Users(session).disable(name);
    io.out << "user " << name << " disabled; its key was removed from the keyring\n";
    return 0;
}

int runUserPasswd(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeOptions());
    auto session = loginFromArguments(args, io);
    const std::string name =
        args.positionals().empty() ? session.userName() : args.positional(0, "NAME");
    const std::string password = readNewPassword(args, io, "new password for " + name);
    storage::Users(session).changePassword(name, password);
    io.out << "password changed for " << name << "\n";
    return 0;
}

int runUserRole(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeOptions({"role"}));
    const std::string name = args.positional(0, "NAME");
    const storage::Role role = storage::parseRole(args.required("role"));
    auto session = loginFromArguments(args, io);
    storage::Users(session).setRole(name, role);
    io.out << "user " << name << " is now " << storage::roleName(role) << "\n";
    return 0;
}

} // namespace
RADMARK_COMMAND("user role", "NAME --role annotator|reviewer|admin --user ADMIN  change a role",
                runUserRole);
RADMARK_COMMAND("user add", "NAME --role annotator|reviewer|admin --user ADMIN [--store DIR]",
                runUserAdd);
RADMARK_COMMAND("user list", "--user ADMIN [--store DIR]", runUserList);
RADMARK_COMMAND("user disable", "NAME --user ADMIN [--store DIR]", runUserDisable);
RADMARK_COMMAND("user passwd", "[NAME] --user NAME [--store DIR]  change a password",
                runUserPasswd);
} // namespace radmark::cli
