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

struct Policy {
    std::chrono::seconds idleTimeout{10 * 60};
    std::size_t minPasswordLength = 12;
    int maxFailedLogins = 5;                     // within lockoutWindow
    std::chrono::seconds lockoutWindow{15 * 60}; // failures counted, and lockout length
    std::uint64_t argon2MemoryBytes = 256ull << 20;
    std::uint64_t argon2Operations = 3;
    std::vector<std::string> exportAllowList; // destinations (folder prefixes) exports may go to

    static constexpr const char* systemPath = "/etc/radmark/policy.json";

    // file given: it must exist and be valid. Otherwise the system file when present, else defaults.
    static Policy load(const std::optional<std::filesystem::path>& file = std::nullopt);
    static Policy fromJson(const std::string& text); // throws PolicyError
    std::string toJson() const;

    // Throws InvalidRequestError with the rule that was broken.
    void checkPassword(const std::string& password) const;
};

} // namespace radmark::storage
