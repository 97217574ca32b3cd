#pragma once
// Key material in guarded, locked memory (sodium_malloc): never swapped, zeroed when freed.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace radmark::storage {

using Bytes = std::vector<std::uint8_t>;

class SecureBytes {
public:
    SecureBytes() = default;
    explicit SecureBytes(std::size_t size); // zero-filled
    SecureBytes(const std::uint8_t* data, std::size_t size);
    static SecureBytes random(std::size_t size);
    // Parses hex (whitespace and '-' ignored); empty result when it is not hex of that size.
    static SecureBytes fromHex(std::string_view hex, std::size_t expectedSize);
    ~SecureBytes();
    SecureBytes(SecureBytes&& other) noexcept;
    SecureBytes& operator=(SecureBytes&& other) noexcept;
    SecureBytes(const SecureBytes&) = delete;
    SecureBytes& operator=(const SecureBytes&) = delete;

    std::uint8_t* data() { return data_; }
    const std::uint8_t* data() const { return data_; }
    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    SecureBytes copy() const { return SecureBytes(data_, size_); }
    bool equals(const SecureBytes& other) const;
    // Lower-case hex. The caller owns the secret string: keep it short-lived.
    std::string toHex() const;
    // Wipes and frees now (also done by the destructor).
    void wipe();

private:
    std::uint8_t* data_ = nullptr;
    std::size_t size_ = 0;
};

// libsodium must be initialised once before any of the above; safe to call repeatedly.
void initialiseCrypto();

std::string toHex(const std::uint8_t* data, std::size_t size);
inline std::string toHex(const Bytes& b) { return toHex(b.data(), b.size()); }
Bytes fromHex(std::string_view hex); // throws InvalidRequestError when not hex
std::string toBase64(const Bytes& b);
Bytes fromBase64(std::string_view text); // throws KeyringError when not base64

} // namespace radmark::storage
