#pragma once
// The site's security policy: idle lock, password rules, failed-login lockout, Argon2id cost and
// where exports may go. Read from /etc/radmark/policy.json (or a given file); safe defaults when
// there is none.

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

// One PACS Radmark may import from (pacs/, docs/pacs.md), as the site's IT wrote it in the
// policy ("pacs_nodes"): admins pick it by name, no one types an address.
struct PacsNode {
    std::string name;
    std::string dicomwebUrl;               // https://host[:port]/dicom-web (QIDO-RS, WADO-RS)
    bool preferred = false;                // the one offered first
    bool plainHttpAllowed = false;         // "plain_http_allowed": an http:// URL is accepted
    std::filesystem::path caBundle;        // PEM file the server certificate is verified against
    std::filesystem::path credentialsFile; // username=/password= or token= lines, mode 0600/0400
    std::string user;                      // without a credentials file: the password is asked
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

    static constexpr const char* systemPath = "/etc/radmark/policy.json";

    // file given: it must exist and be valid. Otherwise the system file when present, else
    // defaults.
    static Policy load(const std::optional<std::filesystem::path>& file = std::nullopt);
    static Policy fromJson(const std::string& text); // throws PolicyError
    std::string toJson() const;

    // Every destination: the named ones, then the older allow-list's folders.
    std::vector<ExportDestination> destinations() const;
    std::optional<ExportDestination> findDestination(const std::string& name) const;
    std::optional<PacsNode> findPacsNode(const std::string& name) const;

    // Throws InvalidRequestError with the rule that was broken.
    void checkPassword(const std::string& password) const;
};

} // namespace radmark::storage
