#include "bundle/Sha256.h"

#include "bundle/Errors.h"

#include <openssl/evp.h>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>

namespace radmark::bundle {

struct Sha256::State {
    EVP_MD_CTX* context = EVP_MD_CTX_new();
    State() {
        if (!context || EVP_DigestInit_ex(context, EVP_sha256(), nullptr) != 1)
            throw BundleError("the SHA-256 implementation could not start");
    }
    ~State() { EVP_MD_CTX_free(context); }
};

Sha256::Sha256() : state_(std::make_unique<State>()) {}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(const void* data, std::size_t size) {
    if (size && EVP_DigestUpdate(state_->context, data, size) != 1)
        throw BundleError("SHA-256 failed");
}

std::string Sha256::finishHex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_DigestFinal_ex(state_->context, digest, &length) != 1 ||
        EVP_DigestInit_ex(state_->context, EVP_sha256(), nullptr) != 1)
        throw BundleError("SHA-256 failed");
    static const char* digits = "0123456789abcdef";
    std::string hex(std::size_t(length) * 2, '0');
    for (unsigned int i = 0; i < length; ++i) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 15];
    }
    return hex;
}

std::string sha256Hex(const void* data, std::size_t size) {
    Sha256 hash;
    hash.update(data, size);
    return hash.finishHex();
}

namespace {

FileDigest hashFile(const std::filesystem::path& file, std::vector<unsigned char>& buffer,
                    Sha256& hash) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        throw BundleError("cannot read " + file.string() + ": " + std::strerror(errno));
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    FileDigest result;
    for (;;) {
        const ssize_t n = ::read(fd, buffer.data(), buffer.size());
        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            const int error = errno;
            ::close(fd);
            throw BundleError("cannot read " + file.string() + ": " + std::strerror(error));
        }
        hash.update(buffer.data(), std::size_t(n));
        result.size += std::uint64_t(n);
    }
    ::close(fd);
    result.sha256 = hash.finishHex();
    return result;
}

constexpr std::size_t readSize = 1 << 20;

} // namespace

FileDigest sha256File(const std::filesystem::path& file) {
    std::vector<unsigned char> buffer(readSize);
    Sha256 hash;
    return hashFile(file, buffer, hash);
}

std::vector<FileDigest> sha256Files(const std::vector<std::filesystem::path>& files,
                                    unsigned threads) {
    std::vector<FileDigest> digests(files.size());
    std::atomic<std::size_t> next{0};
    std::atomic<bool> failed{false};
    std::exception_ptr firstError;
    std::mutex errorMutex;
    auto work = [&] {
        std::vector<unsigned char> buffer(readSize);
        Sha256 hash;
        for (std::size_t i = next++; i < files.size() && !failed; i = next++) {
            try {
                digests[i] = hashFile(files[i], buffer, hash);
            } catch (...) {
                std::lock_guard lock(errorMutex);
                if (!firstError)
                    firstError = std::current_exception();
                failed = true;
            }
        }
    };
    const unsigned workers = std::max(1u, std::min<unsigned>(threads, unsigned(files.size())));
    {
        std::vector<std::jthread> pool;
        for (unsigned i = 1; i < workers; ++i)
            pool.emplace_back(work);
        work();
    }
    if (firstError)
        std::rethrow_exception(firstError);
    return digests;
}

} // namespace radmark::bundle
