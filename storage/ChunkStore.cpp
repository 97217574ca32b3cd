#include "storage/ChunkStore.h"

#include "storage/Errors.h"

#include <sodium.h>
#include <zstd.h>

#include <future>
#include <memory>
#include <set>

namespace radmark::storage {

void ChunkStore::createTable(Database& db) {
    db.exec("CREATE TABLE IF NOT EXISTS chunks(id INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE, "
            "raw_size INTEGER NOT NULL, data BLOB NOT NULL)");
}

namespace {
Bytes contentHash(const std::uint8_t* data, std::size_t size) {
    Bytes hash(32); // BLAKE2b-256: about twice as fast as SHA-256 here, same strength
    crypto_generichash(hash.data(), hash.size(), data, size, nullptr, 0);
    return hash;
}
} // namespace

std::string ChunkStore::put(std::span<const std::uint8_t> data) {
    const Bytes hash = contentHash(data.data(), data.size());
    {
        auto s = db_.prepare("SELECT 1 FROM chunks WHERE hash = ?");
        s.bindBlob(1, hash);
        if (s.step())
            return toHex(hash); // stored once
    }
    Bytes packed(ZSTD_compressBound(data.size()));
    const std::size_t size =
        ZSTD_compress(packed.data(), packed.size(), data.data(), data.size(), level_);
    if (ZSTD_isError(size))
        throw StoreError("could not compress data for the store");
    db_.prepare("INSERT INTO chunks(hash, raw_size, data) VALUES (?, ?, ?)")
        .bindBlob(1, hash)
        .bind(2, std::int64_t(data.size()))
        .bindBlob(3, packed.data(), size)
        .run();
    return toHex(hash);
}

namespace {

// One chunk made ready for its INSERT: hash, and the compressed bytes unless it is already stored.
struct PackedChunk {
    Bytes hash;
    bool alreadyStored = false;
    Bytes packed;
    std::size_t packedSize = 0;
    std::size_t rawSize = 0;
};

struct FreeCompressionContext {
    void operator()(ZSTD_CCtx* context) const { ZSTD_freeCCtx(context); }
};

} // namespace

std::vector<std::string>
ChunkStore::putMany(std::span<const std::span<const std::uint8_t>> chunks) {
    std::vector<std::string> hashes;
    hashes.reserve(chunks.size());
    if (chunks.empty())
        return hashes;
    const std::unique_ptr<ZSTD_CCtx, FreeCompressionContext> context(ZSTD_createCCtx());
    if (!context)
        throw StoreError("could not compress data for the store (out of memory)");
    // The packing thread never touches the connection: a lookup there would wait for the
    // connection's mutex while this thread inserts, and the two would run in turn. It skips
    // chunks repeated within this call; a chunk already stored before this call is found by the
    // lookup below, after its (wasted) compression. Only one packing task runs at a time: each
    // is started after the previous one's result was taken, so the context and the set are never
    // used by two threads at once.
    std::set<Bytes> packedInThisCall;
    // Two slots: the packing thread fills one while this thread inserts from the other, and the
    // compression buffers are allocated once per call rather than once per chunk.
    PackedChunk slots[2];
    auto pack = [&](std::size_t i) {
        const auto data = chunks[i];
        PackedChunk& p = slots[i % 2];
        p.hash = contentHash(data.data(), data.size());
        p.rawSize = data.size();
        p.alreadyStored = !packedInThisCall.insert(p.hash).second; // earlier in this call
        if (p.alreadyStored)
            return;
        const std::size_t bound = ZSTD_compressBound(data.size());
        if (p.packed.size() < bound)
            p.packed.resize(bound);
        p.packedSize = ZSTD_compressCCtx(context.get(), p.packed.data(), p.packed.size(),
                                         data.data(), data.size(), level_);
        if (ZSTD_isError(p.packedSize))
            throw StoreError("could not compress data for the store");
    };
    auto lookup = db_.prepare("SELECT 1 FROM chunks WHERE hash = ?");
    auto insert = db_.prepare("INSERT INTO chunks(hash, raw_size, data) VALUES (?, ?, ?)");
    std::future<void> next = std::async(std::launch::async, pack, std::size_t(0));
    for (std::size_t i = 0; i < chunks.size(); ++i) {
        next.get();
        // Slot (i + 1) % 2 held chunk i - 1, whose insert is finished.
        if (i + 1 < chunks.size())
            next = std::async(std::launch::async, pack, i + 1);
        PackedChunk& p = slots[i % 2];
        if (!p.alreadyStored) {
            lookup.bindBlob(1, p.hash);
            p.alreadyStored = lookup.step();
            lookup.reset();
        }
        if (!p.alreadyStored) {
            insert.bindBlob(1, p.hash)
                .bind(2, std::int64_t(p.rawSize))
                .bindBlob(3, p.packed.data(), p.packedSize);
            insert.run();
            insert.reset();
        }
        hashes.push_back(toHex(p.hash));
    }
    return hashes;
}

bool ChunkStore::contains(const std::string& hexHash) {
    auto s = db_.prepare("SELECT 1 FROM chunks WHERE hash = ?");
    s.bindBlob(1, fromHex(hexHash));
    return s.step();
}

Bytes ChunkStore::get(const std::string& hexHash) {
    auto s = db_.prepare("SELECT raw_size, data FROM chunks WHERE hash = ?");
    s.bindBlob(1, fromHex(hexHash));
    if (!s.step())
        throw StoreError("the store has no data chunk " + hexHash.substr(0, 12));
    Bytes out(std::size_t(s.integer(0)));
    const std::size_t size = ZSTD_decompress(out.data(), out.size(), s.blobData(1), s.blobSize(1));
    if (ZSTD_isError(size) || size != out.size())
        throw StoreError("a data chunk in the store is damaged");
    if (toHex(contentHash(out.data(), out.size())) != hexHash)
        throw StoreError("a data chunk in the store is damaged");
    return out;
}

} // namespace radmark::storage
