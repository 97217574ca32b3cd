#include "bundle/BagIt.h"

#include "bundle/BagLayout.h"
#include "bundle/Errors.h"
#include "bundle/Sha256.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace radmark::bundle {

namespace fs = std::filesystem;

std::string encodeManifestPath(const std::string& path) {
    std::string out;
    out.reserve(path.size());
    for (char c : path) {
        if (c == '%')
            out += "%25";
        else if (c == '\n')
            out += "%0A";
        else if (c == '\r')
            out += "%0D";
        else
            out += c;
    }
    return out;
}

std::string decodeManifestPath(const std::string& encoded) {
    // Only the three encodings the RFC defines are decoded (any case), as bagit-python does.
    std::string out;
    out.reserve(encoded.size());
    for (std::size_t i = 0; i < encoded.size(); ++i) {
        if (encoded[i] == '%' && i + 2 < encoded.size()) {
            std::string code = encoded.substr(i + 1, 2);
            std::transform(code.begin(), code.end(), code.begin(), ::toupper);
            if (code == "25" || code == "0A" || code == "0D") {
                out += code == "25" ? '%' : code == "0A" ? '\n' : '\r';
                i += 2;
                continue;
            }
        }
        out += encoded[i];
    }
    return out;
}

std::string formatManifest(std::vector<ManifestEntry> entries) {
    std::sort(entries.begin(), entries.end(),
              [](const ManifestEntry& a, const ManifestEntry& b) { return a.path < b.path; });
    std::string text;
    for (const auto& e : entries)
        text += e.sha256 + "  " + encodeManifestPath(e.path) + "\n";
    return text;
}

std::vector<ManifestEntry> parseManifest(const std::string& text, const std::string& fileName) {
    std::vector<ManifestEntry> entries;
    std::size_t start = 0;
    int lineNumber = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos)
            end = text.size();
        std::string line = text.substr(start, end - start);
        start = end + 1;
        ++lineNumber;
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        if (line.empty())
            continue;
        const std::size_t space = line.find_first_of(" \t");
        const std::size_t pathStart =
            space == std::string::npos ? std::string::npos : line.find_first_not_of(" \t", space);
        const std::string digest = line.substr(0, space);
        const bool hex =
            digest.size() == 64 && std::all_of(digest.begin(), digest.end(), [](char c) {
                return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
            });
        if (!hex || pathStart == std::string::npos)
            throw BundleError(fileName + " line " + std::to_string(lineNumber) +
                              " is not \"SHA-256 path\"");
        std::string lower = digest;
        std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
        entries.push_back({lower, decodeManifestPath(line.substr(pathStart))});
    }
    return entries;
}

std::vector<BagInfoField> parseBagInfo(const std::string& text) {
    std::vector<BagInfoField> fields;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        if (line.empty())
            continue;
        if ((line[0] == ' ' || line[0] == '\t') && !fields.empty()) {
            const std::size_t first = line.find_first_not_of(" \t");
            if (first != std::string::npos)
                fields.back().value += " " + line.substr(first);
            continue;
        }
        const std::size_t colon = line.find(':');
        if (colon == std::string::npos)
            continue;
        std::string label = line.substr(0, colon);
        while (!label.empty() && (label.back() == ' ' || label.back() == '\t'))
            label.pop_back();
        const std::size_t valueStart = line.find_first_not_of(" \t", colon + 1);
        fields.push_back(
            {label, valueStart == std::string::npos ? std::string() : line.substr(valueStart)});
    }
    return fields;
}

namespace {

void collectRegularFiles(const fs::path& base, const fs::path& folder,
                         std::vector<std::string>& out, bool skipPayload,
                         std::vector<std::string>* refused) {
    std::error_code ec;
    for (fs::recursive_directory_iterator it(folder, ec), end; it != end; it.increment(ec)) {
        if (ec)
            throw BundleError("cannot list " + folder.string() + ": " + ec.message());
        const auto status = it->symlink_status(ec);
        const std::string relative = it->path().lexically_relative(base).generic_string();
        if (skipPayload && it.depth() == 0 && relative == layout::payloadFolder) {
            it.disable_recursion_pending();
            continue;
        }
        if (fs::is_directory(status))
            continue;
        if (!fs::is_regular_file(status) && refused) {
            refused->push_back(relative);
            continue;
        }
        if (!fs::is_regular_file(status))
            throw BundleError(relative + " is not a regular file (links and devices are refused "
                                         "in a bundle)");
        out.push_back(relative);
    }
    if (ec)
        throw BundleError("cannot list " + folder.string() + ": " + ec.message());
}

std::string formatBagInfo(const BagInfo& info, const BagTotals& totals) {
    std::vector<BagInfoField> fields = {{"Bagging-Date", info.baggingDate},
                                        {"Bag-Software-Agent", info.softwareAgent}};
    fields.insert(fields.end(), info.fields.begin(), info.fields.end());
    fields.push_back({"Payload-Oxum", std::to_string(totals.payloadOctets) + "." +
                                          std::to_string(totals.payloadFiles)});
    std::string text;
    for (const auto& f : fields) {
        if (f.label.empty() || f.label.find_first_of(":\r\n") != std::string::npos ||
            f.label.front() == ' ' || f.label.back() == ' ')
            throw BundleError("the bag-info.txt label \"" + f.label + "\" is not allowed");
        if (f.value.find_first_of("\r\n") != std::string::npos)
            throw BundleError("the bag-info.txt field " + f.label + " must be one line");
        text += f.label + ": " + f.value + "\n";
    }
    return text;
}

bool validDate(const std::string& d) {
    return d.size() == 10 && d[4] == '-' && d[7] == '-' &&
           std::all_of(d.begin(), d.end(), [](char c) { return c == '-' || std::isdigit(c); });
}

} // namespace

bool isTagManifestName(const std::string& name) {
    return name.rfind("tagmanifest-", 0) == 0 && name.size() > 16 &&
           name.compare(name.size() - 4, 4, ".txt") == 0;
}

std::vector<std::string> listRegularFiles(const fs::path& base, const fs::path& folder,
                                          std::vector<std::string>* refused) {
    std::vector<std::string> files;
    collectRegularFiles(base, folder, files, false, refused);
    std::sort(files.begin(), files.end());
    return files;
}

std::vector<std::string> listTagFiles(const fs::path& bag, std::vector<std::string>* refused) {
    std::vector<std::string> all;
    collectRegularFiles(bag, bag, all, true, refused);
    std::vector<std::string> tags;
    for (auto& f : all)
        if (!isTagManifestName(f) && f != layout::signatureFile)
            tags.push_back(std::move(f));
    std::sort(tags.begin(), tags.end());
    return tags;
}

std::string readTextFile(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw BundleError("cannot read " + file.string());
    std::ostringstream s;
    s << in.rdbuf();
    if (in.bad())
        throw BundleError("cannot read " + file.string());
    return s.str();
}

void writeTextFile(const fs::path& file, const std::string& text) {
    const fs::path temporary = file.parent_path() / ("." + file.filename().string() + ".partial");
    ::unlink(temporary.c_str());
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        throw BundleError("cannot write " + file.string() + ": " + std::strerror(errno));
    std::size_t done = 0;
    int error = 0;
    while (done < text.size() && !error) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno != EINTR)
            error = errno;
        else if (n > 0)
            done += std::size_t(n);
    }
    if (!error && ::fsync(fd) != 0)
        error = errno;
    if (::close(fd) != 0 && !error)
        error = errno;
    if (!error && ::rename(temporary.c_str(), file.c_str()) != 0)
        error = errno;
    if (error) {
        ::unlink(temporary.c_str());
        throw BundleError("cannot write " + file.string() + ": " + std::strerror(error));
    }
}

BagTotals writeBagFiles(const fs::path& bag, const BagInfo& info, unsigned threads) {
    if (!validDate(info.baggingDate))
        throw BundleError("the bagging date must be YYYY-MM-DD, not \"" + info.baggingDate + "\"");
    const fs::path payload = bag / layout::payloadFolder;
    std::error_code ec;
    if (!fs::is_directory(fs::symlink_status(payload, ec)))
        throw BundleError(payload.string() + " is not a folder: fill the payload first");
    for (const auto& entry : fs::directory_iterator(bag, ec)) {
        const std::string name = entry.path().filename().string();
        if ((name.rfind("manifest-", 0) == 0 || isTagManifestName(name)) &&
            name != layout::manifestFile && name != layout::tagManifestFile)
            throw BundleError(name + ": Radmark bags carry SHA-256 manifests only");
    }

    // 1. The payload manifest.
    const std::vector<std::string> payloadFiles = listRegularFiles(bag, payload);
    std::vector<fs::path> paths;
    for (const auto& f : payloadFiles)
        paths.push_back(bag / f);
    const std::vector<FileDigest> digests = sha256Files(paths, threads);
    BagTotals totals;
    std::vector<ManifestEntry> manifest;
    for (std::size_t i = 0; i < payloadFiles.size(); ++i) {
        manifest.push_back({digests[i].sha256, payloadFiles[i]});
        totals.payloadOctets += digests[i].size;
    }
    totals.payloadFiles = payloadFiles.size();
    const std::string manifestText = formatManifest(manifest);
    totals.manifestSha256 = sha256Hex(manifestText.data(), manifestText.size());

    // 2. The declaration, the bag's metadata and the manifest, then the tag manifest over every
    //    tag file (the ones the export added included), written last.
    writeTextFile(bag / layout::bagitFile,
                  "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n");
    writeTextFile(bag / layout::bagInfoFile, formatBagInfo(info, totals));
    writeTextFile(bag / layout::manifestFile, manifestText);
    std::vector<ManifestEntry> tagManifest;
    for (const auto& tag : listTagFiles(bag))
        tagManifest.push_back({sha256File(bag / tag).sha256, tag});
    const std::string tagManifestText = formatManifest(tagManifest);
    writeTextFile(bag / layout::tagManifestFile, tagManifestText);
    totals.tagManifestSha256 = sha256Hex(tagManifestText.data(), tagManifestText.size());
    return totals;
}

} // namespace radmark::bundle
