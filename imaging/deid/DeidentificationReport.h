#pragma once
// The per-study de-identification report (JSON): what was removed, emptied, replaced, shifted,
// cleaned and kept, and why (table row or option); the options; the engine and table version;
// files quarantined and why. Stored with the study and exported with it. Holds no input value.

#include "imaging/deid/Deidentifier.h"

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace radmark::deid {

class DeidentificationReport {
  public:
    DeidentificationReport(const ConfidentialityProfile& profile, const ProfileOptions& options);

    void add(const FileResult& result);
    // A file that could not be read or written (the reason names no value).
    void addFailure(const std::string& reason);

    bool quarantined() const { return quarantinedFiles_ > 0 || failures_ > 0; }
    int fileCount() const { return files_; }
    const std::vector<std::string>& reasons() const { return reasons_; }
    nlohmann::json toJson() const;

  private:
    const ConfidentialityProfile& profile_;
    ProfileOptions options_;
    int files_ = 0;
    int quarantinedFiles_ = 0;
    int failures_ = 0;
    int pixelCleanedFiles_ = 0;
    std::string pseudonym_;
    std::string studyUid_;
    std::map<std::string, std::string> seriesModality_;
    std::map<AttributeAction, int> actions_;
    std::vector<std::string> reasons_;
};

} // namespace radmark::deid
