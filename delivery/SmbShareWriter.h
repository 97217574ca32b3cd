#pragma once
// Delivery to an SMB3 share through smbclient (encryption enforced by the client): upload into
// a hidden ".partial-..." folder, list it back and compare every file's size, rename last;
// deltree the partial folder on any failure.

#include "delivery/DestinationWriter.h"
#include "delivery/Smbclient.h"

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

  private:
    // Logs in, finds the folder, and lists the partial folders earlier runs left there.
    std::vector<std::string> leftOvers() const;
    std::string remote(const std::string& relative) const; // \folder\relative, quoted
    // Removes the partial folder; false when the share could not be told.
    bool removePartial(const std::string& partial) const;

    Destination destination_;
    DeliveryEnvironment environment_;
    Smbclient client_;
    std::string bundleName_;
    std::filesystem::path staging_; // private local folder of beginBundle()
};

} // namespace radmark::delivery
