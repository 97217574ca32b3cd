// Destinations as the site policy names them: the policy format (named shares and folders, the
// older allow-list read as folders), share URLs, credentials files only the store's owner can
// read, and the audit lines of the export gate.

#include "delivery/Destination.h"
#include "delivery/DestinationWriter.h"
#include "delivery/SmbCredentials.h"
#include "storage/AuditTrail.h"
#include "storage/Errors.h"
#include "storage/Exports.h"
#include "storage/Policy.h"

#include "DeliveryTestSupport.h"
#include "tests/storage/StoreTestSupport.h"

#include <sys/stat.h>

namespace radmark::delivery {
namespace {
namespace fs = std::filesystem;
using testing::TempDir;
using testing::writeFile;

const char* sitePolicy = R"({
  "export_destinations": [
    {"name": "research share", "smb": "smb://files.example.org/research/radmark/exports",
     "credentials": "/etc/radmark/research.credentials"},
    {"name": "asked", "smb": "smb://10.1.2.3:4450/bundles", "user": "EXAMPLE\\svc-radmark"},
    {"name": "nfs", "folder": "/mnt/research/radmark"},
    {"name": "demo", "folder": "/srv/radmark-demo", "local": true}
  ],
  "export_allow_list": ["/srv/radmark-exports"]
})";

TEST(PolicyDestinations, NamedSharesAndFoldersAndTheOlderAllowList) {
    const auto policy = storage::Policy::fromJson(sitePolicy);
    const auto list = destinations(policy);
    ASSERT_EQ(list.size(), 5u);
    EXPECT_EQ(list[0].name, "research share");
    EXPECT_EQ(list[0].kind, Destination::Kind::SmbShare);
    EXPECT_EQ(list[0].smb.host, "files.example.org");
    EXPECT_EQ(list[0].smb.port, 445);
    EXPECT_EQ(list[0].smb.share, "research");
    EXPECT_EQ(list[0].smb.folder, "radmark/exports");
    EXPECT_EQ(list[0].smb.remoteFolder(), "\\radmark\\exports");
    EXPECT_EQ(list[0].credentialsFile, "/etc/radmark/research.credentials");
    EXPECT_EQ(list[1].smb.port, 4450);
    EXPECT_EQ(list[1].user, "EXAMPLE\\svc-radmark");
    EXPECT_EQ(list[1].smb.url(), "smb://10.1.2.3:4450/bundles");
    EXPECT_EQ(list[2].kind, Destination::Kind::Folder);
    EXPECT_FALSE(list[2].local);
    EXPECT_TRUE(list[3].local);
    // The older form: a folder named by its path.
    EXPECT_EQ(list[4].name, "/srv/radmark-exports");
    EXPECT_EQ(list[4].folder, "/srv/radmark-exports");
    EXPECT_EQ(findDestination(policy, "nfs").folder, "/mnt/research/radmark");
    EXPECT_THROW(findDestination(policy, "/media/usb"), DestinationRefused);
    // Written back and read again, the same list.
    const auto again = destinations(storage::Policy::fromJson(policy.toJson()));
    ASSERT_EQ(again.size(), list.size());
    for (std::size_t i = 0; i < list.size(); ++i)
        EXPECT_EQ(again[i].location(), list[i].location());
}

TEST(PolicyDestinations, PolicyMistakesAreRefusedWhenRead) {
    auto refused = [](const std::string& destinationsJson) {
        try {
            storage::Policy::fromJson("{\"export_destinations\": [" + destinationsJson + "]}");
        } catch (const storage::PolicyError& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    EXPECT_NE(refused(R"({"smb": "smb://h/s", "user": "u"})"), ""); // no name
    EXPECT_NE(refused(R"({"name": "x", "smb": "smb://h/s", "folder": "/a", "user": "u"})"), "");
    EXPECT_NE(refused(R"({"name": "x", "smb": "smb://h/s"})"), ""); // no credentials, no user
    EXPECT_NE(refused(R"({"name": "x", "smb": "http://h/s", "user": "u"})"), "");
    EXPECT_NE(refused(R"({"name": "x", "folder": "relative/path"})"), "");
    EXPECT_NE(refused(R"({"name": "x", "folder": "/a", "password": "p"})"), ""); // unknown key
    EXPECT_NE(refused(R"({"name": "x", "folder": "/a"}, {"name": "x", "folder": "/b"})"), "");
    EXPECT_NE(refused(R"({"name": "x", "smb": "smb://h/s", "credentials": "rel", "user": "u"})"),
              "");
    EXPECT_EQ(refused(R"({"name": "x", "folder": "/a"})"), "");
}

TEST(PolicyDestinations, ShareUrls) {
    const auto v6 = parseSmbUrl("smb://[::1]:1445/share");
    EXPECT_EQ(v6.host, "[::1]");
    EXPECT_EQ(v6.port, 1445);
    EXPECT_EQ(v6.folder, "");
    EXPECT_EQ(v6.remoteFolder(), "\\");
    EXPECT_EQ(parseSmbUrl("smb://host/share//a///b/").folder, "a/b");
    EXPECT_EQ(parseSmbUrl("smb://host/Research Data/x").share, "Research Data");
    for (const char* bad : {"smb://", "smb://host", "smb://host/", "smb://user@host/share",
                            "smb://host:0/share", "smb://host:99999/share", "smb://host:/share",
                            "smb://ho st/share", "smb://host/share/../etc", "smb://host/share/a\"b",
                            "smb://host/share/a:b", "smb://host/share?x", "smb://[::1/share"})
        EXPECT_THROW(parseSmbUrl(bad), DestinationRefused) << bad;
    // A bad URL in the policy is listed, and refused with the reason.
    const auto policy = storage::Policy::fromJson(
        R"({"export_destinations": [{"name": "typo", "smb": "smb://host:70000/s", "user": "u"}]})");
    const auto list = destinations(policy);
    ASSERT_EQ(list.size(), 1u);
    const auto check = checkDestination(list[0]);
    EXPECT_FALSE(check.allowed);
    EXPECT_NE(check.reason.find("port"), std::string::npos) << check.reason;
}

TEST(SmbCredentialsFile, OnlyTheStoreOwnerMayReadIt) {
    TempDir dir;
    const fs::path file = dir / "share.credentials";
    writeFile(file, "# the service account\nusername = EXAMPLE\\svc\npassword =  p@ss word=1\n"
                    "domain = EXAMPLE\n");
    ::chmod(file.c_str(), 0600);
    const auto c = readCredentialsFile(file, ::geteuid());
    EXPECT_EQ(c.user, "EXAMPLE\\svc");
    EXPECT_EQ(c.password, "p@ss word=1"); // as Samba reads it: spaces after '=' dropped
    EXPECT_EQ(c.domain, "EXAMPLE");
    EXPECT_EQ(credentialsFileProblem(file, ::geteuid()), std::nullopt);
    ::chmod(file.c_str(), 0400);
    EXPECT_EQ(credentialsFileProblem(file, ::geteuid()), std::nullopt);

    for (mode_t mode : {0644, 0640, 0604, 0660, 0700}) {
        ::chmod(file.c_str(), mode);
        const auto problem = credentialsFileProblem(file, ::geteuid());
        ASSERT_TRUE(problem.has_value()) << std::oct << mode;
        EXPECT_NE(problem->find("0600 or 0400"), std::string::npos) << *problem;
        EXPECT_THROW(readCredentialsFile(file, ::geteuid()), DestinationRefused);
    }
    ::chmod(file.c_str(), 0600);
    // Another owner than the store's.
    const auto other = credentialsFileProblem(file, ::geteuid() + 1);
    ASSERT_TRUE(other.has_value());
    EXPECT_NE(other->find("not to the store's owner"), std::string::npos) << *other;
    EXPECT_THROW(readCredentialsFile(file, ::geteuid() + 1), DestinationRefused);
    // A symlink to a good file is not good.
    fs::create_symlink(file, dir / "link");
    EXPECT_TRUE(credentialsFileProblem(dir / "link", ::geteuid()).has_value());
    EXPECT_THROW(readCredentialsFile(dir / "link", ::geteuid()), DestinationRefused);
    EXPECT_THROW(readCredentialsFile(dir / "missing", ::geteuid()), DestinationRefused);
    // Unknown keys are refused rather than ignored.
    writeFile(file, "username = u\nsecret = x\n");
    EXPECT_THROW(readCredentialsFile(file, ::geteuid()), DestinationRefused);
}

TEST(SmbCredentialsFile, ADestinationWithAnUnsafeFileIsRefusedBeforeAnythingHappens) {
    TempDir dir;
    const fs::path file = dir / "share.credentials";
    writeFile(file, "username = u\npassword = p\n");
    ::chmod(file.c_str(), 0644);
    Destination d;
    d.name = "share";
    d.kind = Destination::Kind::SmbShare;
    d.smb = parseSmbUrl("smb://127.0.0.1:1/bundles");
    d.credentialsFile = file;
    EXPECT_FALSE(checkDestination(d).allowed);
    bool asked = false;
    EXPECT_THROW(openWriter(d, {},
                            [&](const std::string&) {
                                asked = true;
                                return std::optional<std::string>("x");
                            }),
                 DestinationRefused);
    EXPECT_FALSE(asked);
}

TEST(ExportGate, RequestsRefusalsAndCompletionsAreLogged) {
    using namespace storage;
    auto policy = storage::testing::lowCostPolicy();
    ExportDestination share;
    share.name = "research share";
    share.smbUrl = "smb://files.example.org/research";
    share.smbUser = "svc";
    policy.exportDestinations.push_back(share);
    storage::testing::TestStore t(policy);
    auto admin = t.admin();
    Exports exports(admin);
    EXPECT_EQ(exports.request("research share", "dataset lungs rev 3").smbUrl, share.smbUrl);
    EXPECT_THROW(exports.request("USB stick", "dataset lungs rev 3"), PermissionDeniedError);
    exports.refused("research share", "the share refused the user name or password");
    exports.completed("research share", "bundle b-1, manifest sha256 ab12, versions 4 7");
    // The older gate still takes folders under a folder destination.
    EXPECT_NO_THROW(exports.record("/srv/radmark-exports/set-1", "3 studies"));
    auto count = [&](const std::string& action) {
        return AuditTrail(admin).entries(storage::testing::filterBy({}, action)).size();
    };
    EXPECT_EQ(count("export requested"), 1u);
    EXPECT_EQ(count("export refused"), 2u);
    EXPECT_EQ(count("export"), 2u);
    const auto refusals =
        AuditTrail(admin).entries(storage::testing::filterBy({}, "export refused"));
    EXPECT_EQ(refusals.back().details, "the share refused the user name or password");
}

} // namespace
} // namespace radmark::delivery
