#include "delivery/FolderWriter.h"

#include "delivery/BundleTree.h"
#include "delivery/MountDecision.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <vector>

namespace radmark::delivery {
namespace fs = std::filesystem;
namespace {

[[noreturn]] void throwIo(int error, const std::string& doing) {
    DeliveryProblem problem = DeliveryProblem::Other;
    std::string sentence = std::strerror(error);
    switch (error) {
    case ENOSPC:
    case EDQUOT:
        problem = DeliveryProblem::NoSpace;
        sentence =
            error == ENOSPC ? "the destination is full" : "the destination's quota is used up";
        break;
    case EACCES:
    case EPERM:
    case EROFS:
        problem = DeliveryProblem::AccessDenied;
        sentence = "the destination does not let this account write there (" + sentence + ")";
        break;
    case EIO:
    case ESTALE:
    case ENOTCONN:
    case EHOSTDOWN:
    case EHOSTUNREACH:
    case ETIMEDOUT:
    case ECONNRESET:
    case ECONNABORTED:
        problem = DeliveryProblem::ConnectionLost;
        sentence = "the destination stopped answering (" + sentence + ")";
        break;
    case EEXIST:
    case ENOTEMPTY:
        problem = DeliveryProblem::AlreadyExists;
        sentence = "a bundle of that name is already there";
        break;
    default:
        break;
    }
    throw DeliveryFailed(problem, doing + ": " + sentence);
}

class FileDescriptor {
  public:
    explicit FileDescriptor(int fd) : fd_(fd) {}
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    ~FileDescriptor() {
        if (fd_ >= 0)
            ::close(fd_);
    }
    int get() const { return fd_; }
    // close() reports what a network file system found at the end (ENOSPC, EIO, ...).
    int close() {
        const int result = ::close(fd_);
        fd_ = -1;
        return result;
    }

  private:
    int fd_;
};

void syncPath(const fs::path& path, bool directory, const std::string& doing) {
    FileDescriptor fd(
        ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | (directory ? O_DIRECTORY : 0)));
    if (fd.get() < 0)
        throwIo(errno, doing);
    if (::fsync(fd.get()) != 0)
        throwIo(errno, doing);
    if (fd.close() != 0)
        throwIo(errno, doing);
}

void copyFile(const fs::path& from, const fs::path& to, std::uint64_t& done, std::uint64_t total,
              const DeliveryProgress& progress, const std::string& doing) {
    FileDescriptor in(::open(from.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (in.get() < 0)
        throw DeliveryFailed(DeliveryProblem::InvalidBundle, "cannot read the staged file " +
                                                                 from.string() + ": " +
                                                                 std::strerror(errno));
    FileDescriptor out(
        ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644));
    if (out.get() < 0)
        throwIo(errno, doing);
    constexpr std::size_t chunk = 8u << 20;
    bool kernelCopy = true;
    std::vector<char> buffer;
    for (;;) {
        ssize_t n;
        if (kernelCopy) {
            n = ::copy_file_range(in.get(), nullptr, out.get(), nullptr, chunk, 0);
            if (n < 0 &&
                (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
                kernelCopy = false;
                continue;
            }
        } else {
            buffer.resize(1u << 20);
            n = ::read(in.get(), buffer.data(), buffer.size());
            if (n > 0) {
                std::size_t written = 0;
                while (written < static_cast<std::size_t>(n)) {
                    const ssize_t w = ::write(out.get(), buffer.data() + written,
                                              static_cast<std::size_t>(n) - written);
                    if (w < 0 && errno == EINTR)
                        continue;
                    if (w <= 0)
                        throwIo(w < 0 ? errno : ENOSPC, doing);
                    written += static_cast<std::size_t>(w);
                }
            }
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throwIo(errno, doing);
        if (n == 0)
            break;
        done += static_cast<std::uint64_t>(n);
        if (progress && !progress(done, total))
            throw DeliveryFailed(DeliveryProblem::Cancelled, "the export was cancelled");
    }
    if (::fsync(out.get()) != 0)
        throwIo(errno, doing);
    if (out.close() != 0)
        throwIo(errno, doing);
}

} // namespace

FolderWriter::FolderWriter(Destination destination, DeliveryEnvironment environment)
    : destination_(std::move(destination)), environment_(std::move(environment)) {
    const FolderDecision d = decideFolder(destination_.folder, destination_.local,
                                          environment_.mountInfo, environment_.sysRoot);
    if (!d.allowed)
        throw DestinationRefused("export destination '" + destination_.name +
                                 "' refused: " + d.reason);
    folder_ = d.resolved;
    protection_ = d.reason;
}

FolderWriter::~FolderWriter() {
    abandonBundle();
}

void FolderWriter::probe() {
    // Mounts change: decide again right before writing.
    const FolderDecision d = decideFolder(destination_.folder, destination_.local,
                                          environment_.mountInfo, environment_.sysRoot);
    if (!d.allowed || d.resolved != folder_)
        throw DestinationRefused("export destination '" + destination_.name +
                                 "' refused: " + (d.allowed ? "its folder moved" : d.reason));
    if (::access(folder_.c_str(), W_OK | X_OK) != 0)
        throwIo(errno, "cannot write to " + folder_.string());
}

std::vector<std::string> FolderWriter::prepare() {
    probe();
    std::vector<std::string> notes;
    std::error_code ec;
    const std::time_t now = std::time(nullptr);
    for (const auto& entry : fs::directory_iterator(folder_, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind(partialPrefix, 0) != 0 || !entry.is_directory(ec) || entry.is_symlink(ec))
            continue;
        struct stat st {};
        if (::lstat(entry.path().c_str(), &st) != 0)
            continue;
        if (!isLeftOver(name, st.st_mtime, now))
            continue;
        std::error_code removeError;
        fs::remove_all(entry.path(), removeError);
        notes.push_back(removeError ? "could not remove " + name +
                                          ", an unfinished export an earlier run left in " +
                                          folder_.string() + ": " + removeError.message()
                                    : "removed " + name + ", an unfinished export an earlier " +
                                          "run left in " + folder_.string());
    }
    return notes;
}

fs::path FolderWriter::beginBundle(const std::string& bundleName) {
    if (!partial_.empty())
        throw DeliveryFailed(DeliveryProblem::Other, "a bundle is already being written");
    const std::string partial = partialName(bundleName);
    std::error_code ec;
    if (fs::exists(fs::symlink_status(folder_ / bundleName, ec)))
        throw DeliveryFailed(DeliveryProblem::AlreadyExists,
                             "a bundle named " + bundleName + " is already in " + folder_.string());
    const fs::path path = folder_ / partial;
    if (::mkdir(path.c_str(), 0700) != 0)
        throwIo(errno, "cannot start the bundle in " + folder_.string());
    markInProgress(partial);
    bundleName_ = bundleName;
    partial_ = path;
    return partial_;
}

DeliveryReceipt FolderWriter::finishBundle(const DeliveryProgress& progress) {
    if (partial_.empty())
        throw DeliveryFailed(DeliveryProblem::Other, "no bundle is being written");
    const std::string doing = "delivering " + bundleName_ + " to " + folder_.string();
    try {
        const BundleTree tree = readBundleTree(partial_);
        if (progress && !progress(tree.bytes, tree.bytes))
            throw DeliveryFailed(DeliveryProblem::Cancelled, "the export was cancelled");
        // Files, then folders deepest first, then the partial folder itself: all on disk before
        // the name says "complete".
        for (const auto& f : tree.files)
            syncPath(partial_ / f.path, false, doing);
        for (auto it = tree.folders.rbegin(); it != tree.folders.rend(); ++it)
            syncPath(partial_ / *it, true, doing);
        if (::chmod(partial_.c_str(), 0755) != 0)
            throwIo(errno, doing);
        syncPath(partial_, true, doing);
        const fs::path final = folder_ / bundleName_;
        if (::renameat2(AT_FDCWD, partial_.c_str(), AT_FDCWD, final.c_str(), RENAME_NOREPLACE) !=
            0) {
            // Some network file systems lack RENAME_NOREPLACE: check, then a plain rename (which
            // still refuses a non-empty folder in the way).
            if (errno != EINVAL && errno != ENOSYS)
                throwIo(errno, doing);
            std::error_code ec;
            if (fs::exists(fs::symlink_status(final, ec)))
                throwIo(EEXIST, doing);
            if (::rename(partial_.c_str(), final.c_str()) != 0)
                throwIo(errno, doing);
        }
        markFinished(partial_.filename().string());
        partial_.clear();
        syncPath(folder_, true, doing);
        DeliveryReceipt receipt;
        receipt.destination = destination_.name;
        receipt.location = final.string();
        receipt.bundleName = bundleName_;
        receipt.files = tree.files.size();
        receipt.bytes = tree.bytes;
        receipt.protection = protection_;
        return receipt;
    } catch (...) {
        abandonAndRethrow();
    }
}

void FolderWriter::abandonAndRethrow() {
    abandonBundle();
    try {
        throw;
    } catch (const DeliveryFailed& e) {
        if (e.problem == DeliveryProblem::Cancelled)
            throw;
        throw DeliveryFailed(e.problem,
                             std::string(e.what()) + "; the unfinished copy was removed");
    }
}

void FolderWriter::abandonBundle() noexcept {
    if (partial_.empty())
        return;
    std::error_code ec;
    fs::remove_all(partial_, ec);
    markFinished(partial_.filename().string());
    partial_.clear();
}

DeliveryReceipt FolderWriter::deliver(const fs::path& bag, const std::string& bundleName,
                                      const DeliveryProgress& progress) {
    const BundleTree tree = readBundleTree(bag);
    const fs::path partial = beginBundle(bundleName);
    const std::string doing = "delivering " + bundleName + " to " + folder_.string();
    try {
        for (const auto& folder : tree.folders)
            if (::mkdir((partial / folder).c_str(), 0755) != 0)
                throwIo(errno, doing);
        std::uint64_t done = 0;
        for (const auto& f : tree.files)
            copyFile(bag / f.path, partial / f.path, done, tree.bytes, progress, doing);
    } catch (...) {
        abandonAndRethrow();
    }
    return finishBundle();
}

} // namespace radmark::delivery
