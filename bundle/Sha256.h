#pragma once
// SHA-256 of files for the BagIt manifests, through OpenSSL's libcrypto: it uses the CPU's SHA
// extensions where present (about 5x libsodium's portable C here, which is slower than
// sha256sum). Incremental too, for a writer that wants to hash what it writes.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace radmark::bundle {

class Sha256 {
  public:
    Sha256();
    ~Sha256();
    Sha256(Sha256&&) noexcept;
    Sha256& operator=(Sha256&&) noexcept;
    void update(const void* data, std::size_t size);
    // Lower-case hex of the digest; the object starts over afterwards.
    std::string finishHex();

  private:
    struct State;
    std::unique_ptr<State> state_;
};

struct FileDigest {
    std::string sha256; // lower-case hex
    std::uint64_t size = 0;
};

std::string sha256Hex(const void* data, std::size_t size);
// Throws BundleError naming the file when it cannot be read.
FileDigest sha256File(const std::filesystem::path& file);
// The files hashed by up to `threads` workers taking files in turn; results in the input order.
// A file that cannot be read throws BundleError (after the workers stop).
std::vector<FileDigest> sha256Files(const std::vector<std::filesystem::path>& files,
                                    unsigned threads = 2);

} // namespace radmark::bundle
