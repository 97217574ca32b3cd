// The PACS fetcher's sandbox (pacs/FetchSandbox.h), tried inside the running fetcher: the test
// build radmark-pacs-fetch-test (RADMARK_PACS_FETCH_TEST_HOOKS) answers "test" requests that
// exec, fork, ptrace, read another process's memory, unshare, open a file for writing and make
// sockets of other families. A trapped call is one line at the parent, at once, and the next
// request gets a fresh fetcher; what its job needs (threads, DNS, TCP, a listening socket,
// reading files) still works. Pacs.Orthanc and Pacs.OrthancDimse run the real transfers under
// the same filter.

#include "pacs/DicomWebClient.h"

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace radmark::pacs {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A port nothing listens on (bound, then closed again).
int closedPort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    ::close(fd);
    return ntohs(address.sin_port);
}

storage::PacsNode node(const std::string& host = "127.0.0.1") {
    storage::PacsNode n;
    n.name = "sandbox test";
    n.dicomwebUrl = "http://" + host + ":" + std::to_string(closedPort()) + "/dicom-web";
    n.plainHttpAllowed = true;
    return n;
}

FetcherSettings testSettings() {
    FetcherSettings settings;
    settings.program = RADMARK_PACS_FETCH_TEST_PROGRAM;
    settings.quietLimit = std::chrono::seconds(30);
    return settings;
}

// The fetcher with its test requests.
class HookedFetcher : public DicomWebClient {
  public:
    HookedFetcher() : DicomWebClient(node(), Credentials{}, testSettings()) {}
    // The reply's body, or the failure's message in `failure`.
    json hook(json request, std::string* failure = nullptr) {
        request["op"] = "test";
        try {
            return call(request);
        } catch (const PacsError& error) {
            if (failure)
                *failure = error.what();
            return json();
        }
    }
};

std::string stopped(long call) {
    return "the PACS fetcher was stopped by its sandbox (system call " + std::to_string(call) + ")";
}

TEST(PacsFetchSandbox, ExecForkPtraceAndUnshareAreStoppedInOneLineAtOnce) {
    HookedFetcher fetcher;
    const struct {
        const char* action;
        long call;
    } cases[] = {{"exec", SYS_execve},
                 {"execveat", SYS_execveat},
                 {"fork", SYS_clone},
                 {"ptrace", SYS_ptrace},
                 {"process-vm-read", SYS_process_vm_readv},
                 {"unshare", SYS_unshare},
                 {"exec-in-thread", SYS_execve}};
    for (const auto& c : cases) {
        SCOPED_TRACE(c.action);
        std::string failure;
        const auto start = std::chrono::steady_clock::now();
        const json reply = fetcher.hook({{"action", c.action}}, &failure);
        EXPECT_EQ(failure, stopped(c.call)) << reply.dump();
        EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
        // The next request gets a fresh fetcher, confined the same way.
        failure.clear();
        EXPECT_EQ(fetcher.hook({{"action", "kill-parent"}}, &failure).value("errno", 0), EPERM)
            << failure;
    }
}

TEST(PacsFetchSandbox, AnOpenForWritingIsRefusedAndReadingWorks) {
    const fs::path folder =
        fs::temp_directory_path() / ("radmark-fetch-sandbox-" + std::to_string(::getpid()));
    fs::create_directories(folder);
    const fs::path target = folder / "written-by-the-fetcher";
    HookedFetcher fetcher;
    std::string failure;
    json reply = fetcher.hook({{"action", "open-write"}, {"path", target.string()}}, &failure);
    EXPECT_EQ(failure, "");
    EXPECT_EQ(reply.value("result", 0), -1);
    EXPECT_EQ(reply.value("errno", 0), EACCES);
    EXPECT_FALSE(fs::exists(target));
    // An existing file cannot be opened for writing either (no truncation, no append).
    const fs::path existing = folder / "existing";
    {
        std::FILE* f = std::fopen(existing.c_str(), "w");
        std::fputs("kept", f);
        std::fclose(f);
    }
    reply = fetcher.hook({{"action", "open-write"}, {"path", existing.string()}}, &failure);
    EXPECT_EQ(reply.value("errno", 0), EACCES);
    EXPECT_EQ(fs::file_size(existing), 4u);
    // Reading stays possible: the CA bundle, /etc/hosts, resolv.conf.
    reply = fetcher.hook({{"action", "open-read"}, {"path", existing.string()}}, &failure);
    EXPECT_GE(reply.value("result", -1), 0) << failure;
    fs::remove_all(folder);
}

TEST(PacsFetchSandbox, OnlyInternetSocketsCanBeMade) {
    HookedFetcher fetcher;
    const struct {
        const char* what;
        int family, type;
    } refused[] = {
        {"AF_UNIX stream", AF_UNIX, SOCK_STREAM}, {"AF_UNIX datagram", AF_UNIX, SOCK_DGRAM},
        {"AF_NETLINK", AF_NETLINK, SOCK_RAW},     {"AF_PACKET", AF_PACKET, SOCK_RAW},
        {"AF_INET raw", AF_INET, SOCK_RAW},       {"AF_VSOCK", AF_VSOCK, SOCK_STREAM}};
    for (const auto& r : refused) {
        SCOPED_TRACE(r.what);
        std::string failure;
        const json reply =
            fetcher.hook({{"action", "socket"}, {"family", r.family}, {"type", r.type}}, &failure);
        EXPECT_EQ(failure, "");
        EXPECT_EQ(reply.value("result", 0), -1);
        EXPECT_EQ(reply.value("errno", 0), EAFNOSUPPORT);
    }
    std::string failure;
    EXPECT_GE(
        fetcher.hook({{"action", "socket"}, {"family", AF_INET}, {"type", SOCK_STREAM}}, &failure)
            .value("result", -1),
        0)
        << failure;
    EXPECT_GE(fetcher
                  .hook({{"action", "socket"},
                         {"family", AF_INET},
                         {"type", SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK}},
                        &failure)
                  .value("result", -1),
              0)
        << failure;
    // C-MOVE's storage SCP listens.
    EXPECT_GT(fetcher.hook({{"action", "listen"}}, &failure).value("result", -1), 0) << failure;
    // glibc's resolver (nscd and netlink refused, it goes on without them).
    const json resolved = fetcher.hook({{"action", "resolve"}, {"host", "localhost"}}, &failure);
    EXPECT_EQ(resolved.value("result", -1), 0) << failure;
    EXPECT_GE(resolved.value("addresses", 0), 1);
}

// A DICOMweb query by host name inside the sandbox: curl's resolver thread, DNS through
// /etc/hosts, a TCP connect that is refused. A trapped call would say "stopped by its sandbox".
TEST(PacsFetchSandbox, AQueryByHostNameRunsInsideTheSandbox) {
    DicomWebClient client(node("localhost"), Credentials{}, testSettings());
    try {
        client.queryStudies(StudyQuery{});
        FAIL() << "a closed port answered";
    } catch (const PacsError& error) {
        EXPECT_EQ(error.kind(), PacsError::Kind::Unreachable) << error.what();
        EXPECT_EQ(std::string(error.what()).rfind("the PACS could not be reached", 0), 0u)
            << error.what();
    }
}

} // namespace
} // namespace radmark::pacs
