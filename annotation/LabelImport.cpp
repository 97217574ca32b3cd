#include "annotation/LabelImport.h"

#include "imaging/GridMapping.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <sstream>

namespace radmark::annotation {

LabelMap labelMapFromVolume(const imaging::Volume& mask, const imaging::Geometry& studyGrid) {
    std::string why;
    const std::optional<imaging::GridMapping> mapping =
        imaging::voxelMapping(mask.geometry(), studyGrid, &why);
    if (!mapping)
        throw ImportError(why);
    double highest = 0;
    bool wholeNumbers = true;
    imaging::dispatchPixel(mask.pixelType(), const_cast<std::byte*>(mask.data()), [&](auto* v) {
        for (std::size_t i = 0; i < mask.voxelCount(); ++i) {
            const double value = double(v[i]);
            if (value < 0 || value != std::floor(value))
                wholeNumbers = false;
            highest = std::max(highest, value);
        }
    });
    if (!wholeNumbers || highest > 65535) {
        throw ImportError("The mask holds values that are not labels (negative, fractional or "
                          "above 65535).");
    }
    LabelMap labels(studyGrid, highest > 255 ? LabelWidth::UInt16 : LabelWidth::UInt8);
    // Each mask index axis steps through the study's index space by a fixed stride.
    const imaging::Index3& from = mask.geometry().dims;
    const imaging::Index3& onto = studyGrid.dims;
    const std::array<std::ptrdiff_t, 3> ontoStride{1, onto[0], std::ptrdiff_t(onto[0]) * onto[1]};
    std::array<std::ptrdiff_t, 3> stride{};
    for (int i = 0; i < 3; ++i)
        stride[mapping->axis[i]] = mapping->sign[i] * ontoStride[i];
    std::ptrdiff_t first = 0;
    for (int i = 0; i < 3; ++i)
        first += mapping->offset[i] * ontoStride[i];
    imaging::dispatchPixel(mask.pixelType(), const_cast<std::byte*>(mask.data()), [&](auto* v) {
        std::size_t i = 0;
        for (int z = 0; z < from[2]; ++z) {
            for (int y = 0; y < from[1]; ++y) {
                std::ptrdiff_t target = first + z * stride[2] + y * stride[1];
                for (int x = 0; x < from[0]; ++x, ++i, target += stride[0]) {
                    if (v[i] != 0)
                        labels.set(std::size_t(target), Label(v[i]));
                }
            }
        }
    });
    return labels;
}

ImportedSegmentation labelMapFromSegmentation(const imaging::DicomSegmentation& segmentation,
                                              const imaging::Geometry& studyGrid) {
    Label highest = 0;
    for (const auto& s : segmentation.segments)
        highest = std::max(highest, Label(s.labelValue));
    ImportedSegmentation imported{
        LabelMap(studyGrid, highest > 255 ? LabelWidth::UInt16 : LabelWidth::UInt8), {}};
    LabelMap& labels = imported.labels;
    for (const auto& s : segmentation.segments) {
        Segment segment;
        segment.label = Label(s.labelValue);
        segment.name = s.name.empty() ? "Segment " + std::to_string(s.labelValue) : s.name;
        segment.colour = {s.rgb[0], s.rgb[1], s.rgb[2]};
        if (!s.category.code.empty())
            segment.category = CodedConcept{s.category.scheme, s.category.code, s.category.meaning};
        if (!s.type.code.empty())
            segment.type = CodedConcept{s.type.scheme, s.type.code, s.type.meaning};
        try {
            imported.segments.add(std::move(segment));
        } catch (const SegmentError& e) {
            throw ImportError(std::string("The segmentation's segments: ") + e.what());
        }
    }
    for (std::size_t f = 0; f < segmentation.frames.size(); ++f) {
        const Label value = segmentation.frames[f].segmentNumber;
        if (!imported.segments.find(value))
            throw ImportError("Frame " + std::to_string(f + 1) +
                              " of the segmentation names "
                              "segment " +
                              std::to_string(value) + ", which it does not define.");
        std::string why;
        const auto placement = imaging::placeFrame(segmentation, f, studyGrid, &why);
        if (!placement)
            throw ImportError(why);
        for (int r = 0; r < segmentation.rows; ++r) {
            for (int c = 0; c < segmentation.columns; ++c) {
                if (!segmentation.pixel(f, r, c))
                    continue;
                Index3 p{};
                for (std::size_t k = 0; k < 3; ++k)
                    p[k] = placement->first[k] + c * placement->columnStep[k] +
                           r * placement->rowStep[k];
                const std::size_t i = labels.index(p);
                const Label already = labels.at(i);
                if (already != 0 && already != value)
                    throw ImportError("Segments " + std::to_string(already) + " and " +
                                      std::to_string(value) +
                                      " of the segmentation overlap; a "
                                      "label map holds one label a voxel.");
                labels.set(i, value);
            }
        }
    }
    return imported;
}

SegmentList segmentsForImport(std::string_view definitions,
                              const std::map<Label, std::uint64_t>& present) {
    SegmentList segments;
    if (!definitions.empty()) {
        nlohmann::json list;
        try {
            list = nlohmann::json::parse(definitions);
        } catch (const nlohmann::json::exception&) {
            throw ImportError("The segment list is not valid JSON.");
        }
        if (!list.is_array())
            throw ImportError("The segment list must be a JSON list.");
        try {
            for (const auto& item : list) {
                const int label = item.at("label").get<int>();
                if (label < 1 || label > 65535) {
                    throw ImportError("Segment labels must be 1..65535 (got " +
                                      std::to_string(label) + ").");
                }
                Segment s;
                s.label = Label(label);
                s.name = "Segment " + std::to_string(label);
                if (item.contains("code")) {
                    const std::string code = item.at("code").get<std::string>();
                    const TerminologyEntry* entry = Terminology::bundled().findByCode(code);
                    if (!entry)
                        throw ImportError("The code " + code + " is not in the terminology list.");
                    s.name = entry->type.meaning;
                    s.colour = entry->colour;
                    s.category = entry->category;
                    s.type = entry->type;
                }
                if (item.contains("name"))
                    s.name = item.at("name").get<std::string>();
                if (item.contains("colour"))
                    s.colour = parseColour(item.at("colour").get<std::string>());
                segments.add(std::move(s));
            }
        } catch (const nlohmann::json::exception&) {
            throw ImportError("Each segment needs a numeric \"label\"; \"name\", \"code\" and "
                              "\"colour\" must be text.");
        } catch (const SegmentError& e) {
            throw ImportError(e.what());
        }
    }
    for (const auto& [label, count] : present) {
        if (!segments.find(label)) {
            Segment s;
            s.label = label;
            s.name = "Segment " + std::to_string(label);
            // Spread default colours around the hue circle.
            const double hue = std::fmod(label * 137.508, 360.0) / 60.0;
            const double x = 1 - std::abs(std::fmod(hue, 2.0) - 1);
            const double rgb[6][3] = {{1, x, 0}, {x, 1, 0}, {0, 1, x},
                                      {0, x, 1}, {x, 0, 1}, {1, 0, x}};
            const auto& c = rgb[int(hue) % 6];
            s.colour = {std::uint8_t(55 + 200 * c[0]), std::uint8_t(55 + 200 * c[1]),
                        std::uint8_t(55 + 200 * c[2])};
            segments.add(std::move(s));
        }
    }
    return segments;
}

} // namespace radmark::annotation
