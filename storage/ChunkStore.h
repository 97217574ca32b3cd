#pragma once
// Content-addressed, zstd-compressed data chunks (volume slices, label bricks) in one database:
// identical chunks are stored once, and every read is checked against its BLAKE2b-256 hash.

#include "storage/Database.h"

#include <span>
#include <string>
#include <vector>

namespace radmark::storage {

class ChunkStore {
public:
    explicit ChunkStore(Database& db, int compressionLevel = 1)
        : db_(db), level_(compressionLevel) {}

    // The table, for databases that are not a full store (the plain-SQLite benchmark baseline).
    static void createTable(Database& db);

    // Returns the hex BLAKE2b-256 of data. Runs in the caller's transaction when one is open.
    std::string put(std::span<const std::uint8_t> data);
    // The same for many chunks (the slices of a volume), hashes in input order. Hashing and
    // compression of the next chunk run on a second thread while this one inserts.
    std::vector<std::string> putMany(std::span<const std::span<const std::uint8_t>> chunks);
    Bytes get(const std::string& hexHash); // throws StoreError when missing or damaged
    bool contains(const std::string& hexHash);

private:
    Database& db_;
    int level_;
};

} // namespace radmark::storage
