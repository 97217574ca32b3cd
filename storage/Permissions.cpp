#include "storage/Permissions.h"

#include "storage/SessionAccess.h"

#include <cstddef>

namespace radmark::storage {

namespace {

constexpr unsigned annotators = 1, reviewers = 2, admins = 4, everyone = 7;

constexpr unsigned roleBit(Role role) {
    return role == Role::Annotator ? annotators : role == Role::Reviewer ? reviewers : admins;
}

// One row per Action, in the enum's order: who may, and why each other role may not.
struct Rule {
    Action action;
    const char* name;
    unsigned allowed;
    const char* whyNotAnnotator; // nullptr where the role is allowed
    const char* whyNotReviewer;
    const char* whyNotAdmin;
};

constexpr Rule rules[] = {
    {Action::AddUser, "add user", admins,
     "Annotators cannot add users: only the admin role manages accounts.",
     "Reviewers cannot add users: only the admin role manages accounts.", nullptr},
    {Action::ListUsers, "list users", admins,
     "Annotators cannot see the list of users: only the admin role manages accounts.",
     "Reviewers cannot see the list of users: only the admin role manages accounts.", nullptr},
    {Action::DisableUser, "disable user", admins,
     "Annotators cannot disable accounts: only the admin role manages accounts.",
     "Reviewers cannot disable accounts: only the admin role manages accounts.", nullptr},
    {Action::SetAnotherUsersPassword, "set password", admins,
     "Annotators cannot set another user's password: only the admin role manages accounts.",
     "Reviewers cannot set another user's password: only the admin role manages accounts.",
     nullptr},
    {Action::ChangeOwnPassword, "change own password", everyone, nullptr, nullptr, nullptr},
    {Action::ChangeRole, "change role", admins,
     "Annotators cannot change roles: only the admin role manages accounts.",
     "Reviewers cannot change roles: only the admin role manages accounts.", nullptr},
    {Action::SetUserCredentials, "user credentials", admins,
     "Annotators cannot enter credentials: the admin records them on each account.",
     "Reviewers cannot enter credentials: the admin records them on each account.", nullptr},
    {Action::ImportStudy, "import", admins,
     "Annotators cannot import studies: an admin imports and de-identifies them.",
     "Reviewers cannot import studies: an admin imports and de-identifies them.", nullptr},
    {Action::ListStudies, "list studies", everyone, nullptr, nullptr, nullptr},
    {Action::OpenStudy, "open study", annotators | reviewers, nullptr, nullptr,
     "Admins do not open studies to view them: an admin reads a study only to export it."},
    {Action::AssignStudy, "assign", admins,
     "Annotators cannot assign studies: an admin assigns them.",
     "Reviewers cannot assign studies: an admin assigns them.", nullptr},
    {Action::UnassignStudy, "unassign", admins,
     "Annotators cannot take studies off a worklist: an admin assigns them.",
     "Reviewers cannot take studies off a worklist: an admin assigns them.", nullptr},
    {Action::SetStudyBlind, "set study blind", admins,
     "Annotators cannot make a study blind or shared: an admin decides.",
     "Reviewers cannot make a study blind or shared: an admin decides.", nullptr},
    {Action::ListVersions, "list versions", everyone, nullptr, nullptr, nullptr},
    {Action::LoadVersion, "load version", everyone, nullptr, nullptr, nullptr},
    {Action::SaveVersion, "save version", annotators, nullptr,
     "Reviewers cannot save label edits: reviews are read-only.",
     "Admins cannot save label edits: an admin reads annotations only to export them."},
    {Action::SaveDraft, "save draft", annotators, nullptr,
     "Reviewers cannot keep drafts of label edits: reviews are read-only.",
     "Admins cannot keep drafts of label edits: an admin reads annotations only to export them."},
    {Action::ReadDraft, "read draft", annotators, nullptr,
     "Reviewers have no drafts of label edits: reviews are read-only.",
     "Admins have no drafts of label edits: an admin reads annotations only to export them."},
    {Action::DiscardDraft, "discard draft", annotators, nullptr,
     "Reviewers have no drafts of label edits: reviews are read-only.",
     "Admins have no drafts of label edits: an admin reads annotations only to export them."},
    {Action::SubmitForReview, "submit", annotators, nullptr,
     "Reviewers do not submit versions: an annotator submits her own.",
     "Admins do not submit versions: an annotator submits her own."},
    {Action::DecideReview, "review decision", reviewers,
     "Annotators cannot approve or reject versions: a reviewer decides.", nullptr,
     "Admins cannot approve or reject versions: a reviewer decides."},
    {Action::CommentOnVersion, "comment", reviewers,
     "Annotators cannot add review comments: reviewers comment on versions.", nullptr,
     "Admins cannot add review comments: reviewers comment on versions."},
    {Action::ReplyToComment, "reply", annotators | reviewers, nullptr, nullptr,
     "Admins do not take part in reviews: annotators and reviewers reply to comments."},
    {Action::ResolveComment, "resolve comment", annotators | reviewers, nullptr, nullptr,
     "Admins do not take part in reviews: annotators and reviewers resolve comments."},
    {Action::ReadReviews, "read reviews", everyone, nullptr, nullptr, nullptr},
    {Action::SaveConsensus, "save consensus", reviewers,
     "Annotators cannot build a consensus: a reviewer combines the annotators' versions.", nullptr,
     "Admins cannot build a consensus: a reviewer combines the annotators' versions."},
    {Action::ReadForExport, "read for export", admins,
     "Annotators cannot read studies for export: an admin exports datasets.",
     "Reviewers cannot read studies for export: an admin exports datasets.", nullptr},
    {Action::RecordExport, "export", admins,
     "Annotators cannot export data: an admin exports to the site's allowed destinations.",
     "Reviewers cannot export data: an admin exports to the site's allowed destinations.", nullptr},
    {Action::CreateDataset, "create dataset", admins,
     "Annotators cannot create datasets: an admin builds and exports datasets.",
     "Reviewers cannot create datasets: an admin builds and exports datasets.", nullptr},
    {Action::EditDataset, "edit dataset", admins,
     "Annotators cannot change datasets: an admin builds and exports datasets.",
     "Reviewers cannot change datasets: an admin builds and exports datasets.", nullptr},
    {Action::ReadDatasets, "read datasets", admins,
     "Annotators cannot see datasets: an admin builds and exports them.",
     "Reviewers cannot see datasets: an admin builds and exports them.", nullptr},
    {Action::FreezeDatasetRevision, "freeze dataset revision", admins,
     "Annotators cannot freeze dataset revisions: an admin builds and exports datasets.",
     "Reviewers cannot freeze dataset revisions: an admin builds and exports datasets.", nullptr},
    {Action::RecordDatasetExport, "record dataset export", admins,
     "Annotators cannot export datasets: an admin exports to the site's allowed destinations.",
     "Reviewers cannot export datasets: an admin exports to the site's allowed destinations.",
     nullptr},
    {Action::ReadAuditLog, "read access log", admins,
     "Annotators cannot read the access log: it is kept for the admin and auditors.",
     "Reviewers cannot read the access log: it is kept for the admin and auditors.", nullptr},
    {Action::SignAuditCheckpoint, "audit checkpoint", admins,
     "Annotators cannot sign access-log checkpoints: that is the admin's.",
     "Reviewers cannot sign access-log checkpoints: that is the admin's.", nullptr},
    {Action::VerifyAuditLog, "audit verify", admins,
     "Annotators cannot verify the access log: that is the admin's.",
     "Reviewers cannot verify the access log: that is the admin's.", nullptr},
    {Action::RotateDatabaseKey, "rotate key", admins,
     "Annotators cannot rotate the store's key: only the admin role manages accounts and keys.",
     "Reviewers cannot rotate the store's key: only the admin role manages accounts and keys.",
     nullptr},
};

constexpr bool rulesFollowTheEnum() {
    for (std::size_t i = 0; i < std::size(rules); ++i) {
        const Rule& r = rules[i];
        if (std::size_t(r.action) != i)
            return false;
        // A reason exactly where a role is refused.
        if (((r.allowed & annotators) != 0) != (r.whyNotAnnotator == nullptr) ||
            ((r.allowed & reviewers) != 0) != (r.whyNotReviewer == nullptr) ||
            ((r.allowed & admins) != 0) != (r.whyNotAdmin == nullptr))
            return false;
    }
    return std::size(rules) == std::size_t(Action::RotateDatabaseKey) + 1;
}
static_assert(rulesFollowTheEnum(), "one rule per Action, in order, with a reason per refusal");

constexpr const Rule& ruleOf(Action action) {
    return rules[std::size_t(action)];
}

} // namespace

const char* actionName(Action action) {
    return ruleOf(action).name;
}

bool permits(Role role, Action action) {
    return (ruleOf(action).allowed & roleBit(role)) != 0;
}

std::string refusalReason(Role role, Action action) {
    const Rule& r = ruleOf(action);
    const char* why = role == Role::Annotator  ? r.whyNotAnnotator
                      : role == Role::Reviewer ? r.whyNotReviewer
                                               : r.whyNotAdmin;
    return why ? why : "";
}

void refuse(Session& session, Action action, const std::string& object, const std::string& reason) {
    // Its own append: were it part of the caller's change, the rollback would take it along.
    session.recordAccess(std::string("refused ") + actionName(action), object, reason);
    throw PermissionDeniedError(reason);
}

void require(Session& session, Action action, const std::string& object) {
    session.requireOpen();
    if (!permits(session.role(), action))
        refuse(session, action, object, refusalReason(session.role(), action));
}

void requireStudy(Session& session, Action action, std::int64_t studyId) {
    require(session, action, "study " + std::to_string(studyId));
    if (session.role() != Role::Annotator)
        return;
    auto s = SessionAccess::database(session).prepare(
        "SELECT 1 FROM assignments WHERE user_id = ? AND study_id = ?");
    s.bind(1, SessionAccess::userId(session)).bind(2, studyId);
    if (!s.step())
        refuse(session, action, "study " + std::to_string(studyId),
               "This study is not assigned to you: ask an admin to assign it.");
}

std::int64_t requireVersion(Session& session, Action action, std::int64_t annotationId) {
    const std::string object = "annotation " + std::to_string(annotationId);
    require(session, action, object);
    auto s = SessionAccess::database(session).prepare(
        "SELECT a.study_id, a.author_id, u.role, s.blind FROM annotations a "
        "JOIN users u ON u.id = a.author_id JOIN studies s ON s.id = a.study_id WHERE a.id = ?");
    s.bind(1, annotationId);
    if (!s.step())
        throw InvalidRequestError("there is no annotation " + std::to_string(annotationId));
    const std::int64_t studyId = s.integer(0);
    const bool othersWork =
        s.integer(1) != SessionAccess::userId(session) && s.text(2) != roleName(Role::Reviewer);
    const bool blind = s.integer(3) != 0;
    requireStudy(session, action, studyId);
    if (session.role() == Role::Annotator && blind && othersWork)
        refuse(session, action, object,
               "This study is blind: you see only your own versions and the reviewers' "
               "consensus versions.");
    return studyId;
}

} // namespace radmark::storage
