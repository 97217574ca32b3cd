#include "storage/Policy.h"

#include "storage/AuditAnchor.h"
#include "storage/Errors.h"

#include <nlohmann/json.hpp>
#include <sodium.h>

#include <fstream>
#include <set>
#include <sstream>

namespace radmark::storage {
namespace {

ExportDestination destinationFromJson(const nlohmann::json& j) {
    if (!j.is_object())
        throw PolicyError("policy: each of export_destinations must be an object");
    static const std::set<std::string> known = {"name",        "smb",  "folder",
                                                "credentials", "user", "local"};
    for (const auto& [key, value] : j.items())
        if (!known.count(key))
            throw PolicyError("policy: export destination setting '" + key + "' is unknown");
    ExportDestination d;
    d.name = j.value("name", "");
    d.smbUrl = j.value("smb", "");
    d.folder = j.value("folder", "");
    d.credentialsFile = j.value("credentials", "");
    d.smbUser = j.value("user", "");
    d.local = j.value("local", false);
    const std::string which = "policy: export destination '" + d.name + "'";
    if (d.name.empty() || d.name.size() > 100 ||
        d.name.find_first_of("\"\\/\n\r\t") != std::string::npos)
        throw PolicyError("policy: an export destination needs a name (up to 100 characters, no "
                          "slashes, quotes or line breaks)");
    if (d.isSmb() == !d.folder.empty())
        throw PolicyError(which + " needs exactly one of \"smb\" and \"folder\"");
    if (d.isSmb()) {
        if (d.smbUrl.rfind("smb://", 0) != 0)
            throw PolicyError(which + ": \"smb\" must start with smb://");
        if (d.local)
            throw PolicyError(which + ": \"local\" is for folders only");
        if (d.credentialsFile.empty() && d.smbUser.empty())
            throw PolicyError(which + " needs \"credentials\" (a file) or \"user\" (the "
                                      "password is then asked for)");
        if (!d.credentialsFile.empty() && !d.credentialsFile.is_absolute())
            throw PolicyError(which + ": \"credentials\" must be an absolute path");
    } else {
        if (!d.folder.is_absolute())
            throw PolicyError(which + ": \"folder\" must be an absolute path");
        if (!d.credentialsFile.empty() || !d.smbUser.empty())
            throw PolicyError(which + ": \"credentials\" and \"user\" are for smb only");
    }
    return d;
}

nlohmann::json destinationToJson(const ExportDestination& d) {
    nlohmann::json j;
    j["name"] = d.name;
    if (d.isSmb()) {
        j["smb"] = d.smbUrl;
        if (!d.credentialsFile.empty())
            j["credentials"] = d.credentialsFile.string();
        if (!d.smbUser.empty())
            j["user"] = d.smbUser;
    } else {
        j["folder"] = d.folder.string();
        if (d.local)
            j["local"] = true;
    }
    return j;
}

PacsNode pacsNodeFromJson(const nlohmann::json& j) {
    if (!j.is_object())
        throw PolicyError("policy: each of pacs_nodes must be an object");
    static const std::set<std::string> known = {"name",      "dicomweb",    "preferred",
                                                "plain_http_allowed", "ca_bundle", "credentials",
                                                "user"};
    for (const auto& [key, value] : j.items())
        if (!known.count(key))
            throw PolicyError("policy: PACS node setting '" + key + "' is unknown");
    PacsNode n;
    n.name = j.value("name", "");
    n.dicomwebUrl = j.value("dicomweb", "");
    n.preferred = j.value("preferred", false);
    n.plainHttpAllowed = j.value("plain_http_allowed", false);
    n.caBundle = j.value("ca_bundle", "");
    n.credentialsFile = j.value("credentials", "");
    n.user = j.value("user", "");
    if (n.name.empty() || n.name.size() > 100 ||
        n.name.find_first_of("\"\\/\n\r\t") != std::string::npos)
        throw PolicyError("policy: a PACS node needs a name (up to 100 characters, no slashes, "
                          "quotes or line breaks)");
    const std::string which = "policy: PACS node '" + n.name + "'";
    const bool https = n.dicomwebUrl.rfind("https://", 0) == 0;
    const bool http = n.dicomwebUrl.rfind("http://", 0) == 0;
    if (!https && !http)
        throw PolicyError(which + " needs \"dicomweb\", an https:// URL");
    if (http && !n.plainHttpAllowed)
        throw PolicyError(which + ": an http:// URL needs \"plain_http_allowed\": true");
    if (n.dicomwebUrl.find_first_of(" \n\r\t?#") != std::string::npos)
        throw PolicyError(which + ": \"dicomweb\" must be a plain base URL");
    for (const auto* path : {&n.caBundle, &n.credentialsFile})
        if (!path->empty() && !path->is_absolute())
            throw PolicyError(which + ": \"ca_bundle\" and \"credentials\" must be absolute paths");
    if (!n.credentialsFile.empty() && !n.user.empty())
        throw PolicyError(which + ": give \"credentials\" or \"user\", not both");
    return n;
}

} // namespace

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
    static const char* known[] = {
        "idle_timeout_seconds", "min_password_length", "max_failed_logins", "lockout_seconds",
        "argon2_memory_bytes",  "argon2_operations",   "export_allow_list", "export_destinations",
        "pacs_nodes",           "log_sink",            "anchor_file",       "checkpoint_every"};
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
        if (j.contains("export_destinations")) {
            if (!j.at("export_destinations").is_array())
                throw PolicyError("policy: export_destinations must be a list");
            for (const auto& d : j.at("export_destinations"))
                p.exportDestinations.push_back(destinationFromJson(d));
        }
        if (j.contains("pacs_nodes")) {
            if (!j.at("pacs_nodes").is_array())
                throw PolicyError("policy: pacs_nodes must be a list");
            std::set<std::string> pacsNames;
            for (const auto& n : j.at("pacs_nodes")) {
                p.pacsNodes.push_back(pacsNodeFromJson(n));
                if (!pacsNames.insert(p.pacsNodes.back().name).second)
                    throw PolicyError("policy: two PACS nodes are named '" +
                                      p.pacsNodes.back().name + "'");
            }
        }
        if (j.contains("log_sink"))
            p.logSink = j.at("log_sink").get<std::string>();
        if (j.contains("anchor_file"))
            p.anchorFile = j.at("anchor_file").get<std::string>();
        if (j.contains("checkpoint_every"))
            p.checkpointEvery = j.at("checkpoint_every").get<std::int64_t>();
    } catch (const nlohmann::json::exception&) {
        throw PolicyError("the policy file has a setting of the wrong type");
    }
    for (const auto& prefix : p.exportAllowList)
        if (!std::filesystem::path(prefix).is_absolute())
            throw PolicyError("policy: export_allow_list entries must be absolute paths");
    std::set<std::string> names;
    for (const auto& d : p.destinations())
        if (!names.insert(d.name).second)
            throw PolicyError("policy: two export destinations are named '" + d.name + "'");
    LogSink::parse(p.logSink); // throws PolicyError on a sink it cannot use
    if (!p.anchorFile.empty() && !p.anchorFile.is_absolute())
        throw PolicyError("policy: anchor_file must be an absolute path");
    if (p.checkpointEvery < 1 || p.checkpointEvery > 1000000)
        throw PolicyError("policy: checkpoint_every must be between 1 and 1000000");
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
    if (!exportDestinations.empty()) {
        j["export_destinations"] = nlohmann::json::array();
        for (const auto& d : exportDestinations)
            j["export_destinations"].push_back(destinationToJson(d));
    }
    for (const auto& n : pacsNodes) {
        nlohmann::json node = {{"name", n.name}, {"dicomweb", n.dicomwebUrl}};
        if (n.preferred)
            node["preferred"] = true;
        if (n.plainHttpAllowed)
            node["plain_http_allowed"] = true;
        if (!n.caBundle.empty())
            node["ca_bundle"] = n.caBundle.string();
        if (!n.credentialsFile.empty())
            node["credentials"] = n.credentialsFile.string();
        if (!n.user.empty())
            node["user"] = n.user;
        j["pacs_nodes"].push_back(node);
    }
    // Only when set: a store recorded before these settings existed sees no policy change.
    if (!logSink.empty())
        j["log_sink"] = logSink;
    if (!anchorFile.empty())
        j["anchor_file"] = anchorFile.string();
    if (checkpointEvery != 100)
        j["checkpoint_every"] = checkpointEvery;
    return j.dump();
}

std::vector<ExportDestination> Policy::destinations() const {
    std::vector<ExportDestination> all = exportDestinations;
    for (const auto& prefix : exportAllowList) {
        ExportDestination d;
        d.name = prefix;
        d.folder = prefix;
        all.push_back(d);
    }
    return all;
}

std::optional<ExportDestination> Policy::findDestination(const std::string& name) const {
    for (auto& d : destinations())
        if (d.name == name)
            return d;
    return std::nullopt;
}

std::optional<PacsNode> Policy::findPacsNode(const std::string& name) const {
    for (const auto& n : pacsNodes)
        if (n.name == name)
            return n;
    return std::nullopt;
}

void Policy::checkPassword(const std::string& password) const {
    if (password.size() < minPasswordLength)
        throw InvalidRequestError("the password must have at least " +
                                  std::to_string(minPasswordLength) + " characters");
    if (password.find_first_not_of(password.front()) == std::string::npos)
        throw InvalidRequestError("the password must not repeat a single character");
}

} // namespace radmark::storage
