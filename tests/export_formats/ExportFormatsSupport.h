#pragma once
// What the export format tests share: generated volumes (odd sizes, anisotropic voxels, an oblique
// direction), scratch folders, and running the independent Python readers.

#include "imaging/Volume.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <unistd.h>
#include <vector>

namespace radmark::exportformats::test {

namespace fs = std::filesystem;

inline fs::path freshFolder(const std::string& name) {
    const fs::path dir =
        fs::temp_directory_path() / ("radmark-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

// A rotation by `degrees` about the unit axis (ax, ay, az), as a row-major direction matrix.
inline std::array<double, 9> rotation(double ax, double ay, double az, double degrees) {
    const double n = std::sqrt(ax * ax + ay * ay + az * az);
    ax /= n, ay /= n, az /= n;
    const double t = degrees * M_PI / 180, c = std::cos(t), s = std::sin(t), k = 1 - c;
    return {c + ax * ax * k,      ax * ay * k - az * s, ax * az * k + ay * s,
            ay * ax * k + az * s, c + ay * ay * k,      ay * az * k - ax * s,
            az * ax * k - ay * s, az * ay * k + ax * s, c + az * az * k};
}

// Odd sizes, anisotropic voxels, an oblique direction, an origin off zero.
inline imaging::Geometry obliqueGrid(imaging::Index3 dims = {37, 23, 11}) {
    imaging::Geometry g;
    g.dims = dims;
    g.spacing = {0.7, 0.9, 2.5};
    g.origin = {-120.5, 33.25, 250.0};
    g.direction = rotation(0.3, -1, 0.5, 23);
    return g;
}

// The CT values of the tests: the Python checkers compute the same formula on their own.
inline std::int16_t ctValue(int x, int y, int z) {
    return std::int16_t((x * 7 + y * 13 + z * 101) % 3000 - 1024);
}

inline imaging::Volume ctVolume(const imaging::Geometry& g) {
    imaging::Volume v(g, imaging::PixelType::Int16);
    v.modality = "CT";
    auto* p = v.as<std::int16_t>();
    for (int z = 0; z < g.dims[2]; ++z)
        for (int y = 0; y < g.dims[1]; ++y)
            for (int x = 0; x < g.dims[0]; ++x)
                p[v.offset(x, y, z)] = ctValue(x, y, z);
    return v;
}

inline nlohmann::json geometryJson(const imaging::Geometry& g) {
    return {
        {"dims", g.dims}, {"spacing", g.spacing}, {"origin", g.origin}, {"direction", g.direction}};
}

inline std::vector<std::uint8_t> fileBytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Runs tests/export_formats/SCRIPT with the spec as a JSON file; returns its exit status and
// leaves its stdout/stderr in `output`.
inline int runChecker(const std::string& script, const nlohmann::json& spec, const fs::path& dir,
                      std::string& output) {
    const fs::path specFile = dir / (script + ".spec.json");
    std::ofstream(specFile) << spec.dump(1);
    const fs::path log = dir / (script + ".log");
    const std::string command = "/usr/bin/python3 " RADMARK_SOURCE_DIR "/tests/export_formats/" +
                                script + " " + specFile.string() + " > " + log.string() + " 2>&1";
    const int status = std::system(command.c_str());
    std::ifstream in(log);
    output.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return status;
}

} // namespace radmark::exportformats::test
