#pragma once
// From where an audited action came: the machine, the OS account and process, which Radmark
// program and version. Every access-log entry carries one, inside its hash and MAC. It is this
// process by default; the store service (radmarkd) records its client instead, from the socket's
// peer credentials, with a CallerScope around the login and Session::setCaller afterwards.

#include <cstdint>
#include <string>

namespace radmark::storage {

struct CallerContext {
    std::string host;          // host name
    std::string workstationId; // stable per machine: a hash of /etc/machine-id (else of host)
    std::int64_t uid = -1;     // OS user
    std::string osUser;        // its name, when the system knows one
    std::int64_t pid = 0;
    std::string program; // radmark (GUI), radmark-cli, radmarkd, or a test's binary name
    std::string version; // Radmark's version

    // This process, as the system sees it (computed once; pid read each time after a fork).
    static CallerContext thisProcess();
    // The caller of the current thread: a CallerScope's when one is active, else thisProcess().
    static CallerContext current();
    // A client of this process identified by its peer credentials (SO_PEERCRED): the host,
    // workstation and version are this machine's; the program is read from /proc/<pid>/exe
    // when visible, else given.
    static CallerContext peer(std::int64_t uid, std::int64_t pid, const std::string& program = {});

    // Canonical text stored in the entry and covered by its hash: a JSON object with sorted
    // keys (host, pid, program, uid, user, version, workstation).
    std::string toText() const;
    static CallerContext fromText(const std::string& text); // empty on an empty or foreign text
    // One line for `audit show`: "uid 1000 (anna) pid 4711 radmark-cli 0.1.0 on host vm".
    std::string summary() const;
};

// Makes `caller` the current thread's caller until the scope ends (nestable).
class CallerScope {
  public:
    explicit CallerScope(CallerContext caller);
    ~CallerScope();
    CallerScope(const CallerScope&) = delete;
    CallerScope& operator=(const CallerScope&) = delete;

  private:
    const CallerContext* previous_;
    CallerContext caller_;
};

} // namespace radmark::storage
