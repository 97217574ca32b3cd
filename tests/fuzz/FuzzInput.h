#pragma once
// The fuzz input as a file: our readers take paths, so each input is written to one anonymous
// in-memory file (memfd) and read through its /proc/self/fd path, with no disk traffic.

#include <cstddef>
#include <cstdint>
#include <filesystem>

namespace radmark::fuzz {

class InputFile {
  public:
    InputFile();
    ~InputFile();
    InputFile(const InputFile&) = delete;
    InputFile& operator=(const InputFile&) = delete;

    // Replaces the content; returns the path that reads it.
    const std::filesystem::path& hold(const std::uint8_t* data, std::size_t size);

  private:
    int fd_ = -1;
    std::filesystem::path path_;
};

} // namespace radmark::fuzz
