#pragma once
// The DICOM PS3.15 Annex E Table E.1-1 confidentiality profile as data (resources/deid/
// confidentiality_profile.tsv, compiled in), and the options a policy selects from its columns.

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace radmark::deid {

// A malformed profile table or option list: says which line or option is wrong.
class ProfileError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// The option columns of Table E.1-1, in table order, plus Radmark's pixel options.
enum class ProfileOption {
    RetainSafePrivate,
    RetainUids,
    RetainDeviceIdentity,
    RetainInstitutionIdentity,
    RetainPatientCharacteristics,
    RetainLongitudinalFullDates,
    RetainLongitudinalModifiedDates,
    CleanDescriptors,
    CleanStructuredContent,
    CleanGraphics,
};
inline constexpr std::size_t tableOptionCount = 10;

const char* optionName(ProfileOption option);      // "retain-safe-private", ...
const char* optionCodeValue(ProfileOption option); // DCM code, e.g. "113111"
const char* optionCodeMeaning(ProfileOption option);

struct ProfileOptions {
    std::array<bool, tableOptionCount> selected{};
    // Burned-in text (US, secondary capture, BurnedInAnnotation=YES): black out by rule, OCR
    // must find nothing, else quarantine. Off ("no-clean-pixel-data", a policy decision): such
    // pixels are not checked and the report says so for every file.
    bool cleanPixelData = true;
    // Head CT/MR: the face is set to air before anything is stored (deid/Defacing.h); a volume
    // that is not a head, or whose face cannot be located, is quarantined.
    bool deface = false;

    bool has(ProfileOption option) const { return selected[std::size_t(option)]; }
    void set(ProfileOption option, bool on = true) { selected[std::size_t(option)] = on; }

    // Basic profile + clean descriptors + retain longitudinal temporal information with
    // modified dates (one per-patient shift) + clean pixel data.
    static ProfileOptions defaults();
    // "basic" (nothing else) or "default", followed by option names, comma separated; a name
    // prefixed with "no-" removes it:
    // "default,retain-patient-characteristics,no-clean-descriptors".
    static ProfileOptions parse(std::string_view list);
    std::vector<std::string> names() const;
};

// One row of Table E.1-1. Wildcard rows match curves (50xx,xxxx), overlays (60xx,3000/4000)
// and private attributes (odd groups).
struct ProfileRow {
    enum class Match { Exact, CurveGroup, OverlayElement, PrivateGroup };
    Match match = Match::Exact;
    std::uint16_t group = 0;
    std::uint16_t element = 0;
    std::string tagText; // "(0010,0010)", "(50xx,xxxx)", ...
    std::string name;
    std::string basic; // D, Z, X, K, C, U or compound X/Z, X/D, X/Z/D, X/Z/U*, Z/D
    std::array<std::string, tableOptionCount> options; // action per option column, "" if none
    bool optionsInferred = false; // option columns filled by rule (see the table header)
};

// What the profile says for a row under the selected options, and why.
struct RowDecision {
    std::string code;   // one of the basic codes after options applied
    std::string reason; // "Table E.1-1 basic profile" or "option retain-uids"
};

class ConfidentialityProfile {
  public:
    // The table compiled into Radmark.
    static const ConfidentialityProfile& standard();
    // Parses a table in the TSV layout of resources/deid/confidentiality_profile.tsv.
    static ConfidentialityProfile parse(std::string_view tsv);

    const std::vector<ProfileRow>& rows() const { return rows_; }
    const std::string& edition() const { return edition_; }
    // The row for a standard attribute; overlay and curve wildcards included. Private
    // attributes are matched by privateRow(). nullptr when the table does not list the tag.
    const ProfileRow* find(std::uint16_t group, std::uint16_t element) const;
    const ProfileRow* privateRow() const { return privateRow_; }

    RowDecision decide(const ProfileRow& row, const ProfileOptions& options) const;

  private:
    std::vector<ProfileRow> rows_;
    std::vector<std::uint32_t> exactKeys_; // sorted, parallel to exactRows_
    std::vector<const ProfileRow*> exactRows_;
    const ProfileRow* curveRow_ = nullptr;
    const ProfileRow* overlayDataRow_ = nullptr;
    const ProfileRow* overlayCommentsRow_ = nullptr;
    const ProfileRow* privateRow_ = nullptr;
    std::string edition_;
    void index();
};

} // namespace radmark::deid
