#pragma once
// The pieces of a seccomp-BPF allow-list that Radmark's confined children share (the decoder,
// imaging/decoder/Sandbox.cpp, and the PACS fetcher, pacs/FetchSandbox.cpp): a small assembler
// for the filter program (written with <linux/seccomp.h>, no libseccomp), the calls every child
// needs to run at all (memory, threads, time, signals to itself), the limits and flags set
// before the filter, its installation on every thread, and the SIGSYS handler that tells the
// parent which call was trapped. Each child adds its own rules (files, sockets) on top.

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#endif

namespace radmark::decoder::seccomp {

#if defined(__x86_64__)
inline constexpr std::uint32_t filterArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
inline constexpr std::uint32_t filterArch = AUDIT_ARCH_AARCH64;
#else
#error "the sandboxes know the system calls of x86_64 and aarch64 only"
#endif

constexpr std::uint32_t errnoAction(int error) {
    return SECCOMP_RET_ERRNO | (std::uint32_t(error) & SECCOMP_RET_DATA);
}
inline constexpr std::uint32_t trap = SECCOMP_RET_TRAP;

// One condition on an argument: its low 32 bits, masked, must be one of values.
struct ArgumentIn {
    int arg;
    std::vector<std::uint32_t> values;
    std::uint32_t mask = 0xffffffffu;
};

// A small assembler for the filter: each rule is a few instructions, jumps stay short. A rule
// that does not match the call's number jumps over itself with the number still in the
// accumulator; one that matches ends in a verdict on every path.
class FilterProgram {
  public:
    // A call of another architecture is killed outright (its numbers mean other calls).
    FilterProgram() {
        load(offsetof(seccomp_data, arch));
        code_.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, filterArch, 1, 0));
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
        allowWhenAll(nr, {ArgumentIn{arg, values}}, otherwise);
    }
    // Allowed when every condition holds (e.g. a socket's family and its type); else `otherwise`.
    void allowWhenAll(long nr, const std::vector<ArgumentIn>& conditions, std::uint32_t otherwise) {
        std::size_t length = 1; // the final allow
        for (const ArgumentIn& c : conditions)
            length += 2 + (c.mask != 0xffffffffu ? 1 : 0) + c.values.size();
        if (length > 255)
            throw std::logic_error("a seccomp rule too long for a short jump");
        code_.push_back(
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, std::uint32_t(nr), 0, std::uint8_t(length)));
        for (const ArgumentIn& c : conditions) {
            load(argLow(c.arg));
            if (c.mask != 0xffffffffu)
                code_.push_back(BPF_STMT(BPF_ALU | BPF_AND | BPF_K, c.mask));
            const auto n = std::uint8_t(c.values.size());
            // A match skips the remaining values and the refusal, to the next condition.
            for (std::uint8_t i = 0; i < n; ++i)
                code_.push_back(
                    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, c.values[i], std::uint8_t(n - i), 0));
            code_.push_back(BPF_STMT(BPF_RET | BPF_K, otherwise));
        }
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

// What any child needs to run at all: reading and writing descriptors it holds, memory, memfds,
// futexes and threads (a clone without CLONE_THREAD would be a new process: trapped; clone3 hides
// its flags in memory the filter cannot read, so ENOSYS makes glibc fall back to clone), time,
// signals to itself only (abort, raise: EPERM for any other process), a few harmless prctls.
inline void allowProcessBasics(FilterProgram& f) {
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
    f.allowWithBits(SYS_clone, 0, CLONE_THREAD | CLONE_VM, trap);
    f.verdict(SYS_clone3, errnoAction(ENOSYS));
    const auto self = std::uint32_t(::getpid());
    f.allowArgument(SYS_tgkill, 0, self, errnoAction(EPERM));
    f.allowArgument(SYS_kill, 0, self, errnoAction(EPERM));
    f.allowArgumentIn(SYS_prctl, 0, {PR_SET_NAME, PR_GET_NAME, PR_SET_VMA}, errnoAction(EPERM));
}

// The open flags that make an open one for writing (O_TMPFILE without its O_DIRECTORY part).
inline constexpr std::uint32_t writeOpenFlags =
    O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND | (O_TMPFILE & ~O_DIRECTORY);

inline void setLimit(int resource, rlim_t soft, rlim_t hard) {
    rlimit limit{soft, hard};
    if (::setrlimit(resource, &limit) != 0)
        throw std::runtime_error(std::string("cannot set a resource limit: ") +
                                 std::strerror(errno));
}

// No core file, not dumpable (no ptrace by other processes of the user, no /proc/PID/mem),
// no new privileges (what the filter needs, unprivileged). Irreversible.
inline void dropPrivileges() {
    setLimit(RLIMIT_CORE, 0, 0);
    if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 || ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        throw std::runtime_error(std::string("cannot drop privileges: ") + std::strerror(errno));
}

// The filter on every thread of the process (TSYNC). Throws when the kernel refuses it.
inline void installFilter(std::vector<sock_filter> code) {
    sock_fprog program{static_cast<unsigned short>(code.size()), code.data()};
    if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &program) != 0)
        throw std::runtime_error(std::string("cannot install the system call filter: ") +
                                 std::strerror(errno));
}

inline int trapChannel = 3;

// The SIGSYS of the filter: tell the parent which call was trapped ({"sandbox": N} as a failure
// message of imaging/decoder/Channel.h), then end the process. Only async-signal-safe calls: a
// fixed message built by hand, sendmsg, _exit. A trapped call is never executed, whatever a
// handler does.
inline void onSandboxTrap(int, siginfo_t* info, void*) {
    char body[64] = "{\"sandbox\":";
    std::size_t n = std::strlen(body);
    char digits[16];
    int count = 0;
    unsigned value = unsigned(info->si_syscall);
    do {
        digits[count++] = char('0' + value % 10);
        value /= 10;
    } while (value && count < 15);
    while (count)
        body[n++] = digits[--count];
    body[n++] = '}';
    struct {
        std::uint32_t magic = 0x314D4452; // "RDM1"
        std::uint16_t version = 1;
        std::uint16_t kind = 4; // failure
        std::uint32_t bodyBytes = 0;
        std::uint32_t flags = 0;
    } header;
    header.bodyBytes = std::uint32_t(n);
    char datagram[sizeof header + sizeof body];
    std::memcpy(datagram, &header, sizeof header);
    std::memcpy(datagram + sizeof header, body, n);
    iovec io{datagram, sizeof header + n};
    msghdr msg{};
    msg.msg_iov = &io;
    msg.msg_iovlen = 1;
    ::sendmsg(trapChannel, &msg, MSG_NOSIGNAL);
    ::_exit(128 + SIGSYS);
}

// Installs onSandboxTrap for SIGSYS, reporting on `channel`. Before installFilter.
inline void reportTrapsOn(int channel) {
    trapChannel = channel;
    struct sigaction action {};
    action.sa_sigaction = onSandboxTrap;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGSYS, &action, nullptr);
}

} // namespace radmark::decoder::seccomp
