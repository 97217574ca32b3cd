#pragma once
// Verification after de-identification: the identifying values of the input (every value the
// profile removes or replaces, at any depth, and every private string) are searched for in every
// element of the output at every depth, file meta included. A hit names the tag path, never the
// value. The same value list cleans free-text descriptors.

#include <string>
#include <string_view>
#include <vector>

namespace gdcm {
class DataSet;
class File;
} // namespace gdcm

namespace radmark::deid {

class PhiScanner {
  public:
    // Adds one input value (multi-valued "a\b" is split). Short or generic values that would
    // match by chance (fewer than 4 characters, Radmark's own dummies) are ignored.
    void addValue(std::string_view value);
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

    // The text without any identifying value (case-insensitive; spaces tidied).
    std::string clean(std::string_view text) const;
    bool matches(std::string_view text) const;

  private:
    struct Needle {
        std::string upper;
        bool wholeWord = false;
    };
    std::vector<Needle> needles_;
    void addNeedle(std::string value, bool wholeWord);
    static std::size_t findIn(std::string_view haystackUpper, const Needle& needle,
                              std::size_t from);
};

} // namespace radmark::deid
