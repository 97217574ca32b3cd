#include "storage/FailedLogins.h"

#include "storage/Errors.h"
#include "storage/Keyring.h"
#include "storage/SecureBytes.h"

#include <nlohmann/json.hpp>
#include <sodium.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace radmark::storage::internal {

namespace {

constexpr const char* formatName = "radmark-failed-logins";
constexpr int formatVersion = 2;

std::string lineHash(const std::string& line) {
    initialiseCrypto();
    Bytes hash(16);
    crypto_generichash(hash.data(), hash.size(),
                       reinterpret_cast<const unsigned char*>(line.data()), line.size(), nullptr,
                       0);
    return toHex(hash);
}

std::string headerLine(const FailedLoginFile& file) {
    nlohmann::json counting = nlohmann::json::array();
    for (const auto& [id, time] : file.counting)
        counting.push_back({id, time});
    return nlohmann::json{{"format", formatName},
                          {"version", formatVersion},
                          {"drained", file.drained},
                          {"counting", counting}}
        .dump();
}

} // namespace

std::uint64_t FailedLoginFile::lastNumber() const {
    return records.empty() ? drained : records.back().number;
}

int FailedLoginFile::recent(const std::string& id, std::int64_t since,
                            bool countEveryAccount) const {
    int n = 0;
    for (const auto& [who, time] : counting)
        if (time >= since && (who == id || (countEveryAccount && who == everyAccount)))
            ++n;
    for (const auto& r : records)
        if (r.time >= since && (r.id == id || (countEveryAccount && r.id == everyAccount)))
            ++n;
    return n;
}

bool FailedLoginFile::lockedForEveryone(std::int64_t since) const {
    for (const auto& [who, time] : counting)
        if (who == everyAccount && time >= since)
            return true;
    for (const auto& r : records)
        if (r.id == everyAccount && r.time >= since)
            return true;
    return false;
}

void FailedLoginFile::append(FailedLoginRecord record) {
    record.number = lastNumber() + 1;
    records.push_back(std::move(record));
}

std::string FailedLoginFile::text() const {
    std::string out = headerLine(*this) + "\n";
    std::string previous = out.substr(0, out.size() - 1);
    for (const auto& r : records) {
        nlohmann::json j{
            {"n", r.number}, {"id", r.id}, {"t", r.time}, {"prev", lineHash(previous)}};
        if (!r.sealed.empty())
            j["sealed"] = r.sealed;
        if (!r.attempt.empty())
            j["attempt"] = r.attempt;
        previous = j.dump();
        out += previous + "\n";
    }
    return out;
}

FailedLoginFile readFailedLoginFile(const std::filesystem::path& path) {
    FailedLoginFile file;
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return file; // missing (or unreadable): not present
    std::string line;
    if (!std::getline(in, line)) {
        file.problem = "the failed-login record is empty (truncated)";
        return file;
    }
    nlohmann::json header;
    try {
        header = nlohmann::json::parse(line);
    } catch (const std::exception&) {
        file.problem = "the failed-login record is damaged";
        return file;
    }
    if (!header.is_object() || header.value("format", std::string()) != formatName) {
        // The format before the header: one {"id", "t", "sealed"} per line, no chain.
        file.legacy = true;
        do {
            try {
                const auto j = nlohmann::json::parse(line);
                file.records.push_back({file.records.size() + 1,
                                        j.at("id").get<std::string>(),
                                        j.at("t").get<std::int64_t>(),
                                        j.value("sealed", std::string()),
                                        {}});
            } catch (const std::exception&) {
            }
        } while (std::getline(in, line));
        return file;
    }
    file.present = true;
    try {
        if (header.at("version").get<int>() != formatVersion)
            throw std::runtime_error("version");
        file.drained = header.at("drained").get<std::uint64_t>();
        for (const auto& c : header.at("counting"))
            file.counting.emplace_back(c.at(0).get<std::string>(), c.at(1).get<std::int64_t>());
    } catch (const std::exception&) {
        file.problem = "the failed-login record's header is damaged";
    }
    std::string previous = headerLine(file);
    if (file.problem.empty() && previous != line)
        file.problem = "the failed-login record's header was altered";
    previous = line;
    std::uint64_t expected = file.drained + 1;
    while (std::getline(in, line)) {
        try {
            const auto j = nlohmann::json::parse(line);
            FailedLoginRecord r{j.at("n").get<std::uint64_t>(), j.at("id").get<std::string>(),
                                j.at("t").get<std::int64_t>(), j.value("sealed", std::string()),
                                j.value("attempt", std::string())};
            if (file.problem.empty() &&
                (r.number != expected || j.value("prev", std::string()) != lineHash(previous)))
                file.problem = "a failed-login record was removed or altered (record " +
                               std::to_string(expected) + ")";
            expected = r.number + 1;
            file.records.push_back(std::move(r));
        } catch (const std::exception&) {
            if (file.problem.empty())
                file.problem = "a failed-login record is damaged";
        }
        previous = line;
    }
    return file;
}

void writeFailedLoginFile(const std::filesystem::path& path, const FailedLoginFile& file) {
    writeFileAtomically(path, file.text());
}

StoreFolderLock::StoreFolderLock(const std::filesystem::path& dir) {
    fd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd_ < 0)
        throw StoreError("cannot open the store folder " + dir.string() + ": " +
                         std::strerror(errno));
    while (::flock(fd_, LOCK_EX) != 0) {
        if (errno == EINTR)
            continue;
        const int error = errno;
        ::close(fd_);
        fd_ = -1;
        throw StoreError("cannot lock the store folder: " + std::string(std::strerror(error)));
    }
}

StoreFolderLock::~StoreFolderLock() {
    if (fd_ >= 0)
        ::close(fd_); // releases the flock
}

} // namespace radmark::storage::internal
