#pragma once
// The places exports may go, as the site policy lists them, and the decision whether one may be
// written to now: an SMB3 share (encryption required, credentials only its owner can read) or a
// folder on an encrypted network mount (CIFS with seal, NFS with sec=krb5p), never removable
// media. The GUI and the CLI offer these by name; nothing else can be typed in.

#include "storage/Policy.h"

#include <sys/types.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

namespace radmark::delivery {

// smb://host[:port]/share/folder, split.
struct SmbLocation {
    std::string host;
    int port = 445;
    std::string share;
    std::string folder; // inside the share, '/'-separated, no leading slash; may be empty

    std::string url() const;          // smb://host[:port]/share[/folder]
    std::string service() const;      // //host/share, as smbclient takes it
    std::string remoteFolder() const; // \folder, as smbclient's cd takes it
};

// Parses and checks an smb:// URL; throws DestinationRefused with what is wrong.
SmbLocation parseSmbUrl(const std::string& url);

struct Destination {
    enum class Kind { SmbShare, Folder };
    std::string name;
    Kind kind = Kind::Folder;
    SmbLocation smb;                       // SmbShare
    std::filesystem::path credentialsFile; // SmbShare; empty: user + a password asked for
    std::string user;                      // SmbShare without a credentials file
    std::filesystem::path folder;          // Folder
    bool local = false;                    // Folder: a plain local folder the policy allows
    std::string invalid; // why the policy entry cannot be used (a bad URL); check() refuses it
    std::string written; // the share URL or folder as the policy wrote it

    std::string location() const; // the URL or the folder, for people
};

// Every destination of the policy, in its order (named ones, then the older allow-list's).
std::vector<Destination> destinations(const storage::Policy& policy);
// The destination of that name; throws DestinationRefused when the policy has none.
Destination findDestination(const storage::Policy& policy, const std::string& name);

// Where the machine's facts come from; tests point these at fixture trees.
struct DeliveryEnvironment {
    std::filesystem::path mountInfo = "/proc/self/mountinfo";
    std::filesystem::path sysRoot = "/sys";
    uid_t storeOwner = ::geteuid(); // who must own a credentials file (the store's owner)
    std::filesystem::path smbclient = "/usr/bin/smbclient";
    std::filesystem::path stagingRoot; // local staging for shares; empty: the temp folder
    int smbTimeoutSeconds = 30;        // smbclient's per-operation timeout
};

struct DestinationCheck {
    bool allowed = false;
    std::string reason; // refused: why; allowed: what makes it fit
};

// Decides without writing or connecting: a folder by its mount and device, a share by its URL
// and credentials file. A share's encryption is proven only when connecting (see
// DestinationWriter::prepare).
DestinationCheck checkDestination(const Destination& destination,
                                  const DeliveryEnvironment& environment = {});
// checkDestination(), throwing DestinationRefused with the reason when refused.
void requireAllowed(const Destination& destination, const DeliveryEnvironment& environment = {});

} // namespace radmark::delivery
