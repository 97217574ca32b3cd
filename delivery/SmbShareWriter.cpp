#include "delivery/SmbShareWriter.h"

#include "delivery/BundleTree.h"
#include "delivery/LocalStaging.h"

#include <ctime>
#include <map>

namespace radmark::delivery {
namespace fs = std::filesystem;
namespace {

std::string backslashed(std::string path) {
    for (char& ch : path)
        if (ch == '/')
            ch = '\\';
    return path;
}

} // namespace

SmbShareWriter::SmbShareWriter(Destination destination, DeliveryEnvironment environment,
                               SmbCredentials credentials)
    : destination_(std::move(destination)), environment_(std::move(environment)),
      client_(destination_.smb, std::move(credentials), environment_.smbclient,
              environment_.smbTimeoutSeconds) {}

SmbShareWriter::~SmbShareWriter() {
    abandonBundle();
}

std::string SmbShareWriter::delivering(const std::string& bundleName) const {
    return "delivering " + bundleName + " to " + destination_.smb.url();
}

std::string SmbShareWriter::remote(const std::string& relative) const {
    const std::string base = destination_.smb.remoteFolder();
    return smbQuote((base == "\\" ? base : base + "\\") + backslashed(relative));
}

std::vector<std::string> SmbShareWriter::leftOvers() const {
    const SmbLocation& where = destination_.smb;
    const std::string folder = where.remoteFolder();
    const auto listing =
        client_.run({"cd " + smbQuote(folder), "ls " + remote(std::string(partialPrefix) + "*")});
    if (auto failure = findFailure(listing.lines, where, {"NT_STATUS_NO_SUCH_FILE"})) {
        if (failure->status == "NT_STATUS_OBJECT_NAME_NOT_FOUND" ||
            failure->status == "NT_STATUS_OBJECT_PATH_NOT_FOUND")
            failure->message = "the folder " + where.folder + " does not exist on the share " +
                               where.service() + " (" + failure->status + ")";
        throwFailure(*failure, "cannot use the share " + where.url());
    }
    if (listing.exitCode != 0)
        throw DeliveryFailed(DeliveryProblem::Other, "cannot use the share " + where.url() +
                                                         ": smbclient ended with " +
                                                         std::to_string(listing.exitCode));
    std::vector<std::string> names;
    const std::time_t now = std::time(nullptr);
    for (const auto& entry : parseListing(listing.lines, folder))
        if (entry.directory && isLeftOver(entry.path, entry.modified, now))
            names.push_back(entry.path);
    return names;
}

std::vector<std::string> SmbShareWriter::prepare() {
    const SmbLocation& where = destination_.smb;
    std::vector<std::string> notes;
    for (const auto& name : leftOvers())
        notes.push_back(removePartial(name)
                            ? "removed " + name + ", an unfinished export an earlier run left on " +
                                  where.url()
                            : "could not remove " + name +
                                  ", an unfinished export an earlier run left on " + where.url());
    for (auto& note : removeLeftOverStaging(stagingRootOr(environment_.stagingRoot)))
        notes.push_back(std::move(note));
    return notes;
}

bool SmbShareWriter::removePartial(const std::string& partial) const {
    bool removed = false;
    try {
        const auto result = client_.run({"deltree " + remote(partial)});
        removed = result.exitCode == 0 &&
                  !findFailure(result.lines, destination_.smb,
                               {"NT_STATUS_NO_SUCH_FILE", "NT_STATUS_OBJECT_NAME_NOT_FOUND"});
    } catch (const DeliveryError&) {
    }
    markFinished(partial);
    return removed;
}

SmbShareWriter::Batch SmbShareWriter::unsent(const fs::path& local, const BundleTree& tree,
                                             const std::string& partial) {
    Batch batch;
    if (!partialMade_) {
        batch.commands.push_back("mkdir " + remote(partial));
        partialMade_ = true;
    }
    for (const auto& folder : tree.folders)
        if (sentFolders_.insert(folder).second)
            batch.commands.push_back("mkdir " + remote(partial + "/" + folder));
    for (const auto& f : tree.files)
        if (sentFiles_.insert(f.path).second) {
            batch.commands.push_back("put " + smbQuote((local / f.path).string()) + " " +
                                     remote(partial + "/" + f.path));
            batch.files.push_back(f);
        }
    return batch;
}

SmbShareWriter::BatchOutcome
SmbShareWriter::run(SmbclientSession& session, const Batch& batch,
                    const std::function<bool(const BundleFile&)>& onConfirmed,
                    const std::function<bool()>& keepGoing) const {
    BatchOutcome outcome;
    outcome.expected = batch.files.size();
    if (batch.commands.empty()) {
        outcome.result.exitCode = 0;
        return outcome;
    }
    outcome.result = session.exchange(
        batch.commands,
        [&](const std::string& line) {
            if (line.rfind("putting file ", 0) == 0 && outcome.confirmed < batch.files.size()) {
                const BundleFile& file = batch.files[outcome.confirmed++];
                if (onConfirmed && !onConfirmed(file))
                    return false;
            }
            if (!outcome.failure)
                outcome.failure = findFailure({line}, destination_.smb);
            return !outcome.failure;
        },
        keepGoing);
    return outcome;
}

void SmbShareWriter::failRemovingPartial(const std::string& partial,
                                         const std::function<void()>& raise) {
    session_.reset();
    const bool removed = removePartial(partial);
    forgetSent();
    try {
        raise();
    } catch (const DeliveryFailed& e) {
        if (e.problem == DeliveryProblem::Cancelled && removed)
            throw;
        throw DeliveryFailed(e.problem,
                             std::string(e.what()) +
                                 (removed ? "; the unfinished copy was removed"
                                          : "; the unfinished copy " + partial +
                                                " is removed by the next delivery to this share"));
    }
    throw DeliveryFailed(DeliveryProblem::Other, "the delivery failed");
}

void SmbShareWriter::forgetSent() noexcept {
    sentFiles_.clear();
    sentFolders_.clear();
    partialMade_ = false;
}

void SmbShareWriter::sendFinishedFiles() {
    if (staging_.empty())
        return;
    collectBatch();
    const std::string partial = partialName(bundleName_);
    Batch batch = unsent(fs::absolute(staging_), readBundleTree(staging_), partial);
    if (batch.commands.empty())
        return;
    if (!session_) {
        markInProgress(partial);
        try {
            session_ = std::make_unique<SmbclientSession>(client_);
        } catch (...) {
            forgetSent();
            throw;
        }
    }
    stopBatch_ = false;
    batch_ = std::async(std::launch::async, [this, batch = std::move(batch)] {
        return run(*session_, batch, {}, [this] { return !stopBatch_.load(); });
    });
}

void SmbShareWriter::collectBatch() {
    if (!batch_.valid())
        return;
    const std::string partial = partialName(bundleName_);
    const std::string doing = delivering(bundleName_);
    BatchOutcome outcome;
    try {
        outcome = batch_.get();
    } catch (const std::exception& e) {
        const std::string what = e.what();
        failRemovingPartial(
            partial, [&] { throw DeliveryFailed(DeliveryProblem::Other, doing + ": " + what); });
    }
    if (outcome.failure) {
        if (outcome.failure->refused)
            failRemovingPartial(partial,
                                [&] { throw DestinationRefused(outcome.failure->message); });
        failRemovingPartial(partial, [&] { throwFailure(*outcome.failure, doing); });
    }
    if (outcome.result.exitCode != 0 || outcome.confirmed != outcome.expected)
        failRemovingPartial(partial, [&] {
            throw DeliveryFailed(DeliveryProblem::ConnectionLost,
                                 doing + ": the share confirmed " +
                                     std::to_string(outcome.confirmed) + " of " +
                                     std::to_string(outcome.expected) + " files");
        });
}

void SmbShareWriter::stopBackgroundCopy() noexcept {
    stopBatch_ = true;
    if (batch_.valid()) {
        try {
            batch_.get();
        } catch (...) {
        }
    }
    session_.reset();
}

DeliveryReceipt SmbShareWriter::deliver(const fs::path& bag, const std::string& bundleName,
                                        const DeliveryProgress& progress) {
    const SmbLocation& where = destination_.smb;
    const BundleTree tree = readBundleTree(bag);
    const std::string partial = partialName(bundleName);
    const bool continuing = bag == staging_ && bundleName == bundleName_;
    if (continuing)
        collectBatch(); // what went up while the bundle was written
    else {
        stopBackgroundCopy();
        forgetSent();
    }
    const std::string doing = delivering(bundleName);
    markInProgress(partial);
    // One login for the upload, the read back and the rename (the background copy's, if any).
    if (!session_)
        session_ = std::make_unique<SmbclientSession>(client_);
    SmbclientSession& session = *session_;
    // Every failure from here on removes the partial folder, and says whether it could.
    auto fail = [&](const std::function<void()>& raise) { failRemovingPartial(partial, raise); };

    std::uint64_t done = 0;
    std::size_t confirmed = 0;
    for (const auto& f : tree.files)
        if (sentFiles_.count(f.path)) {
            done += f.size;
            ++confirmed;
        }
    if (progress && done > 0 && !progress(done, tree.bytes))
        fail([] { throw DeliveryFailed(DeliveryProblem::Cancelled, "the export was cancelled"); });
    bool cancelled = false;
    const Batch batch = unsent(fs::absolute(bag), tree, partial);
    const BatchOutcome upload = run(
        session, batch,
        [&](const BundleFile& file) {
            done += file.size;
            if (progress && !progress(done, tree.bytes)) {
                cancelled = true;
                return false;
            }
            return true;
        },
        [&] { return !cancelled; });
    confirmed += upload.confirmed;
    if (cancelled)
        fail([] { throw DeliveryFailed(DeliveryProblem::Cancelled, "the export was cancelled"); });
    if (upload.failure) {
        if (upload.failure->refused)
            fail([&] { throw DestinationRefused(upload.failure->message); });
        fail([&] { throwFailure(*upload.failure, doing); });
    }
    if (upload.result.exitCode != 0 || confirmed != tree.files.size())
        fail([&] {
            throw DeliveryFailed(DeliveryProblem::ConnectionLost,
                                 doing + ": the share confirmed " + std::to_string(confirmed) +
                                     " of " + std::to_string(tree.files.size()) + " files");
        });

    // Read back what the share holds before the bundle gets its name.
    const std::string top = destination_.smb.remoteFolder() == "\\"
                                ? "\\" + partial
                                : destination_.smb.remoteFolder() + "\\" + partial;
    const auto listing = session.exchange({"recurse ON", "ls " + remote(partial + "/*")});
    if (auto f = findFailure(listing.lines, where))
        fail([&] { throwFailure(*f, doing + " (reading it back)"); });
    std::map<std::string, RemoteEntry> found;
    for (auto& e : parseListing(listing.lines, top))
        found[e.path] = e;
    std::string mismatch;
    for (const auto& folder : tree.folders)
        if (!found.count(folder) || !found[folder].directory)
            mismatch = "the folder " + folder + " is missing";
    for (const auto& f : tree.files) {
        const auto it = found.find(f.path);
        if (it == found.end() || it->second.directory)
            mismatch = "the file " + f.path + " is missing";
        else if (it->second.size != f.size)
            mismatch = "the file " + f.path + " has " + std::to_string(it->second.size) +
                       " bytes instead of " + std::to_string(f.size);
    }
    if (mismatch.empty() && found.size() != tree.folders.size() + tree.files.size())
        mismatch = "the share holds " + std::to_string(found.size()) + " entries instead of " +
                   std::to_string(tree.folders.size() + tree.files.size());
    if (!mismatch.empty())
        fail([&] {
            throw DeliveryFailed(DeliveryProblem::ConnectionLost,
                                 doing + ": read back from the share, " + mismatch);
        });

    const auto renamed =
        session.exchange({"recurse OFF", "rename " + remote(partial) + " " + remote(bundleName)});
    if (auto f = findFailure(renamed.lines, where)) {
        if (f->problem == DeliveryProblem::AlreadyExists)
            f->message = "a bundle named " + bundleName + " is already on the share";
        fail([&] { throwFailure(*f, doing); });
    }
    if (renamed.exitCode != 0)
        fail([&] {
            throw DeliveryFailed(DeliveryProblem::ConnectionLost,
                                 doing + ": the share did not confirm the final rename");
        });
    markFinished(partial);
    session.close();
    session_.reset();
    forgetSent();

    DeliveryReceipt receipt;
    receipt.destination = destination_.name;
    receipt.location = where.url() + "/" + bundleName;
    receipt.bundleName = bundleName;
    receipt.files = tree.files.size();
    receipt.bytes = tree.bytes;
    receipt.protection = "SMB3 with encryption required by the client (smbclient "
                         "--client-protection=encrypt), sizes read back before the rename";
    return receipt;
}

fs::path SmbShareWriter::beginBundle(const std::string& bundleName) {
    if (!staging_.empty())
        throw DeliveryFailed(DeliveryProblem::Other, "a bundle is already being written");
    checkBundleName(bundleName);
    staging_ = makeStagingFolder(stagingRootOr(environment_.stagingRoot));
    bundleName_ = bundleName;
    return staging_;
}

DeliveryReceipt SmbShareWriter::finishBundle(const DeliveryProgress& progress) {
    if (staging_.empty())
        throw DeliveryFailed(DeliveryProblem::Other, "no bundle is being written");
    try {
        DeliveryReceipt receipt = deliver(staging_, bundleName_, progress);
        abandonBundle();
        return receipt;
    } catch (...) {
        abandonBundle();
        throw;
    }
}

void SmbShareWriter::abandonBundle() noexcept {
    stopBackgroundCopy();
    if (partialMade_ && !bundleName_.empty())
        removePartial(partialName(bundleName_)); // what went up before the bundle was given up
    forgetSent();
    if (staging_.empty())
        return;
    std::error_code ec;
    fs::remove_all(staging_, ec);
    staging_.clear();
}

} // namespace radmark::delivery
