#include "imaging/deid/KeyedIdentity.h"

#include <sodium.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <vector>

namespace radmark::deid {
namespace {

void requireSodium() {
    static const bool ready = sodium_init() >= 0;
    if (!ready)
        throw SecretError("the cryptography library could not start");
}

// Days since 1970-01-01 of a proleptic Gregorian date, and back (civil calendar arithmetic).
long daysFromCivil(long y, unsigned m, unsigned d) {
    y -= m <= 2;
    const long era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = unsigned(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + long(doe) - 719468;
}

void civilFromDays(long z, long& y, unsigned& m, unsigned& d) {
    z += 719468;
    const long era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = unsigned(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = long(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
}

bool digits(std::string_view text) {
    for (char c : text)
        if (c < '0' || c > '9')
            return false;
    return !text.empty();
}

unsigned daysInMonth(long y, unsigned m) {
    static const unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

} // namespace

StoreSecret::~StoreSecret() {
    sodium_memzero(bytes_.data(), bytes_.size());
}

StoreSecret StoreSecret::random() {
    requireSodium();
    std::array<std::uint8_t, 32> bytes{};
    randombytes_buf(bytes.data(), bytes.size());
    StoreSecret secret(bytes);
    sodium_memzero(bytes.data(), bytes.size());
    return secret;
}

StoreSecret StoreSecret::fromFile(const std::filesystem::path& file) {
    requireSodium();
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw SecretError("cannot read the secret file " + file.string());
    std::vector<unsigned char> content((std::istreambuf_iterator<char>(in)),
                                       std::istreambuf_iterator<char>());
    if (content.size() < 32) {
        sodium_memzero(content.data(), content.size());
        throw SecretError("the secret file " + file.string() +
                          " must hold at least 32 bytes (e.g. head -c 32 /dev/urandom)");
    }
    std::array<std::uint8_t, 32> bytes{};
    crypto_generichash(bytes.data(), bytes.size(), content.data(), content.size(), nullptr, 0);
    sodium_memzero(content.data(), content.size());
    StoreSecret secret(bytes);
    sodium_memzero(bytes.data(), bytes.size());
    return secret;
}

std::array<std::uint8_t, 16> KeyedHash::digest16(std::string_view domain,
                                                 std::string_view value) const {
    requireSodium();
    crypto_generichash_state state;
    crypto_generichash_init(&state, secret_.bytes().data(), secret_.bytes().size(), 16);
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(domain.data()),
                              domain.size());
    const unsigned char separator = 0;
    crypto_generichash_update(&state, &separator, 1);
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(value.data()),
                              value.size());
    std::array<std::uint8_t, 16> out{};
    crypto_generichash_final(&state, out.data(), out.size());
    return out;
}

bool UidRemapper::isWellKnown(std::string_view uid) {
    return uid.rfind("1.2.840.10008.", 0) == 0;
}

std::string UidRemapper::remap(std::string_view uid) const {
    while (!uid.empty() && (uid.back() == '\0' || uid.back() == ' '))
        uid.remove_suffix(1);
    if (uid.empty() || isWellKnown(uid))
        return std::string(uid);
    const auto digest = hash_.digest16("uid", uid);
    __extension__ typedef unsigned __int128 Uint128;
    Uint128 value = 0;
    for (std::uint8_t byte : digest)
        value = (value << 8) | byte;
    std::string decimal;
    do {
        decimal.insert(decimal.begin(), char('0' + int(value % 10)));
        value /= 10;
    } while (value != 0);
    return "2.25." + decimal;
}

std::string Pseudonymizer::pseudonymFor(std::string_view patientKey) const {
    static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    const auto digest = hash_.digest16("pseudonym", patientKey);
    std::uint64_t bits = 0;
    for (int i = 0; i < 8; ++i)
        bits = (bits << 8) | digest[std::size_t(i)];
    std::string out = "RM";
    for (int i = 0; i < 12; ++i) {
        out += alphabet[bits & 31];
        bits >>= 5;
    }
    return out;
}

int DateShifter::shiftDaysFor(std::string_view patientKey) const {
    const auto digest = hash_.digest16("date-shift", patientKey);
    const std::uint32_t bits = (std::uint32_t(digest[0]) << 24) | (std::uint32_t(digest[1]) << 16) |
                               (std::uint32_t(digest[2]) << 8) | digest[3];
    return -int(365 + bits % 3286); // 1 to 10 years back, never zero
}

std::optional<std::string> DateShifter::shiftDate(std::string_view da, int days) {
    while (!da.empty() && (da.back() == ' ' || da.back() == '\0'))
        da.remove_suffix(1);
    std::string compact;
    if (da.size() == 10 && da[4] == '.' && da[7] == '.')
        compact = std::string(da.substr(0, 4)) + std::string(da.substr(5, 2)) +
                  std::string(da.substr(8, 2));
    else
        compact = std::string(da);
    if (compact.size() != 8 || !digits(compact))
        return std::nullopt;
    const long y = std::stol(compact.substr(0, 4));
    const unsigned m = unsigned(std::stoul(compact.substr(4, 2)));
    const unsigned d = unsigned(std::stoul(compact.substr(6, 2)));
    if (m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m))
        return std::nullopt;
    long ny = 0;
    unsigned nm = 0, nd = 0;
    civilFromDays(daysFromCivil(y, m, d) + days, ny, nm, nd);
    if (ny < 1 || ny > 9999)
        return std::nullopt;
    char out[16];
    std::snprintf(out, sizeof out, "%04ld%02u%02u", ny, nm, nd);
    return std::string(out);
}

std::optional<std::string> DateShifter::shiftDateTime(std::string_view dt, int days) {
    while (!dt.empty() && (dt.back() == ' ' || dt.back() == '\0'))
        dt.remove_suffix(1);
    if (dt.size() < 8)
        return std::nullopt;
    const auto date = shiftDate(dt.substr(0, 8), days);
    if (!date)
        return std::nullopt;
    return *date + std::string(dt.substr(8));
}

} // namespace radmark::deid
