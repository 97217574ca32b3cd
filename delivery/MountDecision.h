#pragma once
// Whether a folder may receive exports, decided from the kernel's mount table
// (/proc/self/mountinfo) and the block devices in /sys: encrypted network mounts only (CIFS with
// seal, NFS with sec=krb5p), plain local folders only when the policy marks them "local", and
// removable media never (a removable, USB-, SD/MMC-attached or optical device, or a vfat, exfat
// or iso9660 mount under /media or /run/media).

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace radmark::delivery {

// One line of /proc/self/mountinfo (proc(5)), with the octal escapes (\040, ...) undone.
struct MountEntry {
    int id = 0;
    int parentId = 0;
    unsigned major = 0;
    unsigned minor = 0;
    std::string root;
    std::string mountPoint;
    std::string options; // per-mount options (rw, ro, noexec, ...)
    std::string fsType;
    std::string source;
    std::string superOptions; // file system options (seal, sec=krb5p, vers=3.1.1, ...)

    bool hasOption(const std::string& option) const; // in options or superOptions, exactly
};

// Throws DeliveryError when the file cannot be read; skips lines it cannot parse.
std::vector<MountEntry> readMountTable(const std::filesystem::path& mountInfo);
// The mount holding path (already free of symlinks): the longest mount point that is path or
// one of its parents; the later entry wins among equal ones (it is mounted over the other).
std::optional<MountEntry> mountOf(const std::vector<MountEntry>& table,
                                  const std::filesystem::path& path);

// Why the mount is on removable media, or nothing when it is not.
std::optional<std::string> removableMediaReason(const MountEntry& mount,
                                                const std::vector<MountEntry>& table,
                                                const std::filesystem::path& sysRoot);

struct FolderDecision {
    bool allowed = false;
    std::string reason;
    std::filesystem::path resolved; // the folder with symlinks resolved
    std::optional<MountEntry> mount;
};

// folder must exist; symlinks are resolved first, then the mount and its device decide.
FolderDecision decideFolder(const std::filesystem::path& folder, bool allowLocal,
                            const std::filesystem::path& mountInfo,
                            const std::filesystem::path& sysRoot);

} // namespace radmark::delivery
