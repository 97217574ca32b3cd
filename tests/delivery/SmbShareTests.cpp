// Delivery to a real Samba server on loopback (smbd --foreground, SMB3 only, encryption
// required, its own tdbsam): the bundle read back with smbclient hashes the same file for file;
// a server without encryption, a wrong password, a closed port, a full share and a dropped
// connection are refused or fail with a sentence, and leave nothing that looks complete.

#include "delivery/BundleTree.h"
#include "delivery/DestinationWriter.h"
#include "delivery/loopback/LoopbackSamba.h"

#include "DeliveryTestSupport.h"

#include <sys/mount.h>
#include <sys/stat.h>

namespace radmark::delivery {
namespace {
namespace fs = std::filesystem;
using testing::entryNames;
using testing::hashTree;
using testing::makeBundleFolder;
using testing::runCommand;
using testing::TempDir;
using testing::writeFile;

Destination shareDestination(const LoopbackSamba& server, const fs::path& credentials,
                             const std::string& folder = "exports") {
    Destination d;
    d.name = "loopback share";
    d.kind = Destination::Kind::SmbShare;
    d.smb = parseSmbUrl(server.url(folder));
    d.credentialsFile = credentials;
    return d;
}

// Everything under remoteFolder, fetched by smbclient itself (not our code) into a local folder.
void fetchWithSmbclient(const LoopbackSamba& server, const fs::path& credentials,
                        const std::string& remoteFolder, const fs::path& into) {
    fs::create_directories(into);
    int exitCode = -1;
    const std::string out = runCommand(
        "/usr/bin/smbclient //127.0.0.1/" + server.shareName() + " -p " +
            std::to_string(server.port()) + " -A '" + credentials.string() +
            "' -s /dev/null -m SMB3 --client-protection=encrypt -c 'recurse ON; prompt OFF; cd \"" +
            remoteFolder + "\"; lcd \"" + into.string() + "\"; mget *' 2>&1",
        &exitCode);
    ASSERT_EQ(exitCode, 0) << out;
}

class SmbShareDelivery : public ::testing::Test {
  protected:
    void SetUp() override {
        server_ = std::make_unique<LoopbackSamba>();
        fs::create_directories(server_->shareFolder() / "exports");
        credentials_ = dir_ / "share.credentials";
        server_->writeCredentialsFile(credentials_);
        environment_.stagingRoot = dir_ / "staging";
        fs::create_directories(environment_.stagingRoot);
    }
    fs::path exportsOnDisk() const { return server_->shareFolder() / "exports"; }

    TempDir dir_;
    std::unique_ptr<LoopbackSamba> server_;
    fs::path credentials_;
    DeliveryEnvironment environment_;
};

TEST_F(SmbShareDelivery, ABundleReadBackBySmbclientHashesTheSameFileForFile) {
    const fs::path bag = dir_ / "bag";
    makeBundleFolder(bag);
    auto writer = openWriter(shareDestination(*server_, credentials_), environment_);
    EXPECT_TRUE(writer->prepare().empty());
    std::string sessions;
    const auto receipt = writer->deliver(bag, "bundle-0001", [&](std::uint64_t, std::uint64_t) {
        if (sessions.empty())
            sessions = server_->sessions(); // while the upload session is connected
        return true;
    });
    EXPECT_EQ(receipt.location, server_->url("exports") + "/bundle-0001");
    EXPECT_EQ(receipt.files, hashTree(bag).size());
    // The session was SMB3 and encrypted, as the server saw it.
    EXPECT_NE(sessions.find("SMB3_"), std::string::npos) << sessions;
    EXPECT_NE(sessions.find("AES-"), std::string::npos) << sessions;
    // Only the final name on the share.
    EXPECT_EQ(entryNames(exportsOnDisk()), std::vector<std::string>{"bundle-0001"});
    const fs::path back = dir_ / "read-back";
    fetchWithSmbclient(*server_, credentials_, "exports/bundle-0001", back);
    EXPECT_EQ(hashTree(back), hashTree(bag));
    EXPECT_EQ(hashTree(exportsOnDisk() / "bundle-0001"), hashTree(bag));
    EXPECT_TRUE(fs::is_directory(exportsOnDisk() / "bundle-0001/data/empty folder"));

    // A second bundle of the same name is refused, and the first stays as it was.
    try {
        writer->deliver(bag, "bundle-0001");
        ADD_FAILURE() << "delivered over an existing bundle";
    } catch (const DeliveryFailed& e) {
        EXPECT_EQ(e.problem, DeliveryProblem::AlreadyExists) << e.what();
        EXPECT_NE(std::string(e.what()).find("already on the share"), std::string::npos)
            << e.what();
    }
    EXPECT_EQ(entryNames(exportsOnDisk()), std::vector<std::string>{"bundle-0001"});
    EXPECT_EQ(hashTree(exportsOnDisk() / "bundle-0001"), hashTree(bag));
}

TEST_F(SmbShareDelivery, TheComposerWritesIntoAPrivateStagingFolder) {
    fs::path staging;
    {
        BundleDelivery delivery(shareDestination(*server_, credentials_), "bundle-0002",
                                environment_);
        staging = delivery.workFolder();
        EXPECT_EQ(staging.parent_path(), environment_.stagingRoot);
        struct stat st {};
        ASSERT_EQ(::stat(staging.c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 0777, 0700u);
        EXPECT_EQ(st.st_uid, ::geteuid());
        makeBundleFolder(staging);
        const auto expected = hashTree(staging);
        delivery.commit();
        EXPECT_EQ(hashTree(exportsOnDisk() / "bundle-0002"), expected);
    }
    EXPECT_FALSE(fs::exists(staging));
    EXPECT_TRUE(entryNames(environment_.stagingRoot).empty());
}

// Files the composer has finished go up while it writes the rest: after filesFinished() the
// share holds them (in the partial folder, nothing that looks complete), the files written later
// follow at commit, and the bundle is the staged one file for file.
TEST_F(SmbShareDelivery, FinishedFilesGoUpWhileTheRestIsWritten) {
    BundleDelivery delivery(shareDestination(*server_, credentials_), "bundle-early",
                            environment_);
    const fs::path staging = delivery.workFolder();
    writeFile(staging / "data/case_000/image.nii.gz", std::string(700000, 'a'));
    writeFile(staging / "data/case_000/labels.nii.gz", std::string(9000, 'b'));
    delivery.filesFinished();
    writeFile(staging / "data/case_001/image.nii.gz", std::string(500000, 'c'));
    delivery.filesFinished(); // waits for the first batch, starts the second
    // The first case is on the share's disk before the commit, under the partial name only.
    const auto early = entryNames(exportsOnDisk());
    ASSERT_EQ(early.size(), 1u);
    EXPECT_EQ(early[0].rfind(".partial-bundle-early~", 0), 0u) << early[0];
    EXPECT_EQ(fs::file_size(exportsOnDisk() / early[0] / "data/case_000/image.nii.gz"), 700000u);
    writeFile(staging / "manifest-sha256.txt", "written last\n");
    const auto expected = hashTree(staging);
    const auto receipt = delivery.commit();
    EXPECT_EQ(receipt.files, expected.size());
    EXPECT_EQ(entryNames(exportsOnDisk()), std::vector<std::string>{"bundle-early"});
    const fs::path back = dir_ / "read-back";
    fetchWithSmbclient(*server_, credentials_, "exports/bundle-early", back);
    EXPECT_EQ(hashTree(back), expected);
}

// The share drops while finished files go up in the background: the next filesFinished() (or
// the commit) fails with a sentence, and abandoning leaves nothing that looks complete.
TEST_F(SmbShareDelivery, AShareDroppedDuringTheBackgroundCopyFailsClearly) {
    auto delivery = std::make_unique<BundleDelivery>(shareDestination(*server_, credentials_),
                                                     "bundle-lost", environment_);
    const fs::path staging = delivery->workFolder();
    for (int i = 0; i < 6; ++i)
        writeFile(staging / ("data/case_" + std::to_string(i) + ".bin"),
                  std::string(4 << 20, char('a' + i)));
    delivery->filesFinished();
    server_->stop(); // while (or just after) the batch goes up
    writeFile(staging / "data/late.bin", "late");
    std::string message;
    try {
        delivery->filesFinished();
        delivery->commit();
        ADD_FAILURE() << "a delivery survived a stopped server";
    } catch (const DeliveryFailed& e) {
        message = e.what();
    }
    EXPECT_NE(message.find("delivering bundle-lost"), std::string::npos) << message;
    delivery.reset();
    for (const auto& name : entryNames(exportsOnDisk()))
        EXPECT_EQ(name.rfind(".partial-bundle-lost~", 0), 0u) << name;
    EXPECT_TRUE(entryNames(environment_.stagingRoot).empty());
}

// Given up half-way (an export cancelled or failed), what went up already is removed.
TEST_F(SmbShareDelivery, AbandoningRemovesWhatWentUpAlready) {
    {
        BundleDelivery delivery(shareDestination(*server_, credentials_), "bundle-given-up",
                                environment_);
        writeFile(delivery.workFolder() / "data/case_000.bin", std::string(1 << 20, 'x'));
        delivery.filesFinished();
    }
    EXPECT_TRUE(entryNames(exportsOnDisk()).empty());
    EXPECT_TRUE(entryNames(environment_.stagingRoot).empty());
}

TEST_F(SmbShareDelivery, AServerWithoutEncryptionIsRefusedAndGetsNothing) {
    LoopbackSamba plain(LoopbackSamba::Options{false, {}});
    fs::create_directories(plain.shareFolder() / "exports");
    const fs::path credentials = dir_ / "plain.credentials";
    plain.writeCredentialsFile(credentials);
    const fs::path bag = dir_ / "bag";
    makeBundleFolder(bag);
    auto writer = openWriter(shareDestination(plain, credentials), environment_);
    try {
        writer->prepare();
        ADD_FAILURE() << "an unencrypted share was accepted";
    } catch (const DestinationRefused& e) {
        EXPECT_NE(e.reason().find("does not encrypt"), std::string::npos) << e.reason();
    }
    // Straight to deliver, without prepare: refused too.
    EXPECT_THROW(writer->deliver(bag, "bundle-plain"), DestinationRefused);
    EXPECT_TRUE(entryNames(plain.shareFolder() / "exports").empty());
    EXPECT_EQ(entryNames(plain.shareFolder()), std::vector<std::string>{"exports"});
}

TEST_F(SmbShareDelivery, AWrongPasswordIsRefusedWithASentence) {
    const fs::path wrong = dir_ / "wrong.credentials";
    server_->writeCredentialsFile(wrong, "not-the-password");
    auto writer = openWriter(shareDestination(*server_, wrong), environment_);
    try {
        writer->prepare();
        ADD_FAILURE();
    } catch (const DeliveryFailed& e) {
        EXPECT_EQ(e.problem, DeliveryProblem::Authentication) << e.what();
        EXPECT_NE(std::string(e.what()).find("refused the user name or password"),
                  std::string::npos)
            << e.what();
    }
    EXPECT_TRUE(entryNames(exportsOnDisk()).empty());
}

TEST_F(SmbShareDelivery, AnUnreachableHostIsRefusedWithASentence) {
    auto d = shareDestination(*server_, credentials_);
    LoopbackSamba other; // takes a port, then frees it
    const int closedPort = other.port();
    other.stop();
    d.smb.port = closedPort;
    try {
        openWriter(d, environment_)->prepare();
        ADD_FAILURE();
    } catch (const DeliveryFailed& e) {
        EXPECT_EQ(e.problem, DeliveryProblem::Unreachable) << e.what();
        EXPECT_NE(std::string(e.what()).find("connection refused"), std::string::npos) << e.what();
    }
}

TEST_F(SmbShareDelivery, AMissingFolderOnTheShareIsNamed) {
    try {
        openWriter(shareDestination(*server_, credentials_, "no/such/folder"), environment_)
            ->prepare();
        ADD_FAILURE();
    } catch (const DeliveryFailed& e) {
        EXPECT_NE(std::string(e.what()).find("no/such/folder does not exist"), std::string::npos)
            << e.what();
    }
}

TEST_F(SmbShareDelivery, ACredentialsFileOthersCanReadIsRefused) {
    ::chmod(credentials_.c_str(), 0644);
    const auto d = shareDestination(*server_, credentials_);
    EXPECT_FALSE(checkDestination(d, environment_).allowed);
    try {
        openWriter(d, environment_);
        ADD_FAILURE();
    } catch (const DestinationRefused& e) {
        EXPECT_NE(e.reason().find("mode 0644"), std::string::npos) << e.reason();
    }
    EXPECT_TRUE(entryNames(exportsOnDisk()).empty());
}

TEST_F(SmbShareDelivery, ThePasswordIsAskedForWhenThePolicyNamesOnlyTheUser) {
    auto d = shareDestination(*server_, {});
    d.user = server_->user();
    std::string question;
    auto writer = openWriter(d, environment_, [&](const std::string& q) {
        question = q;
        return std::optional<std::string>(server_->password());
    });
    EXPECT_NE(question.find(server_->user()), std::string::npos) << question;
    EXPECT_NO_THROW(writer->prepare());
    // No answer: cancelled, nothing tried.
    try {
        openWriter(d, environment_,
                   [](const std::string&) { return std::optional<std::string>(); });
        ADD_FAILURE();
    } catch (const DeliveryFailed& e) {
        EXPECT_EQ(e.problem, DeliveryProblem::Cancelled);
    }
    EXPECT_THROW(openWriter(d, environment_), DeliveryFailed); // no way to ask
}

TEST_F(SmbShareDelivery, AFullShareRemovesThePartialCopy) {
    const fs::path small = dir_ / "small-share";
    fs::create_directories(small);
    if (::mount("tmpfs", small.c_str(), "tmpfs", 0, "size=1m") != 0)
        GTEST_SKIP() << "cannot mount a 1 MB tmpfs here (needs root): " << std::strerror(errno);
    struct Unmount {
        fs::path at;
        ~Unmount() { ::umount2(at.c_str(), MNT_DETACH); }
    } unmount{small};
    {
        LoopbackSamba full(LoopbackSamba::Options{true, small});
        const fs::path credentials = dir_ / "full.credentials";
        full.writeCredentialsFile(credentials);
        const fs::path bag = dir_ / "bag";
        makeBundleFolder(bag, 600000, 3); // 1.8 MB onto 1 MB
        try {
            openWriter(shareDestination(full, credentials, ""), environment_)
                ->deliver(bag, "too-big");
            ADD_FAILURE() << "delivered 1.8 MB onto a 1 MB share";
        } catch (const DeliveryFailed& e) {
            EXPECT_EQ(e.problem, DeliveryProblem::NoSpace) << e.what();
            EXPECT_NE(std::string(e.what()).find("the share is full"), std::string::npos)
                << e.what();
            EXPECT_NE(std::string(e.what()).find("the unfinished copy was removed"),
                      std::string::npos)
                << e.what();
        }
        EXPECT_TRUE(entryNames(small).empty());
    }
}

TEST_F(SmbShareDelivery, ADroppedShareFailsClearlyAndTheNextDeliveryCleansUp) {
    const fs::path bag = dir_ / "bag";
    makeBundleFolder(bag, 300000, 6);
    auto writer = openWriter(shareDestination(*server_, credentials_), environment_);
    int calls = 0;
    try {
        writer->deliver(bag, "bundle-dropped", [&](std::uint64_t, std::uint64_t) {
            if (++calls == 2)
                server_->stop(); // the share goes away mid-upload
            return true;
        });
        ADD_FAILURE() << "a delivery survived a stopped server";
    } catch (const DeliveryFailed& e) {
        EXPECT_EQ(e.problem, DeliveryProblem::ConnectionLost) << e.what();
        EXPECT_NE(std::string(e.what()).find("is removed by the next delivery"), std::string::npos)
            << e.what();
    }
    // What is left on the share cannot be mistaken for a bundle.
    for (const auto& name : entryNames(exportsOnDisk()))
        EXPECT_EQ(name.rfind(".partial-bundle-dropped~", 0), 0u) << name;
    server_->start();
    const auto notes = writer->prepare();
    ASSERT_EQ(notes.size(), 1u);
    EXPECT_NE(notes[0].find("an unfinished export an earlier run left"), std::string::npos)
        << notes[0];
    EXPECT_TRUE(entryNames(exportsOnDisk()).empty());
    writer->deliver(bag, "bundle-dropped");
    EXPECT_EQ(hashTree(exportsOnDisk() / "bundle-dropped"), hashTree(bag));
}

TEST_F(SmbShareDelivery, CancellingRemovesThePartialCopy) {
    const fs::path bag = dir_ / "bag";
    makeBundleFolder(bag);
    try {
        openWriter(shareDestination(*server_, credentials_), environment_)
            ->deliver(bag, "cancelled", [](std::uint64_t, std::uint64_t) { return false; });
        ADD_FAILURE();
    } catch (const DeliveryFailed& e) {
        EXPECT_EQ(e.problem, DeliveryProblem::Cancelled) << e.what();
    }
    EXPECT_TRUE(entryNames(exportsOnDisk()).empty());
}

TEST_F(SmbShareDelivery, ALeftOverFromADeadProcessIsRemovedByPrepare) {
    // Written on the server's disk the way a killed export of this host leaves it.
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    std::string hostName = host;
    for (char& ch : hostName)
        if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '-')
            ch = '-';
    const std::string leftOver = ".partial-bundle-old~" + hostName + "~999999999";
    writeFile(exportsOnDisk() / leftOver / "data/x", "half");
    const std::string foreign = ".partial-bundle-new~another-workstation~42";
    writeFile(exportsOnDisk() / foreign / "data/x", "in progress elsewhere");
    const auto notes =
        openWriter(shareDestination(*server_, credentials_), environment_)->prepare();
    ASSERT_EQ(notes.size(), 1u);
    EXPECT_NE(notes[0].find(leftOver), std::string::npos) << notes[0];
    EXPECT_EQ(entryNames(exportsOnDisk()), std::vector<std::string>{foreign});
}

} // namespace
} // namespace radmark::delivery
