// Burned-in text: an ultrasound image with a name drawn into its pixels is blacked out by the
// rule for its device and checked by OCR; text outside the rule's regions, a device without a
// rule, or no OCR engine quarantines it.

#include "imaging/deid/BurnedInText.h"
#include "imaging/deid/Deidentifier.h"
#include "tests/deid/DeidTestSupport.h"

#include <gdcmImage.h>
#include <gdcmImageChangeTransferSyntax.h>
#include <gdcmSequenceOfFragments.h>
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

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

// The same file with its pixel data compressed by GDCM into syntax (as an archive would send it).
void compress(gdcm::File& file, gdcm::TransferSyntax::TSType syntax) {
    gdcm::DataSet& ds = file.GetDataSet();
    gdcm::SmartPointer<gdcm::Image> image = new gdcm::Image;
    image->SetNumberOfDimensions(2);
    image->SetDimension(0, columns);
    image->SetDimension(1, rows);
    image->SetPixelFormat(gdcm::PixelFormat(1, 8, 8, 7, 0));
    image->SetPhotometricInterpretation(gdcm::PhotometricInterpretation::MONOCHROME2);
    image->SetTransferSyntax(gdcm::TransferSyntax::ExplicitVRLittleEndian);
    image->SetDataElement(ds.GetDataElement(gdcm::Tag(0x7FE0, 0x0010)));
    gdcm::ImageChangeTransferSyntax change;
    change.SetTransferSyntax(syntax);
    change.SetInput(*image);
    ASSERT_TRUE(change.Change());
    gdcm::DataElement pixels = change.GetOutput().GetDataElement();
    pixels.SetTag(gdcm::Tag(0x7FE0, 0x0010));
    pixels.SetVR(gdcm::VR::OB);
    ds.Replace(pixels);
    file.GetHeader().SetDataSetTransferSyntax(syntax);
    file.GetHeader().Replace(
        text(0x0002, 0x0010, gdcm::VR::UI, gdcm::TransferSyntax::GetTSString(syntax)));
}

const std::uint8_t* pixelsOf(const gdcm::File& file) {
    const gdcm::ByteValue* bytes =
        file.GetDataSet().GetDataElement(gdcm::Tag(0x7FE0, 0x0010)).GetByteValue();
    return bytes && bytes->GetLength() >= std::uint32_t(rows * columns)
               ? reinterpret_cast<const std::uint8_t*>(bytes->GetPointer())
               : nullptr;
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

// A 60-frame clip whose frames repeat every 20 (read once each) and where only frame 37 shows a
// name outside the rule's banner: the text is found and the clip quarantined, not marked clean.
TEST_F(DeidBurnedInText, TextInOneMidClipFrameQuarantines) {
    constexpr int frames = 60, withName = 37;
    std::vector<std::uint8_t> clip;
    for (int frame = 1; frame <= frames; ++frame) {
        auto pixels = frame == withName
                          ? imageWithText("DOE JANE", 30, 120)
                          : std::vector<std::uint8_t>(std::size_t(rows) * columns, 20);
        pixels[std::size_t(200) * columns + 10 + frame % 20] = 60; // a moving speck
        clip.insert(clip.end(), pixels.begin(), pixels.end());
    }
    gdcm::File file = ultrasound("RADMARK TEST", clip);
    file.GetDataSet().Replace(text(0x0008, 0x0016, gdcm::VR::UI, "1.2.840.10008.5.1.4.1.1.3.1"));
    file.GetDataSet().Insert(text(0x0028, 0x0008, gdcm::VR::IS, std::to_string(frames)));
    file.GetHeader().Replace(text(0x0002, 0x0002, gdcm::VR::UI, "1.2.840.10008.5.1.4.1.1.3.1"));
    const Deidentifier engine(ConfidentialityProfile::standard(), ProfileOptions::defaults(),
                              secret(), &BurnedInTextRules::standard(), &ocr());
    const FileResult result = engine.deidentify(file);
    ASSERT_TRUE(result.quarantined) << "text in frame " << withName << " was not read";
    EXPECT_NE(result.reason.find("still readable"), std::string::npos) << result.reason;
    EXPECT_NE(result.reason.find("frame " + std::to_string(withName)), std::string::npos)
        << result.reason;
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

// Compressed pixel data is decoded, cleaned and written uncompressed: lossless syntaxes keep
// every pixel outside the banner, a lossy one stays marked lossy.
TEST_F(DeidBurnedInText, CompressedImagesAreDecodedCleanedAndWrittenUncompressed) {
    const auto original = imageWithText("DOE JANE", 30, 6);
    const Deidentifier engine(ConfidentialityProfile::standard(), ProfileOptions::defaults(),
                              secret(), &BurnedInTextRules::standard(), &ocr());
    for (const auto syntax :
         {gdcm::TransferSyntax::RLELossless, gdcm::TransferSyntax::JPEGLosslessProcess14_1,
          gdcm::TransferSyntax::JPEGLSLossless, gdcm::TransferSyntax::JPEG2000Lossless,
          gdcm::TransferSyntax::JPEGBaselineProcess1}) {
        const std::string name = gdcm::TransferSyntax::GetTSString(syntax);
        gdcm::File file = ultrasound("RADMARK TEST", original);
        compress(file, syntax);
        ASSERT_TRUE(file.GetHeader().GetDataSetTransferSyntax().IsEncapsulated()) << name;
        const FileResult result = engine.deidentify(file);
        ASSERT_FALSE(result.quarantined) << name << ": " << result.reason;
        EXPECT_TRUE(result.pixelsCleaned) << name;
        EXPECT_EQ(file.GetHeader().GetDataSetTransferSyntax(),
                  gdcm::TransferSyntax::ExplicitVRLittleEndian)
            << name;
        EXPECT_EQ(valueOf(file.GetHeader(), 0x0002, 0x0010), "1.2.840.10008.1.2.1") << name;
        const gdcm::DataSet& ds = file.GetDataSet();
        EXPECT_EQ(valueOf(ds, 0x0028, 0x0301), "NO") << name;
        const std::uint8_t* pixels = pixelsOf(file);
        ASSERT_TRUE(pixels) << name << ": uncompressed pixel data of the full size";
        for (int i = 0; i < 48 * columns; ++i)
            ASSERT_EQ(pixels[i], 0) << name << ": banner blacked out";
        const bool lossy = syntax == gdcm::TransferSyntax::JPEGBaselineProcess1;
        if (lossy) {
            EXPECT_EQ(valueOf(ds, 0x0028, 0x2110), "01") << "a decompressed lossy image";
            EXPECT_EQ(valueOf(ds, 0x0028, 0x2114), "ISO_10918_1");
        } else {
            EXPECT_EQ(valueOf(ds, 0x0028, 0x2110), "<absent>") << name;
            EXPECT_EQ(std::memcmp(pixels + 48 * columns, original.data() + 48 * columns,
                                  std::size_t((rows - 48) * columns)),
                      0)
                << name << ": the image below the banner is untouched";
        }
    }
}

TEST_F(DeidBurnedInText, CompressedTextOutsideTheRuleOrUndecodablePixelsQuarantine) {
    const Deidentifier engine(ConfidentialityProfile::standard(), ProfileOptions::defaults(),
                              secret(), &BurnedInTextRules::standard(), &ocr());
    gdcm::File textLeft = ultrasound("RADMARK TEST", imageWithText("DOE JANE", 30, 120));
    compress(textLeft, gdcm::TransferSyntax::JPEGLSLossless);
    const FileResult left = engine.deidentify(textLeft);
    ASSERT_TRUE(left.quarantined);
    EXPECT_NE(left.reason.find("still readable"), std::string::npos) << left.reason;

    // MPEG-2 video: GDCM has no decoder for it.
    gdcm::File video = ultrasound("RADMARK TEST", imageWithText("DOE JANE", 30, 6));
    gdcm::SmartPointer<gdcm::SequenceOfFragments> fragments = new gdcm::SequenceOfFragments;
    gdcm::Fragment fragment;
    const std::string stream(64, '\x5A');
    fragment.SetByteValue(stream.data(), gdcm::VL(std::uint32_t(stream.size())));
    fragments->AddFragment(fragment);
    gdcm::DataElement pixels(gdcm::Tag(0x7FE0, 0x0010));
    pixels.SetVR(gdcm::VR::OB);
    pixels.SetValue(*fragments);
    video.GetDataSet().Replace(pixels);
    video.GetHeader().SetDataSetTransferSyntax(gdcm::TransferSyntax::MPEG2MainProfile);
    const FileResult undecodable = engine.deidentify(video);
    ASSERT_TRUE(undecodable.quarantined);
    EXPECT_NE(undecodable.reason.find("cannot be decoded"), std::string::npos)
        << undecodable.reason;
    EXPECT_NE(undecodable.reason.find("1.2.840.10008.1.2.4.100"), std::string::npos)
        << "the reason names the transfer syntax: " << undecodable.reason;
}

// The real devices of the pydicom samples and the vendor layouts: matched by manufacturer,
// model and size, the first matching rule winning, regions in pixels or percent.
TEST(DeidBurnedInTextRules, VendorRulesMatchByDeviceAndSize) {
    const auto& rules = BurnedInTextRules::standard();
    const BlackoutRule* logiq = rules.find("US", "G.E. Medical Systems", "LOGIQ 700", 60, 80);
    ASSERT_NE(logiq, nullptr);
    EXPECT_NE(logiq->description.find("60x80"), std::string::npos);
    const BlackoutRule* logiqFull = rules.find("US", "GE Healthcare", "LOGIQ E9", 768, 1024);
    ASSERT_NE(logiqFull, nullptr);
    ASSERT_EQ(logiqFull->regions.size(), 1u);
    const PixelRegion banner = logiqFull->regions[0].in(768, 1024);
    EXPECT_EQ(banner.y, 0);
    EXPECT_EQ(banner.width, 1024);
    EXPECT_GT(banner.height, 0);
    const BlackoutRule* philips = rules.find("US", "Philips Medical Systems", "EPIQ 7G", 900, 1200);
    ASSERT_NE(philips, nullptr);
    EXPECT_EQ(philips->regions[0].in(900, 1200).height, 81) << "9% of 900 rows";
    for (const char* vendor :
         {"SIEMENS", "SAMSUNG MEDISON CO., LTD.", "Mindray", "SonoSite", "ESAOTE", "HITACHI"})
        EXPECT_NE(rules.find("US", vendor, "ANY", 600, 800), nullptr) << vendor;
    EXPECT_NE(rules.find("US", "TOSHIBA_MEC_US", "Aplio i800", 600, 800), nullptr);
    EXPECT_EQ(rules.find("MR", "TOSHIBA_MEC", "MRT50H1", 64, 64), nullptr) << "not ultrasound";
    EXPECT_EQ(rules.find("US", "ACME Imaging", "X1", 600, 800), nullptr) << "unknown vendor";
    EXPECT_EQ(rules.find("OT", "", "", 400, 400), nullptr) << "no rule for that size";
    const BlackoutRule* none = rules.find("OT", "", "", 3, 3);
    ASSERT_NE(none, nullptr);
    EXPECT_TRUE(none->regions.empty()) << "\"-\": the OCR check alone";
    EXPECT_NE(rules.find("", "", "", 256, 256), nullptr) << "\"-\" matches a missing modality";
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
    EXPECT_THROW(BurnedInTextRules::parse("modality\tmanufacturer\tmodel\trows\tcolumns\tregions"
                                          "\tdescription\nUS\tA\tB\t0\t0\t0,0,-1,150%\tx\n"),
                 std::runtime_error)
        << "a percentage above 100";
}

} // namespace
} // namespace radmark::deid
