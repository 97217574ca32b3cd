#include "app/cli/StoreAccessArguments.h"

#include "app/cli/StoreSession.h"

namespace radmark::cli {

std::set<std::string> storeAccessOptions(std::set<std::string> own) {
    own.insert("via");
    return storeOptions(std::move(own));
}

std::unique_ptr<StoreAccess> storeAccessFromArguments(const Arguments& args, CommandIo& io) {
    const auto via = args.option("via");
    if (!via)
        return inProcessStoreAccess(loginFromArguments(args, io));
    if (args.option("store") || args.option("policy"))
        throw CommandError("--via: the service's store and the site's policy apply", 2);
    const std::string user = args.required("user");
    return serviceStoreAccess(*via, user, readSecret(args, io, "Password for " + user + ": "));
}

} // namespace radmark::cli
