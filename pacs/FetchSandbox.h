#pragma once
// The confinement radmark-pacs-fetch puts itself in once its libraries are loaded (libcurl and
// OpenSSL initialised, DCMTK's dictionary read): no core file, not dumpable, no new privileges,
// and a seccomp allow-list (imaging/decoder/SeccompFilter.h, shared with the decoder) that keeps
// what speaking to a PACS needs (threads, TCP and UDP sockets of IPv4 and IPv6, DNS, reading the
// CA bundle, a listening socket for C-MOVE, memfds) and refuses the rest: exec, a new process,
// ptrace and process_vm_*, opening files for writing, mount, unshare, other socket families.
// A trapped call is reported on the channel as {"sandbox": N}; docs/pacs.md has the list.

namespace radmark::pacs {

// Irreversible, on every thread. Throws std::runtime_error when the kernel refuses the filter:
// the fetcher must then not run.
void enterFetchSandbox(int channelFd);

} // namespace radmark::pacs
