// The annotation session without an X server: open, edit, autosave, a SIGKILLed editor and its
// recovered draft, save, reopen, read-only versions, a new draft from a version, "decide later",
// each annotator's own line of versions, and the refusals of every role. Real stores, real
// imports (pydicom's CT_small.dcm), real processes.

#include "StoreTestSupport.h"

#include "storage/Users.h"
#include "storage/Studies.h"
#include "storage/StoredStudy.h"
#include "storage/StudyImport.h"
#include "workflow/AnnotationSession.h"
#include "workflow/Review.h"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>

namespace radmark::workflow {
namespace {

using namespace radmark::storage::testing;
using annotation::LabelMap;
using annotation::SegmentList;

const std::string annieName = "annie-annotator";
const std::string bertName = "bert-annotator";
const std::string rubyName = "ruby-reviewer";

// A store with CT_small imported and assigned to two annotators, and a reviewer.
struct StudyStore {
    StudyStore() {
        storage::Session admin = store.admin();
        storage::Users(admin).add(annieName, storage::Role::Annotator, userPassword);
        storage::Users(admin).add(bertName, storage::Role::Annotator, userPassword);
        storage::Users(admin).add(rubyName, storage::Role::Reviewer, userPassword);
        const auto results = storage::importStudies(admin, {RADMARK_PYDICOM_DATA "/CT_small.dcm"});
        EXPECT_EQ(results.size(), 1u);
        EXPECT_EQ(results.front().status, storage::ImportStatus::Imported)
            << results.front().reason;
        studyId = results.front().studyId;
        storage::Studies(admin).assign(annieName, studyId);
        storage::Studies(admin).assign(bertName, studyId);
        storage::Session annie = login(annieName);
        geometry = storage::loadStoredVolume(annie, studyId).geometry();
    }
    storage::Session login(const std::string& name) const {
        return store.store.login(name, userPassword);
    }

    TestStore store;
    std::int64_t studyId = 0;
    imaging::Geometry geometry;
};

SegmentList oneSegment() {
    SegmentList segments;
    segments.add("Liver", annotation::Rgb{200, 40, 40});
    return segments;
}

// Labels voxel (i, 0, 0) of the first slice; `count` voxels in all.
LabelMap labelled(const imaging::Geometry& geometry, int count) {
    LabelMap labels(geometry);
    for (int i = 0; i < count; ++i)
        labels.set(annotation::Index3{i, 0, 0}, 1);
    return labels;
}

TEST(AnnotationSession, OpenEditAutosaveSaveReopen) {
    StudyStore fixture;
    storage::Session annie = fixture.login(annieName);
    AnnotationSession session(annie, fixture.studyId);
    EXPECT_FALSE(session.pendingDraft());
    EXPECT_FALSE(session.openNewest()) << "a study without versions starts empty";
    EXPECT_TRUE(session.state().mayEdit);
    EXPECT_FALSE(session.state().parent);

    LabelMap labels = labelled(fixture.geometry, 5);
    const SegmentList segments = oneSegment();
    EXPECT_EQ(session.autosave(labels, segments, {}), AutosaveOutcome::NothingToSave);
    session.edited();
    EXPECT_TRUE(session.state().editedSinceDraft);
    EXPECT_FALSE(session.autosaveDue(AnnotationSession::Clock::now()))
        << "the interval has not passed";
    EXPECT_TRUE(session.autosaveDue(AnnotationSession::Clock::now() + std::chrono::seconds(31)));
    EXPECT_EQ(session.autosave(labels, segments, {}), AutosaveOutcome::Written);
    EXPECT_FALSE(session.state().editedSinceDraft);
    EXPECT_TRUE(session.state().editedSinceVersion) << "a draft is not a version";

    const annotation::Version first = session.save(labels, segments, {}, "five voxels");
    EXPECT_EQ(session.state().parent, first.id);
    EXPECT_FALSE(session.state().editedSinceVersion);
    ASSERT_EQ(session.versions().size(), 1u);
    EXPECT_EQ(session.versions().front().version.author, annieName);

    AnnotationSession reopened(annie, fixture.studyId);
    EXPECT_FALSE(reopened.pendingDraft()) << "the save removed the draft";
    const auto newest = reopened.openNewest();
    ASSERT_TRUE(newest);
    EXPECT_TRUE(newest->labels == labels);
    EXPECT_EQ(reopened.state().parent, first.id);
    EXPECT_TRUE(reopened.state().mayEdit);
}

// The child edits and autosaves in a loop, telling the parent how many voxels each committed
// draft holds; the parent kills it with SIGKILL at a point of its choosing.
[[noreturn]] void editUntilKilled(const StudyStore& fixture, int ackFd) {
    storage::Session annie = fixture.login(annieName);
    AnnotationSession session(annie, fixture.studyId);
    session.openNewest();
    const SegmentList segments = oneSegment();
    for (int count = 1;; ++count) {
        LabelMap labels = labelled(fixture.geometry, count % fixture.geometry.dims[0] + 1);
        session.edited();
        if (session.autosave(labels, segments, {}) != AutosaveOutcome::Written)
            ::_exit(3);
        const int committed = count % fixture.geometry.dims[0] + 1;
        if (::write(ackFd, &committed, sizeof committed) != sizeof committed)
            ::_exit(4);
    }
}

TEST(AnnotationSession, KilledEditorLeavesADraftThatRecovers) {
    StudyStore fixture;
    for (int round = 0; round < 6; ++round) {
        int fds[2];
        ASSERT_EQ(::pipe(fds), 0);
        const pid_t child = ::fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            ::close(fds[0]);
            editUntilKilled(fixture, fds[1]);
        }
        ::close(fds[1]);
        // Wait for a few committed drafts, then kill at once: mid-write or between writes.
        int acknowledged = 0;
        for (int i = 0; i < 2 + round; ++i)
            ASSERT_EQ(::read(fds[0], &acknowledged, sizeof acknowledged),
                      ssize_t(sizeof acknowledged));
        ::kill(child, SIGKILL);
        int status = 0;
        ::waitpid(child, &status, 0);
        ASSERT_TRUE(WIFSIGNALED(status)) << "the editor ended on its own: " << status;
        // A commit may have finished as the kill came: the next count is a whole draft too.
        int later = 0;
        while (::read(fds[0], &later, sizeof later) == ssize_t(sizeof later))
            acknowledged = later;
        ::close(fds[0]);

        storage::Session annie = fixture.login(annieName);
        AnnotationSession session(annie, fixture.studyId);
        ASSERT_TRUE(session.pendingDraft()) << "round " << round;
        const annotation::OpenedAnnotation recovered = session.recoverDraft();
        const LabelMap atAck = labelled(fixture.geometry, acknowledged);
        const LabelMap next =
            labelled(fixture.geometry, acknowledged % fixture.geometry.dims[0] + 1);
        EXPECT_TRUE(recovered.labels == atAck || recovered.labels == next)
            << "round " << round << ": the draft is neither the acknowledged one nor the next";
        EXPECT_TRUE(session.state().editedSinceVersion) << "recovered work is not a version yet";
        EXPECT_TRUE(session.state().mayEdit);
        session.discardDraft();
    }
}

TEST(AnnotationSession, ReadOnlyVersionsAndNewDraftFromAVersion) {
    StudyStore fixture;
    storage::Session annie = fixture.login(annieName);
    AnnotationSession session(annie, fixture.studyId);
    session.openNewest();
    const SegmentList segments = oneSegment();
    LabelMap one = labelled(fixture.geometry, 1);
    session.edited();
    const annotation::Version v1 = session.save(one, segments, {}, "one");
    LabelMap three = labelled(fixture.geometry, 3);
    session.edited();
    const annotation::Version v2 = session.save(three, segments, {}, "three");
    EXPECT_EQ(v2.parent, v1.id);

    const annotation::OpenedAnnotation shown = session.openVersion(v1.id, OpenAs::ReadOnly);
    EXPECT_TRUE(shown.labels == one);
    EXPECT_EQ(session.state().readOnlyVersion, v1.id);
    EXPECT_FALSE(session.state().mayEdit);
    session.edited();
    EXPECT_FALSE(session.state().editedSinceVersion) << "a read-only version takes no edits";
    try {
        session.save(one, segments, {}, "refused");
        FAIL() << "a read-only version was saved";
    } catch (const AnnotationRefused& refused) {
        EXPECT_NE(std::string(refused.what()).find("read-only"), std::string::npos);
    }
    EXPECT_EQ(session.autosave(one, segments, {}), AutosaveOutcome::NotAllowed);

    annotation::OpenedAnnotation draft = session.openVersion(v1.id, OpenAs::NewDraft);
    EXPECT_FALSE(session.state().readOnlyVersion);
    EXPECT_EQ(session.state().parent, v1.id);
    draft.labels.set(annotation::Index3{7, 0, 0}, 1);
    session.edited();
    const annotation::Version branch = session.save(draft.labels, segments, {}, "branch");
    EXPECT_EQ(branch.parent, v1.id) << "a new draft from v1 saves as v1's child";
    EXPECT_EQ(session.versions().size(), 3u);
}

TEST(AnnotationSession, DecideLaterIsReadOnlyAndKeepsTheDraft) {
    StudyStore fixture;
    const SegmentList segments = oneSegment();
    LabelMap labels = labelled(fixture.geometry, 4);
    {
        storage::Session annie = fixture.login(annieName);
        AnnotationSession session(annie, fixture.studyId);
        session.openNewest();
        session.edited();
        ASSERT_EQ(session.autosave(labels, segments, {}), AutosaveOutcome::Written);
    }
    storage::Session annie = fixture.login(annieName);
    {
        AnnotationSession session(annie, fixture.studyId);
        ASSERT_TRUE(session.pendingDraft());
        session.decideLater();
        EXPECT_FALSE(session.openNewest());
        EXPECT_TRUE(session.state().draftWaiting);
        EXPECT_FALSE(session.state().mayEdit);
        session.edited();
        EXPECT_EQ(session.autosave(labels, segments, {}), AutosaveOutcome::NotAllowed);
        EXPECT_THROW(session.save(labels, segments, {}, "refused"), AnnotationRefused);
    }
    AnnotationSession again(annie, fixture.studyId);
    ASSERT_TRUE(again.pendingDraft()) << "decide later kept the draft";
    EXPECT_TRUE(again.recoverDraft().labels == labels);
}

TEST(AnnotationSession, AnnotatorsContinueOnlyTheirOwnLine) {
    StudyStore fixture;
    const SegmentList segments = oneSegment();
    {
        storage::Session bert = fixture.login(bertName);
        AnnotationSession session(bert, fixture.studyId);
        session.openNewest();
        LabelMap labels = labelled(fixture.geometry, 9);
        session.edited();
        session.save(labels, segments, {}, "bert's");
    }
    storage::Session annie = fixture.login(annieName);
    AnnotationSession session(annie, fixture.studyId);
    EXPECT_FALSE(session.openNewest()) << "another annotator's version is never her parent";
    EXPECT_FALSE(session.state().parent);
    EXPECT_EQ(session.versions().size(), 1u) << "a shared study shows the colleague's version";
    LabelMap labels = labelled(fixture.geometry, 2);
    session.edited();
    const annotation::Version own = session.save(labels, segments, {}, "annie's");
    EXPECT_FALSE(own.parent);

    AnnotationSession reopened(annie, fixture.studyId);
    const auto newest = reopened.openNewest();
    ASSERT_TRUE(newest);
    EXPECT_TRUE(newest->labels == labels) << "her newest, not the study's";
}

TEST(AnnotationSession, EveryRoleIsRefusedWhatItMayNotDo) {
    StudyStore fixture;
    const SegmentList segments = oneSegment();
    LabelMap labels = labelled(fixture.geometry, 3);
    {
        storage::Session annie = fixture.login(annieName);
        AnnotationSession session(annie, fixture.studyId);
        session.openNewest();
        session.edited();
        session.save(labels, segments, {}, "for review");
    }

    // Reviewers: the newest version, read-only; no save, no draft, no new draft.
    storage::Session ruby = fixture.login(rubyName);
    AnnotationSession review(ruby, fixture.studyId);
    EXPECT_FALSE(review.pendingDraft());
    const auto shown = review.openNewest();
    ASSERT_TRUE(shown);
    EXPECT_TRUE(shown->labels == labels);
    EXPECT_TRUE(review.state().readOnlyVersion);
    EXPECT_FALSE(review.state().mayEdit);
    review.edited();
    EXPECT_EQ(review.autosave(labels, segments, {}), AutosaveOutcome::NotAllowed);
    try {
        review.save(labels, segments, {}, "a reviewer's edit");
        FAIL() << "a reviewer saved label edits";
    } catch (const AnnotationRefused& refused) {
        EXPECT_EQ(std::string(refused.what()),
                  "Reviewers cannot save label edits: a review is read-only.");
    }
    EXPECT_THROW(review.openVersion(review.versions().front().version.id, OpenAs::NewDraft),
                 AnnotationRefused);
    EXPECT_THROW(review.recoverDraft(), AnnotationRefused);

    // Administrators see images, never annotations.
    storage::Session admin = fixture.store.admin();
    try {
        AnnotationSession refused(admin, fixture.studyId);
        FAIL() << "an administrator opened annotations";
    } catch (const AnnotationRefused& refused) {
        EXPECT_EQ(std::string(refused.what()), "Administrators do not see annotations.");
    }

    // An annotator on a study not assigned to her.
    storage::Studies(admin).unassign(bertName, fixture.studyId);
    storage::Session bert = fixture.login(bertName);
    EXPECT_THROW(AnnotationSession(bert, fixture.studyId), storage::PermissionDeniedError);
}

} // namespace
} // namespace radmark::workflow

// The review session over the same store: compare two annotators' versions (metrics equal the
// library's on the same maps), pin a comment (outside the volume refused), a consensus by vote
// of three annotators equals the vote written here, and versions of another grid are refused.
namespace radmark::workflow {
namespace {

TEST(ReviewSession, CompareCommentConsensus) {
    StudyStore fixture;
    {
        storage::Session admin = fixture.store.admin();
        storage::Users(admin).add("carl-annotator", storage::Role::Annotator, userPassword);
        storage::Studies(admin).assign("carl-annotator", fixture.studyId);
    }
    const SegmentList segments = oneSegment();
    // Three annotators label the first 4, 6 and 8 voxels of row 0: voxels 0-5 get two or more
    // votes (the vote's result), 6-7 one.
    std::vector<std::int64_t> ids;
    int count = 4;
    for (const std::string& name : {annieName, bertName, std::string("carl-annotator")}) {
        storage::Session s = fixture.login(name);
        AnnotationSession session(s, fixture.studyId);
        session.openNewest();
        LabelMap labels = labelled(fixture.geometry, count);
        count += 2;
        session.edited();
        session.save(labels, segments, {}, name + "'s");
        submitForReview(s, ReviewSession(s, fixture.studyId).versions().back().annotationId);
    }
    storage::Session ruby = fixture.login(rubyName);
    ReviewSession review(ruby, fixture.studyId);
    ASSERT_EQ(review.versions().size(), 3u);
    for (const ReviewVersion& v : review.versions()) {
        ids.push_back(v.annotationId);
        EXPECT_EQ(v.state, storage::ReviewState::Submitted);
    }
    EXPECT_EQ(reviewQueue(ruby).size(), 3u);

    const Comparison c = review.compare(ids[0], ids[1]);
    ASSERT_EQ(c.metrics.segments.size(), 1u);
    const auto expected = annotation::measureOverlap(labelled(fixture.geometry, 4), 1,
                                                     labelled(fixture.geometry, 6), 1);
    EXPECT_DOUBLE_EQ(c.metrics.segments[0].overlap.dice, expected.dice);
    EXPECT_DOUBLE_EQ(c.metrics.segments[0].overlap.dice, 2.0 * 4 / (4 + 6));

    EXPECT_THROW(review.pin(ids[0], {1000, 0, 0}, "outside", std::nullopt), ReviewRefused);
    const storage::ReviewComment pinned =
        review.pin(ids[0], {3, 0, 0}, "edge", annotation::Label(1));
    EXPECT_EQ(review.version(ids[0]).openComments, 1);
    EXPECT_EQ(pinned.voxel, (imaging::Vec3{3, 0, 0}));

    const ReviewVersion consensus = review.buildConsensus(ReviewSession::Method::Vote, ids);
    EXPECT_TRUE(consensus.consensus);
    const annotation::OpenedAnnotation built = review.open(consensus.annotationId);
    EXPECT_TRUE(built.labels == labelled(fixture.geometry, 6))
        << "voxels with two or three of three votes";
    // The reviewer who built it may approve it; a decision on an annotator's version needs
    // a comment when it is not an approval.
    review.decide(consensus.annotationId, storage::Decision::Approve, {});
    EXPECT_EQ(review.version(consensus.annotationId).state, storage::ReviewState::Approved);
    EXPECT_THROW(review.decide(ids[1], storage::Decision::Reject, ""),
                 storage::InvalidRequestError);
    EXPECT_THROW(review.buildConsensus(ReviewSession::Method::Staple, {ids[0]}), ReviewRefused);
}

} // namespace
} // namespace radmark::workflow
