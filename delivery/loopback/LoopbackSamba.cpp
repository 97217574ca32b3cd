#include "delivery/loopback/LoopbackSamba.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace radmark::delivery {
namespace fs = std::filesystem;
namespace {

int freeLoopbackPort() {
    const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof address;
    if (s < 0 || ::bind(s, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(s, reinterpret_cast<sockaddr*>(&address), &length) != 0)
        throw std::runtime_error("no free loopback port");
    ::close(s);
    return ntohs(address.sin_port);
}

bool accepts(int port) {
    const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(port));
    const bool ok = ::connect(s, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    ::close(s);
    return ok;
}

std::string run(const std::string& command) {
    std::string out;
    if (FILE* p = ::popen(command.c_str(), "r")) {
        char buffer[4096];
        std::size_t n;
        while ((n = std::fread(buffer, 1, sizeof buffer, p)) > 0)
            out.append(buffer, n);
        if (::pclose(p) != 0)
            throw std::runtime_error("failed: " + command + "\n" + out);
    }
    return out;
}

std::string tail(const fs::path& file) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    const std::string all = text.str();
    return all.size() > 2000 ? all.substr(all.size() - 2000) : all;
}

} // namespace

LoopbackSamba::LoopbackSamba(Options options) {
    std::string pattern = (fs::temp_directory_path() / "radmark-samba-XXXXXX").string();
    if (!::mkdtemp(pattern.data()))
        throw std::runtime_error("cannot make a temp folder for smbd");
    root_ = pattern;
    for (const char* d : {"private", "lock", "state", "cache", "pid", "ncalrpc", "log"})
        fs::create_directories(root_ / d);
    share_ = options.shareFolder.empty() ? root_ / "share" : options.shareFolder;
    fs::create_directories(share_);
    config_ = root_ / "smb.conf";
    port_ = freeLoopbackPort();
    const passwd* pw = ::getpwuid(::geteuid());
    user_ = pw ? pw->pw_name : "root";
    password_ = "loopback-" + std::to_string(::getpid()) + "-" + std::to_string(port_);

    const std::string r = root_.string();
    std::ofstream conf(config_);
    conf << "[global]\n"
         << "  server role = standalone server\n"
         << "  netbios name = RADMARKTEST\n"
         << "  smb ports = " << port_ << "\n"
         << "  interfaces = lo\n"
         << "  bind interfaces only = yes\n"
         << "  server min protocol = SMB3\n"
         << "  server smb encrypt = " << (options.requireEncryption ? "required" : "off") << "\n"
         << "  passdb backend = tdbsam:" << r << "/private/passdb.tdb\n"
         << "  private dir = " << r << "/private\n"
         << "  lock directory = " << r << "/lock\n"
         << "  state directory = " << r << "/state\n"
         << "  cache directory = " << r << "/cache\n"
         << "  pid directory = " << r << "/pid\n"
         << "  ncalrpc dir = " << r << "/ncalrpc\n"
         << "  log file = " << r << "/log/smbd.log\n"
         << "  disable netbios = yes\n"
         << "  load printers = no\n"
         << "  printing = bsd\n"
         << "  printcap name = /dev/null\n"
         << "  disable spoolss = yes\n"
         << "  map to guest = never\n"
         << "[" << shareName() << "]\n"
         << "  path = " << share_.string() << "\n"
         << "  read only = no\n";
    conf.close();
    // smbpasswd reads the new password twice from stdin with -s.
    const fs::path input = root_ / "private" / "password-input";
    {
        std::ofstream in(input);
        in << password_ << "\n" << password_ << "\n";
    }
    ::chmod(input.c_str(), 0600);
    run("/usr/bin/smbpasswd -c '" + config_.string() + "' -s -a '" + user_ + "' < '" +
        input.string() + "' 2>&1");
    fs::remove(input);
    start();
}

LoopbackSamba::~LoopbackSamba() {
    stop();
    std::error_code ec;
    fs::remove_all(root_, ec);
}

void LoopbackSamba::start() {
    if (pid_ > 0)
        return;
    const fs::path log = root_ / "log" / "stdout";
    const pid_t child = ::fork();
    if (child < 0)
        throw std::runtime_error("cannot start smbd");
    if (child == 0) {
        ::setpgid(0, 0); // its own group, so stop() reaches the per-connection children too
        const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
        const int null = ::open("/dev/null", O_RDONLY);
        ::dup2(null, 0);
        ::dup2(out, 1);
        ::dup2(out, 2);
        ::execl("/usr/sbin/smbd", "smbd", "--foreground", "--no-process-group", "--debug-stdout",
                "-s", config_.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::setpgid(child, child);
    pid_ = child;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!accepts(port_)) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            throw std::runtime_error("smbd exited at start:\n" + tail(log));
        }
        if (std::chrono::steady_clock::now() > deadline) {
            stop();
            throw std::runtime_error("smbd did not listen on port " + std::to_string(port_) +
                                     ":\n" + tail(log));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

void LoopbackSamba::stop() {
    if (pid_ <= 0)
        return;
    ::kill(-pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_)
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (i == 60)
            ::kill(-pid_, SIGKILL);
    }
    ::kill(-pid_, SIGKILL); // children of the group still around
    int status = 0;
    ::waitpid(pid_, &status, WNOHANG);
    pid_ = -1;
}

std::string LoopbackSamba::url(const std::string& folder) const {
    return "smb://127.0.0.1:" + std::to_string(port_) + "/" + shareName() +
           (folder.empty() ? "" : "/" + folder);
}

void LoopbackSamba::writeCredentialsFile(const fs::path& file, const std::string& password) const {
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        throw std::runtime_error("cannot write " + file.string());
    const std::string text =
        "username = " + user_ + "\npassword = " + (password.empty() ? password_ : password) + "\n";
    if (::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()))
        throw std::runtime_error("cannot write " + file.string());
    ::close(fd);
    ::chmod(file.c_str(), 0600);
}

std::string LoopbackSamba::sessions() const {
    return run("/usr/bin/smbstatus -s '" + config_.string() + "' -b 2>&1");
}

} // namespace radmark::delivery
