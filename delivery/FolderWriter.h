#pragma once
// Delivery into a folder on an allowed mount: a ".partial-..." folder (mode 0700 while being
// written) beside the final one, every file and folder fsynced, renamed without replacing
// anything, the parent fsynced.

#include "delivery/DestinationWriter.h"

namespace radmark::delivery {

class FolderWriter : public DestinationWriter {
  public:
    FolderWriter(Destination destination, DeliveryEnvironment environment);
    ~FolderWriter() override;

    const Destination& destination() const override { return destination_; }
    void probe() override;
    std::vector<std::string> prepare() override;
    DeliveryReceipt deliver(const std::filesystem::path& bag, const std::string& bundleName,
                            const DeliveryProgress& progress = {}) override;
    std::filesystem::path beginBundle(const std::string& bundleName) override;
    DeliveryReceipt finishBundle(const DeliveryProgress& progress = {}) override;
    void abandonBundle() noexcept override;

  private:
    // In a catch block: removes the unfinished copy and rethrows, saying so on a failed delivery.
    [[noreturn]] void abandonAndRethrow();

    Destination destination_;
    DeliveryEnvironment environment_;
    std::filesystem::path folder_; // symlinks resolved
    std::string protection_;
    std::string bundleName_;
    std::filesystem::path partial_;
};

} // namespace radmark::delivery
