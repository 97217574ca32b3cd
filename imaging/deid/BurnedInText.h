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

namespace gdcm {
class File;
}
namespace radmark::imaging {
class Volume;
}

namespace radmark::deid {

struct PixelRegion {
    int x = 0, y = 0, width = 0, height = 0; // in pixels
};

// One coordinate of a rule's region: pixels, or a percentage of the image's width or height
// (vendors scale their screen layout with the image). -1 as a width or height: to the edge.
struct RegionLength {
    int value = 0;
    bool percent = false;
    int in(int size) const { return percent ? (value * size + 99) / 100 : value; }
};

struct RuleRegion {
    RegionLength x, y, width, height;
    // The region in an image of this size, clamped to it (empty when outside).
    PixelRegion in(int rows, int columns) const;
};

struct BlackoutRule {
    std::string modality;      // "US", "OT", ... ; "*" = any, "-" = none given
    std::string manufacturer;  // case-insensitive regex; "*" = any, "-" = none given
    std::string model;         // case-insensitive regex; "*" = any, "-" = none given
    int rows = 0, columns = 0; // 0 = any size
    std::vector<RuleRegion> regions;
    std::string description;
};

class BurnedInTextRules {
  public:
    static const BurnedInTextRules& standard(); // compiled in from resources/deid
    // TSV: modality, manufacturer, model, rows, columns, regions "x,y,w,h;x,y,w,h" (pixels or
    // "8%"; "-" for none: the OCR check alone), description.
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

// What cleaning one image's pixels did.
struct PixelCleaning {
    std::string problem; // why the image cannot be kept; empty when it was cleaned
    const BlackoutRule* rule = nullptr;
    std::vector<PixelRegion> regions; // blacked out in every frame, clamped to the image
    bool decoded = false; // compressed pixels were decoded first (big endian >8-bit is refused)
};

// The regions a cleaning blacked out, applied to every slice of a volume read from the same
// images (x = column, y = row), filled with the volume's lowest value: black whatever the
// rescale or colour conversion. Import stores volumes, so it applies what the engine did.
void blackOutRegions(imaging::Volume& volume, const std::vector<PixelRegion>& regions);

// Cleans the burned-in text of one image (file's dataset and file meta, in memory): finds the
// rule for its modality, manufacturer, model and size, decodes compressed pixel data with GDCM
// (written back uncompressed, explicit VR little endian, photometric interpretation and planar
// configuration as decoded; a lossy image stays marked lossy), blacks out the rule's regions in
// every frame, then detector reads every frame (a frame byte-identical to one already read is
// skipped): any word found means text is left. why says why the image may hold text, for the
// messages. rules or detector null: nothing can be cleaned.
PixelCleaning cleanBurnedInText(gdcm::File& file, std::string_view modality,
                                std::string_view manufacturer, std::string_view model,
                                const BurnedInTextRules* rules, const TextDetector* detector,
                                const std::string& why);

} // namespace radmark::deid
