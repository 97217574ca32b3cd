#pragma once
// A tar stream of a folder that depends on the files' names and bytes only: POSIX ustar
// entries in byte order of their paths, directories 0755 and files 0644, owner and group 0
// with no names, one fixed mtime, and a pax header where a path does not fit ustar's fields.
// Written by Radmark rather than GNU tar, whose output also depends on its version and options
// (pax headers name the process id unless told otherwise), so that the same bag gives the same
// bytes. Any tar reader (GNU tar, Python's tarfile) unpacks it.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace radmark::bundle {

// Receives the stream in order; throws to stop it.
using ByteSink = std::function<void(const char* data, std::size_t size)>;

struct TarOptions {
    std::string rootName;   // every entry is under rootName/ (the bag's name)
    std::int64_t mtime = 0; // seconds since 1970 for every entry
};

// Throws BundleError when a file cannot be read, is not a regular file or changes size while
// being read.
void writeDeterministicTar(const std::filesystem::path& folder, const TarOptions& options,
                           const ByteSink& sink);

} // namespace radmark::bundle
