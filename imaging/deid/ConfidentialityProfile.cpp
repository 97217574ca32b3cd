#include "imaging/deid/ConfidentialityProfile.h"

#include <algorithm>
#include <charconv>
#include <sstream>

namespace radmark::deid {

// Generated from resources/deid/confidentiality_profile.tsv at configure time.
extern const char* const confidentialityProfileTable;

namespace {

struct OptionInfo {
    const char* name;
    const char* code;
    const char* meaning;
};

// DCM codes of PS3.16 CID 7050 (De-identification Method).
constexpr OptionInfo optionInfo[tableOptionCount] = {
    {"retain-safe-private", "113111", "Retain Safe Private Option"},
    {"retain-uids", "113110", "Retain UIDs Option"},
    {"retain-device-identity", "113109", "Retain Device Identity Option"},
    {"retain-institution-identity", "113112", "Retain Institution Identity Option"},
    {"retain-patient-characteristics", "113108", "Retain Patient Characteristics Option"},
    {"retain-longitudinal-full-dates", "113106",
     "Retain Longitudinal Temporal Information Full Dates Option"},
    {"retain-longitudinal-modified-dates", "113107",
     "Retain Longitudinal Temporal Information Modified Dates Option"},
    {"clean-descriptors", "113105", "Clean Descriptors Option"},
    {"clean-structured-content", "113104", "Clean Structured Content Option"},
    {"clean-graphics", "113103", "Clean Graphics Option"},
};

const std::vector<std::string> basicCodes = {"D",   "Z",   "X",     "K",      "C",  "U",
                                             "X/Z", "X/D", "X/Z/D", "X/Z/U*", "Z/D"};
const std::vector<std::string> optionCodes = {"", "K", "C", "X", "D", "Z", "U"};

std::vector<std::string> splitTabs(std::string_view line) {
    std::vector<std::string> fields;
    std::size_t start = 0;
    while (true) {
        const std::size_t tab = line.find('\t', start);
        fields.emplace_back(
            line.substr(start, tab == std::string_view::npos ? line.npos : tab - start));
        if (tab == std::string_view::npos)
            break;
        start = tab + 1;
    }
    return fields;
}

bool parseHex4(std::string_view text, std::uint16_t& value) {
    if (text.size() != 4)
        return false;
    const auto [end, error] = std::from_chars(text.data(), text.data() + 4, value, 16);
    return error == std::errc() && end == text.data() + 4;
}

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        c = char(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

} // namespace

const char* optionName(ProfileOption option) {
    return optionInfo[std::size_t(option)].name;
}
const char* optionCodeValue(ProfileOption option) {
    return optionInfo[std::size_t(option)].code;
}
const char* optionCodeMeaning(ProfileOption option) {
    return optionInfo[std::size_t(option)].meaning;
}

ProfileOptions ProfileOptions::defaults() {
    ProfileOptions options;
    options.set(ProfileOption::CleanDescriptors);
    options.set(ProfileOption::RetainLongitudinalModifiedDates);
    options.cleanPixelData = true;
    return options;
}

ProfileOptions ProfileOptions::parse(std::string_view list) {
    ProfileOptions options = defaults();
    std::size_t start = 0;
    bool first = true;
    while (start <= list.size()) {
        std::size_t comma = list.find(',', start);
        if (comma == std::string_view::npos)
            comma = list.size();
        std::string word(list.substr(start, comma - start));
        start = comma + 1;
        word.erase(0, word.find_first_not_of(' '));
        word.erase(word.find_last_not_of(' ') + 1);
        if (word.empty()) {
            if (comma == list.size())
                break;
            continue;
        }
        if (first && word == "basic") {
            options = ProfileOptions{};
            options.cleanPixelData = true;
            first = false;
            continue;
        }
        first = false;
        if (word == "default")
            continue;
        bool on = true;
        if (word.rfind("no-", 0) == 0) {
            on = false;
            word.erase(0, 3);
        }
        if (word == "clean-pixel-data") {
            options.cleanPixelData = on;
            continue;
        }
        if (word == "deface") {
            options.deface = on;
            continue;
        }
        bool known = false;
        for (std::size_t i = 0; i < tableOptionCount; ++i) {
            if (word == optionInfo[i].name) {
                options.selected[i] = on;
                known = true;
            }
        }
        if (!known) {
            std::string names = "basic, default, clean-pixel-data, deface";
            for (const auto& info : optionInfo)
                names += std::string(", ") + info.name;
            throw ProfileError("unknown de-identification option '" + word + "' (known: " + names +
                               ")");
        }
    }
    if (options.has(ProfileOption::RetainLongitudinalFullDates))
        options.set(ProfileOption::RetainLongitudinalModifiedDates, false);
    return options;
}

std::vector<std::string> ProfileOptions::names() const {
    std::vector<std::string> out{"basic"};
    for (std::size_t i = 0; i < tableOptionCount; ++i)
        if (selected[i])
            out.emplace_back(optionInfo[i].name);
    if (cleanPixelData)
        out.emplace_back("clean-pixel-data");
    if (deface)
        out.emplace_back("deface");
    return out;
}

const ConfidentialityProfile& ConfidentialityProfile::standard() {
    static const ConfidentialityProfile profile = parse(confidentialityProfileTable);
    return profile;
}

ConfidentialityProfile ConfidentialityProfile::parse(std::string_view tsv) {
    ConfidentialityProfile profile;
    bool headerSeen = false;
    int lineNumber = 0;
    std::size_t start = 0;
    while (start < tsv.size()) {
        std::size_t end = tsv.find('\n', start);
        if (end == std::string_view::npos)
            end = tsv.size();
        std::string_view line = tsv.substr(start, end - start);
        start = end + 1;
        ++lineNumber;
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        if (line.empty())
            continue;
        if (line.front() == '#') {
            const auto at = line.find(", 20");
            if (profile.edition_.empty() && at != std::string_view::npos)
                profile.edition_ =
                    std::string(line.substr(at + 2, line.find(' ', at + 2) - at - 2));
            continue;
        }
        const auto fields = splitTabs(line);
        const auto where = "profile table line " + std::to_string(lineNumber) + ": ";
        if (!headerSeen) {
            if (fields.size() != 14 || fields[0] != "tag")
                throw ProfileError(where + "expected the 14-column header");
            headerSeen = true;
            continue;
        }
        if (fields.size() != 14)
            throw ProfileError(where + "expected 14 columns, found " +
                               std::to_string(fields.size()));
        ProfileRow row;
        row.tagText = fields[0];
        row.name = fields[1];
        row.basic = fields[2];
        const std::string tag = lower(row.tagText);
        if (tag == "(50xx,xxxx)") {
            row.match = ProfileRow::Match::CurveGroup;
            row.group = 0x5000;
        } else if (tag == "(60xx,3000)" || tag == "(60xx,4000)") {
            row.match = ProfileRow::Match::OverlayElement;
            row.group = 0x6000;
            row.element = tag == "(60xx,3000)" ? 0x3000 : 0x4000;
        } else if (tag == "(gggg,eeee)") {
            row.match = ProfileRow::Match::PrivateGroup;
        } else if (tag.size() != 11 || tag[0] != '(' || tag[5] != ',' || tag[10] != ')' ||
                   !parseHex4(std::string_view(row.tagText).substr(1, 4), row.group) ||
                   !parseHex4(std::string_view(row.tagText).substr(6, 4), row.element)) {
            throw ProfileError(where + "malformed tag " + row.tagText);
        }
        if (std::find(basicCodes.begin(), basicCodes.end(), row.basic) == basicCodes.end())
            throw ProfileError(where + "unknown action " + row.basic);
        for (std::size_t i = 0; i < tableOptionCount; ++i) {
            row.options[i] = fields[3 + i];
            if (std::find(optionCodes.begin(), optionCodes.end(), row.options[i]) ==
                optionCodes.end())
                throw ProfileError(where + "unknown option action " + row.options[i]);
        }
        if (fields[13] != "standard" && fields[13] != "inferred")
            throw ProfileError(where + "options_source must be 'standard' or 'inferred'");
        row.optionsInferred = fields[13] == "inferred";
        profile.rows_.push_back(std::move(row));
    }
    if (!headerSeen || profile.rows_.empty())
        throw ProfileError("profile table is empty");
    profile.index();
    return profile;
}

void ConfidentialityProfile::index() {
    std::vector<std::pair<std::uint32_t, const ProfileRow*>> exact;
    for (const auto& row : rows_) {
        switch (row.match) {
        case ProfileRow::Match::Exact:
            exact.emplace_back((std::uint32_t(row.group) << 16) | row.element, &row);
            break;
        case ProfileRow::Match::CurveGroup:
            curveRow_ = &row;
            break;
        case ProfileRow::Match::OverlayElement:
            (row.element == 0x3000 ? overlayDataRow_ : overlayCommentsRow_) = &row;
            break;
        case ProfileRow::Match::PrivateGroup:
            privateRow_ = &row;
            break;
        }
    }
    std::sort(exact.begin(), exact.end());
    for (std::size_t i = 1; i < exact.size(); ++i)
        if (exact[i].first == exact[i - 1].first)
            throw ProfileError("profile table lists " + exact[i].second->tagText + " twice");
    exactKeys_.clear();
    exactRows_.clear();
    for (const auto& [key, row] : exact) {
        exactKeys_.push_back(key);
        exactRows_.push_back(row);
    }
}

const ProfileRow* ConfidentialityProfile::find(std::uint16_t group, std::uint16_t element) const {
    const std::uint32_t key = (std::uint32_t(group) << 16) | element;
    const auto it = std::lower_bound(exactKeys_.begin(), exactKeys_.end(), key);
    if (it != exactKeys_.end() && *it == key)
        return exactRows_[std::size_t(it - exactKeys_.begin())];
    if ((group & 0xFF00) == 0x5000 && (group & 1) == 0)
        return curveRow_;
    if ((group & 0xFF00) == 0x6000 && (group & 1) == 0) {
        if (element == 0x3000)
            return overlayDataRow_;
        if (element == 0x4000)
            return overlayCommentsRow_;
    }
    return nullptr;
}

RowDecision ConfidentialityProfile::decide(const ProfileRow& row,
                                           const ProfileOptions& options) const {
    // Where several selected options speak for a row, keeping wins over cleaning, which wins
    // over any other option action; without one, the basic profile decides.
    RowDecision best{row.basic, "Table E.1-1 " + row.tagText + " basic profile"};
    int bestRank = 0;
    for (std::size_t i = 0; i < tableOptionCount; ++i) {
        if (!options.selected[i] || row.options[i].empty())
            continue;
        const std::string& code = row.options[i];
        const int rank = code == "K" ? 3 : code == "C" ? 2 : 1;
        if (rank > bestRank) {
            bestRank = rank;
            best = {code, std::string("option ") + optionInfo[i].name +
                              (row.optionsInferred ? " (column inferred)" : "")};
        }
    }
    return best;
}

} // namespace radmark::deid
