#include "delivery/MountDecision.h"

#include "delivery/Errors.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

namespace radmark::delivery {
namespace fs = std::filesystem;
namespace {

// mountinfo escapes space, tab, newline and backslash as \040, \011, \012, \134.
std::string unescape(const std::string& text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\\' && i + 3 < text.size() &&
            std::isdigit(static_cast<unsigned char>(text[i + 1])) &&
            std::isdigit(static_cast<unsigned char>(text[i + 2])) &&
            std::isdigit(static_cast<unsigned char>(text[i + 3]))) {
            out += static_cast<char>((text[i + 1] - '0') * 64 + (text[i + 2] - '0') * 8 +
                                     (text[i + 3] - '0'));
            i += 3;
        } else {
            out += text[i];
        }
    }
    return out;
}

std::vector<std::string> split(const std::string& text, char separator) {
    std::vector<std::string> parts;
    std::string part;
    std::istringstream in(text);
    while (std::getline(in, part, separator))
        parts.push_back(part);
    return parts;
}

bool isUnder(const std::string& path, const std::string& folder) {
    if (folder == "/")
        return true;
    return path == folder ||
           (path.size() > folder.size() && path.compare(0, folder.size(), folder) == 0 &&
            path[folder.size()] == '/');
}

std::string readFirstLine(const fs::path& file) {
    std::ifstream in(file);
    std::string line;
    std::getline(in, line);
    return line;
}

// The part of a /sys path below sysRoot ("/devices/pci0000:00/.../usb2/..."), so that a fixture
// tree's own location never matches "/usb".
std::string belowRoot(const fs::path& path, const fs::path& sysRoot) {
    std::error_code ec;
    const std::string p = path.string();
    const fs::path root = fs::canonical(sysRoot, ec);
    const std::string r = (ec ? sysRoot : root).string();
    return p.compare(0, r.size(), r) == 0 ? p.substr(r.size()) : p;
}

std::optional<std::string> blockDeviceReason(const fs::path& deviceDir,
                                             const std::vector<MountEntry>& table,
                                             const fs::path& sysRoot, int depth);
std::optional<std::string> mediaReason(const MountEntry& mount,
                                       const std::vector<MountEntry>& table,
                                       const fs::path& sysRoot, int depth);

std::optional<std::string> deviceReason(const MountEntry& mount,
                                        const std::vector<MountEntry>& table,
                                        const fs::path& sysRoot, int depth) {
    if (depth > 8)
        return std::nullopt;
    std::error_code ec;
    const fs::path link = sysRoot / "dev" / "block" /
                          (std::to_string(mount.major) + ":" + std::to_string(mount.minor));
    if (!fs::exists(link, ec))
        return std::nullopt; // no block device: network, tmpfs, overlay, ...
    const fs::path device = fs::canonical(link, ec);
    if (ec)
        return std::nullopt;
    return blockDeviceReason(device, table, sysRoot, depth);
}

std::optional<std::string> blockDeviceReason(const fs::path& device,
                                             const std::vector<MountEntry>& table,
                                             const fs::path& sysRoot, int depth) {
    std::error_code ec;
    const std::string where = belowRoot(device, sysRoot);
    const std::string name = device.filename().string();
    if (where.find("/usb") != std::string::npos)
        return "its device " + name + " is attached over USB";
    if (where.find("/mmc") != std::string::npos)
        return "its device " + name + " is an SD/MMC card";
    const bool partition = fs::exists(device / "partition", ec);
    const fs::path disk = partition ? device.parent_path() : device;
    const std::string diskName = disk.filename().string();
    if (diskName.rfind("sr", 0) == 0)
        return "its device " + diskName + " is an optical drive";
    if (readFirstLine(disk / "removable") == "1")
        return "its device " + diskName + " is removable";
    // Encrypted or assembled devices (dm-crypt, LVM, md): decided by what they are made of.
    for (const fs::path& holderOf : {device / "slaves", disk / "slaves"}) {
        if (!fs::is_directory(holderOf, ec))
            continue;
        for (const auto& slave : fs::directory_iterator(holderOf, ec)) {
            const fs::path under = fs::canonical(slave.path(), ec);
            if (ec || depth >= 8)
                continue;
            if (auto reason = blockDeviceReason(under, table, sysRoot, depth + 1))
                return reason;
        }
    }
    // A loop device: decided by the file it serves.
    const std::string backing = readFirstLine(disk / "loop" / "backing_file");
    if (!backing.empty()) {
        const fs::path file = fs::weakly_canonical(backing, ec);
        if (auto mount = mountOf(table, ec ? fs::path(backing) : file))
            if (auto reason = mediaReason(*mount, table, sysRoot, depth + 1))
                return "it is a loop device over " + backing + ", and " + *reason;
    }
    return std::nullopt;
}

} // namespace

bool MountEntry::hasOption(const std::string& option) const {
    for (const std::string* list : {&options, &superOptions})
        for (const auto& o : split(*list, ','))
            if (o == option)
                return true;
    return false;
}

std::vector<MountEntry> readMountTable(const fs::path& mountInfo) {
    std::ifstream in(mountInfo);
    if (!in)
        throw DeliveryError("cannot read the mount table " + mountInfo.string());
    std::vector<MountEntry> table;
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::vector<std::string> words;
        std::string word;
        while (fields >> word)
            words.push_back(word);
        const auto dash = std::find(words.begin(), words.end(), "-");
        if (words.size() < 6 || dash == words.end() || words.end() - dash < 3 ||
            dash - words.begin() < 6)
            continue;
        MountEntry e;
        try {
            e.id = std::stoi(words[0]);
            e.parentId = std::stoi(words[1]);
            const auto colon = words[2].find(':');
            if (colon == std::string::npos)
                continue;
            e.major = static_cast<unsigned>(std::stoul(words[2].substr(0, colon)));
            e.minor = static_cast<unsigned>(std::stoul(words[2].substr(colon + 1)));
        } catch (const std::exception&) {
            continue;
        }
        e.root = unescape(words[3]);
        e.mountPoint = unescape(words[4]);
        e.options = words[5];
        e.fsType = unescape(*(dash + 1));
        e.source = unescape(*(dash + 2));
        e.superOptions = dash + 3 < words.end() ? *(dash + 3) : "";
        table.push_back(std::move(e));
    }
    return table;
}

std::optional<MountEntry> mountOf(const std::vector<MountEntry>& table, const fs::path& path) {
    const std::string p = path.lexically_normal().string();
    const MountEntry* best = nullptr;
    for (const auto& e : table) {
        if (!isUnder(p, e.mountPoint))
            continue;
        if (!best || e.mountPoint.size() >= best->mountPoint.size())
            best = &e;
    }
    if (!best)
        return std::nullopt;
    return *best;
}

namespace {

std::optional<std::string> mediaReason(const MountEntry& mount,
                                       const std::vector<MountEntry>& table,
                                       const fs::path& sysRoot, int depth) {
    static const std::set<std::string> optical = {"iso9660", "udf"};
    static const std::set<std::string> removableTypes = {
        "vfat", "exfat", "msdos", "iso9660", "udf", "ntfs", "ntfs3", "fuseblk", "hfsplus"};
    if (optical.count(mount.fsType))
        return "it is on an optical disc (" + mount.fsType + ")";
    if (removableTypes.count(mount.fsType) &&
        (isUnder(mount.mountPoint, "/media") || isUnder(mount.mountPoint, "/run/media")))
        return "it is a " + mount.fsType + " medium mounted at " + mount.mountPoint;
    return deviceReason(mount, table, sysRoot, depth);
}

} // namespace

std::optional<std::string> removableMediaReason(const MountEntry& mount,
                                                const std::vector<MountEntry>& table,
                                                const fs::path& sysRoot) {
    return mediaReason(mount, table, sysRoot, 0);
}

FolderDecision decideFolder(const fs::path& folder, bool allowLocal, const fs::path& mountInfo,
                            const fs::path& sysRoot) {
    FolderDecision d;
    std::error_code ec;
    d.resolved = fs::canonical(folder, ec);
    if (ec) {
        d.reason = "the folder " + folder.string() + " does not exist or cannot be reached";
        return d;
    }
    if (!fs::is_directory(d.resolved, ec)) {
        d.reason = folder.string() + " is not a folder";
        return d;
    }
    const auto table = readMountTable(mountInfo);
    d.mount = mountOf(table, d.resolved);
    if (!d.mount) {
        d.reason = "no mount holds " + d.resolved.string();
        return d;
    }
    const MountEntry& m = *d.mount;
    const std::string at = "the " + m.fsType + " mount at " + m.mountPoint;
    if (auto removable = removableMediaReason(m, table, sysRoot)) {
        d.reason = d.resolved.string() + " is on removable media: " + *removable +
                   "; exports never go to removable media";
        return d;
    }
    if (m.hasOption("ro")) {
        d.reason = at + " is read-only";
        return d;
    }
    if (m.fsType == "cifs" || m.fsType == "smb3") {
        if (m.hasOption("seal")) {
            d.allowed = true;
            d.reason = at + " encrypts (seal)";
        } else {
            d.reason = at + " does not encrypt: it must be mounted with the seal option";
        }
        return d;
    }
    if (m.fsType == "nfs" || m.fsType == "nfs4") {
        if (m.hasOption("sec=krb5p")) {
            d.allowed = true;
            d.reason = at + " encrypts (sec=krb5p)";
        } else {
            std::string sec = "no sec option";
            for (const auto& o : split(m.superOptions + "," + m.options, ','))
                if (o.rfind("sec=", 0) == 0)
                    sec = o;
            d.reason = at + " does not encrypt (" + sec + "): it must be mounted with sec=krb5p";
        }
        return d;
    }
    if (allowLocal) {
        d.allowed = true;
        d.reason = "a local folder (" + m.fsType + " at " + m.mountPoint +
                   "), allowed because the policy marks it local";
        return d;
    }
    d.reason = d.resolved.string() + " is on a local " + m.fsType + " file system (" +
               m.mountPoint + "), not an encrypted network mount; the policy may allow a local " +
               "folder only by marking it \"local\": true";
    return d;
}

} // namespace radmark::delivery
