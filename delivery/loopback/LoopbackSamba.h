#pragma once
// A private Samba server on 127.0.0.1 for tests and benchmarks (never for real exports): its own
// smb.conf, tdbsam and lock/state/cache/pid folders in a temp folder, one share, SMB3 only,
// encryption required (or off, to prove that Radmark refuses it), an unprivileged port. Runs as
// `smbd --foreground --no-process-group` in a process group of its own, which stop() and the
// destructor end.

#include <cstdint>
#include <filesystem>
#include <string>
#include <sys/types.h>

namespace radmark::delivery {

class LoopbackSamba {
  public:
    struct Options {
        bool requireEncryption = true;     // false: "server smb encrypt = off"
        std::filesystem::path shareFolder; // empty: a folder inside the server's temp folder
    };
    explicit LoopbackSamba(Options options);
    LoopbackSamba() : LoopbackSamba(Options{}) {}
    LoopbackSamba(const LoopbackSamba&) = delete;
    LoopbackSamba& operator=(const LoopbackSamba&) = delete;
    ~LoopbackSamba(); // stops the server and removes its temp folder

    void start(); // again after stop(), on the same port
    void stop();
    bool running() const { return pid_ > 0; }

    int port() const { return port_; }
    const std::filesystem::path& shareFolder() const { return share_; }
    const std::filesystem::path& configFile() const { return config_; }
    const std::string& user() const { return user_; }
    const std::string& password() const { return password_; }
    std::string shareName() const { return "bundles"; }
    // smb://127.0.0.1:PORT/bundles[/folder]
    std::string url(const std::string& folder = {}) const;
    // A Samba authentication file (username/password), mode 0600.
    void writeCredentialsFile(const std::filesystem::path& file,
                              const std::string& password = {}) const;
    // smbstatus -b with the server's config: the sessions with dialect, cipher and signing.
    std::string sessions() const;

  private:
    std::filesystem::path root_, share_, config_;
    std::string user_, password_;
    int port_ = 0;
    pid_t pid_ = -1;
};

} // namespace radmark::delivery
