// The worklist rows of docs/review.md through workflow::worklist (the function behind the GUI's
// worklist and `radmark-cli studies`): one row per study, and in a blind study worked by several
// annotators one row per annotator (and one for consensus versions) for reviewers and admins,
// while each annotator has one row, her own line; the agreement report measures a blind study
// once, however many rows it has.

#include "StoreTestSupport.h"

#include "storage/Annotations.h"
#include "storage/Reviews.h"
#include "storage/Studies.h"
#include "storage/Users.h"
#include "workflow/AgreementReport.h"
#include "workflow/Review.h"

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

} // namespace
} // namespace radmark::workflow
