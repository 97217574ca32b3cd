// One generated test per row of Table E.1-1: a CT header carrying the row's attribute at top
// level AND inside a nested sequence (Procedure Code Sequence, not in the table) is
// de-identified with the default options, and both copies must show the row's action.

#include "imaging/deid/Deidentifier.h"
#include "tests/deid/DeidTestSupport.h"

#include <gdcmDict.h>
#include <gdcmDicts.h>
#include <gdcmGlobal.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>

namespace radmark::deid {
namespace {

using test::text;
using test::valueOf;

const StoreSecret& secret() {
    static const StoreSecret s(std::array<std::uint8_t, 32>{1, 2, 3, 4, 5, 6, 7, 8});
    return s;
}

// The VR the standard gives the attribute; the table's newest rows may be missing from GDCM's
// dictionary, so their names decide.
gdcm::VR::VRType vrFor(const ProfileRow& row) {
    const auto& dict = gdcm::Global::GetInstance().GetDicts().GetPublicDict();
    const gdcm::VR vr = dict.GetDictEntry(gdcm::Tag(row.group, row.element)).GetVR();
    switch (gdcm::VR::VRType(vr)) {
    case gdcm::VR::INVALID:
    case gdcm::VR::UN:
        break;
    case gdcm::VR::US_SS:
    case gdcm::VR::US_SS_OW:
        return gdcm::VR::US;
    case gdcm::VR::OB_OW:
        return gdcm::VR::OB;
    default:
        return gdcm::VR::VRType(vr);
    }
    const std::string& name = row.name;
    if (name.find("Sequence") != std::string::npos)
        return gdcm::VR::SQ;
    if (name.find("UID") != std::string::npos)
        return gdcm::VR::UI;
    if (name.find("DateTime") != std::string::npos)
        return gdcm::VR::DT;
    if (name.find("Date") != std::string::npos)
        return gdcm::VR::DA;
    if (name.find("Time") != std::string::npos)
        return gdcm::VR::TM;
    return gdcm::VR::LO;
}

std::string sourceValue(gdcm::VR::VRType vr, int n) {
    switch (vr) {
    case gdcm::VR::PN:
        return "SECRETPERSON^ROWNAME";
    case gdcm::VR::DA:
        return "20200115";
    case gdcm::VR::DT:
        return "20200115101010";
    case gdcm::VR::TM:
        return "101010";
    case gdcm::VR::UI:
        return "1.2.826.0.1.3680043.9.7433.555." + std::to_string(n);
    case gdcm::VR::CS:
        return "SECRETCODE";
    case gdcm::VR::AS:
        return "045Y";
    case gdcm::VR::DS:
        return "12.5";
    case gdcm::VR::IS:
        return "42";
    case gdcm::VR::AE:
        return "SECRETAE";
    // Free text mentions the patient: cleaning must take the name out and keep the rest.
    default:
        return "NOTE ROWTEST^PATIENT";
    }
}

bool isText(gdcm::VR::VRType vr) {
    switch (vr) {
    case gdcm::VR::AE:
    case gdcm::VR::AS:
    case gdcm::VR::CS:
    case gdcm::VR::DA:
    case gdcm::VR::DT:
    case gdcm::VR::LO:
    case gdcm::VR::LT:
    case gdcm::VR::PN:
    case gdcm::VR::SH:
    case gdcm::VR::ST:
    case gdcm::VR::TM:
    case gdcm::VR::UC:
    case gdcm::VR::UI:
    case gdcm::VR::UR:
    case gdcm::VR::UT:
    case gdcm::VR::DS:
    case gdcm::VR::IS:
        return true;
    default:
        return false;
    }
}

gdcm::DataElement attribute(const ProfileRow& row, gdcm::VR::VRType vr, int n) {
    if (vr == gdcm::VR::SQ) {
        gdcm::DataSet item;
        item.Insert(text(0x0008, 0x0100, gdcm::VR::SH, "SECRETCODE1"));
        item.Insert(text(0x0008, 0x0104, gdcm::VR::LO, "CODE MEANING"));
        item.Insert(text(0x0008, 0x1155, gdcm::VR::UI, "1.2.826.0.1.3680043.9.7433.777.1"));
        return test::sequence(row.group, row.element, {item});
    }
    if (isText(vr))
        return text(row.group, row.element, vr, sourceValue(vr, n));
    gdcm::DataElement de(gdcm::Tag(row.group, row.element));
    de.SetVR(vr);
    const char bytes[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    de.SetByteValue(bytes, vr == gdcm::VR::US || vr == gdcm::VR::SS ? 2 : 4);
    return de;
}

// What the row says under the default options (basic + clean descriptors + modified dates),
// read from the table independently of the engine: retain (K) beats clean (C) beats the rest.
std::string expectedCode(const ProfileRow& row) {
    std::string code = row.basic;
    int rank = 0;
    for (ProfileOption option :
         {ProfileOption::CleanDescriptors, ProfileOption::RetainLongitudinalModifiedDates}) {
        const std::string& value = row.options[std::size_t(option)];
        const int r = value == "K" ? 3 : value == "C" ? 2 : value.empty() ? 0 : 1;
        if (r > rank) {
            rank = r;
            code = value;
        }
    }
    return code;
}

long daysOf(const std::string& da) {
    int y = 0, m = 0, d = 0;
    if (std::sscanf(da.c_str(), "%4d%2d%2d", &y, &m, &d) != 3)
        return -1;
    y -= m <= 2;
    const long era = (y >= 0 ? y : y - 399) / 400;
    const long yoe = y - era * 400;
    const long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy;
}

std::size_t itemCount(const gdcm::DataSet& ds, const gdcm::Tag& tag) {
    auto sq = ds.GetDataElement(tag).GetValueAsSQ();
    return sq ? sq->GetNumberOfItems() : 0;
}

// Checks one copy of the attribute (in ds) against the row's action.
void expectAction(const ProfileRow& row, gdcm::VR::VRType vr, const std::string& code,
                  const gdcm::DataSet& ds, long shift, const std::string& where) {
    SCOPED_TRACE(where + " " + row.tagText + " " + row.name + " code " + code);
    const gdcm::Tag tag(row.group, row.element);
    const bool present = ds.FindDataElement(tag);
    const std::string source = vr == gdcm::VR::SQ ? "" : sourceValue(vr, 0);
    const std::string out = valueOf(ds, row.group, row.element);
    if (tag == gdcm::Tag(0x0010, 0x0010) || tag == gdcm::Tag(0x0010, 0x0020)) {
        EXPECT_EQ(out.rfind("RM", 0), 0u) << "a stable pseudonym";
        return;
    }
    if (code == "X" || code == "X/D") {
        EXPECT_FALSE(present) << "removed";
        return;
    }
    // A sequence the table lets remove or empty is removed unless it is Type 2 where it stands
    // (in this CT image: only the Acquisition Context Sequence, at the top level).
    if (vr == gdcm::VR::SQ && (code == "X/Z" || code == "X/Z/D") &&
        !(tag == gdcm::Tag(0x0040, 0x0555) && where == "top level")) {
        EXPECT_FALSE(present) << "a Type 3 sequence is removed, not left with no item";
        return;
    }
    if (code == "Z" || code == "X/Z" || code == "X/Z/D" || code == "Z/D" ||
        (code == "D" && vr == gdcm::VR::SQ && tag != gdcm::Tag(0x0040, 0xA730) &&
         tag != gdcm::Tag(0x0040, 0xA073))) {
        ASSERT_TRUE(present) << "emptied, not removed";
        if (vr == gdcm::VR::SQ)
            EXPECT_EQ(itemCount(ds, tag), 0u);
        else
            EXPECT_EQ(out, "");
        return;
    }
    if (code == "U" || (code == "D" && vr == gdcm::VR::UI)) {
        ASSERT_TRUE(present);
        EXPECT_EQ(out.rfind("2.25.", 0), 0u) << out;
        return;
    }
    if (code == "D") {
        ASSERT_TRUE(present);
        if (vr == gdcm::VR::SQ) {
            // Content Sequence and Verifying Observer Sequence: an SR needs them; their items are
            // processed by their own rows and cleaned.
            EXPECT_EQ(itemCount(ds, tag), 1u) << "SR structure kept";
            return;
        }
        if (isText(vr)) {
            EXPECT_NE(out, source) << "replaced by a dummy";
        }
        return;
    }
    if (code == "X/Z/U*") {
        ASSERT_TRUE(present);
        ASSERT_EQ(itemCount(ds, tag), 1u);
        const auto sq = ds.GetDataElement(tag).GetValueAsSQ();
        EXPECT_EQ(valueOf(sq->GetItem(1).GetNestedDataSet(), 0x0008, 0x1155).rfind("2.25.", 0), 0u);
        return;
    }
    if (code == "K") {
        ASSERT_TRUE(present);
        if (vr != gdcm::VR::SQ) {
            EXPECT_EQ(out, source);
        }
        return;
    }
    ASSERT_EQ(code, "C");
    ASSERT_TRUE(present);
    if (vr == gdcm::VR::DA || vr == gdcm::VR::DT) {
        EXPECT_EQ(daysOf(out.substr(0, 8)) - daysOf(source.substr(0, 8)), shift)
            << "shifted by the patient's offset";
        EXPECT_EQ(out.substr(8), source.substr(8)) << "time of day kept";
    } else if (vr == gdcm::VR::TM) {
        EXPECT_EQ(out, source);
    } else if (vr == gdcm::VR::SQ) {
        EXPECT_EQ(itemCount(ds, tag), 1u) << "items kept and cleaned";
    } else if (vr != gdcm::VR::CS && isText(vr)) {
        EXPECT_EQ(out.find("ROWTEST"), std::string::npos) << "patient name cleaned out";
        EXPECT_NE(out.find("NOTE"), std::string::npos) << "the rest kept";
    }
}

class DeidProfileRow : public ::testing::TestWithParam<std::size_t> {};

TEST_P(DeidProfileRow, ActionAppliedAtTopLevelAndNested) {
    const auto& profile = ConfidentialityProfile::standard();
    const ProfileRow& row = profile.rows()[GetParam()];
    if (row.match == ProfileRow::Match::Exact && row.group == 0x0000)
        GTEST_SKIP() << "command group " << row.tagText << ": never part of a stored object";

    const Deidentifier engine(profile, ProfileOptions::defaults(), secret());
    gdcm::File file = test::makeCtFile();
    gdcm::DataSet& ds = file.GetDataSet();

    ProfileRow target = row;
    switch (row.match) {
    case ProfileRow::Match::CurveGroup:
        target.group = 0x5000;
        target.element = 0x3000;
        break;
    case ProfileRow::Match::OverlayElement:
        target.group = 0x6000;
        break;
    case ProfileRow::Match::PrivateGroup:
        target.group = 0x0009;
        target.element = 0x1001;
        break;
    case ProfileRow::Match::Exact:
        break;
    }
    const gdcm::VR::VRType vr =
        row.match == ProfileRow::Match::PrivateGroup                              ? gdcm::VR::LO
        : row.match == ProfileRow::Match::CurveGroup                              ? gdcm::VR::OB
        : row.match == ProfileRow::Match::OverlayElement && row.element == 0x3000 ? gdcm::VR::OB
                                                                                  : vrFor(target);
    const bool meta = row.group == 0x0002;
    gdcm::DataSet nested;
    nested.Insert(text(0x0008, 0x0100, gdcm::VR::SH, "74177"));
    if (row.match == ProfileRow::Match::PrivateGroup) {
        ds.Insert(text(0x0009, 0x0010, gdcm::VR::LO, "ROWTEST PRIVATE"));
        nested.Insert(text(0x0009, 0x0010, gdcm::VR::LO, "ROWTEST PRIVATE"));
    }
    if (meta) {
        file.GetHeader().Replace(attribute(target, vr, 1));
    } else {
        if (ds.FindDataElement(gdcm::Tag(target.group, target.element)))
            ds.Remove(gdcm::Tag(target.group, target.element));
        ds.Insert(attribute(target, vr, 1));
        nested.Insert(attribute(target, vr, 2));
    }
    ds.Insert(test::sequence(0x0008, 0x1032, {nested}));

    // The patient's date shift: keyed on the patient ID (and its issuer when there is one).
    std::string patientKey = valueOf(ds, 0x0010, 0x0020);
    if (ds.FindDataElement(gdcm::Tag(0x0010, 0x0021)) && !valueOf(ds, 0x0010, 0x0021).empty())
        patientKey += "|" + valueOf(ds, 0x0010, 0x0021);
    const KeyedHash hash(secret());
    const long shift = DateShifter(hash).shiftDaysFor(patientKey);
    ASSERT_LT(shift, 0);

    const FileResult result = engine.deidentify(file);
    ASSERT_FALSE(result.quarantined) << result.reason;

    const std::string code = row.match == ProfileRow::Match::PrivateGroup ? "X" : expectedCode(row);
    if (meta) {
        expectAction(target, vr, code, file.GetHeader(), shift, "file meta");
        EXPECT_EQ(valueOf(file.GetHeader(), 0x0002, 0x0003), valueOf(ds, 0x0008, 0x0018));
        return;
    }
    if (row.match == ProfileRow::Match::PrivateGroup) {
        EXPECT_FALSE(ds.FindDataElement(gdcm::Tag(0x0009, 0x0010))) << "private creator removed";
    }
    expectAction(target, vr, code, ds, shift, "top level");
    const auto sq = ds.GetDataElement(gdcm::Tag(0x0008, 0x1032)).GetValueAsSQ();
    ASSERT_TRUE(sq);
    ASSERT_EQ(sq->GetNumberOfItems(), 1u);
    expectAction(target, vr, code, sq->GetItem(1).GetNestedDataSet(), shift, "nested");
}

std::string rowName(const ::testing::TestParamInfo<std::size_t>& info) {
    const ProfileRow& row = ConfidentialityProfile::standard().rows()[info.param];
    std::string name;
    for (char c : row.tagText)
        if (std::isalnum(static_cast<unsigned char>(c)))
            name += c;
    return "Row" + std::to_string(info.param) + "_" + name;
}

INSTANTIATE_TEST_SUITE_P(
    AllRows, DeidProfileRow,
    ::testing::Range<std::size_t>(0, ConfidentialityProfile::standard().rows().size()), rowName);

TEST(DeidProfileTable, HoldsTheWholeTable) {
    const auto& profile = ConfidentialityProfile::standard();
    EXPECT_GE(profile.rows().size(), 600u);
    EXPECT_EQ(profile.edition(), "2024b");
    ASSERT_NE(profile.privateRow(), nullptr);
    ASSERT_NE(profile.find(0x5002, 0x0010), nullptr) << "curve wildcard";
    ASSERT_NE(profile.find(0x6004, 0x3000), nullptr) << "overlay wildcard";
    EXPECT_EQ(profile.find(0x0028, 0x0010), nullptr) << "Rows is not in the table";
    EXPECT_EQ(profile.find(0x0010, 0x0010)->basic, "Z");
}

} // namespace
} // namespace radmark::deid
