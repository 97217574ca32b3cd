#pragma once
// Writing a report file so that it is either complete or absent: the bytes go to a temporary
// file in the target's folder (created exclusively, owner-only 0600), are flushed to disk and
// renamed over the target; on any error the temporary file is removed and an existing target
// is left as it was. Qt-free, for the Markdown, CSV and PDF writers alike.

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace radmark::report {

// A report could not be written. The message names the file and the cause in words a
// radiologist understands; nothing was left behind.
struct ReportWriteError : std::runtime_error {
    enum class Cause { FolderMissing, NotWritable, DiskFull, Other };
    ReportWriteError(Cause cause, const std::string& message)
        : std::runtime_error(message), cause(cause) {}
    Cause cause;
};

// Throws ReportWriteError. The file ends up with mode 0600 (reports name annotators and
// pseudonyms: they are for the people who run the store).
void writeFileAtomically(const std::filesystem::path& target, std::string_view bytes);

} // namespace radmark::report
