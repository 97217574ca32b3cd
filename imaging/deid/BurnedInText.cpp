#include "imaging/deid/BurnedInText.h"

#include <tesseract/baseapi.h>
#include <tesseract/resultiterator.h>

#include <cctype>
#include <mutex>
#include <stdexcept>

namespace radmark::deid {

extern const char* const burnedInTextRulesTable; // generated from resources/deid

namespace {

std::vector<std::string> splitOn(std::string_view text, char separator) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (true) {
        const std::size_t end = text.find(separator, start);
        parts.emplace_back(text.substr(start, end == text.npos ? text.npos : end - start));
        if (end == std::string_view::npos)
            return parts;
        start = end + 1;
    }
}

bool matchesPattern(const std::string& pattern, std::string_view value) {
    if (pattern == "*")
        return true;
    return std::regex_match(std::string(value),
                            std::regex(pattern, std::regex::icase | std::regex::ECMAScript));
}

class TesseractDetector : public TextDetector {
  public:
    // Tesseract starts on first use (it takes a noticeable fraction of a second), so runs
    // without any image to check do not pay for it.
    ~TesseractDetector() override {
        if (started_)
            api_.End();
    }

    int countWords(const std::uint8_t* grey, int width, int height) const override {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!started_) {
            if (api_.Init(nullptr, "eng") != 0)
                throw std::runtime_error("the OCR engine (Tesseract, English) could not start");
            api_.SetPageSegMode(tesseract::PSM_SPARSE_TEXT);
            started_ = true;
        }
        api_.SetImage(grey, width, height, 1, width);
        if (api_.Recognize(nullptr) != 0)
            return 0;
        int words = 0;
        std::unique_ptr<tesseract::ResultIterator> it(api_.GetIterator());
        if (!it)
            return 0;
        do {
            std::unique_ptr<char[]> word(it->GetUTF8Text(tesseract::RIL_WORD));
            if (!word)
                continue;
            int alnum = 0;
            for (const char* c = word.get(); *c; ++c)
                alnum += std::isalnum(static_cast<unsigned char>(*c)) ? 1 : 0;
            // Readable text: at least two letters or digits recognised with confidence.
            if (alnum >= 2 && it->Confidence(tesseract::RIL_WORD) >= 60.0f)
                ++words;
        } while (it->Next(tesseract::RIL_WORD));
        api_.Clear();
        return words;
    }

  private:
    mutable tesseract::TessBaseAPI api_;
    mutable std::mutex mutex_;
    mutable bool started_ = false;
};

} // namespace

const BurnedInTextRules& BurnedInTextRules::standard() {
    static const BurnedInTextRules rules = parse(burnedInTextRulesTable);
    return rules;
}

BurnedInTextRules BurnedInTextRules::parse(std::string_view tsv) {
    BurnedInTextRules out;
    int lineNumber = 0;
    bool header = false;
    for (const auto& rawLine : splitOn(tsv, '\n')) {
        ++lineNumber;
        std::string line = rawLine;
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        if (line.empty() || line.front() == '#')
            continue;
        const auto fields = splitOn(line, '\t');
        const std::string where = "burned-in text rules line " + std::to_string(lineNumber) + ": ";
        if (!header) {
            header = true;
            if (fields.empty() || fields[0] != "modality")
                throw std::runtime_error(where + "expected the header line");
            continue;
        }
        if (fields.size() != 7)
            throw std::runtime_error(where + "expected 7 columns");
        BlackoutRule rule;
        rule.modality = fields[0];
        rule.manufacturer = fields[1];
        rule.model = fields[2];
        try {
            rule.rows = std::stoi(fields[3]);
            rule.columns = std::stoi(fields[4]);
            for (const auto& region : splitOn(fields[5], ';')) {
                const auto numbers = splitOn(region, ',');
                if (numbers.size() != 4)
                    throw std::runtime_error("region needs x,y,width,height");
                rule.regions.push_back({std::stoi(numbers[0]), std::stoi(numbers[1]),
                                        std::stoi(numbers[2]), std::stoi(numbers[3])});
            }
            (void)std::regex(rule.manufacturer == "*" ? "" : rule.manufacturer);
            (void)std::regex(rule.model == "*" ? "" : rule.model);
        } catch (const std::exception& error) {
            throw std::runtime_error(where + error.what());
        }
        rule.description = fields[6];
        out.rules_.push_back(std::move(rule));
    }
    return out;
}

const BlackoutRule* BurnedInTextRules::find(std::string_view modality,
                                            std::string_view manufacturer, std::string_view model,
                                            int rows, int columns) const {
    for (const auto& rule : rules_) {
        if (rule.modality != "*" && rule.modality != modality)
            continue;
        if ((rule.rows && rule.rows != rows) || (rule.columns && rule.columns != columns))
            continue;
        if (matchesPattern(rule.manufacturer, manufacturer) && matchesPattern(rule.model, model))
            return &rule;
    }
    return nullptr;
}

std::unique_ptr<TextDetector> makeTesseractDetector() {
    return std::make_unique<TesseractDetector>();
}

} // namespace radmark::deid
