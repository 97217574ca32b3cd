#pragma once
// Puts a finished bundle folder at a destination atomically: into a hidden partial folder there,
// checked, renamed to its final name last. A killed export leaves only a ".partial-..." folder,
// which the next delivery to that destination removes (and says so); a failure removes it at
// once and throws DeliveryFailed with a sentence; a refused destination throws
// DestinationRefused before anything is written.

#include "delivery/Destination.h"
#include "delivery/Errors.h"
#include "delivery/SmbCredentials.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace radmark::delivery {

// Bytes delivered so far of all; return false to cancel (the partial copy is removed).
using DeliveryProgress = std::function<bool(std::uint64_t done, std::uint64_t total)>;

struct DeliveryReceipt {
    std::string destination; // the policy's name
    std::string location;    // where the bundle is now (smb://host/share/folder/NAME, /mnt/x/NAME)
    std::string bundleName;
    std::uint64_t files = 0;
    std::uint64_t bytes = 0;
    std::string protection;         // what kept it safe on the way and at rest
    std::vector<std::string> notes; // leftovers of earlier runs that were removed
};

class DestinationWriter {
  public:
    virtual ~DestinationWriter() = default;
    virtual const Destination& destination() const = 0;

    // Proves the destination can be written now, changing nothing: a share logs in with
    // encryption enforced and finds the folder; a folder takes its mount decision again and must
    // be writable. Throws DestinationRefused or DeliveryFailed.
    virtual void probe() = 0;

    // Before anything is written: probe(), then removes the partial folders earlier runs left,
    // returning a sentence for each.
    virtual std::vector<std::string> prepare() = 0;

    // Puts the finished folder bag at the destination as bundleName. bag is left as it was.
    virtual DeliveryReceipt deliver(const std::filesystem::path& bag, const std::string& bundleName,
                                    const DeliveryProgress& progress = {}) = 0;

    // The other way, without a second local copy where the destination allows it: beginBundle
    // returns an empty folder to write the bundle into (a folder destination: the partial folder
    // on the destination itself; a share: a private local staging folder, mode 0700), then
    // finishBundle puts it in place, or abandonBundle removes it.
    virtual std::filesystem::path beginBundle(const std::string& bundleName) = 0;
    virtual DeliveryReceipt finishBundle(const DeliveryProgress& progress = {}) = 0;
    virtual void abandonBundle() noexcept = 0;
    // Between beginBundle and finishBundle: every file in the bundle folder now is finished and
    // will not change. A destination that copies (a share) may start copying them while the rest
    // is written; a folder destination, written in place, has nothing to do. Throws
    // DeliveryFailed when a copy already started has failed (the export stops at once).
    virtual void sendFinishedFiles() {}
};

// A writer for an allowed destination. Throws DestinationRefused when checkDestination refuses;
// a share's credentials are read from its file here, or asked for through prompt (a share
// without a credentials file, or one that holds no password).
std::unique_ptr<DestinationWriter> openWriter(const Destination& destination,
                                              const DeliveryEnvironment& environment,
                                              const PasswordPrompt& prompt = {});

// What the export composer uses: one bundle for one destination, prepared at construction
// (refusals, a wrong password or an unreachable share show before any bundle is written), written
// by the composer into workFolder(), put in place by commit(). Destroyed uncommitted, it removes
// everything it wrote.
class BundleDelivery {
  public:
    BundleDelivery(const Destination& destination, const std::string& bundleName,
                   const DeliveryEnvironment& environment, const PasswordPrompt& prompt = {});
    BundleDelivery(const BundleDelivery&) = delete;
    BundleDelivery& operator=(const BundleDelivery&) = delete;
    ~BundleDelivery();

    const std::filesystem::path& workFolder() const { return workFolder_; }
    const std::vector<std::string>& notes() const { return notes_; } // from prepare()

    // The files in workFolder() now are finished: the destination may start taking them.
    void filesFinished();
    DeliveryReceipt commit(const DeliveryProgress& progress = {});
    void abandon() noexcept;

  private:
    std::unique_ptr<DestinationWriter> writer_;
    std::filesystem::path workFolder_;
    std::vector<std::string> notes_;
    bool open_ = false;
};

} // namespace radmark::delivery
