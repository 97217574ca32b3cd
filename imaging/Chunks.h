#pragma once
// Content-addressed chunks: the form in which volumes and label maps are stored. A chunk is
// known by the BLAKE2b-256 of its raw content, so identical chunks are stored once and every
// read is checked against the key it was asked for. Every store keeps chunks zstd-compressed at
// the one level below. The encrypted store's chunk table (storage::ChunkStore) and
// InMemoryChunkStore (tests, benchmarks, headless tools) implement the same contract.

#include <array>
#include <cstring>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace radmark::imaging {

struct ChunkHash {
    std::array<std::uint8_t, 32> bytes{};

    std::string hex() const;                        // lower case, 64 digits
    static ChunkHash fromHex(std::string_view hex); // throws CorruptChunk on bad input
    static ChunkHash fromBytes(std::span<const std::uint8_t> raw); // throws unless 32 bytes
    bool operator==(const ChunkHash&) const = default;
    // Ordered for maps and sets. Not operator<=>: <compare> breaks Qt 6.4's moc (via <concepts>),
    // and widget headers include this one through storage/Store.h.
    bool operator<(const ChunkHash& other) const {
        return std::memcmp(bytes.data(), other.bytes.data(), bytes.size()) < 0;
    }
};

// Stored data that is missing, does not match its hash, or cannot be decoded. Callers that know
// what the chunk held (a slice, a label map, a version) say so in their own message.
struct CorruptChunk : std::runtime_error {
    using std::runtime_error::runtime_error;
};

ChunkHash hashContent(std::span<const std::uint8_t> content); // BLAKE2b-256, unkeyed (libsodium)

// zstd level of every stored chunk: 1 is what the store has always written, and a volume import
// is bound by compression speed, not by the few per cent a higher level would save.
inline constexpr int chunkCompressionLevel = 1;

// zstd, with the uncompressed size in the frame header.
std::vector<std::uint8_t> compressChunk(std::span<const std::uint8_t> raw);
// Throws CorruptChunk when the frame is damaged or larger than 16 GiB.
std::vector<std::uint8_t> decompressChunk(std::span<const std::uint8_t> compressed);
// The same straight into raw, whose size the frame must give exactly (throws CorruptChunk).
void decompressChunkInto(std::span<const std::uint8_t> compressed, std::span<std::uint8_t> raw);

// Compresses many chunks in turn with one zstd context and one output buffer (a volume import
// writes hundreds of slices): the returned view is valid until the next call.
class ChunkCompressor {
  public:
    ChunkCompressor();
    ~ChunkCompressor();
    ChunkCompressor(const ChunkCompressor&) = delete;
    ChunkCompressor& operator=(const ChunkCompressor&) = delete;
    std::span<const std::uint8_t> compress(std::span<const std::uint8_t> raw);

  private:
    struct Context;
    std::unique_ptr<Context> context_;
    std::vector<std::uint8_t> buffer_;
};

// What every chunk store offers.
class ChunkStore {
  public:
    virtual ~ChunkStore() = default;
    virtual bool has(const ChunkHash& hash) const = 0;
    // Stores content under hash (= hashContent(content)) unless it is there already; returns
    // the bytes this costs the store (for a SaveReport).
    virtual std::size_t put(const ChunkHash& hash, std::vector<std::uint8_t> content) = 0;
    // The raw content, checked against hash; throws CorruptChunk when missing or damaged.
    virtual std::vector<std::uint8_t> get(const ChunkHash& hash) const = 0;
};

class InMemoryChunkStore final : public ChunkStore {
  public:
    bool has(const ChunkHash& hash) const override;
    // Compresses every put, as the encrypted store does; returns the compressed size even when
    // the chunk was held already, and bytesWritten() counts every put.
    std::size_t put(const ChunkHash& hash, std::vector<std::uint8_t> content) override;
    std::vector<std::uint8_t> get(const ChunkHash& hash) const override;

    std::size_t objectCount() const { return objects_.size(); }
    std::size_t storedBytes() const { return storedBytes_; }   // compressed bytes held
    std::size_t bytesWritten() const { return bytesWritten_; } // compressed bytes of every put
    std::size_t putCount() const { return putCount_; }

    // Test hook: flips a byte of a stored object, as a damaged disk would.
    void corrupt(const ChunkHash& hash);

  private:
    std::map<ChunkHash, std::vector<std::uint8_t>> objects_;
    std::size_t storedBytes_ = 0;
    std::size_t bytesWritten_ = 0;
    std::size_t putCount_ = 0;
};

} // namespace radmark::imaging
