#include "imaging/decoder/Sandbox.h"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/mount.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <vector>

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#endif

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

// A small assembler for the filter: each rule is a few instructions, jumps stay short.
class FilterProgram {
  public:
    explicit FilterProgram(std::uint32_t arch) {
        load(offsetof(seccomp_data, arch));
        code_.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, arch, 1, 0));
        code_.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
        loadNumber();
    }
    void allow(long nr) { verdict(nr, SECCOMP_RET_ALLOW); }
    void verdict(long nr, std::uint32_t action) {
        code_.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, std::uint32_t(nr), 0, 1));
        code_.push_back(BPF_STMT(BPF_RET | BPF_K, action));
    }
    // Allowed when the low 32 bits of argument `arg` have none of `bits`; else `otherwise`.
    void allowWithoutBits(long nr, int arg, std::uint32_t bits, std::uint32_t otherwise) {
        code_.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, std::uint32_t(nr), 0, 4));
        load(argLow(arg));
        code_.push_back(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, bits, 0, 1));
        code_.push_back(BPF_STMT(BPF_RET | BPF_K, otherwise));
        code_.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
        // The jump-over path kept the syscall number in the accumulator; the others returned.
    }
    // Allowed when argument `arg` has all of `bits`; else `otherwise`.
    void allowWithBits(long nr, int arg, std::uint32_t bits, std::uint32_t otherwise) {
        code_.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, std::uint32_t(nr), 0, 5));
        load(argLow(arg));
        code_.push_back(BPF_STMT(BPF_ALU | BPF_AND | BPF_K, bits));
        code_.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, bits, 1, 0));
        code_.push_back(BPF_STMT(BPF_RET | BPF_K, otherwise));
        code_.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
    }
    // Allowed when argument `arg` (low and high 32 bits) equals value; else `otherwise`.
    void allowArgument(long nr, int arg, std::uint32_t value, std::uint32_t otherwise) {
        code_.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, std::uint32_t(nr), 0, 6));
        load(argLow(arg) + 4);
        code_.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 2));
        load(argLow(arg));
        code_.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, value, 1, 0));
        code_.push_back(BPF_STMT(BPF_RET | BPF_K, otherwise));
        code_.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
    }
    // Allowed when argument `arg` (low 32 bits: a descriptor) equals value; else the rules that
    // follow decide.
    void allowWhenArgument(long nr, int arg, std::uint32_t value) {
        code_.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, std::uint32_t(nr), 0, 4));
        load(argLow(arg));
        code_.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, value, 0, 1));
        code_.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
        loadNumber();
    }
    // Allowed when argument `arg` is one of values; else `otherwise`.
    void allowArgumentIn(long nr, int arg, const std::vector<std::uint32_t>& values,
                         std::uint32_t otherwise) {
        const auto n = std::uint8_t(values.size());
        code_.push_back(
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, std::uint32_t(nr), 0, std::uint8_t(n + 3)));
        load(argLow(arg));
        for (std::uint8_t i = 0; i < n; ++i)
            code_.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, values[i], std::uint8_t(n - i), 0));
        code_.push_back(BPF_STMT(BPF_RET | BPF_K, otherwise));
        code_.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
    }
    std::vector<sock_filter> finish(std::uint32_t defaultAction) {
        code_.push_back(BPF_STMT(BPF_RET | BPF_K, defaultAction));
        return std::move(code_);
    }

  private:
    static std::uint32_t argLow(int arg) {
        return std::uint32_t(offsetof(seccomp_data, args) + std::size_t(arg) * 8);
    }
    void load(std::uint32_t offset) { code_.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offset)); }
    void loadNumber() { load(offsetof(seccomp_data, nr)); }
    std::vector<sock_filter> code_;
};

constexpr std::uint32_t errnoAction(int error) {
    return SECCOMP_RET_ERRNO | (std::uint32_t(error) & SECCOMP_RET_DATA);
}

#if defined(__x86_64__)
constexpr std::uint32_t filterArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr std::uint32_t filterArch = AUDIT_ARCH_AARCH64;
#else
#error "the decoder sandbox knows the system calls of x86_64 and aarch64 only"
#endif

std::vector<sock_filter> buildFilter(const SandboxSettings& s) {
    FilterProgram f(filterArch);
    // Anything not listed traps: the child's SIGSYS handler tells the parent which call it was
    // and exits (a handler that returned would still not get the call made).
    const std::uint32_t trap = SECCOMP_RET_TRAP;
    for (long nr : {
             SYS_read, SYS_write, SYS_pread64, SYS_pwrite64, SYS_readv, SYS_writev, SYS_preadv,
                 SYS_pwritev, SYS_close, SYS_fstat, SYS_newfstatat, SYS_statx, SYS_lseek,
                 SYS_getdents64, SYS_faccessat, SYS_faccessat2, SYS_readlinkat, SYS_getcwd,
                 SYS_fstatfs, SYS_statfs, SYS_fcntl, SYS_dup, SYS_dup3, SYS_mmap, SYS_munmap,
                 SYS_mprotect, SYS_madvise, SYS_mremap, SYS_brk, SYS_futex, SYS_set_robust_list,
                 SYS_get_robust_list, SYS_rseq, SYS_rt_sigaction, SYS_rt_sigprocmask,
                 SYS_rt_sigreturn, SYS_sigaltstack, SYS_exit, SYS_exit_group, SYS_gettid,
                 SYS_getpid, SYS_getppid, SYS_getuid, SYS_geteuid, SYS_getgid, SYS_getegid,
                 SYS_clock_gettime, SYS_clock_getres, SYS_clock_nanosleep, SYS_nanosleep,
                 SYS_gettimeofday, SYS_getrandom, SYS_sched_yield, SYS_sched_getaffinity,
                 SYS_sched_getparam, SYS_sched_getscheduler, SYS_getrusage, SYS_prlimit64,
                 SYS_membarrier, SYS_uname, SYS_sysinfo, SYS_memfd_create, SYS_ftruncate,
                 SYS_fallocate, SYS_ppoll, SYS_restart_syscall, SYS_umask, SYS_getpriority,
#if defined(__x86_64__)
                 SYS_poll, SYS_stat, SYS_lstat, SYS_access, SYS_readlink, SYS_arch_prctl, SYS_time,
                 SYS_pause, SYS_getdents,
#endif
         })
        f.allow(nr);
    // Threads only: a clone without CLONE_THREAD would be a new process. clone3 hides its flags
    // in memory the filter cannot read: ENOSYS makes glibc fall back to clone.
    f.allowWithBits(SYS_clone, 0, CLONE_THREAD | CLONE_VM, trap);
    f.verdict(SYS_clone3, errnoAction(ENOSYS));
    // Messages on the channel only (it is the child's one socket; it cannot make others).
    f.allowArgument(SYS_sendmsg, 0, std::uint32_t(s.channelFd), trap);
    f.allowArgument(SYS_recvmsg, 0, std::uint32_t(s.channelFd), trap);
    // Signals to itself only (abort, raise): never to another process.
    const auto self = std::uint32_t(::getpid());
    f.allowArgument(SYS_tgkill, 0, self, errnoAction(EPERM));
    f.allowArgument(SYS_kill, 0, self, errnoAction(EPERM));
    f.allowArgumentIn(SYS_prctl, 0, {PR_SET_NAME, PR_GET_NAME, PR_SET_VMA}, errnoAction(EPERM));
    f.verdict(SYS_ioctl, errnoAction(ENOTTY)); // isatty() probes of iostreams
    const std::uint32_t writeFlags =
        O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND | (O_TMPFILE & ~O_DIRECTORY);
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
        f.allowWithoutBits(SYS_openat, 2, writeFlags, errnoAction(EACCES));
#if defined(__x86_64__)
        f.allowWithoutBits(SYS_open, 1, writeFlags, errnoAction(EACCES));
#endif
    }
    return f.finish(trap);
}

void setLimit(int resource, rlim_t soft, rlim_t hard) {
    rlimit limit{soft, hard};
    if (::setrlimit(resource, &limit) != 0)
        throw std::runtime_error(std::string("cannot set a resource limit: ") +
                                 std::strerror(errno));
}

} // namespace

void enterSandbox(const SandboxSettings& settings) {
    setLimit(RLIMIT_CORE, 0, 0);
    if (settings.cpuSeconds > 0)
        setLimit(RLIMIT_CPU, rlim_t(settings.cpuSeconds), rlim_t(settings.cpuSeconds + 5));
    if (settings.addressSpaceBytes > 0 && !builtWithAddressSanitizer())
        setLimit(RLIMIT_AS, settings.addressSpaceBytes, settings.addressSpaceBytes);
    if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 || ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        throw std::runtime_error(std::string("cannot drop privileges: ") + std::strerror(errno));
    std::vector<sock_filter> code = buildFilter(settings);
    sock_fprog program{static_cast<unsigned short>(code.size()), code.data()};
    if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &program) != 0)
        throw std::runtime_error(std::string("cannot install the system call filter: ") +
                                 std::strerror(errno));
}

} // namespace radmark::decoder
