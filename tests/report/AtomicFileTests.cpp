// A report file is complete or absent: a missing folder, a folder the user may not write and a
// write that fails halfway (the file-size limit standing in for a full disk) each throw a
// ReportWriteError with its cause, leave no temporary file, and keep an existing report as it
// was; a write that succeeds replaces it, owner-only.

#include "report/AtomicFile.h"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace radmark::report {
namespace {

namespace fs = std::filesystem;

struct TemporaryFolder {
    TemporaryFolder() {
        std::string pattern = (fs::temp_directory_path() / "radmark-report-XXXXXX").string();
        path = ::mkdtemp(pattern.data());
        // Others may enter: the read-only test runs as nobody when the tests run as root.
        fs::permissions(path,
                        fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
    }
    ~TemporaryFolder() {
        std::error_code ignored;
        for (const auto& entry : fs::recursive_directory_iterator(path, ignored))
            fs::permissions(entry.path(), fs::perms::owner_all, fs::perm_options::add, ignored);
        fs::remove_all(path, ignored);
    }
    fs::path path;
};

std::string contents(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

std::vector<std::string> entries(const fs::path& folder) {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(folder))
        names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

// Runs the write in a child process (which may drop to nobody or limit its file size) and
// returns the cause it threw, or -1 when it did not throw.
int causeInChild(const std::function<void()>& prepare, const fs::path& target,
                 const std::string& bytes) {
    const pid_t child = ::fork();
    if (child == 0) {
        prepare();
        try {
            writeFileAtomically(target, bytes);
        } catch (const ReportWriteError& error) {
            ::_exit(static_cast<int>(error.cause));
        } catch (...) {
            ::_exit(100);
        }
        ::_exit(101);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    if (!WIFEXITED(status))
        return -2;
    const int code = WEXITSTATUS(status);
    return code == 101 ? -1 : code;
}

TEST(ReportAtomicFile, WritesOwnerOnlyAndReplacesOnSuccess) {
    TemporaryFolder folder;
    const fs::path target = folder.path / "agreement.csv";
    const mode_t previous = ::umask(0);
    writeFileAtomically(target, "first");
    ::umask(previous);
    EXPECT_EQ(contents(target), "first");
    EXPECT_EQ(fs::status(target).permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write);

    writeFileAtomically(target, "second, longer");
    EXPECT_EQ(contents(target), "second, longer");
    EXPECT_EQ(entries(folder.path), std::vector<std::string>{"agreement.csv"});
}

TEST(ReportAtomicFile, MissingFolderThrowsAndLeavesNothing) {
    TemporaryFolder folder;
    const fs::path target = folder.path / "missing" / "agreement.pdf";
    try {
        writeFileAtomically(target, "bytes");
        FAIL() << "wrote into a missing folder";
    } catch (const ReportWriteError& error) {
        EXPECT_EQ(error.cause, ReportWriteError::Cause::FolderMissing);
        EXPECT_NE(std::string(error.what()).find("does not exist"), std::string::npos)
            << error.what();
        EXPECT_NE(std::string(error.what()).find(target.string()), std::string::npos);
    }
    EXPECT_FALSE(fs::exists(folder.path / "missing"));
    EXPECT_TRUE(entries(folder.path).empty());
}

TEST(ReportAtomicFile, ReadOnlyFolderThrowsAndKeepsTheOldReport) {
    TemporaryFolder folder;
    const fs::path reports = folder.path / "reports";
    fs::create_directory(reports);
    const fs::path target = reports / "agreement.pdf";
    writeFileAtomically(target, "old report");
    fs::permissions(target, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
    fs::permissions(reports, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                                 fs::perms::group_exec | fs::perms::others_read |
                                 fs::perms::others_exec);
    // root writes anywhere: the child becomes nobody, as a radiologist would be.
    const auto asUser = [] {
        if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0))
            ::_exit(102);
    };
    EXPECT_EQ(causeInChild(asUser, target, "new report"),
              static_cast<int>(ReportWriteError::Cause::NotWritable));
    EXPECT_EQ(contents(target), "old report");
    EXPECT_EQ(entries(reports), std::vector<std::string>{"agreement.pdf"});
}

TEST(ReportAtomicFile, WriteFailingHalfwayLeavesNothingAndKeepsTheOldReport) {
    TemporaryFolder folder;
    const fs::path target = folder.path / "agreement.pdf";
    writeFileAtomically(target, "old report");
    // A file-size limit fails the write after its first 4 KiB, as a full disk would.
    const auto limited = [] {
        ::signal(SIGXFSZ, SIG_IGN);
        const rlimit limit{4096, 4096};
        ::setrlimit(RLIMIT_FSIZE, &limit);
    };
    EXPECT_EQ(causeInChild(limited, target, std::string(100000, 'x')),
              static_cast<int>(ReportWriteError::Cause::DiskFull));
    EXPECT_EQ(contents(target), "old report");
    EXPECT_EQ(entries(folder.path), std::vector<std::string>{"agreement.pdf"});
}

TEST(ReportAtomicFile, FolderNamedLikeTheReportIsRefused) {
    TemporaryFolder folder;
    fs::create_directory(folder.path / "agreement.pdf");
    EXPECT_THROW(writeFileAtomically(folder.path / "agreement.pdf", "x"), ReportWriteError);
    EXPECT_EQ(entries(folder.path), std::vector<std::string>{"agreement.pdf"});
    EXPECT_TRUE(fs::is_directory(folder.path / "agreement.pdf"));
}

} // namespace
} // namespace radmark::report
