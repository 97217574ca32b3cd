#include "bundle/DeterministicTar.h"

#include "bundle/Errors.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

namespace radmark::bundle {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t block = 512;
constexpr std::size_t recordSize = 20 * block; // as GNU tar and Python pad the end

struct Entry {
    std::string path; // relative, '/'-separated; directories end with '/'
    bool directory = false;
    std::uint64_t size = 0;
};

// width - 1 octal digits, zero-padded, then NUL (the caller checked that value fits).
void putOctal(char* field, std::size_t width, std::uint64_t value) {
    field[width - 1] = '\0';
    for (std::size_t i = width - 1; i-- > 0; value >>= 3)
        field[i] = char('0' + (value & 7));
}

bool fitsOctal(std::uint64_t value, std::size_t width) {
    return value < (std::uint64_t(1) << (3 * (width - 1)));
}

class TarStream {
  public:
    TarStream(const ByteSink& sink, std::int64_t mtime) : sink_(sink), mtime_(mtime) {}

    void header(const std::string& name, char type, std::uint64_t size, unsigned mode) {
        std::string ustarName, prefix;
        if (!splitName(name, ustarName, prefix) || !fitsOctal(size, 12)) {
            // pax extended header ('x') carrying the full path and size.
            std::string records = paxRecord("path", name);
            if (!fitsOctal(size, 12))
                records += paxRecord("size", std::to_string(size));
            const std::string paxName = "PaxHeaders/" + lastComponent(name).substr(0, 80);
            rawHeader(paxName, "", 'x', records.size(), 0644);
            emit(records.data(), records.size());
            pad(records.size());
            ustarName = name.substr(0, 99);
            prefix.clear();
        }
        rawHeader(ustarName, prefix, type, fitsOctal(size, 12) ? size : 0, mode);
    }

    void emit(const char* data, std::size_t size) {
        sink_(data, size);
        written_ += size;
    }
    void pad(std::uint64_t size) {
        static const std::array<char, block> zeros{};
        const std::size_t rest = std::size_t(size % block);
        if (rest)
            emit(zeros.data(), block - rest);
    }
    void finish() {
        static const std::array<char, block> zeros{};
        emit(zeros.data(), block);
        emit(zeros.data(), block);
        while (written_ % recordSize)
            emit(zeros.data(), block);
    }

  private:
    static std::string lastComponent(const std::string& name) {
        std::string trimmed = name;
        while (!trimmed.empty() && trimmed.back() == '/')
            trimmed.pop_back();
        const std::size_t slash = trimmed.rfind('/');
        return slash == std::string::npos ? trimmed : trimmed.substr(slash + 1);
    }

    static std::string paxRecord(const std::string& key, const std::string& value) {
        // "<length> <key>=<value>\n", where length counts itself.
        const std::size_t body = key.size() + value.size() + 3;
        std::size_t length = body + 1;
        while (std::to_string(length).size() + body != length)
            ++length;
        return std::to_string(length) + " " + key + "=" + value + "\n";
    }

    // ustar: name up to 100 bytes, or prefix (155) + '/' + name (100).
    static bool splitName(const std::string& path, std::string& name, std::string& prefix) {
        if (path.size() <= 100) {
            name = path;
            prefix.clear();
            return true;
        }
        for (std::size_t slash = path.find('/'); slash != std::string::npos;
             slash = path.find('/', slash + 1)) {
            if (slash > 155)
                break;
            if (path.size() - slash - 1 <= 100 && slash + 1 < path.size()) {
                prefix = path.substr(0, slash);
                name = path.substr(slash + 1);
                return true;
            }
        }
        return false;
    }

    void rawHeader(const std::string& name, const std::string& prefix, char type,
                   std::uint64_t size, unsigned mode) {
        std::array<char, block> h{};
        std::memcpy(h.data(), name.data(), std::min<std::size_t>(name.size(), 100));
        putOctal(h.data() + 100, 8, mode);
        putOctal(h.data() + 108, 8, 0); // uid
        putOctal(h.data() + 116, 8, 0); // gid
        putOctal(h.data() + 124, 12, size);
        putOctal(h.data() + 136, 12, std::uint64_t(std::max<std::int64_t>(mtime_, 0)));
        h[156] = type;
        std::memcpy(h.data() + 257, "ustar", 6); // magic with its NUL
        std::memcpy(h.data() + 263, "00", 2);
        std::memcpy(h.data() + 345, prefix.data(), std::min<std::size_t>(prefix.size(), 155));
        std::memset(h.data() + 148, ' ', 8);
        unsigned sum = 0;
        for (char c : h)
            sum += static_cast<unsigned char>(c);
        putOctal(h.data() + 148, 7, sum); // six digits, NUL, then the space already there
        emit(h.data(), h.size());
    }

    const ByteSink& sink_;
    std::int64_t mtime_;
    std::uint64_t written_ = 0;
};

std::vector<Entry> collect(const fs::path& folder) {
    std::vector<Entry> entries;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(folder, ec), end; it != end; it.increment(ec)) {
        if (ec)
            break;
        const auto status = it->symlink_status(ec);
        const std::string relative = it->path().lexically_relative(folder).generic_string();
        if (fs::is_directory(status))
            entries.push_back({relative + "/", true, 0});
        else if (fs::is_regular_file(status))
            entries.push_back({relative, false, fs::file_size(it->path(), ec)});
        else
            throw BundleError(relative + " is not a regular file (links and devices are refused)");
    }
    if (ec)
        throw BundleError("cannot list " + folder.string() + ": " + ec.message());
    std::sort(entries.begin(), entries.end(),
              [](const Entry& a, const Entry& b) { return a.path < b.path; });
    return entries;
}

void streamFile(const fs::path& file, std::uint64_t size, TarStream& tar) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        throw BundleError("cannot read " + file.string() + ": " + std::strerror(errno));
    std::vector<char> buffer(1 << 20);
    std::uint64_t done = 0;
    try {
        for (;;) {
            const ssize_t n = ::read(fd, buffer.data(), buffer.size());
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                throw BundleError("cannot read " + file.string() + ": " + std::strerror(errno));
            if (n == 0)
                break;
            if (done + std::uint64_t(n) > size)
                throw BundleError(file.string() + " grew while it was being packed");
            tar.emit(buffer.data(), std::size_t(n));
            done += std::uint64_t(n);
        }
    } catch (...) {
        ::close(fd);
        throw;
    }
    ::close(fd);
    if (done != size)
        throw BundleError(file.string() + " shrank while it was being packed");
    tar.pad(size);
}

} // namespace

void writeDeterministicTar(const fs::path& folder, const TarOptions& options,
                           const ByteSink& sink) {
    if (options.rootName.empty() || options.rootName.find('/') != std::string::npos)
        throw BundleError("the tar root name must be one folder name");
    TarStream tar(sink, options.mtime);
    tar.header(options.rootName + "/", '5', 0, 0755);
    for (const auto& entry : collect(folder)) {
        const std::string name = options.rootName + "/" + entry.path;
        if (entry.directory) {
            tar.header(name, '5', 0, 0755);
        } else {
            tar.header(name, '0', entry.size, 0644);
            streamFile(folder / entry.path, entry.size, tar);
        }
    }
    tar.finish();
}

} // namespace radmark::bundle
