#pragma once
// The confinement the decoder child puts itself in once its libraries are loaded: no new
// privileges, not dumpable, no core files, limits on processor time and address space (not
// under AddressSanitizer, which reserves terabytes of shadow memory), and a seccomp filter that
// lets threads run but denies sockets, exec, ptrace, signals to other processes and opening
// files for writing. A decoder that must write (the `deid` command's output) is first confined
// to one writable folder with a private mount namespace (everything else read-only).

#include <cstddef>
#include <filesystem>
#include <string>

namespace radmark::decoder {

struct SandboxSettings {
    int channelFd = 3;                 // the only socket the child may use
    std::size_t addressSpaceBytes = 0; // RLIMIT_AS; 0 = none
    int cpuSeconds = 0;                // RLIMIT_CPU (soft; hard is 5 s more); 0 = none
    bool allowWrites = false;          // inside the confined folder only (confineWritesTo)
    int voxelFolderFd = -1;            // confineWritesTo's private tmpfs: may create files there
};

// In a new user and mount namespace of this process: mounts a private tmpfs on 2 MiB pages,
// detached from every path (voxelFolderFd is the only way in: the volume's shared memory is
// made there, on huge pages, where a memfd would get 4 KiB pages), then makes every mount
// read-only except `folder` (empty: none). Must run before any thread starts. Returns false
// when the kernel refuses unprivileged namespaces; why says what failed.
bool confineWritesTo(const std::filesystem::path& folder, int& voxelFolderFd, std::string& why);

// Applies limits and the seccomp filter to every thread of the process. Irreversible.
// Throws std::runtime_error when the kernel refuses the filter: the child must then not run.
void enterSandbox(const SandboxSettings& settings);

// True when built with AddressSanitizer (no address-space limit then).
bool builtWithAddressSanitizer();

} // namespace radmark::decoder
