#pragma once
// The one role table: what each role may do with the store, and the one place that enforces it.
// Every operation the domain classes (Users, Studies, Annotations, Reviews, Datasets, AuditTrail,
// Exports) and import offer is an Action; each calls require() before it touches anything. A
// refusal is a PermissionDeniedError whose message says why in words a radiologist understands, and
// it is logged ("refused <action>") with its own append, so no rolled-back change takes it along.
// docs/roles.md is the prose form of this table.
//
// Beyond the table, require...() add the rules that depend on the object:
//   - annotators reach only the studies assigned to them;
//   - a study is shared (annotators assigned to it see each other's versions, read-only) or
//     blind (set by the admin: an annotator sees only versions she authored and versions a
//     reviewer authored, i.e. consensus);
//   - nobody reviews a version they authored (Reviews::decide).

#include "storage/Session.h"

#include <cstdint>
#include <string>

namespace radmark::storage {

enum class Action {
    AddUser,
    ListUsers,
    DisableUser,
    SetAnotherUsersPassword,
    ChangeOwnPassword,
    ChangeRole,
    SetUserCredentials,
    ImportStudy,
    ListStudies,
    OpenStudy,
    AssignStudy,
    UnassignStudy,
    SetStudyBlind,
    ListVersions,
    LoadVersion,
    SaveVersion,
    SaveDraft,
    ReadDraft,
    DiscardDraft,
    SubmitForReview,
    DecideReview,
    CommentOnVersion,
    ReplyToComment,
    ResolveComment,
    ReadReviews,
    SaveConsensus,
    ReadForExport,
    RecordExport,
    CreateDataset,
    EditDataset,
    ReadDatasets,
    FreezeDatasetRevision,
    RecordDatasetExport,
    ReadAuditLog,
    SignAuditCheckpoint,
    VerifyAuditLog,
    RotateDatabaseKey,
};

// Short lower-case name ("save version"), as logged: "refused save version".
const char* actionName(Action action);
bool permits(Role role, Action action);
// Why role may not do action, as one sentence; empty when it may.
std::string refusalReason(Role role, Action action);

// Throws SessionLockedError when the session is locked or has ended, and PermissionDeniedError
// (logged, with object) when its role may not do action. Call it before any transaction opens.
void require(Session& session, Action action, const std::string& object = {});
// require(), and for annotators: the study is assigned to them.
void requireStudy(Session& session, Action action, std::int64_t studyId);
// require(), and for annotators: the version's study is assigned to them and, when the study
// is blind, the version is hers or a reviewer's. Returns the version's study; throws
// InvalidRequestError when there is no such version.
std::int64_t requireVersion(Session& session, Action action, std::int64_t annotationId);
// Logs a refusal that depends on the object rather than on the role, and throws it.
[[noreturn]] void refuse(Session& session, Action action, const std::string& object,
                         const std::string& reason);

} // namespace radmark::storage
