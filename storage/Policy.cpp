#include "storage/Policy.h"

#include "storage/Errors.h"

#include <nlohmann/json.hpp>
#include <sodium.h>

#include <fstream>
#include <sstream>

namespace radmark::storage {

Policy Policy::fromJson(const std::string& text) {
    Policy p;
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);
    } catch (const std::exception&) {
        throw PolicyError("the policy file is not valid JSON");
    }
    if (!j.is_object())
        throw PolicyError("the policy file must hold a JSON object");
    static const char* known[] = {"idle_timeout_seconds", "min_password_length",
                                  "max_failed_logins",    "lockout_seconds",
                                  "argon2_memory_bytes",  "argon2_operations",
                                  "export_allow_list"};
    for (const auto& [key, value] : j.items()) {
        bool ok = false;
        for (const char* k : known)
            ok = ok || key == k;
        if (!ok)
            throw PolicyError("the policy file has an unknown setting '" + key + "'");
    }
    try {
        if (j.contains("idle_timeout_seconds"))
            p.idleTimeout = std::chrono::seconds(j.at("idle_timeout_seconds").get<std::int64_t>());
        if (j.contains("min_password_length"))
            p.minPasswordLength = j.at("min_password_length").get<std::size_t>();
        if (j.contains("max_failed_logins"))
            p.maxFailedLogins = j.at("max_failed_logins").get<int>();
        if (j.contains("lockout_seconds"))
            p.lockoutWindow = std::chrono::seconds(j.at("lockout_seconds").get<std::int64_t>());
        if (j.contains("argon2_memory_bytes"))
            p.argon2MemoryBytes = j.at("argon2_memory_bytes").get<std::uint64_t>();
        if (j.contains("argon2_operations"))
            p.argon2Operations = j.at("argon2_operations").get<std::uint64_t>();
        if (j.contains("export_allow_list"))
            p.exportAllowList = j.at("export_allow_list").get<std::vector<std::string>>();
    } catch (const nlohmann::json::exception&) {
        throw PolicyError("the policy file has a setting of the wrong type");
    }
    if (p.idleTimeout.count() < 1 || p.idleTimeout.count() > 24 * 3600)
        throw PolicyError("policy: idle_timeout_seconds must be between 1 and 86400");
    if (p.minPasswordLength < 1 || p.minPasswordLength > 1024)
        throw PolicyError("policy: min_password_length must be between 1 and 1024");
    if (p.maxFailedLogins < 1)
        throw PolicyError("policy: max_failed_logins must be at least 1");
    if (p.lockoutWindow.count() < 1)
        throw PolicyError("policy: lockout_seconds must be at least 1");
    if (p.argon2MemoryBytes < crypto_pwhash_MEMLIMIT_MIN ||
        p.argon2MemoryBytes > (std::uint64_t(8) << 30))
        throw PolicyError("policy: argon2_memory_bytes must be between 8 KiB and 8 GiB");
    if (p.argon2Operations < crypto_pwhash_OPSLIMIT_MIN || p.argon2Operations > 64)
        throw PolicyError("policy: argon2_operations must be between 1 and 64");
    return p;
}

Policy Policy::load(const std::optional<std::filesystem::path>& file) {
    std::filesystem::path path = file ? *file : std::filesystem::path(systemPath);
    std::error_code ec;
    if (!file && !std::filesystem::exists(path, ec))
        return Policy{};
    std::ifstream in(path);
    if (!in)
        throw PolicyError("cannot read the policy file " + path.string());
    std::stringstream text;
    text << in.rdbuf();
    return fromJson(text.str());
}

std::string Policy::toJson() const {
    nlohmann::json j;
    j["idle_timeout_seconds"] = idleTimeout.count();
    j["min_password_length"] = minPasswordLength;
    j["max_failed_logins"] = maxFailedLogins;
    j["lockout_seconds"] = lockoutWindow.count();
    j["argon2_memory_bytes"] = argon2MemoryBytes;
    j["argon2_operations"] = argon2Operations;
    j["export_allow_list"] = exportAllowList;
    return j.dump();
}

void Policy::checkPassword(const std::string& password) const {
    if (password.size() < minPasswordLength)
        throw InvalidRequestError("the password must have at least " +
                                  std::to_string(minPasswordLength) + " characters");
    if (password.find_first_not_of(password.front()) == std::string::npos)
        throw InvalidRequestError("the password must not repeat a single character");
}

} // namespace radmark::storage
