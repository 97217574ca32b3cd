#pragma once
// Segments: what each label value means (name, colour, display, lock, terminology code), and the
// bundled terminology of common anatomy and findings a radiologist picks from.

#include "annotation/LabelMap.h"

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace radmark::annotation {

// A coded concept; scheme "SCT" is SNOMED CT.
struct CodedConcept {
    std::string scheme = "SCT";
    std::string code;
    std::string meaning;
    bool operator==(const CodedConcept&) const = default;
};

struct Rgb {
    std::uint8_t r = 255, g = 0, b = 0;
    bool operator==(const Rgb&) const = default;
};

enum class SegmentDisplay : std::uint8_t { Fill, Outline };

struct Segment {
    Label label = 1;
    std::string name;
    Rgb colour;
    bool visible = true;
    bool locked = false;
    float opacity = 0.5f;
    SegmentDisplay display = SegmentDisplay::Fill;
    std::optional<CodedConcept> category; // e.g. anatomical structure
    std::optional<CodedConcept> type;     // e.g. liver
    bool operator==(const Segment&) const = default;
};

// A user mistake on the segment list (duplicate label, unknown segment, ...).
struct SegmentError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class SegmentList {
  public:
    // Adds a segment with the next free label; throws SegmentError past 65535 segments.
    Segment& add(std::string name, Rgb colour);
    Segment& add(Segment segment); // keeps segment.label; throws if it is 0 or taken
    void remove(Label label);

    const Segment* find(Label label) const;
    Segment* find(Label label);
    const Segment& get(Label label) const; // throws SegmentError when unknown
    Segment& get(Label label);
    void rename(Label label, std::string name) { get(label).name = std::move(name); }
    void setLocked(Label label, bool locked) { get(label).locked = locked; }

    bool isLocked(Label label) const;
    Label highestLabel() const;
    const std::vector<Segment>& all() const { return segments_; }
    std::size_t size() const { return segments_.size(); }
    bool operator==(const SegmentList&) const = default;

  private:
    std::vector<Segment> segments_; // sorted by label
};

struct TerminologyEntry {
    CodedConcept category;
    CodedConcept type;
    Rgb colour;
};

// The bundled list (resources/terminology/terminology.tsv, compiled in).
class Terminology {
  public:
    static const Terminology& bundled();
    static Terminology parse(std::string_view tsv); // throws SegmentError on a malformed line

    const std::vector<TerminologyEntry>& entries() const { return entries_; }
    const TerminologyEntry* findByCode(std::string_view code) const;
    // Case-insensitive substring match on the meaning, for a search box.
    std::vector<const TerminologyEntry*> search(std::string_view text) const;
    // A new segment named and coloured after the concept.
    Segment& addSegment(SegmentList& segments, std::string_view code) const;

  private:
    std::vector<TerminologyEntry> entries_;
};

Rgb parseColour(std::string_view hex); // "#rrggbb"; throws SegmentError

// The segments as JSON text, every field (label, name, colour, visibility, lock, opacity,
// display, terminology category and type), and back: what crosses the store service's channel
// (app/cli/StoreAccess.h). Reading, a field left out takes its default; throws SegmentError when
// the text is not such a list or its labels clash.
std::string segmentsToJsonText(const SegmentList& segments);
SegmentList segmentsFromJsonText(std::string_view text);

} // namespace radmark::annotation
