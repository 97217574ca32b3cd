#pragma once
// The encrypted store's chunk table as an imaging::ChunkStore: content-addressed, zstd-compressed
// data chunks (volume slices, label slices, records) in one database. Identical chunks are stored
// once, and every read is checked against its BLAKE2b-256 hash. Inside the storage library only:
// callers elsewhere reach chunks through a role-checked session call.

#include "imaging/Chunks.h"
#include "storage/Database.h"

#include <span>
#include <vector>

namespace radmark::storage {

using imaging::ChunkHash;

class ChunkStore final : public imaging::ChunkStore {
  public:
    explicit ChunkStore(Database& db) : db_(db) {}

    // The table, for databases that are not a full store (the plain-SQLite benchmark baseline).
    static void createTable(Database& db);

    // All of these run in the caller's transaction when one is open.
    bool has(const ChunkHash& hash) const override;
    std::size_t put(const ChunkHash& hash, Bytes content) override;
    ChunkHash put(std::span<const std::uint8_t> data); // hashes data, stores it once
    // The same for many chunks (the slices of a volume), hashes in input order. Hashing and
    // compression of the next chunk run on a second thread while this one inserts.
    std::vector<ChunkHash> putMany(std::span<const std::span<const std::uint8_t>> chunks);
    Bytes get(const ChunkHash& hash) const override; // throws imaging::CorruptChunk
    // Many chunks of one size (the slices of a volume) straight into out, chunk i at
    // out[i * out.size() / hashes.size()]: the rows are read on this thread (the connection is
    // never shared) while worker threads decompress them and check each against its hash.
    // Throws imaging::CorruptChunk when one is missing, of another size or damaged.
    void getManyInto(std::span<const ChunkHash> hashes, std::span<std::uint8_t> out) const;

  private:
    std::size_t insert(const ChunkHash& hash, std::span<const std::uint8_t> data);
    Database& db_;
};

} // namespace radmark::storage
