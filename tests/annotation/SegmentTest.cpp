#include "annotation/Segment.h"

#include <gtest/gtest.h>

using namespace radmark::annotation;

TEST(AnnotationSegments, AddAssignsNextFreeLabelAndRejectsDuplicates) {
    SegmentList list;
    EXPECT_EQ(list.add("Liver", {1, 2, 3}).label, 1);
    EXPECT_EQ(list.add("Lesion", {1, 2, 3}).label, 2);
    Segment s;
    s.label = 2;
    s.name = "Other";
    EXPECT_THROW(list.add(s), SegmentError);
    s.label = 0;
    EXPECT_THROW(list.add(s), SegmentError);
    list.rename(2, "Lesion 1");
    list.setLocked(1, true);
    EXPECT_EQ(list.get(2).name, "Lesion 1");
    EXPECT_TRUE(list.isLocked(1));
    EXPECT_FALSE(list.isLocked(2));
    list.remove(1);
    EXPECT_EQ(list.find(1), nullptr);
    EXPECT_THROW(list.get(1), SegmentError);
}

TEST(AnnotationTerminology, BundledListHasRealSnomedCodes) {
    const Terminology& t = Terminology::bundled();
    EXPECT_GE(t.entries().size(), 40u);
    const TerminologyEntry* liver = t.findByCode("10200004");
    ASSERT_NE(liver, nullptr);
    EXPECT_EQ(liver->type.meaning, "Liver");
    EXPECT_EQ(liver->category.code, "91723000");
    EXPECT_EQ(t.findByCode("4147007")->type.meaning, "Mass");
    EXPECT_EQ(t.findByCode("78961009")->type.meaning, "Spleen");
    for (const auto& e : t.entries()) {
        EXPECT_EQ(e.type.scheme, "SCT");
        EXPECT_FALSE(e.type.code.empty());
        EXPECT_EQ(e.type.code.find_first_not_of("0123456789"), std::string::npos) << e.type.code;
    }
    EXPECT_FALSE(t.search("kidney").empty());
}

TEST(AnnotationTerminology, SegmentFromConceptCarriesCodeAndColour) {
    SegmentList list;
    Segment& s = Terminology::bundled().addSegment(list, "15776009");
    EXPECT_EQ(s.name, "Pancreas");
    ASSERT_TRUE(s.type.has_value());
    EXPECT_EQ(s.type->code, "15776009");
    EXPECT_THROW(Terminology::bundled().addSegment(list, "123"), SegmentError);
}

TEST(AnnotationTerminology, MalformedLinesAreReported) {
    EXPECT_THROW(Terminology::parse("1\t2\t3\n"), SegmentError);
    EXPECT_THROW(Terminology::parse("1\ta\t2\tb\tred\n"), SegmentError);
    EXPECT_EQ(Terminology::parse("# comment\n1\ta\t2\tb\t#010203\n").entries().size(), 1u);
}

// What crosses the store service's channel (app/cli/StoreAccess.h): every field of every
// segment, so that a save through radmarkd keeps what an in-process save keeps.
TEST(ServiceSegmentJson, EveryFieldRoundTrips) {
    SegmentList list;
    Segment liver;
    liver.label = 3;
    liver.name = "Liver";
    liver.colour = {200, 120, 60};
    liver.visible = false;
    liver.locked = true;
    liver.opacity = 0.25f;
    liver.display = SegmentDisplay::Outline;
    liver.category = CodedConcept{"SCT", "91723000", "Anatomical structure"};
    liver.type = CodedConcept{"SCT", "10200004", "Liver"};
    list.add(liver);
    Segment lesion; // the defaults, no codes
    lesion.label = 300;
    lesion.name = "Lesion";
    list.add(lesion);
    Segment other; // another scheme
    other.label = 7;
    other.name = "Other";
    other.type = CodedConcept{"99LOCAL", "x1", "Local concept"};
    list.add(other);

    const SegmentList back = segmentsFromJsonText(segmentsToJsonText(list));
    ASSERT_EQ(back.size(), 3u);
    EXPECT_EQ(back.get(3), liver); // Segment's == compares every field
    EXPECT_EQ(back.get(300), lesion);
    EXPECT_EQ(back.get(7), other);
    EXPECT_EQ(back, list);
    // Each field on its own away from its default, so that a dropped one cannot hide behind it.
    for (int field = 0; field < 8; ++field) {
        Segment s;
        s.label = 1;
        s.name = "n";
        switch (field) {
        case 0: s.colour = {1, 2, 3}; break;
        case 1: s.visible = false; break;
        case 2: s.locked = true; break;
        case 3: s.opacity = 0.9f; break;
        case 4: s.display = SegmentDisplay::Outline; break;
        case 5: s.category = CodedConcept{"SCT", "49755003", "Morphologically abnormal structure"}; break;
        case 6: s.type = CodedConcept{"SCT", "4147007", "Mass"}; break;
        case 7: s.name = "a name with \"quotes\" and ünïcode"; break;
        }
        SegmentList one;
        one.add(s);
        EXPECT_EQ(segmentsFromJsonText(segmentsToJsonText(one)).get(1), s) << "field " << field;
    }
#if defined(__x86_64__) && defined(__GLIBCXX__)
    // A field added to Segment must be added to segmentsToJsonText/segmentsFromJsonText and to
    // this test: its size says one was.
    static_assert(sizeof(Segment) == 264, "Segment changed: round-trip the new field here");
#endif
}

TEST(ServiceSegmentJson, ShortFormTakesDefaultsAndBadTextIsRefused) {
    const SegmentList list =
        segmentsFromJsonText(R"([{"label": 1, "name": "Liver", "colour": [200, 120, 60]}])");
    Segment expected;
    expected.label = 1;
    expected.name = "Liver";
    expected.colour = {200, 120, 60};
    EXPECT_EQ(list.get(1), expected);
    EXPECT_THROW(segmentsFromJsonText("not json"), SegmentError);
    EXPECT_THROW(segmentsFromJsonText(R"({"label": 1})"), SegmentError);
    EXPECT_THROW(segmentsFromJsonText(R"([{"label": 1, "name": "a", "colour": [1, 2, 300]}])"),
                 SegmentError);
    EXPECT_THROW(segmentsFromJsonText(
                     R"([{"label": 2, "name": "a", "colour": [1, 2, 3]},
                         {"label": 2, "name": "b", "colour": [1, 2, 3]}])"),
                 SegmentError);
}
