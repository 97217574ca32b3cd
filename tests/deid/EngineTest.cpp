// The engine's parts (keyed UIDs, pseudonyms, date shift, options, scanner, report, header text)
// and whole files with identifying values planted at every depth, private and UN included.

#include "imaging/deid/DeidentificationReport.h"
#include "imaging/deid/Deidentifier.h"
#include "imaging/deid/HeaderText.h"
#include "imaging/deid/PhiScanner.h"
#include "tests/deid/DeidTestSupport.h"

#include <gdcmWriter.h>
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>
#include <sstream>

namespace radmark::deid {
namespace {

using test::sequence;
using test::text;
using test::valueOf;

StoreSecret secretOf(std::uint8_t seed) {
    std::array<std::uint8_t, 32> bytes{};
    bytes.fill(seed);
    return StoreSecret(bytes);
}

std::string bytesOf(gdcm::File& file) {
    // The writer keeps a reference-counted pointer to its file: hand it a heap copy.
    gdcm::SmartPointer<gdcm::File> copy = new gdcm::File(file);
    gdcm::Writer writer;
    std::ostringstream out;
    writer.SetStream(out);
    writer.SetFile(*copy);
    EXPECT_TRUE(writer.Write());
    return out.str();
}

// A CT header with the fake patient planted at depth: nested sequences, a private sequence, a
// UN element holding an implicit VR sequence, and free text mentioning the patient.
gdcm::File plantedFile() {
    gdcm::File file = test::makeCtFile();
    gdcm::DataSet& ds = file.GetDataSet();
    ds.Insert(text(0x0008, 0x0050, gdcm::VR::SH, "ACC-55512"));
    ds.Insert(text(0x0008, 0x0080, gdcm::VR::LO, "Springfield General Hospital"));
    ds.Insert(text(0x0008, 0x0090, gdcm::VR::PN, "HIBBERT^JULIUS"));
    ds.Insert(text(0x0008, 0x1030, gdcm::VR::LO, "CT ABDOMEN ROWTEST^PATIENT"));
    ds.Insert(text(0x0010, 0x0030, gdcm::VR::DA, "19610412"));
    ds.Insert(text(0x0018, 0x1000, gdcm::VR::LO, "SN-4471-XQ"));
    ds.Insert(text(0x0020, 0x0052, gdcm::VR::UI, "1.2.826.0.1.3680043.9.7433.99.4"));

    gdcm::DataSet deepest;
    deepest.Insert(text(0x0010, 0x0010, gdcm::VR::PN, "ROWTEST^PATIENT"));
    deepest.Insert(text(0x0008, 0x0020, gdcm::VR::DA, "20200101"));
    gdcm::DataSet middle;
    middle.Insert(text(0x0008, 0x1150, gdcm::VR::UI, "1.2.840.10008.3.1.2.3.1"));
    middle.Insert(text(0x0008, 0x1155, gdcm::VR::UI, "1.2.826.0.1.3680043.9.7433.99.1"));
    middle.Insert(sequence(0x0040, 0xA730, {deepest}));
    gdcm::DataSet request;
    request.Insert(text(0x0032, 0x1060, gdcm::VR::LO, "CT for ROWTEST^PATIENT"));
    request.Insert(text(0x0032, 0x1032, gdcm::VR::PN, "HIBBERT^JULIUS"));
    request.Insert(sequence(0x0008, 0x1110, {middle}));
    ds.Insert(sequence(0x0040, 0x0275, {request}));

    // A standard sequence the table does not list, holding an unlisted person name and a date.
    gdcm::DataSet procedure;
    procedure.Insert(text(0x0008, 0x0100, gdcm::VR::SH, "74177"));
    procedure.Insert(text(0x0040, 0xA123, gdcm::VR::PN, "SMITHERS^WAYLON"));
    ds.Insert(sequence(0x0008, 0x1032, {procedure}));

    ds.Insert(text(0x0009, 0x0010, gdcm::VR::LO, "SYNTHETIC PRIVATE 1.0"));
    ds.Insert(text(0x0009, 0x1010, gdcm::VR::LO, "Springfield General Hospital"));
    gdcm::DataSet privateItem;
    privateItem.Insert(text(0x0010, 0x0020, gdcm::VR::LO, "PID-4471-ROW"));
    ds.Insert(sequence(0x0009, 0x1012, {privateItem}));

    // Referenced Image Sequence stored as UN with undefined length (an unaware archive did
    // this): its bytes are an implicit VR little endian sequence with one item.
    std::string un;
    auto put16 = [&](std::uint16_t v) {
        un += char(v & 0xFF);
        un += char(v >> 8);
    };
    auto put32 = [&](std::uint32_t v) {
        put16(std::uint16_t(v & 0xFFFF));
        put16(std::uint16_t(v >> 16));
    };
    const std::string uid = std::string("1.2.826.0.1.3680043.9.7433.99.3.7") + char(0);
    put16(0xFFFE);
    put16(0xE000);
    put32(8 + std::uint32_t(uid.size()));
    put16(0x0008);
    put16(0x1155);
    put32(std::uint32_t(uid.size()));
    un += uid;
    put16(0xFFFE);
    put16(0xE0DD);
    put32(0);
    gdcm::DataElement unknown(gdcm::Tag(0x0008, 0x1140));
    unknown.SetVR(gdcm::VR::UN);
    unknown.SetByteValue(un.data(), gdcm::VL(std::uint32_t(un.size())));
    ds.Insert(unknown);
    return file;
}

TEST(DeidKeyedIdentity, UidsAreDeterministicKeyedAndValid) {
    const KeyedHash hash(secretOf(1)), other(secretOf(2));
    const UidRemapper uids(hash), otherUids(other);
    const std::string source = "1.2.826.0.1.3680043.9.7433.7.1";
    const std::string mapped = uids.remap(source);
    EXPECT_EQ(mapped, uids.remap(source));
    EXPECT_NE(mapped, otherUids.remap(source)) << "another store's secret gives other UIDs";
    EXPECT_NE(mapped, uids.remap(source + "1"));
    EXPECT_EQ(mapped.rfind("2.25.", 0), 0u);
    EXPECT_LE(mapped.size(), 64u);
    EXPECT_NE(mapped[5], '0') << "no leading zero in the UUID component";
    EXPECT_EQ(uids.remap("1.2.840.10008.5.1.4.1.1.2"), "1.2.840.10008.5.1.4.1.1.2");
}

TEST(DeidKeyedIdentity, PseudonymsAndShiftsAreStablePerPatient) {
    const KeyedHash hash(secretOf(3));
    const Pseudonymizer names(hash);
    const DateShifter dates(hash);
    EXPECT_EQ(names.pseudonymFor("MRN-1"), names.pseudonymFor("MRN-1"));
    EXPECT_NE(names.pseudonymFor("MRN-1"), names.pseudonymFor("MRN-2"));
    EXPECT_EQ(names.pseudonymFor("MRN-1").size(), 14u);
    const int shift = dates.shiftDaysFor("MRN-1");
    EXPECT_EQ(shift, dates.shiftDaysFor("MRN-1"));
    EXPECT_LE(shift, -365);
    EXPECT_GE(shift, -3650);
}

TEST(DeidKeyedIdentity, DateShiftKeepsIntervalsAndCalendar) {
    EXPECT_EQ(DateShifter::shiftDate("20240229", -365), "20230301");
    EXPECT_EQ(DateShifter::shiftDate("20000101", -1), "19991231");
    EXPECT_EQ(DateShifter::shiftDate("2024.01.05", -4), "20240101") << "old ACR-NEMA form";
    EXPECT_EQ(DateShifter::shiftDateTime("20240105093000.5+0100", -5), "20231231093000.5+0100");
    EXPECT_FALSE(DateShifter::shiftDate("20241301", -5).has_value());
    EXPECT_FALSE(DateShifter::shiftDate("2024", -5).has_value());
    const auto a = DateShifter::shiftDate("20240105", -1000),
               b = DateShifter::shiftDate("20240320", -1000);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(DateShifter::shiftDate(*a, 75), *b) << "75 days apart before and after";
}

TEST(DeidOptions, DefaultsParseAndUnknownNamesFail) {
    const auto defaults = ProfileOptions::defaults();
    EXPECT_TRUE(defaults.has(ProfileOption::CleanDescriptors));
    EXPECT_TRUE(defaults.has(ProfileOption::RetainLongitudinalModifiedDates));
    EXPECT_FALSE(defaults.has(ProfileOption::RetainPatientCharacteristics));
    const auto parsed =
        ProfileOptions::parse("default,retain-patient-characteristics,no-clean-descriptors");
    EXPECT_TRUE(parsed.has(ProfileOption::RetainPatientCharacteristics));
    EXPECT_FALSE(parsed.has(ProfileOption::CleanDescriptors));
    const auto basic = ProfileOptions::parse("basic");
    for (std::size_t i = 0; i < tableOptionCount; ++i)
        EXPECT_FALSE(basic.selected[i]);
    const auto full = ProfileOptions::parse("default,retain-longitudinal-full-dates");
    EXPECT_FALSE(full.has(ProfileOption::RetainLongitudinalModifiedDates));
    EXPECT_THROW(ProfileOptions::parse("retain-everything"), ProfileError);
    EXPECT_THROW(ConfidentialityProfile::parse("tag\tname\n(0010,0010)\tx\tZ\n"), ProfileError);
}

TEST(DeidScanner, FindsValuesAtDepthAndCleansText) {
    PhiScanner scanner;
    scanner.addPersonName("DOE^JANE^Q");
    scanner.addValue("MRN-9384756");
    scanner.addValue("12.5"); // a measurement: ignored
    EXPECT_TRUE(scanner.matches("for jane doe"));
    EXPECT_FALSE(scanner.matches("JANET")) << "name parts match whole words only";
    EXPECT_FALSE(scanner.matches("12.5"));
    EXPECT_EQ(scanner.clean("CT ABDOMEN DOE^JANE^Q"), "CT ABDOMEN");

    gdcm::DataSet inner;
    inner.Insert(text(0x0010, 0x0020, gdcm::VR::LO, "MRN-9384756"));
    gdcm::DataSet outer;
    outer.Insert(sequence(0x0040, 0x0275, {inner}));
    gdcm::DataSet top;
    top.Insert(sequence(0x0009, 0x1012, {outer}));
    const auto hits = scanner.scan(top, "");
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_EQ(hits[0], "(0009,1012)[1]/(0040,0275)[1]/(0010,0020)");
    EXPECT_EQ(hits[0].find("MRN"), std::string::npos) << "a hit names the tag, never the value";
}

TEST(DeidEngine, NothingPlantedSurvivesAndTheFileSaysWhatWasDone) {
    gdcm::File file = plantedFile();
    const Deidentifier engine(ConfidentialityProfile::standard(), ProfileOptions::defaults(),
                              secretOf(5));
    const FileResult result = engine.deidentify(file);
    ASSERT_FALSE(result.quarantined) << result.reason;
    const gdcm::DataSet& ds = file.GetDataSet();
    const std::string bytes = bytesOf(file);
    for (const char* planted :
         {"ROWTEST", "PID-4471", "ACC-55512", "Springfield", "HIBBERT", "SMITHERS", "19610412",
          "20200101", "SN-4471", "7433.99", "SYNTHETIC PRIVATE"})
        EXPECT_EQ(bytes.find(planted), std::string::npos) << planted << " left in the output";

    EXPECT_EQ(valueOf(ds, 0x0012, 0x0062), "YES");
    EXPECT_NE(valueOf(ds, 0x0012, 0x0063).find("PS3.15 E.1-1 2024b"), std::string::npos);
    std::set<std::string> codes;
    const auto sq = ds.GetDataElement(gdcm::Tag(0x0012, 0x0064)).GetValueAsSQ();
    ASSERT_TRUE(sq);
    for (std::size_t i = 1; i <= sq->GetNumberOfItems(); ++i)
        codes.insert(valueOf(sq->GetItem(i).GetNestedDataSet(), 0x0008, 0x0100));
    EXPECT_EQ(codes, (std::set<std::string>{"113100", "113105", "113107"}));
    EXPECT_EQ(valueOf(ds, 0x0028, 0x0303), "MODIFIED");
    EXPECT_EQ(valueOf(file.GetHeader(), 0x0002, 0x0003), valueOf(ds, 0x0008, 0x0018));
    EXPECT_EQ(valueOf(ds, 0x0008, 0x1030), "CT ABDOMEN") << "description cleaned, not dropped";
    EXPECT_EQ(valueOf(ds, 0x0010, 0x0010), result.patientPseudonym);
    EXPECT_FALSE(ds.FindDataElement(gdcm::Tag(0x0009, 0x1012))) << "private sequence removed";

    // The UN element was decoded as a sequence and its reference remapped like the others.
    const auto images = ds.GetDataElement(gdcm::Tag(0x0008, 0x1140)).GetValueAsSQ();
    ASSERT_TRUE(images);
    ASSERT_EQ(images->GetNumberOfItems(), 1u);
    const std::string reference = valueOf(images->GetItem(1).GetNestedDataSet(), 0x0008, 0x1155);
    EXPECT_EQ(reference,
              UidRemapper(KeyedHash(secretOf(5))).remap("1.2.826.0.1.3680043.9.7433.99.3.7"));

    // References deep inside keep pointing at the (remapped) study.
    const auto request = ds.GetDataElement(gdcm::Tag(0x0040, 0x0275)).GetValueAsSQ();
    ASSERT_TRUE(request);
    const gdcm::DataSet& item = request->GetItem(1).GetNestedDataSet();
    EXPECT_FALSE(item.FindDataElement(gdcm::Tag(0x0032, 0x1032))) << "Requesting Physician removed";
    EXPECT_EQ(valueOf(item, 0x0032, 0x1060), "CT for");
    // The Referenced Study Sequence (X/Z) is Type 3 in the Request Attributes macro: removed,
    // since a sequence with no item would be invalid there.
    EXPECT_FALSE(item.FindDataElement(gdcm::Tag(0x0008, 0x1110)));
}

// Where an X/Z sequence is Type 2 it stays, with no item: an SR document's Referenced Performed
// Procedure Step Sequence, and the Referenced Study Sequence of a Referenced Request Sequence;
// in a CT image the first goes (Type 3 there), and in the Request Attributes macro the second.
TEST(DeidEngine, AnXzSequenceIsEmptiedWhereItIsTypeTwoAndRemovedWhereItIsTypeThree) {
    auto withReferences = [](const char* sopClass) {
        gdcm::File file = test::makeCtFile();
        gdcm::DataSet& ds = file.GetDataSet();
        ds.Replace(text(0x0008, 0x0016, gdcm::VR::UI, sopClass));
        gdcm::DataSet step;
        step.Insert(text(0x0008, 0x1150, gdcm::VR::UI, "1.2.840.10008.3.1.2.3.3"));
        step.Insert(text(0x0008, 0x1155, gdcm::VR::UI, "1.2.826.0.1.3680043.9.7433.99.8"));
        ds.Insert(sequence(0x0008, 0x1111, {step}));
        gdcm::DataSet study;
        study.Insert(text(0x0008, 0x1150, gdcm::VR::UI, "1.2.840.10008.3.1.2.3.1"));
        study.Insert(text(0x0008, 0x1155, gdcm::VR::UI, "1.2.826.0.1.3680043.9.7433.99.9"));
        gdcm::DataSet request;
        request.Insert(text(0x0040, 0x2016, gdcm::VR::LO, "PLACER-1"));
        request.Insert(sequence(0x0008, 0x1110, {study}));
        ds.Insert(sequence(0x0040, 0xA370, {request}));
        return file;
    };
    const Deidentifier engine(ConfidentialityProfile::standard(), ProfileOptions::defaults(),
                              secretOf(7));
    auto referencedStudy = [](const gdcm::DataSet& ds) -> std::optional<std::size_t> {
        const auto requests = ds.GetDataElement(gdcm::Tag(0x0040, 0xA370)).GetValueAsSQ();
        if (!requests || requests->GetNumberOfItems() < 1)
            return std::nullopt;
        const gdcm::DataSet& item = requests->GetItem(1).GetNestedDataSet();
        if (!item.FindDataElement(gdcm::Tag(0x0008, 0x1110)))
            return std::nullopt;
        const auto sq = item.GetDataElement(gdcm::Tag(0x0008, 0x1110)).GetValueAsSQ();
        return sq ? sq->GetNumberOfItems() : 0;
    };

    gdcm::File sr = withReferences("1.2.840.10008.5.1.4.1.1.88.33"); // Comprehensive SR
    ASSERT_FALSE(engine.deidentify(sr).quarantined);
    const gdcm::DataSet& srSet = sr.GetDataSet();
    ASSERT_TRUE(srSet.FindDataElement(gdcm::Tag(0x0008, 0x1111)));
    const auto steps = srSet.GetDataElement(gdcm::Tag(0x0008, 0x1111)).GetValueAsSQ();
    EXPECT_TRUE(!steps || steps->GetNumberOfItems() == 0);
    EXPECT_EQ(referencedStudy(srSet), std::optional<std::size_t>(0));

    gdcm::File ct = withReferences("1.2.840.10008.5.1.4.1.1.2");
    ASSERT_FALSE(engine.deidentify(ct).quarantined);
    EXPECT_FALSE(ct.GetDataSet().FindDataElement(gdcm::Tag(0x0008, 0x1111)));
    // The Referenced Request Sequence's macro makes it Type 2 wherever that sequence is.
    EXPECT_EQ(referencedStudy(ct.GetDataSet()), std::optional<std::size_t>(0));
}

TEST(DeidEngine, SameInputTwiceGivesIdenticalOutput) {
    gdcm::File first = plantedFile(), second = plantedFile();
    const Deidentifier engine(ConfidentialityProfile::standard(), ProfileOptions::defaults(),
                              secretOf(6));
    ASSERT_FALSE(engine.deidentify(first).quarantined);
    ASSERT_FALSE(engine.deidentify(second).quarantined);
    EXPECT_EQ(bytesOf(first), bytesOf(second));
}

TEST(DeidEngine, OptionsChangeWhatIsKept) {
    gdcm::File file = plantedFile();
    file.GetDataSet().Insert(text(0x0010, 0x1010, gdcm::VR::AS, "063Y"));
    file.GetDataSet().Insert(text(0x0010, 0x0040, gdcm::VR::CS, "F"));
    const auto options =
        ProfileOptions::parse("default,retain-patient-characteristics,retain-uids");
    const Deidentifier engine(ConfidentialityProfile::standard(), options, secretOf(7));
    ASSERT_FALSE(engine.deidentify(file).quarantined);
    const gdcm::DataSet& ds = file.GetDataSet();
    EXPECT_EQ(valueOf(ds, 0x0010, 0x1010), "063Y");
    EXPECT_EQ(valueOf(ds, 0x0010, 0x0040), "F");
    EXPECT_EQ(valueOf(ds, 0x0020, 0x000D), "1.2.826.0.1.3680043.9.7433.99.1") << "retain-uids";
}

TEST(DeidEngine, AnIdentifyingValueInAnUnlistedAttributeQuarantines) {
    gdcm::File file = plantedFile();
    // Manufacturer is kept by the profile; here it carries the patient's ID.
    file.GetDataSet().Insert(text(0x0008, 0x0070, gdcm::VR::LO, "PID-4471-ROW"));
    const Deidentifier engine(ConfidentialityProfile::standard(), ProfileOptions::defaults(),
                              secretOf(8));
    const FileResult result = engine.deidentify(file);
    ASSERT_TRUE(result.quarantined);
    EXPECT_NE(result.reason.find("(0008,0070)"), std::string::npos) << result.reason;
    EXPECT_EQ(result.reason.find("PID-4471"), std::string::npos)
        << "the reason never holds the value";
}

// Vendor sample data (pydicom's MR_small): the institution is called like the manufacturer. The
// removed InstitutionName is found again only in the kept, unchanged Manufacturer: not a leak,
// and the file says so.
TEST(DeidEngine, InstitutionEqualToTheKeptManufacturerIsNotALeak) {
    gdcm::File file = test::makeCtFile();
    file.GetDataSet().Insert(text(0x0008, 0x0070, gdcm::VR::LO, "ACMEVENDOR_MEC"));
    file.GetDataSet().Insert(text(0x0008, 0x0080, gdcm::VR::LO, "ACMEVENDOR"));
    const Deidentifier engine(ConfidentialityProfile::standard(), ProfileOptions::defaults(),
                              secretOf(8));
    const FileResult result = engine.deidentify(file);
    ASSERT_FALSE(result.quarantined) << result.reason;
    EXPECT_EQ(valueOf(file.GetDataSet(), 0x0008, 0x0070), "ACMEVENDOR_MEC");
    EXPECT_NE(valueOf(file.GetDataSet(), 0x0008, 0x0080), "ACMEVENDOR");
    const AttributeAction listed{0x00080070u, "kept",
                                 "kept value equal to removed InstitutionName: present in "
                                 "Manufacturer, kept by the profile"};
    EXPECT_EQ(result.actions.count(listed), 1u) << "the report lists the kept value";
}

// The same institution name anywhere else (free text the profile keeps, or a manufacturer that
// was changed) and a person's value in the manufacturer still reject the file.
TEST(DeidEngine, RemovedValuesInFreeTextOrOfPersonsStillReject) {
    const Deidentifier engine(ConfidentialityProfile::standard(), ProfileOptions::defaults(),
                              secretOf(8));
    auto expectRejectedAt = [&](gdcm::File file, const std::string& path, const char* why) {
        const FileResult result = engine.deidentify(file);
        ASSERT_TRUE(result.quarantined) << why;
        EXPECT_NE(result.reason.find(path), std::string::npos) << why << ": " << result.reason;
    };
    gdcm::File patientInFreeText = plantedFile();
    // Window Center & Width Explanation: free text, not in Table E.1-1, kept.
    patientInFreeText.GetDataSet().Insert(text(0x0028, 0x1055, gdcm::VR::LO, "ROWTEST^PATIENT"));
    expectRejectedAt(patientInFreeText, "(0028,1055)", "a patient name copied into kept free text");

    gdcm::File institutionInFreeText = test::makeCtFile();
    institutionInFreeText.GetDataSet().Insert(text(0x0008, 0x0070, gdcm::VR::LO, "ACMEVENDOR"));
    institutionInFreeText.GetDataSet().Insert(text(0x0008, 0x0080, gdcm::VR::LO, "ACMEVENDOR"));
    institutionInFreeText.GetDataSet().Insert(
        text(0x0028, 0x1055, gdcm::VR::LO, "WINDOW ACMEVENDOR"));
    expectRejectedAt(institutionInFreeText, "(0028,1055)", "the institution in free text as well");

    // Code Meaning is free text even inside a code sequence the profile keeps: the institution
    // copied there is a leak, whatever the Manufacturer says.
    gdcm::File institutionInCodeMeaning = test::makeCtFile();
    institutionInCodeMeaning.GetDataSet().Insert(text(0x0008, 0x0070, gdcm::VR::LO, "ACMEVENDOR"));
    institutionInCodeMeaning.GetDataSet().Insert(text(0x0008, 0x0080, gdcm::VR::LO, "ACMEVENDOR"));
    gdcm::DataSet code;
    code.Insert(text(0x0008, 0x0100, gdcm::VR::SH, "74177"));
    code.Insert(text(0x0008, 0x0102, gdcm::VR::SH, "CPT4"));
    code.Insert(text(0x0008, 0x0104, gdcm::VR::LO, "CT ABDOMEN AT ACMEVENDOR"));
    institutionInCodeMeaning.GetDataSet().Insert(sequence(0x0008, 0x1032, {code}));
    expectRejectedAt(institutionInCodeMeaning, "(0008,1032)[1]/(0008,0104)",
                     "the institution in a kept Code Meaning inside a sequence");

    gdcm::File addressAsVendor = test::makeCtFile();
    addressAsVendor.GetDataSet().Insert(text(0x0008, 0x0070, gdcm::VR::LO, "ACMEVENDOR"));
    addressAsVendor.GetDataSet().Insert(text(0x0008, 0x0081, gdcm::VR::ST, "ACMEVENDOR"));
    expectRejectedAt(addressAsVendor, "(0008,0070)",
                     "an institution address is never excused by a vendor name");

    gdcm::File patientAsVendor = test::makeCtFile();
    patientAsVendor.GetDataSet().Insert(text(0x0008, 0x0070, gdcm::VR::LO, "ROWTEST^PATIENT"));
    expectRejectedAt(patientAsVendor, "(0008,0070)",
                     "a patient name is never excused by a vendor name");
}

TEST(DeidReport, SaysWhatWasDoneAndHoldsNoValue) {
    gdcm::File file = plantedFile();
    const auto options = ProfileOptions::defaults();
    const Deidentifier engine(ConfidentialityProfile::standard(), options, secretOf(9));
    DeidentificationReport report(ConfidentialityProfile::standard(), options);
    report.add(engine.deidentify(file));
    const auto json = report.toJson();
    EXPECT_EQ(json["verdict"], "deidentified");
    EXPECT_EQ(json["profile"]["edition"], "2024b");
    EXPECT_EQ(json["engine"]["version"], engineVersion);
    for (const char* action : {"removed", "emptied", "replaced", "shifted", "cleaned", "kept"})
        EXPECT_FALSE(json["actions"][action].empty()) << action;
    const std::string dumped = json.dump();
    for (const char* planted : {"ROWTEST", "PID-4471", "Springfield", "HIBBERT", "20200101"})
        EXPECT_EQ(dumped.find(planted), std::string::npos) << planted;
    EXPECT_NE(dumped.find("(0010,0030)"), std::string::npos) << "birth date listed by tag";
}

TEST(DeidHeaderText, NiftiAndNrrdTextFieldsCleared) {
    std::vector<std::uint8_t> header(348, 0);
    const std::int32_t size = 348;
    std::memcpy(header.data(), &size, 4);
    std::memcpy(header.data() + 148, "DOE^JANE scanned 2024", 21);
    std::memcpy(header.data() + 328, "MRN", 3);
    const auto cleared = clearNiftiHeaderText(header.data(), header.size());
    EXPECT_EQ(cleared, (std::vector<std::string>{"descrip", "intent_name"}));
    EXPECT_EQ(header[148], 0);
    EXPECT_EQ(header[328], 0);
    std::vector<std::uint8_t> notNifti(348, 7);
    EXPECT_THROW(clearNiftiHeaderText(notNifti.data(), notNifti.size()), std::invalid_argument);

    // A real NIfTI-1 file from nibabel's test data.
    std::ifstream in(std::string(RADMARK_NIBABEL_DATA) + "/tests/data/anatomical.nii",
                     std::ios::binary);
    ASSERT_TRUE(in);
    std::vector<std::uint8_t> real(348);
    in.read(reinterpret_cast<char*>(real.data()), 348);
    clearNiftiHeaderText(real.data(), real.size());
    for (std::size_t i = 148; i < 148 + 80; ++i)
        ASSERT_EQ(real[i], 0);

    int removed = 0;
    const std::string nrrd =
        cleanNrrdHeader("NRRD0004\n# scanned for DOE^JANE\ntype: short\ncontent: DOE^JANE head\n"
                        "dimension: 3\npatient:=DOE^JANE\nsizes: 2 2 2\n",
                        &removed);
    EXPECT_EQ(nrrd, "NRRD0004\ntype: short\ndimension: 3\nsizes: 2 2 2\n");
    EXPECT_EQ(removed, 3);
}

} // namespace
} // namespace radmark::deid
