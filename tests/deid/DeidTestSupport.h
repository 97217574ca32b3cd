#pragma once
// Builds small DICOM datasets in memory for the de-identification tests (synthetic values only).

#include <gdcmDataSet.h>
#include <gdcmFile.h>
#include <gdcmItem.h>
#include <gdcmSequenceOfItems.h>
#include <gdcmTransferSyntax.h>

#include <cstdint>
#include <string>

namespace radmark::deid::test {

inline gdcm::DataElement text(std::uint16_t group, std::uint16_t element, gdcm::VR::VRType vr,
                              std::string value) {
    if (value.size() % 2)
        value += vr == gdcm::VR::UI ? '\0' : ' ';
    gdcm::DataElement de(gdcm::Tag(group, element));
    de.SetVR(vr);
    de.SetByteValue(value.data(), gdcm::VL(std::uint32_t(value.size())));
    return de;
}

inline gdcm::DataElement sequence(std::uint16_t group, std::uint16_t element,
                                  const std::vector<gdcm::DataSet>& items) {
    gdcm::SmartPointer<gdcm::SequenceOfItems> sq = new gdcm::SequenceOfItems;
    sq->SetLengthToUndefined();
    for (const auto& nested : items) {
        gdcm::Item item;
        item.SetVLToUndefined();
        item.SetNestedDataSet(nested);
        sq->AddItem(item);
    }
    gdcm::DataElement de(gdcm::Tag(group, element));
    de.SetVR(gdcm::VR::SQ);
    de.SetValue(*sq);
    de.SetVLToUndefined();
    return de;
}

inline std::string valueOf(const gdcm::DataSet& ds, std::uint16_t group, std::uint16_t element) {
    const gdcm::Tag tag(group, element);
    if (!ds.FindDataElement(tag))
        return "<absent>";
    const gdcm::ByteValue* bv = ds.GetDataElement(tag).GetByteValue();
    if (!bv)
        return "";
    std::string value(bv->GetPointer(), bv->GetLength());
    while (!value.empty() && (value.back() == ' ' || value.back() == '\0'))
        value.pop_back();
    return value;
}

// A CT image header (no pixels) of a fake patient, explicit VR little endian.
inline gdcm::File makeCtFile() {
    gdcm::File file;
    gdcm::DataSet& ds = file.GetDataSet();
    ds.Insert(text(0x0008, 0x0016, gdcm::VR::UI, "1.2.840.10008.5.1.4.1.1.2"));
    ds.Insert(text(0x0008, 0x0018, gdcm::VR::UI, "1.2.826.0.1.3680043.9.7433.99.3.1"));
    ds.Insert(text(0x0008, 0x0020, gdcm::VR::DA, "20200101"));
    ds.Insert(text(0x0008, 0x0060, gdcm::VR::CS, "CT"));
    ds.Insert(text(0x0010, 0x0010, gdcm::VR::PN, "ROWTEST^PATIENT"));
    ds.Insert(text(0x0010, 0x0020, gdcm::VR::LO, "PID-4471-ROW"));
    ds.Insert(text(0x0020, 0x000D, gdcm::VR::UI, "1.2.826.0.1.3680043.9.7433.99.1"));
    ds.Insert(text(0x0020, 0x000E, gdcm::VR::UI, "1.2.826.0.1.3680043.9.7433.99.2"));
    file.GetHeader().SetDataSetTransferSyntax(gdcm::TransferSyntax::ExplicitVRLittleEndian);
    file.GetHeader().Insert(text(0x0002, 0x0002, gdcm::VR::UI, "1.2.840.10008.5.1.4.1.1.2"));
    file.GetHeader().Insert(
        text(0x0002, 0x0003, gdcm::VR::UI, "1.2.826.0.1.3680043.9.7433.99.3.1"));
    file.GetHeader().Insert(text(0x0002, 0x0010, gdcm::VR::UI, "1.2.840.10008.1.2.1"));
    return file;
}

} // namespace radmark::deid::test
