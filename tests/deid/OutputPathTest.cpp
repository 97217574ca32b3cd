// Paths that stay put (issue 12): the attacks on `deid`'s output folder and on a source folder's
// links, each run against deidentifyIntoFolder / findSeries as `radmark-cli deid` and import
// call them, with pydicom's CT_small and MR_small as the studies.

#include "imaging/SourceFolder.h"
#include "imaging/StudyReader.h"
#include "imaging/deid/FolderDeidentification.h"

#include <gdcmReader.h>
#include <gdcmWriter.h>
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

namespace radmark::deid {
namespace {

namespace fs = std::filesystem;

const fs::path ctSmall = fs::path(RADMARK_PYDICOM_DATA) / "CT_small.dcm";
const fs::path mrSmall = fs::path(RADMARK_PYDICOM_DATA) / "MR_small.dcm";

class TemporaryFolder {
  public:
    TemporaryFolder() {
        std::string pattern = (fs::temp_directory_path() / "radmark-outpath-XXXXXX").string();
        path_ = ::mkdtemp(pattern.data());
    }
    ~TemporaryFolder() {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    const fs::path& path() const { return path_; }

  private:
    fs::path path_;
};

StoreSecret testSecret() {
    std::array<std::uint8_t, 32> bytes{};
    bytes.fill(7);
    return StoreSecret(bytes);
}

struct Engine {
    explicit Engine(const std::string& options = "default")
        : secret(testSecret()),
          deidentifier(ConfidentialityProfile::standard(), ProfileOptions::parse(options), secret) {
    }
    StoreSecret secret;
    Deidentifier deidentifier;
};

std::string contentOf(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

std::vector<fs::path> everythingUnder(const fs::path& folder) {
    std::vector<fs::path> found;
    for (const auto& entry : fs::recursive_directory_iterator(folder))
        found.push_back(entry.path());
    return found;
}

std::vector<fs::path> partialFilesIn(const fs::path& folder) {
    std::vector<fs::path> found;
    for (const auto& path : everythingUnder(folder))
        if (path.filename().string().rfind(".radmark-partial-", 0) == 0)
            found.push_back(path);
    return found;
}

// CT_small with its study and series UIDs replaced (retain-uids keeps them as they are).
fs::path ctWithUids(const fs::path& folder, const std::string& studyUid,
                    const std::string& seriesUid) {
    gdcm::Reader reader;
    reader.SetFileName(ctSmall.c_str());
    EXPECT_TRUE(reader.Read());
    auto& ds = reader.GetFile().GetDataSet();
    auto set = [&](std::uint16_t element, std::string value) {
        if (value.size() % 2)
            value += '\0';
        gdcm::DataElement de(gdcm::Tag(0x0020, element));
        de.SetVR(gdcm::VR::UI);
        de.SetByteValue(value.data(), gdcm::VL(std::uint32_t(value.size())));
        ds.Replace(de);
    };
    set(0x000d, studyUid);
    set(0x000e, seriesUid);
    const fs::path out = folder / "planted-uids.dcm";
    gdcm::Writer writer;
    writer.SetFile(reader.GetFile());
    writer.SetFileName(out.c_str());
    EXPECT_TRUE(writer.Write());
    return out;
}

TEST(DicomUid, FollowsTheUiGrammar) {
    EXPECT_TRUE(isDicomUid("1.2.840.10008.1.2"));
    EXPECT_TRUE(isDicomUid("0"));
    EXPECT_TRUE(isDicomUid("2.25.0.10"));
    EXPECT_TRUE(isDicomUid(std::string(64, '1')));
    EXPECT_FALSE(isDicomUid(""));
    EXPECT_FALSE(isDicomUid("."));
    EXPECT_FALSE(isDicomUid(".."));
    EXPECT_FALSE(isDicomUid("1..2"));
    EXPECT_FALSE(isDicomUid("1.2."));
    EXPECT_FALSE(isDicomUid(".1.2"));
    EXPECT_FALSE(isDicomUid("1.02"));
    EXPECT_FALSE(isDicomUid("1/2"));
    EXPECT_FALSE(isDicomUid("1.2\n"));
    EXPECT_FALSE(isDicomUid(std::string(65, '1')));
}

// The symlink attack of the issue: links planted at every name the old code would have used
// (.radmark-partial-<pid>-<n>.dcm, -report.json) must not get their target overwritten.
TEST(OutputPaths, PlantedLinkAtAPartialNameIsNeverWrittenThrough) {
    TemporaryFolder tmp;
    const fs::path out = tmp.path() / "out";
    fs::create_directories(out);
    const fs::path victim = tmp.path() / "victim.txt";
    std::ofstream(victim) << "precious";
    const std::string prefix = ".radmark-partial-" + std::to_string(::getpid()) + "-";
    for (int n = 1; n <= 4; ++n)
        fs::create_symlink(victim, out / (prefix + std::to_string(n) + ".dcm"));
    fs::create_symlink(victim, out / (prefix + "report.json"));

    Engine engine;
    const auto outcome = deidentifyIntoFolder({ctSmall}, out, engine.deidentifier);
    EXPECT_EQ(outcome.filesWritten, 1);
    EXPECT_TRUE(outcome.failures.empty()) << outcome.failures.front();
    EXPECT_EQ(contentOf(victim), "precious");
    // Written files and folders are the owner's only.
    for (const auto& path : everythingUnder(out)) {
        if (fs::is_symlink(fs::symlink_status(path)))
            continue;
        const auto perms = fs::status(path).permissions();
        EXPECT_EQ(perms & (fs::perms::group_all | fs::perms::others_all), fs::perms::none) << path;
    }
}

TEST(OutputPaths, PartialFilesOfADeadRunAreSweptAndThoseOfALiveOneKept) {
    TemporaryFolder tmp;
    const fs::path out = tmp.path() / "out";
    fs::create_directories(out);
    const pid_t dead = ::fork();
    if (dead == 0)
        ::_exit(0);
    ::waitpid(dead, nullptr, 0);
    const fs::path left = out / (".radmark-partial-" + std::to_string(dead) + "-7.dcm");
    std::ofstream(left) << "half a file";
    const fs::path live = out / (".radmark-partial-" + std::to_string(::getppid()) + "-Ab12cd.dcm");
    std::ofstream(live) << "being written by another run";

    Engine engine;
    const auto outcome = deidentifyIntoFolder({ctSmall}, out, engine.deidentifier);
    EXPECT_EQ(outcome.partialFilesRemoved, 1);
    EXPECT_FALSE(fs::exists(left));
    EXPECT_TRUE(fs::exists(live));
}

TEST(OutputPaths, RetainedDotDotUidIsRefusedAndNothingIsWrittenAboveOut) {
    TemporaryFolder tmp;
    const fs::path source = tmp.path() / "source";
    const fs::path out = tmp.path() / "a" / "b" / "out";
    fs::create_directories(source);
    const fs::path planted = ctWithUids(source, "..", "..");

    Engine engine("default,retain-uids");
    const auto outcome = deidentifyIntoFolder({planted}, out, engine.deidentifier);
    EXPECT_EQ(outcome.filesWritten, 0);
    ASSERT_EQ(outcome.failures.size(), 1u);
    EXPECT_NE(outcome.failures.front().find("not a valid DICOM UID"), std::string::npos)
        << outcome.failures.front();
    EXPECT_NE(outcome.failures.front().find("planted-uids.dcm"), std::string::npos);
    EXPECT_TRUE(everythingUnder(out).empty());
    EXPECT_EQ(everythingUnder(tmp.path() / "a"),
              std::vector<fs::path>({tmp.path() / "a/b", tmp.path() / "a/b/out"}));
    EXPECT_EQ(std::distance(fs::directory_iterator(tmp.path()), fs::directory_iterator()), 2);
}

TEST(OutputPaths, UidWithASeparatorIsRefused) {
    TemporaryFolder tmp;
    fs::create_directories(tmp.path() / "source");
    const fs::path planted = ctWithUids(tmp.path() / "source", "1.2/../../3", "1.2.3");
    Engine engine("default,retain-uids");
    const auto outcome = deidentifyIntoFolder({planted}, tmp.path() / "out", engine.deidentifier);
    EXPECT_EQ(outcome.filesWritten, 0);
    ASSERT_EQ(outcome.failures.size(), 1u);
    EXPECT_TRUE(everythingUnder(tmp.path() / "out").empty());
}

TEST(OutputPaths, SymlinkedOutputFolderIsRefused) {
    TemporaryFolder tmp;
    const fs::path real = tmp.path() / "real";
    fs::create_directories(real);
    fs::create_symlink(real, tmp.path() / "out");
    Engine engine;
    try {
        deidentifyIntoFolder({ctSmall}, tmp.path() / "out", engine.deidentifier);
        FAIL() << "a symlinked output folder was accepted";
    } catch (const OutputFolderError& refused) {
        EXPECT_NE(std::string(refused.what()).find("is a symbolic link"), std::string::npos);
    }
    EXPECT_TRUE(everythingUnder(real).empty());
}

TEST(OutputPaths, LinkPlantedWhereAStudyFolderGoesIsNotWrittenThrough) {
    TemporaryFolder tmp;
    const fs::path out = tmp.path() / "out", elsewhere = tmp.path() / "elsewhere";
    fs::create_directories(elsewhere);
    Engine engine;
    // Learn the study folder's name, then plant a link there and run again.
    const auto first = deidentifyIntoFolder({ctSmall}, out, engine.deidentifier);
    ASSERT_EQ(first.studies.size(), 1u);
    fs::remove_all(out);
    fs::create_directories(out);
    fs::create_symlink(elsewhere, out / first.studies.front().studyUid);
    const auto second = deidentifyIntoFolder({ctSmall}, out, engine.deidentifier);
    EXPECT_EQ(second.filesWritten, 0);
    ASSERT_FALSE(second.failures.empty());
    EXPECT_NE(second.failures.front().find("is in the way"), std::string::npos);
    EXPECT_TRUE(everythingUnder(elsewhere).empty());
    EXPECT_TRUE(partialFilesIn(out).empty());
}

// deidentifyIntoFolder into a folder that cannot hold the output: a clear failure line, no
// crash (the child's exit status says so), no partial file left.
void expectFullDiskHandled(const fs::path& out) {
    Engine engine;
    const auto outcome = deidentifyIntoFolder({ctSmall, mrSmall}, out, engine.deidentifier);
    EXPECT_EQ(outcome.filesWritten, 0); // 4 KiB: neither CT_small (39 KB) nor MR_small fits
    ASSERT_FALSE(outcome.failures.empty());
    EXPECT_NE(outcome.failures.front().find("could not write the de-identified file"),
              std::string::npos)
        << outcome.failures.front();
    EXPECT_TRUE(partialFilesIn(out).empty());
}

TEST(OutputPaths, FullDiskGivesAClearErrorAndLeavesNothing) {
    TemporaryFolder tmp;
    const fs::path out = tmp.path() / "small-disk";
    fs::create_directories(out);
    // A 4 KiB tmpfs when mounting is allowed (root in the sandbox);
    // otherwise a file size limit in a child process, which fails writes the same way (EFBIG).
    if (::mount("tmpfs", out.c_str(), "tmpfs", 0, "size=4k,mode=0700") == 0) {
        expectFullDiskHandled(out);
        for (const auto& failure :
             deidentifyIntoFolder({ctSmall}, out, Engine().deidentifier).failures)
            EXPECT_NE(failure.find("No space left on device"), std::string::npos) << failure;
        ::umount(out.c_str());
        return;
    }
    const pid_t child = ::fork();
    if (child == 0) {
        ::signal(SIGXFSZ, SIG_IGN);
        const rlimit limit{4 * 1024, 4 * 1024};
        ::setrlimit(RLIMIT_FSIZE, &limit);
        expectFullDiskHandled(out);
        ::_exit(::testing::Test::HasFailure() ? 1 : 0);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(WIFEXITED(status)) << "the de-identification died of signal " << WTERMSIG(status);
    EXPECT_EQ(WEXITSTATUS(status), 0);
}

// A source folder: a real study, a link to a file inside (the same file: once), a linked folder
// inside (followed), and a link to a file and to a folder outside (refused and counted).
TEST(SourceLinks, InsideFollowedOutsideRefusedWithACount) {
    TemporaryFolder tmp;
    const fs::path source = tmp.path() / "source", outside = tmp.path() / "outside";
    fs::create_directories(source / "ct");
    fs::create_directories(source / "real-mr");
    fs::create_directories(outside);
    fs::copy_file(ctSmall, source / "ct" / "CT_small.dcm");
    fs::copy_file(mrSmall, source / "real-mr" / "MR_small.dcm");
    fs::copy_file(mrSmall, outside / "MR_elsewhere.dcm");
    fs::create_symlink(source / "ct" / "CT_small.dcm", source / "ct-again.dcm");
    fs::create_symlink(source / "real-mr", source / "mr-link");
    fs::create_symlink(outside / "MR_elsewhere.dcm", source / "outside-file.dcm");
    fs::create_symlink(outside, source / "outside-folder");
    fs::create_symlink(source, source / "real-mr" / "loop");

    const auto listing = imaging::listFolder(source, false);
    EXPECT_EQ(listing.linksRefused, 2);
    ASSERT_EQ(listing.files.size(), 2u);
    EXPECT_EQ(listing.files.front().filename(), "CT_small.dcm");
    EXPECT_EQ(listing.files.back().filename(), "MR_small.dcm");

    // Opening or importing the folder: both studies, and the refusal said with its count.
    const auto series = imaging::findSeries(source);
    ASSERT_EQ(series.size(), 2u);
    for (const auto& s : series) {
        const bool said = std::any_of(s.warnings.begin(), s.warnings.end(), [](const auto& w) {
            return w.find("2 symbolic link(s) pointing outside the folder") != std::string::npos;
        });
        EXPECT_TRUE(said) << s.key;
    }

    // `deid` on the folder: the same files, and one failure line with the count.
    std::vector<std::string> refusals;
    EXPECT_EQ(listSourceFiles({source}, &refusals).size(), 2u);
    ASSERT_EQ(refusals.size(), 1u);
    EXPECT_NE(refusals.front().find("2 symbolic link(s)"), std::string::npos);
}

TEST(SourceLinks, FolderOfOnlyOutsideLinksSaysSo) {
    TemporaryFolder tmp;
    fs::create_directories(tmp.path() / "source");
    fs::create_symlink(ctSmall, tmp.path() / "source" / "ct.dcm");
    try {
        imaging::findSeries(tmp.path() / "source");
        FAIL() << "a folder of outside links was read";
    } catch (const imaging::ReadError& e) {
        EXPECT_NE(e.reason().find("1 symbolic link(s) pointing outside"), std::string::npos)
            << e.reason();
    }
}

} // namespace
} // namespace radmark::deid
