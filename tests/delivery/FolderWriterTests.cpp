// Delivery into a folder: the bundle appears whole under its name or not at all. A killed export
// leaves only a hidden partial folder that the next delivery removes; a full disk removes the
// partial copy and says so.

#include "delivery/BundleTree.h"
#include "delivery/DestinationWriter.h"

#include "DeliveryTestSupport.h"

#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

namespace radmark::delivery {
namespace {
namespace fs = std::filesystem;
using testing::entryNames;
using testing::hashTree;
using testing::makeBundleFolder;
using testing::TempDir;
using testing::writeFile;

Destination localFolder(const fs::path& folder) {
    Destination d;
    d.name = "demo";
    d.kind = Destination::Kind::Folder;
    d.folder = folder;
    d.local = true;
    return d;
}

mode_t modeOf(const fs::path& p) {
    struct stat st {};
    ::lstat(p.c_str(), &st);
    return st.st_mode & 07777;
}

TEST(FolderDelivery, ACopyArrivesWholeUnderItsName) {
    TempDir dir;
    const fs::path bag = dir / "staged";
    makeBundleFolder(bag);
    fs::create_directories(dir / "exports");
    auto writer = openWriter(localFolder(dir / "exports"), {});
    EXPECT_TRUE(writer->prepare().empty());
    std::uint64_t lastDone = 0, lastTotal = 0;
    const auto receipt = writer->deliver(bag, "bundle-0001", [&](std::uint64_t d, std::uint64_t t) {
        EXPECT_GE(d, lastDone);
        lastDone = d;
        lastTotal = t;
        return true;
    });
    EXPECT_EQ(entryNames(dir / "exports"), std::vector<std::string>{"bundle-0001"});
    EXPECT_EQ(hashTree(dir / "exports/bundle-0001"), hashTree(bag));
    EXPECT_TRUE(fs::is_directory(dir / "exports/bundle-0001/data/empty folder"));
    EXPECT_EQ(receipt.location, (dir / "exports/bundle-0001").string());
    EXPECT_EQ(receipt.files, hashTree(bag).size());
    EXPECT_EQ(lastDone, receipt.bytes);
    EXPECT_EQ(lastTotal, receipt.bytes);
    EXPECT_EQ(modeOf(dir / "exports/bundle-0001"), 0755u);
    // Never over an existing bundle.
    try {
        writer->deliver(bag, "bundle-0001");
        ADD_FAILURE() << "delivered over an existing bundle";
    } catch (const DeliveryFailed& e) {
        EXPECT_EQ(e.problem, DeliveryProblem::AlreadyExists) << e.what();
    }
    EXPECT_EQ(entryNames(dir / "exports"), std::vector<std::string>{"bundle-0001"});
}

TEST(FolderDelivery, TheComposerWritesStraightIntoTheHiddenPartialFolder) {
    TempDir dir;
    fs::create_directories(dir / "exports");
    fs::path work;
    {
        BundleDelivery delivery(localFolder(dir / "exports"), "bundle-0002", {});
        work = delivery.workFolder();
        EXPECT_EQ(work.parent_path(), dir / "exports");
        EXPECT_EQ(work.filename().string().rfind(".partial-bundle-0002~", 0), 0u) << work;
        EXPECT_EQ(modeOf(work), 0700u); // nobody reads half a bundle
        makeBundleFolder(work);
        const auto receipt = delivery.commit();
        EXPECT_EQ(receipt.bundleName, "bundle-0002");
    }
    EXPECT_FALSE(fs::exists(work));
    EXPECT_EQ(entryNames(dir / "exports"), std::vector<std::string>{"bundle-0002"});
    // Abandoned (destroyed without commit): nothing stays.
    {
        BundleDelivery delivery(localFolder(dir / "exports"), "bundle-0003", {});
        makeBundleFolder(delivery.workFolder());
    }
    EXPECT_EQ(entryNames(dir / "exports"), std::vector<std::string>{"bundle-0002"});
}

TEST(FolderDelivery, AKilledExportLeavesNothingThatLooksCompleteAndTheNextRunCleansUp) {
    TempDir dir;
    fs::create_directories(dir / "exports");
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        BundleDelivery delivery(localFolder(dir / "exports"), "bundle-killed", {});
        makeBundleFolder(delivery.workFolder());
        ::raise(SIGKILL); // mid-export, before commit
        ::_exit(0);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status));
    const auto left = entryNames(dir / "exports");
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(left[0].rfind(".partial-bundle-killed~", 0), 0u) << left[0];

    // Another workstation's partial, recent: not ours to judge yet, kept.
    const fs::path foreign = dir / "exports/.partial-bundle-x~other-host~123";
    fs::create_directories(foreign);
    // And an old one from anywhere: removed.
    const fs::path old = dir / "exports/.partial-bundle-y~other-host~456";
    fs::create_directories(old);
    const auto twoDaysAgo = fs::file_time_type::clock::now() - std::chrono::hours(48);
    fs::last_write_time(old, twoDaysAgo);

    BundleDelivery next(localFolder(dir / "exports"), "bundle-next", {});
    ASSERT_EQ(next.notes().size(), 2u);
    for (const auto& note : next.notes())
        EXPECT_NE(note.find("an unfinished export an earlier run left"), std::string::npos) << note;
    makeBundleFolder(next.workFolder());
    next.commit();
    auto names = entryNames(dir / "exports");
    EXPECT_EQ(names, (std::vector<std::string>{".partial-bundle-x~other-host~123", "bundle-next"}));
}

TEST(FolderDelivery, AFullDiskRemovesThePartialCopyAndSaysSo) {
    TempDir dir;
    const fs::path small = dir / "small";
    fs::create_directories(small);
    if (::mount("tmpfs", small.c_str(), "tmpfs", 0, "size=1m") != 0)
        GTEST_SKIP() << "cannot mount a 1 MB tmpfs here (needs root): " << std::strerror(errno);
    struct Unmount {
        fs::path at;
        ~Unmount() { ::umount2(at.c_str(), MNT_DETACH); }
    } unmount{small};
    const fs::path bag = dir / "staged";
    makeBundleFolder(bag, 600000, 3); // 1.8 MB
    try {
        openWriter(localFolder(small), {})->deliver(bag, "too-big");
        ADD_FAILURE() << "delivered 1.8 MB onto 1 MB";
    } catch (const DeliveryFailed& e) {
        EXPECT_EQ(e.problem, DeliveryProblem::NoSpace) << e.what();
        EXPECT_NE(std::string(e.what()).find("the destination is full"), std::string::npos)
            << e.what();
        EXPECT_NE(std::string(e.what()).find("the unfinished copy was removed"), std::string::npos)
            << e.what();
    }
    EXPECT_TRUE(entryNames(small).empty());
}

TEST(FolderDelivery, ABundleWithLinksOrUnfitNamesIsRefused) {
    TempDir dir;
    fs::create_directories(dir / "exports");
    const fs::path bag = dir / "staged";
    makeBundleFolder(bag);
    fs::create_symlink("/etc/passwd", bag / "data/passwd");
    auto writer = openWriter(localFolder(dir / "exports"), {});
    try {
        writer->deliver(bag, "with-link");
        ADD_FAILURE();
    } catch (const DeliveryFailed& e) {
        EXPECT_EQ(e.problem, DeliveryProblem::InvalidBundle);
        EXPECT_NE(std::string(e.what()).find("data/passwd"), std::string::npos) << e.what();
    }
    fs::remove(bag / "data/passwd");
    writeFile(bag / "data/what?.txt", "x");
    EXPECT_THROW(writer->deliver(bag, "with-question-mark"), DeliveryFailed);
    fs::remove(bag / "data/what?.txt");
    for (const char* name : {".hidden", "../up", "a/b", "", "has space"})
        EXPECT_THROW(writer->deliver(bag, name), DeliveryFailed) << name;
    EXPECT_TRUE(entryNames(dir / "exports").empty());
}

TEST(FolderDelivery, CancellingRemovesThePartialCopy) {
    TempDir dir;
    fs::create_directories(dir / "exports");
    const fs::path bag = dir / "staged";
    makeBundleFolder(bag);
    try {
        openWriter(localFolder(dir / "exports"), {})
            ->deliver(bag, "cancelled", [](auto done, auto) { return done < 1000; });
        ADD_FAILURE();
    } catch (const DeliveryFailed& e) {
        EXPECT_EQ(e.problem, DeliveryProblem::Cancelled);
    }
    EXPECT_TRUE(entryNames(dir / "exports").empty());
}

TEST(FolderDelivery, APlainLocalFolderIsRefusedUnlessThePolicyMarksItLocal) {
    TempDir dir;
    fs::create_directories(dir / "exports");
    auto d = localFolder(dir / "exports");
    d.local = false;
    try {
        openWriter(d, {});
        ADD_FAILURE();
    } catch (const DestinationRefused& e) {
        EXPECT_NE(e.reason().find("not an encrypted network mount"), std::string::npos)
            << e.reason();
    }
}

} // namespace
} // namespace radmark::delivery
