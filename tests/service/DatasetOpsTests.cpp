// The store service's dataset ops (app/cli/DatasetOps.h): the client the workstation uses on a
// shared workstation (serviceDatasets) with its requests answered as radmarkd's worker answers
// them (datasetReply), on a test store and without root. What comes back must be what the
// in-process calls give; a non-admin is refused and logged before her request is read.

#include "StoreTestSupport.h"

#include "app/cli/DatasetOps.h"
#include "app/cli/StoreAccess.h"
#include "storage/AuditTrail.h"
#include "storage/Permissions.h"
#include "storage/Users.h"
#include "workflow/DatasetJson.h"

#include <gtest/gtest.h>

#include <sys/socket.h>

#include <string>

namespace radmark::cli {
namespace {

using namespace radmark::storage::testing;
using decoder::Message;
using decoder::MessageKind;

// The client's calls answered by the worker's code on `session` (the reply's JSON and memfds as
// they would cross the channel; failures thrown as the client sees them).
std::unique_ptr<workflow::DatasetAdministration> throughTheWorker(storage::Session& session,
                                                                  int channel) {
    return serviceDatasets([&session, channel](Message sent, const ProgressAnswer&) {
        sent.kind = MessageKind::Request;
        std::optional<Message> reply;
        try {
            reply = datasetReply(session, sent, channel, {});
        } catch (const std::exception& e) {
            throw StoreAccessError(e.what());
        }
        if (!reply)
            throw StoreAccessError("not a dataset op");
        return std::move(*reply);
    });
}

std::size_t logged(const TestStore& t, const std::string& user, const std::string& action) {
    auto admin = t.admin();
    return storage::AuditTrail(admin).entries(filterBy(user, action)).size();
}

struct Channel {
    int ends[2] = {-1, -1};
    Channel() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET, 0, ends), 0); }
    ~Channel() {
        ::close(ends[0]);
        ::close(ends[1]);
    }
};

TEST(DatasetOps, TheClientGetsWhatTheInProcessCallsGive) {
    TestStore t;
    auto admin = t.admin();
    Channel channel;
    auto remote = throughTheWorker(admin, channel.ends[1]);
    auto local = workflow::sessionDatasets(admin);

    const storage::DatasetSummary created = remote->create("Liver", 42, "liver segmentation");
    EXPECT_EQ(created.name, "Liver");
    EXPECT_EQ(created.number, 42);
    remote->setPurpose("Liver", "liver and lesions");
    const std::string text = "# Protocol\nOutline the liver.\n";
    const storage::ProtocolVersion protocol = remote->setProtocol(
        "Liver", "folder/protocol.md", storage::Bytes(text.begin(), text.end()));
    EXPECT_EQ(protocol.fileName, "protocol.md") << "the worker keeps no folder of hers";
    EXPECT_EQ(protocol.size, std::int64_t(text.size()));
    remote->mapSegmentName("Liver", {"liver", workflow::parseCodedTerm("SCT:10200004:Liver"), {}});

    ASSERT_EQ(remote->list().size(), 1u);
    EXPECT_EQ(remote->list().front().purpose, "liver and lesions");
    EXPECT_EQ(workflow::overviewJson(remote->show("Liver")),
              workflow::overviewJson(local->show("Liver")));
    EXPECT_EQ(remote->show("Liver").dataset.protocol->sha256, protocol.sha256);
    EXPECT_EQ(remote->candidates().size(), local->candidates().size());
    remote->unmapSegmentName("Liver", "liver");
    EXPECT_TRUE(local->show("Liver").dataset.mappings.empty());

    // Refusals come back in the store's words.
    try {
        remote->create("Liver", 43, "again");
        FAIL() << "a second dataset of that name was accepted";
    } catch (const StoreAccessError& e) {
        EXPECT_NE(std::string(e.what()).find("Liver"), std::string::npos) << e.what();
    }
    // A destination the policy does not name: refused, nothing exported.
    workflow::ExportRequest request;
    request.dataset = "Liver";
    request.destination = "usb-stick";
    EXPECT_THROW(remote->exportDataset(request, {}, {}), StoreAccessError);
    EXPECT_EQ(remote->destinations().size(), local->destinations().size());
}

TEST(DatasetOps, ANonAdminIsRefusedAndLoggedWhateverHerRequestHolds) {
    TestStore t;
    {
        auto admin = t.admin();
        storage::Users(admin).add("anna", storage::Role::Annotator, userPassword);
        workflow::createDataset(admin, "Liver", 42, "liver");
    }
    auto anna = t.store.login("anna", userPassword);
    Channel channel;
    auto remote = throughTheWorker(anna, channel.ends[1]);
    EXPECT_THROW(remote->list(), StoreAccessError);
    EXPECT_THROW(remote->create("Mine", 7, "mine"), StoreAccessError);
    EXPECT_THROW(remote->freeze("Liver"), StoreAccessError);
    Message damaged;
    damaged.body = {{"op", "dataset-split"}, {"name", 5}, {"settings", "damaged"}};
    EXPECT_THROW(datasetReply(anna, damaged, channel.ends[1], {}), storage::PermissionDeniedError);
    EXPECT_EQ(logged(t, "anna", "refused read datasets"), 1u);
    EXPECT_EQ(logged(t, "anna", "refused create dataset"), 1u);
    EXPECT_EQ(logged(t, "anna", "refused edit dataset"), 1u);
    EXPECT_EQ(logged(t, "anna", "refused freeze dataset revision"), 1u);
}

} // namespace
} // namespace radmark::cli
