#include "imaging/deid/PhiScanner.h"

#include "imaging/deid/DicomElements.h"

#include <gdcmDataSet.h>
#include <gdcmFile.h>
#include <gdcmFileMetaInformation.h>
#include <gdcmItem.h>

#include <algorithm>
#include <cctype>
#include <iterator>

namespace radmark::deid {
namespace {

std::string upper(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        c = char(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

bool isWordChar(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

bool allDigits(std::string_view text) {
    return !text.empty() &&
           std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Values Radmark writes itself: never evidence of a leak.
bool isOwnDummy(const std::string& upperValue) {
    return upperValue == "ANONYMIZED" || upperValue == "REMOVED" || upperValue == "19000101" ||
           upperValue == "19000101000000" || upperValue == "000000";
}

const gdcm::Tag pixelData(0x7FE0, 0x0010);

// Elements Radmark writes itself (de-identification records, its implementation identity).
bool isOwnRecord(const gdcm::Tag& tag) {
    return tag == gdcm::Tag(0x0012, 0x0062) || tag == gdcm::Tag(0x0012, 0x0063) ||
           tag == gdcm::Tag(0x0012, 0x0064) || tag == gdcm::Tag(0x0028, 0x0303) ||
           tag == gdcm::Tag(0x0002, 0x0012) || tag == gdcm::Tag(0x0002, 0x0013) ||
           tag == gdcm::Tag(0x0002, 0x0016);
}

} // namespace

void PhiScanner::addNeedle(std::string value, bool wholeWord, ValueOrigin origin) {
    value = dicom::trimmed(value);
    if (value.size() < (wholeWord ? 3u : 4u))
        return;
    if (value.rfind("1.2.840.10008.", 0) == 0)
        return; // a well-known standard UID names a class, not a person
    // Measurements ("5.000000", "-12.5") are not identifying; long digit runs (IDs) are.
    const bool numeric = std::all_of(value.begin(), value.end(), [](char c) {
        return (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'E' || c == 'e' ||
               c == ' ';
    });
    if (numeric && (value.find('.') != std::string::npos || value.size() < 6))
        return;
    Needle needle{upper(value), wholeWord || allDigits(value), origin};
    if (isOwnDummy(needle.upper))
        return;
    for (auto& existing : needles_)
        if (existing.upper == needle.upper && existing.wholeWord == needle.wholeWord) {
            // The same value from a person's attribute and from a device's is a person's value.
            existing.origin.personal = existing.origin.personal || origin.personal;
            return;
        }
    needles_.push_back(std::move(needle));
}

void PhiScanner::addValue(std::string_view value, ValueOrigin origin) {
    std::size_t start = 0;
    while (start <= value.size()) {
        std::size_t end = value.find('\\', start);
        if (end == std::string_view::npos)
            end = value.size();
        addNeedle(std::string(value.substr(start, end - start)), false, origin);
        start = end + 1;
    }
}

std::vector<std::string> PhiScanner::nameWords(std::string_view value) {
    std::vector<std::string> words;
    std::string word;
    for (std::size_t i = 0; i <= value.size(); ++i) {
        const char c = i < value.size() ? value[i] : '^';
        if (std::isalpha(static_cast<unsigned char>(c)) || c == '\'' || c == '-') {
            word += c;
            continue;
        }
        if (word.size() >= 3)
            words.push_back(word);
        word.clear();
    }
    return words;
}

void PhiScanner::addPersonName(std::string_view value) {
    addValue(value);
    for (const auto& word : nameWords(value))
        addNeedle(word, true);
}

std::size_t PhiScanner::findIn(std::string_view haystackUpper, const Needle& needle,
                               std::size_t from) {
    while (true) {
        const std::size_t at = haystackUpper.find(needle.upper, from);
        if (at == std::string_view::npos || !needle.wholeWord)
            return at;
        const std::size_t end = at + needle.upper.size();
        const bool startOk = at == 0 || !isWordChar(haystackUpper[at - 1]);
        const bool endOk = end >= haystackUpper.size() || !isWordChar(haystackUpper[end]);
        if (startOk && endOk)
            return at;
        from = at + 1;
    }
}

bool PhiScanner::matches(std::string_view text) const {
    if (needles_.empty() || text.empty())
        return false;
    const std::string haystack = upper(text);
    for (const auto& needle : needles_)
        if (findIn(haystack, needle, 0) != std::string_view::npos)
            return true;
    return false;
}

std::string PhiScanner::clean(std::string_view text) const {
    std::string out(text);
    bool changed = false;
    for (const auto& needle : needles_) {
        std::string haystack = upper(out);
        std::size_t at = findIn(haystack, needle, 0);
        while (at != std::string::npos) {
            out.erase(at, needle.upper.size());
            haystack.erase(at, needle.upper.size());
            changed = true;
            at = findIn(haystack, needle, at);
        }
    }
    if (!changed)
        return out;
    // Tidy what the removal left: runs of separators, leading and trailing separators.
    std::string tidy;
    for (char c : out) {
        const bool separator = c == ' ' || c == '^';
        if (separator && (tidy.empty() || tidy.back() == ' '))
            continue;
        tidy += separator ? ' ' : c;
    }
    while (!tidy.empty() && (tidy.back() == ' ' || tidy.back() == ',' || tidy.back() == '-'))
        tidy.pop_back();
    return tidy;
}

std::vector<PhiFinding> PhiScanner::find(const gdcm::DataSet& dataSet,
                                         const std::string& path) const {
    std::vector<PhiFinding> findings;
    if (needles_.empty())
        return findings;
    for (const auto& element : dataSet.GetDES()) {
        const gdcm::Tag& tag = element.GetTag();
        if (path.empty() && isOwnRecord(tag))
            continue;
        const std::string here = path + dicom::tagText(tag);
        const gdcm::VR vr = dicom::effectiveVr(element);
        if (auto sequence = dicom::sequenceOf(element, vr)) {
            for (gdcm::SequenceOfItems::SizeType i = 1; i <= sequence->GetNumberOfItems(); ++i) {
                auto nested = find(sequence->GetItem(i).GetNestedDataSet(),
                                   here + "[" + std::to_string(i) + "]/");
                findings.insert(findings.end(), std::make_move_iterator(nested.begin()),
                                std::make_move_iterator(nested.end()));
            }
            continue;
        }
        if (tag == pixelData || (path == "meta/" && isOwnRecord(tag)))
            continue;
        const std::string_view raw = dicom::rawValue(element);
        if (raw.empty())
            continue;
        PhiFinding finding{here,
                           (std::uint32_t(tag.GetGroup()) << 16) | tag.GetElement(),
                           upper(dicom::trimmed(raw)),
                           {}};
        const std::string haystack = upper(raw);
        for (const auto& needle : needles_)
            if (findIn(haystack, needle, 0) != std::string_view::npos)
                finding.origins.push_back(needle.origin);
        if (!finding.origins.empty())
            findings.push_back(std::move(finding));
    }
    return findings;
}

std::vector<PhiFinding> PhiScanner::find(const gdcm::File& file) const {
    auto findings = find(file.GetHeader(), "meta/");
    auto body = find(file.GetDataSet(), "");
    findings.insert(findings.end(), std::make_move_iterator(body.begin()),
                    std::make_move_iterator(body.end()));
    return findings;
}

std::vector<std::string> PhiScanner::scan(const gdcm::DataSet& dataSet,
                                          const std::string& path) const {
    std::vector<std::string> paths;
    for (auto& finding : find(dataSet, path))
        paths.push_back(std::move(finding.path));
    return paths;
}

std::vector<std::string> PhiScanner::scan(const gdcm::File& file) const {
    std::vector<std::string> paths;
    for (auto& finding : find(file))
        paths.push_back(std::move(finding.path));
    return paths;
}

} // namespace radmark::deid
