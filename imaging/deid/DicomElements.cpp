#include "imaging/deid/DicomElements.h"

#include <gdcmDataSet.h>

#include <gdcmDict.h>
#include <gdcmDicts.h>
#include <gdcmGlobal.h>

#include <cstdio>

namespace radmark::deid::dicom {
namespace {

bool holdsSequence(const gdcm::DataElement& element) {
    return !element.IsEmpty() &&
           dynamic_cast<const gdcm::SequenceOfItems*>(&element.GetValue()) != nullptr;
}

} // namespace

gdcm::VR effectiveVr(const gdcm::DataElement& element) {
    const gdcm::VR vr = element.GetVR();
    if (vr != gdcm::VR::INVALID && vr != gdcm::VR::UN)
        return vr;
    const gdcm::Tag& tag = element.GetTag();
    if (tag.IsPrivate())
        return holdsSequence(element) ? gdcm::VR(gdcm::VR::SQ) : vr;
    static const gdcm::Dicts& dicts = gdcm::Global::GetInstance().GetDicts();
    const gdcm::DictEntry& entry = dicts.GetPublicDict().GetDictEntry(tag);
    const gdcm::VR known = entry.GetVR();
    if (known == gdcm::VR::INVALID || known == gdcm::VR::UN)
        return holdsSequence(element) ? gdcm::VR(gdcm::VR::SQ) : vr;
    return known;
}

gdcm::SmartPointer<gdcm::SequenceOfItems> sequenceOf(const gdcm::DataElement& element,
                                                     const gdcm::VR& vr) {
    if (holdsSequence(element))
        return element.GetValueAsSQ();
    const bool maybeSequence =
        vr == gdcm::VR::SQ || (element.GetVR() == gdcm::VR::UN && element.IsUndefinedLength());
    if (!maybeSequence || element.IsEmpty())
        return nullptr;
    try {
        return element.GetValueAsSQ();
    } catch (...) {
        return nullptr;
    }
}

std::string_view rawValue(const gdcm::DataElement& element) {
    const gdcm::ByteValue* bytes = element.GetByteValue();
    if (!bytes || !bytes->GetPointer())
        return {};
    return std::string_view(bytes->GetPointer(), bytes->GetLength());
}

std::string trimmed(std::string_view value) {
    while (!value.empty() && (value.back() == ' ' || value.back() == '\0'))
        value.remove_suffix(1);
    while (!value.empty() && value.front() == ' ')
        value.remove_prefix(1);
    return std::string(value);
}

bool isTextVr(const gdcm::VR& vr) {
    switch (gdcm::VR::VRType(vr)) {
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
        return true;
    default:
        return false;
    }
}

bool isDateVr(const gdcm::VR& vr) {
    return vr == gdcm::VR::DA || vr == gdcm::VR::DT;
}

std::string tagText(const gdcm::Tag& tag) {
    char text[16];
    std::snprintf(text, sizeof text, "(%04X,%04X)", tag.GetGroup(), tag.GetElement());
    return text;
}

void setText(gdcm::DataElement& element, const gdcm::VR& vr, std::string value) {
    if (value.size() % 2)
        value += vr == gdcm::VR::UI ? '\0' : ' ';
    element.SetByteValue(value.data(), gdcm::VL(std::uint32_t(value.size())));
}

gdcm::DataElement textElement(std::uint16_t group, std::uint16_t element, gdcm::VR::VRType vr,
                              const std::string& value) {
    gdcm::DataElement de(gdcm::Tag(group, element));
    de.SetVR(vr);
    setText(de, vr, value);
    return de;
}

std::string textOf(const gdcm::DataSet& ds, std::uint16_t group, std::uint16_t element) {
    const gdcm::Tag tag(group, element);
    return ds.FindDataElement(tag) ? trimmed(rawValue(ds.GetDataElement(tag))) : std::string();
}

} // namespace radmark::deid::dicom
