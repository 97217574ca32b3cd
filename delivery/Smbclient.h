#pragma once
// Sessions with Samba's smbclient program, which (unlike libsmbclient 4.17) refuses a session
// that is not SMB3 with encryption: -m SMB3, client min protocol SMB3,
// --client-protection=encrypt. The credentials go over a pipe as an authentication file
// (-A /dev/fd/3), the commands over stdin; neither is ever on a command line or on disk.

#include "delivery/Destination.h"
#include "delivery/Errors.h"
#include "delivery/SmbCredentials.h"

#include <cstdint>
#include <ctime>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <sys/types.h>
#include <vector>

namespace radmark::delivery {

struct SmbclientResult {
    int exitCode = -1;
    bool stopped = false;           // onLine asked to stop; the process was killed
    std::vector<std::string> lines; // stdout and stderr, in the order they came
};

// A failure smbclient reported, as a sentence and a kind.
struct SmbFailure {
    bool refused = false; // the share itself is not acceptable (no encryption, no SMB3)
    DeliveryProblem problem = DeliveryProblem::Other;
    std::string status; // NT_STATUS_... when there was one
    std::string message;
};

// The first failure in the lines, skipping NT_STATUS codes in benign (e.g. NO_SUCH_FILE for a
// listing that may be empty).
std::optional<SmbFailure> findFailure(const std::vector<std::string>& lines,
                                      const SmbLocation& where,
                                      const std::set<std::string>& benign = {});
// Throws DestinationRefused or DeliveryFailed for a failure (with what was being done).
[[noreturn]] void throwFailure(const SmbFailure& failure, const std::string& doing);

// A name quoted for smbclient's command parser; throws DeliveryFailed(InvalidBundle) for names it
// cannot carry (quotes, control characters).
std::string smbQuote(const std::string& text);

struct RemoteEntry {
    std::string path; // relative to the listed folder, '/'-separated
    bool directory = false;
    std::uint64_t size = 0;
    std::time_t modified = 0;
};

// Parses "recurse ON; ls" output run inside remoteTop (as cd took it, e.g. \base\.partial-x).
std::vector<RemoteEntry> parseListing(const std::vector<std::string>& lines,
                                      const std::string& remoteTop);

class Smbclient {
  public:
    Smbclient(SmbLocation location, SmbCredentials credentials, std::filesystem::path program,
              int timeoutSeconds);

    // One session: commands, one a line on stdin, then the output. onLine sees every line as it
    // comes and returns false to end the session early (the process is killed); so does
    // keepGoing, asked a few times a second.
    SmbclientResult run(const std::vector<std::string>& commands,
                        const std::function<bool(const std::string&)>& onLine = {},
                        const std::function<bool()>& keepGoing = {}) const;

    const SmbLocation& location() const { return location_; }

  private:
    friend class SmbclientSession;
    SmbLocation location_;
    SmbCredentials credentials_;
    std::filesystem::path program_;
    int timeoutSeconds_;
};

// One smbclient process kept open for several exchanges (one login for the upload, the read
// back and the rename).
class SmbclientSession {
  public:
    explicit SmbclientSession(const Smbclient& client); // starts smbclient, which connects
    SmbclientSession(const SmbclientSession&) = delete;
    SmbclientSession& operator=(const SmbclientSession&) = delete;
    ~SmbclientSession();

    // Sends the commands and returns what smbclient answered to them (a "pwd" after them marks
    // the end). When smbclient ends (a failed login, a dropped connection) or onLine or
    // keepGoing stop it, the process is gone and exitCode is its exit status.
    SmbclientResult exchange(const std::vector<std::string>& commands,
                             const std::function<bool(const std::string&)>& onLine = {},
                             const std::function<bool()>& keepGoing = {});
    bool open() const { return pid_ > 0; }
    int close(); // exit, wait; the exit status

  private:
    pid_t pid_ = -1;
    int in_ = -1;
    int out_ = -1;
    int exitCode_ = -1;
    std::string pending_;
};

} // namespace radmark::delivery
