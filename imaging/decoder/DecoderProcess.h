#pragma once
// One radmark-decoder child as its parent sees it: forked by the program's zygote (or started
// with posix_spawn: exec at once, a cleaned environment, only its socket open), asked one
// request at a time, watched for a timeout, and when it dies, the cause in words ("the decoder
// crashed (SIGSEGV)"). The next request after a death starts a fresh child. Used by
// IsolatedDecoder; later channels (store service, PACS fetcher) start their own programs the
// same way.

#include "imaging/decoder/Channel.h"

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace radmark::decoder {

struct DecoderSettings {
    std::filesystem::path program;                // empty: locateDecoderProgram()
    std::chrono::milliseconds quietLimit{60'000}; // longest wait without a progress note
    std::size_t memoryLimitBytes = 0;             // address space; 0: the machine's RAM
    int cpuSeconds = 3600;                        // processor time of one child
    std::filesystem::path writableFolder;         // empty: the child cannot write files
    // The child may read burned-in text: it loads the OCR module (Tesseract) before its sandbox.
    // Without it a child starts faster; IsolatedDecoder turns it on for de-identification.
    bool ocr = false;
};

// radmark-decoder beside the running program, else the build tree's. Test builds
// (BUILD_TESTING) also honour $RADMARK_DECODER first; an installed build honours neither it nor
// the build tree (docs/packaging.md).
std::filesystem::path locateDecoderProgram();

// Children are forked from a zygote of the decoder program (`radmark-decoder --zygote`: exec'd
// once per process, libraries and tables loaded, it forks a child per request in a millisecond
// or two where exec costs tens). This starts that zygote now, in the background, so that the
// first child does not wait for it: the workstation calls it at launch, the CLI when a command
// starts. Optional: the first child starts the zygote otherwise. RADMARK_DECODER_ZYGOTE=0 turns
// zygotes off (every child exec'd). A command that de-identifies says so: its zygote then loads
// the OCR module (Tesseract and some forty libraries, tens of milliseconds) before its first
// child is asked for, not on the way to it; one that only reads keeps its children light.
enum class DecoderUse { Read, Deidentify };
void prestartDecoder(DecoderUse use = DecoderUse::Read, const std::filesystem::path& program = {});

// The child failed a request or died. processEnded: it crashed, hung, was stopped by its
// sandbox or ran out of memory (the message says which); false: it refused the request cleanly.
class DecoderFailure : public std::runtime_error {
  public:
    DecoderFailure(const std::string& what, bool processEnded)
        : std::runtime_error(what), processEnded_(processEnded) {}
    bool processEnded() const { return processEnded_; }

  private:
    bool processEnded_;
};

class DecoderProcess {
  public:
    explicit DecoderProcess(DecoderSettings settings = {});
    ~DecoderProcess();
    DecoderProcess(const DecoderProcess&) = delete;
    DecoderProcess& operator=(const DecoderProcess&) = delete;

    // Sends request and waits for its reply; progress notes go to onProgress (and reset the
    // timeout). Throws imaging::ReadError or deid::DefacingError as the child reported them,
    // DecoderFailure otherwise (a new child is started by the next call after a death).
    Message call(const nlohmann::json& request,
                 const std::function<void(const nlohmann::json&)>& onProgress = {},
                 std::vector<UniqueFd> fds = {});

    pid_t pid() const { return pid_; }
    bool running() const { return pid_ > 0; }
    // Whether the next child (or the running one) reads burned-in text. Asking for OCR that the
    // running child lacks ends it: the next call starts one with the module loaded.
    void setOcr(bool ocr);
    bool ocr() const { return settings_.ocr; }
    // Whether this child's writes are confined to settings.writableFolder (mount namespace).
    bool writesConfined() const { return writesConfined_; }
    void stop(); // ends the child (SIGKILL: it is idle or no longer wanted) and waits for it

  private:
    void start();
    [[noreturn]] void ended(const std::string& fallback);
    std::string reap(bool killFirst);

    DecoderSettings settings_;
    UniqueFd socket_;
    pid_t pid_ = -1;
    UniqueFd status_; // forked by a zygote: its wait status arrives here (else waitpid)
    UniqueFd pidfd_;  // forked by a zygote: signals go through this
    bool writesConfined_ = false;
};

// Starts one of Radmark's confined helper programs (radmark-decoder, radmark-pacs-fetch) with
// posix_spawn, exec at once (no code of this key-holding process runs in the child): fd 3 is
// channelEnd, every other descriptor closed, stdin and stdout on /dev/null and stderr too unless
// $stderrVariable is "1" (for debugging), signals unblocked and at their defaults, an environment
// of LC_ALL=C, PATH and only the variables named in passedEnvironment. argv[0] is program.
// Returns 0 and sets pid, or posix_spawn's error number.
int spawnHelperProgram(const std::string& program, std::vector<std::string> arguments,
                       int channelEnd, const char* stderrVariable,
                       const std::vector<const char*>& passedEnvironment, pid_t& pid);

} // namespace radmark::decoder
