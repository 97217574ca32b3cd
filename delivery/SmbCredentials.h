#pragma once
// The account Radmark writes to a share with: read from a credentials file that only the store's
// owner can read (Samba's and mount.cifs's "username = / password = / domain =" lines), or a
// password asked for through the front end's prompt. Never taken from a command line.

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace radmark::delivery {

// Asks the person for a secret (the GUI's dialog, the CLI's terminal or stdin); nothing when they
// cancel.
using PasswordPrompt = std::function<std::optional<std::string>(const std::string& question)>;

class SmbCredentials {
  public:
    SmbCredentials() = default;
    SmbCredentials(const SmbCredentials&) = default;
    SmbCredentials& operator=(const SmbCredentials&) = default;
    ~SmbCredentials(); // wipes the password

    std::string user;   // may be DOMAIN\user or user@REALM
    std::string domain; // optional
    std::string password;

    // The text of a Samba authentication file (smbclient -A), handed over a pipe.
    std::string authenticationFileText() const;
};

// Why the file may not be used (missing, not a regular file, a symlink, not owned by owner,
// readable or writable by anyone else: it must be mode 0600 or 0400), or nothing when it may.
std::optional<std::string> credentialsFileProblem(const std::filesystem::path& file, uid_t owner);

// Reads the file after the same checks (on the opened file, so it cannot be swapped in between);
// throws DestinationRefused naming the problem.
SmbCredentials readCredentialsFile(const std::filesystem::path& file, uid_t owner);

} // namespace radmark::delivery
