#include "pacs/PacsImport.h"

#include "imaging/deid/KeyedIdentity.h"
#include "storage/Permissions.h"
#include "storage/SecureBytes.h"
#include "storage/Session.h"

#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace radmark::pacs {
namespace fs = std::filesystem;

std::vector<storage::PacsNode> pacsNodes(const storage::Policy& policy) {
    std::vector<storage::PacsNode> nodes = policy.pacsNodes;
    std::stable_partition(nodes.begin(), nodes.end(),
                          [](const storage::PacsNode& n) { return n.preferred; });
    return nodes;
}

storage::PacsNode pacsNode(const storage::Policy& policy, const std::string& name) {
    if (auto node = policy.findPacsNode(name))
        return *node;
    throw PacsError(PacsError::Kind::Other,
                    "no PACS node named '" + name.substr(0, 100) +
                        "' in the site policy (radmark-cli pacs nodes lists them)");
}

Credentials credentialsFor(const storage::PacsNode& node, const AskPassword& askPassword) {
    Credentials credentials;
    if (!node.credentialsFile.empty()) {
        const std::string which = "the credentials file of PACS node '" + node.name + "'";
        struct stat info {};
        if (::lstat(node.credentialsFile.c_str(), &info) != 0)
            throw PacsError(PacsError::Kind::Other, which + " cannot be read");
        if (!S_ISREG(info.st_mode))
            throw PacsError(PacsError::Kind::Other, which + " is not a regular file");
        if ((info.st_uid != 0 && info.st_uid != ::geteuid()) || (info.st_mode & 077) != 0)
            throw PacsError(PacsError::Kind::Other,
                            which + " may be read by others: it must be owned by root (or the "
                                    "service) with mode 0600 or 0400");
        std::ifstream in(node.credentialsFile);
        if (!in)
            throw PacsError(PacsError::Kind::Other, which + " cannot be read");
        std::string line, password, token;
        while (std::getline(in, line)) {
            if (!line.empty() && line.back() == '\r')
                line.pop_back();
            const auto equals = line.find('=');
            if (line.empty() || line.front() == '#' || equals == std::string::npos)
                continue;
            const std::string key = line.substr(0, equals);
            std::string value = line.substr(equals + 1);
            if (key == "username")
                credentials.user = value;
            else if (key == "password")
                password = value;
            else if (key == "token")
                token = value;
            sodium_memzero(value.data(), value.size());
        }
        sodium_memzero(line.data(), line.size());
        if (!token.empty()) {
            credentials.kind = Credentials::Kind::Bearer;
            credentials.secret = token;
        } else if (!credentials.user.empty()) {
            credentials.kind = Credentials::Kind::Basic;
            credentials.secret = password;
        } else {
            throw PacsError(PacsError::Kind::Other,
                            which + " holds neither username= and password= nor token=");
        }
        sodium_memzero(password.data(), password.size());
        sodium_memzero(token.data(), token.size());
        return credentials;
    }
    if (!node.user.empty()) {
        if (!askPassword)
            throw PacsError(PacsError::Kind::Other,
                            "PACS node '" + node.name + "' needs the password of " + node.user);
        credentials.kind = Credentials::Kind::Basic;
        credentials.user = node.user;
        credentials.secret = askPassword("password of " + node.user + " at PACS node " + node.name);
    }
    return credentials;
}

std::unique_ptr<PacsClient> clientFor(const storage::PacsNode& node,
                                      const Credentials& credentials) {
    return std::make_unique<DicomWebClient>(node, credentials);
}

std::string queryValueHash(storage::Session& session, const std::string& field,
                           const std::string& value) {
    const deid::StoreSecret secret = storage::storeDeidentificationSecret(session);
    const deid::KeyedHash hash(secret);
    std::string normalized;
    for (char c : value)
        if (c != ' ')
            normalized += char(std::toupper(static_cast<unsigned char>(c)));
    const auto digest = hash.digest16("pacs-query:" + field, normalized);
    return storage::toHex(digest.data(), 8);
}

void echoNode(storage::Session& session, PacsClient& client, const std::string& nodeName) {
    storage::require(session, storage::Action::ImportStudy, "PACS echo");
    session.touch();
    try {
        client.echo();
    } catch (const PacsError& error) {
        session.recordAccess("pacs echo", nodeName, std::string("failed: ") + error.what());
        throw;
    }
    session.recordAccess("pacs echo", nodeName, "ok");
}

std::vector<StudyRow> queryStudies(storage::Session& session, PacsClient& client,
                                   const std::string& nodeName, const StudyQuery& query) {
    storage::require(session, storage::Action::ImportStudy, "PACS query");
    session.touch();
    // What was asked, for the log: every typed value as its keyed hash (never the value), the
    // modality as it is (not identifying).
    std::string asked;
    const auto add = [&](const char* field, const std::string& value) {
        if (value.empty())
            return;
        if (!asked.empty())
            asked += ", ";
        asked += std::string(field) + " #" + queryValueHash(session, field, value);
    };
    add("patient ID", query.patientId);
    add("patient name", query.patientName);
    add("accession", query.accessionNumber);
    add("date from", query.dateFrom);
    add("date to", query.dateTo);
    add("description", query.studyDescription);
    if (!query.modality.empty())
        asked +=
            std::string(asked.empty() ? "" : ", ") + "modality " + query.modality.substr(0, 16);
    if (asked.empty())
        asked = "no filter";
    std::vector<StudyMatch> matches;
    try {
        matches = client.queryStudies(query);
    } catch (const PacsError& error) {
        session.recordAccess("pacs query", nodeName, asked + ": failed: " + error.what());
        throw;
    }
    session.recordAccess("pacs query", nodeName,
                         asked + ": " + std::to_string(matches.size()) + " studies found");
    std::vector<StudyRow> rows;
    for (auto& match : matches) {
        StudyRow row;
        row.stored = storage::findStoredStudy(session, match.studyUid);
        row.study = std::move(match);
        rows.push_back(std::move(row));
    }
    return rows;
}

std::vector<SeriesRow> querySeries(storage::Session& session, PacsClient& client,
                                   const std::string& studyUid) {
    storage::require(session, storage::Action::ImportStudy, "PACS query");
    const auto stored = storage::findStoredStudy(session, studyUid);
    std::vector<SeriesRow> rows;
    for (auto& series : client.querySeries(studyUid)) {
        SeriesRow row;
        row.stored = stored && stored->holdsSeries(session, series.seriesUid);
        row.series = std::move(series);
        rows.push_back(std::move(row));
    }
    return rows;
}

storage::StudyImportResult retrieveStudy(storage::Session& session, PacsClient& client,
                                         const std::string& nodeName, const std::string& studyUid,
                                         const std::vector<std::string>& seriesUids,
                                         const storage::ImportOptions& options,
                                         const RetrieveProgress& progress) {
    storage::require(session, storage::Action::ImportStudy, "PACS retrieve");
    session.touch();
    storage::StudyImportResult result;
    result.source = "PACS " + nodeName;
    if (!validUid(studyUid)) {
        result.reason = "not a valid Study Instance UID";
        return result;
    }
    const auto report = [&](double fraction, const std::string& stage) {
        return !progress || progress(std::clamp(fraction, 0.0, 1.0), stage);
    };
    const auto failed = [&](storage::ImportStatus status, const std::string& reason) {
        result.status = status;
        result.reason = reason;
        session.recordAccess("pacs retrieve", nodeName,
                             std::string(storage::importStatusName(status)) + ": " + reason);
        return result;
    };
    // The series to retrieve, and how many instances each should bring (for the progress).
    std::vector<std::pair<std::string, int>> wanted;
    try {
        const auto listed = client.querySeries(studyUid);
        for (const auto& series : listed)
            if (seriesUids.empty() || std::find(seriesUids.begin(), seriesUids.end(),
                                                series.seriesUid) != seriesUids.end())
                wanted.emplace_back(series.seriesUid, series.instanceCount);
        for (const auto& uid : seriesUids)
            if (std::none_of(wanted.begin(), wanted.end(),
                             [&](const auto& w) { return w.first == uid; }))
                return failed(storage::ImportStatus::Failed,
                              "the PACS has no such series in this study");
    } catch (const PacsError& error) {
        return failed(storage::ImportStatus::Failed,
                      std::string("the series could not be listed: ") + error.what());
    }
    if (wanted.empty())
        return failed(storage::ImportStatus::Failed, "the PACS has no series in this study");
    // "Already in store" from the keyed UID remapping, before anything is retrieved: a stored
    // series is not retrieved again.
    const auto stored = storage::findStoredStudy(session, studyUid);
    if (stored) {
        std::erase_if(wanted, [&](const auto& w) { return stored->holdsSeries(session, w.first); });
        if (wanted.empty()) {
            result.status = storage::ImportStatus::AlreadyInStore;
            result.studyId = stored->studyId;
            result.label = stored->label;
            session.recordAccess("pacs retrieve", nodeName,
                                 stored->label + ": already in store, not retrieved");
            return result;
        }
    }
    double expected = 0;
    for (const auto& w : wanted)
        expected += std::max(1, w.second);
    // Retrieve everything first: the import starts only once the whole study is in memory, so a
    // transfer that stops half-way stores nothing of it.
    std::vector<decoder::UniqueFd> instances;
    std::size_t bytes = 0;
    try {
        for (const auto& [seriesUid, count] : wanted) {
            (void)count;
            client.retrieveSeries(studyUid, seriesUid, [&](decoder::UniqueFd fd, std::size_t size) {
                instances.push_back(std::move(fd));
                bytes += size;
                return report(0.5 * double(instances.size()) / std::max(expected, 1.0),
                              "retrieving");
            });
            if (!report(0.5 * double(instances.size()) / std::max(expected, 1.0), "retrieving"))
                throw PacsError(PacsError::Kind::Cancelled, "the retrieve was cancelled");
        }
    } catch (const PacsError& error) {
        if (error.kind() == PacsError::Kind::Cancelled)
            return failed(storage::ImportStatus::Cancelled,
                          "the retrieve was cancelled; nothing of this study was stored");
        return failed(storage::ImportStatus::Failed, std::string("the retrieve stopped (") +
                                                         error.what() +
                                                         "); nothing of this study was stored");
    }
    if (instances.empty())
        return failed(storage::ImportStatus::Failed, "the PACS sent no instance of this study");
    // The import takes the instances over and frees each one as soon as it is decoded.
    const std::size_t instanceCount = instances.size();
    const auto results =
        storage::importHeldInstances(session, std::move(instances), result.source.string(),
                                     options, [&](double fraction, const std::string& stage) {
                                         return report(0.5 + 0.5 * fraction, stage);
                                     });
    // One study was asked for: a second result is a study the PACS sent beside it, or a file the
    // decoder refused; the study's own comes first among the imported ones.
    storage::StudyImportResult main =
        results.empty() ? storage::StudyImportResult{} : results.front();
    for (const auto& r : results)
        if (r.status == storage::ImportStatus::Imported ||
            r.status == storage::ImportStatus::AlreadyInStore) {
            main = r;
            break;
        }
    for (const auto& r : results)
        if (&r != &main && !r.reason.empty() && r.reason != main.reason)
            main.warnings.push_back(std::string(storage::importStatusName(r.status)) + ": " +
                                    r.reason);
    main.source = result.source;
    std::string details = std::to_string(instanceCount) + " instance(s) in " +
                          std::to_string(wanted.size()) + " series retrieved (" +
                          std::to_string((bytes + (1 << 19)) >> 20) +
                          " MiB): " + storage::importStatusName(main.status);
    if (!main.label.empty())
        details += " " + main.label;
    if (!main.reason.empty())
        details += ": " + main.reason;
    session.recordAccess("pacs retrieve", nodeName, details);
    return main;
}

} // namespace radmark::pacs
