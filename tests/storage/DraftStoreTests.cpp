// Autosaved drafts in the encrypted store: one per study and user, replaced by every autosave,
// removed by a saved version or a discard; recovering and discarding are logged, autosaves are
// not; only the assigned annotator writes one. A child process writing drafts is SIGKILLed at
// random moments: the store always holds one whole draft (every chunk it names readable and
// matching its hash), never a half-written one.

#include "StoreTestSupport.h"
#include "storage/Annotations.h"
#include "storage/AuditTrail.h"
#include "storage/Studies.h"
#include "storage/Users.h"

#include <sodium.h>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <thread>

using namespace radmark::storage;
using namespace radmark::storage::testing;

namespace {

const std::string annotator = "anna";
const std::string colleague = "colin";

struct DraftWorld {
    explicit DraftWorld(Policy policy = lowCostPolicy()) : t(policy) {
        auto admin = t.admin();
        Users(admin).add(annotator, Role::Annotator, userPassword);
        Users(admin).add(colleague, Role::Annotator, userPassword);
        Users(admin).add("rick", Role::Reviewer, userPassword);
        study = Studies(admin).add("draft-study", "");
        Studies(admin).assign(annotator, study);
        Studies(admin).assign(colleague, study);
    }
    Session login(const std::string& name) const { return t.store.login(name, userPassword); }
    TestStore t;
    std::int64_t study = 0;
};

Bytes bytesOf(const std::string& text) {
    return Bytes(text.begin(), text.end());
}

std::string hexHash(std::span<const std::uint8_t> data) {
    std::uint8_t hash[32];
    crypto_generichash(hash, sizeof hash, data.data(), data.size(), nullptr, 0);
    return toHex(hash, sizeof hash);
}

// A draft record as the annotation layer writes one, reduced to what storage must keep whole:
// a number and the hashes of its chunks, one per line.
struct TestDraft {
    std::vector<Bytes> chunks;
    Bytes record;
    std::vector<std::span<const std::uint8_t>> spans() const {
        return {chunks.begin(), chunks.end()};
    }
};

TestDraft makeDraft(int number, std::mt19937& random, int chunkCount, std::size_t chunkBytes) {
    TestDraft draft;
    std::string record = "draft " + std::to_string(number) + "\n";
    for (int i = 0; i < chunkCount; ++i) {
        Bytes chunk(chunkBytes);
        for (auto& b : chunk)
            b = std::uint8_t(random());
        record += hexHash(chunk) + "\n";
        draft.chunks.push_back(std::move(chunk));
    }
    draft.record = bytesOf(record);
    return draft;
}

// The number of the stored draft after checking every chunk it names; -1 when there is none.
int checkStoredDraft(Session& session, std::int64_t study) {
    if (!Annotations(session).draftOf(study))
        return -1;
    const Bytes record = Annotations(session).recoverDraft(study);
    const std::string text(record.begin(), record.end());
    std::size_t line = text.find('\n');
    const int number = std::stoi(text.substr(6, line - 6));
    for (std::size_t start = line + 1; (line = text.find('\n', start)) != std::string::npos;
         start = line + 1) {
        const std::string hash = text.substr(start, line - start);
        const Bytes chunk = Annotations(session).getChunk(
            radmark::imaging::ChunkHash::fromHex(hash)); // throws when missing or damaged
        EXPECT_EQ(hexHash(chunk), hash) << "draft " << number;
    }
    return number;
}

TEST(DraftStore, RoundTripReplacementAndRemovalBySave) {
    DraftWorld w;
    auto anna = w.login(annotator);
    EXPECT_FALSE(Annotations(anna).draftOf(w.study));

    std::mt19937 random(5);
    const TestDraft first = makeDraft(1, random, 3, 4096);
    Annotations(anna).saveDraft(w.study, first.record, first.spans());
    const auto stored = Annotations(anna).draftOf(w.study);
    ASSERT_TRUE(stored);
    EXPECT_EQ(stored->studyId, w.study);
    EXPECT_EQ(stored->chunk.hex(), hexHash(first.record));
    EXPECT_FALSE(stored->saved.empty());
    EXPECT_EQ(Annotations(anna).recoverDraft(w.study), first.record);
    EXPECT_EQ(checkStoredDraft(anna, w.study), 1);

    // The next autosave replaces it: still one draft, the new one.
    const TestDraft second = makeDraft(2, random, 2, 4096);
    Annotations(anna).saveDraft(w.study, second.record, second.spans());
    EXPECT_EQ(Annotations(anna).recoverDraft(w.study), second.record);
    EXPECT_EQ(w.t.attackerDatabase().queryText("SELECT count(*) FROM drafts"), "1");

    // Drafts are per user: a colleague's autosave leaves anna's alone.
    auto colin = w.login(colleague);
    const TestDraft colins = makeDraft(3, random, 1, 4096);
    Annotations(colin).saveDraft(w.study, colins.record, colins.spans());
    EXPECT_EQ(Annotations(anna).recoverDraft(w.study), second.record);
    EXPECT_EQ(Annotations(colin).recoverDraft(w.study), colins.record);

    // Saving a version removes the saver's draft, in the same transaction as the version and
    // its chunks.
    const TestDraft version = makeDraft(4, random, 2, 4096);
    Annotations(anna).save(w.study, version.record, "first version", version.spans());
    EXPECT_FALSE(Annotations(anna).draftOf(w.study));
    EXPECT_TRUE(Annotations(colin).draftOf(w.study));
    for (const Bytes& chunk : version.chunks)
        EXPECT_EQ(Annotations(anna).getChunk(radmark::imaging::ChunkHash::fromHex(hexHash(chunk))),
                  chunk);
}

TEST(DraftStore, AutosavesDoNotPostponeTheIdleLock) {
    DraftWorld w;
    auto anna = w.login(annotator);
    std::mt19937 random(7);
    const TestDraft draft = makeDraft(1, random, 2, 4096);
    const auto lastActivity = anna.lastActivity();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    Annotations(anna).saveDraft(w.study, draft.record, draft.spans());
    EXPECT_TRUE(Annotations(anna).draftOf(w.study));
    EXPECT_EQ(anna.lastActivity(), lastActivity) << "an autosave counted as user activity";
    // Recovering is the user's doing: it does count.
    Annotations(anna).recoverDraft(w.study);
    EXPECT_GT(anna.lastActivity(), lastActivity);
}

TEST(DraftStore, RecoveryAndDiscardAreLoggedAutosavesAreNot) {
    DraftWorld w;
    std::mt19937 random(7);
    {
        auto anna = w.login(annotator);
        for (int i = 0; i < 5; ++i) {
            const TestDraft draft = makeDraft(i, random, 1, 1024);
            Annotations(anna).saveDraft(w.study, draft.record, draft.spans());
        }
        Annotations(anna).recoverDraft(w.study);
        Annotations(anna).discardDraft(w.study);
        EXPECT_FALSE(Annotations(anna).draftOf(w.study));
        EXPECT_THROW(Annotations(anna).recoverDraft(w.study), InvalidRequestError);
        Annotations(anna).discardDraft(w.study); // nothing left: nothing to log
    }
    auto admin = w.t.admin();
    const auto recovered = AuditTrail(admin).entries(filterBy(annotator, "recover draft"));
    ASSERT_EQ(recovered.size(), 1u);
    EXPECT_EQ(recovered.front().object, "draft-study");
    EXPECT_EQ(AuditTrail(admin).entries(filterBy(annotator, "discard draft")).size(), 1u);
    // login, recover, discard, logout: five autosaves wrote no entry.
    AuditFilter everything;
    everything.user = annotator;
    EXPECT_EQ(AuditTrail(admin).entries(everything).size(), 4u);
}

TEST(DraftStore, OnlyTheAssignedAnnotatorWritesDrafts) {
    DraftWorld w;
    std::mt19937 random(9);
    const TestDraft draft = makeDraft(1, random, 1, 1024);
    auto rick = w.login("rick");
    EXPECT_THROW(Annotations(rick).saveDraft(w.study, draft.record, draft.spans()),
                 PermissionDeniedError);
    EXPECT_THROW(Annotations(rick).draftOf(w.study), PermissionDeniedError);

    auto anna = w.login(annotator);
    Annotations(anna).saveDraft(w.study, draft.record, draft.spans());
    {
        auto admin = w.t.admin();
        Studies(admin).unassign(annotator, w.study);
    }
    const TestDraft later = makeDraft(2, random, 1, 1024);
    EXPECT_THROW(Annotations(anna).saveDraft(w.study, later.record, later.spans()),
                 PermissionDeniedError);
    EXPECT_THROW(Annotations(anna).save(w.study, later.record, "not mine", later.spans()),
                 PermissionDeniedError);
    // Refused before anything was written: not even the chunks.
    EXPECT_EQ(w.t.attackerDatabase().queryText("SELECT count(*) FROM chunks WHERE hash = x'" +
                                               hexHash(later.chunks.front()) + "'"),
              "0");

    anna.lock();
    EXPECT_THROW(Annotations(anna).saveDraft(w.study, later.record, later.spans()),
                 SessionLockedError);
}

// Child: writes drafts 1, 2, 3, ... (8 chunks of 128 KiB of noise each) and reports each number
// only after its transaction committed. The first line, "1", says the first draft committed.
[[noreturn]] void writeDraftsUntilKilled(const DraftWorld& w, int round, int writeFd) {
    try {
        auto anna = w.login(annotator);
        std::mt19937 random{std::uint32_t(round)};
        for (int n = 1;; ++n) {
            const TestDraft draft = makeDraft(n, random, 8, 128 * 1024);
            Annotations(anna).saveDraft(w.study, draft.record, draft.spans());
            const std::string line = std::to_string(n) + "\n";
            if (::write(writeFd, line.data(), line.size()) != ssize_t(line.size()))
                ::_exit(2);
        }
    } catch (...) {
        ::_exit(3);
    }
}

int lastAcknowledged(int readFd) {
    std::string text;
    char buffer[4096];
    ssize_t n;
    while ((n = ::read(readFd, buffer, sizeof buffer)) > 0)
        text.append(buffer, std::size_t(n));
    const std::size_t end = text.rfind('\n');
    if (end == std::string::npos)
        return 0;
    const std::size_t start = text.rfind('\n', end - 1);
    return std::stoi(text.substr(start == std::string::npos ? 0 : start + 1, end));
}

TEST(DraftStore, KilledMidWriteKeepsThePreviousDraftWhole) {
    if (::access("/dev/shm", W_OK) == 0)
        ::setenv("TMPDIR", "/dev/shm", 1);
    DraftWorld w;
    ::unsetenv("TMPDIR");
    std::mt19937 random(20261125);
    std::uniform_int_distribution<int> delayMicros(0, 60000);
    const int rounds = 24;
    int killedWhileReplacing = 0;
    for (int round = 0; round < rounds; ++round) {
        SCOPED_TRACE("round " + std::to_string(round));
        int fds[2];
        ASSERT_EQ(::pipe(fds), 0);
        const pid_t child = ::fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            ::close(fds[0]);
            writeDraftsUntilKilled(w, round, fds[1]);
        }
        ::close(fds[1]);
        // The kill delay starts once the first draft committed, however long the login took
        // on a loaded machine: every round then kills a writer that has a draft to protect.
        std::string firstLine;
        pollfd ready{fds[0], POLLIN, 0};
        while (firstLine.find('\n') == std::string::npos && ::poll(&ready, 1, 60000) == 1) {
            char c = 0;
            if (::read(fds[0], &c, 1) != 1)
                break;
            firstLine += c;
        }
        const bool firstCommitted = firstLine == "1\n";
        if (firstCommitted)
            ::usleep(useconds_t(delayMicros(random))); // somewhere in the next few drafts
        ::kill(child, SIGKILL);
        int status = 0;
        ::waitpid(child, &status, 0);
        ASSERT_TRUE(firstCommitted) << "no first draft within 60 s: \"" << firstLine << '"';
        ASSERT_TRUE(WIFSIGNALED(status)) << "the child stopped on its own, status " << status;
        const int rest = lastAcknowledged(fds[0]); // what followed the first line
        const int acknowledged = rest > 0 ? rest : 1;
        ::close(fds[0]);

        auto anna = w.login(annotator);
        ASSERT_EQ(w.t.attackerDatabase().queryText("PRAGMA integrity_check"), "ok");
        const int stored = checkStoredDraft(anna, w.study);
        // The last acknowledged draft, or the one whose commit finished as the kill came.
        EXPECT_TRUE(stored == acknowledged || stored == acknowledged + 1)
            << "stored " << stored << ", acknowledged " << acknowledged;
        if (stored > 1)
            ++killedWhileReplacing;
        EXPECT_EQ(w.t.attackerDatabase().queryText("SELECT count(*) FROM drafts"), "1");
    }
    // Every round had a committed draft to lose. How many kills came after a second one is up to
    // the machine's load, so it is reported, not asserted.
    RecordProperty("killed_while_replacing", killedWhileReplacing);
}

} // namespace
