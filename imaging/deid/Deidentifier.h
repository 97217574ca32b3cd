#pragma once
// The de-identification engine: applies the confidentiality profile to one DICOM file in memory
// (every element at every depth, private and UN included, file meta too), replaces identity with
// keyed pseudonyms, UIDs and date shifts, records what it did in the file, cleans burned-in text,
// then verifies the output against the input's identifying values. Import and `radmark-cli deid`
// both call deidentify() per file.

#include "imaging/deid/BurnedInText.h"
#include "imaging/deid/ConfidentialityProfile.h"
#include "imaging/deid/KeyedIdentity.h"

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace gdcm {
class File;
}

namespace radmark::deid {

inline constexpr const char* engineName = "Radmark de-identification";
inline constexpr const char* engineVersion = "1.0";

// What happened to one attribute, counted per file: action is one of removed, emptied,
// replaced, shifted, cleaned, kept; why names the table row or option that decided it.
struct AttributeAction {
    std::uint32_t tag = 0;
    std::string action;
    std::string why;
    bool operator<(const AttributeAction& o) const {
        return std::tie(tag, action, why) < std::tie(o.tag, o.action, o.why);
    }
};

struct FileResult {
    bool quarantined = false;
    std::string reason; // why quarantined; never contains a value of the input
    std::string patientPseudonym;
    std::string studyUid; // after de-identification
    std::string seriesUid;
    std::string sopInstanceUid;
    std::string modality;
    bool pixelsCleaned = false;
    std::vector<PixelRegion> blackedOut; // in every frame, when pixelsCleaned
    std::map<AttributeAction, int> actions;
    std::vector<std::string> leaks; // tag paths where verification found an input value
};

class Deidentifier {
  public:
    // rules and detector may be null: then any image that may hold burned-in text is quarantined.
    Deidentifier(const ConfidentialityProfile& profile, ProfileOptions options,
                 const StoreSecret& secret, const BurnedInTextRules* rules = nullptr,
                 const TextDetector* detector = nullptr);
    ~Deidentifier();
    Deidentifier(const Deidentifier&) = delete;
    Deidentifier& operator=(const Deidentifier&) = delete;

    // De-identifies file in place. When the result is quarantined the file must not be kept.
    FileResult deidentify(gdcm::File& file) const;

    const ProfileOptions& options() const { return options_; }
    const ConfidentialityProfile& profile() const { return profile_; }

  private:
    const ConfidentialityProfile& profile_;
    ProfileOptions options_;
    KeyedHash hash_;
    UidRemapper uids_;
    Pseudonymizer pseudonyms_;
    DateShifter dates_;
    const BurnedInTextRules* rules_;
    const TextDetector* detector_;
    friend class FilePass;
};

} // namespace radmark::deid
