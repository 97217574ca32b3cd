#include "delivery/DestinationWriter.h"

#include "delivery/FolderWriter.h"
#include "delivery/SmbShareWriter.h"

#include <string.h>

namespace radmark::delivery {
namespace {

SmbCredentials shareCredentials(const Destination& destination,
                                const DeliveryEnvironment& environment,
                                const PasswordPrompt& prompt) {
    SmbCredentials credentials;
    if (!destination.credentialsFile.empty())
        credentials = readCredentialsFile(destination.credentialsFile, environment.storeOwner);
    else
        credentials.user = destination.user;
    if (credentials.password.empty()) {
        if (!prompt)
            throw DeliveryFailed(DeliveryProblem::Cancelled,
                                 "the share " + destination.smb.url() +
                                     " needs a password and none can be asked for here");
        auto password = prompt("password of " + credentials.user + " for " + destination.smb.url());
        if (!password)
            throw DeliveryFailed(DeliveryProblem::Cancelled, "no password was given for the share");
        credentials.password = *password;
        ::explicit_bzero(password->data(), password->size());
    }
    return credentials;
}

} // namespace

std::unique_ptr<DestinationWriter> openWriter(const Destination& destination,
                                              const DeliveryEnvironment& environment,
                                              const PasswordPrompt& prompt) {
    requireAllowed(destination, environment);
    if (destination.kind == Destination::Kind::Folder)
        return std::make_unique<FolderWriter>(destination, environment);
    return std::make_unique<SmbShareWriter>(destination, environment,
                                            shareCredentials(destination, environment, prompt));
}

BundleDelivery::BundleDelivery(const Destination& destination, const std::string& bundleName,
                               const DeliveryEnvironment& environment, const PasswordPrompt& prompt)
    : writer_(openWriter(destination, environment, prompt)) {
    notes_ = writer_->prepare();
    workFolder_ = writer_->beginBundle(bundleName);
    open_ = true;
}

BundleDelivery::~BundleDelivery() {
    abandon();
}

void BundleDelivery::filesFinished() {
    if (open_)
        writer_->sendFinishedFiles();
}

DeliveryReceipt BundleDelivery::commit(const DeliveryProgress& progress) {
    if (!open_)
        throw DeliveryFailed(DeliveryProblem::Other, "this bundle was already delivered or "
                                                     "abandoned");
    open_ = false;
    DeliveryReceipt receipt = writer_->finishBundle(progress);
    receipt.notes.insert(receipt.notes.begin(), notes_.begin(), notes_.end());
    return receipt;
}

void BundleDelivery::abandon() noexcept {
    if (open_)
        writer_->abandonBundle();
    open_ = false;
}

} // namespace radmark::delivery
