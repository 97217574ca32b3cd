#pragma once
// The site's security policy: idle lock, password rules, failed-login lockout, Argon2id cost and
// where exports may go. Its sources are the system policy (/etc/radmark/policy.json, root's) and
// the policy an admin recorded in the store (`radmark-cli policy set`); a user's own file
// (--policy) may only tighten them. docs/policy.md is the one description of the format.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace radmark::storage {

// One place exports may go, as the site's IT wrote it in the policy. People pick it by name; no
// one types a destination. delivery::destinations() turns these into checked destinations.
struct ExportDestination {
    std::string name;                      // what the GUI and CLI offer
    std::string smbUrl;                    // smb://host[:port]/share/path (SMB3, encrypted)
    std::filesystem::path folder;          // or a folder on a network mount
    std::filesystem::path credentialsFile; // smb: username/password/domain lines, mode 0600/0400
    std::string smbUser;                   // smb without a credentials file: the password is asked
    bool local = false; // folder: a plain local folder, allowed explicitly (demo, tests)

    bool isSmb() const { return !smbUrl.empty(); }
};

// A PACS spoken to over DIMSE (C-ECHO, C-FIND, C-GET or C-MOVE): the policy's "dimse" object.
struct DimseNode {
    std::string aeTitle;      // "ae_title": the PACS's (called) AE title
    std::string host;         // "host": name or address
    int port = 104;           // "port"
    std::string callingAe;    // "calling_ae": Radmark's AE title, as the PACS knows it
    bool move = false;        // "retrieve": "get" (C-GET, default) or "move" (C-MOVE)
    std::string moveAeTitle;  // "move_destination"."ae_title": the storage SCP's AE title
    int movePort = 0;         // "move_destination"."port": where it listens (every address)
};

// One PACS Radmark may import from (pacs/, docs/pacs.md), as the site's IT wrote it in the
// policy ("pacs_nodes"): admins pick it by name, no one types an address. Exactly one of
// dicomwebUrl and dimse.
struct PacsNode {
    std::string name;
    std::string dicomwebUrl;               // https://host[:port]/dicom-web (QIDO-RS, WADO-RS)
    bool preferred = false;                // the one offered first
    bool plainHttpAllowed = false;         // "plain_http_allowed": an http:// URL is accepted
    std::filesystem::path caBundle;        // PEM file the server certificate is verified against
    std::filesystem::path credentialsFile; // username=/password= or token= lines, mode 0600/0400
    std::string user;                      // without a credentials file: the password is asked
    std::optional<DimseNode> dimse;        // "dimse": the classic protocol instead (last: the
                                           // DICOMweb fields keep their aggregate order)
};

struct Policy {
    std::chrono::seconds idleTimeout{10 * 60};
    std::size_t minPasswordLength = 12;
    int maxFailedLogins = 5;                     // within lockoutWindow
    std::chrono::seconds lockoutWindow{15 * 60}; // failures counted, and lockout length
    std::uint64_t argon2MemoryBytes = 256ull << 20;
    std::uint64_t argon2Operations = 3;
    std::vector<ExportDestination> exportDestinations; // "export_destinations": named ones
    // "export_allow_list", the older form: folder paths, read as folder destinations named by
    // their path.
    std::vector<std::string> exportAllowList;
    std::vector<PacsNode> pacsNodes; // "pacs_nodes"
    // The access log's anchors outside the store (storage/AuditAnchor.h, docs/security.md):
    // "log_sink" (where each entry goes: /dev/log, unix:PATH, udp:HOST:PORT, tcp:HOST:PORT),
    // "anchor_file" (where signed checkpoints are appended) and "checkpoint_every" (entries).
    std::string logSink;
    std::filesystem::path anchorFile;
    std::int64_t checkpointEvery = 100;
    // The file named destinations ("export_destinations" or "export_allow_list", even empty):
    // then only those may be used. A policy that names none leaves the choice to the other
    // sources (and when no source names any, exports are not possible).
    bool destinationsListed = false;
    // Which of the settings above the policy sets: a file, those it names (tightening with it
    // touches no other); a policy made in code, all of them.
    enum Setting : unsigned {
        IdleTimeout = 1,
        MinPasswordLength = 2,
        MaxFailedLogins = 4,
        LockoutWindow = 8,
        Argon2Memory = 16,
        Argon2Operations = 32,
        AllSettings = 63
    };
    unsigned named = AllSettings;

    static constexpr int schema = 1; // "schema": the format version this build reads
    static constexpr const char* systemPath = "/etc/radmark/policy.json";

    // The system policy's path: systemPath; in a build made for tests only (BUILD_TESTING),
    // $RADMARK_TEST_SYSTEM_POLICY when set, so that tests run with a cheap Argon2id.
    static std::filesystem::path systemPolicyPath();
    static bool testBuild(); // whether this build honours RADMARK_TEST_SYSTEM_POLICY
    // The system policy: its file when present (it must then be valid), else the defaults.
    static Policy system();

    // file given: it must exist and be valid. Otherwise the system policy.
    static Policy load(const std::optional<std::filesystem::path>& file = std::nullopt);
    static Policy fromJson(const std::string& text); // throws PolicyError
    std::string toJson() const;

    // This policy, tightened by other: every field takes the stricter of the two (higher Argon2
    // cost, longer minimum password, fewer failed logins, longer lockout, shorter idle timeout,
    // only the destinations both allow). A value of other that is looser is ignored; each one
    // ignored is described in ignored (one line each, no secrets), when given.
    Policy tightenedBy(const Policy& other, std::vector<std::string>* ignored = nullptr) const;
    // The site's two sources together: this (the system policy) and the policy an admin recorded
    // in the store. Every setting the stricter of both; destinations: the system's when it
    // lists any, else the store's.
    Policy combinedWith(const Policy& recorded, std::vector<std::string>* ignored = nullptr) const;
    // What radmark and radmark-cli apply before login: the system policy tightened by the
    // user's --policy file (when given). The store's recorded policy tightens it further at
    // login (Store::login).
    static Policy effective(const std::optional<std::filesystem::path>& userFile,
                            std::vector<std::string>* ignored = nullptr);

    bool listsDestinations() const {
        return destinationsListed || !exportDestinations.empty() || !exportAllowList.empty();
    }

    // Every destination: the named ones, then the older allow-list's folders.
    std::vector<ExportDestination> destinations() const;
    std::optional<ExportDestination> findDestination(const std::string& name) const;
    std::optional<PacsNode> findPacsNode(const std::string& name) const;

    // Throws InvalidRequestError with the rule that was broken.
    void checkPassword(const std::string& password) const;
};

} // namespace radmark::storage
