// The isolated decoder (imaging/decoder): what it returns equals the in-process reader's result,
// whatever it suffers (crash, abort, hang, out of memory, a thrown string) becomes one message
// and the next request works, and its sandbox refuses sockets, exec, ptrace, signals to others
// and writes. Test hooks come from radmark-decoder-test (built with RADMARK_DECODER_TEST_HOOKS).

#include "imaging/DicomSeriesReader.h"
#include "imaging/StudyReader.h"
#include "imaging/decoder/IsolatedDecoder.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

namespace radmark::decoder {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path pydicom = RADMARK_PYDICOM_DATA;
const fs::path malformed = RADMARK_DECODER_TEST_DATA;

DecoderSettings testSettings() {
    DecoderSettings settings;
    settings.program = RADMARK_DECODER_TEST_PROGRAM;
    return settings;
}

class ScratchFolder {
  public:
    ScratchFolder() {
        std::string pattern = (fs::temp_directory_path() / "radmark-decoder-test-XXXXXX").string();
        path_ = ::mkdtemp(pattern.data());
    }
    ~ScratchFolder() {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    const fs::path& path() const { return path_; }

  private:
    fs::path path_;
};

void expectSameVolume(const imaging::Volume& isolated, const imaging::Volume& local) {
    ASSERT_EQ(isolated.pixelType(), local.pixelType());
    EXPECT_TRUE(isolated.geometry().sameGridAs(local.geometry(), 1e-9));
    ASSERT_EQ(isolated.byteCount(), local.byteCount());
    EXPECT_EQ(std::memcmp(isolated.data(), local.data(), local.byteCount()), 0);
    EXPECT_EQ(isolated.modality, local.modality);
    EXPECT_EQ(isolated.seriesDescription, local.seriesDescription);
}

TEST(IsolatedDecoder, ReadsTheSameVoxelsAsTheInProcessReader) {
    IsolatedDecoder decoder(testSettings());
    for (const char* name : {"CT_small.dcm", "MR_small.dcm"}) {
        SCOPED_TRACE(name);
        expectSameVolume(decoder.readVolume(pydicom / name), imaging::readVolume(pydicom / name));
    }
    // A generated series, big enough to go through shared memory on huge-page-sized buffers.
    ScratchFolder scratch;
    const fs::path series = scratch.path() / "ct";
    const std::string command = "/usr/bin/python3 '" RADMARK_SOURCE_DIR
                                "/tests/data/generate_ct_series.py' --slices 40 --rows 256 "
                                "--cols 256 --out '" +
                                series.string() + "' > /dev/null";
    ASSERT_EQ(std::system(command.c_str()), 0);
    imaging::ReadReport isolatedReport, localReport;
    const imaging::Volume isolated = decoder.readVolume(series, {}, &isolatedReport);
    const imaging::Volume local = imaging::readVolume(series, {}, &localReport);
    expectSameVolume(isolated, local);
    EXPECT_EQ(isolatedReport.warnings, localReport.warnings);
    // A caller may edit the volume (defacing does): its own pages change, nothing else.
    imaging::Volume edited = decoder.readVolume(series);
    edited.as<std::int16_t>()[0] = 1234;
    EXPECT_EQ(edited.as<std::int16_t>()[0], 1234);
}

TEST(IsolatedDecoder, ProgressIsReportedAndCancelEndsTheChild) {
    IsolatedDecoder decoder(testSettings());
    const auto series = decoder.findSeries(pydicom / "MR_small.dcm");
    ASSERT_EQ(series.size(), 1u);
    int calls = 0;
    decoder.readSeries(series.front(), [&](double) { return ++calls > 0; });
    EXPECT_GT(calls, 0);
    try {
        decoder.readSeries(series.front(), [](double) { return false; });
        FAIL() << "a cancelled read returned a volume";
    } catch (const imaging::ReadError& error) {
        EXPECT_EQ(error.reason(), "cancelled");
    }
    EXPECT_FALSE(decoder.process().running());
    EXPECT_NO_THROW(decoder.readVolume(pydicom / "CT_small.dcm")); // a fresh child
}

// A test hook request: the reply's body, or the failure's message.
std::string hook(DecoderProcess& process, const json& request, json* reply = nullptr) {
    try {
        json full = request;
        full["op"] = "test";
        const Message answer = process.call(full);
        if (reply)
            *reply = answer.body;
        return "";
    } catch (const DecoderFailure& failure) {
        return failure.what();
    }
}

TEST(IsolatedDecoder, ACrashIsOneMessageAndTheNextFileStillDecodes) {
    IsolatedDecoder decoder(testSettings());
    const struct {
        const char* action;
        const char* expected;
    } cases[] = {
        {"segv", "the decoder crashed (SIGSEGV)"},
        {"abort", "the decoder aborted (SIGABRT: a failed check in the DICOM library)"},
        {"throw-string", "the decoder failed: the DICOM library failed a check (a library threw "
                         "a string)"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.action);
        EXPECT_EQ(hook(decoder.process(), {{"action", c.action}}), c.expected);
        const imaging::Volume volume = decoder.readVolume(pydicom / "CT_small.dcm");
        EXPECT_EQ(volume.geometry().dims[0], 128);
    }
}

// A library that aborts while it holds a lock (glibc's heap checks do) ends the child at once:
// jumping out of the abort, as the in-process guard does, left the lock taken and the child
// hung until the watchdog (60 s; here 5 s: "stopped responding").
TEST(IsolatedDecoder, ALibraryAbortEndsTheChildAtOnceEvenHoldingALock) {
    DecoderSettings settings = testSettings();
    settings.quietLimit = std::chrono::seconds(5);
    IsolatedDecoder decoder(settings);
    EXPECT_EQ(hook(decoder.process(), {{"action", "library-abort-holding-lock"}}),
              "the decoder aborted (SIGABRT: a failed check in the DICOM library)");
    EXPECT_EQ(decoder.readVolume(pydicom / "CT_small.dcm").geometry().dims[0], 128);
}

TEST(IsolatedDecoder, AHangIsEndedAfterTheQuietLimit) {
    DecoderSettings settings = testSettings();
    settings.quietLimit = std::chrono::milliseconds(1500);
    IsolatedDecoder decoder(settings);
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(hook(decoder.process(), {{"action", "hang"}}),
              "the decoder stopped responding (no progress for 1 s) and was ended");
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
    EXPECT_NO_THROW(decoder.readVolume(pydicom / "CT_small.dcm"));
}

TEST(IsolatedDecoder, RunningOutOfMemoryIsOneMessage) {
    DecoderSettings settings = testSettings();
    settings.memoryLimitBytes = std::size_t(1) << 30;
    IsolatedDecoder decoder(settings);
    const std::string message = hook(decoder.process(), {{"action", "oom"}});
    // The address-space limit makes the allocation fail (bad_alloc, caught in the child); under
    // AddressSanitizer there is no limit and the kernel's OOM killer would end it (SIGKILL).
    EXPECT_TRUE(message == "the decoder ran out of memory" ||
                message == "the decoder was killed (SIGKILL), most likely for lack of memory")
        << message;
    EXPECT_NO_THROW(decoder.readVolume(pydicom / "CT_small.dcm"));
}

TEST(IsolatedDecoder, TheSandboxRefusesSocketsExecForkAndPtrace) {
    DecoderProcess process(testSettings());
    const struct {
        const char* action;
        long call;
    } stopped[] = {{"socket", SYS_socket}, {"exec", SYS_execve}, {"ptrace", SYS_ptrace}};
    for (const auto& c : stopped) {
        SCOPED_TRACE(c.action);
        EXPECT_EQ(hook(process, {{"action", c.action}}),
                  "the decoder was stopped by its sandbox (system call " + std::to_string(c.call) +
                      ")");
        EXPECT_FALSE(process.running());
    }
    // A new process (clone without CLONE_THREAD) is stopped the same way.
    EXPECT_EQ(
        hook(process, {{"action", "fork"}}).rfind("the decoder was stopped by its sandbox", 0), 0u);
    // Threads are allowed (GDCM, ITK and Tesseract start them).
    json reply;
    EXPECT_EQ(hook(process, {{"action", "threads"}}, &reply), "");
    EXPECT_EQ(reply.value("result", -1), 0);
    // No signal to any other process, its parent included.
    EXPECT_EQ(hook(process, {{"action", "kill-parent"}}, &reply), "");
    EXPECT_EQ(reply.value("errno", 0), EPERM);
}

TEST(IsolatedDecoder, TheSandboxRefusesToOpenFilesForWriting) {
    ScratchFolder scratch;
    const fs::path target = scratch.path() / "written-by-the-decoder";
    DecoderProcess process(testSettings());
    json reply;
    EXPECT_EQ(hook(process, {{"action", "open-write"}, {"path", target.string()}}, &reply), "");
    EXPECT_EQ(reply.value("result", 0), -1);
    EXPECT_EQ(reply.value("errno", 0), EACCES);
    EXPECT_FALSE(fs::exists(target));
    // Reading stays possible: that is its job.
    EXPECT_EQ(hook(process,
                   {{"action", "open-read"}, {"path", (pydicom / "CT_small.dcm").string()}},
                   &reply),
              "");
    EXPECT_GE(reply.value("result", -1), 0);
}

TEST(IsolatedDecoder, AWritingDecoderCanWriteOnlyInsideItsFolder) {
    ScratchFolder scratch;
    const fs::path inside = scratch.path() / "staging";
    fs::create_directories(inside);
    DecoderSettings settings = testSettings();
    settings.writableFolder = inside;
    DecoderProcess process(settings);
    json reply;
    EXPECT_EQ(hook(process, {{"action", "open-write"}, {"path", (inside / "ok").string()}}, &reply),
              "");
    if (!process.writesConfined())
        GTEST_SKIP() << "no unprivileged mount namespace on this system";
    EXPECT_GE(reply.value("result", -1), 0);
    EXPECT_TRUE(fs::exists(inside / "ok"));
    const fs::path outside = scratch.path() / "outside";
    EXPECT_EQ(hook(process, {{"action", "open-write"}, {"path", outside.string()}}, &reply), "");
    EXPECT_EQ(reply.value("result", 0), -1);
    EXPECT_EQ(reply.value("errno", 0), EROFS);
    EXPECT_FALSE(fs::exists(outside));
}

TEST(IsolatedDecoder, AFileThatCrashesTheDecoderIsNamedAndTheGoodOneReads) {
    ScratchFolder scratch;
    fs::copy_file(pydicom / "CT_small.dcm", scratch.path() / "good.dcm");
    const fs::path bad = scratch.path() / "info-SIGSEGV-JPEG2000-56b65079fed9.dcm";
    fs::copy_file(malformed / bad.filename(), bad);
    IsolatedDecoder decoder(testSettings());
    const auto series = decoder.findSeries(scratch.path());
    ASSERT_EQ(series.size(), 2u);
    int read = 0;
    for (const auto& s : series) {
        if (s.files.front() == bad) {
            try {
                decoder.readSeries(s);
                ADD_FAILURE() << "the crashing file gave a volume";
            } catch (const imaging::ReadError& error) {
                EXPECT_EQ(error.file(), bad);
                // The JPEG 2000 decoder writes past its buffer: a fault, or glibc's heap check
                // aborting, as the buffer lies (the child keeps freed memory in its heap).
                EXPECT_TRUE(
                    error.reason() == "the decoder crashed (SIGSEGV) while decoding pixel data" ||
                    error.reason() == "the decoder aborted (SIGABRT: a failed check in the DICOM "
                                      "library) while decoding pixel data")
                    << error.reason();
            }
        } else {
            EXPECT_EQ(decoder.readSeries(s).geometry().dims[0], 128);
            ++read;
        }
    }
    EXPECT_EQ(read, 1);
    // An abort in the library is caught as cleanly.
    EXPECT_THROW(decoder.readVolume(malformed / "deid-SIGABRT-nested_priv_SQ-3c9fa496e015.dcm"),
                 imaging::ReadError);
}

TEST(IsolatedDecoder, DeidentificationGoesOnPastAFileThatAbortsIt) {
    ScratchFolder scratch;
    const fs::path out = scratch.path() / "out";
    // Well formed, with a Pixel Representation of 32768: GDCM fails a check (PixelFormat.cxx
    // GetScalarType) while the engine works on it.
    const fs::path bad = malformed / "deid-SIGABRT-JPEG2000-170f0ffd5809.dcm";
    DeidentificationSettings settings;
    settings.ocr = false;
    const auto result =
        deidentifyIntoFolder({pydicom / "CT_small.dcm", bad}, out, settings, {}, testSettings());
    EXPECT_EQ(result.outcome.filesWritten, 1);
    ASSERT_EQ(result.outcome.failures.size(), 1u);
    EXPECT_EQ(result.outcome.failures.front(),
              bad.string() + ": the decoder aborted (SIGABRT: a failed check in the DICOM "
                             "library) while de-identifying it");
    ASSERT_EQ(result.outcome.studies.size(), 1u);
    EXPECT_TRUE(fs::is_regular_file(result.outcome.studies.front().report));
    EXPECT_TRUE(fs::path(result.outcome.studies.front().report).string().rfind(out.string(), 0) ==
                0);
    // Nothing of the staging folder is left behind.
    for (const auto& entry : fs::directory_iterator(out))
        EXPECT_EQ(entry.path().filename().string().rfind(".radmark-decoder-", 0),
                  std::string::npos);
}

// A file whose element claims more bytes than the file holds (GDCM aborted on this one) is
// refused with a sentence before the library reads it, by every request: nothing dies.
TEST(IsolatedDecoder, ALengthBeyondTheFileIsRefusedBeforeTheLibraryReadsIt) {
    const fs::path bad = malformed / "deid-SIGABRT-CT_small-001cb09740a9.dcm";
    const std::string sentence = "is damaged or truncated: its element (0009,1002) declares "
                                 "825250883 bytes, more than the 38366 left in the file";
    IsolatedDecoder decoder(testSettings());
    try {
        decoder.readVolume(bad);
        ADD_FAILURE() << "read a file whose element claims 800 MB";
    } catch (const imaging::ReadError& error) {
        EXPECT_EQ(error.file(), bad);
        EXPECT_EQ(error.reason(), sentence);
    }
    DeidentificationSettings settings;
    settings.ocr = false;
    const pid_t child = decoder.process().pid();
    const auto files = decoder.deidentifyFiles({pydicom / "CT_small.dcm", bad}, settings);
    ASSERT_EQ(files.size(), 2u);
    EXPECT_TRUE(files[0].failure.empty()) << files[0].failure;
    EXPECT_TRUE(files[0].header);
    EXPECT_EQ(files[1].failure, sentence);
    EXPECT_EQ(decoder.process().pid(), child) << "the child died instead of refusing";
    EXPECT_EQ(decoder.deidentifyFile(bad, settings).failure, sentence);

    ScratchFolder scratch;
    const auto result = deidentifyIntoFolder({pydicom / "CT_small.dcm", bad},
                                             scratch.path() / "out", settings, {}, testSettings());
    EXPECT_EQ(result.outcome.filesWritten, 1);
    ASSERT_EQ(result.outcome.failures.size(), 1u);
    EXPECT_EQ(result.outcome.failures.front(), bad.string() + ": " + sentence);
}

// A child that did not scan reads by the layout the scanning child sent (import reads pixels
// in a fresh child per series); a layout that does not fit together is refused, not followed.
TEST(IsolatedDecoder, AFreshChildReadsByTheScannedLayoutAndRefusesAForgedOne) {
    IsolatedDecoder scanner(testSettings()), reader(testSettings());
    const auto series = scanner.findSeries(pydicom / "CT_small.dcm");
    ASSERT_EQ(series.size(), 1u);
    ASSERT_TRUE(series.front().dicomLayout) << "the scan sent no layout";
    expectSameVolume(reader.readSeries(series.front()),
                     imaging::readVolume(pydicom / "CT_small.dcm"));

    imaging::SeriesSummary forged = series.front();
    auto layout = std::make_shared<imaging::DicomSeriesLayout>(*forged.dicomLayout);
    layout->frames.front().file = 7; // a frame of a file the series does not have
    forged.dicomLayout = layout;
    try {
        reader.readSeries(forged);
        ADD_FAILURE() << "a forged layout was followed";
    } catch (const imaging::ReadError& error) {
        EXPECT_NE(error.reason().find("a frame of no file"), std::string::npos) << error.what();
    }
    EXPECT_NO_THROW(reader.readSeries(series.front())); // the same child, still in step
}

// A mask for annotation import is read in the child: a NIfTI label volume comes back as the
// in-process reader reads it, and a segmentation reply that claims more frames than its memfd
// holds is refused before this process reads a bit of it, and the lying child is ended.
TEST(IsolatedDecoder, AMaskIsReadInTheChildAndAForgedSegmentationIsRefused) {
    IsolatedDecoder decoder(testSettings());
    const fs::path nifti = "/usr/lib/python3/dist-packages/nibabel/tests/data/anatomical.nii";
    if (fs::exists(nifti)) {
        const DecodedMask mask = decoder.readMask(nifti);
        EXPECT_FALSE(mask.segmentation);
        expectSameVolume(mask.volume, imaging::readVolume(nifti));
    }
    EXPECT_EQ(hook(decoder.process(), {{"action", "forge-next-mask"}}), "");
    try {
        decoder.readMask(pydicom / "CT_small.dcm");
        ADD_FAILURE() << "a segmentation larger than its bits was accepted";
    } catch (const imaging::ReadError& error) {
        EXPECT_NE(error.reason().find("broken reply"), std::string::npos) << error.what();
    }
    // Not a mask file at all: refused by the reader in the child, named.
    ScratchFolder scratch;
    std::ofstream(scratch.path() / "notes.txt") << "not an image";
    try {
        decoder.readMask(scratch.path() / "notes.txt");
        ADD_FAILURE() << "a text file was read as a mask";
    } catch (const imaging::ReadError& error) {
        EXPECT_EQ(error.file(), scratch.path() / "notes.txt");
    }
    const DecodedMask ct = decoder.readMask(pydicom / "CT_small.dcm"); // a fresh child
    EXPECT_EQ(ct.volume.geometry().dims[0], 128);
}

pid_t parentOf(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const auto close = text.rfind(')');
    if (close == std::string::npos)
        return -1;
    std::istringstream rest(text.substr(close + 2));
    char state = 0;
    pid_t parent = -1;
    rest >> state >> parent;
    return parent;
}

// A process that has ended (no entry, or a zombie waiting to be reaped).
bool isGone(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const auto close = text.rfind(')');
    return close == std::string::npos || text.compare(close + 2, 1, "Z") == 0 ||
           text.compare(close + 2, 1, "X") == 0;
}

// Children are forked from the program's zygote (a child of this process), and a zygote that
// died is replaced by the next child's start; RADMARK_DECODER_ZYGOTE=0 execs every child.
TEST(IsolatedDecoder, ChildrenComeFromTheZygoteWhichIsReplacedWhenItDies) {
    IsolatedDecoder decoder(testSettings());
    decoder.findSeries(pydicom / "CT_small.dcm");
    const pid_t zygote = parentOf(decoder.process().pid());
    ASSERT_GT(zygote, 0);
    EXPECT_NE(zygote, ::getpid()) << "the child was not forked by a zygote";
    EXPECT_EQ(parentOf(zygote), ::getpid());
    decoder.restart();
    decoder.findSeries(pydicom / "CT_small.dcm");
    EXPECT_EQ(parentOf(decoder.process().pid()), zygote) << "one zygote for every child";

    const pid_t orphan = decoder.process().pid();
    ::kill(zygote, SIGKILL); // its children die with it (PR_SET_PDEATHSIG): one failed request
    // The death signal reaches the child a moment later: the request must come after it.
    for (int i = 0; i < 400 && parentOf(orphan) > 0 && !isGone(orphan); ++i)
        ::usleep(5000);
    EXPECT_THROW(decoder.findSeries(pydicom / "CT_small.dcm"), imaging::ReadError);
    expectSameVolume(decoder.readVolume(pydicom / "CT_small.dcm"),
                     imaging::readVolume(pydicom / "CT_small.dcm"));
    const pid_t second = parentOf(decoder.process().pid());
    EXPECT_NE(second, zygote);
    EXPECT_NE(second, ::getpid());

    ::setenv("RADMARK_DECODER_ZYGOTE", "0", 1);
    IsolatedDecoder execd(testSettings());
    expectSameVolume(execd.readVolume(pydicom / "CT_small.dcm"),
                     imaging::readVolume(pydicom / "CT_small.dcm"));
    EXPECT_EQ(parentOf(execd.process().pid()), ::getpid());
    ::unsetenv("RADMARK_DECODER_ZYGOTE");
}

// The child works from "/": a relative path means the caller's folder all the same, and a refusal
// names the file as the caller gave it.
TEST(IsolatedDecoder, RelativePathsAreTheCallersAndStayRelativeInMessages) {
    ScratchFolder scratch;
    fs::create_directories(scratch.path() / "study");
    fs::copy_file(pydicom / "CT_small.dcm", scratch.path() / "study" / "ct.dcm");
    std::ofstream(scratch.path() / "broken.dcm") << "not a DICOM file";
    const fs::path before = fs::current_path();
    fs::current_path(scratch.path());
    struct Back {
        fs::path to;
        ~Back() { fs::current_path(to); }
    } back{before};
    IsolatedDecoder decoder(testSettings());
    const auto series = decoder.findSeries("study");
    ASSERT_EQ(series.size(), 1u);
    expectSameVolume(decoder.readSeries(series.front()),
                     imaging::readVolume(scratch.path() / "study" / "ct.dcm"));
    try {
        decoder.findSeries("broken.dcm");
        ADD_FAILURE() << "a file that is not DICOM was read";
    } catch (const imaging::ReadError& error) {
        EXPECT_EQ(error.file(), fs::path("broken.dcm")) << error.what();
    }
    DeidentificationSettings settings;
    settings.ocr = false;
    const auto result = deidentifyIntoFolder({"study"}, "out", settings, {}, testSettings());
    EXPECT_EQ(result.outcome.filesWritten, 1);
    EXPECT_TRUE(result.outcome.failures.empty());
    ASSERT_EQ(result.outcome.studies.size(), 1u);
    EXPECT_TRUE(fs::is_regular_file(result.outcome.studies.front().report));
}

} // namespace
} // namespace radmark::decoder
