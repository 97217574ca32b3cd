#pragma once
// Keyed, deterministic replacements for identifiers: UIDs, patient pseudonyms and the
// per-patient date shift. All derive from one per-store secret, so the same source gives the
// same result across files, imports and sessions, and nobody without the secret can reverse it.

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace radmark::deid {

class SecretError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// 32 secret bytes, wiped when destroyed.
class StoreSecret {
  public:
    explicit StoreSecret(const std::array<std::uint8_t, 32>& bytes) : bytes_(bytes) {}
    StoreSecret(const StoreSecret&) = default;
    StoreSecret& operator=(const StoreSecret&) = default;
    ~StoreSecret();
    static StoreSecret random();
    // A file of at least 32 bytes; its BLAKE2b digest is the secret.
    static StoreSecret fromFile(const std::filesystem::path& file);
    const std::array<std::uint8_t, 32>& bytes() const { return bytes_; }

  private:
    std::array<std::uint8_t, 32> bytes_;
};

// BLAKE2b keyed with the secret; the domain separates UIDs from pseudonyms from date shifts.
class KeyedHash {
  public:
    explicit KeyedHash(const StoreSecret& secret) : secret_(secret) {}
    std::array<std::uint8_t, 16> digest16(std::string_view domain, std::string_view value) const;

  private:
    StoreSecret secret_;
};

// "2.25.<decimal of a 128-bit keyed hash>" for every UID that is not a well-known standard UID.
class UidRemapper {
  public:
    explicit UidRemapper(const KeyedHash& hash) : hash_(hash) {}
    std::string remap(std::string_view uid) const;
    // Transfer syntaxes, SOP classes, coding schemes and other UIDs under the DICOM root.
    static bool isWellKnown(std::string_view uid);

  private:
    const KeyedHash& hash_;
};

// A stable patient pseudonym ("RM" + 12 base-32 characters) from the patient's identity.
class Pseudonymizer {
  public:
    explicit Pseudonymizer(const KeyedHash& hash) : hash_(hash) {}
    std::string pseudonymFor(std::string_view patientKey) const;

  private:
    const KeyedHash& hash_;
};

// One whole-day shift per patient (between 1 and 10 years back), applied to every date so that
// intervals between a patient's studies stay exact. Times of day are kept.
class DateShifter {
  public:
    explicit DateShifter(const KeyedHash& hash) : hash_(hash) {}
    int shiftDaysFor(std::string_view patientKey) const;
    // DA "YYYYMMDD" (also the old "YYYY.MM.DD"); nullopt when the value is not a date.
    static std::optional<std::string> shiftDate(std::string_view da, int days);
    // DT "YYYYMMDD[HHMMSS[.F]][&ZZXX]": the date part moves, the rest is kept.
    static std::optional<std::string> shiftDateTime(std::string_view dt, int days);

  private:
    const KeyedHash& hash_;
};

} // namespace radmark::deid
