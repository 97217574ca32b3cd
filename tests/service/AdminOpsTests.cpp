// The store service's admin ops (app/cli/AdminOps.h) as radmarkd's worker answers them, on a
// test store and without root: each op against the in-process storage calls, a non-admin
// refused and logged before the rest of her request is read, secrets that are not sealed or too
// long refused, a key rotation's progress, and a rotation whose client goes away half way.
// Through radmarkd under other uids: tests/threat/ServiceWorkstation.sh (g).

#include "StoreTestSupport.h"

#include "app/cli/AdminOps.h"
#include "app/cli/StoreAccess.h"
#include "storage/AuditTrail.h"
#include "storage/Permissions.h"
#include "storage/Users.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

namespace radmark::cli {
namespace {

using namespace radmark::storage::testing;
using decoder::Message;
using decoder::MessageKind;
using nlohmann::json;

Message request(json body) {
    Message m;
    m.kind = MessageKind::Request;
    m.body = std::move(body);
    return m;
}

Message withSecret(json body, const std::string& secret) {
    Message m = request(std::move(body));
    m.fds.push_back(decoder::memfdWithBytes("test-secret", secret.data(), secret.size()));
    return m;
}

// The worker's answer; progress notes go to `notes` when given.
Message answer(storage::Session& session, const Message& m,
               std::vector<std::pair<std::string, double>>* notes = nullptr) {
    std::optional<Message> reply = adminReply(session, m, [notes](const Message& note) {
        EXPECT_EQ(note.kind, MessageKind::Progress);
        if (notes)
            notes->emplace_back(note.body.at("stage").get<std::string>(),
                                note.body.at("fraction").get<double>());
    });
    if (!reply)
        throw std::runtime_error("not an admin op");
    EXPECT_EQ(reply->kind, MessageKind::Reply);
    return std::move(*reply);
}

std::size_t logged(const TestStore& t, const std::string& user, const std::string& action) {
    auto admin = t.admin();
    return storage::AuditTrail(admin).entries(filterBy(user, action)).size();
}

TEST(AdminOps, EachOpAnswersWhatTheInProcessCallsDo) {
    TestStore t;
    auto admin = t.admin();
    const std::int64_t study = storage::Studies(admin).add("STUDY-A", "a test study");

    answer(admin,
           withSecret({{"op", "add-user"}, {"name", "nina"}, {"role", "annotator"}}, userPassword));
    EXPECT_NO_THROW(t.store.login("nina", userPassword)) << "her password crossed in the memfd";
    const auto users = usersFromJson(answer(admin, request({{"op", "users"}})).body.at("users"));
    const auto listed = storage::Users(admin).list();
    ASSERT_EQ(users.size(), listed.size());
    for (std::size_t i = 0; i < users.size(); ++i) {
        EXPECT_EQ(users[i].name, listed[i].name);
        EXPECT_EQ(users[i].role, listed[i].role);
        EXPECT_EQ(users[i].disabled, listed[i].disabled);
        EXPECT_EQ(users[i].created, listed[i].created);
    }
    const auto studies =
        studiesFromJson(answer(admin, request({{"op", "studies"}})).body.at("studies"));
    ASSERT_EQ(studies.size(), 1u);
    EXPECT_EQ(studies[0].id, study);
    EXPECT_EQ(studies[0].label, "STUDY-A");

    answer(admin, request({{"op", "assign"}, {"user", "nina"}, {"studyId", study}}));
    auto nina = t.store.login("nina", userPassword);
    ASSERT_EQ(storage::Studies(nina).list().size(), 1u);

    storage::AuditFilter filter;
    filter.action = "user add";
    const auto entries = auditEntriesFromJson(
        answer(admin, request({{"op", "audit-entries"}, {"filter", auditFilterJson(filter)}}))
            .body.at("entries"));
    const auto inProcess = storage::AuditTrail(admin).entries(filter);
    ASSERT_EQ(entries.size(), inProcess.size());
    ASSERT_FALSE(entries.empty());
    for (std::size_t i = 0; i < entries.size(); ++i) {
        EXPECT_EQ(entries[i].seq, inProcess[i].seq);
        EXPECT_EQ(entries[i].action, "user add");
        EXPECT_EQ(entries[i].object, inProcess[i].object);
        EXPECT_EQ(entries[i].origin, inProcess[i].origin);
    }

    const std::string key(reinterpret_cast<const char*>(t.secrets.auditKey.data()),
                          t.secrets.auditKey.size());
    const auto verified = verificationFromJson(
        answer(admin, withSecret({{"op", "audit-verify"}}, key)).body.at("verification"));
    EXPECT_TRUE(verified.ok) << verified.reason;
    EXPECT_TRUE(verified.macsChecked);
    std::string wrong = key;
    wrong[0] = char(wrong[0] ^ 1);
    const auto failed = verificationFromJson(
        answer(admin, withSecret({{"op", "audit-verify"}}, wrong)).body.at("verification"));
    EXPECT_FALSE(failed.ok) << "a wrong audit key verified the log";

    // A rotation reports its stages in order before its reply.
    std::vector<std::pair<std::string, double>> notes;
    const Message rotated =
        answer(admin, request({{"op", "rotate-key"}, {"reason", "test"}}), &notes);
    EXPECT_EQ(rotationFromJson(rotated.body.at("rotation")).keyVersion, 2);
    EXPECT_TRUE(rotated.fds.empty()) << "a format-2 recovery entry needs no new recovery key";
    ASSERT_GE(notes.size(), 3u);
    EXPECT_EQ(notes.front().first, "sealing");
    EXPECT_EQ(notes.back(), std::make_pair(std::string("done"), 1.0));
    for (std::size_t i = 1; i < notes.size(); ++i)
        EXPECT_GE(notes[i].second, notes[i - 1].second);

    notes.clear();
    const Message disabled =
        answer(admin, request({{"op", "disable-user"}, {"name", "nina"}}), &notes);
    EXPECT_EQ(rotationFromJson(disabled.body.at("rotation")).keyVersion, 3);
    EXPECT_FALSE(notes.empty());
    EXPECT_THROW(t.store.login("nina", userPassword), storage::AuthenticationError);
    EXPECT_FALSE(adminReply(admin, request({{"op", "worklist"}}), {})) << "not an admin op";
}

// Her role is checked before the rest of her request is read: a non-admin's request is refused
// and logged whatever it holds (no memfd, a role Radmark does not know, a damaged checkpoint).
TEST(AdminOps, ANonAdminIsRefusedAndLoggedWhateverHerRequestHolds) {
    TestStore t;
    {
        auto admin = t.admin();
        storage::Users(admin).add("anna", storage::Role::Annotator, userPassword);
    }
    auto anna = t.store.login("anna", userPassword);
    EXPECT_THROW(answer(anna, request({{"op", "users"}})), storage::PermissionDeniedError);
    EXPECT_THROW(answer(anna, request({{"op", "add-user"}, {"name", "mallory"}, {"role", "king"}})),
                 storage::PermissionDeniedError);
    EXPECT_THROW(answer(anna, request({{"op", "audit-entries"}, {"filter", "damaged"}})),
                 storage::PermissionDeniedError);
    EXPECT_THROW(answer(anna, request({{"op", "audit-verify"}, {"checkpoint", "{damaged"}})),
                 storage::PermissionDeniedError);
    EXPECT_THROW(answer(anna, request({{"op", "rotate-key"}, {"reason", "mine"}})),
                 storage::PermissionDeniedError);
    EXPECT_THROW(answer(anna, request({{"op", "disable-user"}, {"name", adminName}})),
                 storage::PermissionDeniedError);
    EXPECT_EQ(logged(t, "anna", "refused list users"), 1u);
    EXPECT_EQ(logged(t, "anna", "refused add user"), 1u);
    EXPECT_EQ(logged(t, "anna", "refused read access log"), 1u);
    EXPECT_EQ(logged(t, "anna", "refused audit verify"), 1u);
    EXPECT_EQ(logged(t, "anna", "refused rotate key"), 1u);
    EXPECT_EQ(logged(t, "anna", "refused disable user"), 1u);
}

TEST(AdminOps, SecretsMustComeAloneSealedAndNoLongerThanTheirKind) {
    TestStore t;
    auto admin = t.admin();
    const json add = {{"op", "add-user"}, {"name", "nina"}, {"role", "annotator"}};
    // Not sealed: the client could still change it while the worker reads it.
    Message unsealed = request(add);
    unsealed.fds.push_back(decoder::createMemfd("test-secret", userPassword.size()));
    ASSERT_EQ(::pwrite(unsealed.fds.back().get(), userPassword.data(), userPassword.size(), 0),
              ssize_t(userPassword.size()));
    EXPECT_THROW(answer(admin, unsealed), StoreAccessError);
    EXPECT_THROW(answer(admin, withSecret(add, std::string(5000, 'p'))), StoreAccessError);
    EXPECT_THROW(answer(admin, request(add)), StoreAccessError) << "no memfd";
    Message two = withSecret(add, userPassword);
    two.fds.push_back(decoder::memfdWithBytes("test-secret", "x", 1));
    try {
        answer(admin, two);
        ADD_FAILURE() << "two memfds were taken";
    } catch (const StoreAccessError& e) {
        EXPECT_NE(std::string(e.what()).find("one memfd"), std::string::npos) << e.what();
    }
    EXPECT_THROW(answer(admin, withSecret({{"op", "audit-verify"}}, std::string(31, 'k'))),
                 StoreAccessError);
    for (const auto& user : storage::Users(admin).list())
        EXPECT_NE(user.name, "nina") << "a refused request added her";
}

// The rotation's progress notes cannot be sent (her client went away): the rotation runs to its
// end all the same, and the store opens with the new key.
TEST(AdminOps, ARotationRunsToItsEndWhenTheClientGoesAway) {
    TestStore t;
    auto admin = t.admin();
    int attempts = 0;
    const std::optional<Message> reply =
        adminReply(admin, request({{"op", "rotate-key"}, {"reason", "client gone"}}),
                   [&attempts](const Message&) {
                       ++attempts;
                       throw decoder::ChannelError("the client closed the channel");
                   });
    ASSERT_TRUE(reply);
    EXPECT_EQ(attempts, 1) << "a note after the client went away";
    EXPECT_EQ(rotationFromJson(reply->body.at("rotation")).keyVersion, 2);
    EXPECT_EQ(logged(t, adminName, "key rotation completed"), 1u);
    EXPECT_NO_THROW(storage::Users(admin).list()) << "her session goes on under the new key";
}

TEST(AdminOps, DamagedValuesFromTheChannelAreRefused) {
    EXPECT_THROW(usersFromJson(json::array({{{"name", "x"}}})), StoreAccessError);
    EXPECT_THROW(
        usersFromJson(json::array(
            {{{"id", 1}, {"name", "x"}, {"role", "king"}, {"disabled", false}, {"created", ""}}})),
        StoreAccessError);
    EXPECT_THROW(studiesFromJson(json("rows")), StoreAccessError);
    EXPECT_THROW(auditEntriesFromJson(json::array({{{"seq", "one"}}})), StoreAccessError);
    EXPECT_THROW(verificationFromJson(json::object()), StoreAccessError);
    EXPECT_THROW(rotationFromJson(json::object({{"keyVersion", "2"}})), StoreAccessError);
    EXPECT_THROW(auditFilterFromJson(json::object({{"user", 3}})), StoreAccessError);
    storage::AuditFilter filter;
    filter.user = "ada";
    filter.since = "2026-01-01";
    filter.limit = 7;
    const storage::AuditFilter back = auditFilterFromJson(auditFilterJson(filter));
    EXPECT_EQ(back.user, filter.user);
    EXPECT_EQ(back.action, std::nullopt);
    EXPECT_EQ(back.since, filter.since);
    EXPECT_EQ(back.limit, 7u);
}

} // namespace
} // namespace radmark::cli
