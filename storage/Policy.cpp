#include "storage/Policy.h"

#include "storage/AuditAnchor.h"
#include "storage/Errors.h"

#include <nlohmann/json.hpp>
#include <sodium.h>

#include <cstdlib>
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

// An AE title as DICOM allows it: 1 to 16 characters of printable ASCII, no backslash, not all
// spaces.
bool validAeTitle(const std::string& ae) {
    if (ae.empty() || ae.size() > 16 || ae.find_first_not_of(' ') == std::string::npos)
        return false;
    for (char c : ae)
        if (c < 0x20 || c > 0x7e || c == '\\')
            return false;
    return true;
}

DimseNode dimseFromJson(const nlohmann::json& j, const std::string& which) {
    if (!j.is_object())
        throw PolicyError(which + ": \"dimse\" must be an object");
    static const std::set<std::string> known = {"ae_title", "host",     "port",
                                                "calling_ae", "retrieve", "move_destination"};
    for (const auto& [key, value] : j.items())
        if (!known.count(key))
            throw PolicyError(which + ": DIMSE setting '" + key + "' is unknown");
    const auto port = [&](const nlohmann::json& o, const char* key, int fallback) {
        if (!o.contains(key))
            return fallback;
        const auto& v = o.at(key);
        if (!v.is_number_integer() || v.get<long long>() < 1 || v.get<long long>() > 65535)
            throw PolicyError(which + ": \"" + key + "\" must be a port number (1 to 65535)");
        return v.get<int>();
    };
    const auto text = [&](const nlohmann::json& o, const char* key) {
        if (!o.contains(key))
            return std::string();
        if (!o.at(key).is_string())
            throw PolicyError(which + ": \"" + key + "\" must be a string");
        return o.at(key).get<std::string>();
    };
    DimseNode d;
    d.aeTitle = text(j, "ae_title");
    d.host = text(j, "host");
    d.port = port(j, "port", 104);
    d.callingAe = text(j, "calling_ae");
    const std::string retrieve = j.contains("retrieve") ? text(j, "retrieve") : "get";
    if (retrieve != "get" && retrieve != "move")
        throw PolicyError(which + ": \"retrieve\" is \"get\" (C-GET) or \"move\" (C-MOVE)");
    d.move = retrieve == "move";
    if (!validAeTitle(d.aeTitle) || !validAeTitle(d.callingAe))
        throw PolicyError(which + ": \"ae_title\" and \"calling_ae\" are AE titles (1 to 16 "
                                  "printable characters, no backslash)");
    if (d.host.empty() || d.host.size() > 253 ||
        d.host.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                 ".-:") != std::string::npos)
        throw PolicyError(which + ": \"host\" must be a host name or an address");
    if (j.contains("move_destination")) {
        const auto& m = j.at("move_destination");
        if (!m.is_object())
            throw PolicyError(which + ": \"move_destination\" must be an object");
        for (const auto& [key, value] : m.items())
            if (key != "ae_title" && key != "port")
                throw PolicyError(which + ": move_destination setting '" + key + "' is unknown");
        d.moveAeTitle = text(m, "ae_title");
        d.movePort = port(m, "port", 0);
        if (!validAeTitle(d.moveAeTitle) || d.movePort == 0)
            throw PolicyError(which + ": \"move_destination\" needs \"ae_title\" and \"port\"");
    }
    if (d.move && d.moveAeTitle.empty())
        throw PolicyError(which + ": \"retrieve\": \"move\" needs \"move_destination\" (the "
                                  "AE title and port of Radmark's storage SCP)");
    if (!d.move && !d.moveAeTitle.empty())
        throw PolicyError(which + ": \"move_destination\" goes with \"retrieve\": \"move\"");
    return d;
}

PacsNode pacsNodeFromJson(const nlohmann::json& j) {
    if (!j.is_object())
        throw PolicyError("policy: each of pacs_nodes must be an object");
    static const std::set<std::string> known = {
        "name",      "dicomweb",    "dimse", "preferred", "plain_http_allowed",
        "ca_bundle", "credentials", "user"};
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
    if (j.contains("dimse")) {
        if (j.contains("dicomweb"))
            throw PolicyError(which + ": give \"dicomweb\" or \"dimse\", not both");
        for (const char* key : {"plain_http_allowed", "ca_bundle", "credentials", "user"})
            if (j.contains(key))
                throw PolicyError(which + ": \"" + key + "\" is for DICOMweb nodes only");
        n.dimse = dimseFromJson(j.at("dimse"), which);
        return n;
    }
    const bool https = n.dicomwebUrl.rfind("https://", 0) == 0;
    const bool http = n.dicomwebUrl.rfind("http://", 0) == 0;
    if (!https && !http)
        throw PolicyError(which + " needs \"dicomweb\", an https:// URL (or \"dimse\")");
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
    static const char* known[] = {"schema",
                                  "idle_timeout_seconds",
                                  "min_password_length",
                                  "max_failed_logins",
                                  "lockout_seconds",
                                  "argon2_memory_bytes",
                                  "argon2_operations",
                                  "export_allow_list",
                                  "export_destinations",
                                  "pacs_nodes",
                                  "log_sink",
                                  "anchor_file",
                                  "checkpoint_every"};
    for (const auto& [key, value] : j.items()) {
        bool ok = false;
        for (const char* k : known)
            ok = ok || key == k;
        if (!ok)
            throw PolicyError("the policy file has an unknown setting '" + key + "'");
    }
    // Files written before the format had a version (no "schema") are schema 1.
    if (j.contains("schema") && (!j.at("schema").is_number_integer() ||
                                 j.at("schema").get<std::int64_t>() != Policy::schema))
        throw PolicyError("the policy file is of schema " + j.at("schema").dump() +
                          "; this Radmark reads schema " + std::to_string(Policy::schema) +
                          " (docs/policy.md)");
    p.destinationsListed = j.contains("export_allow_list") || j.contains("export_destinations");
    p.named = (j.contains("idle_timeout_seconds") ? unsigned(IdleTimeout) : 0u) |
              (j.contains("min_password_length") ? unsigned(MinPasswordLength) : 0u) |
              (j.contains("max_failed_logins") ? unsigned(MaxFailedLogins) : 0u) |
              (j.contains("lockout_seconds") ? unsigned(LockoutWindow) : 0u) |
              (j.contains("argon2_memory_bytes") ? unsigned(Argon2Memory) : 0u) |
              (j.contains("argon2_operations") ? unsigned(Argon2Operations) : 0u);
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

bool Policy::testBuild() {
#ifdef RADMARK_TEST_SYSTEM_POLICY_HOOK
    return true;
#else
    return false;
#endif
}

std::filesystem::path Policy::systemPolicyPath() {
#ifdef RADMARK_TEST_SYSTEM_POLICY_HOOK
    // Compiled in only when the build makes tests (BUILD_TESTING): a release build reads
    // systemPath and nothing else, whatever the environment says.
    if (const char* test = std::getenv("RADMARK_TEST_SYSTEM_POLICY"); test && *test)
        return test;
#endif
    return systemPath;
}

Policy Policy::system() {
    const std::filesystem::path path = systemPolicyPath();
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
        return Policy{};
    return load(path);
}

Policy Policy::effective(const std::optional<std::filesystem::path>& userFile,
                         std::vector<std::string>* ignored) {
    Policy site = system();
    if (!userFile)
        return site;
    return site.tightenedBy(load(userFile), ignored);
}

Policy Policy::load(const std::optional<std::filesystem::path>& file) {
    if (!file)
        return system();
    const std::filesystem::path path = *file;
    std::ifstream in(path);
    if (!in)
        throw PolicyError("cannot read the policy file " + path.string());
    std::stringstream text;
    text << in.rdbuf();
    return fromJson(text.str());
}

std::string Policy::toJson() const {
    nlohmann::json j;
    j["schema"] = schema;
    if (named & IdleTimeout)
        j["idle_timeout_seconds"] = idleTimeout.count();
    if (named & MinPasswordLength)
        j["min_password_length"] = minPasswordLength;
    if (named & MaxFailedLogins)
        j["max_failed_logins"] = maxFailedLogins;
    if (named & LockoutWindow)
        j["lockout_seconds"] = lockoutWindow.count();
    if (named & Argon2Memory)
        j["argon2_memory_bytes"] = argon2MemoryBytes;
    if (named & Argon2Operations)
        j["argon2_operations"] = argon2Operations;
    if (listsDestinations())
        j["export_allow_list"] = exportAllowList;
    if (listsDestinations()) {
        j["export_destinations"] = nlohmann::json::array();
        for (const auto& d : exportDestinations)
            j["export_destinations"].push_back(destinationToJson(d));
    }
    for (const auto& n : pacsNodes) {
        nlohmann::json node = {{"name", n.name}};
        if (n.dimse) {
            const DimseNode& d = *n.dimse;
            node["dimse"] = {{"ae_title", d.aeTitle},
                             {"host", d.host},
                             {"port", d.port},
                             {"calling_ae", d.callingAe},
                             {"retrieve", d.move ? "move" : "get"}};
            if (!d.moveAeTitle.empty()) {
                node["dimse"]["move_destination"] = {{"ae_title", d.moveAeTitle},
                                                     {"port", d.movePort}};
            }
        } else {
            node["dicomweb"] = n.dicomwebUrl;
        }
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

namespace {

template <class T>
void keepStricter(T& mine, const T& theirs, bool theirsIsStricter, const char* field,
                  const std::string& theirsText, const std::string& mineText,
                  std::vector<std::string>* ignored) {
    if (!field)
        return; // other does not set it
    if (theirsIsStricter)
        mine = theirs;
    else if (theirs != mine && ignored)
        ignored->push_back(std::string(field) + " " + theirsText + " ignored: looser than the " +
                           "site's " + mineText);
}

bool sameDestination(const ExportDestination& a, const ExportDestination& b) {
    return a.name == b.name && a.smbUrl == b.smbUrl && a.folder == b.folder &&
           a.credentialsFile == b.credentialsFile && a.smbUser == b.smbUser && a.local == b.local;
}

bool among(const ExportDestination& d, const std::vector<ExportDestination>& all) {
    for (const auto& other : all)
        if (sameDestination(d, other))
            return true;
    return false;
}

} // namespace

Policy Policy::tightenedBy(const Policy& other, std::vector<std::string>* ignored) const {
    Policy p = *this;
    p.named |= other.named;
    const auto setBy = [&](unsigned setting, const char* name) {
        return (other.named & setting) ? name : nullptr;
    };
    keepStricter(p.idleTimeout, other.idleTimeout, other.idleTimeout < idleTimeout,
                 setBy(IdleTimeout, "idle_timeout_seconds"),
                 std::to_string(other.idleTimeout.count()), std::to_string(idleTimeout.count()),
                 ignored);
    keepStricter(
        p.minPasswordLength, other.minPasswordLength, other.minPasswordLength > minPasswordLength,
        setBy(MinPasswordLength, "min_password_length"), std::to_string(other.minPasswordLength),
        std::to_string(minPasswordLength), ignored);
    keepStricter(p.maxFailedLogins, other.maxFailedLogins, other.maxFailedLogins < maxFailedLogins,
                 setBy(MaxFailedLogins, "max_failed_logins"), std::to_string(other.maxFailedLogins),
                 std::to_string(maxFailedLogins), ignored);
    keepStricter(p.lockoutWindow, other.lockoutWindow, other.lockoutWindow > lockoutWindow,
                 setBy(LockoutWindow, "lockout_seconds"),
                 std::to_string(other.lockoutWindow.count()), std::to_string(lockoutWindow.count()),
                 ignored);
    keepStricter(
        p.argon2MemoryBytes, other.argon2MemoryBytes, other.argon2MemoryBytes > argon2MemoryBytes,
        setBy(Argon2Memory, "argon2_memory_bytes"), std::to_string(other.argon2MemoryBytes),
        std::to_string(argon2MemoryBytes), ignored);
    keepStricter(p.argon2Operations, other.argon2Operations,
                 other.argon2Operations > argon2Operations,
                 setBy(Argon2Operations, "argon2_operations"),
                 std::to_string(other.argon2Operations), std::to_string(argon2Operations), ignored);
    if (other.listsDestinations()) {
        // Only what both allow: a destination of other's that this does not list is not added.
        const std::vector<ExportDestination> mine = destinations();
        const std::vector<ExportDestination> theirs = other.destinations();
        p.exportDestinations.clear();
        p.exportAllowList.clear();
        for (const auto& d : exportDestinations)
            if (among(d, theirs))
                p.exportDestinations.push_back(d);
        for (const auto& prefix : exportAllowList)
            if (among(ExportDestination{prefix, {}, prefix, {}, {}, false}, theirs))
                p.exportAllowList.push_back(prefix);
        p.destinationsListed = true;
        if (ignored)
            for (const auto& d : theirs)
                if (!among(d, mine))
                    ignored->push_back("export destination '" + d.name +
                                       "' ignored: the site's policy does not list it");
    }
    // Checkpoints may come more often, never less; PACS nodes and the log's anchors are the
    // site's alone (another file's are ignored).
    if (other.checkpointEvery < checkpointEvery)
        p.checkpointEvery = other.checkpointEvery;
    if (ignored && !other.pacsNodes.empty())
        ignored->push_back("pacs_nodes ignored: PACS nodes come from the site's policy only");
    if (ignored && ((!other.logSink.empty() && other.logSink != logSink) ||
                    (!other.anchorFile.empty() && other.anchorFile != anchorFile)))
        ignored->push_back("log_sink and anchor_file ignored: the log's anchors are the site's");
    return p;
}

Policy Policy::combinedWith(const Policy& recorded, std::vector<std::string>* ignored) const {
    // The numbers: the stricter of both. The destinations: the system's when it lists any (IT's
    // list, current when it changes), else the store's.
    Policy numbers = recorded;
    numbers.exportDestinations.clear();
    numbers.exportAllowList.clear();
    numbers.destinationsListed = false;
    numbers.pacsNodes.clear();
    numbers.logSink.clear();
    numbers.anchorFile.clear();
    Policy p = tightenedBy(numbers, ignored);
    if (!listsDestinations() && recorded.listsDestinations()) {
        p.exportDestinations = recorded.exportDestinations;
        p.exportAllowList = recorded.exportAllowList;
        p.destinationsListed = true;
    } else if (recorded.listsDestinations() && ignored) {
        ignored->push_back("export destinations ignored: the system policy lists its own");
    }
    // PACS nodes and the anchors: the system's when it sets them, else what the admin recorded.
    if (pacsNodes.empty())
        p.pacsNodes = recorded.pacsNodes;
    if (logSink.empty())
        p.logSink = recorded.logSink;
    if (anchorFile.empty())
        p.anchorFile = recorded.anchorFile;
    return p;
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
