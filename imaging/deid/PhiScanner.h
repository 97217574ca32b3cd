#pragma once
// Verification after de-identification: the identifying values of the input (every value the
// profile removes or replaces, at any depth, and every private string) are searched for in every
// element of the output at every depth, file meta included. A hit names the tag path, never the
// value. The same value list cleans free-text descriptors.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gdcm {
class DataSet;
class File;
} // namespace gdcm

namespace radmark::deid {

// Where an identifying value came from: the attribute it was removed from, and whether it may
// NOT equal a device name kept on purpose. Only an institution, department or station name has
// personal = false; everything else (names, IDs, dates, UIDs, addresses, AE titles) counts as
// personal and is never excused.
struct ValueOrigin {
    std::uint32_t tag = 0; // (group << 16) | element; 0 when unknown
    bool personal = true;
};

// An output element holding an identifying value of the input.
struct PhiFinding {
    std::string path;                 // e.g. "(0040,0275)[1]/(0010,0010)"
    std::uint32_t tag = 0;            // the output element's tag
    std::string value;                // its value, upper case, trimmed: in memory only
    std::vector<ValueOrigin> origins; // of every input value found in it
};

class PhiScanner {
  public:
    // Adds one input value (multi-valued "a\b" is split). Short or generic values that would
    // match by chance (fewer than 4 characters, Radmark's own dummies) are ignored.
    void addValue(std::string_view value, ValueOrigin origin = {});
    // A person name: the whole value and each name component of 3 or more letters (as a word).
    void addPersonName(std::string_view value);
    // One word (e.g. a name component), matched only as a whole word.
    void addWord(std::string_view word) { addNeedle(std::string(word), true); }
    // The name components of a person name value ("DOE^JANE^Q" -> DOE, JANE).
    static std::vector<std::string> nameWords(std::string_view personName);
    std::size_t size() const { return needles_.size(); }

    // Tag paths of output elements holding an input value, e.g. "(0040,0275)[1]/(0010,0010)".
    std::vector<std::string> scan(const gdcm::File& file) const;
    std::vector<std::string> scan(const gdcm::DataSet& dataSet, const std::string& path) const;
    // The same search, with what was found in each element and where it came from.
    std::vector<PhiFinding> find(const gdcm::File& file) const;
    std::vector<PhiFinding> find(const gdcm::DataSet& dataSet, const std::string& path) const;

    // The text without any identifying value (case-insensitive; spaces tidied).
    std::string clean(std::string_view text) const;
    bool matches(std::string_view text) const;

  private:
    struct Needle {
        std::string upper;
        bool wholeWord = false;
        ValueOrigin origin;
    };
    std::vector<Needle> needles_;
    void addNeedle(std::string value, bool wholeWord, ValueOrigin origin = {});
    static std::size_t findIn(std::string_view haystackUpper, const Needle& needle,
                              std::size_t from);
};

} // namespace radmark::deid
