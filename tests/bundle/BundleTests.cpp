// The bundle from the outside: a bag of generated files (a nibabel-made nnU-Net dataset, files
// with '%', CR and LF in their names, tag files in a sub-folder), sealed with a fresh key, must
// pass an independent Python BagIt check, Debian's `minisign -V` and `radmark-cli bundle
// verify`; every tampering must make verify fail naming the file; the tar is deterministic and
// age decrypts it back to the same bytes.

#include "bundle/AgeEncryption.h"
#include "bundle/BagIt.h"
#include "bundle/BagLayout.h"
#include "bundle/DeterministicTar.h"
#include "bundle/Errors.h"
#include "bundle/Minisign.h"
#include "bundle/Seal.h"
#include "bundle/Verify.h"
#include "storage/AuditLog.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace radmark::bundle {
namespace {

namespace fs = std::filesystem;

struct CommandRun {
    int status = -1;
    std::string output; // stdout and stderr
};

std::string quote(const std::string& s) {
    std::string q = "'";
    for (char c : s)
        q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

CommandRun run(const std::string& command) {
    CommandRun r;
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    if (!pipe)
        return r;
    char buffer[4096];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;)
        r.output.append(buffer, n);
    const int status = ::pclose(pipe);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

std::string readFile(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

void writeFile(const fs::path& p, const std::string& bytes) {
    fs::create_directories(p.parent_path());
    std::ofstream out(p, std::ios::binary);
    out << bytes;
}

void flipByte(const fs::path& p, std::size_t offset) {
    std::string bytes = readFile(p);
    ASSERT_LT(offset, bytes.size());
    bytes[offset] = char(bytes[offset] ^ 0x01);
    writeFile(p, bytes);
}

struct KeyPair {
    std::vector<std::uint8_t> secret = std::vector<std::uint8_t>(crypto_sign_SECRETKEYBYTES);
    Ed25519PublicKey publicKey{};
    KeyPair() { crypto_sign_keypair(publicKey.data(), secret.data()); }
    ~KeyPair() { sodium_memzero(secret.data(), secret.size()); }
};

std::string checkpointJson(const KeyPair& key, bool breakSignature = false) {
    storage::Checkpoint c;
    c.storeId.assign(16, 0xab);
    c.treeSize = 42;
    c.root.assign(32, 0x5c);
    c.time = "2026-03-01T12:00:00.000Z";
    c.publicKey.assign(key.publicKey.begin(), key.publicKey.end());
    const std::string m = c.signedMessage();
    c.signature.resize(crypto_sign_BYTES);
    crypto_sign_detached(c.signature.data(), nullptr,
                         reinterpret_cast<const unsigned char*>(m.data()), m.size(),
                         key.secret.data());
    if (breakSignature)
        c.signature[10] ^= 0x01;
    return c.toJson();
}

BagSeal sealFor(const KeyPair& key) {
    BagSeal seal;
    seal.info.baggingDate = "2026-03-01";
    seal.info.softwareAgent = "Radmark test";
    seal.info.fields = {{layout::datasetField, "Liver"},
                        {layout::revisionField, "rev-2b7c"},
                        {layout::parentRevisionField, "rev-19aa"},
                        {layout::formatsField, "nnU-Net v2, NIfTI"}};
    seal.auditCheckpointJson = checkpointJson(key);
    return seal;
}

class BundleTest : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_GE(sodium_init(), 0);
        std::string pattern = (fs::temp_directory_path() / "radmark-bundle-test-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        scratch = pattern;
        bag = scratch / "bundle-liver";
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(scratch, ec);
    }

    // data/ with an nnU-Net dataset (defect as make_nnunet.py takes it) and awkward file names;
    // tag files the export would add.
    void fillBag(const std::string& defect = "none") {
        fs::create_directories(bag / "data" / "nnUNet");
        const CommandRun made = run(
            "/usr/bin/python3 " + quote(std::string(RADMARK_BUNDLE_TEST_DIR) + "/make_nnunet.py") +
            " " + quote((bag / "data" / "nnUNet").string()) + " --defect " + defect);
        ASSERT_EQ(made.status, 0) << made.output;
        writeFile(bag / "data" / "odd" / "100% sure.txt", "percent\n");
        writeFile(bag / "data" / "odd" / "line\nbreak.txt", "line feed\n");
        writeFile(bag / "data" / "odd" / "carriage\rreturn.txt", "carriage return\n");
        writeFile(bag / "data" / "odd" /
                      "\xc3\xbcnic\xc3\xb6"
                      "de.txt",
                  "utf-8\n");
        writeFile(bag / "datasheet.md", "# Liver\n");
        writeFile(bag / "provenance" / "liver_000.json", "{\"pseudonym\": \"liver_000\"}\n");
    }

    SealedBag seal(const KeyPair& key) { return sealBag(bag, sealFor(key), key.secret); }

    CommandRun verify(const std::string& extra = "") {
        return run(std::string(RADMARK_CLI) + " bundle verify " + quote(bag.string()) + extra);
    }

    void writePublicKey(const fs::path& file, const Ed25519PublicKey& key) {
        writeFile(file, formatMinisignPublicKey(key));
    }

    fs::path scratch;
    fs::path bag;
};

TEST_F(BundleTest, SealedBagPassesThePythonCheckMinisignAndVerify) {
    fillBag();
    KeyPair key;
    const SealedBag sealed = seal(key);
    EXPECT_EQ(sealed.totals.payloadFiles, 4u + 4u + 2u + 2u + 2u + 4u); // nnU-Net files, odd/

    const CommandRun python =
        run("/usr/bin/python3 " + quote(std::string(RADMARK_BUNDLE_TEST_DIR) + "/check_bagit.py") +
            " " + quote(bag.string()));
    EXPECT_EQ(python.status, 0) << python.output;

    const CommandRun minisign =
        run("minisign -V -p " + quote((bag / layout::publicKeyFile).string()) + " -m " +
            quote((bag / layout::tagManifestFile).string()));
    EXPECT_EQ(minisign.status, 0) << minisign.output;
    EXPECT_NE(minisign.output.find("Signature and comment signature verified"), std::string::npos)
        << minisign.output;
    EXPECT_NE(minisign.output.find("dataset Liver"), std::string::npos) << minisign.output;

    // The manifest names the awkward paths percent-encoded, as RFC 8493 says.
    const std::string manifest = readFile(bag / layout::manifestFile);
    EXPECT_NE(manifest.find("data/odd/100%25 sure.txt\n"), std::string::npos);
    EXPECT_NE(manifest.find("data/odd/line%0Abreak.txt\n"), std::string::npos);
    EXPECT_NE(manifest.find("data/odd/carriage%0Dreturn.txt\n"), std::string::npos);

    const CommandRun verified = verify();
    ASSERT_EQ(verified.status, 0) << verified.output;
    for (const std::string& expected : std::vector<std::string>{
             "dataset: Liver, revision rev-2b7c, parent revision rev-19aa",
             "nnU-Net Dataset042_Liver: 4 training cases (fold 0 of 1: 3 train, 1 validation), 2 "
             "test cases with labels",
             "labels: 0 background, 1 liver, 2 tumour", "channels: 0 CT",
             "by key " + sealed.signerKeyId, "not who made it",
             "audit checkpoint: 42 entries at 2026-03-01T12:00:00.000Z",
             "formats: nnU-Net v2, NIfTI"})
        EXPECT_NE(verified.output.find(expected), std::string::npos) << expected << "\n"
                                                                     << verified.output;

    writePublicKey(scratch / "workstation.pub", key.publicKey);
    const CommandRun withKey =
        verify(" --public-key " + quote((scratch / "workstation.pub").string()));
    ASSERT_EQ(withKey.status, 0) << withKey.output;
    EXPECT_NE(withKey.output.find("comes from that key's holder"), std::string::npos);
}

TEST_F(BundleTest, MinisignRejectsAFlippedByteInTheTagManifest) {
    fillBag();
    KeyPair key;
    seal(key);
    flipByte(bag / layout::tagManifestFile, 3);
    const CommandRun minisign =
        run("minisign -V -p " + quote((bag / layout::publicKeyFile).string()) + " -m " +
            quote((bag / layout::tagManifestFile).string()));
    EXPECT_NE(minisign.status, 0) << minisign.output;
    const CommandRun verified = verify();
    EXPECT_NE(verified.status, 0);
    EXPECT_NE(verified.output.find(std::string(layout::signatureFile) + ": the signature does not "
                                                                        "match"),
              std::string::npos)
        << verified.output;
}

TEST_F(BundleTest, OurVerifierAcceptsMinisignsOwnSignaturesBothAlgorithms) {
    const fs::path file = scratch / "message.txt";
    writeFile(file, "a tag manifest stand-in\n");
    const std::string pub = (scratch / "m.pub").string(), sec = (scratch / "m.key").string();
    ASSERT_EQ(run("minisign -G -W -p " + quote(pub) + " -s " + quote(sec)).status, 0);
    const MinisignPublicKey key = parseMinisignPublicKey(readFile(pub));
    for (const std::string legacy : {"", " -l"}) {
        const CommandRun signed_ = run("minisign -S" + legacy + " -s " + quote(sec) + " -m " +
                                       quote(file.string()) + " -t 'trusted words'");
        ASSERT_EQ(signed_.status, 0) << signed_.output;
        const auto v = verifyMinisign(readFile(file), readFile(file.string() + ".minisig"), key);
        EXPECT_TRUE(v.ok) << v.reason;
        EXPECT_EQ(v.prehashed, legacy.empty());
        EXPECT_EQ(v.trustedComment, "trusted words");
        EXPECT_FALSE(verifyMinisign("changed", readFile(file.string() + ".minisig"), key).ok);
    }
    // minisign prints its key id the way keyIdHex does.
    EXPECT_NE(readFile(pub).find(keyIdHex(key.keyId)), std::string::npos) << readFile(pub);
}

TEST(MinisignKeyIdText, LeadingZerosAreDroppedAsMinisignPrintsThem) {
    // minisign -G printed "DBC8F9BEDFEDE90" for this id (seen in CI: one key in sixteen).
    const MinisignKeyId id = {0x90, 0xDE, 0xFE, 0xED, 0x9B, 0x8F, 0xBC, 0x0D};
    EXPECT_EQ(keyIdHex(id), "DBC8F9BEDFEDE90");
    EXPECT_EQ(keyIdHex({0x01, 0, 0, 0, 0, 0, 0, 0x80}), "8000000000000001");
    EXPECT_EQ(keyIdHex({}), "0");
}

TEST_F(BundleTest, AFlippedPayloadByteFailsNamingTheFile) {
    fillBag();
    KeyPair key;
    seal(key);
    const std::string victim = "data/nnUNet/Dataset042_Liver/imagesTr/liver_001_0000.nii.gz";
    flipByte(bag / victim, 100);
    const CommandRun verified = verify();
    EXPECT_EQ(verified.status, 1);
    EXPECT_NE(verified.output.find(victim + ": changed"), std::string::npos) << verified.output;
}

TEST_F(BundleTest, ARemovedFileFailsNamingIt) {
    fillBag();
    KeyPair key;
    seal(key);
    fs::remove(bag / "data/odd/100% sure.txt");
    CommandRun verified = verify();
    EXPECT_EQ(verified.status, 1);
    EXPECT_NE(verified.output.find("data/odd/100% sure.txt: missing"), std::string::npos)
        << verified.output;
    EXPECT_NE(verified.output.find("Payload-Oxum"), std::string::npos) << verified.output;

    // A removed tag file is named too.
    fs::remove(bag / "provenance/liver_000.json");
    verified = verify();
    EXPECT_NE(verified.output.find("provenance/liver_000.json: missing"), std::string::npos)
        << verified.output;
}

TEST_F(BundleTest, AnAddedFileFailsNamingIt) {
    fillBag();
    KeyPair key;
    seal(key);
    writeFile(bag / "data/nnUNet/Dataset042_Liver/imagesTr/extra_0000.nii.gz", "not listed");
    writeFile(bag / "notes.txt", "an added tag file");
    const CommandRun verified = verify();
    EXPECT_EQ(verified.status, 1);
    EXPECT_NE(verified.output.find(
                  "data/nnUNet/Dataset042_Liver/imagesTr/extra_0000.nii.gz: not listed in "
                  "manifest-sha256.txt"),
              std::string::npos)
        << verified.output;
    EXPECT_NE(verified.output.find("notes.txt: not listed in tagmanifest-sha256.txt"),
              std::string::npos)
        << verified.output;
}

TEST_F(BundleTest, ASignatureByAnotherKeyFails) {
    fillBag();
    KeyPair key, other;
    seal(key);
    // The same tag manifest signed by another key: named by its key id...
    signTagManifest(bag, other.secret, "forged");
    CommandRun verified = verify();
    EXPECT_EQ(verified.status, 1);
    EXPECT_NE(verified.output.find(std::string(layout::signatureFile) + ": signed by key " +
                                   keyIdHex(minisignKeyId(other.publicKey))),
              std::string::npos)
        << verified.output;

    // ... and with the right key id written in, by the signature itself.
    std::string forged = readFile(bag / layout::signatureFile);
    const std::size_t line = forged.find('\n') + 1;
    const std::size_t end = forged.find('\n', line);
    std::vector<unsigned char> blob(74);
    std::size_t length = 0;
    ASSERT_EQ(sodium_base642bin(blob.data(), blob.size(), forged.data() + line, end - line, nullptr,
                                &length, nullptr, sodium_base64_VARIANT_ORIGINAL),
              0);
    const MinisignKeyId id = minisignKeyId(key.publicKey);
    std::copy(id.begin(), id.end(), blob.begin() + 2);
    std::string encoded(sodium_base64_encoded_len(74, sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(encoded.data(), encoded.size(), blob.data(), 74,
                      sodium_base64_VARIANT_ORIGINAL);
    encoded.resize(std::strlen(encoded.c_str()));
    forged.replace(line, end - line, encoded);
    writeFile(bag / layout::signatureFile, forged);
    verified = verify();
    EXPECT_EQ(verified.status, 1);
    EXPECT_NE(
        verified.output.find(std::string(layout::signatureFile) + ": the signature does not match"),
        std::string::npos)
        << verified.output;
    const CommandRun minisign =
        run("minisign -V -p " + quote((bag / layout::publicKeyFile).string()) + " -m " +
            quote((bag / layout::tagManifestFile).string()));
    EXPECT_NE(minisign.status, 0) << minisign.output;
}

TEST_F(BundleTest, AWrongPublicKeyFails) {
    fillBag();
    KeyPair key, other;
    seal(key);
    writePublicKey(scratch / "other.pub", other.publicKey);
    const CommandRun verified = verify(" --public-key " + quote((scratch / "other.pub").string()));
    EXPECT_EQ(verified.status, 1);
    EXPECT_NE(verified.output.find(std::string(layout::signatureFile) + ": signed by key " +
                                   keyIdHex(minisignKeyId(key.publicKey)) +
                                   ", not by the given key"),
              std::string::npos)
        << verified.output;
    // A whole re-signed bundle (new key file, new signature) still fails against the real key.
    sealBag(bag, sealFor(other), other.secret);
    writePublicKey(scratch / "workstation.pub", key.publicKey);
    EXPECT_EQ(verify().status, 0); // intact, but not ours:
    const CommandRun real =
        verify(" --public-key " + quote((scratch / "workstation.pub").string()));
    EXPECT_EQ(real.status, 1) << real.output;
    EXPECT_EQ(verify(" --public-key not-a-key").status, 2);
}

TEST_F(BundleTest, ABrokenCheckpointSignatureFailsNamingIt) {
    fillBag();
    KeyPair key;
    EXPECT_THROW(
        {
            BagSeal s = sealFor(key);
            s.auditCheckpointJson = checkpointJson(key, true);
            sealBag(bag, s, key.secret);
        },
        BundleError);
    EXPECT_FALSE(fs::exists(bag / layout::signatureFile));
    // Written anyway (as someone holding the key could), the manifests and signature agree and
    // only the checkpoint fails.
    seal(key);
    writeFile(bag / layout::checkpointFile, checkpointJson(key, true));
    writeBagFiles(bag, sealFor(key).info);
    signTagManifest(bag, key.secret, "re-signed");
    const CommandRun verified = verify();
    EXPECT_EQ(verified.status, 1);
    EXPECT_NE(verified.output.find(std::string(layout::checkpointFile) +
                                   ": its signature does not verify"),
              std::string::npos)
        << verified.output;
    EXPECT_EQ(verified.output.find("manifest"), std::string::npos) << verified.output;

    // A checkpoint of another workstation's key is refused at sealing.
    KeyPair other;
    BagSeal s = sealFor(key);
    s.auditCheckpointJson = checkpointJson(other);
    EXPECT_THROW(sealBag(bag, s, key.secret), BundleError);
}

TEST_F(BundleTest, ALabelMissingForAnImageFails) {
    fillBag("missing-label");
    KeyPair key;
    seal(key);
    const CommandRun verified = verify();
    EXPECT_EQ(verified.status, 1);
    EXPECT_NE(verified.output.find("data/nnUNet/Dataset042_Liver/labelsTr/liver_003.nii.gz: "
                                   "missing: imagesTr/liver_003_0000.nii.gz has no label"),
              std::string::npos)
        << verified.output;
}

TEST_F(BundleTest, LabelsNotConsecutiveFail) {
    fillBag("nonconsecutive");
    KeyPair key;
    seal(key);
    const CommandRun verified = verify();
    EXPECT_EQ(verified.status, 1);
    EXPECT_NE(verified.output.find("data/nnUNet/Dataset042_Liver/dataset.json: label values are "
                                   "not consecutive integers from 0 (2 is missing)"),
              std::string::npos)
        << verified.output;
}

TEST_F(BundleTest, NnunetGridValueAndCountRulesFail) {
    struct Case {
        std::string defect, expected;
    };
    for (const Case& c : std::vector<Case>{
             {"shape", "labelsTr/liver_001.nii.gz: not on the grid of imagesTr/"
                       "liver_001_0000.nii.gz: shape 7x9x5 against 7x9x4"},
             {"value", "labelsTr/liver_002.nii.gz: holds values not in dataset.json's labels: 7"},
             {"numtraining", "dataset.json: numTraining is 5 but imagesTr holds 4 cases"}}) {
        fs::remove_all(bag);
        fillBag(c.defect);
        KeyPair key;
        seal(key);
        const CommandRun verified = verify();
        EXPECT_EQ(verified.status, 1) << c.defect;
        EXPECT_NE(verified.output.find(c.expected), std::string::npos) << c.defect << "\n"
                                                                       << verified.output;
    }
}

TEST_F(BundleTest, SealingTwiceGivesTheSameBytes) {
    fillBag();
    KeyPair key;
    seal(key);
    std::vector<std::string> first;
    for (const char* f : {layout::manifestFile, layout::tagManifestFile, layout::bagInfoFile,
                          layout::signatureFile})
        first.push_back(readFile(bag / f));
    seal(key);
    std::size_t i = 0;
    for (const char* f : {layout::manifestFile, layout::tagManifestFile, layout::bagInfoFile,
                          layout::signatureFile})
        EXPECT_EQ(readFile(bag / f), first[i++]) << f;
}

TEST_F(BundleTest, ManifestPathsRoundTripTheirEncoding) {
    for (const std::string p :
         {"data/a%b", "data/l\nf", "data/c\rr", "data/%0A literally", "data/plain name.txt"})
        EXPECT_EQ(decodeManifestPath(encodeManifestPath(p)), p);
    EXPECT_EQ(encodeManifestPath("data/%0A"), "data/%250A");
    EXPECT_EQ(decodeManifestPath("data/x%0ay"), "data/x\ny");
    EXPECT_THROW(parseManifest("not-a-digest data/x\n", "manifest-sha256.txt"), BundleError);
}

TEST_F(BundleTest, AManifestPathOutsideTheBagIsRefused) {
    fillBag();
    KeyPair key;
    seal(key);
    std::string manifest = readFile(bag / layout::manifestFile);
    manifest += std::string(64, '0') + "  data/../bagit.txt\n";
    writeFile(bag / layout::manifestFile, manifest);
    const CommandRun verified = verify();
    EXPECT_EQ(verified.status, 1);
    EXPECT_NE(verified.output.find("manifest-sha256.txt: lists a path it may not: "
                                   "data/../bagit.txt"),
              std::string::npos)
        << verified.output;
}

TEST_F(BundleTest, TheTarIsDeterministicAndAgeDecryptsItToTheSameBytes) {
    fillBag();
    // Longer than ustar's 100-byte name field with no split: a pax path record.
    writeFile(bag / "data" / "long" / (std::string(120, 'n') + ".txt"), "long name\n");
    KeyPair key;
    seal(key);
    auto tarBytes = [&] {
        std::string bytes;
        writeDeterministicTar(bag, {"bundle-liver", 1772323200},
                              [&](const char* d, std::size_t n) { bytes.append(d, n); });
        return bytes;
    };
    const std::string tar = tarBytes();
    EXPECT_EQ(tar.size() % 10240, 0u);
    // Touching every file changes mtimes and nothing in the stream.
    for (const auto& e : fs::recursive_directory_iterator(bag))
        fs::last_write_time(e.path(), fs::file_time_type::clock::now());
    EXPECT_EQ(tarBytes(), tar);

    // GNU tar and Python's tarfile read it back, file for file.
    writeFile(scratch / "plain.tar", tar);
    fs::create_directories(scratch / "unpacked");
    const CommandRun untar = run("tar -xf " + quote((scratch / "plain.tar").string()) + " -C " +
                                 quote((scratch / "unpacked").string()));
    ASSERT_EQ(untar.status, 0) << untar.output;
    for (const auto& e : fs::recursive_directory_iterator(bag)) {
        if (!e.is_regular_file())
            continue;
        const fs::path unpacked =
            scratch / "unpacked" / "bundle-liver" / e.path().lexically_relative(bag);
        EXPECT_EQ(readFile(unpacked), readFile(e.path())) << e.path();
    }
    const CommandRun python =
        run("/usr/bin/python3 -c " +
            quote("import tarfile,sys\nt=tarfile.open(sys.argv[1])\nm=t.getmembers()\n"
                  "assert all(x.uid==0 and x.gid==0 and x.mtime==1772323200 for x in m)\n"
                  "assert [x.name for x in m]==sorted(x.name for x in m)\n"
                  "print(len(m))") +
            " " + quote((scratch / "plain.tar").string()));
    EXPECT_EQ(python.status, 0) << python.output;
    // The unpacked bag still verifies.
    const CommandRun unpacked = run(std::string(RADMARK_CLI) + " bundle verify " +
                                    quote((scratch / "unpacked" / "bundle-liver").string()));
    EXPECT_EQ(unpacked.status, 0) << unpacked.output;

    // age: encrypt to a fresh identity, decrypt with age, compare bytes.
    const fs::path identity = scratch / "recipient.key";
    ASSERT_EQ(run("age-keygen -o " + quote(identity.string())).status, 0);
    CommandRun recipient = run("age-keygen -y " + quote(identity.string()));
    ASSERT_EQ(recipient.status, 0) << recipient.output;
    while (!recipient.output.empty() && recipient.output.back() == '\n')
        recipient.output.pop_back();
    const fs::path encrypted = scratch / "bundle-liver.tar.age";
    encryptBagWithAge(bag, encrypted, {{recipient.output}, {}}, {"/usr/bin/age", 1772323200});
    EXPECT_TRUE(fs::exists(encrypted));
    EXPECT_FALSE(fs::exists(encrypted.string() + ".partial"));
    EXPECT_EQ((fs::status(encrypted).permissions() & fs::perms::all),
              fs::perms::owner_read | fs::perms::owner_write);
    const CommandRun decrypted =
        run("age -d -i " + quote(identity.string()) + " -o " +
            quote((scratch / "decrypted.tar").string()) + " " + quote(encrypted.string()));
    ASSERT_EQ(decrypted.status, 0) << decrypted.output;
    EXPECT_EQ(readFile(scratch / "decrypted.tar"), tar);

    // With a recipients file (-R) too.
    writeFile(scratch / "recipients.txt", recipient.output + "\n");
    const fs::path second = scratch / "second.tar.age";
    encryptBagWithAge(bag.string() + "/", second, {{}, {scratch / "recipients.txt"}},
                      {"/usr/bin/age", 1772323200});
    ASSERT_EQ(run("age -d -i " + quote(identity.string()) + " -o " +
                  quote((scratch / "second.tar").string()) + " " + quote(second.string()))
                  .status,
              0);
    EXPECT_EQ(readFile(scratch / "second.tar"), tar);
}

TEST_F(BundleTest, AgeRefusalsLeaveNothingBehind) {
    fillBag();
    KeyPair key;
    seal(key);
    const fs::path out = scratch / "x.tar.age";
    try {
        encryptBagWithAge(bag, out, {{"age1notarealrecipient"}, {}});
        FAIL() << "a malformed recipient was accepted";
    } catch (const BundleError& e) {
        EXPECT_NE(std::string(e.what()).find("age could not encrypt"), std::string::npos)
            << e.what();
        EXPECT_EQ(std::string(e.what()).find("report"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(out));
    EXPECT_FALSE(fs::exists(out.string() + ".partial"));
    EXPECT_THROW(encryptBagWithAge(bag, out, {{"-o/tmp/evil"}, {}}), BundleError);
    EXPECT_THROW(encryptBagWithAge(bag, out, {}), BundleError);
    EXPECT_THROW(encryptBagWithAge(bag, out, {{"age1x"}, {}}, {"/nonexistent/age", 0}),
                 BundleError);
}

TEST_F(BundleTest, LinksInTheBagAreRefused) {
    fillBag();
    fs::create_symlink("/etc/passwd", bag / "data" / "odd" / "link");
    KeyPair key;
    EXPECT_THROW(seal(key), BundleError);
    fs::remove(bag / "data" / "odd" / "link");
    seal(key);
    fs::create_symlink("/etc/passwd", bag / "data" / "odd" / "link");
    const CommandRun verified = verify();
    EXPECT_EQ(verified.status, 1);
    EXPECT_NE(verified.output.find("data/odd/link: not a regular file"), std::string::npos)
        << verified.output;
}

} // namespace
} // namespace radmark::bundle
