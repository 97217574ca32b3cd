// workflow::exportDataset in-process, on a real store of imported generated CT studies whose
// versions carry boxes: the bundle verifies (bundle::verifyBundle against the workstation key)
// and passes check_export.py (nnU-Net rules, SEG frames, MONAI boxes mapped back through
// nibabel's affine); an unapproved version chosen by the admin is marked in every file that
// describes the bundle; removable media (fixture /sys and mountinfo), a full disk (a 1 MB tmpfs)
// a cancel and a share that goes away each leave nothing that looks complete at the destination
// and are in the dataset's export history with their reason. (radmark-cli export end to end:
// ExportCli.sh.)

#include "ExportFixture.h"
#include "StoreTestSupport.h"

#include "annotation/Segment.h"
#include "bundle/Minisign.h"
#include "bundle/Verify.h"
#include "delivery/loopback/LoopbackSamba.h"
#include "storage/AuditTrail.h"
#include "storage/Datasets.h"
#include "storage/StoredStudy.h"
#include "storage/Studies.h"
#include "storage/StudyImport.h"
#include "storage/Users.h"
#include "workflow/DatasetExport.h"
#include "workflow/Datasets.h"
#include "workflow/Review.h"
#include "workflow/StoredAnnotations.h"

#include <gtest/gtest.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace radmark::workflow {
namespace {

namespace fs = std::filesystem;
using namespace radmark::storage::testing;

using namespace fixtures;

TEST(DatasetExport, WorkstationKeyIsLentToAdminsOnly) {
    TestStore store;
    storage::Session admin = store.admin();
    storage::Users(admin).add("annie", storage::Role::Annotator, userPassword);
    const bundle::MinisignPublicKey published =
        bundle::parseMinisignPublicKey(workstationPublicKey(admin));
    bool signedIt = false;
    storage::AuditTrail(admin).signWithWorkstationKey(
        [&](const storage::Checkpoint& checkpoint, std::span<const std::uint8_t> key) {
            EXPECT_EQ(key.size(), 64u);
            EXPECT_TRUE(checkpoint.signatureValid());
            EXPECT_EQ(bundle::publicKeyOf(key), published.key);
            EXPECT_TRUE(std::equal(published.key.begin(), published.key.end(),
                                   checkpoint.publicKey.begin(), checkpoint.publicKey.end()));
            signedIt = true;
        });
    EXPECT_TRUE(signedIt);
    storage::Session annie = store.store.login("annie", userPassword);
    EXPECT_THROW(storage::AuditTrail(annie).signWithWorkstationKey(
                     [](const storage::Checkpoint&, std::span<const std::uint8_t>) {}),
                 storage::PermissionDeniedError);
    // The public key is public: any session reads it, and it is the one bundles name.
    EXPECT_EQ(workstationPublicKey(annie), workstationPublicKey(admin));
    const auto refusals =
        storage::AuditTrail(admin).entries(filterBy("annie", "refused audit checkpoint"));
    EXPECT_EQ(refusals.size(), 1u);
}

TEST(DatasetExport, BoxesUnapprovedMarksAndVerification) {
    TempDir out;
    ExportFixture f({{"here", "", out.path(), "", "", true}});
    storage::Session admin = f.store.admin();
    const ExportResult result = exportDataset(admin, f.request("here"));
    const fs::path bag = result.location;
    EXPECT_EQ(result.cases, 2);
    EXPECT_TRUE(result.newRevision);

    bundle::BundleVerifyOptions options;
    options.trustedKey = bundle::parseMinisignPublicKey(workstationPublicKey(admin));
    const bundle::BundleReport report = bundle::verifyBundle(bag, options);
    for (const auto& p : report.problems)
        ADD_FAILURE() << p.file << ": " << p.reason;
    EXPECT_TRUE(report.signatureVerified && report.signerKeyGiven && report.checkpointVerified);
    EXPECT_EQ(report.signerKeyId, result.signerKeyId);

    int status = 0;
    const std::string check = run(
        "/usr/bin/python3 " RADMARK_SOURCE_DIR "/tests/workflow/check_export.py " + bag.string(),
        &status);
    EXPECT_EQ(status, 0) << check;
    EXPECT_NE(check.find("2 SEGs, 4 boxes"), std::string::npos) << check;

    // The unapproved case is marked in everything that describes the bundle.
    // Which case is the unapproved one depends on the pseudonyms (case ids follow their order).
    std::string unapprovedCase;
    for (const std::string id : {"Boxes_001", "Boxes_002"})
        if (readFile(bag / ("data/cases/" + id + "/provenance.json"))
                .find("\"unapproved\": true") != std::string::npos)
            unapprovedCase = unapprovedCase.empty() ? id : "both";
    ASSERT_TRUE(unapprovedCase == "Boxes_001" || unapprovedCase == "Boxes_002") << unapprovedCase;
    EXPECT_NE(readFile(bag / "bag-info.txt")
                  .find("Radmark-Unapproved: UNAPPROVED versions in " + unapprovedCase),
              std::string::npos)
        << readFile(bag / "bag-info.txt");
    EXPECT_NE(readFile(bag / "data/Dataset600_Boxes/dataset.json").find(unapprovedCase),
              std::string::npos);
    EXPECT_NE(readFile(bag / "datasheet.md").find("UNAPPROVED"), std::string::npos);
    EXPECT_NE(readFile(bag / "tagmanifest-sha256.txt.minisig").find("UNAPPROVED"),
              std::string::npos);
    EXPECT_NE(readFile(bag / ("data/dicom/" + unapprovedCase + "/seg.dcm")).find("UNAPPROVED"),
              std::string::npos);
    EXPECT_TRUE(std::any_of(result.notes.begin(), result.notes.end(), [](const std::string& n) {
        return n.find("UNAPPROVED") != std::string::npos;
    }));

    const auto history = f.history();
    ASSERT_EQ(history.size(), 1u);
    EXPECT_EQ(history[0].outcome, storage::ExportOutcome::Completed);
    EXPECT_EQ(history[0].manifestHash, result.manifestSha256);
    ASSERT_EQ(history[0].versions.size(), 2u);
    EXPECT_TRUE(history[0].versions[0].unapproved != history[0].versions[1].unapproved);
}

TEST(DatasetExport, RemovableMediaIsRefusedWhateverThePolicySays) {
    TempDir fixture;
    const fs::path stick = fixture.path() / "media" / "stick";
    fs::create_directories(stick);
    // mountinfo: the folder is an ext4 mount of /dev/sdb1, a USB stick's partition.
    std::ofstream(fixture.path() / "mountinfo") << "100 1 8:17 / " << fs::canonical(stick).string()
                                                << " rw,relatime shared:7 - ext4 /dev/sdb1 rw\n";
    const fs::path device = fixture.path() / "sys/devices/pci0000:00/usb1/1-1/host6/block/sdb/sdb1";
    fs::create_directories(device);
    std::ofstream(device.parent_path() / "removable") << "1\n";
    std::ofstream(device / "partition") << "1\n";
    fs::create_directories(fixture.path() / "sys/dev/block");
    fs::create_symlink("../../devices/pci0000:00/usb1/1-1/host6/block/sdb/sdb1",
                       fixture.path() / "sys/dev/block/8:17");

    ExportFixture f({{"stick", "", stick, "", "", true}});
    delivery::DeliveryEnvironment environment;
    environment.mountInfo = fixture.path() / "mountinfo";
    environment.sysRoot = fixture.path() / "sys";
    storage::Session admin = f.store.admin();
    try {
        exportDataset(admin, f.request("stick"), environment);
        ADD_FAILURE() << "exported to removable media";
    } catch (const ExportRefused& e) {
        EXPECT_NE(std::string(e.what()).find("removable"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(entries(stick).empty());
    const auto history = f.history();
    ASSERT_EQ(history.size(), 1u);
    EXPECT_EQ(history[0].outcome, storage::ExportOutcome::Refused);
    EXPECT_FALSE(history[0].started);
    EXPECT_NE(history[0].reason.find("removable"), std::string::npos) << history[0].reason;
    // A name the policy does not have is refused and recorded too.
    EXPECT_THROW(exportDataset(admin, f.request("/tmp"), environment), ExportRefused);
    EXPECT_EQ(f.history().size(), 2u);
}

TEST(DatasetExport, FullDiskAndCancelLeaveNothing) {
    TempDir small;
    if (::mount("tmpfs", small.path().c_str(), "tmpfs", 0, "size=40k") != 0)
        GTEST_SKIP() << "cannot mount a small tmpfs here (needs root): " << std::strerror(errno);
    struct Unmount {
        fs::path at;
        ~Unmount() { ::umount2(at.c_str(), MNT_DETACH); }
    } unmount{small.path()};
    TempDir roomy;
    ExportFixture f(
        {{"small", "", small.path(), "", "", true}, {"roomy", "", roomy.path(), "", "", true}});
    storage::Session admin = f.store.admin();
    try {
        exportDataset(admin, f.request("small"));
        ADD_FAILURE() << "a 40 kB folder held the bundle";
    } catch (const ExportRefused& e) {
        EXPECT_NE(std::string(e.what()).find("No space left"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(entries(small.path()).empty());

    // Cancelled while writing the second case.
    std::vector<std::string> stages;
    try {
        exportDataset(admin, f.request("roomy"), {}, {}, [&](double, const std::string& stage) {
            stages.push_back(stage);
            return stage.find("case 2 of 2") == std::string::npos;
        });
        ADD_FAILURE() << "not cancelled";
    } catch (const ExportRefused& e) {
        EXPECT_NE(std::string(e.what()).find("cancelled"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(entries(roomy.path()).empty());
    ASSERT_FALSE(stages.empty());
    EXPECT_EQ(stages.front(), "freezing the dataset");

    const auto history = f.history();
    ASSERT_EQ(history.size(), 2u);
    EXPECT_TRUE(history[0].started);
    EXPECT_EQ(history[0].outcome, storage::ExportOutcome::Refused);
    EXPECT_NE(history[0].reason.find("No space left"), std::string::npos) << history[0].reason;
    EXPECT_EQ(history[1].reason, "cancelled");

    // The destination works afterwards: the export completes.
    const ExportResult result = exportDataset(admin, f.request("roomy"));
    EXPECT_EQ(entries(roomy.path()), std::vector<std::string>{result.bundleId});
}

TEST(DatasetExport, ADroppedShareIsAClearErrorAndTheNextExportCleansUp) {
    delivery::LoopbackSamba server;
    fs::create_directories(server.shareFolder() / "exports");
    TempDir local;
    const fs::path credentials = local.path() / "share.credentials";
    server.writeCredentialsFile(credentials);
    ExportFixture f({{"share", server.url("exports"), "", credentials, "", false}});
    storage::Session admin = f.store.admin();
    delivery::DeliveryEnvironment environment;
    environment.stagingRoot = local.path();
    // The share goes away while the second case is written (after the login).
    bool stopped = false;
    try {
        exportDataset(admin, f.request("share"), environment, {},
                      [&](double, const std::string& stage) {
                          if (!stopped && stage.find("case 2 of 2") != std::string::npos) {
                              server.stop();
                              stopped = true;
                          }
                          return true;
                      });
        ADD_FAILURE() << "delivered to a share that was gone";
    } catch (const ExportRefused& e) {
        // "... the partial bundle was removed: delivering ... : nothing answers at the share's
        // address (connection refused) ...; the unfinished copy ... is removed by the next
        // delivery to this share"
        EXPECT_NE(std::string(e.what()).find("the partial bundle was removed"), std::string::npos)
            << e.what();
        EXPECT_NE(std::string(e.what()).find("nothing answers"), std::string::npos) << e.what();
    }
    ASSERT_TRUE(stopped);
    // Nothing that looks complete on the share; no local staging left.
    for (const std::string& name : entries(server.shareFolder() / "exports"))
        EXPECT_EQ(name.rfind(".partial-", 0), 0u) << name;
    for (const std::string& name : entries(local.path()))
        EXPECT_EQ(name.rfind("radmark-staging-", 0), std::string::npos) << name;
    auto history = f.history();
    ASSERT_EQ(history.size(), 1u);
    EXPECT_TRUE(history[0].started);
    EXPECT_EQ(history[0].outcome, storage::ExportOutcome::Refused);
    EXPECT_NE(history[0].reason.find("nothing answers"), std::string::npos) << history[0].reason;

    server.start();
    const ExportResult result = exportDataset(admin, f.request("share"), environment);
    EXPECT_EQ(entries(server.shareFolder() / "exports"), std::vector<std::string>{result.bundleId});
    EXPECT_EQ(f.history().back().outcome, storage::ExportOutcome::Completed);
}

} // namespace
} // namespace radmark::workflow
