// The dataset calls of the workflow layer on real versions (no X server): the segments and the
// parent chain of each case's version are read from the annotation records, the label table is
// built from their terminology codes (a segment without one is named with its case), and
// revisionContents gives the composer the frozen revision as plain values: the chain, the label
// mapping, decisions, annotators with credentials. Real store, real import (pydicom's CT_small).

#include "StoreTestSupport.h"

#include "annotation/Segment.h"
#include "storage/Datasets.h"
#include "storage/StoredStudy.h"
#include "storage/Studies.h"
#include "storage/StudyImport.h"
#include "storage/Users.h"
#include "workflow/DatasetJson.h"
#include "workflow/Datasets.h"
#include "workflow/Review.h"
#include "workflow/StoredAnnotations.h"

#include <gtest/gtest.h>

#include <fstream>

namespace radmark::workflow {
namespace {

using namespace radmark::storage::testing;

TEST(DatasetWorkflow, RevisionContentsFromRealVersions) {
    TestStore store;
    std::int64_t studyId = 0;
    {
        storage::Session admin = store.admin();
        storage::Users(admin).add("annie", storage::Role::Annotator, userPassword);
        storage::Users(admin).add("ruby", storage::Role::Reviewer, userPassword);
        const auto imported = storage::importStudies(admin, {RADMARK_PYDICOM_DATA "/CT_small.dcm"});
        ASSERT_EQ(imported.size(), 1u);
        ASSERT_EQ(imported[0].status, storage::ImportStatus::Imported) << imported[0].reason;
        studyId = imported[0].studyId;
        storage::Studies(admin).assign("annie", studyId);
        storage::Users(admin).setCredentials("annie",
                                             {"Radiology resident", "MD", 3, "2026-03-01", {}, {}});
    }
    std::int64_t parentId = 0, approvedId = 0;
    std::string parentHash;
    {
        storage::Session annie = store.store.login("annie", userPassword);
        const imaging::Geometry grid = storage::loadStoredVolume(annie, studyId).geometry();
        StoredAnnotationHistory history(annie, studyId);
        annotation::SegmentList segments;
        annotation::Terminology::bundled().addSegment(segments, "10200004"); // Liver, label 1
        segments.add("Lesion", annotation::Rgb{200, 0, 0});                  // label 2, no code
        annotation::LabelMap labels(grid);
        labels.set(annotation::Index3{1, 1, 0}, 1);
        labels.set(annotation::Index3{2, 2, 0}, 2);
        const annotation::Version first = history.save(labels, segments, {}, "first", {});
        labels.set(annotation::Index3{3, 3, 0}, 1);
        const annotation::Version second = history.save(labels, segments, {}, "more", first.id);
        parentHash = first.id.hex();
        for (const auto& [record, id] : [&] {
                 std::vector<std::pair<storage::AnnotationRecord, annotation::VersionId>> out;
                 for (std::size_t i = 0; i < history.stored().records.size(); ++i)
                     out.emplace_back(history.stored().records[i], history.stored().ids[i]);
                 return out;
             }()) {
            if (id == first.id)
                parentId = record.id;
            if (id == second.id)
                approvedId = record.id;
        }
        ASSERT_NE(approvedId, 0);
        submitForReview(annie, approvedId);
    }
    {
        storage::Session ruby = store.store.login("ruby", userPassword);
        ReviewSession review(ruby, studyId);
        review.decide(approvedId, storage::Decision::Approve, "good");
    }

    storage::Session admin = store.admin();
    createDataset(admin, "Liver", 501, "liver model");
    addStudies(admin, "Liver", {std::to_string(studyId)});
    const std::filesystem::path guide = store.dir.path() / "guide.md";
    std::ofstream(guide) << "# Liver guideline\n";
    setProtocol(admin, "Liver", guide);
    splitDataset(admin, "Liver", storage::splitSettings(1, 1, 0, 0));

    // The survey reads the version's segments and its parent.
    const storage::LabelSurvey survey = surveyLabels(admin, "Liver");
    ASSERT_EQ(survey.size(), 1u);
    EXPECT_EQ(survey[0].annotationId, approvedId);
    EXPECT_EQ(survey[0].parentChain, (std::vector<std::string>{parentHash}));
    ASSERT_EQ(survey[0].segments.size(), 2u);
    EXPECT_EQ(survey[0].segments[0].type->code, "10200004");
    EXPECT_EQ(survey[0].segments[0].category->code, "91723000");
    EXPECT_FALSE(survey[0].segments[1].type);

    // The lesion has no code: named with its case, refused until its name is mapped.
    const storage::LabelTable table = checkLabelTable(admin, "Liver");
    ASSERT_EQ(table.conflicts.size(), 1u);
    const std::string pseudonym = storage::Datasets(admin).get("Liver").cases[0].pseudonym;
    EXPECT_EQ(table.conflicts[0].cases, (std::vector<std::string>{pseudonym}));
    EXPECT_THROW(freezeRevision(admin, "Liver"), storage::DatasetRuleError);
    mapSegmentName(admin, "Liver",
                   {"Lesion", parseCodedTerm("SCT:108369006:Neoplasm"),
                    parseCodedTerm("SCT:49755003:Morphologically abnormal structure")});
    EXPECT_TRUE(checkLabelTable(admin, "Liver").conflicts.empty());

    const storage::FrozenRevision frozen = freezeRevision(admin, "Liver");
    const DatasetRevisionContents c = revisionContents(admin, frozen.revision.id);
    EXPECT_EQ(c.datasetName, "Liver");
    EXPECT_EQ(c.number, 501);
    EXPECT_EQ(c.contentHash, frozen.revision.contentHash);
    EXPECT_EQ(c.protocol.fileName, "guide.md");
    ASSERT_EQ(c.labels.size(), 2u);
    EXPECT_EQ(c.labels[0].name, "Liver");
    EXPECT_EQ(c.labels[1].name, "Lesion");
    EXPECT_EQ(c.labels[1].category->code, "49755003");
    ASSERT_EQ(c.cases.size(), 1u);
    const storage::RevisionCase& k = c.cases[0];
    EXPECT_EQ(k.studyId, studyId);
    EXPECT_EQ(k.pseudonym, pseudonym);
    EXPECT_EQ(k.patientPseudonym.rfind("RM", 0), 0u);
    EXPECT_EQ(pseudonym.rfind(k.patientPseudonym + "-", 0), 0u) << "the label starts with it";
    EXPECT_EQ(k.split, storage::Split::Train);
    EXPECT_EQ(k.annotationId, approvedId);
    EXPECT_FALSE(k.unapproved);
    EXPECT_EQ(k.labelValues, (std::map<std::uint32_t, int>{{1, 1}, {2, 2}}));
    ASSERT_EQ(k.chain.size(), 2u);
    EXPECT_EQ(k.chain[1].annotationId, parentId);
    EXPECT_EQ(k.annotators, (std::vector<std::string>{"annie"}));
    EXPECT_EQ(k.reviewers, (std::vector<std::string>{"ruby"}));
    ASSERT_EQ(k.decisions.size(), 1u);
    EXPECT_EQ(k.decisions[0].decision, "approve");
    ASSERT_EQ(c.people.size(), 2u);
    EXPECT_EQ(c.people[0].credentials->title, "Radiology resident");

    // Frozen again unchanged: the same revision.
    EXPECT_TRUE(freezeRevision(admin, "Liver").existing);
    const DatasetOverview o = showDataset(admin, "Liver");
    EXPECT_EQ(o.revisions.size(), 1u);
    EXPECT_NE(overviewJson(o).find(frozen.revision.contentHash), std::string::npos);
    EXPECT_THROW(parseCodedTerm("SCT:123"), storage::InvalidRequestError);
    EXPECT_EQ(parseCodedTerm("SCT:1:a:b").meaning, "a:b");
}

} // namespace
} // namespace radmark::workflow
