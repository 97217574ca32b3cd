#include "delivery/SmbCredentials.h"

#include "delivery/Errors.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

namespace radmark::delivery {
namespace {

std::string ownerName(uid_t uid) {
    if (const passwd* pw = ::getpwuid(uid))
        return pw->pw_name;
    return "uid " + std::to_string(uid);
}

std::optional<std::string> statProblem(const struct stat& st, const std::string& name,
                                       uid_t owner) {
    if (!S_ISREG(st.st_mode))
        return "the credentials file " + name + " is not a regular file";
    if (st.st_uid != owner)
        return "the credentials file " + name + " belongs to " + ownerName(st.st_uid) +
               ", not to the store's owner " + ownerName(owner);
    const mode_t mode = st.st_mode & 07777;
    if (mode != 0600 && mode != 0400) {
        char octal[8];
        std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(mode));
        return "the credentials file " + name + " has mode " + octal +
               "; it must be readable by its owner only (0600 or 0400)";
    }
    return std::nullopt;
}

void wipe(std::string& secret) {
    if (!secret.empty())
        ::explicit_bzero(secret.data(), secret.size());
    secret.clear();
}

std::string trim(const std::string& text) {
    const auto first = text.find_first_not_of(" \t\r");
    if (first == std::string::npos)
        return {};
    const auto last = text.find_last_not_of(" \t\r");
    return text.substr(first, last - first + 1);
}

} // namespace

SmbCredentials::~SmbCredentials() {
    wipe(password);
}

std::string SmbCredentials::authenticationFileText() const {
    // Samba eats the spaces after '=' and cuts at the line's end: such a password cannot pass.
    if (password.find_first_of("\n\r") != std::string::npos ||
        (!password.empty() && (password.front() == ' ' || password.front() == '\t')))
        throw DeliveryFailed(DeliveryProblem::Authentication,
                             "the share password starts with a space or holds a line break, "
                             "which smbclient cannot take");
    std::string text = "username = " + user + "\npassword = " + password + "\n";
    if (!domain.empty())
        text += "domain = " + domain + "\n";
    return text;
}

std::optional<std::string> credentialsFileProblem(const std::filesystem::path& file, uid_t owner) {
    struct stat st {};
    if (::lstat(file.c_str(), &st) != 0)
        return "the credentials file " + file.string() + " cannot be read (" +
               std::strerror(errno) + ")";
    if (S_ISLNK(st.st_mode))
        return "the credentials file " + file.string() + " is a symbolic link";
    return statProblem(st, file.string(), owner);
}

SmbCredentials readCredentialsFile(const std::filesystem::path& file, uid_t owner) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        if (errno == ELOOP)
            throw DestinationRefused("the credentials file " + file.string() +
                                     " is a symbolic link");
        throw DestinationRefused("the credentials file " + file.string() + " cannot be read (" +
                                 std::strerror(errno) + ")");
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        ::close(fd);
        throw DestinationRefused("the credentials file " + file.string() + " cannot be read");
    }
    if (auto problem = statProblem(st, file.string(), owner)) {
        ::close(fd);
        throw DestinationRefused(*problem);
    }
    std::string text;
    char buffer[4096];
    for (;;) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        text.append(buffer, static_cast<std::size_t>(n));
        if (text.size() > 64 * 1024)
            break;
    }
    ::explicit_bzero(buffer, sizeof buffer);
    ::close(fd);

    SmbCredentials c;
    std::istringstream lines(text);
    std::string line;
    int number = 0;
    while (std::getline(lines, line)) {
        ++number;
        const std::string stripped = trim(line);
        if (stripped.empty() || stripped[0] == '#' || stripped[0] == ';')
            continue;
        const auto eq = line.find('=');
        if (eq == std::string::npos) {
            wipe(line);
            wipe(text);
            throw DestinationRefused("the credentials file " + file.string() + " line " +
                                     std::to_string(number) + " is not \"key = value\"");
        }
        std::string key = trim(line.substr(0, eq));
        for (char& ch : key)
            ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        std::string value = line.substr(eq + 1);
        if (!value.empty() && value.back() == '\r')
            value.pop_back();
        if (key == "username" || key == "user") {
            c.user = trim(value);
        } else if (key == "password" || key == "pass") {
            // As Samba reads it: spaces after '=' are not part of the password.
            const auto start = value.find_first_not_of(" \t");
            c.password = start == std::string::npos ? "" : value.substr(start);
        } else if (key == "domain" || key == "dom") {
            c.domain = trim(value);
        } else {
            wipe(line);
            wipe(text);
            throw DestinationRefused("the credentials file " + file.string() +
                                     " has an unknown key '" + key +
                                     "' (username, password and domain are known)");
        }
        wipe(value);
    }
    wipe(line);
    wipe(text);
    if (c.user.empty())
        throw DestinationRefused("the credentials file " + file.string() + " names no username");
    return c;
}

} // namespace radmark::delivery
