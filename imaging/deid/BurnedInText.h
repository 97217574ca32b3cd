#pragma once
// Burned-in text in pixels (ultrasound, screen captures, BurnedInAnnotation=YES): regions to
// black out, per manufacturer and model, kept as data (resources/deid/burned_in_text_rules.tsv),
// and a text detector (OCR) run over the cleaned pixels to prove nothing readable is left.

#include <cstdint>
#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace radmark::deid {

struct PixelRegion {
    int x = 0, y = 0, width = 0, height = 0; // in pixels; width/height -1 = to the edge
};

struct BlackoutRule {
    std::string modality;      // "US", "OT", ... or "*"
    std::string manufacturer;  // case-insensitive regex, "*" = any
    std::string model;         // case-insensitive regex, "*" = any
    int rows = 0, columns = 0; // 0 = any size
    std::vector<PixelRegion> regions;
    std::string description;
};

class BurnedInTextRules {
  public:
    static const BurnedInTextRules& standard(); // compiled in from resources/deid
    // TSV: modality, manufacturer, model, rows, columns, regions "x,y,w,h;x,y,w,h", description.
    static BurnedInTextRules parse(std::string_view tsv);
    const BlackoutRule* find(std::string_view modality, std::string_view manufacturer,
                             std::string_view model, int rows, int columns) const;
    const std::vector<BlackoutRule>& rules() const { return rules_; }

  private:
    std::vector<BlackoutRule> rules_;
};

// Finds readable text in an 8-bit grey image (row-major, width*height bytes).
class TextDetector {
  public:
    virtual ~TextDetector() = default;
    // Number of words found with good confidence; 0 means no text.
    virtual int countWords(const std::uint8_t* grey, int width, int height) const = 0;
};

// Tesseract (Debian's libtesseract and its English data), started on first use; countWords
// throws std::runtime_error when the OCR engine cannot start.
std::unique_ptr<TextDetector> makeTesseractDetector();

} // namespace radmark::deid
