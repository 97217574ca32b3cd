#include "report/AtomicFile.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace radmark::report {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(int error, const fs::path& target, const fs::path& folder) {
    const std::string start = "Cannot write " + target.string() + ": ";
    using Cause = ReportWriteError::Cause;
    switch (error) {
    case ENOENT:
    case ENOTDIR:
        throw ReportWriteError(Cause::FolderMissing,
                               start + "the folder " + folder.string() + " does not exist.");
    case EACCES:
    case EPERM:
        throw ReportWriteError(Cause::NotWritable, start + "you may not write into the folder " +
                                                       folder.string() + ".");
    case EROFS:
        throw ReportWriteError(Cause::NotWritable,
                               start + "the folder " + folder.string() + " is read-only.");
    case ENOSPC:
    case EDQUOT:
        throw ReportWriteError(Cause::DiskFull,
                               start + "the disk is full. Free some space and try again.");
    case EFBIG:
        throw ReportWriteError(Cause::DiskFull, start + "the file is larger than this disk or "
                                                        "account allows.");
    case EISDIR:
        throw ReportWriteError(Cause::Other, start + "a folder of that name exists.");
    default:
        throw ReportWriteError(Cause::Other, start + std::strerror(error) + ".");
    }
}

} // namespace

void writeFileAtomically(const fs::path& target, std::string_view bytes) {
    if (target.filename().empty())
        throw ReportWriteError(ReportWriteError::Cause::Other,
                               "Cannot write " + target.string() + ": it names no file.");
    const fs::path folder = target.has_parent_path() ? target.parent_path() : fs::path(".");
    // mkostemp creates the file with O_CREAT | O_EXCL and mode 0600.
    std::string temporary =
        (folder / ("." + target.filename().string() + ".partial-XXXXXX")).string();
    const int fd = ::mkostemp(temporary.data(), O_CLOEXEC);
    if (fd < 0)
        fail(errno, target, folder);

    const auto discard = [&](int error) {
        ::close(fd);
        ::unlink(temporary.c_str());
        fail(error, target, folder);
    };
    std::size_t written = 0;
    while (written < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            discard(errno);
        }
        written += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0)
        discard(errno);
    if (::close(fd) != 0) {
        const int error = errno;
        ::unlink(temporary.c_str());
        fail(error, target, folder);
    }
    if (::rename(temporary.c_str(), target.c_str()) != 0) {
        const int error = errno;
        ::unlink(temporary.c_str());
        fail(error, target, folder);
    }
    // The rename itself reaches the disk only when the folder is flushed.
    const int folderFd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (folderFd >= 0) {
        ::fsync(folderFd);
        ::close(folderFd);
    }
}

} // namespace radmark::report
