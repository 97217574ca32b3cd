// The worklist rows of docs/review.md through workflow::worklist (the function behind the GUI's
// worklist and `radmark-cli studies`): one row per study, and in a blind study worked by several
// annotators one row per annotator (and one for consensus versions) for reviewers and admins,
// while each annotator has one row, her own line; the agreement report measures a blind study
// once, however many rows it has. The rows as the store service sends them (WorklistJson) read
// back field for field, and a reply that is not such rows is refused.

#include "StoreTestSupport.h"

#include "storage/Annotations.h"
#include "storage/Reviews.h"
#include "storage/Studies.h"
#include "storage/Users.h"
#include "workflow/AgreementReport.h"
#include "workflow/Review.h"
#include "workflow/WorklistJson.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace radmark::workflow {
namespace {

using namespace radmark::storage::testing;

std::int64_t saveRecord(storage::Session& s, std::int64_t study, const std::string& text) {
    return storage::Annotations(s).save(
        study, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()), text);
}

TEST(ReviewWorklist, ABlindStudyHasARowPerAnnotatorForReviewersAndOneForEachAnnotator) {
    TestStore t;
    std::int64_t blind = 0, shared = 0;
    {
        storage::Session admin = t.admin();
        for (const char* name : {"annie", "bert"})
            storage::Users(admin).add(name, storage::Role::Annotator, userPassword);
        storage::Users(admin).add("ruby", storage::Role::Reviewer, userPassword);
        blind = storage::Studies(admin).add("RM-BLIND", "");
        shared = storage::Studies(admin).add("RM-SHARED", "");
        for (const char* name : {"annie", "bert"}) {
            storage::Studies(admin).assign(name, blind);
            storage::Studies(admin).assign(name, shared);
        }
        storage::Studies(admin).setBlind(blind, true);
    }
    std::int64_t bertsBlind = 0;
    for (const char* name : {"annie", "bert"}) {
        storage::Session s = t.store.login(name, userPassword);
        const std::int64_t v = saveRecord(s, blind, std::string(name) + " blind");
        saveRecord(s, shared, std::string(name) + " shared");
        if (std::string(name) == "bert") {
            bertsBlind = v;
            submitForReview(s, v);
        }
    }

    storage::Session ruby = t.store.login("ruby", userPassword);
    const std::vector<WorklistRow> rows = worklist(ruby);
    ASSERT_EQ(rows.size(), 3u) << "two blind rows and one shared row";
    std::vector<std::string> blindLines;
    for (const WorklistRow& row : rows) {
        ASSERT_TRUE(row.latest);
        if (row.studyId == blind) {
            blindLines.push_back(row.annotator);
            EXPECT_EQ(row.latest->author, row.annotator) << "the row's latest is its own line's";
        } else {
            EXPECT_TRUE(row.annotator.empty());
            EXPECT_EQ(row.latest->author, "bert") << "a shared row shows the study's newest";
        }
    }
    std::sort(blindLines.begin(), blindLines.end());
    EXPECT_EQ(blindLines, (std::vector<std::string>{"annie", "bert"}));
    // Filtered by state: only bert's blind line is submitted.
    const std::vector<WorklistRow> submitted = worklist(ruby, storage::ReviewState::Submitted);
    ASSERT_EQ(submitted.size(), 1u);
    EXPECT_EQ(submitted.front().latest->annotationId, bertsBlind);

    for (const char* name : {"annie", "bert"}) {
        storage::Session s = t.store.login(name, userPassword);
        const std::vector<WorklistRow> own = worklist(s);
        ASSERT_EQ(own.size(), 2u) << name;
        for (const WorklistRow& row : own) {
            ASSERT_TRUE(row.latest);
            EXPECT_TRUE(row.annotator.empty());
            if (row.studyId == blind) {
                EXPECT_EQ(row.latest->author, name);
            }
        }
    }
}

void expectSameRows(const std::vector<WorklistRow>& a, const std::vector<WorklistRow>& b) {
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        SCOPED_TRACE("row " + std::to_string(i));
        EXPECT_EQ(a[i].studyId, b[i].studyId);
        EXPECT_EQ(a[i].pseudonym, b[i].pseudonym);
        EXPECT_EQ(a[i].modality, b[i].modality);
        EXPECT_EQ(a[i].description, b[i].description);
        EXPECT_EQ(a[i].annotators, b[i].annotators);
        EXPECT_EQ(a[i].annotator, b[i].annotator);
        EXPECT_EQ(a[i].openComments, b[i].openComments);
        ASSERT_EQ(bool(a[i].latest), bool(b[i].latest));
        if (!a[i].latest)
            continue;
        const ReviewVersion &x = *a[i].latest, &y = *b[i].latest;
        EXPECT_EQ(x.annotationId, y.annotationId);
        EXPECT_EQ(x.id, y.id);
        EXPECT_EQ(x.shortHash, y.shortHash);
        EXPECT_EQ(x.author, y.author);
        EXPECT_EQ(x.createdUtc, y.createdUtc);
        EXPECT_EQ(x.message, y.message);
        EXPECT_EQ(x.state, y.state);
        EXPECT_EQ(x.openComments, y.openComments);
        EXPECT_EQ(x.consensus, y.consensus);
        EXPECT_EQ(x.revises, y.revises);
    }
}

TEST(ReviewWorklist, RowsCrossTheServiceAsJsonFieldForFieldAndBadRepliesAreRefused) {
    TestStore t;
    std::int64_t study = 0;
    {
        storage::Session admin = t.admin();
        storage::Users(admin).add("annie", storage::Role::Annotator, userPassword);
        storage::Users(admin).add("ruby", storage::Role::Reviewer, userPassword);
        study = storage::Studies(admin).add("RM-SENT", "");
        storage::Studies(admin).add("RM-NO-VERSION", "");
        storage::Studies(admin).assign("annie", study);
    }
    {
        storage::Session annie = t.store.login("annie", userPassword);
        submitForReview(annie, saveRecord(annie, study, "annie's \"quoted\" message\n\u00e9"));
    }
    storage::Session ruby = t.store.login("ruby", userPassword);
    const std::vector<WorklistRow> rows = worklist(ruby), queue = reviewQueue(ruby);
    ASSERT_EQ(rows.size(), 2u);
    ASSERT_EQ(queue.size(), 1u);
    EXPECT_FALSE(rows[1].latest) << "a study without versions";
    ASSERT_TRUE(queue[0].latest);
    EXPECT_EQ(queue[0].latest->state, storage::ReviewState::Submitted);
    // Through text, as the channel carries it.
    expectSameRows(rows, worklistFromJson(nlohmann::json::parse(worklistJson(rows).dump())));
    expectSameRows(queue, worklistFromJson(nlohmann::json::parse(worklistJson(queue).dump())));
    EXPECT_TRUE(worklistFromJson(nlohmann::json::array()).empty());

    const nlohmann::json good = worklistJson(queue);
    nlohmann::json badHash = good, badState = good, missing = good;
    badHash[0]["latest"]["id"] = "not hex";
    badState[0]["latest"]["state"] = "published";
    missing[0].erase("pseudonym");
    for (const nlohmann::json& bad :
         {badHash, badState, missing, nlohmann::json::object(), nlohmann::json("rows")})
        EXPECT_THROW(worklistFromJson(bad), UnreadableWorklist) << bad.dump();
}

} // namespace
} // namespace radmark::workflow
