#pragma once
// How a command that reads through StoreAccess (volume digest, studies, review queue, versions)
// reaches the store: in-process from --store/--user (storeOptions), or with --via SOCKET
// through radmarkd, logged in as --user with her password (never with --store or --policy: the
// service's store and the site's policy apply). A StoreAccessError needs no translation: the
// command line prints any exception as one line, exit 1, as it does a CommandError.

#include "app/cli/Command.h"
#include "app/cli/StoreAccess.h"

#include <memory>
#include <set>
#include <string>

namespace radmark::cli {

// storeOptions(own) plus "via".
std::set<std::string> storeAccessOptions(std::set<std::string> own = {});
std::unique_ptr<StoreAccess> storeAccessFromArguments(const Arguments& args, CommandIo& io);

} // namespace radmark::cli
