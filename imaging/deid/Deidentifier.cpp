#include "imaging/deid/Deidentifier.h"

#include "imaging/deid/BurnedInText.h"
#include "imaging/deid/DicomElements.h"
#include "imaging/deid/PhiScanner.h"

#include <gdcmDataSet.h>
#include <gdcmDicts.h>
#include <gdcmFile.h>
#include <gdcmFileMetaInformation.h>
#include <gdcmGlobal.h>
#include <gdcmItem.h>
#include <gdcmTransferSyntax.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <set>

namespace radmark::deid {
namespace {

enum class Op { Keep, Remove, Empty, Dummy, RemapUid, ShiftDates, CleanText, Recurse, Pseudonym };

struct Decision {
    Op op = Op::Keep;
    std::string why;
    bool cleanInside = false; // Recurse: clean the text of every item (option C on a sequence)
};

// Radmark's implementation class UID (file meta), a UUID-derived UID of its own.
constexpr const char* implementationClassUid = "2.25.95089404491055995710137347587516448562";

constexpr std::uint32_t key(std::uint16_t group, std::uint16_t element) {
    return (std::uint32_t(group) << 16) | element;
}

// UIDs that name a class or an encoding rather than an instance: never remapped.
const std::set<std::uint32_t> classUidTags = {
    key(0x0002, 0x0002), key(0x0002, 0x0010), key(0x0002, 0x0012), key(0x0004, 0x1510),
    key(0x0004, 0x1512), key(0x0008, 0x0016), key(0x0008, 0x001A), key(0x0008, 0x001B),
    key(0x0008, 0x0062), key(0x0008, 0x010C), key(0x0008, 0x010D), key(0x0008, 0x1150),
    key(0x0400, 0x0010), key(0x0040, 0xA170)};

// File meta elements that name the sending and receiving systems.
const std::set<std::uint32_t> metaIdentifyingTags = {key(0x0002, 0x0016), key(0x0002, 0x0017),
                                                     key(0x0002, 0x0018), key(0x0002, 0x0100),
                                                     key(0x0002, 0x0102)};

// A subset of PS3.15 Table E.3.10-1 (Safe Private Attributes): creator, group, element low byte.
struct SafePrivate {
    const char* creator;
    std::uint16_t group;
    std::uint8_t element;
};
constexpr SafePrivate safePrivateAttributes[] = {
    {"Philips MR Imaging DD 001", 0x2005, 0x0D}, // scale intercept
    {"Philips MR Imaging DD 001", 0x2005, 0x0E}, // scale slope
    {"SIEMENS MR HEADER", 0x0019, 0x0C},         // b value
    {"SIEMENS MR HEADER", 0x0019, 0x0D},         // diffusion directionality
    {"SIEMENS MR HEADER", 0x0019, 0x0E},         // diffusion gradient direction
    {"SIEMENS MR HEADER", 0x0019, 0x27},         // b matrix
    {"GEMS_PARM_01", 0x0043, 0x39},              // slop_int_6..9 (b value)
};

// SOP classes whose IODs (enhanced images, segmentations, parametric maps, ...: the Enhanced
// General Equipment module) make Content Date/Time, Acquisition DateTime and Device Serial
// Number Type 1: a compound action (X/Z/D, Z/D, ...) must then replace with a dummy.
bool hasTypeOneEquipmentAndDates(const std::string& sopClass) {
    static const std::set<std::string> enhanced = {
        "1.2.840.10008.5.1.4.1.1.2.1",    "1.2.840.10008.5.1.4.1.1.2.2",
        "1.2.840.10008.5.1.4.1.1.4.1",    "1.2.840.10008.5.1.4.1.1.4.3",
        "1.2.840.10008.5.1.4.1.1.4.4",    "1.2.840.10008.5.1.4.1.1.130",
        "1.2.840.10008.5.1.4.1.1.128.1",  "1.2.840.10008.5.1.4.1.1.12.1.1",
        "1.2.840.10008.5.1.4.1.1.12.2.1", "1.2.840.10008.5.1.4.1.1.6.2",
        "1.2.840.10008.5.1.4.1.1.66.4",   "1.2.840.10008.5.1.4.1.1.66.5",
        "1.2.840.10008.5.1.4.1.1.30",     "1.2.840.10008.5.1.4.1.1.13.1.3",
        "1.2.840.10008.5.1.4.1.1.77.1.6"};
    return enhanced.count(sopClass) > 0;
}

std::string dummyFor(const gdcm::VR& vr) {
    switch (gdcm::VR::VRType(vr)) {
    case gdcm::VR::AS:
        return "000Y";
    case gdcm::VR::DA:
        return "19000101";
    case gdcm::VR::DT:
        return "19000101000000";
    case gdcm::VR::TM:
        return "000000";
    case gdcm::VR::DS:
    case gdcm::VR::IS:
        return "0";
    default:
        return "ANONYMIZED";
    }
}

std::vector<std::string> splitValues(std::string_view value) {
    std::vector<std::string> values;
    std::size_t start = 0;
    while (true) {
        const std::size_t end = value.find('\\', start);
        values.push_back(
            dicom::trimmed(value.substr(start, end == value.npos ? value.npos : end - start)));
        if (end == std::string_view::npos)
            return values;
        start = end + 1;
    }
}

std::string joinValues(const std::vector<std::string>& values) {
    std::string out;
    for (std::size_t i = 0; i < values.size(); ++i)
        out += (i ? "\\" : "") + values[i];
    return out;
}

std::string upper(std::string text) {
    for (char& c : text)
        c = char(std::toupper(static_cast<unsigned char>(c)));
    return text;
}

// Printable runs of 4 or more characters in a binary or unknown value (private, UN).
std::vector<std::string> printableRuns(std::string_view raw) {
    std::vector<std::string> runs;
    std::string run;
    for (char c : raw) {
        if (std::isprint(static_cast<unsigned char>(c)) && c != '\\') {
            run += c;
            continue;
        }
        if (dicom::trimmed(run).size() >= 4)
            runs.push_back(dicom::trimmed(run));
        run.clear();
    }
    if (dicom::trimmed(run).size() >= 4)
        runs.push_back(dicom::trimmed(run));
    return runs;
}

// Kept values that are vocabulary rather than free text: codes, enumerated values, numbers,
// the manufacturer and model. A part of a removed name that also appears here (a value type
// "TEXT") is not taken as the name; free text never counts as vocabulary.
bool isVocabulary(const gdcm::Tag& tag, const gdcm::VR& vr) {
    if (vr == gdcm::VR::CS || vr == gdcm::VR::DS || vr == gdcm::VR::IS)
        return true;
    const std::uint32_t k = key(tag.GetGroup(), tag.GetElement());
    return k == key(0x0008, 0x0100) || k == key(0x0008, 0x0102) || k == key(0x0008, 0x0104) ||
           k == key(0x0008, 0x0119) || k == key(0x0008, 0x0070) || k == key(0x0008, 0x1090) ||
           k == key(0x0018, 0x1020) || k == key(0x0008, 0x0064) || k == key(0x0018, 0x1016) ||
           k == key(0x0018, 0x1018) || k == key(0x0018, 0x1019);
}

// The device names a vendor gives its products: Manufacturer, ManufacturerModelName and the
// secondary capture device's manufacturer and model name. Only these, kept unchanged, may
// excuse a removed institution or station name found in them (an institution called like the
// scanner's manufacturer in vendor sample data). Codes, code meanings and software versions are
// not among them: they can carry any text.
bool namesTheDevice(std::uint32_t k) {
    return k == key(0x0008, 0x0070) || k == key(0x0008, 0x1090) || k == key(0x0018, 0x1016) ||
           k == key(0x0018, 0x1018);
}

// Removed attributes whose value may equal a vendor's device name without being a leak: the
// institution, its department and the station. Addresses, AE titles, locations and everything
// about persons never may.
bool mayEqualADeviceName(std::uint32_t k) {
    return k == key(0x0008, 0x0080) || k == key(0x0008, 0x1040) || k == key(0x0008, 0x1010);
}

std::string keywordOf(std::uint32_t k) {
    const gdcm::Tag tag(std::uint16_t(k >> 16), std::uint16_t(k & 0xFFFF));
    const char* keyword =
        gdcm::Global::GetInstance().GetDicts().GetPublicDict().GetDictEntry(tag).GetKeyword();
    return keyword && *keyword ? keyword : dicom::tagText(tag);
}

} // namespace

// One file's trip through the engine: collect identifying values, transform, record, clean
// pixels, verify.
class FilePass {
  public:
    FilePass(const Deidentifier& engine, gdcm::File& file) : e_(engine), file_(file) {}
    FileResult run();

  private:
    const Deidentifier& e_;
    gdcm::File& file_;
    FileResult result_;
    PhiScanner phi_;
    std::vector<std::string> privateValues_; // weak: dropped when a kept public value has them
    std::vector<std::string> keptPublicValues_;
    std::vector<std::string> nameWords_;  // components of removed names: whole-word needles
    std::vector<std::string> vocabulary_; // kept codes, enumerated values, manufacturer, model
    // Kept device names (see namesTheDevice): (tag, upper-case value) as found in the input.
    std::set<std::pair<std::uint32_t, std::string>> keptDeviceNames_;
    std::string sopClass_;
    int shiftDays_ = 0;
    bool shifted_ = false;
    std::set<std::uint32_t> codesUsed_;

    Decision decide(const gdcm::DataSet& parent, const gdcm::DataElement& de, const gdcm::VR& vr,
                    bool cleaning, bool inMeta) const;
    // The sequences that hold the data set being transformed, outermost first.
    std::vector<std::uint32_t> within_;
    // Whether a sequence the table lets remove or empty (X/Z, X/Z/D) is Type 2 where it stands,
    // so that it is emptied rather than removed: the Acquisition Context Sequence of the Acquisition
    // Context module, the Referenced Performed Procedure Step Sequence of an SR document, and the
    // Referenced Study Sequence of an SR's Referenced Request Sequence.
    bool typeTwoSequenceHere(std::uint16_t group, std::uint16_t element) const {
        if (key(group, element) == key(0x0040, 0x0555))
            return within_.empty();
        if (key(group, element) == key(0x0008, 0x1111))
            return within_.empty() && sopClass_.rfind("1.2.840.10008.5.1.4.1.1.88.", 0) == 0;
        if (key(group, element) == key(0x0008, 0x1110))
            return !within_.empty() && within_.back() == key(0x0040, 0xA370);
        return false;
    }
    void collect(const gdcm::DataSet& ds, bool everything, bool inMeta);
    void collectValue(const gdcm::DataElement& de, const gdcm::VR& vr, bool isPrivate, bool weak);
    void transform(gdcm::DataSet& ds, bool cleaning, bool inMeta);
    void record(const gdcm::Tag& tag, const char* action, const std::string& why) {
        ++result_.actions[AttributeAction{key(tag.GetGroup(), tag.GetElement()), action, why}];
    }
    void addRecords();
    void verify();
    struct SourceFacts {
        std::string modality, manufacturer, model, burnedIn;
    };
    std::string cleanPixels(const SourceFacts& source);
};

Decision FilePass::decide(const gdcm::DataSet& parent, const gdcm::DataElement& de,
                          const gdcm::VR& vr, bool cleaning, bool inMeta) const {
    const gdcm::Tag& tag = de.GetTag();
    const std::uint16_t group = tag.GetGroup();
    const std::uint16_t element = tag.GetElement();
    const ProfileOptions& options = e_.options_;
    const bool isSequence = vr == gdcm::VR::SQ;

    if (inMeta) {
        if (metaIdentifyingTags.count(key(group, element)))
            return {Op::Remove, "file meta: names the sending or receiving system"};
        if (key(group, element) == key(0x0002, 0x0003) && !options.has(ProfileOption::RetainUids))
            return {Op::RemapUid,
                    "Table E.1-1 (0002,0003) basic profile, in step with (0008,0018)"};
        return {Op::Keep, "file meta"};
    }
    if (element == 0x0000)
        return {Op::Remove, "group length: obsolete, not kept"};
    if (tag.IsPrivate()) {
        if (options.has(ProfileOption::RetainSafePrivate)) {
            const std::string creator = tag.IsPrivateCreator()
                                            ? dicom::trimmed(dicom::rawValue(de))
                                            : dicom::trimmed(parent.GetPrivateCreator(tag));
            for (const auto& safe : safePrivateAttributes) {
                if (safe.group != group || creator != safe.creator)
                    continue;
                if (tag.IsPrivateCreator() || (element & 0xFF) == safe.element)
                    return {Op::Keep, "option retain-safe-private: PS3.15 E.3.10 safe attribute"};
            }
        }
        const ProfileRow* row = e_.profile_.privateRow();
        return {Op::Remove, std::string("Table E.1-1 ") + (row ? row->tagText : "(gggg,eeee)") +
                                " private attribute"};
    }
    if ((group & 0xFF00) == 0x5000)
        return {Op::Remove, "Table E.1-1 (50xx,xxxx) curve"};
    if ((group & 0xFF00) == 0x6000) {
        const ProfileRow* data = e_.profile_.find(group, 0x3000);
        const RowDecision rd = data ? e_.profile_.decide(*data, options) : RowDecision{"X", ""};
        if (rd.code == "K")
            return {Op::Keep, rd.reason};
        return {Op::Remove, rd.code == "C" ? "option clean-graphics: overlays cannot be cleaned "
                                             "reliably, the overlay group is removed"
                                           : "Table E.1-1 (60xx,3000): overlay group removed "
                                             "with its data"};
    }
    if (key(group, element) == key(0x0010, 0x0010) || key(group, element) == key(0x0010, 0x0020))
        return {Op::Pseudonym,
                "pseudonym stable within the store (Table E.1-1 " + dicom::tagText(tag) + ")"};

    if (const ProfileRow* row = e_.profile_.find(group, element)) {
        const RowDecision rd = e_.profile_.decide(*row, options);
        const std::string& code = rd.code;
        const bool typeOne =
            hasTypeOneEquipmentAndDates(sopClass_) && (key(group, element) == key(0x0008, 0x0023) ||
                                                       key(group, element) == key(0x0008, 0x0033) ||
                                                       key(group, element) == key(0x0008, 0x002A) ||
                                                       key(group, element) == key(0x0018, 0x1000));
        if (code == "K")
            return {isSequence ? Op::Recurse : Op::Keep, rd.reason};
        if (code == "C") {
            if (dicom::isDateVr(vr))
                return {Op::ShiftDates, rd.reason + ": per-patient date shift"};
            if (vr == gdcm::VR::TM)
                return {Op::Keep, rd.reason + ": whole-day shift keeps the time of day"};
            if (isSequence)
                return {Op::Recurse, rd.reason + ": every item cleaned", true};
            if (dicom::isTextVr(vr))
                return {Op::CleanText, rd.reason};
            return {Op::Keep, rd.reason};
        }
        if (code == "X")
            return {Op::Remove, rd.reason};
        if (code == "Z")
            return {Op::Empty, rd.reason};
        if (code == "U")
            return {Op::RemapUid, rd.reason};
        if (code == "D") {
            if (vr == gdcm::VR::UI)
                return {Op::RemapUid, rd.reason};
            if (isSequence && key(group, element) == key(0x0040, 0xA730))
                return {Op::Recurse,
                        rd.reason + ": the content tree is kept (an SR needs it), every item "
                                    "processed and its text cleaned",
                        true};
            if (isSequence && key(group, element) == key(0x0040, 0xA073))
                return {Op::Recurse,
                        rd.reason + ": observer items kept (an SR needs them), their names, "
                                    "organisation and codes replaced by their own rows",
                        true};
            if (isSequence)
                return {Op::Empty, rd.reason + ": dummy sequence emptied (stricter)"};
            return {Op::Dummy, rd.reason};
        }
        if (code == "X/Z/U*") {
            if (isSequence)
                return {Op::Recurse, rd.reason + ": U*, references kept with remapped UIDs"};
            return {Op::Empty, rd.reason};
        }
        const bool mayEmpty = code.find('Z') != std::string::npos;
        if (typeOne)
            return {isSequence ? Op::Empty : Op::Dummy, rd.reason + ": Type 1 in this IOD"};
        // A sequence that may be removed is removed unless it is Type 2 where it stands: a Type 3
        // sequence present with no item is invalid (dciodvfy: "1-n Required").
        if (isSequence && mayEmpty && code.find('X') != std::string::npos &&
            !typeTwoSequenceHere(group, element))
            return {Op::Remove, rd.reason + ": removed (a Type 3 sequence here)"};
        if (mayEmpty)
            return {Op::Empty, rd.reason + ": emptied (Type 2 or 3)"};
        return {Op::Remove, rd.reason + ": removed (Type 3)"};
    }

    if (isSequence)
        return {Op::Recurse, "not in Table E.1-1: items processed", cleaning};
    if (vr == gdcm::VR::UI) {
        if (classUidTags.count(key(group, element)))
            return {Op::Keep, "class or transfer syntax UID"};
        if (options.has(ProfileOption::RetainUids))
            return {Op::Keep, "option retain-uids"};
        return {Op::RemapUid, "UID not in Table E.1-1: remapped so references stay consistent"};
    }
    if (dicom::isDateVr(vr)) {
        if (options.has(ProfileOption::RetainLongitudinalFullDates))
            return {Op::Keep, "option retain-longitudinal-full-dates"};
        if (options.has(ProfileOption::RetainLongitudinalModifiedDates))
            return {Op::ShiftDates,
                    "option retain-longitudinal-modified-dates: every date shifted"};
        return {Op::Empty, "date not in Table E.1-1: emptied (no date option)"};
    }
    if (vr == gdcm::VR::PN)
        return {Op::Empty, "person name not in Table E.1-1: emptied (stricter)"};
    if (cleaning && dicom::isTextVr(vr) && vr != gdcm::VR::CS && vr != gdcm::VR::TM)
        return {Op::CleanText, "inside a cleaned sequence"};
    return {Op::Keep, "not in Table E.1-1"};
}

void FilePass::collectValue(const gdcm::DataElement& de, const gdcm::VR& vr, bool isPrivate,
                            bool weak) {
    const std::string_view raw = dicom::rawValue(de);
    if (raw.empty())
        return;
    if (weak && dicom::isTextVr(vr) && vr != gdcm::VR::PN && vr != gdcm::VR::UI &&
        !dicom::isDateVr(vr)) {
        // Inside a removed sequence: code values, value types and the like are identifying only
        // when nothing kept in the output says the same.
        if (vr != gdcm::VR::CS && vr != gdcm::VR::TM && vr != gdcm::VR::AS)
            for (auto& value : splitValues(raw))
                privateValues_.push_back(value);
        return;
    }
    if (isPrivate || !dicom::isTextVr(vr)) {
        if (vr == gdcm::VR::OB || vr == gdcm::VR::OW || vr == gdcm::VR::UN || isPrivate ||
            vr == gdcm::VR::INVALID)
            for (auto& run : printableRuns(raw))
                for (auto& value : splitValues(run))
                    privateValues_.push_back(value);
        return;
    }
    if (vr == gdcm::VR::PN) {
        for (const auto& value : splitValues(raw)) {
            phi_.addValue(value);
            for (auto& word : PhiScanner::nameWords(value))
                nameWords_.push_back(std::move(word));
        }
        return;
    }
    if (vr == gdcm::VR::UI) {
        for (const auto& value : splitValues(raw))
            if (!UidRemapper::isWellKnown(value))
                phi_.addValue(value);
        return;
    }
    if (vr == gdcm::VR::DT) {
        for (const auto& value : splitValues(raw))
            phi_.addValue(value.substr(0, 8));
        return;
    }
    const std::uint32_t origin = key(de.GetTag().GetGroup(), de.GetTag().GetElement());
    phi_.addValue(raw, ValueOrigin{origin, !mayEqualADeviceName(origin)});
}

void FilePass::collect(const gdcm::DataSet& ds, bool everything, bool inMeta) {
    for (const auto& de : ds.GetDES()) {
        const gdcm::VR vr = dicom::effectiveVr(de);
        const Decision d = decide(ds, de, vr, false, inMeta);
        const bool goes =
            everything || (d.op != Op::Keep && d.op != Op::Recurse && d.op != Op::CleanText);
        if (auto sequence = dicom::sequenceOf(de, vr)) {
            for (gdcm::SequenceOfItems::SizeType i = 1; i <= sequence->GetNumberOfItems(); ++i)
                collect(sequence->GetItem(i).GetNestedDataSet(), goes, inMeta);
            continue;
        }
        if (de.GetTag() == gdcm::Tag(0x7FE0, 0x0010))
            continue;
        if (goes && d.op != Op::ShiftDates) {
            collectValue(de, vr, de.GetTag().IsPrivate(), everything);
        } else if (goes) {
            for (const auto& value : splitValues(dicom::rawValue(de)))
                phi_.addValue(value.substr(0, 8));
        } else if (d.op == Op::Keep &&
                   (dicom::isTextVr(vr) || vr == gdcm::VR::DS || vr == gdcm::VR::IS)) {
            keptPublicValues_.push_back(upper(std::string(dicom::rawValue(de))));
            if (isVocabulary(de.GetTag(), vr))
                vocabulary_.push_back(keptPublicValues_.back());
            const std::uint32_t k = key(de.GetTag().GetGroup(), de.GetTag().GetElement());
            if (namesTheDevice(k))
                keptDeviceNames_.emplace(k, upper(dicom::trimmed(dicom::rawValue(de))));
        }
    }
}

void FilePass::transform(gdcm::DataSet& ds, bool cleaning, bool inMeta) {
    std::vector<gdcm::DataElement> elements(ds.Begin(), ds.End());
    for (const auto& de : elements) {
        const gdcm::Tag& tag = de.GetTag();
        const gdcm::VR vr = dicom::effectiveVr(de);
        const Decision d = decide(ds, de, vr, cleaning, inMeta);
        switch (d.op) {
        case Op::Keep: {
            record(tag, "kept", d.why);
            const std::string_view raw = dicom::rawValue(de);
            if (raw.size() % 2) {
                // Odd lengths are not DICOM (and GDCM's writer aborts on them): pad as PS3.5 says.
                std::string padded(raw);
                padded += dicom::isTextVr(vr) && vr != gdcm::VR::UI ? ' ' : '\0';
                gdcm::DataElement copy = de;
                copy.SetByteValue(padded.data(), gdcm::VL(std::uint32_t(padded.size())));
                ds.Replace(copy);
            }
            break;
        }
        case Op::Remove:
            ds.Remove(tag);
            record(tag, "removed", d.why);
            break;
        case Op::Empty: {
            gdcm::DataElement copy(tag);
            copy.SetVR(de.GetVR() == gdcm::VR::UN && vr == gdcm::VR::SQ ? gdcm::VR(gdcm::VR::SQ)
                                                                        : de.GetVR());
            if (vr == gdcm::VR::SQ) {
                gdcm::SmartPointer<gdcm::SequenceOfItems> empty = new gdcm::SequenceOfItems;
                empty->SetLengthToUndefined();
                copy.SetValue(*empty);
                copy.SetVLToUndefined();
            } else {
                copy.Empty();
            }
            ds.Replace(copy);
            record(tag, "emptied", d.why);
            break;
        }
        case Op::Dummy: {
            gdcm::DataElement copy = de;
            if (dicom::isTextVr(vr) || vr == gdcm::VR::DS || vr == gdcm::VR::IS)
                dicom::setText(copy, vr, dummyFor(vr));
            else
                copy.Empty();
            ds.Replace(copy);
            record(tag, "replaced", d.why + ": dummy value");
            break;
        }
        case Op::RemapUid: {
            gdcm::DataElement copy = de;
            auto values = splitValues(dicom::rawValue(de));
            for (auto& value : values)
                value = e_.uids_.remap(value);
            dicom::setText(copy, gdcm::VR::UI, joinValues(values));
            ds.Replace(copy);
            record(tag, "replaced", d.why);
            break;
        }
        case Op::Pseudonym: {
            gdcm::DataElement copy = de;
            dicom::setText(copy, vr, result_.patientPseudonym);
            ds.Replace(copy);
            record(tag, "replaced", d.why);
            break;
        }
        case Op::ShiftDates: {
            gdcm::DataElement copy = de;
            auto values = splitValues(dicom::rawValue(de));
            bool valid = true;
            for (auto& value : values) {
                if (value.empty())
                    continue;
                const auto moved = vr == gdcm::VR::DT
                                       ? DateShifter::shiftDateTime(value, shiftDays_)
                                       : DateShifter::shiftDate(value, shiftDays_);
                valid = valid && moved.has_value();
                value = moved.value_or("");
            }
            if (!valid) {
                copy.Empty();
                ds.Replace(copy);
                record(tag, "emptied", d.why + ": not a valid date, emptied");
                break;
            }
            dicom::setText(copy, vr, joinValues(values));
            ds.Replace(copy);
            shifted_ = true;
            record(tag, "shifted", d.why);
            break;
        }
        case Op::CleanText: {
            const std::string before(dicom::rawValue(de));
            const std::string after = phi_.clean(before);
            if (after == before) {
                record(tag, "kept", d.why + ": nothing identifying found");
                break;
            }
            gdcm::DataElement copy = de;
            // Nothing left once cleaned: a placeholder keeps Type 1 text attributes valid.
            dicom::setText(copy, vr, dicom::trimmed(after).empty() ? "REMOVED" : after);
            ds.Replace(copy);
            record(tag, "cleaned", d.why);
            break;
        }
        case Op::Recurse: {
            auto sequence = dicom::sequenceOf(de, vr);
            if (!sequence) {
                record(tag, "kept", d.why);
                break;
            }
            for (gdcm::SequenceOfItems::SizeType i = 1; i <= sequence->GetNumberOfItems(); ++i) {
                gdcm::Item& item = sequence->GetItem(i);
                within_.push_back(key(tag.GetGroup(), tag.GetElement()));
                transform(item.GetNestedDataSet(), cleaning || d.cleanInside, inMeta);
                within_.pop_back();
                item.SetVLToUndefined();
            }
            sequence->SetLengthToUndefined();
            gdcm::DataElement copy(tag);
            copy.SetVR(de.GetVR() == gdcm::VR::INVALID ? de.GetVR() : gdcm::VR(gdcm::VR::SQ));
            copy.SetValue(*sequence);
            copy.SetVLToUndefined();
            ds.Replace(copy);
            break;
        }
        }
    }
}

void FilePass::addRecords() {
    gdcm::DataSet& ds = file_.GetDataSet();
    ds.Replace(dicom::textElement(0x0012, 0x0062, gdcm::VR::CS, "YES"));
    ds.Replace(dicom::textElement(0x0012, 0x0063, gdcm::VR::LO,
                                  std::string(engineName) + " " + engineVersion +
                                      "\\PS3.15 E.1-1 " + e_.profile_.edition()));
    gdcm::SmartPointer<gdcm::SequenceOfItems> codes = new gdcm::SequenceOfItems;
    codes->SetLengthToUndefined();
    auto addCode = [&](const std::string& value, const std::string& meaning) {
        gdcm::Item item;
        item.SetVLToUndefined();
        gdcm::DataSet& nested = item.GetNestedDataSet();
        nested.Insert(dicom::textElement(0x0008, 0x0100, gdcm::VR::SH, value));
        nested.Insert(dicom::textElement(0x0008, 0x0102, gdcm::VR::SH, "DCM"));
        nested.Insert(dicom::textElement(0x0008, 0x0104, gdcm::VR::LO, meaning));
        codes->AddItem(item);
    };
    addCode("113100", "Basic Application Confidentiality Profile");
    if (result_.pixelsCleaned)
        addCode("113101", "Clean Pixel Data Option");
    for (std::size_t i = 0; i < tableOptionCount; ++i) {
        const auto option = ProfileOption(i);
        if (e_.options_.has(option))
            addCode(optionCodeValue(option), optionCodeMeaning(option));
    }
    gdcm::DataElement sequence(gdcm::Tag(0x0012, 0x0064));
    sequence.SetVR(gdcm::VR::SQ);
    sequence.SetValue(*codes);
    sequence.SetVLToUndefined();
    ds.Replace(sequence);
    if (shifted_)
        ds.Replace(dicom::textElement(0x0028, 0x0303, gdcm::VR::CS, "MODIFIED"));
}

FileResult FilePass::run() {
    gdcm::DataSet& ds = file_.GetDataSet();
    sopClass_ = dicom::textOf(ds, 0x0008, 0x0016);
    result_.modality = dicom::textOf(ds, 0x0008, 0x0060);
    const SourceFacts source{result_.modality, dicom::textOf(ds, 0x0008, 0x0070),
                             dicom::textOf(ds, 0x0008, 0x1090),
                             upper(dicom::textOf(ds, 0x0028, 0x0301))};

    std::string patientKey = dicom::textOf(ds, 0x0010, 0x0020);
    if (patientKey.empty())
        patientKey =
            "name:" + dicom::textOf(ds, 0x0010, 0x0010) + "|" + dicom::textOf(ds, 0x0010, 0x0030);
    if (patientKey == "name:|")
        patientKey = "study:" + dicom::textOf(ds, 0x0020, 0x000D);
    else if (!dicom::textOf(ds, 0x0010, 0x0021).empty())
        patientKey += "|" + dicom::textOf(ds, 0x0010, 0x0021);
    result_.patientPseudonym = e_.pseudonyms_.pseudonymFor(patientKey);
    shiftDays_ = e_.dates_.shiftDaysFor(patientKey);

    // 1. Every value the profile takes out is identifying: remember it (in memory only).
    collect(file_.GetHeader(), false, true);
    collect(ds, false, false);
    for (const auto& value : privateValues_) {
        const std::string needle = upper(value);
        const bool generic = std::any_of(
            keptPublicValues_.begin(), keptPublicValues_.end(),
            [&](const std::string& kept) { return kept.find(needle) != std::string::npos; });
        if (!generic)
            phi_.addValue(value);
    }
    // A name component that is also an ordinary word kept in the output ("TEXT" in a name
    // "Enter^Text" and in a ValueType) is not taken as a leak; the whole name still is.
    for (const auto& word : nameWords_) {
        const std::string needle = upper(word);
        const bool generic =
            std::any_of(vocabulary_.begin(), vocabulary_.end(), [&](const std::string& kept) {
                const auto at = kept.find(needle);
                return at != std::string::npos &&
                       (at == 0 || !std::isalnum(static_cast<unsigned char>(kept[at - 1]))) &&
                       (at + needle.size() == kept.size() ||
                        !std::isalnum(static_cast<unsigned char>(kept[at + needle.size()])));
            });
        if (!generic)
            phi_.addWord(word);
    }

    // 2. Apply the profile everywhere, file meta included.
    transform(file_.GetHeader(), false, true);
    transform(ds, false, false);

    result_.studyUid = dicom::textOf(ds, 0x0020, 0x000D);
    result_.seriesUid = dicom::textOf(ds, 0x0020, 0x000E);
    result_.sopInstanceUid = dicom::textOf(ds, 0x0008, 0x0018);

    // 3. Pixels that may carry burned-in text.
    const std::string pixelProblem = cleanPixels(source);
    if (!pixelProblem.empty()) {
        result_.quarantined = true;
        result_.reason = pixelProblem;
        return result_;
    }
    addRecords();
    file_.GetHeader().Replace(
        dicom::textElement(0x0002, 0x0012, gdcm::VR::UI, implementationClassUid));
    file_.GetHeader().Replace(dicom::textElement(0x0002, 0x0013, gdcm::VR::SH, "RADMARK_DEID_1"));
    if (!result_.sopInstanceUid.empty()) {
        gdcm::DataElement meta(gdcm::Tag(0x0002, 0x0003));
        meta.SetVR(gdcm::VR::UI);
        dicom::setText(meta, gdcm::VR::UI, result_.sopInstanceUid);
        file_.GetHeader().Replace(meta);
    }

    // 4. Verify: no identifying value of the input anywhere in the output.
    verify();
    if (!result_.leaks.empty()) {
        result_.quarantined = true;
        result_.reason = "verification found an identifying value of the source in " +
                         std::to_string(result_.leaks.size()) + " element(s), first " +
                         result_.leaks.front();
    }
    return result_;
}

// A finding is not a leak only when every value found in the element was removed from the
// institution, department or station name, and the element is a device name the profile keeps
// (Manufacturer, model name, secondary capture device manufacturer or model), with the value it
// had in the input. The report says so.
void FilePass::verify() {
    for (const auto& finding : phi_.find(file_)) {
        const bool keptOnPurpose = finding.path.rfind("meta/", 0) != 0 &&
                                   keptDeviceNames_.count({finding.tag, finding.value}) > 0;
        const bool aboutPersons =
            std::any_of(finding.origins.begin(), finding.origins.end(),
                        [](const ValueOrigin& origin) { return origin.personal; });
        if (!keptOnPurpose || aboutPersons) {
            result_.leaks.push_back(finding.path);
            continue;
        }
        for (const auto& origin : finding.origins)
            record(gdcm::Tag(std::uint16_t(finding.tag >> 16), std::uint16_t(finding.tag)), "kept",
                   "kept value equal to removed " + keywordOf(origin.tag) + ": present in " +
                       keywordOf(finding.tag) + ", kept by the profile");
    }
}

std::string FilePass::cleanPixels(const SourceFacts& source) {
    gdcm::DataSet& ds = file_.GetDataSet();
    const bool secondaryCapture = sopClass_.rfind("1.2.840.10008.5.1.4.1.1.7", 0) == 0;
    const bool candidate = source.burnedIn == "YES" || source.modality == "US" || secondaryCapture;
    const gdcm::Tag pixelTag(0x7FE0, 0x0010);
    if (!candidate || !ds.FindDataElement(pixelTag))
        return {};
    const std::string why = source.burnedIn == "YES" ? "BurnedInAnnotation is YES"
                            : secondaryCapture       ? "a secondary capture"
                                                     : "an ultrasound image";
    if (!e_.options_.cleanPixelData) {
        record(pixelTag, "kept",
               "option no-clean-pixel-data: " + why +
                   " NOT checked for burned-in text (policy decision)");
        return {};
    }
    const PixelCleaning cleaning = cleanBurnedInText(file_, source.modality, source.manufacturer,
                                                     source.model, e_.rules_, e_.detector_, why);
    if (!cleaning.problem.empty())
        return cleaning.problem;
    result_.pixelsCleaned = true;
    result_.blackedOut = cleaning.regions;
    record(pixelTag, "cleaned",
           "burned-in text blacked out by rule: " + cleaning.rule->description +
               (cleaning.decoded ? " (compressed pixel data decoded, written uncompressed)" : ""));
    return {};
}

Deidentifier::Deidentifier(const ConfidentialityProfile& profile, ProfileOptions options,
                           const StoreSecret& secret, const BurnedInTextRules* rules,
                           const TextDetector* detector)
    : profile_(profile), options_(options), hash_(secret), uids_(hash_), pseudonyms_(hash_),
      dates_(hash_), rules_(rules), detector_(detector) {}

Deidentifier::~Deidentifier() = default;

FileResult Deidentifier::deidentify(gdcm::File& file) const {
    FilePass pass(*this, file);
    return pass.run();
}

} // namespace radmark::deid
