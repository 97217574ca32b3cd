#include "annotation/BoxExport.h"

#include "imaging/NiftiWriter.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace radmark::annotation {

using json = nlohmann::ordered_json;

namespace {

// mm to 1e-6, without a negative zero: stable text for the same box.
double rounded(double v) {
    const double r = std::round(v * 1e6) / 1e6;
    return r == 0 ? 0.0 : r;
}

json vec(const imaging::Vec3& v) {
    return json::array({rounded(v[0]), rounded(v[1]), rounded(v[2])});
}

json extentJson(const WorldBox& w) {
    return {{"min", vec(w.min)},
            {"max", vec(w.max)},
            {"centre", vec(w.centre())},
            {"size", vec(w.size())}};
}

const BoxClass& classOf(const Box& box, const BoxClasses& classes) {
    const auto found = classes.find(box.segment);
    if (found == classes.end())
        throw BoxExportError("Box " + std::to_string(box.id) + " belongs to segment " +
                             std::to_string(box.segment) + ", which the dataset does not map.");
    return found->second;
}

std::vector<Box> inIdOrder(std::vector<Box> boxes) {
    std::sort(boxes.begin(), boxes.end(), [](const Box& a, const Box& b) { return a.id < b.id; });
    return boxes;
}

std::string kindOf(const Box& box) {
    if (box.threeD)
        return "3D";
    switch (box.plane) {
    case SliceAxis::Sagittal:
        return "2D sagittal";
    case SliceAxis::Coronal:
        return "2D coronal";
    case SliceAxis::Axial:
        break;
    }
    return "2D axial";
}

} // namespace

imaging::Vec3 WorldBox::centre() const {
    return {(min[0] + max[0]) / 2, (min[1] + max[1]) / 2, (min[2] + max[2]) / 2};
}

imaging::Vec3 WorldBox::size() const {
    return {max[0] - min[0], max[1] - min[1], max[2] - min[2]};
}

WorldBox lpsExtent(const Box& box, const imaging::Geometry& geometry) {
    WorldBox w;
    w.min.fill(std::numeric_limits<double>::max());
    w.max.fill(std::numeric_limits<double>::lowest());
    for (int corner = 0; corner < 8; ++corner) {
        imaging::Vec3 index{};
        for (int k = 0; k < 3; ++k)
            index[std::size_t(k)] =
                (corner >> k) & 1 ? box.max[std::size_t(k)] + 0.5 : box.min[std::size_t(k)] - 0.5;
        const imaging::Vec3 p = geometry.indexToLps(index);
        for (std::size_t k = 0; k < 3; ++k) {
            w.min[k] = std::min(w.min[k], p[k]);
            w.max[k] = std::max(w.max[k], p[k]);
        }
    }
    return w;
}

WorldBox rasExtent(const Box& box, const imaging::Geometry& geometry) {
    const WorldBox lps = lpsExtent(box, geometry);
    return {{-lps.max[0], -lps.max[1], lps.min[2]}, {-lps.min[0], -lps.min[1], lps.max[2]}};
}

std::string caseBoxesJson(std::string_view caseId, const std::vector<Box>& boxes,
                          const imaging::Geometry& geometry, const BoxClasses& classes) {
    const std::array<double, 16> ras = imaging::rasAffine(geometry); // the NIfTI's affine
    json affine = json::array();
    for (std::size_t row = 0; row < 4; ++row)
        affine.push_back(json::array({rounded(ras[4 * row]), rounded(ras[4 * row + 1]),
                                      rounded(ras[4 * row + 2]), rounded(ras[4 * row + 3])}));
    json list = json::array();
    for (const Box& box : inIdOrder(boxes)) {
        const BoxClass& c = classOf(box, classes);
        json entry = {{"id", box.id}, {"label", c.datasetValue}, {"name", c.name}};
        entry["code"] = c.type ? json{{"scheme", c.type->scheme},
                                      {"code", c.type->code},
                                      {"meaning", c.type->meaning}}
                               : json(nullptr);
        entry["author"] = box.author;
        entry["kind"] = kindOf(box);
        entry["voxel"] = {{"min", box.min}, {"max", box.max}};
        entry["lps"] = extentJson(lpsExtent(box, geometry));
        entry["ras"] = extentJson(rasExtent(box, geometry));
        list.push_back(std::move(entry));
    }
    const json document = {
        {"case", caseId},
        {"coordinates",
         {{"voxel", "index of the case's image: x column, y row, z slice; min and max are the "
                    "first and last voxel inside the box"},
          {"lps", "world mm, DICOM patient coordinates: +x left, +y posterior, +z superior"},
          {"ras", "world mm, NIfTI coordinates (the image's affine): +x right, +y anterior, +z "
                  "superior"},
          {"extent", "min and max bound the voxels' full extent (voxel edges), axis-aligned in "
                     "that world system; a 2D box is one voxel thick"}}},
        {"image",
         {{"dims", geometry.dims},
          {"spacing", vec(geometry.spacing)},
          {"originLps", vec(geometry.origin)},
          {"directionLps",
           json::array({rounded(geometry.direction[0]), rounded(geometry.direction[1]),
                        rounded(geometry.direction[2]), rounded(geometry.direction[3]),
                        rounded(geometry.direction[4]), rounded(geometry.direction[5]),
                        rounded(geometry.direction[6]), rounded(geometry.direction[7]),
                        rounded(geometry.direction[8])})},
          {"affineRas", affine}}},
        {"boxes", list}};
    return document.dump(2) + "\n";
}

std::string
monaiDetectionJson(const std::vector<std::pair<std::string, std::vector<DetectionCase>>>& splits,
                   const BoxClasses& classes) {
    json document = json::object();
    for (const auto& [split, cases] : splits) {
        json entries = json::array();
        for (const DetectionCase& c : cases) {
            if (!c.geometry)
                throw BoxExportError("The detection case " + c.image + " has no image geometry.");
            json boxes = json::array(), labels = json::array();
            for (const Box& box : inIdOrder(c.boxes)) {
                const BoxClass& k = classOf(box, classes);
                const WorldBox w = rasExtent(box, *c.geometry);
                const imaging::Vec3 centre = w.centre(), size = w.size();
                boxes.push_back({rounded(centre[0]), rounded(centre[1]), rounded(centre[2]),
                                 rounded(size[0]), rounded(size[1]), rounded(size[2])});
                labels.push_back(k.detectionClass);
            }
            entries.push_back({{"image", c.image}, {"box", boxes}, {"label", labels}});
        }
        document[split] = entries;
    }
    return document.dump(2) + "\n";
}

} // namespace radmark::annotation
