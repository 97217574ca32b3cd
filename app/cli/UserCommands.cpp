// radmark-cli user add|list|disable|passwd|role|credentials: account administration (admin;
// passwd for oneself).

#include "app/cli/KeyRotationCommand.h"
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
    const auto rotation = storage::Users(session).disable(name, rotationProgressPrinter(io));
    io.out << "user " << name << " disabled; its key was removed from the keyring\n";
    reportRotation(rotation, io);
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

// With options: enters them (all four); without: prints them.
int runUserCredentials(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    const std::set<std::string> fields = {"title", "qualification", "years", "trained"};
    args.allowOnly(storeOptions(fields));
    const std::string name = args.positional(0, "NAME");
    bool any = false;
    for (const std::string& f : fields)
        any = any || args.option(f).has_value();
    storage::Credentials c;
    if (any) {
        c.title = args.required("title");
        c.qualification = args.required("qualification");
        const std::string years = args.required("years");
        if (years.empty() || years.size() > 2 ||
            years.find_first_not_of("0123456789") != std::string::npos)
            throw CommandError("--years wants a whole number of years (got '" + years + "')", 2);
        c.yearsOfExperience = std::stoi(years);
        c.trainingDate = args.required("trained");
    }
    auto session = loginFromArguments(args, io);
    storage::Users users(session);
    if (any) {
        users.setCredentials(name, c);
        io.out << "credentials of " << name << " entered\n";
        return 0;
    }
    const auto stored = users.credentials(name);
    if (!stored) {
        io.out << name << ": no credentials entered\n";
        return 0;
    }
    io.out << name << ": " << stored->title << "; " << stored->qualification << "; "
           << stored->yearsOfExperience << " years of experience; trained " << stored->trainingDate
           << " (entered " << stored->updated << " by " << stored->updatedBy << ")\n";
    return 0;
}

} // namespace
RADMARK_COMMAND("user credentials",
                "NAME [--title T --qualification Q --years N --trained YYYY-MM-DD] --user ADMIN  "
                "enter (or show) an annotator's credentials",
                runUserCredentials);
RADMARK_COMMAND("user role", "NAME --role annotator|reviewer|admin --user ADMIN  change a role",
                runUserRole);
RADMARK_COMMAND("user add", "NAME --role annotator|reviewer|admin --user ADMIN [--store DIR]",
                runUserAdd);
RADMARK_COMMAND("user list", "--user ADMIN [--store DIR]", runUserList);
RADMARK_COMMAND("user disable",
                "NAME --user ADMIN [--store DIR]  disable an account and rotate the database key",
                runUserDisable);
RADMARK_COMMAND("user passwd", "[NAME] --user NAME [--store DIR]  change a password",
                runUserPasswd);
} // namespace radmark::cli
