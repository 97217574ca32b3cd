#include "imaging/deid/DeidentificationReport.h"

#include <cstdio>

namespace radmark::deid {

DeidentificationReport::DeidentificationReport(const ConfidentialityProfile& profile,
                                               const ProfileOptions& options)
    : profile_(profile), options_(options) {}

void DeidentificationReport::add(const FileResult& result) {
    ++files_;
    if (result.quarantined) {
        ++quarantinedFiles_;
        reasons_.push_back(result.reason);
        return;
    }
    if (result.pixelsCleaned)
        ++pixelCleanedFiles_;
    if (pseudonym_.empty())
        pseudonym_ = result.patientPseudonym;
    if (studyUid_.empty())
        studyUid_ = result.studyUid;
    seriesModality_[result.seriesUid] = result.modality;
    for (const auto& [action, count] : result.actions)
        actions_[action] += count;
}

void DeidentificationReport::addFailure(const std::string& reason) {
    ++files_;
    ++failures_;
    reasons_.push_back(reason);
}

nlohmann::json DeidentificationReport::toJson() const {
    nlohmann::json report;
    report["engine"] = {{"name", engineName}, {"version", engineVersion}};
    report["profile"] = {{"table", "DICOM PS3.15 Annex E Table E.1-1"},
                         {"edition", profile_.edition()},
                         {"rows", profile_.rows().size()}};
    report["options"] = options_.names();
    report["dateShift"] = options_.has(ProfileOption::RetainLongitudinalModifiedDates)
                              ? "one whole-day shift per patient on every date; the offset is "
                                "secret and not recorded"
                              : "none";
    report["study"] = {{"studyInstanceUid", studyUid_}, {"patientPseudonym", pseudonym_}};
    nlohmann::json series = nlohmann::json::array();
    for (const auto& [uid, modality] : seriesModality_)
        series.push_back({{"seriesInstanceUid", uid}, {"modality", modality}});
    report["series"] = series;
    report["files"] = {{"total", files_},
                       {"deidentified", files_ - quarantinedFiles_ - failures_},
                       {"quarantined", quarantinedFiles_},
                       {"failed", failures_},
                       {"pixelsCleaned", pixelCleanedFiles_}};
    report["verdict"] = quarantined() ? "quarantined" : "deidentified";
    report["quarantineReasons"] = reasons_;

    // Per action: one entry per attribute and reason, with the number of elements.
    nlohmann::json byAction = nlohmann::json::object();
    for (const char* action : {"removed", "emptied", "replaced", "shifted", "cleaned", "kept"})
        byAction[action] = nlohmann::json::array();
    for (const auto& [action, count] : actions_) {
        char tag[16];
        std::snprintf(tag, sizeof tag, "(%04X,%04X)", unsigned(action.tag >> 16),
                      unsigned(action.tag & 0xFFFF));
        std::string name;
        if (const ProfileRow* row =
                profile_.find(std::uint16_t(action.tag >> 16), std::uint16_t(action.tag & 0xFFFF)))
            name = row->name;
        nlohmann::json entry = {{"tag", tag}, {"why", action.why}, {"count", count}};
        if (!name.empty())
            entry["name"] = name;
        byAction[action.action].push_back(entry);
    }
    report["actions"] = byAction;
    return report;
}

} // namespace radmark::deid
