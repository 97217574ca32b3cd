#include "storage/CallerContext.h"

#include <nlohmann/json.hpp>
#include <sodium.h>

#include <fstream>
#include <pwd.h>
#include <unistd.h>

#include <array>
#include <filesystem>

#ifndef RADMARK_VERSION_TEXT
#define RADMARK_VERSION_TEXT "0"
#endif

namespace radmark::storage {
namespace {

thread_local const CallerContext* threadCaller = nullptr;

std::string hostName() {
    std::array<char, 256> name{};
    if (::gethostname(name.data(), name.size() - 1) != 0)
        return "?";
    return name.data();
}

std::string userNameOf(std::int64_t uid) {
    if (uid < 0)
        return {};
    struct passwd entry {};
    struct passwd* found = nullptr;
    std::array<char, 4096> buffer{};
    if (::getpwuid_r(uid_t(uid), &entry, buffer.data(), buffer.size(), &found) != 0 || !found)
        return {};
    return found->pw_name;
}

// The machine's id is hashed with a label so that the log does not hand out /etc/machine-id
// itself (some software treats it as a secret); it is stable across reboots and host renames.
std::string workstationIdOf(const std::string& host) {
    std::string machine;
    for (const char* path : {"/etc/machine-id", "/var/lib/dbus/machine-id"}) {
        std::ifstream in(path);
        if (in && std::getline(in, machine) && !machine.empty())
            break;
    }
    const std::string input = "radmark-workstation-v1\n" + (machine.empty() ? host : machine);
    unsigned char hash[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(hash, reinterpret_cast<const unsigned char*>(input.data()), input.size());
    static const char hex[] = "0123456789abcdef";
    std::string out;
    for (int i = 0; i < 16; ++i) {
        out += hex[hash[i] >> 4];
        out += hex[hash[i] & 15];
    }
    return out;
}

std::string programOf(std::int64_t pid) {
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink(
        pid == 0 ? std::filesystem::path("/proc/self/exe")
                 : std::filesystem::path("/proc") / std::to_string(pid) / "exe",
        ec);
    if (ec) {
        // Another account's process that is not dumpable (every Radmark process): its exe link
        // is closed to us, its name (comm, at most 15 characters) is not.
        std::ifstream comm(std::filesystem::path("/proc") / std::to_string(pid) / "comm");
        std::string name;
        if (pid == 0 || !std::getline(comm, name))
            return {};
        return name;
    }
    std::string name = exe.filename().string();
    const std::string deleted = " (deleted)"; // the binary was replaced since it started
    if (name.size() > deleted.size() &&
        name.compare(name.size() - deleted.size(), deleted.size(), deleted) == 0)
        name.resize(name.size() - deleted.size());
    return name;
}

const CallerContext& processCaller() {
    static const CallerContext self = [] {
        CallerContext c;
        c.host = hostName();
        c.workstationId = workstationIdOf(c.host);
        c.uid = std::int64_t(::getuid());
        c.osUser = userNameOf(c.uid);
        c.program = programOf(0);
        c.version = RADMARK_VERSION_TEXT;
        return c;
    }();
    return self;
}

} // namespace

CallerContext CallerContext::thisProcess() {
    CallerContext c = processCaller();
    c.pid = std::int64_t(::getpid());
    return c;
}

CallerContext CallerContext::current() {
    return threadCaller ? *threadCaller : thisProcess();
}

CallerContext CallerContext::peer(std::int64_t uid, std::int64_t pid, const std::string& program) {
    CallerContext c = processCaller();
    c.uid = uid;
    c.osUser = userNameOf(uid);
    c.pid = pid;
    const std::string seen = programOf(pid);
    c.program = seen.empty() ? program : seen;
    return c;
}

std::string CallerContext::toText() const {
    const nlohmann::json j{
        {"host", host}, {"workstation", workstationId}, {"uid", uid},        {"user", osUser},
        {"pid", pid},   {"program", program},           {"version", version}};
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

CallerContext CallerContext::fromText(const std::string& text) {
    CallerContext c;
    if (text.empty())
        return c;
    try {
        const auto j = nlohmann::json::parse(text);
        c.host = j.value("host", "");
        c.workstationId = j.value("workstation", "");
        c.uid = j.value("uid", std::int64_t(-1));
        c.osUser = j.value("user", "");
        c.pid = j.value("pid", std::int64_t(0));
        c.program = j.value("program", "");
        c.version = j.value("version", "");
    } catch (const std::exception&) {
        return CallerContext{};
    }
    return c;
}

std::string CallerContext::summary() const {
    if (host.empty() && uid < 0)
        return {};
    std::string s = "uid " + std::to_string(uid);
    if (!osUser.empty())
        s += " (" + osUser + ")";
    s += " pid " + std::to_string(pid) + " " + (program.empty() ? "?" : program) + " " + version +
         " on " + host + " [" + workstationId + "]";
    return s;
}

CallerScope::CallerScope(CallerContext caller)
    : previous_(threadCaller), caller_(std::move(caller)) {
    threadCaller = &caller_;
}

CallerScope::~CallerScope() {
    threadCaller = previous_;
}

} // namespace radmark::storage
