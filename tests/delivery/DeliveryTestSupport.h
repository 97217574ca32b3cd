#pragma once
// Shared by the delivery tests: temp folders, generated bundle folders, and hashes by the
// independent sha256sum program.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <unistd.h>

namespace radmark::delivery::testing {

class TempDir {
  public:
    explicit TempDir(const std::string& tag = "radmark-delivery-test") {
        std::string pattern = (std::filesystem::temp_directory_path() / (tag + "-XXXXXX")).string();
        if (!::mkdtemp(pattern.data()))
            throw std::runtime_error("mkdtemp failed");
        path_ = std::filesystem::canonical(pattern);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& p) const { return path_ / p; }

  private:
    std::filesystem::path path_;
};

inline void writeFile(const std::filesystem::path& path, const std::string& bytes) {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
}

inline std::string readFile(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

inline std::string runCommand(const std::string& command, int* exitCode = nullptr) {
    std::string out;
    FILE* p = ::popen(command.c_str(), "r");
    if (!p)
        return out;
    char buffer[4096];
    std::size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, p)) > 0)
        out.append(buffer, n);
    const int status = ::pclose(p);
    if (exitCode)
        *exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return out;
}

// A bundle-shaped folder: bag files, nested data folders, an empty file, a name with spaces and
// a few larger files of pseudo-random bytes (seeded, so every run writes the same bundle).
inline std::uint64_t makeBundleFolder(const std::filesystem::path& root,
                                      std::size_t bigBytes = 300000, int bigFiles = 3) {
    std::mt19937_64 random(42);
    auto bytes = [&](std::size_t n) {
        std::string s(n, '\0');
        for (std::size_t i = 0; i < n; i += 8) {
            const std::uint64_t v = random();
            std::memcpy(s.data() + i, &v, std::min<std::size_t>(8, n - i));
        }
        return s;
    };
    std::uint64_t total = 0;
    auto put = [&](const std::string& relative, const std::string& content) {
        writeFile(root / relative, content);
        total += content.size();
    };
    put("bagit.txt", "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n");
    put("bag-info.txt", "Payload-Oxum: 0.0\n");
    put("data/Dataset001_Test/dataset.json", "{\"labels\": {\"background\": 0}}\n");
    put("data/Dataset001_Test/imagesTr/.keep", "");
    put("data/case 01/notes with spaces.txt", "spaces in names survive\n");
    for (int i = 0; i < bigFiles; ++i)
        put("data/Dataset001_Test/labelsTr/case_" + std::to_string(i) + ".nii.gz",
            bytes(bigBytes + i));
    std::filesystem::create_directories(root / "data/empty folder");
    put("manifest-sha256.txt", "0 data/x\n");
    put("tagmanifest-sha256.txt", "0 bagit.txt\n");
    return total;
}

// relative path -> sha256, by sha256sum (not our code).
inline std::map<std::string, std::string> hashTree(const std::filesystem::path& root) {
    std::map<std::string, std::string> hashes;
    for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
        if (!e.is_regular_file())
            continue;
        const std::string out = runCommand("sha256sum '" + e.path().string() + "'");
        hashes[e.path().lexically_relative(root).generic_string()] = out.substr(0, 64);
    }
    return hashes;
}

inline std::vector<std::string> entryNames(const std::filesystem::path& folder) {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(folder))
        names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

} // namespace radmark::delivery::testing
