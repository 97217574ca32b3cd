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
