#include "ReferenceReader.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>

namespace radmark::imaging::testing {

namespace fs = std::filesystem;

namespace {

const fs::path kScript = fs::path(RADMARK_SOURCE_DIR) / "tests/imaging/reference_reader.py";

std::string quoted(const std::string& s) {
    std::string out = "'";
    for (char c : s)
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

std::string run(const std::vector<std::string>& arguments) {
    std::string command = "/usr/bin/python3 " + quoted(kScript.string());
    for (const auto& a : arguments)
        command += " " + quoted(a);
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
    if (!pipe)
        throw std::runtime_error("cannot run " + command);
    std::string output;
    char buffer[65536];
    while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe.get()))
        output.append(buffer, n);
    if (pclose(pipe.release()) != 0)
        throw std::runtime_error("reference reader failed: " + command);
    return output;
}

struct FixtureFolder {
    fs::path path;
    FixtureFolder() {
        char pattern[] = "/tmp/radmark-imaging-test-XXXXXX";
        if (!mkdtemp(pattern))
            throw std::runtime_error("cannot create a temporary folder");
        path = pattern;
        run({"fixtures", path.string()});
    }
    ~FixtureFolder() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

} // namespace

fs::path pydicomFile(const std::string& name) {
    return fs::path(RADMARK_PYDICOM_DATA) / name;
}

fs::path nibabelFile(const std::string& name) {
    return fs::path(RADMARK_NIBABEL_DATA) / name;
}

nlohmann::json reference(const std::vector<std::string>& arguments) {
    return nlohmann::json::parse(run(arguments));
}

const fs::path& fixtures() {
    static FixtureFolder folder;
    return folder.path;
}

std::vector<double> valuesOf(const Volume& volume) {
    std::vector<double> values(volume.voxelCount());
    dispatchPixel(volume.pixelType(), const_cast<std::byte*>(volume.data()), [&](auto* p) {
        for (std::size_t i = 0; i < values.size(); ++i)
            values[i] = double(p[i]);
    });
    return values;
}

} // namespace radmark::imaging::testing
