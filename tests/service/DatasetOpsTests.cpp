// The store service's dataset ops (app/cli/DatasetOps.h): the client the workstation uses on a
// shared workstation (serviceDatasets) with its requests answered as radmarkd's worker answers
// them (datasetReply), on a test store and without root. What comes back must be what the
// in-process calls give; a non-admin is refused and logged before her request is read. An
// export crosses a real channel (SessionChannel's exchange, the worker on its own thread): its
// progress, a Cancel at its second stage, and a loopback SMB share's password asked in her
// process and answered.

#include "ExportFixture.h"
#include "StoreTestSupport.h"

#include "app/cli/DatasetOps.h"
#include "app/cli/SessionChannel.h"
#include "app/cli/StoreAccess.h"
#include "bundle/Verify.h"
#include "delivery/loopback/LoopbackSamba.h"
#include "storage/AuditTrail.h"
#include "storage/Permissions.h"
#include "storage/Users.h"
#include "workflow/DatasetJson.h"

#include <gtest/gtest.h>

#include <sys/socket.h>

#include <string>
#include <thread>

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

// radmarkd's worker on its own thread, one request at a time as its session loop serves them:
// late answers dropped, each reply or refusal sent back; it ends when her end closes.
class WorkerThread {
  public:
    WorkerThread(storage::Session& session, int channel)
        : thread_([&session, channel] {
              while (true) {
                  Message request;
                  try {
                      if (!decoder::receiveMessage(channel, request))
                          return;
                  } catch (const decoder::ChannelError&) {
                      return;
                  }
                  if (isLateAnswer(request))
                      continue;
                  Message reply;
                  try {
                      std::optional<Message> answer = datasetReply(session, request, channel, {});
                      if (!answer)
                          throw std::runtime_error("not a dataset op");
                      reply = std::move(*answer);
                  } catch (const decoder::ChannelError&) {
                      return;
                  } catch (const std::exception& e) {
                      reply = Message();
                      reply.kind = MessageKind::Failure;
                      reply.body = {{"error", e.what()}, {"ended", false}};
                  }
                  try {
                      decoder::sendMessage(channel, reply);
                  } catch (const decoder::ChannelError&) {
                      return;
                  }
              }
          }) {}
    ~WorkerThread() { thread_.join(); }

  private:
    std::thread thread_;
};

// The client's end of the channel, as the workstation's StoreAccess calls through it.
std::unique_ptr<workflow::DatasetAdministration> overTheChannel(int channel) {
    return serviceDatasets([channel](Message sent, const ProgressAnswer& progress) {
        Message reply = exchange(channel, std::move(sent), progress);
        if (reply.kind == MessageKind::Failure)
            throw StoreAccessError(reply.body.value("error", std::string()));
        return reply;
    });
}

// Her end closes first (the worker ends its loop), then the worker is joined.
struct ChannelWithWorker {
    Channel channel;
    std::unique_ptr<WorkerThread> worker;
    std::unique_ptr<workflow::DatasetAdministration> client;
    explicit ChannelWithWorker(storage::Session& session)
        : worker(std::make_unique<WorkerThread>(session, channel.ends[1])),
          client(overTheChannel(channel.ends[0])) {}
    ~ChannelWithWorker() {
        ::shutdown(channel.ends[0], SHUT_RDWR);
        worker.reset();
    }
};

TEST(DatasetOps, AnExportCrossesTheChannelWithItsProgressAndItsCancel) {
    using workflow::fixtures::entries;
    storage::testing::TempDir out;
    workflow::fixtures::ExportFixture f({{"here", "", out.path(), "", "", true}});
    auto admin = f.store.admin();
    ChannelWithWorker remote(admin);

    // Cancelled at its second stage: the cancel reaches the worker at a later stage.
    std::vector<std::string> stages;
    try {
        remote.client->exportDataset(f.request("here"), {}, [&](double, const std::string& stage) {
            stages.push_back(stage);
            return stages.size() < 2;
        });
        ADD_FAILURE() << "the export was not cancelled";
    } catch (const StoreAccessError& e) {
        EXPECT_NE(std::string(e.what()).find("cancelled"), std::string::npos) << e.what();
    }
    ASSERT_GE(stages.size(), 2u);
    EXPECT_EQ(stages[0], "freezing the dataset");
    EXPECT_TRUE(entries(out.path()).empty()) << "a cancelled export left something behind";
    ASSERT_EQ(f.history().size(), 1u);
    EXPECT_EQ(f.history().back().reason, "cancelled");

    // The same session exports again, every stage's note arriving in order before the reply.
    std::vector<double> fractions;
    const workflow::ExportResult result = remote.client->exportDataset(
        f.request("here"), {}, [&](double fraction, const std::string&) {
            fractions.push_back(fraction);
            return true;
        });
    EXPECT_EQ(result.cases, 2);
    EXPECT_EQ(entries(out.path()), std::vector<std::string>{result.bundleId});
    ASSERT_GT(fractions.size(), 5u);
    // The bar never goes back (by more than the rounding of a stage's share of a case).
    EXPECT_EQ(std::adjacent_find(fractions.begin(), fractions.end(),
                                 [](double a, double b) { return b < a - 1e-9; }),
              fractions.end())
        << ::testing::PrintToString(fractions);
    EXPECT_EQ(fractions.back(), 1.0);
    bundle::BundleVerifyOptions options;
    options.trustedKey = bundle::parseMinisignPublicKey(workflow::workstationPublicKey(admin));
    const bundle::BundleReport report = bundle::verifyBundle(out.path() / result.bundleId, options);
    for (const auto& p : report.problems)
        ADD_FAILURE() << p.file << ": " << p.reason;
    EXPECT_TRUE(report.signatureVerified && report.checkpointVerified);
    EXPECT_EQ(f.history().back().outcome, storage::ExportOutcome::Completed);
}

TEST(DatasetOps, AShareAsksHerForItsPasswordAcrossTheChannel) {
    using workflow::fixtures::entries;
    delivery::LoopbackSamba server;
    std::filesystem::create_directories(server.shareFolder() / "exports");
    // No credentials file: the share's password is asked for each export.
    workflow::fixtures::ExportFixture f(
        {{"share", server.url("exports"), "", "", server.user(), false}});
    auto admin = f.store.admin();
    ChannelWithWorker remote(admin);

    // She declines: refused, nothing written, and the session goes on.
    std::vector<std::string> questions;
    const auto decline = [&](const std::string& question) -> std::optional<std::string> {
        questions.push_back(question);
        return std::nullopt;
    };
    EXPECT_THROW(remote.client->exportDataset(f.request("share"), decline, {}), StoreAccessError);
    ASSERT_EQ(questions.size(), 1u);
    EXPECT_NE(questions[0].find(server.user()), std::string::npos) << questions[0];
    EXPECT_TRUE(entries(server.shareFolder() / "exports").empty());

    // She types it: the bundle is on the share.
    const workflow::ExportResult result = remote.client->exportDataset(
        f.request("share"),
        [&](const std::string&) -> std::optional<std::string> { return server.password(); }, {});
    EXPECT_EQ(entries(server.shareFolder() / "exports"), std::vector<std::string>{result.bundleId});
    EXPECT_EQ(f.history().back().outcome, storage::ExportOutcome::Completed);
}

} // namespace
} // namespace radmark::cli
