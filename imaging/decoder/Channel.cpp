#include "imaging/decoder/Channel.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace radmark::decoder {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = other.release();
    }
    return *this;
}

UniqueFd::~UniqueFd() {
    if (fd_ >= 0)
        ::close(fd_);
}

int UniqueFd::release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
}

namespace {

constexpr std::uint32_t wireMagic = 0x314D4452; // "RDM1" little endian
constexpr std::uint32_t bodyInMemfd = 1;
// A SEQPACKET datagram must fit the socket buffer (about 200 KiB by default): bigger bodies go
// into a memfd so that a long file list never fails with EMSGSIZE.
constexpr std::size_t maxInlineBody = 60 * 1024;

struct WireHeader {
    std::uint32_t magic = wireMagic;
    std::uint16_t version = 1;
    std::uint16_t kind = 0;
    std::uint32_t bodyBytes = 0;
    std::uint32_t flags = 0;
};

[[noreturn]] void fail(const std::string& what) {
    throw ChannelError(what + ": " + std::strerror(errno));
}

} // namespace

void sendMessage(int socket, const Message& message) {
    const std::string body = message.body.dump();
    WireHeader header;
    header.kind = std::uint16_t(message.kind);
    std::vector<int> fds;
    UniqueFd bodyFd;
    std::string datagram(sizeof header, '\0');
    if (body.size() > maxInlineBody) {
        bodyFd = memfdWithBytes("radmark-message", body.data(), body.size());
        header.flags |= bodyInMemfd;
        header.bodyBytes = std::uint32_t(body.size());
        fds.push_back(bodyFd.get());
    } else {
        header.bodyBytes = std::uint32_t(body.size());
        datagram += body;
    }
    for (const auto& fd : message.fds)
        fds.push_back(fd.get());
    if (fds.size() > maxFdsPerMessage)
        throw ChannelError("too many descriptors for one message");
    std::memcpy(datagram.data(), &header, sizeof header);

    iovec io{datagram.data(), datagram.size()};
    msghdr msg{};
    msg.msg_iov = &io;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * maxFdsPerMessage)];
    if (!fds.empty()) {
        msg.msg_control = control;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
        std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    }
    for (;;) {
        if (::sendmsg(socket, &msg, MSG_NOSIGNAL) >= 0)
            return;
        if (errno != EINTR)
            fail("cannot send to the decoder channel");
    }
}

bool receiveMessage(int socket, Message& message, int timeoutMs) {
    pollfd p{socket, POLLIN, 0};
    for (;;) {
        const int ready = ::poll(&p, 1, timeoutMs);
        if (ready > 0)
            break;
        if (ready == 0)
            return false;
        if (errno != EINTR)
            fail("cannot wait on the decoder channel");
    }
    std::vector<char> buffer(sizeof(WireHeader) + maxInlineBody + 1);
    iovec io{buffer.data(), buffer.size()};
    msghdr msg{};
    msg.msg_iov = &io;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * (maxFdsPerMessage + 1))];
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t got;
    do
        got = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
    while (got < 0 && errno == EINTR);
    if (got < 0)
        fail("cannot read the decoder channel");
    std::vector<UniqueFd> fds;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (std::size_t i = 0; i < count; ++i) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            fds.emplace_back(fd);
        }
    }
    if (got == 0)
        throw ChannelError("the other end closed the channel");
    if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
        throw ChannelError("a message on the channel was too large");
    WireHeader header;
    if (std::size_t(got) < sizeof header)
        throw ChannelError("a message on the channel was too short");
    std::memcpy(&header, buffer.data(), sizeof header);
    if (header.magic != wireMagic || header.version != 1 || header.kind < 1 || header.kind > 4)
        throw ChannelError("a message on the channel did not follow the protocol");
    std::string body;
    if (header.flags & bodyInMemfd) {
        if (fds.empty())
            throw ChannelError("a message announced a body it did not carry");
        body = readSealedMemfd(fds.front().get());
        fds.erase(fds.begin());
    } else {
        body.assign(buffer.data() + sizeof header, std::size_t(got) - sizeof header);
    }
    if (body.size() != header.bodyBytes)
        throw ChannelError("a message on the channel had the wrong length");
    message.kind = MessageKind(header.kind);
    message.body = nlohmann::json::parse(body, nullptr, false);
    if (message.body.is_discarded())
        throw ChannelError("a message on the channel was not valid JSON");
    message.fds = std::move(fds);
    return true;
}

UniqueFd createMemfd(const char* name, std::size_t bytes) {
    UniqueFd fd(::memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!fd)
        fail("cannot create shared memory");
    if (bytes > 0 && ::ftruncate(fd.get(), off_t(bytes)) != 0)
        fail("cannot size shared memory");
    return fd;
}

void sealMemfd(int fd) {
    if (::fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
        fail("cannot seal shared memory");
}

UniqueFd memfdWithBytes(const char* name, const void* data, std::size_t bytes) {
    UniqueFd fd = createMemfd(name, 0);
    const char* p = static_cast<const char*>(data);
    std::size_t left = bytes;
    while (left > 0) {
        const ssize_t n = ::write(fd.get(), p, left);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fail("cannot fill shared memory");
        }
        p += n;
        left -= std::size_t(n);
    }
    sealMemfd(fd.get());
    return fd;
}

namespace {

std::size_t sealedSize(int fd) {
    const int seals = ::fcntl(fd, F_GET_SEALS);
    constexpr int required = F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW;
    if (seals < 0 || (seals & required) != required)
        throw ChannelError("shared memory from the decoder was not sealed");
    struct stat st {};
    if (::fstat(fd, &st) != 0)
        fail("cannot inspect shared memory");
    return std::size_t(st.st_size);
}

} // namespace

bool isSealed(int fd) {
    const int seals = ::fcntl(fd, F_GET_SEALS);
    constexpr int required = F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW;
    return seals >= 0 && (seals & required) == required;
}

namespace {
std::shared_ptr<std::byte[]> mapCopyOnWrite(int fd, std::size_t size);
}

std::shared_ptr<std::byte[]> mapOrphanedTmpfsFile(int fd, std::size_t expectedBytes) {
    struct stat st {};
    struct statfs fs {};
    if (::fstat(fd, &st) != 0 || ::fstatfs(fd, &fs) != 0)
        fail("cannot inspect shared memory");
    if (!S_ISREG(st.st_mode) || st.st_nlink != 0 || fs.f_type != TMPFS_MAGIC)
        throw ChannelError("the decoder sent voxels in something other than its private memory");
    const std::size_t size = std::size_t(st.st_size);
    if (size < expectedBytes || expectedBytes == 0)
        throw ChannelError("shared memory from the decoder is smaller than announced");
    return mapCopyOnWrite(fd, size);
}

std::shared_ptr<std::byte[]> mapSealedMemfd(int fd, std::size_t expectedBytes) {
    const std::size_t size = sealedSize(fd);
    if (size < expectedBytes || expectedBytes == 0)
        throw ChannelError("shared memory from the decoder is smaller than announced");
    return mapCopyOnWrite(fd, size);
}

namespace {

std::shared_ptr<std::byte[]> mapCopyOnWrite(int fd, std::size_t size) {
    // Mapped read-only and populated in one go (far cheaper than a fault per page), then made
    // writable copy-on-write: a caller that edits the volume (defacing, blacking out) changes
    // its own pages only, and the sealed memfd can no longer change under it.
    void* memory = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    if (memory == MAP_FAILED) {
        // Huge pages (hugetlbfs) reserve a copy-on-write page per page of a private mapping,
        // which a pool sized for one volume cannot give: then one copy on the heap.
        std::shared_ptr<std::byte[]> copy(new std::byte[size]);
        std::size_t done = 0;
        while (done < size) {
            const ssize_t n = ::pread(fd, copy.get() + done, size - done, off_t(done));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                fail("cannot read shared memory");
            done += std::size_t(n);
        }
        return copy;
    }
    if (::mprotect(memory, size, PROT_READ | PROT_WRITE) != 0) {
        ::munmap(memory, size);
        fail("cannot map shared memory");
    }
    return std::shared_ptr<std::byte[]>(static_cast<std::byte*>(memory),
                                        [size](std::byte* p) { ::munmap(p, size); });
}

} // namespace

std::string readSealedMemfd(int fd) {
    const std::size_t size = sealedSize(fd);
    if (size > (std::size_t(1) << 31))
        throw ChannelError("shared memory from the decoder is too large");
    std::string bytes(size, '\0');
    std::size_t done = 0;
    while (done < size) {
        const ssize_t n = ::pread(fd, bytes.data() + done, size - done, off_t(done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            fail("cannot read shared memory");
        done += std::size_t(n);
    }
    return bytes;
}

} // namespace radmark::decoder
