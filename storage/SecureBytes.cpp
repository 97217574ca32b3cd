#include "storage/SecureBytes.h"

#include "storage/Errors.h"

#include <sodium.h>

#include <cstring>
#include <new>

namespace radmark::storage {

void initialiseCrypto() {
    static const bool ready = sodium_init() >= 0;
    if (!ready)
        throw StoreError("the cryptography library could not start");
}

SecureBytes::SecureBytes(std::size_t size) : size_(size) {
    initialiseCrypto();
    if (size == 0)
        return;
    data_ = static_cast<std::uint8_t*>(sodium_malloc(size));
    if (!data_)
        throw std::bad_alloc();
    sodium_memzero(data_, size);
}

SecureBytes::SecureBytes(const std::uint8_t* data, std::size_t size) : SecureBytes(size) {
    if (size)
        std::memcpy(data_, data, size);
}

SecureBytes SecureBytes::random(std::size_t size) {
    SecureBytes b(size);
    randombytes_buf(b.data(), size);
    return b;
}

SecureBytes SecureBytes::fromHex(std::string_view hex, std::size_t expectedSize) {
    SecureBytes out(expectedSize);
    std::size_t written = 0;
    const char* end = nullptr;
    if (sodium_hex2bin(out.data(), expectedSize, hex.data(), hex.size(), " \t\r\n-:", &written,
                       &end) != 0 ||
        written != expectedSize || end != hex.data() + hex.size())
        return SecureBytes();
    return out;
}

SecureBytes::~SecureBytes() { wipe(); }

SecureBytes::SecureBytes(SecureBytes&& other) noexcept : data_(other.data_), size_(other.size_) {
    other.data_ = nullptr;
    other.size_ = 0;
}

SecureBytes& SecureBytes::operator=(SecureBytes&& other) noexcept {
    if (this != &other) {
        wipe();
        data_ = other.data_;
        size_ = other.size_;
        other.data_ = nullptr;
        other.size_ = 0;
    }
    return *this;
}

bool SecureBytes::equals(const SecureBytes& other) const {
    return size_ == other.size_ && (size_ == 0 || sodium_memcmp(data_, other.data_, size_) == 0);
}

std::string SecureBytes::toHex() const { return storage::toHex(data_, size_); }

void SecureBytes::wipe() {
    if (data_)
        sodium_free(data_); // zeroes before freeing
    data_ = nullptr;
    size_ = 0;
}

std::string toHex(const std::uint8_t* data, std::size_t size) {
    std::string out(size * 2 + 1, '\0');
    sodium_bin2hex(out.data(), out.size(), data, size);
    out.pop_back();
    return out;
}

Bytes fromHex(std::string_view hex) {
    Bytes out(hex.size() / 2);
    std::size_t written = 0;
    const char* end = nullptr;
    if (hex.size() % 2 != 0 ||
        sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &written, &end) !=
            0 ||
        end != hex.data() + hex.size())
        throw InvalidRequestError("not a hexadecimal value");
    out.resize(written);
    return out;
}

std::string toBase64(const Bytes& b) {
    initialiseCrypto();
    const std::size_t len = sodium_base64_ENCODED_LEN(b.size(), sodium_base64_VARIANT_ORIGINAL);
    std::string out(len, '\0');
    sodium_bin2base64(out.data(), len, b.data(), b.size(), sodium_base64_VARIANT_ORIGINAL);
    out.resize(std::strlen(out.c_str()));
    return out;
}

Bytes fromBase64(std::string_view text) {
    initialiseCrypto();
    Bytes out(text.size());
    std::size_t written = 0;
    if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &written,
                          nullptr, sodium_base64_VARIANT_ORIGINAL) != 0)
        throw KeyringError("the keyring holds a damaged value");
    out.resize(written);
    return out;
}

} // namespace radmark::storage
