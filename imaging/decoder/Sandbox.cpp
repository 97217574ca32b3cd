#include "imaging/decoder/Sandbox.h"

#include "imaging/decoder/SeccompFilter.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace radmark::decoder {

bool builtWithAddressSanitizer() {
#if defined(__SANITIZE_ADDRESS__)
    return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return true;
#else
    return false;
#endif
#else
    return false;
#endif
}

namespace {

bool writeFile(const char* path, const std::string& text) {
    const int fd = ::open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    const bool ok = ::write(fd, text.data(), text.size()) == ssize_t(text.size());
    ::close(fd);
    return ok;
}

int mountSetattr(const char* path, unsigned flags, std::uint64_t set, std::uint64_t clear) {
    mount_attr attr{};
    attr.attr_set = set;
    attr.attr_clr = clear;
    return int(::syscall(SYS_mount_setattr, AT_FDCWD, path, flags, &attr, sizeof attr));
}

} // namespace

bool confineWritesTo(const std::filesystem::path& folder, int& voxelFolderFd, std::string& why) {
    const uid_t uid = ::getuid();
    const gid_t gid = ::getgid();
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
        why = std::string("no private mount namespace: ") + std::strerror(errno);
        return false;
    }
    // From here on a failure leaves the namespace half made: the caller must not go on.
    if (!writeFile("/proc/self/setgroups", "deny") ||
        !writeFile("/proc/self/uid_map", std::to_string(uid) + " " + std::to_string(uid) + " 1") ||
        !writeFile("/proc/self/gid_map", std::to_string(gid) + " " + std::to_string(gid) + " 1")) {
        why = std::string("cannot map the user in the namespace: ") + std::strerror(errno);
        return false;
    }
    const std::string target = folder.string();
    if (::syscall(SYS_mount, nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
        why = std::string("cannot make the mounts private: ") + std::strerror(errno);
        return false;
    }
    // The tmpfs goes on /tmp for a moment, is opened, then detached: no path reaches it any
    // more, from this process or any other.
    for (const char* spot : {"/tmp", "/mnt", "/dev"}) {
        if (::syscall(SYS_mount, "radmark-voxels", spot, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                      "huge=always,mode=0700") != 0)
            continue;
        voxelFolderFd = ::open(spot, O_PATH | O_DIRECTORY | O_CLOEXEC);
        constexpr int detach = 2; // MNT_DETACH (<sys/mount.h> clashes with <linux/mount.h>)
        ::syscall(SYS_umount2, spot, detach);
        break;
    }
    if ((!target.empty() && ::syscall(SYS_mount, target.c_str(), target.c_str(), nullptr,
                                      MS_BIND | MS_REC, nullptr) != 0) ||
        mountSetattr("/", AT_RECURSIVE, MOUNT_ATTR_RDONLY, 0) != 0 ||
        (!target.empty() &&
         mountSetattr(target.c_str(), AT_RECURSIVE, 0, MOUNT_ATTR_RDONLY) != 0)) {
        why = std::string("cannot make the file system read-only: ") + std::strerror(errno);
        return false;
    }
    return true;
}

namespace {

namespace sc = seccomp;

std::vector<sock_filter> buildFilter(const SandboxSettings& s) {
    sc::FilterProgram f;
    // Anything not listed traps: the child's SIGSYS handler tells the parent which call it was
    // and exits (a handler that returned would still not get the call made).
    sc::allowProcessBasics(f);
    // Messages on the channel only (it is the child's one socket; it cannot make others).
    f.allowArgument(SYS_sendmsg, 0, std::uint32_t(s.channelFd), sc::trap);
    f.allowArgument(SYS_recvmsg, 0, std::uint32_t(s.channelFd), sc::trap);
    f.verdict(SYS_ioctl, sc::errnoAction(ENOTTY)); // isatty() probes of iostreams
    if (s.allowWrites) {
        // The mount namespace keeps writes inside the confined folder.
        f.allow(SYS_openat);
        for (long nr : {
                 SYS_unlinkat, SYS_renameat, SYS_renameat2, SYS_mkdirat, SYS_fchmod, SYS_fchmodat,
                     SYS_fsync, SYS_fdatasync, SYS_utimensat,
#if defined(__x86_64__)
                     SYS_open, SYS_unlink, SYS_rename, SYS_mkdir, SYS_rmdir, SYS_chmod,
#endif
             })
            f.allow(nr);
    } else {
        // The private tmpfs of the voxels (reachable only through its descriptor).
        if (s.voxelFolderFd >= 0)
            f.allowWhenArgument(SYS_openat, 0, std::uint32_t(s.voxelFolderFd));
        // Read-only opens; a write open fails with EACCES (GDCM then reports a clean failure).
        f.allowWithoutBits(SYS_openat, 2, sc::writeOpenFlags, sc::errnoAction(EACCES));
#if defined(__x86_64__)
        f.allowWithoutBits(SYS_open, 1, sc::writeOpenFlags, sc::errnoAction(EACCES));
#endif
    }
    return f.finish(sc::trap);
}

} // namespace

void enterSandbox(const SandboxSettings& settings) {
    seccomp::dropPrivileges();
    if (settings.cpuSeconds > 0)
        seccomp::setLimit(RLIMIT_CPU, rlim_t(settings.cpuSeconds), rlim_t(settings.cpuSeconds + 5));
    if (settings.addressSpaceBytes > 0 && !builtWithAddressSanitizer())
        seccomp::setLimit(RLIMIT_AS, settings.addressSpaceBytes, settings.addressSpaceBytes);
    seccomp::installFilter(buildFilter(settings));
}

} // namespace radmark::decoder
