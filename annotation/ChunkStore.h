#pragma once
// Content-addressed storage of label-map chunks and version records. An object is known by the
// BLAKE2b-256 of its uncompressed content (the key the encrypted store's chunk table uses), so
// identical chunks are stored once and a save writes only chunks the store does not hold yet.
// Compressing is the store's job (zstd): put() takes raw bytes and says how many it wrote.
// The encrypted store implements the same three calls; InMemoryChunkStore serves tests,
// benchmarks and headless tools.

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace radmark::annotation {

using Bytes = std::vector<std::uint8_t>;

struct ChunkHash {
    std::array<std::uint8_t, 32> bytes{};

    std::string hex() const;
    static ChunkHash fromHex(std::string_view hex); // throws CorruptAnnotation on bad input
    auto operator<=>(const ChunkHash&) const = default;
};

ChunkHash hashContent(std::span<const std::uint8_t> content); // BLAKE2b-256, unkeyed

// Stored data that does not match its hash, is missing, or cannot be decoded.
struct CorruptAnnotation : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class ChunkStore {
  public:
    virtual ~ChunkStore() = default;
    virtual bool has(const ChunkHash& hash) const = 0;
    // Stores content under hash (= hashContent(content)); returns the bytes written to storage.
    virtual std::size_t put(const ChunkHash& hash, Bytes content) = 0;
    // The raw content; throws CorruptAnnotation when missing or undecodable. Callers verify the
    // hash of what they get.
    virtual Bytes get(const ChunkHash& hash) const = 0;
};

class InMemoryChunkStore final : public ChunkStore {
  public:
    bool has(const ChunkHash& hash) const override;
    std::size_t put(const ChunkHash& hash, Bytes content) override; // keeps it zstd-compressed
    Bytes get(const ChunkHash& hash) const override;

    std::size_t objectCount() const { return objects_.size(); }
    std::size_t storedBytes() const { return storedBytes_; }   // compressed bytes held
    std::size_t bytesWritten() const { return bytesWritten_; } // compressed bytes of every put
    std::size_t putCount() const { return putCount_; }

    // Test hook: flips a byte of a stored object, as a damaged disk would.
    void corrupt(const ChunkHash& hash);

  private:
    std::map<ChunkHash, Bytes> objects_;
    std::size_t storedBytes_ = 0;
    std::size_t bytesWritten_ = 0;
    std::size_t putCount_ = 0;
};

// zstd, with the uncompressed size in the frame header.
Bytes compressChunk(std::span<const std::uint8_t> raw);
Bytes decompressChunk(std::span<const std::uint8_t> compressed); // throws CorruptAnnotation

} // namespace radmark::annotation
