// radmark-cli destinations, as IT uses it to check a policy: every destination with its decision,
// and with --connect a login to each share (encryption enforced), with the password from stdin.

#include "delivery/loopback/LoopbackSamba.h"

#include "DeliveryTestSupport.h"

#include <sys/stat.h>

namespace radmark::delivery {
namespace {
namespace fs = std::filesystem;
using testing::runCommand;
using testing::TempDir;
using testing::writeFile;

std::string cli(const std::string& arguments, int& exitCode, const std::string& input = {}) {
    return runCommand("printf '" + input + "' | " RADMARK_CLI " " + arguments + " 2>&1",
                      &exitCode);
}

TEST(CliDestinations, ListsEveryDestinationWithItsDecision) {
    TempDir dir;
    fs::create_directories(dir / "demo");
    fs::create_directories(dir / "plain");
    writeFile(dir / "open.credentials", "username = u\npassword = p\n");
    ::chmod((dir / "open.credentials").c_str(), 0644);
    const fs::path policy = dir / "policy.json";
    writeFile(policy, R"({"export_destinations": [
        {"name": "demo", "folder": ")" +
                          (dir / "demo").string() + R"(", "local": true},
        {"name": "plain", "folder": ")" +
                          (dir / "plain").string() + R"("},
        {"name": "readable credentials", "smb": "smb://files.example.org/research",
         "credentials": ")" +
                          (dir / "open.credentials").string() + R"("}]})");
    int exitCode = -1;
    const std::string out = cli("destinations --policy " + policy.string(), exitCode);
    EXPECT_EQ(exitCode, 1) << out; // two are refused
    EXPECT_NE(out.find("demo\n  local folder: " + (dir / "demo").string() + "\n  allowed: "),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("plain\n  network folder: " + (dir / "plain").string() + "\n  refused: "),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("not an encrypted network mount"), std::string::npos) << out;
    EXPECT_NE(out.find("readable credentials\n  SMB3 share: smb://files.example.org/research\n"
                       "  refused: the credentials file"),
              std::string::npos)
        << out;

    writeFile(policy, R"({"export_destinations": [
        {"name": "demo", "folder": ")" +
                          (dir / "demo").string() + R"(", "local": true}]})");
    cli("destinations --policy " + policy.string(), exitCode);
    EXPECT_EQ(exitCode, 0);
}

TEST(CliDestinations, ConnectLogsInToEachShareWithEncryption) {
    TempDir dir;
    LoopbackSamba encrypted;
    LoopbackSamba plain(LoopbackSamba::Options{false, {}});
    const fs::path policy = dir / "policy.json";
    writeFile(policy, R"({"export_destinations": [
        {"name": "encrypted", "smb": ")" +
                          encrypted.url() + R"(", "user": ")" + encrypted.user() + R"("},
        {"name": "plain", "smb": ")" +
                          plain.url() + R"(", "user": ")" + plain.user() + R"("}]})");
    int exitCode = -1;
    const std::string out =
        cli("destinations --policy " + policy.string() + " --connect --password-stdin", exitCode,
            encrypted.password() + "\\n" + plain.password() + "\\n");
    EXPECT_EQ(exitCode, 1) << out;
    EXPECT_NE(out.find("encrypted\n  SMB3 share: " + encrypted.url() + "\n  allowed: SMB3 share " +
                       encrypted.url() + ", encryption required; the password of " +
                       encrypted.user() +
                       " is asked for\n  connected: logged in over SMB3 with encryption"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("plain\n"), std::string::npos) << out;
    EXPECT_NE(out.find("  not reachable: the server 127.0.0.1:" + std::to_string(plain.port()) +
                       " does not encrypt SMB3 sessions"),
              std::string::npos)
        << out;

    const std::string wrong =
        cli("destinations --policy " + policy.string() + " --connect --password-stdin", exitCode,
            std::string("wrong\\nwrong\\n"));
    EXPECT_EQ(exitCode, 1);
    EXPECT_NE(wrong.find("refused the user name or password"), std::string::npos) << wrong;
}

} // namespace
} // namespace radmark::delivery
