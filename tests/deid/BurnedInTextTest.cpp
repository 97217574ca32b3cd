// Burned-in text: an ultrasound image with a name drawn into its pixels is blacked out by the
// rule for its device and checked by OCR; text outside the rule's regions, a device without a
// rule, or no OCR engine quarantines it.

#include "imaging/deid/BurnedInText.h"
#include "imaging/deid/Deidentifier.h"
#include "tests/deid/DeidTestSupport.h"

#include <gtest/gtest.h>

#include <array>
#include <map>
#include <set>

namespace radmark::deid {
namespace {

using test::text;
using test::valueOf;

constexpr int rows = 240, columns = 320;

// 5x7 glyphs of the letters of a fake name, drawn 5 times larger, light on dark.
const std::map<char, std::array<const char*, 7>> glyphs = {
    {'D', {"11110", "10001", "10001", "10001", "10001", "10001", "11110"}},
    {'O', {"01110", "10001", "10001", "10001", "10001", "10001", "01110"}},
    {'E', {"11111", "10000", "10000", "11110", "10000", "10000", "11111"}},
    {'J', {"00111", "00010", "00010", "00010", "00010", "10010", "01100"}},
    {'A', {"01110", "10001", "10001", "11111", "10001", "10001", "10001"}},
    {'N', {"10001", "11001", "10101", "10011", "10001", "10001", "10001"}},
};

std::vector<std::uint8_t> imageWithText(const std::string& words, int x0, int y0) {
    std::vector<std::uint8_t> pixels(std::size_t(rows) * columns, 20);
    const int scale = 5;
    int x = x0;
    for (char c : words) {
        if (c == ' ') {
            x += 4 * scale;
            continue;
        }
        const auto& glyph = glyphs.at(c);
        for (int gy = 0; gy < 7; ++gy)
            for (int gx = 0; gx < 5; ++gx)
                if (glyph[std::size_t(gy)][gx] == '1')
                    for (int dy = 0; dy < scale; ++dy)
                        for (int dx = 0; dx < scale; ++dx)
                            pixels[std::size_t(y0 + gy * scale + dy) * columns + x + gx * scale +
                                   dx] = 235;
        x += 7 * scale;
    }
    return pixels;
}

gdcm::File ultrasound(const std::string& manufacturer, const std::vector<std::uint8_t>& pixels) {
    gdcm::File file = test::makeCtFile();
    gdcm::DataSet& ds = file.GetDataSet();
    ds.Replace(text(0x0008, 0x0016, gdcm::VR::UI, "1.2.840.10008.5.1.4.1.1.6.1"));
    ds.Replace(text(0x0008, 0x0060, gdcm::VR::CS, "US"));
    ds.Insert(text(0x0008, 0x0070, gdcm::VR::LO, manufacturer));
    ds.Insert(text(0x0028, 0x0004, gdcm::VR::CS, "MONOCHROME2"));
    auto us = [&](std::uint16_t element, std::uint16_t value) {
        gdcm::DataElement de(gdcm::Tag(0x0028, element));
        de.SetVR(gdcm::VR::US);
        de.SetByteValue(reinterpret_cast<const char*>(&value), 2);
        ds.Insert(de);
    };
    us(0x0002, 1);
    us(0x0010, rows);
    us(0x0011, columns);
    us(0x0100, 8);
    us(0x0101, 8);
    us(0x0102, 7);
    us(0x0103, 0);
    gdcm::DataElement data(gdcm::Tag(0x7FE0, 0x0010));
    data.SetVR(gdcm::VR::OB);
    data.SetByteValue(reinterpret_cast<const char*>(pixels.data()),
                      gdcm::VL(std::uint32_t(pixels.size())));
    ds.Insert(data);
    file.GetHeader().Replace(text(0x0002, 0x0002, gdcm::VR::UI, "1.2.840.10008.5.1.4.1.1.6.1"));
    return file;
}

const StoreSecret& secret() {
    static const StoreSecret s(std::array<std::uint8_t, 32>{9, 9, 9});
    return s;
}

// One OCR engine for the suite, ended before the program's static objects go (Tesseract
// complains about its caches otherwise).
std::unique_ptr<TextDetector> sharedDetector;

class DeidBurnedInText : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { sharedDetector = makeTesseractDetector(); }
    static void TearDownTestSuite() { sharedDetector.reset(); }
};

const TextDetector& ocr() {
    return *sharedDetector;
}

TEST_F(DeidBurnedInText, OcrSeesDrawnTextAndNothingOnABlankImage) {
    const auto withText = imageWithText("DOE JANE", 30, 100);
    EXPECT_GT(ocr().countWords(withText.data(), columns, rows), 0);
    const std::vector<std::uint8_t> blank(std::size_t(rows) * columns, 20);
    EXPECT_EQ(ocr().countWords(blank.data(), columns, rows), 0);
}

TEST_F(DeidBurnedInText, BannerBlackedOutByRuleThenVerified) {
    gdcm::File file = ultrasound("RADMARK TEST", imageWithText("DOE JANE", 30, 6));
    const Deidentifier engine(ConfidentialityProfile::standard(), ProfileOptions::defaults(),
                              secret(), &BurnedInTextRules::standard(), &ocr());
    const FileResult result = engine.deidentify(file);
    ASSERT_FALSE(result.quarantined) << result.reason;
    EXPECT_TRUE(result.pixelsCleaned);
    const gdcm::DataSet& ds = file.GetDataSet();
    EXPECT_EQ(valueOf(ds, 0x0028, 0x0301), "NO");
    std::set<std::string> codes;
    const auto sq = ds.GetDataElement(gdcm::Tag(0x0012, 0x0064)).GetValueAsSQ();
    for (std::size_t i = 1; sq && i <= sq->GetNumberOfItems(); ++i)
        codes.insert(valueOf(sq->GetItem(i).GetNestedDataSet(), 0x0008, 0x0100));
    EXPECT_TRUE(codes.count("113101")) << "Clean Pixel Data Option recorded";
    const gdcm::ByteValue* pixels = ds.GetDataElement(gdcm::Tag(0x7FE0, 0x0010)).GetByteValue();
    ASSERT_TRUE(pixels);
    for (int i = 0; i < 48 * columns; ++i)
        ASSERT_EQ(pixels->GetPointer()[i], 0) << "banner blacked out";
}

TEST_F(DeidBurnedInText, TextOutsideTheRuleQuarantines) {
    gdcm::File file = ultrasound("RADMARK TEST", imageWithText("DOE JANE", 30, 120));
    const Deidentifier engine(ConfidentialityProfile::standard(), ProfileOptions::defaults(),
                              secret(), &BurnedInTextRules::standard(), &ocr());
    const FileResult result = engine.deidentify(file);
    ASSERT_TRUE(result.quarantined);
    EXPECT_NE(result.reason.find("still readable"), std::string::npos) << result.reason;
}

TEST_F(DeidBurnedInText, NoRuleOrNoOcrQuarantines) {
    gdcm::File unknown = ultrasound("ACME", imageWithText("DOE JANE", 30, 6));
    const Deidentifier engine(ConfidentialityProfile::standard(), ProfileOptions::defaults(),
                              secret(), &BurnedInTextRules::standard(), &ocr());
    const FileResult noRule = engine.deidentify(unknown);
    ASSERT_TRUE(noRule.quarantined);
    EXPECT_NE(noRule.reason.find("no blackout rule"), std::string::npos) << noRule.reason;

    gdcm::File known = ultrasound("RADMARK TEST", imageWithText("DOE JANE", 30, 6));
    const Deidentifier blind(ConfidentialityProfile::standard(), ProfileOptions::defaults(),
                             secret(), &BurnedInTextRules::standard(), nullptr);
    const FileResult noOcr = blind.deidentify(known);
    ASSERT_TRUE(noOcr.quarantined);
    EXPECT_NE(noOcr.reason.find("no OCR"), std::string::npos) << noOcr.reason;
}

TEST(DeidBurnedInTextRules, ParseAndMatchByDevice) {
    const auto rules = BurnedInTextRules::parse(
        "modality\tmanufacturer\tmodel\trows\tcolumns\tregions\tdescription\n"
        "US\tacme.*\tX[0-9]+\t0\t0\t0,0,-1,40;0,200,100,-1\ttest\n");
    ASSERT_EQ(rules.rules().size(), 1u);
    EXPECT_EQ(rules.rules()[0].regions.size(), 2u);
    EXPECT_NE(rules.find("US", "ACME Medical", "X200", 480, 640), nullptr);
    EXPECT_EQ(rules.find("US", "ACME Medical", "Y200", 480, 640), nullptr);
    EXPECT_EQ(rules.find("CT", "ACME Medical", "X200", 480, 640), nullptr);
    EXPECT_THROW(BurnedInTextRules::parse("modality\tx\nUS\tonly two\n"), std::runtime_error);
}

} // namespace
} // namespace radmark::deid
