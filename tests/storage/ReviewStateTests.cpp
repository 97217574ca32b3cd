// Every row of the review state table in docs/review.md, on a real store: submission,
// withdrawal by a newer save, decisions bound to the content hash (the first is final, a comment
// needed for changes and reject, open comments confirmed and resolved), separation of duties,
// consensus versions, comments with replies, and two reviewers deciding at the same moment in
// two processes. Each refusal is typed, writes nothing, and refusals of a decision are logged.

#include "StoreTestSupport.h"

#include "storage/Annotations.h"
#include "storage/AuditTrail.h"
#include "storage/Reviews.h"
#include "storage/Studies.h"
#include "storage/Users.h"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

namespace radmark::storage {
namespace {

using namespace radmark::storage::testing;

struct ReviewWorld {
    TestStore t;
    std::int64_t study = 0;
    std::int64_t version = 0; // annie's first version

    ReviewWorld() {
        Session admin = t.admin();
        storage::Users(admin).add("annie", Role::Annotator, userPassword);
        storage::Users(admin).add("bert", Role::Annotator, userPassword);
        storage::Users(admin).add("ruby", Role::Reviewer, userPassword);
        storage::Users(admin).add("rex", Role::Reviewer, userPassword);
        study = storage::Studies(admin).add("RM-STUDY-1", "");
        storage::Studies(admin).assign("annie", study);
        storage::Studies(admin).assign("bert", study);
        version = save("annie", "first");
    }
    Session login(const std::string& name) const { return t.store.login(name, userPassword); }
    std::int64_t save(const std::string& who, const std::string& message) {
        Session s = login(who);
        const std::string bytes = who + message; // distinct records, distinct content hashes
        return storage::Annotations(s).save(
            study, std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()),
            message);
    }
    std::string hashOf(std::int64_t id) {
        Session s = login("ruby");
        for (const storage::AnnotationRecord& r : storage::Annotations(s).list(study))
            if (r.id == id)
                return r.chunk.hex();
        return {};
    }
    ReviewState stateOf(std::int64_t id) {
        Session s = login("ruby");
        return Reviews(s).ofStudy(study).at(id).state;
    }
    std::size_t logged(const std::string& user, const std::string& action) {
        Session admin = t.admin();
        return AuditTrail(admin).entries(filterBy(user, action)).size();
    }
    ReviewDecisionRecord decide(const std::string& reviewer, std::int64_t id, Decision decision,
                                const std::string& message = "", bool confirm = false) {
        Session s = login(reviewer);
        return Reviews(s).decide(id, decision, message, hashOf(id), R"({"dice": 0.9})", confirm);
    }
    void submit(std::int64_t id, const std::string& who = "annie") {
        Session s = login(who);
        Reviews(s).submit(id);
    }
};

TEST(ReviewStates, Row1TheAuthorSubmitsHerDraft) {
    ReviewWorld w;
    EXPECT_EQ(w.stateOf(w.version), ReviewState::Draft);
    w.submit(w.version);
    EXPECT_EQ(w.stateOf(w.version), ReviewState::Submitted);
    EXPECT_EQ(w.logged("annie", "submit"), 1u);
}

TEST(ReviewStates, Row2NobodyElseSubmitsIt) {
    ReviewWorld w;
    EXPECT_THROW(w.submit(w.version, "bert"), PermissionDeniedError);
    EXPECT_THROW(w.submit(w.version, "ruby"), PermissionDeniedError);
    EXPECT_EQ(w.stateOf(w.version), ReviewState::Draft);
}

TEST(ReviewStates, Row3ASubmittedVersionIsNotSubmittedTwice) {
    ReviewWorld w;
    w.submit(w.version);
    EXPECT_THROW(w.submit(w.version), InvalidRequestError);
    EXPECT_EQ(w.logged("annie", "submit"), 1u);
}

TEST(ReviewStates, Row4ANewerSaveWithdrawsTheSubmissionAndLinksToIt) {
    ReviewWorld w;
    w.submit(w.version);
    const std::int64_t next = w.save("annie", "second");
    EXPECT_EQ(w.stateOf(w.version), ReviewState::Draft) << "withdrawn";
    EXPECT_EQ(w.stateOf(next), ReviewState::Draft);
    Session ruby = w.login("ruby");
    EXPECT_EQ(Reviews(ruby).ofStudy(w.study).at(next).revises, w.version);
    EXPECT_EQ(w.logged("annie", "withdraw submission"), 1u);
    EXPECT_THROW(w.decide("ruby", w.version, Decision::Approve), InvalidRequestError)
        << "a withdrawn version is not in the queue";
    // Another annotator's save withdraws nothing of annie's.
    w.submit(next);
    w.save("bert", "bert's");
    EXPECT_EQ(w.stateOf(next), ReviewState::Submitted);
}

TEST(ReviewStates, Row5ApproveHoldsTheContentHashAndTheMetricsShown) {
    ReviewWorld w;
    w.submit(w.version);
    const ReviewDecisionRecord d = w.decide("ruby", w.version, Decision::Approve);
    EXPECT_EQ(w.stateOf(w.version), ReviewState::Approved);
    Session ruby = w.login("ruby");
    const auto stored = Reviews(ruby).decisionOf(w.version);
    ASSERT_TRUE(stored);
    EXPECT_EQ(stored->contentHash, w.hashOf(w.version));
    EXPECT_EQ(stored->metricsJson, R"({"dice": 0.9})");
    EXPECT_EQ(stored->reviewer, "ruby");
    EXPECT_EQ(stored->id, d.id);
    EXPECT_EQ(w.logged("ruby", "review decision"), 1u);
}

TEST(ReviewStates, Row6ApprovingWithOpenCommentsNeedsAConfirmationAndResolvesThem) {
    ReviewWorld w;
    w.submit(w.version);
    Session ruby = w.login("ruby");
    const ReviewComment c = Reviews(ruby).comment(w.version, {10, 20, 3}, "check the edge", 1);
    try {
        w.decide("rex", w.version, Decision::Approve);
        FAIL() << "approved over an open comment without asking";
    } catch (const OpenCommentsError& e) {
        EXPECT_EQ(e.open, 1);
    }
    EXPECT_EQ(w.stateOf(w.version), ReviewState::Submitted) << "nothing written";
    w.decide("rex", w.version, Decision::Approve, "", true);
    EXPECT_EQ(w.stateOf(w.version), ReviewState::Approved);
    const auto comments = Reviews(ruby).comments(w.version);
    ASSERT_EQ(comments.size(), 1u);
    EXPECT_TRUE(comments.front().resolved);
    EXPECT_EQ(comments.front().resolvedBy, "rex");
    EXPECT_EQ(w.logged("rex", "resolve comment"), 1u);
    EXPECT_EQ(c.voxel, (imaging::Vec3{10, 20, 3}));
}

TEST(ReviewStates, Row7ChangesAndRejectNeedAComment) {
    ReviewWorld w;
    w.submit(w.version);
    EXPECT_THROW(w.decide("ruby", w.version, Decision::RequestChanges, "  "), InvalidRequestError);
    EXPECT_THROW(w.decide("ruby", w.version, Decision::Reject, ""), InvalidRequestError);
    EXPECT_EQ(w.stateOf(w.version), ReviewState::Submitted);
}

TEST(ReviewStates, Row8ChangesAndRejectWithAComment) {
    ReviewWorld w;
    w.submit(w.version);
    w.decide("ruby", w.version, Decision::RequestChanges, "the lesion edge at slice 3");
    EXPECT_EQ(w.stateOf(w.version), ReviewState::ChangesRequested);
    const std::int64_t other = w.save("bert", "bert's");
    w.submit(other, "bert");
    w.decide("ruby", other, Decision::Reject, "wrong organ");
    EXPECT_EQ(w.stateOf(other), ReviewState::Rejected);
}

TEST(ReviewStates, Row9TheFirstDecisionIsFinal) {
    ReviewWorld w;
    w.submit(w.version);
    w.decide("ruby", w.version, Decision::Approve);
    try {
        w.decide("rex", w.version, Decision::Reject, "no");
        FAIL() << "a second decision was taken";
    } catch (const AlreadyDecidedError& e) {
        EXPECT_EQ(e.first.reviewer, "ruby");
        EXPECT_EQ(e.first.decision, Decision::Approve);
        EXPECT_NE(std::string(e.what()).find("ruby"), std::string::npos);
    }
    EXPECT_EQ(w.stateOf(w.version), ReviewState::Approved);
    EXPECT_EQ(w.logged("rex", "refused review decision"), 1u);
    EXPECT_THROW(w.submit(w.version), AlreadyDecidedError);
}

TEST(ReviewStates, Row10ADecisionOnAnotherContentIsRefused) {
    ReviewWorld w;
    w.submit(w.version);
    Session ruby = w.login("ruby");
    const std::string wrong(64, 'a');
    EXPECT_THROW(Reviews(ruby).decide(w.version, Decision::Approve, "", wrong, "{}", false),
                 InvalidRequestError);
    EXPECT_EQ(w.stateOf(w.version), ReviewState::Submitted);
    EXPECT_EQ(w.logged("ruby", "refused review decision"), 1u);
}

TEST(ReviewStates, Row11ADraftIsNotDecided) {
    ReviewWorld w;
    EXPECT_THROW(w.decide("ruby", w.version, Decision::Approve), InvalidRequestError);
    EXPECT_EQ(w.stateOf(w.version), ReviewState::Draft);
}

TEST(ReviewStates, Row12AnnotatorsAndAdminsDoNotDecide) {
    ReviewWorld w;
    w.submit(w.version);
    for (const std::string who : {"annie", "bert"}) {
        Session s = w.login(who);
        EXPECT_THROW(
            Reviews(s).decide(w.version, Decision::Approve, "", w.hashOf(w.version), "{}", false),
            PermissionDeniedError)
            << who;
    }
    Session admin = w.t.admin();
    EXPECT_THROW(
        Reviews(admin).decide(w.version, Decision::Approve, "", w.hashOf(w.version), "{}", false),
        PermissionDeniedError);
    EXPECT_EQ(w.stateOf(w.version), ReviewState::Submitted);
}

TEST(ReviewStates, Row13NobodyReviewsHerOwnVersion) {
    ReviewWorld w;
    w.submit(w.version);
    // annie becomes a reviewer (one role per account): her own version is still not hers to
    // decide.
    {
        Session admin = w.t.admin();
        Users(admin).setRole("annie", Role::Reviewer);
    }
    EXPECT_THROW(w.decide("annie", w.version, Decision::Approve), PermissionDeniedError);
    EXPECT_EQ(w.stateOf(w.version), ReviewState::Submitted);
}

TEST(ReviewStates, Row14ASaveAfterChangesRequestedRevisesTheReviewedVersion) {
    ReviewWorld w;
    w.submit(w.version);
    w.decide("ruby", w.version, Decision::RequestChanges, "fix the edge");
    const std::int64_t fixed = w.save("annie", "fixed the edge");
    Session ruby = w.login("ruby");
    const auto reviews = Reviews(ruby).ofStudy(w.study);
    EXPECT_EQ(reviews.at(fixed).revises, w.version);
    EXPECT_EQ(reviews.at(w.version).state, ReviewState::ChangesRequested) << "decisions stay";
    w.submit(fixed);
    w.decide("ruby", fixed, Decision::Approve);
    EXPECT_EQ(w.stateOf(fixed), ReviewState::Approved);
}

TEST(ReviewStates, Row15TheReviewerWhoBuiltAConsensusMayApproveIt) {
    ReviewWorld w;
    const std::int64_t bert = w.save("bert", "bert's");
    Session ruby = w.login("ruby");
    const std::string record = "consensus record";
    const std::int64_t consensus = Reviews(ruby).saveConsensus(
        w.study, std::span(reinterpret_cast<const std::uint8_t*>(record.data()), record.size()), {},
        "vote", {w.version, bert}, "consensus (vote)");
    EXPECT_TRUE(Reviews(ruby).ofStudy(w.study).at(consensus).consensus);
    w.decide("ruby", consensus, Decision::Approve);
    EXPECT_EQ(w.stateOf(consensus), ReviewState::Approved);
    EXPECT_EQ(w.logged("ruby", "save consensus"), 1u);
    Session annie = w.login("annie");
    EXPECT_THROW(Reviews(annie).saveConsensus(w.study, {}, {}, "vote", {w.version, bert}, "x"),
                 PermissionDeniedError);
}

TEST(ReviewStates, Row16TwoReviewersDecidingAtOnceGetOneDecision) {
    ReviewWorld w;
    w.submit(w.version);
    const std::string hash = w.hashOf(w.version);
    int go[2];
    ASSERT_EQ(::pipe(go), 0);
    std::vector<pid_t> children;
    for (const std::string reviewer : {"ruby", "rex"}) {
        const pid_t child = ::fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            ::close(go[1]);
            Session s = w.login(reviewer);
            char start = 0;
            if (::read(go[0], &start, 1) != 1)
                ::_exit(5);
            try {
                Reviews(s).decide(w.version,
                                  reviewer == "ruby" ? Decision::Approve : Decision::Reject,
                                  "at once", hash, "{}", false);
                ::_exit(0);
            } catch (const AlreadyDecidedError&) {
                ::_exit(2);
            } catch (const std::exception& e) {
                std::fprintf(stderr, "%s: %s\n", reviewer.c_str(), e.what());
                ::_exit(3);
            }
        }
        children.push_back(child);
    }
    ::close(go[0]);
    ::usleep(300000); // both logged in (Argon2 at the test cost takes well under this)
    const char start[2] = {1, 1};
    ASSERT_EQ(::write(go[1], start, 2), 2);
    ::close(go[1]);
    std::vector<int> codes;
    for (pid_t child : children) {
        int status = 0;
        ::waitpid(child, &status, 0);
        ASSERT_TRUE(WIFEXITED(status));
        codes.push_back(WEXITSTATUS(status));
    }
    std::sort(codes.begin(), codes.end());
    EXPECT_EQ(codes, (std::vector<int>{0, 2})) << "one decision, the other refused";
    Session admin = w.t.admin();
    EXPECT_EQ(storage::AuditTrail(admin).entries(filterBy("", "review decision")).size() +
                  storage::AuditTrail(admin).entries(filterBy("", "refused review decision")).size(),
              2u);
}

// docs/review.md, "Worklist rows" and "Comments": in a blind study an annotator reads the review
// side of her own versions only (not the other annotator's decision or comments), and the
// study summary lists only what she may see.
TEST(ReviewStates, ABlindAnnotatorSeesOnlyHerOwnReviewSide) {
    ReviewWorld w;
    {
        Session admin = w.t.admin();
        Studies(admin).setBlind(w.study, true);
    }
    const std::int64_t bertsVersion = w.save("bert", "bert's");
    w.submit(bertsVersion, "bert");
    {
        Session ruby = w.login("ruby");
        Reviews(ruby).comment(bertsVersion, {1, 1, 0}, "check the edge", std::nullopt);
    }
    w.decide("ruby", bertsVersion, Decision::RequestChanges, "the edge");

    Session annie = w.login("annie");
    const auto annieSees = Reviews(annie).ofStudy(w.study);
    EXPECT_EQ(annieSees.count(w.version), 1u);
    EXPECT_EQ(annieSees.count(bertsVersion), 0u) << "bert's review side is not hers to read";
    for (const StudyReviewSummary& study : Reviews(annie).studies()) {
        EXPECT_TRUE(study.blind);
        for (const auto& v : study.versions)
            EXPECT_EQ(v.author, "annie");
    }
    Session bert = w.login("bert");
    const auto bertSees = Reviews(bert).ofStudy(w.study);
    ASSERT_EQ(bertSees.count(bertsVersion), 1u);
    EXPECT_EQ(bertSees.at(bertsVersion).state, ReviewState::ChangesRequested);
    EXPECT_EQ(bertSees.at(bertsVersion).openComments, 1);
    EXPECT_EQ(bertSees.count(w.version), 0u);
    // A reviewer sees both lines.
    Session ruby = w.login("ruby");
    EXPECT_EQ(Reviews(ruby).ofStudy(w.study).size(), 2u);
}

TEST(ReviewComments, RepliesResolutionAndWhoMaySee) {
    ReviewWorld w;
    w.submit(w.version);
    Session ruby = w.login("ruby");
    const ReviewComment c = Reviews(ruby).comment(w.version, {1, 2, 0}, "is this vessel?", {});
    EXPECT_THROW(Reviews(ruby).comment(w.version, {1, 2, 0}, "  ", {}), InvalidRequestError);
    Session annie = w.login("annie");
    EXPECT_THROW(Reviews(annie).comment(w.version, {1, 2, 0}, "mine", {}), PermissionDeniedError)
        << "annotators reply; reviewers pin";
    const ReviewComment r = Reviews(annie).reply(c.id, "yes, the portal vein");
    EXPECT_EQ(r.replyTo, c.id);
    EXPECT_FALSE(r.voxel);
    EXPECT_THROW(Reviews(annie).resolve(r.id), InvalidRequestError);
    Reviews(annie).resolve(c.id);
    EXPECT_THROW(Reviews(annie).resolve(c.id), InvalidRequestError);
    const auto all = Reviews(ruby).comments(w.version);
    ASSERT_EQ(all.size(), 2u);
    EXPECT_TRUE(all[0].resolved);
    EXPECT_EQ(all[0].resolvedBy, "annie");
    // An annotator not assigned to the study sees none of it.
    Session admin = w.t.admin();
    storage::Users(admin).add("carl", Role::Annotator, userPassword);
    Session carl = w.login("carl");
    EXPECT_THROW(Reviews(carl).comments(w.version), PermissionDeniedError);
    const auto events = Reviews(ruby).history(w.version);
    std::vector<std::string> what;
    for (const ReviewEvent& e : events)
        what.push_back(e.what);
    EXPECT_EQ(what,
              (std::vector<std::string>{"saved", "submitted", "commented", "replied", "resolved"}));
}

TEST(ReviewStates, NamesAndParsing) {
    for (ReviewState s : {ReviewState::Draft, ReviewState::Submitted, ReviewState::Approved,
                          ReviewState::ChangesRequested, ReviewState::Rejected})
        EXPECT_EQ(parseReviewState(reviewStateName(s)), s);
    EXPECT_EQ(parseReviewState("changes"), ReviewState::ChangesRequested);
    EXPECT_FALSE(parseReviewState("pending"));
    EXPECT_EQ(parseDecision("changes"), Decision::RequestChanges);
    EXPECT_THROW(parseDecision("maybe"), InvalidRequestError);
}

} // namespace
} // namespace radmark::storage
