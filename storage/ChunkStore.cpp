#include "storage/ChunkStore.h"

#include "storage/Errors.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

namespace radmark::storage {

using imaging::CorruptChunk;

void ChunkStore::createTable(Database& db) {
    db.exec("CREATE TABLE IF NOT EXISTS chunks(id INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE, "
            "raw_size INTEGER NOT NULL, data BLOB NOT NULL)");
}

bool ChunkStore::has(const ChunkHash& hash) const {
    auto s = db_.prepare("SELECT 1 FROM chunks WHERE hash = ?");
    s.bindBlob(1, hash.bytes.data(), hash.bytes.size());
    return s.step();
}

std::size_t ChunkStore::insert(const ChunkHash& hash, std::span<const std::uint8_t> data) {
    const Bytes packed = imaging::compressChunk(data);
    db_.prepare("INSERT INTO chunks(hash, raw_size, data) VALUES (?, ?, ?)")
        .bindBlob(1, hash.bytes.data(), hash.bytes.size())
        .bind(2, std::int64_t(data.size()))
        .bindBlob(3, packed.data(), packed.size())
        .run();
    return packed.size();
}

std::size_t ChunkStore::put(const ChunkHash& hash, Bytes content) {
    return has(hash) ? 0 : insert(hash, content); // stored once
}

ChunkHash ChunkStore::put(std::span<const std::uint8_t> data) {
    const ChunkHash hash = imaging::hashContent(data);
    if (!has(hash))
        insert(hash, data);
    return hash;
}

namespace {

// One chunk made ready for its INSERT: hash, and the compressed bytes unless it is already stored.
struct PackedChunk {
    ChunkHash hash;
    bool alreadyStored = false;
    std::span<const std::uint8_t> packed;
    std::size_t rawSize = 0;
};

} // namespace

std::vector<ChunkHash> ChunkStore::putMany(std::span<const std::span<const std::uint8_t>> chunks) {
    std::vector<ChunkHash> hashes;
    hashes.reserve(chunks.size());
    if (chunks.empty())
        return hashes;
    // The packing thread never touches the connection: a lookup there would wait for the
    // connection's mutex while this thread inserts, and the two would run in turn. It skips
    // chunks repeated within this call; a chunk already stored before this call is found by the
    // lookup below, after its (wasted) compression. Only one packing task runs at a time: each
    // is started after the previous one's result was taken, so a compressor and the set are
    // never used by two threads at once.
    std::set<ChunkHash> packedInThisCall;
    // Two slots, each with its own compressor (context and output buffer, allocated once per
    // call): the packing thread fills one while this thread inserts from the other.
    PackedChunk slots[2];
    imaging::ChunkCompressor compressors[2];
    auto pack = [&](std::size_t i) {
        const auto data = chunks[i];
        PackedChunk& p = slots[i % 2];
        p.hash = imaging::hashContent(data);
        p.rawSize = data.size();
        p.alreadyStored = !packedInThisCall.insert(p.hash).second; // earlier in this call
        if (!p.alreadyStored)
            p.packed = compressors[i % 2].compress(data);
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
            lookup.bindBlob(1, p.hash.bytes.data(), p.hash.bytes.size());
            p.alreadyStored = lookup.step();
            lookup.reset();
        }
        if (!p.alreadyStored) {
            insert.bindBlob(1, p.hash.bytes.data(), p.hash.bytes.size())
                .bind(2, std::int64_t(p.rawSize))
                .bindBlob(3, p.packed.data(), p.packed.size());
            insert.run();
            insert.reset();
        }
        hashes.push_back(p.hash);
    }
    return hashes;
}

Bytes ChunkStore::get(const ChunkHash& hash) const {
    auto s = db_.prepare("SELECT raw_size, data FROM chunks WHERE hash = ?");
    s.bindBlob(1, hash.bytes.data(), hash.bytes.size());
    if (!s.step())
        throw CorruptChunk("the store has no data chunk " + hash.hex().substr(0, 12));
    Bytes out =
        imaging::decompressChunk({static_cast<const std::uint8_t*>(s.blobData(1)), s.blobSize(1)});
    if (out.size() != std::size_t(s.integer(0)) || imaging::hashContent(out) != hash)
        throw CorruptChunk("a data chunk in the store is damaged");
    return out;
}

void ChunkStore::getManyInto(std::span<const ChunkHash> hashes, std::span<std::uint8_t> out) const {
    if (hashes.empty())
        return;
    if (out.size() % hashes.size() != 0)
        throw std::invalid_argument("getManyInto: the output is not a whole number of chunks");
    const std::size_t chunkBytes = out.size() / hashes.size();
    const unsigned workers = std::clamp(std::thread::hardware_concurrency(), 1U, 4U);
    struct Packed {
        std::size_t index = 0;
        std::vector<std::uint8_t> bytes;
    };
    std::mutex mutex;
    std::condition_variable changed;
    std::deque<Packed> queue; // bounded: compressed rows wait here, not the whole volume
    const std::size_t mostQueued = 2 * std::size_t(workers);
    bool allRead = false;
    std::exception_ptr failure;
    auto fail = [&] { // in a catch block: the first failure stops everyone
        std::lock_guard lock(mutex);
        if (!failure)
            failure = std::current_exception();
        changed.notify_all();
    };
    auto unpack = [&] {
        for (;;) {
            Packed packed;
            {
                std::unique_lock lock(mutex);
                changed.wait(lock, [&] { return failure || allRead || !queue.empty(); });
                if (failure || queue.empty())
                    return;
                packed = std::move(queue.front());
                queue.pop_front();
                changed.notify_all();
            }
            try {
                const auto raw = out.subspan(packed.index * chunkBytes, chunkBytes);
                imaging::decompressChunkInto(packed.bytes, raw);
                if (imaging::hashContent(raw) != hashes[packed.index])
                    throw CorruptChunk("a data chunk in the store is damaged");
            } catch (...) {
                fail();
                return;
            }
        }
    };
    std::vector<std::thread> threads;
    threads.reserve(workers);
    try {
        for (unsigned i = 0; i < workers; ++i)
            threads.emplace_back(unpack);
        auto s = db_.prepare("SELECT raw_size, data FROM chunks WHERE hash = ?");
        for (std::size_t i = 0; i < hashes.size(); ++i) {
            s.bindBlob(1, hashes[i].bytes.data(), hashes[i].bytes.size());
            if (!s.step())
                throw CorruptChunk("the store has no data chunk " + hashes[i].hex().substr(0, 12));
            if (std::size_t(s.integer(0)) != chunkBytes)
                throw CorruptChunk("a data chunk in the store has the wrong size");
            const auto* data = static_cast<const std::uint8_t*>(s.blobData(1));
            Packed packed{i, std::vector<std::uint8_t>(data, data + s.blobSize(1))};
            s.reset();
            std::unique_lock lock(mutex);
            changed.wait(lock, [&] { return failure || queue.size() < mostQueued; });
            if (failure)
                break;
            queue.push_back(std::move(packed));
            changed.notify_all();
        }
    } catch (...) {
        fail();
    }
    {
        std::lock_guard lock(mutex);
        allRead = true;
        changed.notify_all();
    }
    for (auto& thread : threads)
        thread.join();
    if (failure)
        std::rethrow_exception(failure);
}

} // namespace radmark::storage
