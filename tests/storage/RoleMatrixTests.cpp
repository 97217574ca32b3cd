// Every operation tried by every role, one or more per cell of the role table
// (storage/Permissions): only the allowed ones pass, the rest are refused by the storage layer
// with PermissionDeniedError, logged as "refused <action>" and nothing else.

#include "StoreTestSupport.h"
#include "storage/Annotations.h"
#include "storage/AuditTrail.h"
#include "storage/Datasets.h"
#include "storage/Exports.h"
#include "storage/KeyRotation.h"
#include "storage/Permissions.h"
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
        for (const AnnotationRecord& r : Annotations(anna).list(assigned))
            if (r.id == annotation)
                hash = r.chunk.hex();
        auto rick = t.store.login("rick", userPassword);
        for (int i = 0; i < 3; ++i) // resolving consumes one, for each role that may
            comments.push_back(Reviews(rick).comment(annotation, {0, 0, 0}, "look", {}).id);
        // A dataset of the assigned study's (unapproved, chosen) version, frozen once.
        Datasets(admin).create("Matrix", std::nullopt, "");
        Datasets(admin).addStudies("Matrix", {assigned}, annotation);
        const std::string guide = "# guide\n";
        Datasets(admin).setProtocol("Matrix", "guide.md", Bytes(guide.begin(), guide.end()));
        Datasets(admin).split("Matrix", splitSettings(1, 1, 0, 0));
        survey = {{assigned,
                   annotation,
                   hash,
                   {{1, "Liver", std::nullopt, CodedTerm{"SCT", "10200004", "Liver"}}},
                   {}}};
        revision = Datasets(admin).freezeRevision("Matrix", survey).revision.id;
    }
    LabelSurvey survey;                 // of the dataset "Matrix"
    std::int64_t revision = 0;          // its first revision
    std::vector<std::int64_t> comments; // open comments on annotation
    std::int64_t freshComment() {
        const std::int64_t id = comments.back();
        comments.pop_back();
        return id;
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
    Action action; // the role-table cell it exercises
    std::set<Role> allowed;
    std::function<void(Session&, World&)> run;
    // Refused to a role the table permits, for a reason of the object (an unassigned study).
    bool objectRule = false;
};

const std::set<Role> everyone = {Role::Admin, Role::Reviewer, Role::Annotator};

const std::vector<Operation>& operations() {
    static const std::vector<Operation> all = {
        {"add user",
         Action::AddUser,
         {Role::Admin},
         [](Session& s, World& w) { Users(s).add(w.fresh("new"), Role::Reviewer, userPassword); }},
        {"list users",
         Action::ListUsers,
         {Role::Admin},
         [](Session& s, World&) { Users(s).list(); }},
        {"disable user",
         Action::DisableUser,
         {Role::Admin},
         [](Session& s, World& w) { Users(s).disable(w.freshUser()); }},
        {"set another user's password",
         Action::SetAnotherUsersPassword,
         {Role::Admin},
         [](Session& s, World& w) {
             Users(s).changePassword(w.freshUser(), "another long password");
         }},
        {"change a role",
         Action::ChangeRole,
         {Role::Admin},
         [](Session& s, World& w) { Users(s).setRole(w.freshUser(), Role::Reviewer); }},
        {"enter credentials",
         Action::SetUserCredentials,
         {Role::Admin},
         [](Session& s, World&) {
             Users(s).setCredentials("anna", {"Radiologist", "FRCR", 5, "2026-01-05", {}, {}});
         }},
        {"import study",
         Action::ImportStudy,
         {Role::Admin},
         [](Session& s, World& w) { Studies(s).add(w.fresh("imported"), ""); }},
        {"assign study",
         Action::AssignStudy,
         {Role::Admin},
         [](Session& s, World& w) { Studies(s).assign("anna", w.unassigned); }},
        {"unassign study",
         Action::UnassignStudy,
         {Role::Admin},
         [](Session& s, World& w) { Studies(s).unassign("anna", w.unassigned); }},
        {"make a study blind or shared",
         Action::SetStudyBlind,
         {Role::Admin},
         [](Session& s, World& w) { Studies(s).setBlind(w.unassigned, false); }},
        {"list studies", Action::ListStudies, everyone,
         [](Session& s, World&) { Studies(s).list(); }},
        {"open assigned study",
         Action::OpenStudy,
         {Role::Reviewer, Role::Annotator},
         [](Session& s, World& w) { Studies(s).open(w.assigned); }},
        {"open unassigned study",
         Action::OpenStudy,
         {Role::Reviewer},
         [](Session& s, World& w) { Studies(s).open(w.unassigned); },
         true},
        {"read a study for export",
         Action::ReadForExport,
         {Role::Admin},
         [](Session& s, World& w) { Studies(s).openForExport(w.assigned); }},
        {"save annotation (assigned)",
         Action::SaveVersion,
         {Role::Annotator},
         [](Session& s, World& w) {
             const std::uint8_t b[] = {4, 5};
             Annotations(s).save(w.assigned, b, "more");
         }},
        {"save annotation (unassigned)",
         Action::SaveVersion,
         {},
         [](Session& s, World& w) {
             const std::uint8_t b[] = {4, 5};
             Annotations(s).save(w.unassigned, b, "more");
         },
         true},
        {"save draft",
         Action::SaveDraft,
         {Role::Annotator},
         [](Session& s, World& w) {
             const std::uint8_t b[] = {6};
             Annotations(s).saveDraft(w.assigned, b, {});
         }},
        {"read own draft",
         Action::ReadDraft,
         {Role::Annotator},
         [](Session& s, World& w) { Annotations(s).draftOf(w.assigned); }},
        {"discard own draft",
         Action::DiscardDraft,
         {Role::Annotator},
         [](Session& s, World& w) { Annotations(s).discardDraft(w.assigned); }},
        // An admin reads versions only to export them (logged); never edits them.
        {"list annotations", Action::ListVersions, everyone,
         [](Session& s, World& w) { Annotations(s).list(w.assigned); }},
        {"load annotation", Action::LoadVersion, everyone,
         [](Session& s, World& w) { Annotations(s).load(w.annotation); }},
        // The annotator submits a version of her own, saved for the purpose.
        {"submit for review",
         Action::SubmitForReview,
         {Role::Annotator},
         [](Session& s, World& w) {
             std::int64_t version = w.annotation;
             if (s.role() == Role::Annotator) {
                 const std::uint8_t b[] = {8};
                 version = Annotations(s).save(w.assigned, b, "to submit");
             }
             Reviews(s).submit(version);
         }},
        {"approve or reject",
         Action::DecideReview,
         {Role::Reviewer},
         [](Session& s, World& w) {
             Reviews(s).decide(w.annotation, Decision::RequestChanges, "edge", w.hash, "{}", false);
         }},
        {"comment",
         Action::CommentOnVersion,
         {Role::Reviewer},
         [](Session& s, World& w) {
             Reviews(s).comment(w.annotation, {0, 0, 40}, "check slice 40", std::nullopt);
         }},
        {"reply to a comment",
         Action::ReplyToComment,
         {Role::Annotator, Role::Reviewer},
         [](Session& s, World& w) { Reviews(s).reply(w.comments.front(), "seen"); }},
        {"resolve a comment",
         Action::ResolveComment,
         {Role::Annotator, Role::Reviewer},
         [](Session& s, World& w) { Reviews(s).resolve(w.freshComment()); }},
        {"save consensus",
         Action::SaveConsensus,
         {Role::Reviewer},
         [](Session& s, World& w) {
             const std::uint8_t record[] = {7, 7};
             Reviews(s).saveConsensus(w.assigned, record, {}, "vote", {w.annotation, w.annotation},
                                      "consensus");
         }},
        {"read reviews", Action::ReadReviews, everyone,
         [](Session& s, World& w) { Reviews(s).history(w.annotation); }},
        {"export",
         Action::RecordExport,
         {Role::Admin},
         [](Session& s, World&) { Exports(s).record("/srv/radmark-exports/x", "1 study"); }},
        {"create dataset",
         Action::CreateDataset,
         {Role::Admin},
         [](Session& s, World& w) { Datasets(s).create(w.fresh("Dataset"), std::nullopt, ""); }},
        {"edit dataset",
         Action::EditDataset,
         {Role::Admin},
         [](Session& s, World&) { Datasets(s).setPurpose("Matrix", "role matrix"); }},
        {"read datasets",
         Action::ReadDatasets,
         {Role::Admin},
         [](Session& s, World&) { Datasets(s).history("Matrix"); }},
        {"freeze dataset revision",
         Action::FreezeDatasetRevision,
         {Role::Admin},
         [](Session& s, World& w) { Datasets(s).freezeRevision("Matrix", w.survey); }},
        {"record dataset export",
         Action::RecordDatasetExport,
         {Role::Admin},
         [](Session& s, World& w) {
             Datasets(s).recordExportStarted(w.revision, "/srv/radmark-exports/x", "bundle");
         }},
        {"read the access log",
         Action::ReadAuditLog,
         {Role::Admin},
         [](Session& s, World&) { AuditTrail(s).entries(); }},
        {"audit checkpoint",
         Action::SignAuditCheckpoint,
         {Role::Admin},
         [](Session& s, World&) { AuditTrail(s).checkpoint(); }},
        {"audit verify",
         Action::VerifyAuditLog,
         {Role::Admin},
         [](Session& s, World&) { AuditTrail(s).verify(nullptr, nullptr); }},
        {"rotate the key",
         Action::RotateDatabaseKey,
         {Role::Admin},
         [](Session& s, World&) { rotateDatabaseKey(s, "role matrix"); }},
        {"change own password", Action::ChangeOwnPassword, everyone,
         [](Session& s, World&) {
             Users(s).changePassword(s.userName(),
                                     s.role() == Role::Admin ? adminPassword : userPassword);
         }},
    };
    return all;
}

// What a refusal must leave alone: every table but the log.
std::string contentsBesidesTheLog(TestStore& t) {
    Database db = t.attackerDatabase();
    std::string all;
    for (const char* table :
         {"users", "studies", "assignments", "annotations", "reviews", "drafts", "chunks",
          "datasets", "dataset_cases", "dataset_protocols", "dataset_segment_names",
          "dataset_revisions", "dataset_exports", "dataset_export_outcomes"})
        all += std::string(table) + "=" +
               db.queryText(std::string("SELECT count(*) FROM ") + table) + ";";
    all += db.queryText("SELECT group_concat(name || role || disabled) FROM users") + ";";
    all += db.queryText("SELECT group_concat(blind) FROM studies") + ";";
    all += db.queryText("SELECT group_concat(review_state) FROM annotations") + ";";
    all += db.queryText("SELECT group_concat(saved) FROM drafts") + ";";
    all += db.queryText("SELECT group_concat(purpose) FROM datasets") + ";";
    all += db.queryText("SELECT group_concat(coalesce(credential_updated, '-')) FROM users");
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
            // The table in storage/Permissions agrees with what this test expects.
            if (op.objectRule)
                EXPECT_TRUE(!allowed || permits(role, op.action));
            else
                EXPECT_EQ(permits(role, op.action), allowed);
            const auto before = w.t.attackerDatabase().queryText("SELECT count(*) FROM audit_log");
            const std::string contents = contentsBesidesTheLog(w.t);
            try {
                op.run(session, w);
                EXPECT_TRUE(allowed) << "was allowed but should be refused";
            } catch (const PermissionDeniedError& e) {
                EXPECT_FALSE(allowed) << "was refused: " << e.what();
                // A refusal changes nothing but the log, where it is one entry of its own.
                EXPECT_EQ(contentsBesidesTheLog(w.t), contents);
                EXPECT_EQ(
                    std::stoll(w.t.attackerDatabase().queryText("SELECT count(*) FROM audit_log")),
                    std::stoll(before) + 1);
                Database db = w.t.attackerDatabase();
                EXPECT_EQ(db.queryText("SELECT action FROM audit_log ORDER BY seq DESC LIMIT 1"),
                          std::string("refused ") + actionName(op.action));
                EXPECT_EQ(db.queryText("SELECT user FROM audit_log ORDER BY seq DESC LIMIT 1"),
                          session.userName());
                EXPECT_EQ(db.queryText("SELECT details FROM audit_log ORDER BY seq DESC LIMIT 1"),
                          e.what());
                EXPECT_FALSE(std::string(e.what()).empty());
            }
        }
    }
}

TEST(StorageRoleMatrix, EveryCellOfTheRoleTableIsWalked) {
    std::set<Action> walked;
    for (const auto& op : operations())
        walked.insert(op.action);
    for (int a = 0; a <= int(Action::RotateDatabaseKey); ++a)
        EXPECT_TRUE(walked.count(Action(a))) << actionName(Action(a)) << " is not tried";
    // Every refusal has a sentence; every permitted cell none.
    for (Role role : {Role::Annotator, Role::Reviewer, Role::Admin})
        for (int a = 0; a <= int(Action::RotateDatabaseKey); ++a)
            EXPECT_EQ(refusalReason(role, Action(a)).empty(), permits(role, Action(a)))
                << roleName(role) << " " << actionName(Action(a));
    EXPECT_EQ(refusalReason(Role::Reviewer, Action::SaveVersion),
              "Reviewers cannot save label edits: reviews are read-only.");
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

TEST(StorageRoleMatrix, BlindStudiesShowAnAnnotatorOnlyHerOwnAndConsensusVersions) {
    World w;
    std::int64_t bens = 0, consensus = 0;
    {
        auto admin = w.t.admin();
        Users(admin).add("ben", Role::Annotator, userPassword);
        Users(admin).add("carl", Role::Annotator, userPassword);
        Studies(admin).assign("ben", w.assigned);
        Studies(admin).assign("carl", w.assigned);
    }
    const std::uint8_t b[] = {9};
    {
        auto ben = w.t.store.login("ben", userPassword);
        bens = Annotations(ben).save(w.assigned, b, "ben's");
        auto carl = w.t.store.login("carl", userPassword);
        const std::uint8_t c[] = {8};
        consensus = Annotations(carl).save(w.assigned, c, "consensus");
        auto admin = w.t.admin();
        Users(admin).setRole("carl", Role::Reviewer); // carl's version is now a reviewer's
    }
    auto anna = w.t.store.login("anna", userPassword);
    // Shared (the default): the assigned annotators see each other's versions.
    auto admin = w.t.admin();
    EXPECT_FALSE(Studies(admin).isBlind(w.assigned));
    EXPECT_EQ(Annotations(anna).list(w.assigned).size(), 3u);
    EXPECT_EQ(Annotations(anna).load(bens), (Bytes{9}));

    Studies(admin).setBlind(w.assigned, true);
    EXPECT_TRUE(Studies(admin).isBlind(w.assigned));
    const auto logged = AuditTrail(admin).entries(filterBy(adminName, "study blind"));
    ASSERT_EQ(logged.size(), 1u);
    EXPECT_EQ(logged[0].details, "blind");

    // Blind: her own version and the reviewer's, never another annotator's.
    const auto seen = Annotations(anna).list(w.assigned);
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].id, w.annotation);
    EXPECT_EQ(seen[1].id, consensus);
    EXPECT_THROW(Annotations(anna).load(bens), PermissionDeniedError);
    EXPECT_THROW(Reviews(anna).history(bens), PermissionDeniedError);
    EXPECT_EQ(Annotations(anna).load(consensus), (Bytes{8}));
    EXPECT_EQ(AuditTrail(admin).entries(filterBy("anna", "refused load version")).size(), 1u);
    // Reviewers and the admin see every version of a blind study.
    auto rick = w.t.store.login("rick", userPassword);
    EXPECT_EQ(Annotations(rick).list(w.assigned).size(), 3u);
    EXPECT_EQ(Annotations(admin).list(w.assigned).size(), 3u);

    Studies(admin).setBlind(w.assigned, false);
    EXPECT_EQ(Annotations(anna).list(w.assigned).size(), 3u);
}

TEST(StorageRoleMatrix, AnAdminReadsVersionsOnlyToExportThemAndThatIsLogged) {
    World w;
    auto admin = w.t.admin();
    ASSERT_EQ(Annotations(admin).list(w.assigned).size(), 1u);
    EXPECT_EQ(Annotations(admin).load(w.annotation), (Bytes{1, 2, 3}));
    EXPECT_EQ(Studies(admin).openForExport(w.assigned).label, "study-assigned");
    for (const char* action : {"list versions", "load version", "read for export"})
        EXPECT_EQ(AuditTrail(admin).entries(filterBy(adminName, action)).size(), 1u) << action;
    const std::uint8_t b[] = {1};
    EXPECT_THROW(Annotations(admin).save(w.assigned, b, "no"), PermissionDeniedError);
    EXPECT_THROW(Annotations(admin).saveDraft(w.assigned, b, {}), PermissionDeniedError);
    EXPECT_THROW(Reviews(admin).decide(w.annotation, Decision::Approve, "", w.hash, "{}", false),
                 PermissionDeniedError);
    EXPECT_THROW(Studies(admin).open(w.assigned), PermissionDeniedError);
}
