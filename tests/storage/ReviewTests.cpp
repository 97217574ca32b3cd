// The review record, read back: decisions and comments with reviewer, text and time, the
// version's state as its latest decision, the version itself untouched, stored names limited to
// the known states, and no decision on a version one authored.

#include "StoreTestSupport.h"

#include "storage/Annotations.h"
#include "storage/AuditTrail.h"
#include "storage/Reviews.h"
#include "storage/Studies.h"
#include "storage/Users.h"

using namespace radmark::storage;
using namespace radmark::storage::testing;

namespace {

struct ReviewWorld {
    TestStore t;
    std::int64_t study = 0;
    std::int64_t version = 0;
    const std::vector<std::uint8_t> record{1, 2, 3, 4};

    ReviewWorld() {
        auto admin = t.admin();
        Users(admin).add("anna", Role::Annotator, userPassword);
        Users(admin).add("rick", Role::Reviewer, userPassword);
        study = Studies(admin).add("study-1", "");
        Studies(admin).assign("anna", study);
        auto anna = t.store.login("anna", userPassword);
        version = Annotations(anna).save(study, record, "v1");
    }
};

} // namespace

// Moved from the annotation library's own review list (gone): decisions are records about a
// version, and the state is the latest decision.
TEST(StorageReviews, DecisionsAreRecordsAboutAVersionReadBackWithWhoWhatAndWhen) {
    ReviewWorld w;
    auto rick = w.t.store.login("rick", userPassword);
    EXPECT_EQ(Annotations(rick).list(w.study).at(0).reviewState, ReviewState::Pending);
    EXPECT_STREQ(reviewStateName(ReviewState::Pending), "unreviewed");
    Reviews(rick).decide(w.version, ReviewState::Rejected, "missed lesion");
    Reviews(rick).comment(w.version, "see slice 12");
    Reviews(rick).decide(w.version, ReviewState::Approved, "fixed");
    EXPECT_EQ(Annotations(rick).list(w.study).at(0).reviewState, ReviewState::Approved);
    EXPECT_EQ(Annotations(rick).load(w.version), w.record); // the version is untouched

    const std::vector<ReviewRecord> history = Reviews(rick).history(w.version);
    ASSERT_EQ(history.size(), 3u);
    EXPECT_EQ(history[0].reviewer, "rick");
    EXPECT_EQ(history[0].annotationId, w.version);
    EXPECT_EQ(history[0].decision, ReviewState::Rejected);
    EXPECT_EQ(history[0].comment, "missed lesion");
    EXPECT_FALSE(history[1].decision); // a comment decides nothing
    EXPECT_EQ(history[1].comment, "see slice 12");
    EXPECT_EQ(history[2].decision, ReviewState::Approved);
    EXPECT_EQ(history[2].comment, "fixed");
    for (const auto& r : history) {
        EXPECT_FALSE(r.created.empty());
        EXPECT_GT(r.id, 0);
    }
    EXPECT_LE(history[0].created, history[2].created);
    // The author reads the reviews of her version.
    auto anna = w.t.store.login("anna", userPassword);
    EXPECT_EQ(Reviews(anna).history(w.version).size(), 3u);
    EXPECT_THROW(Reviews(rick).decide(w.version, ReviewState::Pending, ""), InvalidRequestError);
    EXPECT_THROW(Reviews(rick).history(w.version + 100), InvalidRequestError);
}

TEST(StorageReviews, NobodyDecidesOnAVersionTheyAuthored) {
    ReviewWorld w;
    {
        auto admin = w.t.admin();
        Users(admin).setRole("anna", Role::Reviewer); // the author of v1 now reviews
    }
    auto anna = w.t.store.login("anna", userPassword);
    EXPECT_THROW(Reviews(anna).decide(w.version, ReviewState::Approved, "mine, fine"),
                 PermissionDeniedError);
    EXPECT_EQ(Annotations(anna).list(w.study).at(0).reviewState, ReviewState::Pending);
    EXPECT_TRUE(Reviews(anna).history(w.version).empty());
}

TEST(StorageReviews, TheStoreTakesOnlyKnownStatesAndDecisions) {
    ReviewWorld w;
    Database db = w.t.attackerDatabase();
    EXPECT_THROW(db.exec("UPDATE annotations SET review_state = 'maybe'"), StoreError);
    EXPECT_THROW(db.exec("INSERT INTO reviews(annotation_id, reviewer_id, decision, comment, "
                         "created) VALUES (1, 1, 'maybe', '', '')"),
                 StoreError);
    for (const auto& names : reviewStates)
        EXPECT_NO_THROW(
            db.exec(std::string("UPDATE annotations SET review_state = '") + names.stored + "'"));
}
