#pragma once
// Small GDCM helpers shared by the engine and the scanner (internal to imaging/deid).

#include <gdcmDataElement.h>
#include <gdcmSequenceOfItems.h>
#include <gdcmTag.h>
#include <gdcmVR.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace gdcm {
class DataSet;
}

namespace radmark::deid::dicom {

// The element's VR, looked up in the data dictionary when the file is implicit VR or says UN.
gdcm::VR effectiveVr(const gdcm::DataElement& element);

// The sequence held by an element, decoding UN / implicit byte values as sequences when the
// dictionary (or the bytes) say so. Null when the element is not a sequence.
gdcm::SmartPointer<gdcm::SequenceOfItems> sequenceOf(const gdcm::DataElement& element,
                                                     const gdcm::VR& vr);

// Raw value bytes as text, trailing padding removed ("" without a value).
std::string_view rawValue(const gdcm::DataElement& element);
std::string trimmed(std::string_view value);

bool isTextVr(const gdcm::VR& vr);         // AE AS CS DA DT LO LT PN SH ST TM UC UI UR UT
bool isDateVr(const gdcm::VR& vr);         // DA DT
std::string tagText(const gdcm::Tag& tag); // "(0010,0010)"

// Sets a text value with the even-length padding DICOM wants (NUL for UI, space otherwise).
void setText(gdcm::DataElement& element, const gdcm::VR& vr, std::string value);
// A new element (group,element) holding a text value, padded as setText does.
gdcm::DataElement textElement(std::uint16_t group, std::uint16_t element, gdcm::VR::VRType vr,
                              const std::string& value);
// The trimmed text value of an element of ds; "" when it is absent.
std::string textOf(const gdcm::DataSet& ds, std::uint16_t group, std::uint16_t element);

} // namespace radmark::deid::dicom
