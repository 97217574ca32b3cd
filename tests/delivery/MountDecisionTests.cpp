// The folder decision on fixture trees of /proc/self/mountinfo and /sys (the test machine has
// neither CIFS nor NFS mounts, nor removable media), one test per rule, and once on the real
// mount table for the build folder.

#include "delivery/Destination.h"
#include "delivery/Errors.h"
#include "delivery/MountDecision.h"

#include "DeliveryTestSupport.h"

namespace radmark::delivery {
namespace {
namespace fs = std::filesystem;
using testing::TempDir;
using testing::writeFile;

// A mount table and a /sys tree, written by the test; every mount point is a real folder under
// the fixture's temp folder so that symlinks resolve as they would.
class MountFixture {
  public:
    MountFixture() { lines_.push_back("1 0 254:0 / / rw,relatime - ext4 /dev/vda rw,discard"); }

    fs::path folder(const std::string& relative) {
        fs::create_directories(dir_ / relative);
        return dir_ / relative;
    }
    // A mount of type at dir/relative; device "M:m"; options per mount and of the file system.
    fs::path mount(const std::string& relative, const std::string& type,
                   const std::string& superOptions, const std::string& device = "0:61",
                   const std::string& options = "rw,relatime",
                   const std::string& source = "//files.example.org/research") {
        const fs::path at = folder(relative);
        lines_.push_back(std::to_string(nextId_++) + " 1 " + device + " / " + escape(at.string()) +
                         " " + options + " shared:7 - " + type + " " + source + " " + superOptions);
        return at;
    }
    void rawLine(const std::string& line) { lines_.push_back(line); }
    // /sys/dev/block/M:m -> ../../devices/<devicePath>, with its disk's removable flag; a
    // partition is devicePath's last part below its disk.
    fs::path blockDevice(const std::string& majorMinor, const std::string& devicePath,
                         bool partition, bool removable) {
        const fs::path device = dir_ / "sys/devices" / devicePath;
        fs::create_directories(device);
        const fs::path disk = partition ? device.parent_path() : device;
        writeFile(disk / "removable", removable ? "1\n" : "0\n");
        if (partition)
            writeFile(device / "partition", "1\n");
        fs::create_directories(dir_ / "sys/dev/block");
        fs::create_symlink("../../devices/" + devicePath, dir_ / "sys/dev/block" / majorMinor);
        return device;
    }
    fs::path sys() const { return dir_ / "sys"; }
    fs::path mountInfo() {
        std::string text;
        for (const auto& l : lines_)
            text += l + "\n";
        writeFile(dir_ / "mountinfo", text);
        return dir_ / "mountinfo";
    }
    FolderDecision decide(const fs::path& path, bool local = false) {
        return decideFolder(path, local, mountInfo(), sys());
    }
    const fs::path& root() const { return dir_.path(); }

  private:
    static std::string escape(const std::string& path) {
        std::string out;
        for (char ch : path)
            out += ch == ' ' ? std::string("\\040") : std::string(1, ch);
        return out;
    }
    TempDir dir_{"radmark-mount-fixture"};
    std::vector<std::string> lines_;
    int nextId_ = 100;
};

TEST(MountDecision, CifsAllowedOnlyWithSeal) {
    MountFixture f;
    const auto sealed = f.mount("mnt/sealed", "cifs",
                                "rw,vers=3.1.1,cache=strict,username=svc,seal,uid=0,noforceuid");
    const auto open = f.mount("mnt/open", "cifs", "rw,vers=3.1.1,cache=strict,username=svc,uid=0");
    const auto smb3 = f.mount("mnt/smb3", "smb3", "rw,vers=3.1.1,seal");
    const auto allowed = f.decide(sealed);
    EXPECT_TRUE(allowed.allowed) << allowed.reason;
    EXPECT_NE(allowed.reason.find("seal"), std::string::npos);
    EXPECT_TRUE(f.decide(smb3).allowed);
    const auto refused = f.decide(open);
    EXPECT_FALSE(refused.allowed);
    EXPECT_NE(refused.reason.find("must be mounted with the seal option"), std::string::npos)
        << refused.reason;
}

TEST(MountDecision, NfsAllowedOnlyWithKrb5p) {
    MountFixture f;
    const auto krb5p =
        f.mount("mnt/krb5p", "nfs4", "rw,vers=4.2,rsize=1048576,sec=krb5p,clientaddr=10.0.0.2",
                "0:62", "rw,relatime", "nfs.example.org:/export");
    const auto sys = f.mount("mnt/sys", "nfs4", "rw,vers=4.2,sec=sys", "0:63");
    const auto krb5i = f.mount("mnt/krb5i", "nfs", "rw,vers=3,sec=krb5i", "0:64");
    EXPECT_TRUE(f.decide(krb5p).allowed) << f.decide(krb5p).reason;
    const auto refusedSys = f.decide(sys);
    EXPECT_FALSE(refusedSys.allowed);
    EXPECT_NE(refusedSys.reason.find("sec=sys"), std::string::npos) << refusedSys.reason;
    EXPECT_FALSE(f.decide(krb5i).allowed);
    EXPECT_NE(f.decide(krb5i).reason.find("sec=krb5p"), std::string::npos);
}

TEST(MountDecision, LocalFoldersOnlyWhenThePolicyMarksThemLocal) {
    MountFixture f;
    const auto plain = f.folder("srv/exports");
    const auto refused = f.decide(plain);
    EXPECT_FALSE(refused.allowed);
    EXPECT_NE(refused.reason.find("not an encrypted network mount"), std::string::npos)
        << refused.reason;
    const auto allowed = f.decide(plain, true);
    EXPECT_TRUE(allowed.allowed) << allowed.reason;
    EXPECT_NE(allowed.reason.find("marks it local"), std::string::npos);
    const auto tmpfs = f.mount("tmp/ram", "tmpfs", "rw,size=1024k", "0:70", "rw", "tmpfs");
    EXPECT_FALSE(f.decide(tmpfs).allowed);
}

TEST(MountDecision, LongestMountPointWinsByPathComponent) {
    MountFixture f;
    f.mount("mnt", "ext4", "rw", "8:1");
    const auto share = f.mount("mnt/share", "cifs", "rw,vers=3.1.1,seal");
    const auto inside = f.folder("mnt/share/radmark/exports");
    const auto sibling = f.folder("mnt/sharedata"); // "share" is a string prefix, not a parent
    EXPECT_TRUE(f.decide(inside).allowed);
    EXPECT_EQ(f.decide(inside).mount->mountPoint, share.string());
    EXPECT_FALSE(f.decide(sibling).allowed);
    EXPECT_EQ(f.decide(sibling).mount->fsType, "ext4");
}

TEST(MountDecision, TheLaterMountOnTheSamePointWins) {
    MountFixture f;
    const auto at = f.mount("mnt/stacked", "cifs", "rw,vers=3.1.1,seal");
    f.mount("mnt/stacked", "cifs", "rw,vers=3.1.1"); // mounted over it, without seal
    EXPECT_FALSE(f.decide(at).allowed);
}

TEST(MountDecision, SymlinksAreResolvedBeforeDeciding) {
    MountFixture f;
    const auto share = f.mount("mnt/share", "cifs", "rw,vers=3.1.1,seal");
    const auto local = f.folder("home/ada/stuff");
    // A link on the share that points at a local folder is a local folder.
    fs::create_symlink(local, share / "looks-like-share");
    const auto viaLink = f.decide(share / "looks-like-share");
    EXPECT_FALSE(viaLink.allowed);
    EXPECT_EQ(viaLink.resolved, local);
    // And a local link to the share is the share.
    fs::create_symlink(share, local / "to-share");
    EXPECT_TRUE(f.decide(local / "to-share").allowed);
}

TEST(MountDecision, MountPointsWithSpacesAreUnescaped) {
    MountFixture f;
    const auto at = f.mount("mnt/research data", "cifs", "rw,vers=3.1.1,seal");
    const auto d = f.decide(at);
    EXPECT_TRUE(d.allowed) << d.reason;
    EXPECT_EQ(d.mount->mountPoint, at.string());
}

TEST(MountDecision, ReadOnlyMountsAreRefused) {
    MountFixture f;
    const auto at = f.mount("mnt/ro", "cifs", "ro,vers=3.1.1,seal", "0:61", "ro,relatime");
    EXPECT_FALSE(f.decide(at).allowed);
    EXPECT_NE(f.decide(at).reason.find("read-only"), std::string::npos);
}

TEST(MountDecision, AMissingFolderIsRefused) {
    MountFixture f;
    const auto d = f.decide(f.root() / "no/such/folder", true);
    EXPECT_FALSE(d.allowed);
    EXPECT_NE(d.reason.find("does not exist"), std::string::npos);
}

TEST(MountDecision, RemovableDiskRefusedEvenWhenMarkedLocal) {
    MountFixture f;
    f.blockDevice("8:17", "pci0000:00/0000:00:1f.2/ata3/host2/target2:0:0/2:0:0:0/block/sdb/sdb1",
                  true, true);
    const auto at = f.mount("mnt/disk", "ext4", "rw", "8:17", "rw", "/dev/sdb1");
    const auto d = f.decide(at, true);
    EXPECT_FALSE(d.allowed);
    EXPECT_NE(d.reason.find("sdb is removable"), std::string::npos) << d.reason;
}

TEST(MountDecision, UsbAttachedDiskRefusedThoughNotFlaggedRemovable) {
    MountFixture f;
    f.blockDevice(
        "8:33", "pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0/block/sdc/sdc1",
        true, false);
    const auto at = f.mount("mnt/usbdisk", "ext4", "rw", "8:33", "rw", "/dev/sdc1");
    const auto d = f.decide(at, true);
    EXPECT_FALSE(d.allowed);
    EXPECT_NE(d.reason.find("USB"), std::string::npos) << d.reason;
}

TEST(MountDecision, SdCardRefused) {
    MountFixture f;
    f.blockDevice("179:1", "platform/fe340000.mmc/mmc_host/mmc0/mmc0:0001/block/mmcblk0/mmcblk0p1",
                  true, false);
    const auto at = f.mount("mnt/card", "ext4", "rw", "179:1", "rw", "/dev/mmcblk0p1");
    const auto d = f.decide(at, true);
    EXPECT_FALSE(d.allowed);
    EXPECT_NE(d.reason.find("SD/MMC"), std::string::npos) << d.reason;
}

TEST(MountDecision, OpticalDiscsRefusedByDeviceAndByType) {
    MountFixture f;
    f.blockDevice("11:0", "pci0000:00/0000:00:1f.2/ata2/host1/target1:0:0/1:0:0:0/block/sr0", false,
                  false);
    const auto byDevice = f.mount("mnt/cd", "ext4", "rw", "11:0", "rw", "/dev/sr0");
    EXPECT_FALSE(f.decide(byDevice, true).allowed);
    EXPECT_NE(f.decide(byDevice, true).reason.find("optical"), std::string::npos);
    const auto byType = f.mount("mnt/iso", "iso9660", "ro", "7:0", "rw", "/dev/loop0");
    EXPECT_FALSE(f.decide(byType, true).allowed);
    EXPECT_NE(f.decide(byType, true).reason.find("optical"), std::string::npos);
}

TEST(MountDecision, EncryptedVolumeOnAUsbStickRefused) {
    MountFixture f;
    f.blockDevice(
        "8:49", "pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/host7/target7:0:0/7:0:0:0/block/sdd/sdd1",
        true, true);
    const auto dm = f.blockDevice("254:3", "virtual/block/dm-3", false, false);
    fs::create_directories(dm / "slaves");
    fs::create_symlink("../../../../pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/host7/target7:0:0/"
                       "7:0:0:0/block/sdd/sdd1",
                       dm / "slaves/sdd1");
    const auto at = f.mount("mnt/luks", "ext4", "rw", "254:3", "rw", "/dev/mapper/stick");
    const auto d = f.decide(at, true);
    EXPECT_FALSE(d.allowed);
    EXPECT_NE(d.reason.find("removable media"), std::string::npos) << d.reason;
}

TEST(MountDecision, FatAndExfatUnderMediaAreRemovableMedia) {
    // Mount points under /media cannot be made in a test, so this rule is checked on entries.
    MountFixture f;
    const std::vector<MountEntry> none;
    MountEntry stick;
    stick.fsType = "vfat";
    stick.mountPoint = "/media/ada/STICK";
    EXPECT_TRUE(removableMediaReason(stick, none, f.sys()).has_value());
    stick.fsType = "exfat";
    stick.mountPoint = "/run/media/ada/CARD";
    EXPECT_TRUE(removableMediaReason(stick, none, f.sys()).has_value());
    stick.fsType = "iso9660";
    stick.mountPoint = "/mnt/anywhere";
    EXPECT_TRUE(removableMediaReason(stick, none, f.sys()).has_value());
    stick.fsType = "vfat";
    stick.mountPoint = "/mediaserver/x"; // not under /media
    EXPECT_FALSE(removableMediaReason(stick, none, f.sys()).has_value());
    stick.fsType = "cifs";
    stick.mountPoint = "/media/share";
    EXPECT_FALSE(removableMediaReason(stick, none, f.sys()).has_value());
}

TEST(MountDecision, TheBuildFolderOnTheRealMountTable) {
    // This machine: the build folder is on a local file system, not removable.
    const fs::path build = RADMARK_BINARY_DIR;
    const auto refused = decideFolder(build, false, "/proc/self/mountinfo", "/sys");
    ASSERT_TRUE(refused.mount.has_value());
    EXPECT_FALSE(refused.allowed);
    EXPECT_NE(refused.reason.find("not an encrypted network mount"), std::string::npos)
        << refused.reason;
    const auto local = decideFolder(build, true, "/proc/self/mountinfo", "/sys");
    EXPECT_TRUE(local.allowed) << local.reason;
    const auto table = readMountTable("/proc/self/mountinfo");
    EXPECT_FALSE(table.empty());
    EXPECT_EQ(mountOf(table, "/proc/self")->fsType, "proc");
}

TEST(MountDecision, DestinationCheckUsesTheInjectedPaths) {
    MountFixture f;
    const auto share = f.mount("mnt/share", "cifs", "rw,vers=3.1.1,seal");
    Destination d;
    d.name = "research";
    d.kind = Destination::Kind::Folder;
    d.folder = share;
    DeliveryEnvironment env;
    env.mountInfo = f.mountInfo();
    env.sysRoot = f.sys();
    EXPECT_TRUE(checkDestination(d, env).allowed);
    EXPECT_NO_THROW(requireAllowed(d, env));
    d.folder = f.folder("srv/local");
    EXPECT_FALSE(checkDestination(d, env).allowed);
    EXPECT_THROW(requireAllowed(d, env), DestinationRefused);
}

} // namespace
} // namespace radmark::delivery
