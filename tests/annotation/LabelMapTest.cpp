#include "AnnotationTestSupport.h"

#include <gtest/gtest.h>

using namespace radmark::annotation;
using namespace radmark::annotation::test;
using namespace radmark::imaging; // the chunk contract

TEST(AnnotationLabelMap, StartsEmptyWithOneChunkPerSliceAllDirty) {
    LabelMap labels(grid({8, 6, 5}));
    EXPECT_EQ(labels.chunkCount(), 5);
    EXPECT_EQ(labels.chunkVoxels(), 48u);
    EXPECT_EQ(labels.dirtyChunks().size(), 5u);
    EXPECT_TRUE(labels.voxelCounts().empty());
}

TEST(AnnotationLabelMap, WritingMarksOnlyThatSliceDirty) {
    LabelMap labels(grid({8, 6, 5}));
    for (int z = 0; z < 5; ++z)
        labels.markClean(z, hashContent(labels.chunkBytes(z)));
    labels.set(Index3{3, 2, 4}, 7);
    EXPECT_EQ(labels.dirtyChunks(), std::vector<int>{4});
    EXPECT_EQ(labels.at(Index3{3, 2, 4}), 7);
    EXPECT_FALSE(labels.knownHash(4).has_value());
    EXPECT_TRUE(labels.knownHash(3).has_value());
}

TEST(AnnotationLabelMap, WideningKeepsLabelsAndAllowsMoreThan255) {
    LabelMap labels(grid({4, 4, 2}));
    labels.set(Index3{1, 1, 1}, 200);
    labels.widenToUInt16();
    EXPECT_EQ(labels.width(), LabelWidth::UInt16);
    EXPECT_EQ(labels.at(Index3{1, 1, 1}), 200);
    labels.set(Index3{2, 2, 0}, 40000);
    EXPECT_EQ(labels.at(Index3{2, 2, 0}), 40000);
    EXPECT_EQ(labels.voxelCounts().at(40000), 1u);
}

TEST(AnnotationLabelMap, CostsOneBytePerVoxelPlusSmallChunkOverhead) {
    LabelMap labels(grid({512, 512, 50}));
    const double perVoxel = double(labels.memoryBytes()) / double(labels.voxelCount());
    EXPECT_GE(perVoxel, 1.0);
    EXPECT_LT(perVoxel, 1.001);
}

TEST(AnnotationLabelMap, BoundsOfALabel) {
    LabelMap labels(grid({10, 10, 10}));
    fillBox(labels, {2, 3, 4}, {5, 6, 7}, 3);
    const VoxelRegion r = labels.boundsOf(3);
    EXPECT_EQ(r.min, (Index3{2, 3, 4}));
    EXPECT_EQ(r.max, (Index3{5, 6, 7}));
    EXPECT_TRUE(labels.boundsOf(9).empty());
}

TEST(AnnotationChunkStore, CompressionRoundTripsAndHashIsBlake2b256) {
    Bytes raw(4096, 0);
    raw[100] = 3;
    const Bytes packed = compressChunk(raw);
    EXPECT_LT(packed.size(), raw.size() / 10);
    EXPECT_EQ(decompressChunk(packed), raw);
    Bytes damaged = packed;
    damaged.resize(damaged.size() / 2);
    EXPECT_THROW(decompressChunk(damaged), CorruptAnnotation);
    const ChunkHash h = hashContent(raw);
    // BLAKE2b-256 of "abc" (RFC 7693 / Python hashlib), the encrypted store's chunk key too.
    const Bytes abc{'a', 'b', 'c'};
    EXPECT_EQ(hashContent(abc).hex(),
              "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
    EXPECT_EQ(ChunkHash::fromHex(h.hex()), h);
    EXPECT_THROW(ChunkHash::fromHex("xyz"), CorruptAnnotation);
}
