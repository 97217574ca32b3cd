#include "annotation/Version.h"
#include "AnnotationTestSupport.h"

#include <gtest/gtest.h>

using namespace radmark::annotation;
using namespace radmark::annotation::test;
using namespace radmark::imaging; // the chunk contract

namespace {
// Writes a different small pattern on each given slice.
void editSlices(LabelMap& labels, const std::vector<int>& slices, Label label) {
    for (int z : slices) {
        for (int x = 0; x <= z % 7 + 3; ++x)
            labels.set(Index3{x + 2, 5 + z % 5, z}, label);
    }
}
} // namespace

TEST(AnnotationVersions, FirstSaveStoresEmptySlicesOnce) {
    InMemoryChunkStore store;
    VersionHistory history(store);
    Editor e(grid({64, 64, 40}));
    SaveReport report;
    const Version& v =
        history.commit(e.labels, e.segments, {}, {"reader1", "start", {}, {}}, &report);
    EXPECT_EQ(report.chunksWritten, 1u);
    EXPECT_EQ(report.chunksReused, 39u);
    EXPECT_EQ(v.chunks.size(), 40u);
    EXPECT_EQ(store.bytesWritten(), report.bytesWritten);
}

TEST(AnnotationVersions, SavingFiveEditedSlicesWritesOnlyThoseChunks) {
    InMemoryChunkStore store;
    VersionHistory history(store);
    Editor e(grid({128, 128, 60}));
    editSlices(e.labels, {10, 11, 12, 13, 14, 15, 16, 17, 18, 19}, 1);
    history.commit(e.labels, e.segments, {}, {"reader1", "first", {}, {}});
    const std::size_t before = store.bytesWritten();
    const std::size_t chunksBefore = store.objectCount();

    editSlices(e.labels, {30, 31, 32, 33, 34}, 2);
    EXPECT_EQ(e.labels.dirtyChunks().size(), 5u);
    SaveReport report;
    const Version& v2 =
        history.commit(e.labels, e.segments, {},
                       {"reader1", "five slices", history.versions()[0].id, {}}, &report);
    EXPECT_EQ(report.chunksWritten, 5u);
    EXPECT_EQ(report.chunksReused, 55u);
    EXPECT_EQ(store.bytesWritten() - before, report.bytesWritten);
    EXPECT_EQ(store.objectCount(), chunksBefore + 5 + 1); // five chunks and the version record
    // Proportional to the edit: far less than one uncompressed slice per chunk.
    EXPECT_LT(report.bytesWritten, 5 * 128 * 128 / 4);
    EXPECT_EQ(v2.parent, history.versions()[0].id);
    EXPECT_EQ(v2.voxelCounts.at(2), 6u + 7 + 8 + 9 + 10); // z % 7 + 4 voxels on slice z

    SaveReport unchanged;
    history.commit(e.labels, e.segments, {}, {"reader1", "no change", v2.id, {}}, &unchanged);
    EXPECT_EQ(unchanged.chunksWritten, 0u);
}

TEST(AnnotationVersions, IdenticalChunksAreStoredOnce) {
    InMemoryChunkStore store;
    VersionHistory history(store);
    Editor e(grid({32, 32, 10}));
    fillBox(e.labels, {3, 3, 2}, {9, 9, 2}, 1);
    fillBox(e.labels, {3, 3, 5}, {9, 9, 5}, 1); // same content as slice 2
    SaveReport report;
    history.commit(e.labels, e.segments, {}, {"reader1", "twins", {}, {}}, &report);
    EXPECT_EQ(report.chunksWritten, 2u); // the empty slice and the square, once each
}

TEST(AnnotationVersions, SavedVersionsNeverChange) {
    InMemoryChunkStore store;
    VersionHistory history(store);
    Editor e(grid({48, 48, 20}));
    BoxList boxes(e.labels.geometry().dims);
    boxes.add2D(2, "reader1", SliceAxis::Axial, {5, 5, 3}, {10, 12, 3});
    editSlices(e.labels, {3, 4, 5}, 1);
    const LabelMap savedLabels = e.labels;
    const Version v1 = history.commit(e.labels, e.segments, boxes.all(), {"reader1", "v1", {}, {}});
    const Bytes record = store.get(v1.id);

    // Keep working: more edits, a renamed segment, a moved box, another save.
    editSlices(e.labels, {3, 8}, 2);
    e.segments.rename(1, "Changed");
    boxes.move(boxes.all()[0].id, {3, 3, 0});
    history.commit(e.labels, e.segments, boxes.all(), {"reader1", "v2", v1.id, {}});

    const OpenedAnnotation reopened = history.openReadOnly(v1.id);
    EXPECT_TRUE(reopened.labels == savedLabels);
    EXPECT_EQ(reopened.segments.get(1).name, "Liver");
    EXPECT_EQ(reopened.boxes.all()[0].min, (Index3{5, 5, 3}));
    EXPECT_EQ(store.get(v1.id), record);
    EXPECT_EQ(hashContent(record), v1.id);

    // Read-only means read-only.
    OpenedAnnotation readOnly = history.openReadOnly(v1.id);
    EXPECT_THROW(Stroke(readOnly.labels, readOnly.segments), ReadOnlyAnnotation);
    EXPECT_THROW(history.commit(readOnly.labels, readOnly.segments, {}, {"reader1", "x", {}, {}}),
                 ReadOnlyAnnotation);

    // A history reloaded from the store by id is the same.
    const VersionHistory reloaded = VersionHistory::load(store, history.ids());
    ASSERT_EQ(reloaded.versions().size(), 2u);
    EXPECT_EQ(reloaded.versions()[0].message, "v1");
    EXPECT_EQ(reloaded.versions()[1].parent, v1.id);
    EXPECT_EQ(reloaded.versions()[0].voxelCounts, v1.voxelCounts);
}

TEST(AnnotationVersions, NewDraftFromAnOldVersion) {
    InMemoryChunkStore store;
    VersionHistory history(store);
    Editor e(grid({32, 32, 8}));
    editSlices(e.labels, {1}, 1);
    const VersionId v1 = history.commit(e.labels, e.segments, {}, {"a", "v1", {}, {}}).id;
    editSlices(e.labels, {2}, 1);
    history.commit(e.labels, e.segments, {}, {"a", "v2", v1, {}});

    OpenedAnnotation draft = history.startDraft(v1);
    EXPECT_FALSE(draft.labels.readOnly());
    EXPECT_EQ(draft.parent, v1);
    EXPECT_TRUE(draft.labels.dirtyChunks().empty());
    editSlices(draft.labels, {6}, 2);
    SaveReport report;
    const Version& v3 = history.commit(draft.labels, draft.segments, draft.boxes.all(),
                                       {"b", "branch", draft.parent, {}}, &report);
    EXPECT_EQ(report.chunksWritten, 1u);
    EXPECT_EQ(v3.parent, v1);
    EXPECT_EQ(v3.voxelCounts.at(1), 5u); // slice 1 only, as in v1
}

TEST(AnnotationVersions, DamagedOrMissingChunksAreReportedNotLoaded) {
    InMemoryChunkStore store;
    VersionHistory history(store);
    Editor e(grid({32, 32, 8}));
    editSlices(e.labels, {4}, 1);
    const Version& v = history.commit(e.labels, e.segments, {}, {"a", "v1", {}, {}});
    store.corrupt(v.chunks[4]);
    EXPECT_THROW(history.openReadOnly(v.id), CorruptAnnotation);
    store.corrupt(v.id);
    EXPECT_THROW(VersionHistory::load(store, {v.id}), CorruptAnnotation);
    InMemoryChunkStore empty;
    EXPECT_THROW(VersionHistory::load(empty, {v.id}), CorruptAnnotation);
}

TEST(AnnotationDrafts, AutosaveWritesChangedChunksAndRecovers) {
    InMemoryChunkStore store;
    VersionHistory history(store);
    Editor e(grid({64, 64, 30}));
    BoxList boxes(e.labels.geometry().dims);
    boxes.add3D(1, "reader1", {1, 1, 1}, {5, 5, 5});
    const VersionId v1 = history.commit(e.labels, e.segments, {}, {"reader1", "v1", {}, {}}).id;

    editSlices(e.labels, {7, 9}, 1);
    SaveReport report;
    const Draft draft = history.autosave(e.labels, e.segments, boxes.all(), "reader1", v1, &report);
    EXPECT_EQ(report.chunksWritten, 2u);
    const Bytes kept = draft.serialize(); // what the app stores beside the study

    // After a crash: only the store and the draft record remain.
    const Draft parsed = Draft::parse(kept);
    const OpenedAnnotation recovered = history.recover(parsed);
    EXPECT_TRUE(recovered.labels == e.labels);
    EXPECT_EQ(recovered.parent, v1);
    EXPECT_EQ(recovered.boxes.all(), boxes.all());
    EXPECT_EQ(recovered.segments, e.segments);

    // Committing after an autosave writes no chunk twice.
    SaveReport commit;
    history.commit(e.labels, e.segments, boxes.all(), {"reader1", "v2", v1, {}}, &commit);
    EXPECT_EQ(commit.chunksWritten, 0u);
    EXPECT_THROW(Draft::parse(Bytes{'{', '}'}), CorruptAnnotation);
}

TEST(AnnotationVersions, OneLinePerVersionWithVoxelCounts) {
    InMemoryChunkStore store;
    VersionHistory history(store);
    Editor e(grid({16, 16, 4}));
    fillBox(e.labels, {0, 0, 0}, {3, 3, 0}, 1);
    const Version& v = history.commit(e.labels, e.segments, {},
                                      {"reader1", "liver \"done\"", {}, "2026-01-02T03:04:05Z"});
    const std::string line = describeVersion(v, "approved");
    EXPECT_EQ(line,
              v.id.hex().substr(0, 12) +
                  "  2026-01-02T03:04:05Z  reader1  approved  \"liver \\\"done\\\"\"  Liver=16");
}

TEST(AnnotationDrafts, AutosaveIsDueAfterTheIntervalWhenSomethingChanged) {
    using namespace std::chrono_literals;
    LabelMap labels(grid({4, 4, 2}));
    for (int z = 0; z < 2; ++z)
        labels.markClean(z, hashContent(labels.chunkBytes(z)));
    const auto t0 = AutosaveSchedule::Clock::now();
    AutosaveSchedule schedule(30s, t0);
    EXPECT_FALSE(schedule.due(labels, false, t0 + 31s)); // nothing changed
    labels.set(Index3{1, 1, 1}, 1);
    EXPECT_FALSE(schedule.due(labels, false, t0 + 29s));
    EXPECT_TRUE(schedule.due(labels, false, t0 + 30s));
    schedule.saved(t0 + 30s);
    EXPECT_FALSE(schedule.due(labels, false, t0 + 40s));
    EXPECT_TRUE(schedule.due(labels, true, t0 + 61s));
}

// The store service's save (app/cli/StoreAccess.h): the saver sends only the slices it edited.
// The version must be what a whole save of her map gives, and a slice she did not send is the
// parent's, whatever she holds there (a client lying about clean slices saves the parent's).
TEST(AnnotationVersions, ServiceSaveOfChangedChunksEqualsAWholeSave) {
    InMemoryChunkStore store;
    VersionHistory history(store);
    Editor e(grid({48, 40, 30}));
    editSlices(e.labels, {3, 4, 5, 10, 11, 20}, 1);
    editSlices(e.labels, {4, 21}, 2);
    const Version parent = history.commit(e.labels, e.segments, {}, {"reader1", "v1", {}, {}});

    // Her edits: slice 4 changed, slice 5 cleared, slice 12 labelled anew, slice 20 unchanged.
    LabelMap edited = e.labels;
    edited.set(Index3{30, 30, 4}, 1);
    for (auto& b : edited.chunkBytesForWriting(5))
        b = 0;
    editSlices(edited, {12}, 1);
    edited.markDirty(20);
    VersionHistory::ChangedChunks changed;
    for (int z : {4, 5, 12, 20})
        changed[z] = edited.chunkBytes(z);
    // ... and a lie about slice 10: she holds other labels there but says it is clean.
    LabelMap lie = edited;
    editSlices(lie, {10}, 2);

    SaveReport report;
    const Version fast = history.commitChanges(parent.id, changed, e.segments, {},
                                               {"reader1", "v2", {}, "2026-12-03T10:00:00Z"},
                                               &report);
    EXPECT_EQ(report.chunksWritten, 2u); // 4 and 12; 5 is the empty slice, 20 unchanged
    EXPECT_EQ(report.chunksReused, 28u);
    ASSERT_TRUE(fast.parent.has_value());
    EXPECT_EQ(*fast.parent, parent.id);

    VersionHistory whole = VersionHistory::load(store, {parent.id});
    LabelMap copy = edited;
    for (int z = 0; z < copy.chunkCount(); ++z)
        copy.markDirty(z);
    const Version full = whole.commit(copy, e.segments, {},
                                      {"reader1", "v2", parent.id, "2026-12-03T10:00:00Z"});
    EXPECT_EQ(fast.chunks, full.chunks);
    EXPECT_EQ(fast.voxelCounts, full.voxelCounts);
    EXPECT_EQ(fast.id, full.id); // the same record, byte for byte
    EXPECT_EQ(history.openReadOnly(fast.id).labels, edited);
    EXPECT_NE(history.openReadOnly(fast.id).labels, lie);
}

TEST(AnnotationVersions, ServiceSaveRefusesAnUnknownParentAndBadChunks) {
    InMemoryChunkStore store;
    VersionHistory history(store), other(store);
    Editor e(grid({16, 16, 8}));
    editSlices(e.labels, {2}, 1);
    const Version mine = history.commit(e.labels, e.segments, {}, {"a", "v1", {}, {}});
    editSlices(e.labels, {3}, 1);
    const Version theirs = other.commit(e.labels, e.segments, {}, {"b", "v1", {}, {}});
    const Bytes slice(16 * 16, 1), short_(16 * 15, 1);
    EXPECT_THROW(history.commitChanges(theirs.id, {{1, slice}}, e.segments, {}, {"a", "x", {}, {}}),
                 CorruptAnnotation);
    EXPECT_THROW(history.commitChanges(mine.id, {{8, slice}}, e.segments, {}, {"a", "x", {}, {}}),
                 std::invalid_argument);
    EXPECT_THROW(history.commitChanges(mine.id, {{-1, slice}}, e.segments, {}, {"a", "x", {}, {}}),
                 std::invalid_argument);
    EXPECT_THROW(history.commitChanges(mine.id, {{1, short_}}, e.segments, {}, {"a", "x", {}, {}}),
                 std::invalid_argument);
    EXPECT_EQ(history.versions().size(), 1u);
    const Version& ok =
        history.commitChanges(mine.id, {{1, slice}}, e.segments, {}, {"a", "v2", {}, {}});
    EXPECT_EQ(ok.voxelCounts.at(1), mine.voxelCounts.at(1) + 256u);
}

// The store service's session keeps the voxel counts of the chunks it hashed: a replaced chunk
// found there is not read back (here: a damaged copy in the store is never touched), and the
// version is the same as without.
TEST(AnnotationVersions, ServiceSaveWithKnownCountsNeedsNoReadBack) {
    InMemoryChunkStore store;
    VersionHistory history(store);
    Editor e(grid({24, 24, 10}));
    editSlices(e.labels, {2, 3, 7}, 1);
    const Version parent = history.commit(e.labels, e.segments, {}, {"a", "v1", {}, {}});
    VersionHistory::ChunkCounts known;
    for (int z = 0; z < e.labels.chunkCount(); ++z)
        known[parent.chunks[std::size_t(z)]] = e.labels.chunkVoxelCounts(z);
    LabelMap edited = e.labels;
    edited.set(Index3{20, 20, 3}, 2);
    const VersionHistory::Commit when{"a", "v2", {}, "2026-12-03T11:00:00Z"};
    VersionHistory again = VersionHistory::load(store, {parent.id});
    const VersionId plain =
        again.commitChanges(parent.id, {{3, edited.chunkBytes(3)}}, e.segments, {}, when).id;
    store.corrupt(parent.chunks[3]);
    EXPECT_THROW(VersionHistory::load(store, {parent.id})
                     .commitChanges(parent.id, {{3, edited.chunkBytes(3)}}, e.segments, {}, when),
                 CorruptAnnotation);
    const Version& fast = history.commitChanges(parent.id, {{3, edited.chunkBytes(3)}},
                                                e.segments, {}, when, nullptr, &known);
    EXPECT_EQ(fast.id, plain);
    EXPECT_EQ(fast.voxelCounts.at(2), 1u);
    EXPECT_EQ(known.at(fast.chunks[3]), edited.chunkVoxelCounts(3));
}
