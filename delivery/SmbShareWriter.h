#pragma once
// Delivery to an SMB3 share through smbclient (encryption enforced by the client): upload into
// a hidden ".partial-..." folder, list it back and compare every file's size, rename last;
// deltree the partial folder on any failure. While an export writes its bundle, the files it has
// finished go up in the background (one smbclient session, one batch at a time), so that the
// share's copy overlaps the writing of the next case instead of following all of it.

#include "delivery/BundleTree.h"
#include "delivery/DestinationWriter.h"
#include "delivery/Smbclient.h"

#include <atomic>
#include <future>
#include <memory>
#include <set>

namespace radmark::delivery {

class SmbShareWriter : public DestinationWriter {
  public:
    SmbShareWriter(Destination destination, DeliveryEnvironment environment,
                   SmbCredentials credentials);
    ~SmbShareWriter() override;

    const Destination& destination() const override { return destination_; }
    void probe() override { leftOvers(); }
    std::vector<std::string> prepare() override;
    DeliveryReceipt deliver(const std::filesystem::path& bag, const std::string& bundleName,
                            const DeliveryProgress& progress = {}) override;
    std::filesystem::path beginBundle(const std::string& bundleName) override;
    DeliveryReceipt finishBundle(const DeliveryProgress& progress = {}) override;
    void abandonBundle() noexcept override;
    void sendFinishedFiles() override;

  private:
    // Logs in, finds the folder, and lists the partial folders earlier runs left there.
    std::vector<std::string> leftOvers() const;
    std::string remote(const std::string& relative) const;       // \folder\relative, quoted
    std::string delivering(const std::string& bundleName) const; // "delivering B to smb://..."
    // Removes the partial folder; false when the share could not be told.
    bool removePartial(const std::string& partial) const;

    Destination destination_;
    DeliveryEnvironment environment_;
    Smbclient client_;
    // One exchange of puts: the commands, and the files they put, in order.
    struct Batch {
        std::vector<std::string> commands;
        std::vector<BundleFile> files;
    };
    // What the share answered to a batch: how many files it confirmed, and the first failure.
    struct BatchOutcome {
        SmbclientResult result;
        std::size_t expected = 0;  // files the batch puts
        std::size_t confirmed = 0; // of them, the files the share took
        std::optional<SmbFailure> failure;
    };
    // The folders and files of tree not sent yet (the partial folder first when nothing was),
    // now counted as sent.
    Batch unsent(const std::filesystem::path& local, const BundleTree& tree,
                 const std::string& partial);
    // Runs a batch on session; onConfirmed sees each file the share took and may stop it.
    BatchOutcome run(SmbclientSession& session, const Batch& batch,
                     const std::function<bool(const BundleFile&)>& onConfirmed,
                     const std::function<bool()>& keepGoing) const;
    // Waits for the background batch; throws (the partial copy removed) when the share refused
    // or lost any of it.
    void collectBatch();
    void stopBackgroundCopy() noexcept;
    // Ends the session, removes the partial copy and throws what raise throws, saying whether the
    // copy could be removed.
    [[noreturn]] void failRemovingPartial(const std::string& partial,
                                          const std::function<void()>& raise);
    void forgetSent() noexcept;

    std::string bundleName_;
    std::filesystem::path staging_; // private local folder of beginBundle()
    // The background copy of finished files (sendFinishedFiles), while the bundle is written.
    std::unique_ptr<SmbclientSession> session_;
    std::future<BatchOutcome> batch_;
    std::atomic<bool> stopBatch_{false};
    std::set<std::string> sentFolders_, sentFiles_; // relative paths the share has (or is taking)
    bool partialMade_ = false;
};

} // namespace radmark::delivery
