// Datasets as JSON (workflow/DatasetJson.h): what `dataset show --json` prints and the store
// service sends its client for Admin > Datasets. Each reader gives back every field its writer
// wrote (an overview of a real store: two cases, one of them an explicitly chosen draft, a
// split, two protocol versions, a name mapping, a label conflict, a frozen revision and its
// exports), and refuses any damaged value with UnreadableDataset: every key of every object
// removed in turn, or given the wrong type, and unknown state, split and outcome names.

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
using nlohmann::json;

// The store id of the version `id` among a history's stored records.
std::int64_t recordOf(StoredAnnotationHistory& history, const annotation::VersionId& id) {
    for (std::size_t i = 0; i < history.stored().records.size(); ++i)
        if (history.stored().ids[i] == id)
            return history.stored().records[i].id;
    return 0;
}

// Every member of every object in a document, as a pointer to it.
void collectMembers(const json& j, const json::json_pointer& at,
                    std::vector<json::json_pointer>& out) {
    if (j.is_object()) {
        for (const auto& [key, value] : j.items()) {
            out.push_back(at / key);
            collectMembers(value, at / key, out);
        }
    } else if (j.is_array()) {
        for (std::size_t i = 0; i < j.size(); ++i)
            collectMembers(j[i], at / i, out);
    }
}

// Each member removed, then given a value of another type: the reader refuses every one with
// UnreadableDataset (so it also reads every key its writer wrote).
template <class Read> void expectEveryDamageRefused(const json& written, const Read& read) {
    std::vector<json::json_pointer> members;
    collectMembers(written, json::json_pointer(), members);
    ASSERT_FALSE(members.empty());
    for (const json::json_pointer& p : members) {
        SCOPED_TRACE(p.to_string());
        json missing = written;
        missing[p.parent_pointer()].erase(p.back());
        EXPECT_THROW(read(missing), UnreadableDataset);
        json wrongType = written;
        wrongType[p] = written[p].is_array() ? json("wrong") : json::array();
        EXPECT_THROW(read(wrongType), UnreadableDataset);
    }
}

template <class Read> void expectRefused(json document, const char* at, json value, Read read) {
    SCOPED_TRACE(at);
    document[json::json_pointer(at)] = std::move(value);
    EXPECT_THROW(read(document), UnreadableDataset);
}

// A real store: study A (CT) with an approved version and its parent, study B (MR) with one
// draft chosen explicitly, added after the split and the freeze (no split; its segment has no
// code: a label conflict naming it). Two protocol versions, a name mapping, revision 1 and three
// exports of it: completed, refused, started without an outcome yet.
struct DatasetStore {
    TestStore store;
    std::int64_t ctStudy = 0, mrStudy = 0, approvedId = 0, draftId = 0, revisionId = 0;

    DatasetStore() {
        {
            storage::Session admin = store.admin();
            storage::Users(admin).add("annie", storage::Role::Annotator, userPassword);
            storage::Users(admin).add("ruby", storage::Role::Reviewer, userPassword);
            const auto imported =
                storage::importStudies(admin, {RADMARK_PYDICOM_DATA "/CT_small.dcm",
                                               RADMARK_PYDICOM_DATA "/MR_small.dcm"});
            EXPECT_EQ(imported.size(), 2u);
            for (const auto& i : imported)
                EXPECT_EQ(i.status, storage::ImportStatus::Imported) << i.reason;
            ctStudy = imported.at(0).studyId;
            mrStudy = imported.at(1).studyId;
            storage::Studies(admin).assign("annie", ctStudy);
            storage::Studies(admin).assign("annie", mrStudy);
        }
        {
            storage::Session annie = store.store.login("annie", userPassword);
            {
                StoredAnnotationHistory history(annie, ctStudy);
                annotation::SegmentList segments;
                annotation::Terminology::bundled().addSegment(segments, "10200004"); // Liver
                segments.add("Lesion", annotation::Rgb{200, 0, 0});                  // no code
                annotation::LabelMap labels(storage::loadStoredVolume(annie, ctStudy).geometry());
                labels.set(annotation::Index3{1, 1, 0}, 1);
                labels.set(annotation::Index3{2, 2, 0}, 2);
                const annotation::Version first = history.save(labels, segments, {}, "first", {});
                labels.set(annotation::Index3{3, 3, 0}, 1);
                const annotation::Version second =
                    history.save(labels, segments, {}, "more", first.id);
                approvedId = recordOf(history, second.id);
                submitForReview(annie, approvedId);
            }
            {
                StoredAnnotationHistory history(annie, mrStudy);
                annotation::SegmentList segments;
                segments.add("Tumour", annotation::Rgb{0, 200, 0}); // no code
                annotation::LabelMap labels(storage::loadStoredVolume(annie, mrStudy).geometry());
                labels.set(annotation::Index3{1, 1, 0}, 1);
                draftId = recordOf(history, history.save(labels, segments, {}, "draft", {}).id);
            }
        }
        {
            storage::Session ruby = store.store.login("ruby", userPassword);
            ReviewSession(ruby, ctStudy).decide(approvedId, storage::Decision::Approve, "good");
        }
        storage::Session admin = store.admin();
        createDataset(admin, "Liver", 501, "liver model");
        addStudies(admin, "Liver", {std::to_string(ctStudy)});
        const std::filesystem::path guide = store.dir.path() / "guide.md";
        std::ofstream(guide) << "# Liver guideline\n";
        setProtocol(admin, "Liver", guide);
        splitDataset(admin, "Liver", storage::splitSettings(7, 0.7, 0.1, 0.2));
        mapSegmentName(admin, "Liver",
                       {"Lesion", parseCodedTerm("SCT:108369006:Neoplasm"),
                        parseCodedTerm("SCT:49755003:Morphologically abnormal structure")});
        revisionId = freezeRevision(admin, "Liver").revision.id;

        storage::Datasets datasets(admin);
        std::vector<storage::ExportedVersion> versions;
        for (const storage::RevisionCase& c : revisionContents(admin, revisionId).cases)
            versions.push_back({c.pseudonym, c.versionHash, c.unapproved, c.split});
        const std::int64_t completed = datasets.recordExportStarted(revisionId, "local", "b1");
        datasets.recordExportCompleted(completed, std::string(64, 'a'), versions);
        datasets.recordExportRefused(revisionId, "/media/usb", "removable medium");
        datasets.recordExportStarted(revisionId, "share", "b3");

        std::ofstream(guide) << "# Liver guideline, second version\n";
        setProtocol(admin, "Liver", guide);
        addStudies(admin, "Liver", {std::to_string(mrStudy)}, std::to_string(draftId));
    }
};

TEST(DatasetJson, OverviewOfARealStoreReadsBackEveryField) {
    DatasetStore s;
    storage::Session admin = s.store.admin();
    const DatasetOverview o = showDataset(admin, "Liver");
    ASSERT_EQ(o.dataset.cases.size(), 2u);
    ASSERT_EQ(o.dataset.protocolVersions.size(), 2u);
    ASSERT_EQ(o.revisions.size(), 1u);
    ASSERT_EQ(o.exports.size(), 3u);
    ASSERT_EQ(o.labels.conflicts.size(), 1u);

    const std::string text = overviewJson(o);
    const DatasetOverview back = overviewFromJson(text);
    EXPECT_EQ(overviewJson(back), text);

    const storage::DatasetSummary& summary = back.dataset.summary;
    EXPECT_EQ(summary.id, o.dataset.summary.id);
    EXPECT_NE(summary.id, 0);
    EXPECT_EQ(summary.name, "Liver");
    EXPECT_EQ(summary.number, 501);
    EXPECT_EQ(summary.cases, o.dataset.summary.cases);
    EXPECT_EQ(summary.revisions, o.dataset.summary.revisions);
    EXPECT_EQ(summary.exports, o.dataset.summary.exports);

    for (std::size_t i = 0; i < 2; ++i) {
        const storage::ProtocolVersion& p = back.dataset.protocolVersions[i];
        EXPECT_EQ(p.id, o.dataset.protocolVersions[i].id);
        EXPECT_EQ(p.version, int(i) + 1);
        EXPECT_EQ(p.sha256, o.dataset.protocolVersions[i].sha256);
        EXPECT_EQ(p.size, o.dataset.protocolVersions[i].size);
    }
    EXPECT_NE(back.dataset.protocolVersions[0].id, back.dataset.protocolVersions[1].id);
    ASSERT_TRUE(back.dataset.protocol);
    EXPECT_EQ(back.dataset.protocol->id, o.dataset.protocolVersions[1].id);

    ASSERT_TRUE(back.dataset.split);
    EXPECT_EQ(*back.dataset.split, (storage::SplitSettings{7, 700, 100, 200, false}));

    for (std::size_t i = 0; i < 2; ++i) {
        const storage::DatasetCase& c = back.dataset.cases[i];
        const storage::DatasetCase& was = o.dataset.cases[i];
        SCOPED_TRACE(was.pseudonym);
        EXPECT_FALSE(c.added.empty());
        EXPECT_EQ(c.added, was.added);
        EXPECT_EQ(c.studyId, was.studyId);
        EXPECT_EQ(c.patientPseudonym, was.patientPseudonym);
        EXPECT_EQ(c.chosenVersion, was.chosenVersion);
        EXPECT_EQ(c.version, was.version);
        EXPECT_EQ(c.versionHash, was.versionHash);
        EXPECT_EQ(c.state, was.state);
        EXPECT_EQ(c.unapproved, was.unapproved);
        EXPECT_EQ(c.split, was.split);
    }
    const auto caseOf = [&](std::int64_t study) {
        for (const storage::DatasetCase& c : back.dataset.cases)
            if (c.studyId == study)
                return c;
        ADD_FAILURE() << "no case of study " << study;
        return storage::DatasetCase{};
    };
    const storage::DatasetCase draft = caseOf(s.mrStudy);
    EXPECT_EQ(draft.chosenVersion, s.draftId);
    EXPECT_TRUE(draft.unapproved);
    EXPECT_EQ(draft.state, storage::ReviewState::Draft);
    EXPECT_FALSE(draft.split);
    const storage::DatasetCase approved = caseOf(s.ctStudy);
    EXPECT_FALSE(approved.chosenVersion);
    EXPECT_EQ(approved.version, s.approvedId);
    EXPECT_EQ(approved.state, storage::ReviewState::Approved);
    EXPECT_EQ(approved.split, storage::Split::Train);

    ASSERT_EQ(back.dataset.mappings.size(), 1u);
    EXPECT_EQ(back.dataset.mappings[0].segmentName, "Lesion");
    EXPECT_EQ(back.dataset.mappings[0].type, (storage::CodedTerm{"SCT", "108369006", "Neoplasm"}));
    EXPECT_EQ(back.dataset.mappings[0].category->code, "49755003");

    ASSERT_EQ(back.labels.entries.size(), o.labels.entries.size());
    EXPECT_EQ(back.labels.entries[0].type.code, "10200004");
    ASSERT_EQ(back.labels.cases.size(), o.labels.cases.size());
    ASSERT_FALSE(back.labels.cases.empty());
    for (std::size_t i = 0; i < back.labels.cases.size(); ++i) {
        EXPECT_EQ(back.labels.cases[i].studyId, o.labels.cases[i].studyId);
        EXPECT_EQ(back.labels.cases[i].pseudonym, o.labels.cases[i].pseudonym);
        EXPECT_EQ(back.labels.cases[i].valueOf, o.labels.cases[i].valueOf);
    }
    EXPECT_EQ(back.labels.conflicts[0].problem, o.labels.conflicts[0].problem);
    EXPECT_EQ(back.labels.conflicts[0].cases, (std::vector<std::string>{draft.pseudonym}));

    EXPECT_EQ(back.revisions[0].id, s.revisionId);
    EXPECT_EQ(back.revisions[0].parentRevision, 0);
    EXPECT_EQ(back.revisions[0].contentHash, o.revisions[0].contentHash);
    EXPECT_EQ(back.revisions[0].cases, 1);

    const std::vector<storage::ExportOutcome> outcomes = {storage::ExportOutcome::Completed,
                                                          storage::ExportOutcome::Refused,
                                                          storage::ExportOutcome::Started};
    for (std::size_t i = 0; i < 3; ++i) {
        const storage::DatasetExport& x = back.exports[i];
        const storage::DatasetExport& was = o.exports[i];
        SCOPED_TRACE(was.bundleId);
        EXPECT_EQ(x.id, was.id);
        EXPECT_EQ(x.revisionId, s.revisionId);
        EXPECT_EQ(x.revision, 1);
        EXPECT_EQ(x.outcome, outcomes[i]);
        EXPECT_EQ(x.started, was.started);
        EXPECT_EQ(x.reason, was.reason);
        EXPECT_EQ(x.manifestHash, was.manifestHash);
        EXPECT_EQ(x.versions, was.versions);
    }
    EXPECT_EQ(back.exports[0].manifestHash, std::string(64, 'a'));
    ASSERT_EQ(back.exports[0].versions.size(), 1u);
    EXPECT_EQ(back.exports[0].versions[0].split, storage::Split::Train);
    EXPECT_FALSE(back.exports[1].started);

    // What scripts read keeps its form.
    const json j = json::parse(text);
    EXPECT_EQ(j.at("split").at("train"), 0.7);
    EXPECT_EQ(j.at("cases").size(), 2u);
    EXPECT_EQ(j.at("revisions").at(0).at("parent"), nullptr);
    for (const json& c : j.at("cases")) {
        if (c.at("study_id") == s.ctStudy) {
            EXPECT_EQ(c.at("chosen"), "latest approved");
        }
    }
}

TEST(DatasetJson, DamagedOverviewIsUnreadable) {
    DatasetStore s;
    storage::Session admin = s.store.admin();
    const json written = json::parse(overviewJson(showDataset(admin, "Liver")));
    const auto read = [](const json& j) { return overviewFromJson(j.dump()); };
    expectEveryDamageRefused(written, read);
    expectRefused(written, "/cases/0/state", "finished", read);
    expectRefused(written, "/cases/0/split", "holdout", read);
    expectRefused(written, "/cases/0/chosen", "the newest", read);
    expectRefused(written, "/cases/0/study_id", 1.5, read);
    expectRefused(written, "/number", std::int64_t(1) << 40, read);
    expectRefused(written, "/exports/0/outcome", "exploded", read);
    expectRefused(written, "/exports/0/versions/0/split", "holdout", read);
    expectRefused(written, "/split/train", "0.7", read);
    expectRefused(written, "/label_cases/0/segments/0/label", -1, read);
    EXPECT_THROW(overviewFromJson("not JSON {"), UnreadableDataset);
    EXPECT_THROW(overviewFromJson("[]"), UnreadableDataset);
    EXPECT_THROW(overviewFromJson(""), UnreadableDataset);
    try {
        overviewFromJson(written.dump().substr(0, 40));
        ADD_FAILURE() << "a cut overview was read";
    } catch (const UnreadableDataset& e) {
        EXPECT_STREQ(e.what(), "the dataset overview is not JSON");
    }
    try {
        json damaged = written;
        damaged["cases"][0].erase("added");
        overviewFromJson(damaged.dump());
        ADD_FAILURE() << "a case without its time was read";
    } catch (const UnreadableDataset& e) {
        EXPECT_STREQ(e.what(), "a dataset case's \"added\" is not readable");
    }
}

TEST(DatasetJson, DatasetSummariesReadBackEveryField) {
    DatasetStore s;
    storage::Session admin = s.store.admin();
    createDataset(admin, "Spleen", std::nullopt, "");
    const std::vector<storage::DatasetSummary> list = listDatasets(admin);
    ASSERT_EQ(list.size(), 2u);
    const json written = datasetSummariesJson(list);
    const std::vector<storage::DatasetSummary> back = datasetSummariesFromJson(written);
    ASSERT_EQ(back.size(), 2u);
    for (std::size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(back[i].id, list[i].id);
        EXPECT_EQ(back[i].name, list[i].name);
        EXPECT_EQ(back[i].number, list[i].number);
        EXPECT_EQ(back[i].purpose, list[i].purpose);
        EXPECT_EQ(back[i].createdBy, list[i].createdBy);
        EXPECT_EQ(back[i].created, list[i].created);
        EXPECT_EQ(back[i].cases, list[i].cases);
        EXPECT_EQ(back[i].revisions, list[i].revisions);
        EXPECT_EQ(back[i].exports, list[i].exports);
    }
    EXPECT_EQ(datasetSummariesJson(back), written);
    expectEveryDamageRefused(written, [](const json& j) { return datasetSummariesFromJson(j); });
    EXPECT_THROW(datasetSummariesFromJson(json::object()), UnreadableDataset);
}

TEST(DatasetJson, CandidateStudiesReadBackEveryField) {
    const std::vector<CandidateStudy> studies = {
        {12,
         "RMAB12-00000012",
         "CT",
         "Abdomen",
         {{40, std::string(64, 'b'), "annie", "2026-01-02T03:04:05Z",
           storage::ReviewState::ChangesRequested},
          {41, std::string(64, 'c'), "bob", "2026-01-03T03:04:05Z",
           storage::ReviewState::Approved}}},
        {13, "RMCD13-00000013", "MR", "", {}},
    };
    const json written = candidateStudiesJson(studies);
    const std::vector<CandidateStudy> back = candidateStudiesFromJson(written);
    ASSERT_EQ(back.size(), 2u);
    EXPECT_EQ(back[0].studyId, 12);
    EXPECT_EQ(back[0].pseudonym, "RMAB12-00000012");
    EXPECT_EQ(back[0].modality, "CT");
    EXPECT_EQ(back[0].description, "Abdomen");
    ASSERT_EQ(back[0].versions.size(), 2u);
    EXPECT_EQ(back[0].versions[0].annotationId, 40);
    EXPECT_EQ(back[0].versions[0].contentHash, std::string(64, 'b'));
    EXPECT_EQ(back[0].versions[0].author, "annie");
    EXPECT_EQ(back[0].versions[0].created, "2026-01-02T03:04:05Z");
    EXPECT_EQ(back[0].versions[0].state, storage::ReviewState::ChangesRequested);
    EXPECT_EQ(back[0].versions[1].state, storage::ReviewState::Approved);
    EXPECT_TRUE(back[1].versions.empty());
    EXPECT_EQ(candidateStudiesJson(back), written);

    const auto read = [](const json& j) { return candidateStudiesFromJson(j); };
    expectEveryDamageRefused(written, read);
    expectRefused(written, "/0/versions/1/state", "pending", read);
    expectRefused(written, "/0/versions/1/version", "41", read);
}

TEST(DatasetJson, SplitSettingsReadBackToTheExactPermille) {
    for (const storage::SplitSettings& settings :
         {storage::SplitSettings{-5, 289, 1, 710, true}, storage::SplitSettings{},
          storage::SplitSettings{std::int64_t(1) << 60, 1000, 0, 0, false},
          storage::SplitSettings{3, 333, 333, 334, false}}) {
        const json written = splitSettingsJson(settings);
        EXPECT_EQ(splitSettingsFromJson(written), settings) << written.dump();
        EXPECT_EQ(splitSettingsFromJson(json::parse(written.dump())), settings) << written.dump();
    }
    // As a person writes them: decimals, rounded to the nearest thousandth.
    const storage::SplitSettings typed = splitSettingsFromJson(json::parse(
        R"({"seed": 9, "train": 0.5699999, "validation": 0.14, "test": 0.29,
            "keep_exported_test": false})"));
    EXPECT_EQ(typed, (storage::SplitSettings{9, 570, 140, 290, false}));
    EXPECT_EQ(splitSettingsFromJson(json::parse(R"({"seed": 9, "train": 1, "validation": 0,
        "test": 0, "keep_exported_test": true})"))
                  .trainPermille,
              1000);

    const json written = splitSettingsJson({});
    const auto read = [](const json& j) { return splitSettingsFromJson(j); };
    expectEveryDamageRefused(written, read);
    expectRefused(written, "/seed", 1.5, read);
    expectRefused(written, "/train", 1e300, read);
    expectRefused(written, "/keep_exported_test", 0, read);
}

TEST(DatasetJson, ProtocolMappingAndRevisionReadBackEveryField) {
    const storage::ProtocolVersion protocol{
        17,          2,     std::string(64, 'd'),   "application/pdf",
        "guide.pdf", 12345, "2026-02-03T04:05:06Z", "ada-admin"};
    const storage::ProtocolVersion p = protocolVersionFromJson(protocolVersionJson(protocol));
    EXPECT_EQ(p.id, 17);
    EXPECT_EQ(p.version, 2);
    EXPECT_EQ(p.sha256, protocol.sha256);
    EXPECT_EQ(p.mediaType, "application/pdf");
    EXPECT_EQ(p.fileName, "guide.pdf");
    EXPECT_EQ(p.size, 12345);
    EXPECT_EQ(p.created, protocol.created);
    EXPECT_EQ(p.createdBy, "ada-admin");
    expectEveryDamageRefused(protocolVersionJson(protocol),
                             [](const json& j) { return protocolVersionFromJson(j); });

    for (const storage::SegmentNameMapping& mapping :
         {storage::SegmentNameMapping{"Lesion", {"SCT", "108369006", "Neoplasm"}, std::nullopt},
          storage::SegmentNameMapping{"Lesion",
                                      {"SCT", "108369006", "Neoplasm"},
                                      storage::CodedTerm{"SCT", "49755003", "Abnormal"}}}) {
        const json written = segmentNameMappingJson(mapping);
        const storage::SegmentNameMapping m = segmentNameMappingFromJson(written);
        EXPECT_EQ(m.segmentName, mapping.segmentName);
        EXPECT_EQ(m.type, mapping.type);
        EXPECT_EQ(m.category, mapping.category);
        expectEveryDamageRefused(written,
                                 [](const json& j) { return segmentNameMappingFromJson(j); });
    }

    for (const storage::RevisionSummary& revision :
         {storage::RevisionSummary{5, 1, std::string(64, 'e'), 0, "2026-03-04T05:06:07Z", "ada", 3},
          storage::RevisionSummary{6, 2, std::string(64, 'f'), 1, "2026-03-05T05:06:07Z", "ada",
                                   4}}) {
        const json written = revisionSummaryJson(revision);
        const storage::RevisionSummary r = revisionSummaryFromJson(written);
        EXPECT_EQ(r.id, revision.id);
        EXPECT_EQ(r.revision, revision.revision);
        EXPECT_EQ(r.contentHash, revision.contentHash);
        EXPECT_EQ(r.parentRevision, revision.parentRevision);
        EXPECT_EQ(r.frozen, revision.frozen);
        EXPECT_EQ(r.frozenBy, revision.frozenBy);
        EXPECT_EQ(r.cases, revision.cases);
        expectEveryDamageRefused(written, [](const json& j) { return revisionSummaryFromJson(j); });
    }
    EXPECT_THROW(protocolVersionFromJson(json("guide")), UnreadableDataset);
    EXPECT_THROW(revisionSummaryFromJson(nullptr), UnreadableDataset);
}

} // namespace
} // namespace radmark::workflow
