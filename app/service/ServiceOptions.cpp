#include "app/service/ServiceOptions.h"

#include <iostream>

#ifndef RADMARK_VERSION_TEXT
#define RADMARK_VERSION_TEXT "0"
#endif

namespace radmark::service {
namespace {

// Written to be read by help2man as well as by people.
const char* const helpText = R"(Usage: radmarkd [OPTION]...
Serve one Radmark store to the users of a shared workstation.

radmarkd holds the store's files under the service account (the files and the
database key never leave it) and listens on a Unix socket. A user runs
  radmark-cli --service SOCKET COMMAND [ARGS]...
and logs in with her own Radmark password, typed into her terminal (or given
with --password-stdin); the command runs inside the service, in a worker process
of the service account, on her terminal and her stdin/stdout/stderr. The
service learns her OS user and process from the socket (SO_PEERCRED) and logs
both with every request. Commands that read or write files named on the user's
side (import, deid, checkpoints to a file, ...) and init are refused through the
service.

Options:
  --store DIR        the store folder, owned by this account; forced to 0700
                     (default /var/lib/radmark/store)
  --socket PATH      the socket to listen on; its folder must exist
                     (default /run/radmark/radmarkd.sock)
  --socket-mode OCT  who may connect (default 0666: every local account; the
                     service checks who each one is)
  --socket-group G   give the socket to group G (with --socket-mode 0660: only
                     members of G may connect)
  --policy FILE      the policy the workers apply (default: the system policy,
                     /etc/radmark/policy.json)
  --cli PATH         the radmark-cli that runs the commands (default: the one
                     next to radmarkd, or ../bin/radmark-cli)
  --max-requests N   requests served at once (default 32); a connection beyond
                     them is closed and logged
  --help             show this help and exit
  --version          show the version and exit

radmarkd refuses to run as root. It logs one line per request on stderr (the
journal under systemd): the caller's uid, account name, gid and pid, the
command's name (never its values) and its exit status. It stops on SIGTERM.

Files:
  /var/lib/radmark/store   the store (store.db, keyring, failed-logins, ...)
  /run/radmark/radmarkd.sock
                           the socket
  /etc/radmark/policy.json the site's policy

Set up a store for the service once, as the service account, for example:
  sudo -u radmark radmark-cli init --store /var/lib/radmark/store \
       --admin ADMIN --audit-key-out /root/radmark-audit.key
)";

bool takesValue(const std::string& option) {
    return option == "--store" || option == "--socket" || option == "--socket-mode" ||
           option == "--socket-group" || option == "--policy" || option == "--cli" ||
           option == "--max-requests";
}

} // namespace

ParsedServiceOptions parseServiceOptions(const std::vector<std::string>& words) {
    ParsedServiceOptions parsed;
    ServiceOptions& options = parsed.options;
    for (std::size_t i = 0; i < words.size(); ++i) {
        const std::string& w = words[i];
        if (w == "--help" || w == "-h") {
            std::cout << helpText;
            parsed.exitNow = 0;
            return parsed;
        }
        if (w == "--version") {
            std::cout << "radmarkd (Radmark) " << RADMARK_VERSION_TEXT << "\n";
            parsed.exitNow = 0;
            return parsed;
        }
        if (!takesValue(w)) {
            std::cerr << "radmarkd: unknown option '" << w << "' (see radmarkd --help)\n";
            parsed.exitNow = 2;
            return parsed;
        }
        if (i + 1 >= words.size()) {
            std::cerr << "radmarkd: " << w << " needs a value\n";
            parsed.exitNow = 2;
            return parsed;
        }
        const std::string& value = words[++i];
        if (w == "--store")
            options.store = value;
        else if (w == "--socket")
            options.socket = value;
        else if (w == "--policy")
            options.policy = value;
        else if (w == "--cli")
            options.cli = value;
        else if (w == "--socket-group")
            options.socketGroup = value;
        else if (w == "--max-requests") {
            if (value.empty() || value.size() > 5 ||
                value.find_first_not_of("0123456789") != std::string::npos ||
                std::stoul(value) == 0) {
                std::cerr << "radmarkd: --max-requests wants a whole number from 1\n";
                parsed.exitNow = 2;
                return parsed;
            }
            options.maxRequests = std::stoul(value);
        } else if (w == "--socket-mode") {
            if (value.empty() || value.size() > 4 ||
                value.find_first_not_of("01234567") != std::string::npos) {
                std::cerr << "radmarkd: --socket-mode wants an octal mode such as 0660\n";
                parsed.exitNow = 2;
                return parsed;
            }
            options.socketMode = mode_t(std::stoul(value, nullptr, 8));
        }
    }
    return parsed;
}

} // namespace radmark::service
