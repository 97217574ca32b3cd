#include "imaging/NiftiWriter.h"

#include <libdeflate.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace radmark::imaging {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t headerBytes = 352; // 348-byte header + 4 bytes of "no extension"

// NIfTI-1 codes.
constexpr std::int16_t datatypeUInt8 = 2, datatypeInt16 = 4, datatypeInt32 = 8,
                       datatypeFloat32 = 16, datatypeUInt16 = 512;
constexpr std::int16_t xformScanner = 1;
constexpr std::uint8_t unitsMillimetre = 2;
constexpr std::int16_t intentLabel = 1002;

template <class T> void put(std::uint8_t* header, std::size_t offset, T value) {
    std::memcpy(header + offset, &value, sizeof value);
}

struct Quaternion {
    double b = 0, c = 0, d = 0, qfac = 1;
};

// The qform quaternion of a rotation (or a reflection: qfac -1 flips the third axis), following
// the NIfTI-1 definition: R = rotation(b, c, d) * diag(1, 1, qfac).
Quaternion quaternionOf(std::array<double, 9> r) {
    // Unit columns; a left-handed frame takes qfac -1 and its third column negated.
    for (int c = 0; c < 3; ++c) {
        const double n = std::sqrt(r[c] * r[c] + r[3 + c] * r[3 + c] + r[6 + c] * r[6 + c]);
        if (n > 0)
            for (int i = 0; i < 3; ++i)
                r[3 * i + c] /= n;
    }
    const double det = r[0] * (r[4] * r[8] - r[5] * r[7]) - r[1] * (r[3] * r[8] - r[5] * r[6]) +
                       r[2] * (r[3] * r[7] - r[4] * r[6]);
    Quaternion q;
    if (det < 0) {
        q.qfac = -1;
        r[2] = -r[2];
        r[5] = -r[5];
        r[8] = -r[8];
    }
    auto at = [&](int i, int j) { return r[3 * (i - 1) + (j - 1)]; };
    double a = at(1, 1) + at(2, 2) + at(3, 3) + 1;
    if (a > 0.5) {
        a = 0.5 * std::sqrt(a);
        q.b = 0.25 * (at(3, 2) - at(2, 3)) / a;
        q.c = 0.25 * (at(1, 3) - at(3, 1)) / a;
        q.d = 0.25 * (at(2, 1) - at(1, 2)) / a;
    } else {
        const double xd = 1 + at(1, 1) - (at(2, 2) + at(3, 3));
        const double yd = 1 + at(2, 2) - (at(1, 1) + at(3, 3));
        const double zd = 1 + at(3, 3) - (at(1, 1) + at(2, 2));
        if (xd > 1) {
            q.b = 0.5 * std::sqrt(xd);
            q.c = 0.25 * (at(1, 2) + at(2, 1)) / q.b;
            q.d = 0.25 * (at(1, 3) + at(3, 1)) / q.b;
            a = 0.25 * (at(3, 2) - at(2, 3)) / q.b;
        } else if (yd > 1) {
            q.c = 0.5 * std::sqrt(yd);
            q.b = 0.25 * (at(1, 2) + at(2, 1)) / q.c;
            q.d = 0.25 * (at(2, 3) + at(3, 2)) / q.c;
            a = 0.25 * (at(1, 3) - at(3, 1)) / q.c;
        } else {
            q.d = 0.5 * std::sqrt(zd);
            q.b = 0.25 * (at(1, 3) + at(3, 1)) / q.d;
            q.c = 0.25 * (at(2, 3) + at(3, 2)) / q.d;
            a = 0.25 * (at(2, 1) - at(1, 2)) / q.d;
        }
        if (a < 0) {
            q.b = -q.b;
            q.c = -q.c;
            q.d = -q.d;
        }
    }
    return q;
}

std::array<std::uint8_t, headerBytes> niftiHeader(const Geometry& g, std::int16_t datatype,
                                                  std::int16_t bitsPerVoxel, std::int16_t intent) {
    std::array<std::uint8_t, headerBytes> h{};
    put<std::int32_t>(h.data(), 0, 348);
    h[38] = 'r';
    const std::int16_t dims[8] = {
        3, std::int16_t(g.dims[0]), std::int16_t(g.dims[1]), std::int16_t(g.dims[2]), 1, 1, 1, 1};
    for (int i = 0; i < 8; ++i)
        put<std::int16_t>(h.data(), 40 + 2 * std::size_t(i), dims[i]);
    put<std::int16_t>(h.data(), 68, intent);
    put<std::int16_t>(h.data(), 70, datatype);
    put<std::int16_t>(h.data(), 72, bitsPerVoxel);

    const std::array<double, 16> affine = rasAffine(g);
    std::array<double, 9> rotation{};
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j)
            rotation[3 * std::size_t(i) + std::size_t(j)] =
                affine[4 * std::size_t(i) + std::size_t(j)];
    const Quaternion q = quaternionOf(rotation);
    const float pixdim[8] = {
        float(q.qfac), float(g.spacing[0]), float(g.spacing[1]), float(g.spacing[2]), 0, 0, 0, 0};
    for (int i = 0; i < 8; ++i)
        put<float>(h.data(), 76 + 4 * std::size_t(i), pixdim[i]);
    put<float>(h.data(), 108, float(headerBytes));
    put<float>(h.data(), 112, 1.0f); // scl_slope: the voxels are the values (HU for CT)
    put<float>(h.data(), 116, 0.0f); // scl_inter
    h[123] = unitsMillimetre;
    const char description[] = "Radmark export";
    std::memcpy(h.data() + 148, description, sizeof description - 1);
    put<std::int16_t>(h.data(), 252, xformScanner); // qform_code
    put<std::int16_t>(h.data(), 254, xformScanner); // sform_code
    put<float>(h.data(), 256, float(q.b));
    put<float>(h.data(), 260, float(q.c));
    put<float>(h.data(), 264, float(q.d));
    for (int i = 0; i < 3; ++i)
        put<float>(h.data(), 268 + 4 * std::size_t(i), float(affine[4 * std::size_t(i) + 3]));
    for (int row = 0; row < 3; ++row)
        for (int col = 0; col < 4; ++col)
            put<float>(h.data(), 280 + 16 * std::size_t(row) + 4 * std::size_t(col),
                       float(affine[4 * std::size_t(row) + std::size_t(col)]));
    std::memcpy(h.data() + 344, "n+1", 4);
    return h;
}

void checkDims(const Geometry& g, const fs::path& path) {
    for (int d : g.dims)
        if (d < 1 || d > 32767)
            throw NiftiWriteError("Cannot write " + path.string() +
                                  ": NIfTI-1 holds 1 to 32767 "
                                  "voxels per axis.");
}

// ---- parallel gzip --------------------------------------------------------------------------

// The uncompressed stream: `size` bytes; bytesAt returns `length` bytes from `offset`, pointing
// into the caller's memory or into `scratch` (at least memberBytes) after filling it.
struct ByteStream {
    std::uint64_t size = 0;
    std::function<const std::uint8_t*(std::uint64_t offset, std::size_t length,
                                      std::uint8_t* scratch)>
        bytesAt;
};

struct FileDescriptor {
    int fd = -1;
    ~FileDescriptor() {
        if (fd >= 0)
            ::close(fd);
    }
};

std::string systemError(int error) {
    return std::strerror(error);
}

void writeAll(int fd, const std::uint8_t* data, std::size_t size, const fs::path& path) {
    while (size > 0) {
        const ssize_t n = ::write(fd, data, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            throw NiftiWriteError("Cannot write " + path.string() + ": " +
                                  systemError(n < 0 ? errno : ENOSPC));
        data += n;
        size -= std::size_t(n);
    }
}

// Compresses the stream as independent gzip members of memberBytes each, on worker threads,
// writing them in order. Returns the bytes written.
std::uint64_t writeGzip(const ByteStream& stream, const fs::path& path, const GzipSettings& gzip,
                        int level, const ByteSink& sink) {
    // Whole voxels in every member: the header (352 bytes) and the member size are multiples of 8.
    const std::size_t memberBytes =
        std::max<std::size_t>(gzip.memberBytes, 64 * 1024) & ~std::size_t(7);
    const std::uint64_t members =
        std::max<std::uint64_t>(1, (stream.size + memberBytes - 1) / memberBytes);
    unsigned cores =
        gzip.threads > 0 ? unsigned(gzip.threads) : std::thread::hardware_concurrency();
    const std::size_t workers = std::size_t(std::clamp<std::uint64_t>(cores, 1, members));
    const std::size_t window = 2 * workers; // members compressed ahead of the writer, at most

    struct Slot {
        std::vector<std::uint8_t> out;
        std::size_t size = 0;
        bool ready = false;
    };
    std::vector<Slot> slots(window);
    std::mutex mutex;
    std::condition_variable changed;
    std::uint64_t nextMember = 0, written = 0;
    bool failed = false;
    std::exception_ptr failure;

    FileDescriptor file;
    file.fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (file.fd < 0)
        throw NiftiWriteError("Cannot write " + path.string() + ": " + systemError(errno));

    // In a catch block, on any thread: the first failure stops everyone and is rethrown at the end.
    auto fail = [&] {
        std::lock_guard lock(mutex);
        if (!failed) {
            failed = true;
            failure = std::current_exception();
        }
        changed.notify_all();
    };

    auto work = [&] {
        std::unique_ptr<libdeflate_compressor, decltype(&libdeflate_free_compressor)> compressor(
            libdeflate_alloc_compressor(level), &libdeflate_free_compressor);
        std::vector<std::uint8_t> scratch(memberBytes);
        try {
            if (!compressor)
                throw std::bad_alloc();
            const std::size_t bound = libdeflate_gzip_compress_bound(compressor.get(), memberBytes);
            for (;;) {
                std::uint64_t member = 0;
                {
                    std::unique_lock lock(mutex);
                    changed.wait(lock, [&] {
                        return failed || nextMember >= members || nextMember < written + window;
                    });
                    if (failed || nextMember >= members)
                        return;
                    member = nextMember++;
                }
                Slot& slot = slots[member % window];
                const std::uint64_t offset = member * memberBytes;
                const std::size_t length =
                    std::size_t(std::min<std::uint64_t>(memberBytes, stream.size - offset));
                const std::uint8_t* input = stream.bytesAt(offset, length, scratch.data());
                slot.out.resize(bound);
                const std::size_t size = libdeflate_gzip_compress(compressor.get(), input, length,
                                                                  slot.out.data(), bound);
                if (size == 0)
                    throw std::runtime_error("libdeflate could not compress a member");
                std::lock_guard lock(mutex);
                slot.size = size;
                slot.ready = true;
                changed.notify_all();
            }
        } catch (...) {
            fail();
        }
    };

    std::vector<std::thread> threads;
    threads.reserve(workers);
    std::uint64_t fileBytes = 0;
    try {
        for (std::size_t i = 0; i < workers; ++i)
            threads.emplace_back(work);
        for (std::uint64_t member = 0; member < members; ++member) {
            Slot& slot = slots[member % window];
            {
                std::unique_lock lock(mutex);
                changed.wait(lock, [&] { return failed || slot.ready; });
                if (failed)
                    break;
            }
            writeAll(file.fd, slot.out.data(), slot.size, path);
            if (sink)
                sink(slot.out.data(), slot.size);
            fileBytes += slot.size;
            std::lock_guard lock(mutex);
            slot.ready = false;
            ++written;
            changed.notify_all();
        }
    } catch (...) {
        fail();
    }
    for (auto& thread : threads)
        thread.join();
    if (!failure && ::close(std::exchange(file.fd, -1)) != 0)
        failure = std::make_exception_ptr(
            NiftiWriteError("Cannot write " + path.string() + ": " + systemError(errno)));
    if (failure) {
        std::error_code ignored;
        fs::remove(path, ignored);
        std::rethrow_exception(failure);
    }
    return fileBytes;
}

// The stream of a NIfTI file: the header, then voxels that `voxelsAt` provides.
ByteStream niftiStream(
    const std::array<std::uint8_t, headerBytes>& header, std::uint64_t voxelBytes,
    std::function<const std::uint8_t*(std::uint64_t, std::size_t, std::uint8_t*)> voxelsAt) {
    ByteStream stream;
    stream.size = headerBytes + voxelBytes;
    stream.bytesAt =
        [&header, voxelsAt = std::move(voxelsAt)](std::uint64_t offset, std::size_t length,
                                                  std::uint8_t* scratch) -> const std::uint8_t* {
        if (offset >= headerBytes)
            return voxelsAt(offset - headerBytes, length, scratch);
        // The first member starts with the header: copy both into scratch.
        const std::size_t head = std::size_t(std::min<std::uint64_t>(headerBytes - offset, length));
        std::memcpy(scratch, header.data() + offset, head);
        if (length > head) {
            const std::uint8_t* rest = voxelsAt(0, length - head, scratch + head);
            if (rest != scratch + head)
                std::memcpy(scratch + head, rest, length - head);
        }
        return scratch;
    };
    return stream;
}

} // namespace

std::array<double, 16> rasAffine(const Geometry& g) {
    std::array<double, 16> m{};
    for (int row = 0; row < 3; ++row) {
        const double flip = row < 2 ? -1.0 : 1.0; // LPS -> RAS
        for (int col = 0; col < 3; ++col)
            m[4 * std::size_t(row) + std::size_t(col)] =
                flip * g.direction[3 * std::size_t(row) + std::size_t(col)] *
                g.spacing[std::size_t(col)];
        m[4 * std::size_t(row) + 3] = flip * g.origin[std::size_t(row)];
    }
    m[15] = 1;
    return m;
}

NiftiWritten writeNiftiImage(const Volume& volume, const fs::path& path,
                             const NiftiOptions& options) {
    const Geometry& g = volume.geometry();
    checkDims(g, path);
    if (volume.empty())
        throw NiftiWriteError("Cannot write " + path.string() + ": the image has no voxels.");
    std::int16_t datatype = datatypeInt16;
    switch (volume.pixelType()) {
    case PixelType::UInt8:
        datatype = datatypeUInt8;
        break;
    case PixelType::Int16:
        datatype = datatypeInt16;
        break;
    case PixelType::UInt16:
        datatype = datatypeUInt16;
        break;
    case PixelType::Int32:
        datatype = datatypeInt32;
        break;
    case PixelType::Float32:
        datatype = datatypeFloat32;
        break;
    }
    const auto header =
        niftiHeader(g, datatype, std::int16_t(8 * bytesPerVoxel(volume.pixelType())), 0);
    const auto* voxels = reinterpret_cast<const std::uint8_t*>(volume.data());
    const ByteStream stream = niftiStream(
        header, volume.byteCount(),
        [voxels](std::uint64_t offset, std::size_t, std::uint8_t*) { return voxels + offset; });
    NiftiWritten done;
    done.niftiBytes = stream.size;
    done.fileBytes = writeGzip(stream, path, options.gzip,
                               options.gzip.level > 0 ? options.gzip.level : 1, options.onBytes);
    return done;
}

NiftiWritten writeNiftiLabels(const LabelVoxels& labels,
                              const std::map<std::uint16_t, std::uint16_t>& datasetValue,
                              const fs::path& path, const NiftiOptions& options) {
    const Geometry& g = labels.geometry;
    checkDims(g, path);
    if (labels.bytesPerLabel != 1 && labels.bytesPerLabel != 2)
        throw NiftiWriteError("Cannot write " + path.string() + ": labels are 1 or 2 bytes.");
    // -1: a label the caller did not map.
    std::vector<std::int32_t> table(labels.bytesPerLabel == 1 ? 256 : 65536, -1);
    table[0] = 0;
    std::uint16_t highest = 0;
    for (const auto& [label, value] : datasetValue) {
        if (label < table.size() && label != 0)
            table[label] = value;
        highest = std::max(highest, value);
    }
    const int outBytes = highest > 255 ? 2 : 1;
    const auto header = niftiHeader(g, outBytes == 1 ? datatypeUInt8 : datatypeUInt16,
                                    std::int16_t(8 * outBytes), intentLabel);
    const std::uint8_t* in = labels.data;
    const int inBytes = labels.bytesPerLabel;
    auto mapped = [&table, in, inBytes, outBytes, &path](std::uint64_t offset, std::size_t length,
                                                         std::uint8_t* scratch) {
        // offset and length are whole voxels: the header and the member size are even.
        const std::size_t first = std::size_t(offset) / std::size_t(outBytes);
        const std::size_t count = length / std::size_t(outBytes);
        for (std::size_t i = 0; i < count; ++i) {
            const std::size_t v = first + i;
            const std::uint32_t label =
                inBytes == 1 ? in[v] : std::uint32_t(in[2 * v] | (in[2 * v + 1] << 8));
            const std::int32_t value = table[label];
            if (value < 0)
                throw NiftiWriteError("Cannot write " + path.string() + ": label " +
                                      std::to_string(label) +
                                      " has no dataset value (no segment maps to it).");
            if (outBytes == 1) {
                scratch[i] = std::uint8_t(value);
            } else {
                scratch[2 * i] = std::uint8_t(value & 0xff);
                scratch[2 * i + 1] = std::uint8_t(value >> 8);
            }
        }
        return static_cast<const std::uint8_t*>(scratch);
    };
    const ByteStream stream = niftiStream(header, g.voxelCount() * std::size_t(outBytes), mapped);
    NiftiWritten done;
    done.niftiBytes = stream.size;
    done.fileBytes = writeGzip(stream, path, options.gzip,
                               options.gzip.level > 0 ? options.gzip.level : 6, options.onBytes);
    return done;
}

} // namespace radmark::imaging
