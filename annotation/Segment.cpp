#include "annotation/Segment.h"
#include "annotation/SegmentJson.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

namespace radmark::annotation {

extern const char* const bundledTerminologyTsv; // generated from resources/terminology

Segment& SegmentList::add(std::string name, Rgb colour) {
    const Label highest = highestLabel();
    if (highest == 65535) {
        throw SegmentError("This annotation already has the maximum number of segments.");
    }
    Segment segment;
    segment.label = Label(highest + 1);
    segment.name = std::move(name);
    segment.colour = colour;
    return add(std::move(segment));
}

Segment& SegmentList::add(Segment segment) {
    if (segment.label == 0) {
        throw SegmentError("Label 0 means unlabelled and cannot be a segment.");
    }
    if (find(segment.label)) {
        throw SegmentError("Label " + std::to_string(segment.label) + " is already used by \"" +
                           find(segment.label)->name + "\".");
    }
    auto it = std::lower_bound(segments_.begin(), segments_.end(), segment.label,
                               [](const Segment& s, Label l) { return s.label < l; });
    return *segments_.insert(it, std::move(segment));
}

void SegmentList::remove(Label label) {
    auto it = std::find_if(segments_.begin(), segments_.end(),
                           [&](const Segment& s) { return s.label == label; });
    if (it == segments_.end()) {
        throw SegmentError("There is no segment with label " + std::to_string(label) + ".");
    }
    segments_.erase(it);
}

const Segment* SegmentList::find(Label label) const {
    auto it = std::lower_bound(segments_.begin(), segments_.end(), label,
                               [](const Segment& s, Label l) { return s.label < l; });
    return it != segments_.end() && it->label == label ? &*it : nullptr;
}

Segment* SegmentList::find(Label label) {
    return const_cast<Segment*>(std::as_const(*this).find(label));
}

const Segment& SegmentList::get(Label label) const {
    if (const Segment* s = find(label))
        return *s;
    throw SegmentError("There is no segment with label " + std::to_string(label) + ".");
}

Segment& SegmentList::get(Label label) {
    return const_cast<Segment&>(std::as_const(*this).get(label));
}

bool SegmentList::isLocked(Label label) const {
    const Segment* s = find(label);
    return s && s->locked;
}

Label SegmentList::highestLabel() const {
    return segments_.empty() ? 0 : segments_.back().label;
}

Rgb parseColour(std::string_view hex) {
    auto digit = [](char c) -> int {
        if (c >= '0' && c <= '9')
            return c - '0';
        c = char(std::tolower(static_cast<unsigned char>(c)));
        if (c >= 'a' && c <= 'f')
            return c - 'a' + 10;
        return -1;
    };
    if (hex.size() != 7 || hex[0] != '#') {
        throw SegmentError("\"" + std::string(hex) + "\" is not a colour like #ff8000.");
    }
    std::array<int, 3> v{};
    for (int i = 0; i < 3; ++i) {
        const int hi = digit(hex[std::size_t(1 + 2 * i)]), lo = digit(hex[std::size_t(2 + 2 * i)]);
        if (hi < 0 || lo < 0) {
            throw SegmentError("\"" + std::string(hex) + "\" is not a colour like #ff8000.");
        }
        v[std::size_t(i)] = hi * 16 + lo;
    }
    return Rgb{std::uint8_t(v[0]), std::uint8_t(v[1]), std::uint8_t(v[2])};
}

Terminology Terminology::parse(std::string_view tsv) {
    Terminology terminology;
    std::size_t lineNumber = 0;
    while (!tsv.empty()) {
        const std::size_t end = tsv.find('\n');
        std::string_view line = tsv.substr(0, end);
        tsv = end == std::string_view::npos ? std::string_view{} : tsv.substr(end + 1);
        ++lineNumber;
        if (line.empty() || line[0] == '#')
            continue;
        std::vector<std::string_view> fields;
        while (true) {
            const std::size_t tab = line.find('\t');
            fields.push_back(line.substr(0, tab));
            if (tab == std::string_view::npos)
                break;
            line = line.substr(tab + 1);
        }
        if (fields.size() != 5 || fields[2].empty() || fields[3].empty()) {
            throw SegmentError("Terminology line " + std::to_string(lineNumber) +
                               " does not have five tab-separated fields.");
        }
        TerminologyEntry entry;
        entry.category = {"SCT", std::string(fields[0]), std::string(fields[1])};
        entry.type = {"SCT", std::string(fields[2]), std::string(fields[3])};
        entry.colour = parseColour(fields[4]);
        terminology.entries_.push_back(std::move(entry));
    }
    return terminology;
}

const Terminology& Terminology::bundled() {
    static const Terminology terminology = parse(bundledTerminologyTsv);
    return terminology;
}

const TerminologyEntry* Terminology::findByCode(std::string_view code) const {
    for (const auto& e : entries_) {
        if (e.type.code == code)
            return &e;
    }
    return nullptr;
}

std::vector<const TerminologyEntry*> Terminology::search(std::string_view text) const {
    auto lower = [](std::string_view s) {
        std::string out(s);
        for (auto& c : out)
            c = char(std::tolower(static_cast<unsigned char>(c)));
        return out;
    };
    const std::string needle = lower(text);
    std::vector<const TerminologyEntry*> result;
    for (const auto& e : entries_) {
        if (lower(e.type.meaning).find(needle) != std::string::npos)
            result.push_back(&e);
    }
    return result;
}

Segment& Terminology::addSegment(SegmentList& segments, std::string_view code) const {
    const TerminologyEntry* entry = findByCode(code);
    if (!entry) {
        throw SegmentError("The code " + std::string(code) + " is not in the terminology list.");
    }
    Segment& segment = segments.add(entry->type.meaning, entry->colour);
    segment.category = entry->category;
    segment.type = entry->type;
    return segment;
}

namespace {

using nlohmann::json;

json conceptJson(const std::optional<CodedConcept>& c) {
    if (!c)
        return nullptr;
    return {{"scheme", c->scheme}, {"code", c->code}, {"meaning", c->meaning}};
}

std::optional<CodedConcept> conceptFrom(const json& j) {
    if (j.is_null())
        return std::nullopt;
    return CodedConcept{j.value("scheme", "SCT"), j.at("code").get<std::string>(),
                        j.value("meaning", "")};
}

} // namespace

json segmentsJson(const SegmentList& segments) {
    json list = json::array();
    for (const Segment& s : segments.all())
        list.push_back({{"label", s.label},
                        {"name", s.name},
                        {"colour", {s.colour.r, s.colour.g, s.colour.b}},
                        {"visible", s.visible},
                        {"locked", s.locked},
                        {"opacity", s.opacity},
                        {"display", s.display == SegmentDisplay::Fill ? "fill" : "outline"},
                        {"category", conceptJson(s.category)},
                        {"type", conceptJson(s.type)}});
    return list;
}

std::string segmentsToJsonText(const SegmentList& segments) {
    return segmentsJson(segments).dump();
}

SegmentList segmentsFromJsonText(std::string_view text) {
    SegmentList segments;
    try {
        const json list = json::parse(text);
        if (!list.is_array())
            throw SegmentError("The segments are not a list.");
        for (const json& j : list) {
            Segment s;
            s.label = j.at("label").get<Label>();
            s.name = j.at("name").get<std::string>();
            const auto colour = j.at("colour").get<std::array<int, 3>>();
            for (int c : colour)
                if (c < 0 || c > 255)
                    throw SegmentError("A segment's colour is out of range.");
            s.colour = {std::uint8_t(colour[0]), std::uint8_t(colour[1]), std::uint8_t(colour[2])};
            s.visible = j.value("visible", s.visible);
            s.locked = j.value("locked", s.locked);
            s.opacity = j.value("opacity", s.opacity);
            s.display = j.value("display", "fill") == "outline" ? SegmentDisplay::Outline
                                                                : SegmentDisplay::Fill;
            s.category = conceptFrom(j.value("category", json(nullptr)));
            s.type = conceptFrom(j.value("type", json(nullptr)));
            segments.add(std::move(s));
        }
    } catch (const json::exception&) {
        throw SegmentError("The segments are not readable.");
    }
    return segments;
}

} // namespace radmark::annotation
