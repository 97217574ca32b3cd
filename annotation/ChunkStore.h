#pragma once
// Content-addressed storage of label-map chunks and version records. A chunk is known by the
// BLAKE2b hash of its uncompressed content, so identical chunks are stored once and a save
// writes only chunks the store does not already hold. The encrypted store implements the same
// three calls; InMemoryChunkStore serves tests, benchmarks and headless tools.

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

// What a hash is computed over; keeps label chunks and version records apart.
enum class ContentKind : std::uint8_t { LabelChunk = 1, VersionRecord = 2, DraftRecord = 3 };

ChunkHash hashContent(ContentKind kind, std::span<const std::uint8_t> content);

// Stored data that does not match its hash, is missing, or cannot be decoded.
struct CorruptAnnotation : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class ChunkStore {
  public:
    virtual ~ChunkStore() = default;
    virtual bool has(const ChunkHash& hash) const = 0;
    virtual void put(const ChunkHash& hash, Bytes bytes) = 0;
    virtual Bytes get(const ChunkHash& hash) const = 0; // throws CorruptAnnotation when missing
};

class InMemoryChunkStore final : public ChunkStore {
  public:
    bool has(const ChunkHash& hash) const override;
    void put(const ChunkHash& hash, Bytes bytes) override;
    Bytes get(const ChunkHash& hash) const override;

    std::size_t objectCount() const { return objects_.size(); }
    std::size_t storedBytes() const { return storedBytes_; }   // sum of all objects held
    std::size_t bytesWritten() const { return bytesWritten_; } // sum of every put ever made
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
Bytes decompressChunk(std::span<const std::uint8_t> compressed, std::size_t expectedSize);

} // namespace radmark::annotation
