// Every operation tried by every role: only the allowed ones pass, the rest are refused by the
// storage layer with PermissionDeniedError.

#include "StoreTestSupport.h"
#include "storage/Annotations.h"
#include "storage/AuditTrail.h"
#include "storage/Exports.h"
#include "storage/Reviews.h"
#include "storage/Studies.h"
#include "storage/Users.h"

#include <functional>
#include <set>

using namespace radmark::storage;
using namespace radmark::storage::testing;

namespace {

struct World {
    TestStore t;
    std::int64_t assigned = 0;   // assigned to the annotator
    std::int64_t unassigned = 0; // assigned to no one
    std::int64_t annotation = 0; // on the assigned study
    int counter = 0;

    World() {
        auto admin = t.admin();
        Users(admin).add("anna", Role::Annotator, userPassword);
        Users(admin).add("rick", Role::Reviewer, userPassword);
        assigned = Studies(admin).add("study-assigned", "");
        unassigned = Studies(admin).add("study-unassigned", "");
        Studies(admin).assign("anna", assigned);
        for (int i = 0; i < 12; ++i) { // three operations consume one, for each of three roles
            victims.push_back("victim" + std::to_string(i));
            Users(admin).add(victims.back(), Role::Annotator, userPassword);
        }
        auto anna = t.store.login("anna", userPassword);
        const std::uint8_t bytes[] = {1, 2, 3};
        annotation = Annotations(anna).save(assigned, bytes, "first");
        Reviews(anna).submit(annotation); // decisions are taken on submitted versions
        hash = Annotations(anna).list(assigned).at(0).chunk.hex();
    }
    std::string hash; // the annotation's content hash, which a decision names
    std::string fresh(const std::string& prefix) { return prefix + std::to_string(++counter); }
    // Extra users made up front, for operations that consume one.
    std::vector<std::string> victims;
    std::string freshUser() {
        const std::string name = victims.back();
        victims.pop_back();
        return name;
    }
};

struct Operation {
    std::string name;
    std::set<Role> allowed;
    std::function<void(Session&, World&)> run;
};

const std::vector<Operation>& operations() {
    static const std::vector<Operation> all = {
        {"add user",
         {Role::Admin},
         [](Session& s, World& w) { Users(s).add(w.fresh("new"), Role::Reviewer, userPassword); }},
        {"list users", {Role::Admin}, [](Session& s, World&) { Users(s).list(); }},
        {"disable user",
         {Role::Admin},
         [](Session& s, World& w) { Users(s).disable(w.freshUser()); }},
        {"set another user's password",
         {Role::Admin},
         [](Session& s, World& w) {
             Users(s).changePassword(w.freshUser(), "another long password");
         }},
        {"change a role",
         {Role::Admin},
         [](Session& s, World& w) { Users(s).setRole(w.freshUser(), Role::Reviewer); }},
        {"import study",
         {Role::Admin},
         [](Session& s, World& w) { Studies(s).add(w.fresh("imported"), ""); }},
        {"assign study",
         {Role::Admin},
         [](Session& s, World& w) { Studies(s).assign("anna", w.unassigned); }},
        {"unassign study",
         {Role::Admin},
         [](Session& s, World& w) { Studies(s).unassign("anna", w.unassigned); }},
        {"list studies",
         {Role::Admin, Role::Reviewer, Role::Annotator},
         [](Session& s, World&) { Studies(s).list(); }},
        {"open assigned study",
         {Role::Reviewer, Role::Annotator},
         [](Session& s, World& w) { Studies(s).open(w.assigned); }},
        {"open unassigned study",
         {Role::Reviewer},
         [](Session& s, World& w) { Studies(s).open(w.unassigned); }},
        {"save annotation (assigned)",
         {Role::Annotator},
         [](Session& s, World& w) {
             const std::uint8_t b[] = {4, 5};
             Annotations(s).save(w.assigned, b, "more");
         }},
        {"save annotation (unassigned)",
         {},
         [](Session& s, World& w) {
             const std::uint8_t b[] = {4, 5};
             Annotations(s).save(w.unassigned, b, "more");
         }},
        {"list annotations",
         {Role::Reviewer, Role::Annotator},
         [](Session& s, World& w) { Annotations(s).list(w.assigned); }},
        {"load annotation",
         {Role::Reviewer, Role::Annotator},
         [](Session& s, World& w) { Annotations(s).load(w.annotation); }},
        {"approve or reject",
         {Role::Reviewer},
         [](Session& s, World& w) {
             Reviews(s).decide(w.annotation, Decision::Approve, "ok", w.hash, "{}", false);
         }},
        {"comment",
         {Role::Reviewer},
         [](Session& s, World& w) {
             Reviews(s).comment(w.annotation, {0, 0, 40}, "check slice 40", std::nullopt);
         }},
        {"export",
         {Role::Admin},
         [](Session& s, World&) { Exports(s).record("/srv/radmark-exports/x", "1 study"); }},
        {"read the access log", {Role::Admin}, [](Session& s, World&) { AuditTrail(s).entries(); }},
        {"audit checkpoint", {Role::Admin}, [](Session& s, World&) { AuditTrail(s).checkpoint(); }},
        {"audit verify",
         {Role::Admin},
         [](Session& s, World&) { AuditTrail(s).verify(nullptr, nullptr); }},
        {"change own password",
         {Role::Admin, Role::Reviewer, Role::Annotator},
         [](Session& s, World&) {
             Users(s).changePassword(s.userName(),
                                     s.role() == Role::Admin ? adminPassword : userPassword);
         }},
    };
    return all;
}

} // namespace

TEST(StorageRoleMatrix, EveryOperationByEveryRole) {
    World w;
    const std::vector<std::pair<Role, std::string>> logins = {
        {Role::Admin, adminName}, {Role::Reviewer, "rick"}, {Role::Annotator, "anna"}};
    for (const auto& [role, name] : logins) {
        auto session = w.t.store.login(name, name == adminName ? adminPassword : userPassword);
        ASSERT_EQ(session.role(), role);
        for (const auto& op : operations()) {
            const bool allowed = op.allowed.count(role) > 0;
            SCOPED_TRACE(op.name + " as " + roleName(role));
            const auto before = w.t.attackerDatabase().queryText("SELECT count(*) FROM audit_log");
            try {
                op.run(session, w);
                EXPECT_TRUE(allowed) << "was allowed but should be refused";
            } catch (const PermissionDeniedError& e) {
                EXPECT_FALSE(allowed) << "was refused: " << e.what();
                // A refusal by role changes nothing, not even the log.
                EXPECT_EQ(w.t.attackerDatabase().queryText("SELECT count(*) FROM audit_log"),
                          before);
            }
        }
    }
}

TEST(StorageRoleMatrix, AnnotatorSeesOnlyAssignedStudies) {
    World w;
    auto anna = w.t.store.login("anna", userPassword);
    const auto studies = Studies(anna).list();
    ASSERT_EQ(studies.size(), 1u);
    EXPECT_EQ(studies[0].id, w.assigned);
    auto rick = w.t.store.login("rick", userPassword);
    EXPECT_EQ(Studies(rick).list().size(), 2u);
}

TEST(StorageRoleMatrix, ReviewDecisionIsRecordedAndLogged) {
    World w;
    {
        auto rick = w.t.store.login("rick", userPassword);
        Reviews(rick).decide(w.annotation, Decision::Reject, "leak at slice 12", w.hash, "{}",
                             false);
        EXPECT_STREQ(reviewStateName(Annotations(rick).list(w.assigned).at(0).reviewState),
                     "rejected");
    }
    auto admin = w.t.admin();
    const auto e = AuditTrail(admin).entries(filterBy("rick", "review decision"));
    ASSERT_EQ(e.size(), 1u);
    // The entry names the decision and the content it is bound to (issue 10's decision record).
    EXPECT_EQ(e[0].details.rfind("reject " + w.hash.substr(0, 12), 0), 0u) << e[0].details;
}

TEST(StorageRoleMatrix, RoleChangeTakesEffectAndIsLogged) {
    World w;
    {
        auto admin = w.t.admin();
        Users(admin).setRole("anna", Role::Reviewer);
        EXPECT_THROW(Users(admin).setRole(adminName, Role::Annotator), InvalidRequestError);
        const auto e = AuditTrail(admin).entries(filterBy(adminName, "role change"));
        ASSERT_EQ(e.size(), 1u);
        EXPECT_EQ(e[0].details, "annotator -> reviewer");
    }
    auto anna = w.t.store.login("anna", userPassword);
    EXPECT_EQ(anna.role(), Role::Reviewer);
    const std::uint8_t b[] = {1};
    EXPECT_THROW(Annotations(anna).save(w.assigned, b, "no longer allowed"), PermissionDeniedError);
}

TEST(StorageRoleMatrix, AdminCannotBeAssignedStudies) {
    World w;
    auto admin = w.t.admin();
    EXPECT_THROW(Studies(admin).assign("rick", w.assigned), InvalidRequestError);
    EXPECT_THROW(Studies(admin).assign(adminName, w.assigned), InvalidRequestError);
}
