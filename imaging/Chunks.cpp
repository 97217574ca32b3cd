#include "imaging/Chunks.h"

#include <sodium.h>
#include <zstd.h>

namespace radmark::imaging {

namespace {
void ensureSodium() {
    static const bool ready = sodium_init() >= 0;
    if (!ready)
        throw std::runtime_error("The cryptographic library could not be initialised.");
}
} // namespace

std::string ChunkHash::hex() const {
    static const char digits[] = "0123456789abcdef";
    std::string text;
    text.reserve(bytes.size() * 2);
    for (auto b : bytes) {
        text.push_back(digits[b >> 4]);
        text.push_back(digits[b & 15]);
    }
    return text;
}

ChunkHash ChunkHash::fromHex(std::string_view hex) {
    auto nibble = [&](char c) -> int {
        if (c >= '0' && c <= '9')
            return c - '0';
        if (c >= 'a' && c <= 'f')
            return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
            return c - 'A' + 10;
        throw CorruptChunk("A stored data reference is damaged (not a valid content hash).");
    };
    ChunkHash hash;
    if (hex.size() != hash.bytes.size() * 2)
        throw CorruptChunk("A stored data reference is damaged (wrong hash length).");
    for (std::size_t i = 0; i < hash.bytes.size(); ++i)
        hash.bytes[i] = std::uint8_t(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
    return hash;
}

ChunkHash ChunkHash::fromBytes(std::span<const std::uint8_t> raw) {
    ChunkHash hash;
    if (raw.size() != hash.bytes.size())
        throw CorruptChunk("A stored data reference is damaged (wrong hash length).");
    std::copy(raw.begin(), raw.end(), hash.bytes.begin());
    return hash;
}

ChunkHash hashContent(std::span<const std::uint8_t> content) {
    ensureSodium();
    ChunkHash hash;
    crypto_generichash(hash.bytes.data(), hash.bytes.size(), content.data(), content.size(),
                       nullptr, 0);
    return hash;
}

struct ChunkCompressor::Context {
    ZSTD_CCtx* zstd = ZSTD_createCCtx();
    ~Context() { ZSTD_freeCCtx(zstd); }
};

ChunkCompressor::ChunkCompressor() : context_(std::make_unique<Context>()) {
    if (!context_->zstd)
        throw std::runtime_error("Compressing stored data failed (out of memory).");
}

ChunkCompressor::~ChunkCompressor() = default;

std::span<const std::uint8_t> ChunkCompressor::compress(std::span<const std::uint8_t> raw) {
    const std::size_t bound = ZSTD_compressBound(raw.size());
    if (buffer_.size() < bound)
        buffer_.resize(bound);
    const std::size_t written = ZSTD_compressCCtx(context_->zstd, buffer_.data(), buffer_.size(),
                                                  raw.data(), raw.size(), chunkCompressionLevel);
    if (ZSTD_isError(written))
        throw std::runtime_error(std::string("Compressing stored data failed: ") +
                                 ZSTD_getErrorName(written));
    return {buffer_.data(), written};
}

std::vector<std::uint8_t> compressChunk(std::span<const std::uint8_t> raw) {
    std::vector<std::uint8_t> out(ZSTD_compressBound(raw.size()));
    const std::size_t written =
        ZSTD_compress(out.data(), out.size(), raw.data(), raw.size(), chunkCompressionLevel);
    if (ZSTD_isError(written))
        throw std::runtime_error(std::string("Compressing stored data failed: ") +
                                 ZSTD_getErrorName(written));
    out.resize(written);
    return out;
}

std::vector<std::uint8_t> decompressChunk(std::span<const std::uint8_t> compressed) {
    const unsigned long long size = ZSTD_getFrameContentSize(compressed.data(), compressed.size());
    if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > (1ull << 34))
        throw CorruptChunk("A stored data chunk is damaged (unreadable header).");
    std::vector<std::uint8_t> raw(static_cast<std::size_t>(size));
    const std::size_t read =
        ZSTD_decompress(raw.data(), raw.size(), compressed.data(), compressed.size());
    if (ZSTD_isError(read) || read != raw.size())
        throw CorruptChunk("A stored data chunk is damaged (cannot be decompressed).");
    return raw;
}

void decompressChunkInto(std::span<const std::uint8_t> compressed, std::span<std::uint8_t> raw) {
    const unsigned long long size = ZSTD_getFrameContentSize(compressed.data(), compressed.size());
    if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size != raw.size())
        throw CorruptChunk("A stored data chunk is damaged (unreadable header).");
    const std::size_t read =
        ZSTD_decompress(raw.data(), raw.size(), compressed.data(), compressed.size());
    if (ZSTD_isError(read) || read != raw.size())
        throw CorruptChunk("A stored data chunk is damaged (cannot be decompressed).");
}

bool InMemoryChunkStore::has(const ChunkHash& hash) const {
    return objects_.contains(hash);
}

std::size_t InMemoryChunkStore::put(const ChunkHash& hash, std::vector<std::uint8_t> content) {
    std::vector<std::uint8_t> compressed = compressChunk(content);
    const std::size_t written = compressed.size();
    bytesWritten_ += written;
    ++putCount_;
    auto [it, inserted] = objects_.try_emplace(hash);
    if (inserted) {
        storedBytes_ += written;
        it->second = std::move(compressed);
    }
    return written;
}

std::vector<std::uint8_t> InMemoryChunkStore::get(const ChunkHash& hash) const {
    auto it = objects_.find(hash);
    if (it == objects_.end())
        throw CorruptChunk("Part of the stored data is missing (" + hash.hex().substr(0, 12) +
                           ").");
    std::vector<std::uint8_t> raw = decompressChunk(it->second);
    if (hashContent(raw) != hash)
        throw CorruptChunk("A stored data chunk is damaged (it does not match its hash).");
    return raw;
}

void InMemoryChunkStore::corrupt(const ChunkHash& hash) {
    auto it = objects_.find(hash);
    if (it != objects_.end() && !it->second.empty())
        it->second[it->second.size() / 2] ^= 0x5a;
}

} // namespace radmark::imaging
