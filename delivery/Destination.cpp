#include "delivery/Destination.h"

#include "delivery/Errors.h"
#include "delivery/MountDecision.h"
#include "delivery/SmbCredentials.h"

namespace radmark::delivery {
namespace {

// Characters no SMB path component may hold, and names that mean something else.
void checkComponent(const std::string& part, const std::string& url) {
    if (part == "." || part == "..")
        throw DestinationRefused("the share URL " + url + " holds '" + part + "'");
    for (unsigned char ch : part)
        if (ch < 0x20 || ch == 0x7f ||
            std::string("\"\\:*?<>|").find(static_cast<char>(ch)) != std::string::npos)
            throw DestinationRefused("the share URL " + url +
                                     " holds a character a share "
                                     "cannot name ('" +
                                     part + "')");
    if (part.front() == ' ' || part.back() == ' ' || part.back() == '.')
        throw DestinationRefused("the share URL " + url +
                                 " has a part that starts or ends with a space or ends with a dot");
}

} // namespace

std::string SmbLocation::url() const {
    std::string text =
        "smb://" + host + (port == 445 ? "" : ":" + std::to_string(port)) + "/" + share;
    if (!folder.empty())
        text += "/" + folder;
    return text;
}

std::string SmbLocation::service() const {
    return "//" + host + "/" + share;
}

std::string SmbLocation::remoteFolder() const {
    std::string text = "\\" + folder;
    for (char& ch : text)
        if (ch == '/')
            ch = '\\';
    return text;
}

SmbLocation parseSmbUrl(const std::string& url) {
    const std::string scheme = "smb://";
    if (url.rfind(scheme, 0) != 0)
        throw DestinationRefused("a share URL must start with smb:// (" + url + ")");
    std::string rest = url.substr(scheme.size());
    const auto slash = rest.find('/');
    const std::string authority = rest.substr(0, slash);
    const std::string path = slash == std::string::npos ? "" : rest.substr(slash + 1);
    if (authority.find('@') != std::string::npos)
        throw DestinationRefused("the share URL " + url +
                                 " must not hold a user name: the policy names a credentials file");
    SmbLocation loc;
    std::string portText;
    if (!authority.empty() && authority[0] == '[') {
        const auto close = authority.find(']');
        if (close == std::string::npos)
            throw DestinationRefused("the share URL " + url + " has an unclosed [");
        loc.host = authority.substr(0, close + 1);
        if (close + 1 < authority.size()) {
            if (authority[close + 1] != ':')
                throw DestinationRefused("the share URL " + url + " has a bad host");
            portText = authority.substr(close + 2);
        }
    } else {
        const auto colon = authority.find(':');
        loc.host = authority.substr(0, colon);
        if (colon != std::string::npos)
            portText = authority.substr(colon + 1);
        if (loc.host.empty() ||
            loc.host.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                       "0123456789.-") != std::string::npos)
            throw DestinationRefused("the share URL " + url + " has no valid host name");
    }
    if (!portText.empty() || (authority.find(':') != std::string::npos && authority[0] != '[')) {
        if (portText.empty() || portText.size() > 5 ||
            portText.find_first_not_of("0123456789") != std::string::npos ||
            std::stoi(portText) < 1 || std::stoi(portText) > 65535)
            throw DestinationRefused("the share URL " + url + " has a port that is not 1-65535");
        loc.port = std::stoi(portText);
    }
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (start <= path.size()) {
        const auto end = path.find('/', start);
        const std::string part =
            path.substr(start, end == std::string::npos ? std::string::npos : end - start);
        if (!part.empty()) {
            if (part.find_first_of("?#") != std::string::npos && parts.empty())
                throw DestinationRefused("the share URL " + url + " must not hold ? or #");
            checkComponent(part, url);
            parts.push_back(part);
        }
        if (end == std::string::npos)
            break;
        start = end + 1;
    }
    if (parts.empty())
        throw DestinationRefused("the share URL " + url + " names no share (smb://host/share)");
    loc.share = parts[0];
    for (std::size_t i = 1; i < parts.size(); ++i)
        loc.folder += (i > 1 ? "/" : "") + parts[i];
    return loc;
}

std::string Destination::location() const {
    if (!invalid.empty())
        return written;
    return kind == Kind::SmbShare ? smb.url() : folder.string();
}

std::vector<Destination> destinations(const storage::Policy& policy) {
    std::vector<Destination> list;
    for (const auto& entry : policy.destinations()) {
        Destination d;
        d.name = entry.name;
        d.written = entry.isSmb() ? entry.smbUrl : entry.folder.string();
        if (entry.isSmb()) {
            d.kind = Destination::Kind::SmbShare;
            d.credentialsFile = entry.credentialsFile;
            d.user = entry.smbUser;
            try {
                d.smb = parseSmbUrl(entry.smbUrl);
            } catch (const DestinationRefused& e) {
                d.invalid = e.reason();
            }
        } else {
            d.kind = Destination::Kind::Folder;
            d.folder = entry.folder;
            d.local = entry.local;
        }
        list.push_back(std::move(d));
    }
    return list;
}

Destination findDestination(const storage::Policy& policy, const std::string& name) {
    for (auto& d : destinations(policy))
        if (d.name == name)
            return d;
    throw DestinationRefused("the site policy has no export destination named '" + name + "'");
}

DestinationCheck checkDestination(const Destination& destination,
                                  const DeliveryEnvironment& environment) {
    DestinationCheck check;
    if (!destination.invalid.empty()) {
        check.reason = destination.invalid;
        return check;
    }
    if (destination.kind == Destination::Kind::SmbShare) {
        if (!destination.credentialsFile.empty()) {
            if (auto problem =
                    credentialsFileProblem(destination.credentialsFile, environment.storeOwner)) {
                check.reason = *problem;
                return check;
            }
        }
        check.allowed = true;
        check.reason = "SMB3 share " + destination.smb.url() + ", encryption required; " +
                       (destination.credentialsFile.empty()
                            ? "the password of " + destination.user + " is asked for"
                            : "credentials from " + destination.credentialsFile.string());
        return check;
    }
    try {
        const FolderDecision d = decideFolder(destination.folder, destination.local,
                                              environment.mountInfo, environment.sysRoot);
        check.allowed = d.allowed;
        check.reason = d.reason;
    } catch (const DeliveryError& e) {
        check.reason = e.what();
    }
    return check;
}

void requireAllowed(const Destination& destination, const DeliveryEnvironment& environment) {
    const DestinationCheck check = checkDestination(destination, environment);
    if (!check.allowed)
        throw DestinationRefused("export destination '" + destination.name +
                                 "' refused: " + check.reason);
}

} // namespace radmark::delivery
