#include "pacs/FetchSandbox.h"

#include "imaging/decoder/SeccompFilter.h"

#include <netinet/in.h>
#include <sys/ioctl.h>

namespace radmark::pacs {
namespace {

namespace sc = decoder::seccomp;

std::vector<sock_filter> buildFetchFilter() {
    sc::FilterProgram f;
    sc::allowProcessBasics(f);
    // Sockets of the internet families only, stream (HTTP, DIMSE) or datagram (DNS). Any other
    // family (AF_UNIX, AF_NETLINK, AF_PACKET, ...) fails with EAFNOSUPPORT instead of trapping:
    // glibc's resolver asks nscd over AF_UNIX and the routing table over AF_NETLINK first, and
    // goes on without them. The channel (fd 3) and curl's wake-up pairs are socketpairs.
    f.allowWhenAll(
        SYS_socket,
        {sc::ArgumentIn{0, {AF_INET, AF_INET6}}, sc::ArgumentIn{1, {SOCK_STREAM, SOCK_DGRAM}, 0xf}},
        sc::errnoAction(EAFNOSUPPORT));
    f.allowArgumentIn(SYS_socketpair, 0, {AF_UNIX}, sc::errnoAction(EAFNOSUPPORT));
    for (long nr : {
             SYS_connect, SYS_bind, SYS_listen, SYS_accept, SYS_accept4, SYS_getsockname,
                 SYS_getpeername, SYS_setsockopt, SYS_getsockopt, SYS_sendto, SYS_recvfrom,
                 SYS_sendmsg, SYS_recvmsg, SYS_sendmmsg, SYS_recvmmsg, SYS_shutdown, SYS_pselect6,
                 SYS_epoll_create1, SYS_epoll_ctl, SYS_epoll_pwait, SYS_eventfd2, SYS_pipe2,
#if defined(__x86_64__)
                 SYS_select, SYS_epoll_wait, SYS_pipe,
#endif
         })
        f.allow(nr);
    // DCMTK's acceptor (C-MOVE's storage SCP) calls setuid(getuid()) before it listens, to drop
    // a set-user-ID root: a no-op here, allowed with that argument only.
    f.allowArgument(SYS_setuid, 0, std::uint32_t(::getuid()), sc::trap);
    // Non-blocking mode and the bytes waiting on a socket; isatty() probes get ENOTTY.
    f.allowArgumentIn(SYS_ioctl, 1, {FIONBIO, FIONREAD}, sc::errnoAction(ENOTTY));
    // Read-only opens (the CA bundle, /etc/hosts, resolv.conf, nsswitch's modules); an open for
    // writing fails with EACCES: the fetcher writes only into memfds.
    f.allowWithoutBits(SYS_openat, 2, sc::writeOpenFlags, sc::errnoAction(EACCES));
#if defined(__x86_64__)
    f.allowWithoutBits(SYS_open, 1, sc::writeOpenFlags, sc::errnoAction(EACCES));
#endif
    // Everything else traps: execve, execveat, a clone that makes a process, ptrace,
    // process_vm_readv/writev, mount, unshare, setns, unlink, rename, chmod...
    return f.finish(sc::trap);
}

} // namespace

void enterFetchSandbox(int channelFd) {
    sc::dropPrivileges();
    sc::reportTrapsOn(channelFd);
    sc::installFilter(buildFetchFilter());
}

} // namespace radmark::pacs
